"""bundle/1: several host scripts in one command (plugins/plugin_utils/_host_script_bundle.py).

The collection's bundle text holds, for each part, the part's body inside `& { ... }` and then the
statement that prints `azmigrate-part-end <name>/<version> <exit code>`; stdin holds one request line per
part. The dispatcher (lab/winrm/dispatch.py) runs the parts' simulations in the order of those statements,
each on its own request line, and stops after the first that fails, as the bundle's
`if ($bundleExit -eq 0)` guards do. A part the lab does not simulate refuses the whole command before
any part runs, so a bundle never half-runs on an unknown script.

Windows refuses what the lab refuses here: `exit` inside a script block ends powershell.exe, not the block
(about_Language_Keywords, "exit"), so a part whose body still holds a line `exit N` ends the whole command
with N right after its own output: no end line, no later part (lab/FIDELITY.md, "Windows hosts: fleet").
"""

from __future__ import annotations

import re
from types import ModuleType

from lab.hosts import scripts

NAME = "bundle"
VERSIONS = (1,)
PART_END = "azmigrate-part-end"
# The statement after each part: 'azmigrate-part-end host_info/1 ' + $bundleExit
PART_STATEMENT = re.compile(rf"^'{PART_END} ([a-z][a-z0-9_]*)/(\d+) ' \+ \$bundleExit$", re.MULTILINE)
# Where a part's body starts: $bundleOutput = @($bundleLines[0] | & {
PART_START = re.compile(r"^\$bundleOutput = @\(\$bundleLines\[\d+\] \| & \{$", re.MULTILINE)
EXIT_LINE = re.compile(r"^\s*exit\s+\d+\s*$", re.IGNORECASE | re.MULTILINE)


def parts_of(script: str, version: int) -> list[tuple[str, ModuleType, bool]]:
    """(name/version, simulation, ends powershell.exe) of each part, in the order the bundle runs them;
    UnknownScript otherwise. The flag is set for a part whose body holds a line `exit N`."""
    if version not in VERSIONS:
        raise scripts.UnknownScript(f"lab: no simulation of host script {NAME}/{version} (simulated: {NAME}/1)")
    found = PART_STATEMENT.findall(script)
    if not found:
        raise scripts.UnknownScript(f"lab: host script {NAME}/{version} names no part ('{PART_END} <name>/<version> ' + $bundleExit)")
    if any(name == NAME for name, dummy in found):
        raise scripts.UnknownScript(f"lab: a {NAME} cannot hold another {NAME}")
    bodies = [script[start.end():end.start()] for start, end in zip(PART_START.finditer(script), PART_STATEMENT.finditer(script))]
    if len(bodies) != len(found):
        raise scripts.UnknownScript(f"lab: host script {NAME}/{version} has {len(found)} part ends but {len(bodies)} part starts")
    return [(f"{name}/{part_version}", scripts.load(name, int(part_version)), EXIT_LINE.search(body) is not None)
            for (name, part_version), body in zip(found, bodies)]


def request_lines(request: bytes) -> list[bytes]:
    """The bundle's request lines ($input: one string per line, LF or CR LF), blank lines included."""
    return [line.rstrip(b"\r") for line in request.split(b"\n")] if request.strip() else []
