"""Simulations of the collection's host scripts, one module per script.

The WinRM side recognises a host script by its first line,
`# azmigrate-host-script: <name>/<version>` (docs/host-scripts.md), and runs
`lab.hosts.scripts.<name>` against the host's state. A simulation module declares
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
from lab.hosts.state import HostState

if TYPE_CHECKING:
    from lab.world import World

MARKER = re.compile(r"^#\s*azmigrate-host-script:\s*([A-Za-z0-9_]+)/(\d+)\s*$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class ScriptContext:
    host: HostState
    world: World
    params: dict
    secrets: dict
    version: int
    logon: Logon | None = None   # the WinRM session's logon (lab/hosts/logon.py); None: a local console


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
