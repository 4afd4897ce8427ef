"""The few raw commands a simulated host answers (ansible -m raw, pywinrm run_ps/run_cmd,
and the temp-directory clean-up Ansible's shell plugin sends).

Anything else fails loudly with exit code 1 and "lab: command not simulated: ...", as
CLIXML on stderr when it came through PowerShell, as the real thing would write it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lab.hosts.state import HostState
from lab.winrm import clixml
from lab.winrm.shell import CommandResult

# Lines Ansible's PowerShell shell plugin wraps around a script (shell/powershell.py
# _encode_script strict_mode/preserve_rc, and _CONSOLE_ENCODING).
_WRAPPER_LINES = (
    re.compile(r"^set-strictmode -version latest$", re.I),
    re.compile(r"^if \(-not \$\?\) \{ if \(get-variable lastexitcode", re.I),
    re.compile(r"^\$outputencoding\s*=|^\[console\]::outputencoding\s*=", re.I),
)
_QUOTED = re.compile(r"""^(['"])(.*)\1$""", re.S)


def _unquote(text: str) -> str:
    match = _QUOTED.match(text.strip())
    return match.group(2) if match else text.strip()


def _lines(text: str) -> bytes:
    return ("\r\n".join(text.splitlines()) + "\r\n").encode("utf-8")


def _ipconfig(host: HostState, address: str, detailed: bool) -> str:
    lines = ["", "Windows IP Configuration", ""]
    if detailed:
        lines += [f"   Host Name . . . . . . . . . . . . : {host.name}",
                  f"   Primary Dns Suffix  . . . . . . . : {host.domain if host.domain_role != 2 else ''}",
                  "   Node Type . . . . . . . . . . . . : Hybrid",
                  "   IP Routing Enabled. . . . . . . . : No", ""]
    lines += ["Ethernet adapter Ethernet:", "",
              f"   IPv4 Address. . . . . . . . . . . : {address}",
              "   Subnet Mask . . . . . . . . . . . : 255.255.255.0", ""]
    return "\n".join(lines)


class RawCommands:
    """Match one statement against a small table; `address` is the host's lab address."""

    def __init__(self, host: HostState, address: str, username: str):
        self.host = host
        self.address = address
        self.username = username
        self.table: list[tuple[re.Pattern, Callable[[re.Match], CommandResult]]] = [
            (re.compile(r"^hostname(\.exe)?$", re.I), lambda m: self._out(self.host.name)),
            (re.compile(r"^\$env:computername$|^\[(system\.)?environment\]::machinename$", re.I),
             lambda m: self._out(self.host.name)),
            (re.compile(r"^whoami(\.exe)?$", re.I),
             lambda m: self._out(f"{self.host.name.lower()}\\{self.username.lower()}")),
            (re.compile(r"^(echo|write-output|write-host)\s+(.*)$", re.I | re.S),
             lambda m: self._out(_unquote(m.group(2)))),
            (re.compile(r"^ipconfig(\.exe)?(\s+/all)?$", re.I),
             lambda m: self._out(_ipconfig(self.host, self.address, bool(m.group(2))))),
            (re.compile(r"^exit\s+(\d+)$", re.I), lambda m: CommandResult(exit_code=int(m.group(1)))),
            (re.compile(r"^remove-item\s+'([^']+)'\s+-force(\s+-recurse)?$", re.I),
             self._remove_item),
        ]

    def run_powershell(self, script: str) -> CommandResult | None:
        statement = statement_of(script)
        return self._match(statement) if statement is not None else None

    def run_cmd(self, command_line: str) -> CommandResult | None:
        return self._match(command_line.strip())

    def _match(self, statement: str) -> CommandResult | None:
        for pattern, action in self.table:
            match = pattern.match(statement)
            if match:
                return action(match)
        return None

    def _out(self, text: str) -> CommandResult:
        return CommandResult(stdout=_lines(text))

    def _remove_item(self, match: re.Match) -> CommandResult:
        self.host.remove_path(match.group(1))
        return CommandResult()


def statement_of(script: str) -> str | None:
    """The one statement of a script once Ansible's wrapper lines are removed, else None."""
    statements = [line.strip() for line in script.splitlines()
                  if line.strip() and not any(p.search(line.strip()) for p in _WRAPPER_LINES)]
    return statements[0].rstrip(";").strip() if len(statements) == 1 else None


def not_simulated(text: str, via_powershell: bool) -> CommandResult:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    message = f"lab: command not simulated: {first_line[:200]}"
    stderr = clixml.error_stream(message) if via_powershell else (message + "\r\n").encode()
    return CommandResult(stderr=stderr, exit_code=1)
