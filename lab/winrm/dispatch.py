"""Decide what a command is and run its simulation against the host's state.

First as cmd.exe would: a command line over 8,191 characters is refused ("The command line is
too long.", exit code 1) unless the Command skipped cmd.exe (WINRS_SKIP_CMD_SHELL=TRUE). Then,
in order: the collection's host-script bootstrap (the script and its request on stdin; on a host whose PowerShell
runs in ConstrainedLanguage, what that mode makes of it: lab/winrm/language_mode.py), a
collection host script sent as the command itself (first line `# azmigrate-host-script:
name/version`), an Ansible payload through bootstrap_wrapper.ps1 (put_file, a module, or
Ansible's own temp-dir/fetch helpers), one of the raw commands, else a loud "not simulated"
(CLIXML on stderr when PowerShell ran it). Output is encoded in the shell's code page
(WINRS_CODEPAGE), `?` for what it cannot hold; Ansible's payloads set the console to UTF-8
themselves (exec_wrapper.ps1). Every command becomes one entry in the command log, secrets
reduced to their key names, with `cost_ms`: what a real host spends starting PowerShell and,
for a module, Ansible's exec wrapper (lab/winrm/costs.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import inspect
import json
import time
from dataclasses import dataclass

from lab.hosts import scripts
from lab.hosts.scripts import _agent_module, bundle
from lab.hosts.logon import Logon
from lab.hosts.state import HostState
from lab.log import MASK, mask_secrets
from lab.winrm import ansible_payload, modules
from lab.winrm import clixml, language_mode
from lab.winrm.commandline import CMD_TOO_LONG, BadCommandLine, Invocation, command_line, parse_invocation, too_long_for_cmd
from lab.winrm.raw_commands import RawCommands, not_simulated, statement_of
from lab.winrm.shell import CODEPAGES, CommandResult, RemoteCommand
from lab.world import HostEndpoint, World


@dataclass(frozen=True)
class _ScriptRun:
    """What a host script's powershell.exe runs with: the shell's logon, and whether it can load the agent's module."""

    logon: Logon | None
    agent_module_importable: bool
    script: str = ""   # the script text as sent: twins whose effect depends on how the script is written read it


class CommandDispatcher:
    def __init__(self, world: World, host: HostState, endpoint: HostEndpoint):
        self.world = world
        self.host = host
        self.endpoint = endpoint
        self.raw = RawCommands(host, endpoint.address, endpoint.username)

    async def run(self, command: RemoteCommand) -> CommandResult:
        started = time.monotonic()
        entry: dict = {"kind": "rejected", "name": None, "params": None}
        line_chars = len(command_line(command.program, command.arguments))
        if not command.skip_cmd_shell and too_long_for_cmd(command.program, command.arguments):
            entry["name"] = f"cmd.exe: command line of {line_chars} characters"
            result = CommandResult(stderr=f"{CMD_TOO_LONG}\r\n".encode(), exit_code=1)
        else:
            try:
                invocation = parse_invocation(command.program, command.arguments)
            except BadCommandLine as exc:
                result = CommandResult(stderr=f"lab: bad command line: {exc}\r\n".encode(), exit_code=1)
            else:
                result = await self._run(invocation, bytes(command.stdin), entry, command.codepage, command)
                # What a real host spends before the command does anything (lab/winrm/costs.py).
                entry["cost_ms"] = self.world.command_costs.of(invocation.via_powershell, entry["kind"] == "module")
                if self.world.command_costs.wait and entry["cost_ms"]:
                    await asyncio.sleep(entry["cost_ms"] / 1000)
        self.world.log.record({
            "time": self.world.clock.isoformat(), "host": self.host.name, **entry,
            "logon": command.logon.method if command.logon else None,   # how the session authenticated
            "command_line_chars": line_chars, "stdin_bytes": len(command.stdin), "exit_code": result.exit_code,
            "stdout_bytes": len(result.stdout), "duration_ms": round((time.monotonic() - started) * 1000, 1),
        })
        return result

    async def _run(self, invocation: Invocation, stdin: bytes, entry: dict, codepage: int,
                   command: RemoteCommand | None = None) -> CommandResult:
        script = invocation.script
        if script is not None:
            if ansible_payload.is_bootstrap(script):
                return self._ansible_payload(stdin, entry)
            if scripts.is_bootstrap(script):
                if self.host.language_mode != language_mode.FULL:
                    return _in_codepage(self._bootstrap_in_language_mode(script, entry), codepage)
                return await self._bootstrapped_script(stdin, entry, codepage, command)
            if scripts.marker_of(script) is not None:
                return await self._host_script(script, stdin, entry, codepage, command)
            result = self.raw.run_powershell(script)
            text = statement_of(script) or script
        elif invocation.via_powershell:
            result, text = None, invocation.text
        else:
            result = self.raw.run_cmd(invocation.text)
            text = invocation.text
        if result is None:
            entry.update(kind="rejected", name=text.strip().splitlines()[0][:200] if text.strip() else "")
            return _in_codepage(not_simulated(text, invocation.via_powershell), codepage)
        entry.update(kind="raw", name=text.strip()[:200])
        return _in_codepage(result, codepage)

    def _bootstrap_in_language_mode(self, bootstrap: str, entry: dict) -> CommandResult:
        """The bootstrap on a host whose PowerShell runs it in another language mode than FullLanguage: its guard's
        document, or PowerShell's errors for the calls that mode refuses; nothing of the script on stdin runs."""
        mode = self.host.language_mode
        entry.update(kind="rejected", name=f"host script bootstrap in {mode}")
        try:
            return language_mode.run_bootstrap(bootstrap, mode, self.host.name)
        except language_mode.NotSimulated as exc:
            message = f"lab: command not simulated in {mode}: {exc}"
            return CommandResult(stderr=clixml.error_stream(message), exit_code=1)

    async def _bootstrapped_script(self, stdin: bytes, entry: dict, codepage: int,
                                   command: RemoteCommand | None = None) -> CommandResult:
        """The bootstrap: the script text up to the line of four NULs, the request after it."""
        entry.update(name="host script bootstrap")
        split = scripts.split_stdin(stdin)
        if split is None:
            message = "lab: the host script bootstrap got no line of four NULs on stdin (script, NUL line, request)"
            return CommandResult(stderr=clixml.error_stream(message), exit_code=1)
        script, request = split
        if scripts.marker_of(script) is None:
            first_line = script.strip().splitlines()[0][:200] if script.strip() else "(empty)"
            message = f"lab: command not simulated: the bootstrap's script starts with {first_line!r}, not a host-script marker"
            return CommandResult(stderr=clixml.error_stream(message), exit_code=1)
        return await self._host_script(script, request, entry, codepage, command)

    async def _host_script(self, script: str, request: bytes, entry: dict, codepage: int,
                           command: RemoteCommand | None = None) -> CommandResult:
        name, version = scripts.marker_of(script)
        run = _ScriptRun(command.logon if command else None,
                         _agent_module.importable(script, command.shell_saw_agent if command else True), script)
        entry.update(kind="host_script", name=f"{name}/{version}")
        ascii_only = scripts.escapes_non_ascii(script)
        refusal = scripts.parse_refusal(script)
        if refusal is not None:
            # powershell.exe parses the whole text first ([ScriptBlock]::Create): nothing of the script runs.
            entry["kind"] = "rejected"
            return CommandResult(stderr=clixml.error_stream(refusal), exit_code=1)
        if name == bundle.NAME:
            return await self._bundle(script, version, request, entry, codepage, ascii_only, run)
        try:
            simulation = scripts.load(name, version)
        except scripts.UnknownScript as exc:
            entry["kind"] = "rejected"
            return _failed(str(exc), 1, codepage, ascii_only, stderr=str(exc))
        return await self._simulate(simulation, f"{name}/{version}", version, request, entry, codepage, ascii_only, run)

    async def _simulate(self, simulation, label: str, version: int, request: bytes, entry: dict, codepage: int,
                        ascii_only: bool, run: _ScriptRun) -> CommandResult:
        """One host script's simulation on its request; `entry` gets its params and secret key names."""
        try:
            document = json.loads(request.decode("utf-8-sig")) if request.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _failed(f"{label}: the request is not a JSON document: {exc}", 1, codepage, ascii_only)
        if not isinstance(document, dict):
            return _failed(f"{label}: the request must be one JSON document "
                           '{"params": {...}, "secrets": {...}}', 1, codepage, ascii_only)
        params, secrets = document.get("params") or {}, document.get("secrets") or {}
        entry.update(params=params, secret_keys=sorted(secrets))
        ctx = scripts.ScriptContext(self.host, self.world, params, secrets, version, run.logon, run.agent_module_importable, run.script)
        try:
            output = simulation.run(ctx)
            if inspect.isawaitable(output):
                output = await output
        except scripts.ScriptFailed as exc:
            return _failed(exc.msg, exc.exit_code, codepage, ascii_only, **exc.extra)
        return CommandResult(stdout=_json_line(output, codepage, ascii_only))

    async def _bundle(self, script: str, version: int, request: bytes, entry: dict, codepage: int,
                      ascii_only: bool, run: _ScriptRun) -> CommandResult:
        """Several host scripts in one command (lab/hosts/scripts/bundle.py): each part on its own request
        line, in order, until one fails; after each part's output, its end line."""
        try:
            parts = bundle.parts_of(script, version)
        except scripts.UnknownScript as exc:
            entry["kind"] = "rejected"
            return _failed(str(exc), 1, codepage, ascii_only, stderr=str(exc))
        lines = bundle.request_lines(request)
        stdout, exit_code, logged = b"", 0, []
        for index, (part, simulation, ends_process) in enumerate(parts):
            part_entry: dict = {}
            line = lines[index] if index < len(lines) else b""
            result = await self._simulate(simulation, part, int(part.rsplit("/", 1)[1]), line, part_entry, codepage,
                                          ascii_only, run)
            logged.append({"script": part, "params": part_entry.get("params"),
                           "secret_keys": part_entry.get("secret_keys", [])})
            exit_code = result.exit_code
            stdout += result.stdout
            if ends_process:
                break   # exit in a script block ends powershell.exe with the part's code (lab/hosts/scripts/bundle.py)
            stdout += _encode(f"{bundle.PART_END} {part} {exit_code}\r\n", codepage)
            if exit_code:
                break
        entry.update(params={"parts": logged}, parts=[item["script"] for item in logged],
                     secret_keys=sorted({key for item in logged for key in item["secret_keys"]}))
        return CommandResult(stdout=stdout, exit_code=exit_code)

    def _ansible_payload(self, stdin: bytes, entry: dict) -> CommandResult:
        try:
            payload = ansible_payload.parse_exec_payload(stdin)
        except ansible_payload.BadPayload as exc:
            entry.update(kind="rejected", name="bootstrap_wrapper.ps1")
            return _failed(f"lab: {exc}", 1, stderr=f"lab: {exc}")
        if payload.action == "winrm_put_file.ps1":
            return self._put_file(payload, entry)
        if payload.action == ansible_payload.MODULE_WRAPPER:
            return self._module(payload, entry)
        return self._ansible_helper(payload, entry)

    def _put_file(self, payload: ansible_payload.ExecPayload, entry: dict) -> CommandResult:
        path = str(payload.params.get("Path", ""))
        entry.update(kind="put_file", name="winrm_put_file.ps1", params={"Path": path})
        try:
            # One base64 line per 250,000-byte block (connection/winrm.py _put_file_stdin_iterator).
            content = b"".join(base64.b64decode(line.strip(), validate=True)
                               for line in payload.input_data.split(b"\n") if line.strip())
        except binascii.Error as exc:
            return _failed(f"lab: put_file input is not base64 lines: {exc}", 1, stderr=str(exc))
        written = self.host.write_file(path, content, self.world.clock.isoformat())
        entry["params"]["size"] = written.size
        return CommandResult(stdout=_json_line({"sha1": hashlib.sha1(content).hexdigest()}))

    def _module(self, payload: ansible_payload.ExecPayload, entry: dict) -> CommandResult:
        name = payload.module_name or "?"
        args = payload.module_args
        public_args = {k: v for k, v in args.items() if not k.startswith("_ansible_")}
        if args.get("_ansible_no_log"):
            public_args = dict.fromkeys(public_args, MASK)   # a no_log task: no argument value is logged
        entry.update(kind="module", name=name, params=mask_secrets(public_args))
        ctx = {"address": self.endpoint.address, "username": self.endpoint.username,
               "now": self.world.clock.isoformat()}
        result = modules.respond(name, self.host, args, ctx)
        return CommandResult(stdout=_json_line(result), exit_code=1 if result.get("failed") else 0)

    def _ansible_helper(self, payload: ansible_payload.ExecPayload, entry: dict) -> CommandResult:
        """Ansible's own helpers: temp directories, ~ expansion, fetch_file."""
        params = payload.params
        entry.update(kind="raw", name=f"ansible:{payload.action}", params=dict(params))
        if payload.action == "powershell_mkdtemp.ps1":
            directory = str(params.get("Directory", "")).replace("%TEMP%", self._temp_dir())
            return CommandResult(stdout=f"{directory.rstrip(chr(92))}\\{params.get('Name', '')}\r\n".encode())
        if payload.action == "powershell_expand_user.ps1":
            path = str(params.get("Path", ""))
            home = f"C:\\Users\\{self.endpoint.username}"
            expanded = home if path == "~" else home + path[1:] if path.startswith("~\\") else path
            return CommandResult(stdout=f"{expanded}\r\n".encode())
        if payload.action == "winrm_fetch_file.ps1":
            file = self.host.file(str(params.get("Path", "")))
            if file is None or file.content is None:
                return _failed(f"Path {params.get('Path')} is not found", 1, stderr="file not found")
            offset, size = int(params.get("Offset", 0)), int(params.get("BufferSize", 524288))
            return CommandResult(stdout=base64.b64encode(file.content[offset:offset + size]) + b"\r\n")
        entry["kind"] = "rejected"
        message = f"lab: command not simulated: Ansible action {payload.action}"
        return _failed(message, 1, stderr=message)

    def _temp_dir(self) -> str:
        return f"C:\\Users\\{self.endpoint.username}\\AppData\\Local\\Temp"


def _encode(text: str, codepage: int) -> bytes:
    """``text`` as the console writes it in ``codepage``: ? for a character the code page lacks."""
    return text.encode(CODEPAGES[codepage], errors="replace")


def _in_codepage(result: CommandResult, codepage: int) -> CommandResult:
    """A result built as UTF-8, re-encoded as the console of a shell with ``codepage`` writes it."""
    return CommandResult(stdout=_encode(result.stdout.decode("utf-8"), codepage),
                         stderr=_encode(result.stderr.decode("utf-8"), codepage), exit_code=result.exit_code)


def _json_line(document: object, codepage: int = 65001, ascii_only: bool = True) -> bytes:
    # ConvertTo-Json -Compress output, written by PowerShell with a CRLF: ASCII when the script escapes
    # what is above 0x7F, else raw characters in the console's code page.
    return _encode(json.dumps(document, separators=(",", ":"), ensure_ascii=ascii_only) + "\r\n", codepage)


def _failed(msg: str, exit_code: int, codepage: int = 65001, ascii_only: bool = True, stderr: str = "",
            **extra) -> CommandResult:
    return CommandResult(stdout=_json_line({"failed": True, "msg": msg, **extra}, codepage, ascii_only),
                         stderr=_encode(stderr + "\r\n", codepage) if stderr else b"", exit_code=exit_code)
