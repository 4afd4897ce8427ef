"""How the collection's host scripts start installers, read from the scripts themselves.

The lab never runs PowerShell, so what Windows does with a `Start-Installer` call depends on how that
function and its callers are written - not on the request. This module reads the collection's
prelude.ps1 and the script (the files the runner sends) and tells the simulations:

- `working_directory(call)`: the folder a program is started in. Without `-WorkingDirectory` on the
  call, or when Start-Installer does not pass it on, Windows starts it in the WinRM session's current
  directory, the user's profile folder (PROFILE_DIR).
- `exit_code_reliable`: Start-Process -PassThru without touching `.Handle` can leave ExitCode $null
  (PowerShell/PowerShell#5421); System.Diagnostics.Process or the Handle workaround set it.
- `stops_on_timeout`: Start-Installer stops a program still running at its timeout (Kill or
  Stop-Process); otherwise the program keeps running after the script gives up.

Programs are recognised by the FilePath argument of each Start-Installer call: `$configurator`
(DRConfigurator.exe), a path ending in setupdr.exe, `$s.setup_file` (the setup file), msiexec.exe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HOST_SCRIPTS = Path(__file__).resolve().parents[3] / "plugins" / "plugin_utils" / "host_scripts"
PROFILE_DIR = r"C:\Users\Administrator\Documents"
PROGRAMS = {"configurator": "$configurator", "setupdr": "setupdr.exe", "setup_file": "$s.setup_file", "msiexec": "msiexec.exe"}


@dataclass(frozen=True)
class Launching:
    sets_working_directory: bool
    calls_with_working_directory: frozenset[str]     # programs (PROGRAMS keys) whose every call passes one
    exit_code_reliable: bool
    stops_on_timeout: bool

    def working_directory(self, program: str, wanted: str) -> str:
        """Where `program` starts when the script means it to start in `wanted`."""
        if self.sets_working_directory and program in self.calls_with_working_directory:
            return wanted
        return PROFILE_DIR


def _function_body(text: str, name: str) -> str:
    start = text.find(f"function {name} {{")
    if start < 0:
        return ""
    end = text.find("\n}\n", start)
    return text[start:end if end >= 0 else len(text)]


def launching(script: str) -> Launching:
    """What the script `script` (a host script's name) and the prelude's Start-Installer do, as written now."""
    prelude = (HOST_SCRIPTS / "prelude.ps1").read_text(encoding="utf-8")
    return launching_of(prelude, (HOST_SCRIPTS / f"{script}.ps1").read_text(encoding="utf-8"))


def launching_of(prelude: str, text: str) -> Launching:
    """What a script's text and a prelude's text make of Start-Installer (see the module's docstring)."""
    body = _function_body(prelude, "Start-Installer") or _function_body(text, "Start-Installer")
    sets = bool(re.search(r"WorkingDirectory\s*=\s*\$WorkingDirectory|-WorkingDirectory\s+\$WorkingDirectory", body))
    calls = [line for line in text.splitlines() if re.search(r"\bStart-Installer\s+-", line)]
    with_directory = frozenset(
        program for program, marker in PROGRAMS.items()
        if [call for call in calls if marker in call] and all("-WorkingDirectory" in call for call in calls if marker in call))
    reliable = "[System.Diagnostics.Process]::Start" in body or bool(re.search(r"\.Handle\b", body))
    stops = ".Kill()" in body or "Stop-Process" in body
    return Launching(sets, with_directory, reliable, stops)
