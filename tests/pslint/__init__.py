"""pslint: a static checker for the collection's PowerShell host scripts (docs/host-scripts.md, "Static checks").

No PowerShell runs where the collection is developed, so the scripts are checked on the tree-sitter parse
of Windows PowerShell, as PSScriptAnalyzer and Windows PowerShell 5.1 would hold them: syntax 5.1 has,
variables assigned before they are read, commands and parameters that exist (tests/fixtures/
powershell_commands.json), the protocol's conventions and no secret on a parameter or a command line.

Each host script is checked together with the prelude it is sent with; the prelude on its own as well.
``python -m pslint [FILE ...]`` (with tests/ on PYTHONPATH; ``make pslint``) prints ``file:line: rule: message``
and exits 1 when it finds anything. A finding that does not apply is waived on its line, or the line before,
with ``# pslint: allow <rule>: <why>``; the reason is required.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from . import commands, conventions, secrets, syntax, variables
from .source import HOST_SCRIPTS, PRELUDE, REPO_ROOT, Finding, SourceFile, Unit, load_unit

__all__ = ["Finding", "Unit", "SourceFile", "check_unit", "check_source", "check_paths", "default_paths", "REPO_ROOT", "HOST_SCRIPTS", "PRELUDE"]


def check_unit(unit: Unit) -> list[Finding]:
    """Every finding of one unit (a script and its prelude), waivers applied, sorted and without repeats."""
    found: list[Finding] = []
    for file in unit.files:
        found += syntax.check(file)
        found += commands.check(unit, file)
    found += variables.check(unit)
    found += conventions.check(unit)
    found += secrets.check(unit)
    by_label = {file.label: file for file in unit.files}
    return sorted({finding for finding in found if not by_label[finding.path].waived(finding)})


def check_source(source: bytes, path: Path | str = "probe.ps1", prelude: bytes | None = None) -> list[Finding]:
    """Findings of a script given as text (with a prelude's text, or alone), reported under ``path``."""
    script = SourceFile(Path(path), source, label=str(path))
    return check_unit(Unit(script, SourceFile(PRELUDE, prelude) if prelude is not None else None))


def default_paths() -> list[Path]:
    """Every PowerShell file the collection ships (all of plugins/, host scripts and prelude included)."""
    return sorted(path for pattern in ("*.ps1", "*.psm1") for path in (REPO_ROOT / "plugins").rglob(pattern))


def check_paths(paths: t.Iterable[Path]) -> list[Finding]:
    """Findings of every file, each checked as it runs (a host script with the prelude beside it)."""
    found: set[Finding] = set()
    for path in paths:
        found.update(check_unit(load_unit(Path(path))))
    return sorted(found)
