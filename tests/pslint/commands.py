"""Rules about the commands a unit calls: each one exists in Windows PowerShell 5.1 (or the module that
provides it) and is called by its full name with parameters it has, in one of its parameter sets.

The table, tests/fixtures/powershell_commands.json, comes from Microsoft's reference for Windows PowerShell
5.1 (each command's ``source``). Functions the unit defines (the prelude's and the script's own) are held to
their param() blocks. Rules: ``alias``, ``unknown-command``, ``ps7-command``, ``unknown-parameter``,
``abbreviated-parameter``, ``parameter-set``, ``missing-mandatory``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing as t

from tree_sitter import Node

from .source import COMMAND_TABLE, Finding, SourceFile, Unit, child_of, command_name, text, walk

# Commands and parameters that came after Windows PowerShell 5.1 (PowerShell 6 and 7 release notes,
# learn.microsoft.com/powershell/scripting/whats-new): name -> what to write instead.
PS7_COMMANDS = {
    "join-string": "Join-String is PowerShell 6.2+; use the -join operator",
    "get-error": "Get-Error is PowerShell 7; read $_.Exception in a catch block",
    "test-json": "Test-Json is PowerShell 6.1+",
    "convertfrom-markdown": "ConvertFrom-Markdown is PowerShell 6.1+",
    "get-uptime": "Get-Uptime is PowerShell 6.0+; read Win32_OperatingSystem.LastBootUpTime",
    "remove-alias": "Remove-Alias is PowerShell 6.0+",
}
PS7_PARAMETERS = {
    ("foreach-object", "parallel"): "ForEach-Object -Parallel is PowerShell 7; use a foreach loop",
    ("foreach-object", "throttlelimit"): "ForEach-Object -ThrottleLimit is PowerShell 7",
    ("foreach-object", "asjob"): "ForEach-Object -AsJob is PowerShell 7",
    ("convertfrom-json", "ashashtable"): "ConvertFrom-Json -AsHashtable is PowerShell 6; read the PSCustomObject's properties",
    ("convertfrom-json", "depth"): "ConvertFrom-Json -Depth is PowerShell 6.2; 5.1 has no depth limit to raise",
    ("convertfrom-json", "noenumerate"): "ConvertFrom-Json -NoEnumerate is PowerShell 7",
    ("convertto-json", "asarray"): "ConvertTo-Json -AsArray is PowerShell 6.2; wrap the value in @()",
    ("convertto-json", "enumsasstrings"): "ConvertTo-Json -EnumsAsStrings is PowerShell 6.2; cast enums with [string]",
    ("convertto-json", "escapehandling"): "ConvertTo-Json -EscapeHandling is PowerShell 6.2",
    ("get-content", "asbytestream"): "Get-Content -AsByteStream is PowerShell 6; 5.1 has -Encoding Byte",
    ("set-content", "asbytestream"): "Set-Content -AsByteStream is PowerShell 6; 5.1 has -Encoding Byte",
    ("invoke-webrequest", "skipcertificatecheck"): "Invoke-WebRequest -SkipCertificateCheck is PowerShell 6",
    ("invoke-restmethod", "skipcertificatecheck"): "Invoke-RestMethod -SkipCertificateCheck is PowerShell 6",
    ("import-module", "usewindowspowershell"): "Import-Module -UseWindowsPowerShell is PowerShell 7",
    ("get-date", "asutc"): "Get-Date -AsUTC is PowerShell 7.1; call .ToUniversalTime()",
    ("get-date", "unixtimeseconds"): "Get-Date -UnixTimeSeconds is PowerShell 7.1",
    ("select-object", "skipindex"): "Select-Object -SkipIndex is PowerShell 6.2",
    ("where-object", "not"): "Where-Object -Not is PowerShell 6.1; use -FilterScript { -not $_.Name }",
}
# -WhatIf and -Confirm, which a cmdlet that supports ShouldProcess takes.
SHOULD_PROCESS = {"whatif", "confirm"}
# Common parameters that take no value.
COMMON_SWITCHES = {"verbose", "debug"}


@dataclasses.dataclass(frozen=True)
class ParameterSet:
    name: str
    mandatory: frozenset[str]
    optional: frozenset[str]

    @property
    def parameters(self) -> frozenset[str]:
        return self.mandatory | self.optional


@dataclasses.dataclass(frozen=True)
class CommandSpec:
    """A command the unit may call: its proper name, where it is described, its parameters (lower case)."""

    name: str
    label: str
    parameters: dict[str, str]          # lower case -> proper case
    switches: frozenset[str]            # lower case names that take no value
    sets: tuple[ParameterSet, ...]      # empty: sets not recorded


@functools.lru_cache(maxsize=1)
def table() -> dict[str, t.Any]:
    return json.loads(COMMAND_TABLE.read_text(encoding="utf-8"))


def common_parameters() -> set[str]:
    return {name.lower() for name in table()["common_parameters"]["parameters"]}


def aliases() -> set[str]:
    return {name.lower() for name in table()["aliases"]["names"]}


def cmdlet_spec(name: str, spec: dict[str, t.Any]) -> CommandSpec:
    parameters = {parameter.lower(): parameter for parameter in spec["parameters"]}
    if spec["should_process"]:
        parameters |= {"whatif": "WhatIf", "confirm": "Confirm"}
    sets = tuple(
        ParameterSet(set_name, frozenset(p.lower() for p in members.get("mandatory", [])), frozenset(p.lower() for p in members.get("optional", [])))
        for set_name, members in spec.get("parameter_sets", {}).items()
    )
    return CommandSpec(name, f"{name} ({spec['module']}, {spec['source']})", parameters,
                       frozenset(p.lower() for p in spec.get("switches", [])), sets)


@functools.lru_cache(maxsize=1)
def cmdlets() -> dict[str, CommandSpec]:
    return {name.lower(): cmdlet_spec(name, spec) for name, spec in table()["commands"].items()}


def known_commands(unit: Unit) -> dict[str, CommandSpec]:
    """Every command the unit may call, by lower-case name: the table's cmdlets, then the unit's functions."""
    known = dict(cmdlets())
    for lowered, function in unit.functions.items():
        mandatory = frozenset(name for name, required in function.parameters.items() if required)
        optional = frozenset(function.parameters) - mandatory
        known[lowered] = CommandSpec(function.name, f"function {function.name} ({function.file.label})",
                                     function.parameter_names, frozenset(), (ParameterSet("", mandatory, optional),))
    return known


@dataclasses.dataclass
class Call:
    """One call of a command by name: its parameters as written and how many values it passes by position."""

    node: Node
    name: str
    parameters: list[tuple[str, Node, bool]]   # (name as written, node, value attached with ':')
    elements: list[tuple[str, Node]]            # ("parameter" | "colon" | "value", node), in order
    piped_into: bool                             # the command receives pipeline input

    def positional_count(self, switches: t.Collection[str]) -> int:
        """How many values are bound by position: those not taken by the parameter before them."""
        count, taker = 0, None
        for kind, node in self.elements:
            if kind == "parameter":
                name = text(node).lstrip("-").lower()
                taker = None if name in switches else name
            elif kind == "colon":
                taker = "attached"
            elif taker is not None:
                taker = None
            else:
                count += 1
        return count


def calls(file: SourceFile, within: t.Iterable[Node] | None = None) -> t.Iterator[Call]:
    for root in (within if within is not None else [file.root]):
        for command in walk(root, "command"):
            name = command_name(command)
            if name is None:
                continue   # & $scriptBlock and the like
            parameters, ordered = [], []
            elements = child_of(command, "command_elements")
            for element in (elements.children if elements is not None else []):
                if element.type == "command_parameter":
                    raw = text(element)
                    colon = element.next_sibling is not None and text(element.next_sibling).strip() == ":"
                    parameters.append((raw.lstrip("-").rstrip(":").split(":")[0], element, colon))
                    ordered.append(("parameter", element))
                elif element.type == "command_argument_sep":
                    if text(element).strip() == ":":
                        ordered.append(("colon", element))
                elif element.type != "comment":
                    ordered.append(("value", element))
            previous = command.prev_sibling
            yield Call(command, name, parameters, ordered, previous is not None and previous.type == "|")


def parameter_problems(file: SourceFile, call: Call, spec: CommandSpec) -> t.Iterator[Finding]:
    common = common_parameters()
    used: list[str] = []
    for written, node, _colon in call.parameters:
        lowered = written.lower()
        if (call.name.lower(), lowered) in PS7_PARAMETERS:
            yield file.finding(node, "ps7-command", PS7_PARAMETERS[(call.name.lower(), lowered)])
            continue
        if lowered in spec.parameters:
            used.append(lowered)
            continue
        if lowered in common:
            continue
        completions = sorted(name for lower, name in spec.parameters.items() if lower.startswith(lowered))
        completions += sorted(name for name in table()["common_parameters"]["parameters"] if name.lower().startswith(lowered))
        if completions:
            yield file.finding(node, "abbreviated-parameter",
                               f"-{written} abbreviates -{' or -'.join(completions)} of {spec.label}; write the parameter name in full")
        else:
            known = ", ".join(f"-{name}" for name in sorted(spec.parameters.values())) or "none"
            yield file.finding(node, "unknown-parameter", f"{spec.label} has no parameter -{written} (its parameters: {known})")
    if not spec.sets or len(used) != len([p for p in call.parameters if p[0].lower() not in common]):
        return
    named = set(used) - SHOULD_PROCESS
    candidates = [parameter_set for parameter_set in spec.sets if named <= parameter_set.parameters | SHOULD_PROCESS]
    if not candidates:
        described = "; ".join(f"{s.name or 'param()'}: {', '.join(sorted(spec.parameters[p] for p in s.parameters))}" for s in spec.sets)
        yield file.finding(call.node, "parameter-set",
                           f"{spec.name} -{' -'.join(spec.parameters[p] for p in used)}: these parameters are in no one parameter set "
                           f"of {spec.label} ({described})")
        return
    # Mandatory parameters can also be bound by position or from the pipeline: only a call with neither is checked.
    if call.piped_into or call.positional_count(spec.switches | SHOULD_PROCESS | COMMON_SWITCHES) > 0:
        return
    if not any(parameter_set.mandatory <= named for parameter_set in candidates):
        closest = min(candidates, key=lambda s: len(s.mandatory - named))
        missing = ", ".join(f"-{spec.parameters[p]}" for p in sorted(closest.mandatory - named))
        where = f"its parameter set {closest.name}" if closest.name else "its param() block"
        yield file.finding(call.node, "missing-mandatory",
                           f"{spec.name} is called without {missing}, mandatory in {where} "
                           f"({spec.label}); PowerShell would prompt for it and fail non-interactively")


def check(unit: Unit, file: SourceFile) -> t.Iterator[Finding]:
    known = known_commands(unit)
    alias_names = aliases()
    for call in calls(file):
        lowered = call.name.lower()
        if lowered[:1].isdigit() or lowered in ("write-host", "out-host"):
            continue   # 1..3 at the start of a pipeline (the grammar reads it as a command name); host output: conventions.py
        if lowered in PS7_COMMANDS:
            yield file.finding(call.node, "ps7-command", PS7_COMMANDS[lowered])
        elif lowered in alias_names:
            yield file.finding(call.node, "alias", f"{call.name} is an alias (its meaning depends on the session's alias table); write the command's full name")
        elif lowered in known:
            yield from parameter_problems(file, call, known[lowered])
        elif "." in lowered or "\\" in lowered or "/" in lowered:
            yield file.finding(call.node, "unknown-command",
                               f"{call.name} runs a program directly; start programs with Start-Installer (prelude), which bounds "
                               "the time, keeps the exit code and keeps secrets off command lines")
        else:
            yield file.finding(call.node, "unknown-command",
                               f"{call.name} is neither a Windows PowerShell 5.1 command of the table (tests/fixtures/powershell_commands.json: "
                               "add it there with its learn.microsoft.com reference page) nor a function this script or the prelude defines")
