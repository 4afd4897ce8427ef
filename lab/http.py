"""A small asyncio HTTP/1.1 server (optionally over TLS), shared by every simulated system.

Why not http.server: one event loop owns the world, so the servers must be asyncio too.
Keep-alive, Content-Length (or chunked) request bodies read in full, Content-Length on
every response. Faults are injected per server through a mutable ConnectionFaults
object, so the admin API can change them while connections are open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 413: "Payload Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}


class Headers:
    """Case-insensitive header mapping that remembers the spelling it was given."""

    def __init__(self, items: dict[str, str] | list[tuple[str, str]] | None = None):
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, dict) else (items or [])
        for name, value in pairs:
            self[name] = value

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __setitem__(self, name: str, value: str) -> None:
        self._items[name.lower()] = (name, value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def get(self, name: str, default: str | None = None) -> str | None:
        item = self._items.get(name.lower())
        return item[1] if item else default

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.values())

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    peer: tuple
    wire_bytes: int = 0  # request line + headers + body as received, for the lab's counters
    local: tuple = ()     # (address, port) the request arrived on: which host it is for
    context: dict = field(default_factory=dict)   # handler notes for observers (e.g. the WinRM action)
    # State shared by every request on one TCP connection (e.g. an NTLM context, which authenticates
    # the connection rather than each request).
    connection: dict = field(default_factory=dict)

    def query_value(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str | list[str]] = field(default_factory=dict)   # a list: one header line per value
    body: bytes = b""


Handler = Callable[[Request], Awaitable[Response]]
ExchangeObserver = Callable[[Request, Response, int], None]


class AbortConnection(Exception):
    """Raise from a handler to reset the TCP connection instead of answering."""


@dataclass
class ConnectionFaults:
    """Faults applied to every request a server receives; mutate freely at run time.

    latency_s delays each answer; reset_after_requests lets that many more requests
    through, then resets the connection of the next one (once) as a dropped network would.
    """

    latency_s: float = 0.0
    reset_after_requests: int | None = None

    async def before_answer(self) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if self.reset_after_requests is not None:
            if self.reset_after_requests <= 0:
                self.reset_after_requests = None
                raise AbortConnection("injected connection reset")
            self.reset_after_requests -= 1

    def clear(self) -> None:
        self.latency_s = 0.0
        self.reset_after_requests = None


class BadRequest(Exception):
    pass


async def _read_request(reader: asyncio.StreamReader, peer: tuple, local: tuple,
                        connection: dict | None = None) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("connection closed inside the request head") from exc
        return None  # clean close between requests
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too large") from exc
    lines = head.decode("iso-8859-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise BadRequest(f"bad request line {lines[0]!r}") from exc
    headers = Headers()
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line!r}")
        headers[name.strip()] = value.strip()
    body = await _read_body(reader, headers)
    url = urlsplit(target)
    return Request(
        method=method.upper(), path=url.path, query=parse_qs(url.query, keep_blank_values=True),
        headers=headers, body=body, peer=peer, wire_bytes=len(head) + len(body), local=local,
        connection=connection if connection is not None else {},
    )


async def _read_body(reader: asyncio.StreamReader, headers: Headers) -> bytes:
    # Always read the whole body, even when the handler will reject the request:
    # leaving bytes unread would corrupt the next request on a keep-alive connection.
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # trailer terminator (no trailers expected)
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = headers.get("Content-Length")
    if length is None:
        return b""
    try:
        return await reader.readexactly(int(length))
    except ValueError as exc:
        raise BadRequest(f"bad Content-Length {length!r}") from exc


def _encode_response(response: Response, keep_alive: bool) -> bytes:
    reason = REASONS.get(response.status, "Status")
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    headers = Headers(response.headers)
    headers["Content-Length"] = str(len(response.body))
    if not keep_alive:
        headers["Connection"] = "close"
    for name, value in headers.items():
        lines.extend(f"{name}: {item}" for item in (value if isinstance(value, list) else [value]))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1") + response.body


async def serve(
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    handler: Handler,
    *,
    faults: ConnectionFaults | None = None,
    on_exchange: ExchangeObserver | None = None,
) -> asyncio.Server:
    """Start listening and return the started asyncio.Server (port 0 picks a free port)."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ()
        local = writer.get_extra_info("sockname") or ()
        state: dict = {}
        try:
            while True:
                try:
                    request = await _read_request(reader, peer, local, state)
                except BadRequest as exc:
                    writer.write(_encode_response(Response(400, {}, str(exc).encode()), False))
                    await writer.drain()
                    return
                if request is None:
                    return
                try:
                    if faults is not None:
                        await faults.before_answer()
                    response = await handler(request)
                except AbortConnection:
                    _reset(writer)
                    return
                except Exception:  # noqa: BLE001 - a simulation bug must answer 500, not kill the listener
                    log.exception("handler failed for %s %s", request.method, request.path)
                    response = Response(500, {"Content-Type": "text/plain"}, b"lab: internal error (see lab.out)")
                keep_alive = (request.headers.get("Connection") or "").lower() != "close"
                data = _encode_response(response, keep_alive)
                writer.write(data)
                await writer.drain()
                if on_exchange is not None:
                    on_exchange(request, response, len(data))
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            log.debug("connection from %s ended: %s", peer, exc)
        finally:
            if not writer.transport.is_closing():
                writer.close()

    return await asyncio.start_server(
        connection, host, port, ssl=ssl_context, limit=MAX_HEAD_BYTES,
        ssl_handshake_timeout=10 if ssl_context else None,
    )


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a dropped network path or a killed peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def json_response(status: int, document: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(document, indent=None, default=str).encode()
    return Response(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)
