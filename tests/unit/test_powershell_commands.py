"""The table of Windows PowerShell 5.1 commands the host scripts may call, tests/fixtures/powershell_commands.json.

Built from Microsoft's reference (each command's page is its ``source``): module, parameters by exact name,
and, where recorded, parameter sets with their mandatory parameters and the switches. The checker
(tests/pslint, rules unknown-command, unknown-parameter, abbreviated-parameter, alias, parameter-set,
missing-mandatory) holds every call in the shipped scripts to it (here, and with all its rules in
tests/unit/test_pslint.py).
"""

import json
from pathlib import Path

import pytest

import pslint

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLE = json.loads((REPO_ROOT / "tests" / "fixtures" / "powershell_commands.json").read_text(encoding="utf-8"))


def test_every_command_of_the_table_has_its_reference_page():
    for name, spec in TABLE["commands"].items():
        assert spec["source"].startswith("https://learn.microsoft.com/powershell/module/"), name
        assert spec["source"].split("?")[0].endswith("/" + name.lower()), name


@pytest.mark.parametrize("name", sorted(TABLE["commands"]))
def test_parameter_sets_and_switches_name_parameters_the_command_has(name):
    spec = TABLE["commands"][name]
    parameters = set(spec["parameters"])
    assert set(spec.get("switches", [])) <= parameters, name
    covered = set()
    for set_name, members in spec.get("parameter_sets", {}).items():
        mandatory, optional = set(members["mandatory"]), set(members["optional"])
        assert mandatory <= parameters and optional <= parameters and not mandatory & optional, (name, set_name)
        covered |= mandatory | optional
    if spec.get("parameter_sets"):
        # Every parameter belongs to some set: a parameter left out would be refused in every call.
        assert covered == parameters, (name, sorted(parameters - covered))


def test_aliases_are_not_commands_of_the_table():
    assert not {alias.lower() for alias in TABLE["aliases"]["names"]} & {name.lower() for name in TABLE["commands"]}


COMMAND_RULES = {"unknown-command", "ps7-command", "alias", "unknown-parameter", "abbreviated-parameter", "parameter-set", "missing-mandatory"}


@pytest.mark.parametrize("path", pslint.default_paths(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_command_and_parameter_exists_in_windows_powershell_5_1(path):
    found = [str(finding) for finding in pslint.check_paths([path]) if finding.rule in COMMAND_RULES]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("snippet, expected", [
    (b"Get-Itemz -LiteralPath 'C:\\x'\n", "Get-Itemz is neither a Windows PowerShell 5.1 command"),
    (b"Get-Item -LitralPath 'C:\\x'\n", "has no parameter -LitralPath"),
    (b"Set-OBMachineSetting -Throttle $false\n", "has no parameter -Throttle"),
    (b"gci -Path 'C:\\x'\n", "gci is an alias"),
    (b"@(1) | % { $_ }\n", "% is an alias"),
    (b"function Get-Thing {\n    param([string]$Name)\n    $Name\n}\nGet-Thing -Nme 'x'\n", "function Get-Thing (probe.ps1) has no parameter -Nme"),
    (b"Remove-Item -LiteralPath 'C:\\x' -WhatIf -ErrorAction Ignore\n", None),
    (b"Get-Item -LiteralPath 'C:\\x' -WhatIf\n", "has no parameter -WhatIf"),
])
def test_the_check_catches_unknown_commands_parameters_and_aliases(snippet, expected):
    found = [finding.message for finding in pslint.check_source(b"$ErrorActionPreference = 'Stop'\n" + snippet) if finding.rule in COMMAND_RULES]
    if expected is None:
        assert found == []
    else:
        assert any(expected in message for message in found), found
