"""The table of Windows PowerShell 5.1 commands the host scripts may call, tests/fixtures/powershell_commands.json.

Built from Microsoft's reference (each command's page is its ``source``): module, parameters by exact name,
and, where recorded, parameter sets with their mandatory parameters and the switches. The checker
(tests/pslint, rules unknown-command, unknown-parameter, abbreviated-parameter, alias, parameter-set,
missing-mandatory) holds every call in the shipped scripts to it: tests/unit/test_pslint.py.
"""

import json
from pathlib import Path

import pytest

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
