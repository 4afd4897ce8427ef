"""Simulations of the collection's host scripts, one module per script.

The collection sends a short fixed bootstrap as the command line and, on stdin, the script
text, a line of four NULs, then the request (docs/host-scripts.md). The WinRM side recognises
the bootstrap (is_bootstrap), splits stdin (split_stdin), recognises the script by its first
line, `# azmigrate-host-script: <name>/<version>`, and runs `lab.hosts.scripts.<name>` against
the host's state -- unless Windows PowerShell 5.1 could not parse the script text (parse_refusal): then
nothing runs and the error is what powershell.exe reports. The document is written as the script text would write it: ASCII when the
text holds the prelude's escaping statement (escapes_non_ascii), else raw, in the shell's code
page. A simulation module declares
`VERSIONS = (1,)` and `def run(ctx: ScriptContext) -> dict` (or `async def`, to take lab
time); it returns the JSON document the real script prints, or raises ScriptFailed.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from lab.hosts.logon import Logon
from lab.hosts.scripts._powershell import parse_refusal  # noqa: F401 (lab/winrm/dispatch.py calls scripts.parse_refusal)
from lab.hosts.state import HostState

if TYPE_CHECKING:
    from lab.world import World

MARKER = re.compile(r"^#\s*azmigrate-host-script:\s*([A-Za-z0-9_]+)/(\d+)\s*$")

# The line that ends the script text on the bootstrap's stdin.
SCRIPT_END = b"\0\0\0\0"
# What identifies the collection's bootstrap once whitespace is removed and case folded: it reads
# $input up to the NUL line and runs the text before it as a ScriptBlock.
BOOTSTRAP_SIGNS = ('foreach($lin$input)', '"`0`0`0`0"', '[scriptblock]::create(')
# The prelude's statement that writes every character above 0x7F as \uXXXX (Write-HostScriptJson).
ASCII_ESCAPE = re.compile(r"\[regex\]::Replace\(\$json,\s*'\[\^\\x00-\\x7F\]'", re.IGNORECASE)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class ScriptContext:
    host: HostState
    world: World
    params: dict
    secrets: dict
    version: int
    logon: Logon | None = None   # the WinRM session's logon (lab/hosts/logon.py); None: a local console
    # Whether this powershell.exe can load the agent's module MSOnlineBackup (lab/hosts/scripts/_agent_module.py).
    agent_module_importable: bool = True
    # The script text as sent ("" when a twin is run directly: the collection's file then stands for it).
    script_text: str = ""


class ScriptFailed(Exception):
    """The script's own failure: exit code non-zero and {"failed": true, "msg": ...} on stdout."""

    def __init__(self, msg: str, exit_code: int = 1, **extra):
        super().__init__(msg)
        self.msg = msg
        self.exit_code = exit_code
        self.extra = extra


class UnknownScript(LookupError):
    pass


def marker_of(script: str) -> tuple[str, int] | None:
    """(name, version) when the script's first line is the host-script marker.

    A leading `Set-StrictMode -Version Latest` line is skipped: Ansible's shell plugin
    prepends it when a caller asks for strict mode.
    """
    lines = [line.strip() for line in script.splitlines() if line.strip()]
    if lines and lines[0].lower().startswith("set-strictmode"):
        lines = lines[1:]
    match = MARKER.match(lines[0]) if lines else None
    return (match.group(1), int(match.group(2))) if match else None


def is_bootstrap(script: str) -> bool:
    """Whether a command's PowerShell is the collection's host-script bootstrap."""
    folded = "".join(script.split()).lower()
    return all(sign.lower() in folded for sign in BOOTSTRAP_SIGNS)


def split_stdin(stdin: bytes) -> tuple[str, bytes] | None:
    """(script text, request) from the bootstrap's stdin; None without the line of four NULs.

    PowerShell's $input yields stdin line by line (LF or CR LF): the script is the lines before
    the first line that is exactly four NULs, the request the lines after it.
    """
    lines = stdin.split(b"\n")
    stripped = [line.rstrip(b"\r") for line in lines]
    if SCRIPT_END not in stripped:
        return None
    end = stripped.index(SCRIPT_END)
    return b"\n".join(stripped[:end]).decode("ascii", "replace"), b"\n".join(stripped[end + 1:])


def escapes_non_ascii(script: str) -> bool:
    """Whether the script text makes its JSON ASCII (the prelude's Write-HostScriptJson statement)."""
    return ASCII_ESCAPE.search(script) is not None


def load(name: str, version: int) -> ModuleType:
    if not NAME.match(name):
        raise UnknownScript(f"lab: no simulation of host script {name}/{version} (bad name)")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise UnknownScript(f"lab: no simulation of host script {name}/{version}") from None
    if version not in getattr(module, "VERSIONS", ()):
        known = ", ".join(f"{name}/{v}" for v in getattr(module, "VERSIONS", ()))
        raise UnknownScript(f"lab: no simulation of host script {name}/{version} (simulated: {known})")
    return module
