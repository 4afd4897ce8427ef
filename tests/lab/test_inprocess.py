"""In-process checks of the lab's building blocks: the clock, the remote shell, the HTTP server."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from lab import http
from lab.clock import LabClock
from lab.winrm.shell import CommandResult, ShellService
from lab.winrm.soap import FAULT_OPERATION_TIMEOUT, WSManFault


def test_clock_scales_and_advances():
    ticks = [100.0]
    clock = LabClock(dt.datetime(2025, 6, 2, 6, tzinfo=dt.UTC), time_scale=60, monotonic=lambda: ticks[0])
    ticks[0] += 2
    assert clock.now() == dt.datetime(2025, 6, 2, 6, 2, tzinfo=dt.UTC)
    clock.advance(3600)
    clock.set_time_scale(1)
    ticks[0] += 1
    assert clock.isoformat() == "2025-06-02T07:02:01Z"


def test_clock_sleep_wakes_on_advance():
    async def scenario():
        clock = LabClock(time_scale=1)
        sleeper = asyncio.create_task(clock.sleep(3600))
        await asyncio.sleep(0.01)
        clock.advance(3600)
        await asyncio.wait_for(sleeper, 1)

    asyncio.run(scenario())


def test_slow_command_answers_running_then_timeout_then_done():
    async def scenario():
        release = asyncio.Event()

        async def runner(command):
            await release.wait()
            return CommandResult(stdout=b"done", exit_code=0)

        shells = ShellService("HV01", runner)
        shell = shells.create({})
        command = shells.start_command(shell.id, "powershell", [], console_mode_stdin=True)
        assert await shells.receive(shell.id, command.id, 0.05) == (None, False)
        with pytest.raises(WSManFault) as caught:
            await shells.receive(shell.id, command.id, 0.05)
        assert caught.value.code == FAULT_OPERATION_TIMEOUT
        release.set()
        result, done = await shells.receive(shell.id, command.id, 1)
        assert done and result.stdout == b"done"
        shells.signal(shell.id, command.id)
        shells.delete(shell.id)
        assert shells.shells == {}

    asyncio.run(scenario())


def test_http_keep_alive_chunked_body_and_reset():
    async def scenario():
        seen = []

        async def handler(request: http.Request) -> http.Response:
            seen.append((request.method, request.path, request.query, request.body, request.headers.get("x-case")))
            return http.Response(200, {"X-Reply": "1"}, b"ok")

        faults = http.ConnectionFaults()
        server = await http.serve("127.0.0.1", 0, None, handler, faults=faults)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /a?x=1&x=2 HTTP/1.1\r\nHost: h\r\nX-Case: v\r\nContent-Length: 3\r\n\r\nabc"
                     b"PUT /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n")
        await writer.drain()
        first = await reader.readuntil(b"ok")
        second = await reader.readuntil(b"ok")
        assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 2" in first
        assert second.startswith(b"HTTP/1.1 200 OK")
        assert seen == [("POST", "/a", {"x": ["1", "2"]}, b"abc", "v"), ("PUT", "/b", {}, b"def", None)]
        faults.reset_after_requests = 0
        writer.write(b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n")
        await writer.drain()
        with pytest.raises(ConnectionResetError):
            await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
