"""Rules the host-script protocol (docs/host-scripts.md) adds to PowerShell's own:

- ``error-action``: ``$ErrorActionPreference = 'Stop'`` is the unit's first statement (the prelude's), and
  nothing sets it to anything else, so every error reaches the script's catch and its failure document;
- ``json-depth``: ConvertTo-Json always with -Depth (5.1 silently cuts nesting at 2 levels);
- ``write-host``: no Write-Host or Out-Host: the host's output travels on stdout next to the one JSON document.
"""

from __future__ import annotations

import typing as t

from .commands import calls
from .source import Finding, SourceFile, Unit, text, top_level_statements, walk
from .variables import assigned_names

HOST_OUTPUT = {
    "write-host": "Write-Host",
    "out-host": "Out-Host",
}


def error_action_assignments(file: SourceFile) -> t.Iterator[tuple[t.Any, str]]:
    for assignment in walk(file.root, "assignment_expression"):
        if assigned_names(assignment.children[0]) == ["erroractionpreference"]:
            yield assignment, "".join(text(child) for child in assignment.children[2:]).strip()


def error_action(unit: Unit) -> t.Iterator[Finding]:
    first_file = unit.files[0]
    statements = top_level_statements(first_file.root)
    first = statements[0] if statements else None
    first_is_stop = first is not None and any(
        assignment.start_byte == next(walk(first, "assignment_expression"), first).start_byte and value.strip("'\"").lower() == "stop"
        for assignment, value in error_action_assignments(first_file))
    if not first_is_stop:
        yield first_file.finding(first if first is not None else 1, "error-action",
                                 "the first statement must be $ErrorActionPreference = 'Stop' (the prelude's), so that a "
                                 "failing cmdlet stops the script and reaches its catch")
    for file in unit.files:
        for assignment, value in error_action_assignments(file):
            if value.strip("'\"").lower() != "stop":
                yield file.finding(assignment, "error-action",
                                   f"$ErrorActionPreference is set to {value}: errors would pass unseen and the script would report "
                                   "success; keep 'Stop' and use -ErrorAction Ignore on the one command whose failure is expected")


def json_depth(file: SourceFile) -> t.Iterator[Finding]:
    for call in calls(file):
        if call.name.lower() == "convertto-json" and not any(name.lower() == "depth" for name, _node, _colon in call.parameters):
            yield file.finding(call.node, "json-depth",
                               "ConvertTo-Json without -Depth: Windows PowerShell 5.1 writes anything nested deeper than 2 "
                               "levels as its type name; pass -Depth")


def host_output(file: SourceFile) -> t.Iterator[Finding]:
    for call in calls(file):
        if call.name.lower() in HOST_OUTPUT:
            yield file.finding(call.node, "write-host",
                               f"{HOST_OUTPUT[call.name.lower()]} writes to the host's output, which reaches the controller on "
                               "stdout beside the JSON document; put what the controller needs in the document")


def check(unit: Unit) -> t.Iterator[Finding]:
    yield from error_action(unit)
    for file in unit.files:
        yield from json_depth(file)
        yield from host_output(file)
