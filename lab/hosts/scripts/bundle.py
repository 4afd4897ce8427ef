"""bundle/1: several host scripts in one command (plugins/plugin_utils/host_script_bundle.py).

The collection's bundle text holds, for each part, the part's body inside `& { ... }` and then the
statement that prints `azmigrate-part-end <name>/<version> <exit code>`; stdin holds one request line per
part. The dispatcher (lab/winrm/dispatch.py) runs the parts' simulations in the order of those statements,
each on its own request line, and stops after the first that fails, as the bundle's
`if ($bundleExit -eq 0)` guards do. A part the lab does not simulate refuses the whole command before
any part runs, so a bundle never half-runs on an unknown script.
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


def parts_of(script: str, version: int) -> list[tuple[str, ModuleType]]:
    """(name/version, simulation) of each part, in the order the bundle runs them; UnknownScript otherwise."""
    if version not in VERSIONS:
        raise scripts.UnknownScript(f"lab: no simulation of host script {NAME}/{version} (simulated: {NAME}/1)")
    found = PART_STATEMENT.findall(script)
    if not found:
        raise scripts.UnknownScript(f"lab: host script {NAME}/{version} names no part ('{PART_END} <name>/<version> ' + $bundleExit)")
    if any(name == NAME for name, dummy in found):
        raise scripts.UnknownScript(f"lab: a {NAME} cannot hold another {NAME}")
    return [(f"{name}/{part_version}", scripts.load(name, int(part_version))) for name, part_version in found]


def request_lines(request: bytes) -> list[bytes]:
    """The bundle's request lines ($input: one string per line, LF or CR LF), blank lines included."""
    return [line.rstrip(b"\r") for line in request.split(b"\n")] if request.strip() else []
