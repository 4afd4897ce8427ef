"""Every command the PowerShell files call exists in Windows PowerShell 5.1 (or the module that provides it), by
its full name, with parameters it has.

The table, tests/fixtures/powershell_commands.json, is built from Microsoft's reference (each command's page is
its `source`). Commands the scripts define themselves (the prelude's functions, a script's own) are held to their
param() blocks. Aliases are refused: they depend on the session's alias table and read worse. Parameter names
must be written out in full (PowerShell accepts unambiguous prefixes; the scripts do not rely on it).
"""

import json
from pathlib import Path

import pytest
import tree_sitter_pwsh
from tree_sitter import Language, Parser

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLE = json.loads((REPO_ROOT / "tests" / "fixtures" / "powershell_commands.json").read_text(encoding="utf-8"))
HOST_SCRIPTS = REPO_ROOT / "plugins" / "plugin_utils" / "host_scripts"
PRELUDE = HOST_SCRIPTS / "prelude.ps1"
POWERSHELL_FILES = sorted(path for pattern in ("*.ps1", "*.psm1") for path in (REPO_ROOT / "plugins").rglob(pattern))
PARSER = Parser(Language(tree_sitter_pwsh.language()))

COMMANDS = {name.lower(): (name, spec) for name, spec in TABLE["commands"].items()}
COMMON = {name.lower() for name in TABLE["common_parameters"]["parameters"]}
ALIASES = {name.lower() for name in TABLE["aliases"]["names"]}


def nodes(node, kind):
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            yield current
        stack.extend(reversed(current.children))


def defined_functions(source: bytes) -> dict[str, set[str]]:
    """name (lower case) -> its parameter names (lower case), for every function a source defines."""
    functions = {}
    for function in nodes(PARSER.parse(source).root_node, "function_statement"):
        name = next(child for child in function.children if child.type == "function_name").text.decode()
        params = {variable.text.decode().lstrip("$").lower()
                  for parameter in nodes(function, "script_parameter")
                  for variable in parameter.children if variable.type == "variable"}
        functions[name.lower()] = params
    return functions


def command_calls(source: bytes):
    """(line, command name, [parameter names]) of every command a source calls by name."""
    for command in nodes(PARSER.parse(source).root_node, "command"):
        name_node = next((child for child in command.children if child.type == "command_name"), None)
        if name_node is None:
            continue   # & $scriptBlock and the like
        parameters = [element.text.decode().lstrip("-").split(":")[0]
                      for elements in command.children if elements.type == "command_elements"
                      for element in elements.children if element.type == "command_parameter"]
        yield name_node.start_point[0] + 1, name_node.text.decode(), parameters


def problems(source: bytes, where: str, functions: dict[str, set[str]]) -> list[str]:
    found = []
    for line, name, parameters in command_calls(source):
        lowered = name.lower()
        if lowered in ALIASES:
            found.append(f"{where}:{line}: {name} is an alias; write the command's full name")
            continue
        if lowered in functions:
            allowed, label = functions[lowered] | COMMON, f"function {name}"
        elif lowered in COMMANDS:
            proper, spec = COMMANDS[lowered]
            allowed = {parameter.lower() for parameter in spec["parameters"]} | COMMON
            if spec["should_process"]:
                allowed |= {"whatif", "confirm"}
            label = f"{proper} ({spec['module']}, {spec['source']})"
        else:
            found.append(f"{where}:{line}: {name} is not a Windows PowerShell 5.1 command the table knows "
                         "(tests/fixtures/powershell_commands.json), nor a function the scripts define")
            continue
        for parameter in parameters:
            if parameter.lower() not in allowed:
                found.append(f"{where}:{line}: {label} has no parameter -{parameter}")
    return found


def script_functions(path: Path) -> dict[str, set[str]]:
    """The functions a host script can call: its own, and the prelude's (the runner sends those it calls)."""
    functions = defined_functions(path.read_bytes())
    if path.parent == HOST_SCRIPTS:
        functions = {**defined_functions(PRELUDE.read_bytes()), **functions}
    return functions


@pytest.mark.parametrize("path", POWERSHELL_FILES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_command_and_parameter_exists_in_windows_powershell_5_1(path):
    found = problems(path.read_bytes(), str(path.relative_to(REPO_ROOT)), script_functions(path))
    assert not found, "\n".join(found)


def test_every_command_of_the_table_has_its_reference_page():
    for name, spec in TABLE["commands"].items():
        assert spec["source"].startswith("https://learn.microsoft.com/powershell/module/"), name
        assert spec["source"].split("?")[0].endswith("/" + name.lower()), name


@pytest.mark.parametrize("snippet, expected", [
    (b"Get-Itemz -LiteralPath 'C:\\x'\n", "Get-Itemz is not a Windows PowerShell 5.1 command"),
    (b"Get-Item -LitralPath 'C:\\x'\n", "has no parameter -LitralPath"),
    (b"Set-OBMachineSetting -Throttle $false\n", "has no parameter -Throttle"),
    (b"gci -Path 'C:\\x'\n", "gci is an alias"),
    (b"$list | % { $_ }\n", "% is an alias"),
    (b"function Get-Thing {\n    param([string]$Name)\n    $Name\n}\nGet-Thing -Nme 'x'\n", "function Get-Thing has no parameter -Nme"),
    (b"Remove-Item -LiteralPath 'C:\\x' -WhatIf -ErrorAction Ignore\n", None),
    (b"Get-Item -LiteralPath 'C:\\x' -WhatIf\n", "has no parameter -WhatIf"),
])
def test_the_check_catches_unknown_commands_parameters_and_aliases(snippet, expected):
    found = problems(snippet, "probe.ps1", defined_functions(snippet))
    if expected is None:
        assert found == []
    else:
        assert any(expected in problem for problem in found), found
