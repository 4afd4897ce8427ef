"""The PowerShell checker (tests/pslint) on the shipped scripts, on small probes, and on mutated copies.

Every .ps1 the collection ships must be clean. Each rule is shown to fire on a probe and to stay quiet on
its correct form; then each host script (and the prelude) is copied with one defect put in -- an
unassigned variable, a misspelt parameter, a PowerShell 7 operator, an alias, a secret passed as a
parameter, ConvertTo-Json without -Depth -- and the checker must report it at that file and line.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import pslint
from pslint.commands import calls, known_commands
from pslint.source import SourceFile, Unit

SHIPPED = pslint.default_paths()
HOST_SCRIPTS = sorted(path for path in pslint.HOST_SCRIPTS.glob("*.ps1"))
STOP = b"$ErrorActionPreference = 'Stop'\n"


def rules_at(findings, line=None):
    return {(finding.rule, finding.line) if line is None else finding.rule for finding in findings if line is None or finding.line == line}


def test_there_are_host_scripts_and_a_prelude():
    assert pslint.PRELUDE in HOST_SCRIPTS and len(HOST_SCRIPTS) > 1
    assert set(HOST_SCRIPTS) <= set(SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_powershell_is_clean(path):
    findings = pslint.check_paths([path])
    assert not findings, "\n".join(map(str, findings))


def test_command_line_prints_file_line_rule_message(tmp_path):
    broken = tmp_path / "broken.ps1"
    broken.write_bytes(STOP + b"$a = $b\ngci -LiteralPath 'C:\\x'\n")
    run = subprocess.run([sys.executable, "-m", "pslint", str(broken)], cwd=pslint.REPO_ROOT / "tests",
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert re.search(rf"^{re.escape(str(broken))}:2: undefined-variable: \$b is read", run.stdout, re.MULTILINE), run.stdout
    assert re.search(rf"^{re.escape(str(broken))}:3: alias: gci is an alias", run.stdout, re.MULTILINE), run.stdout
    clean = subprocess.run([sys.executable, "-m", "pslint"], cwd=pslint.REPO_ROOT / "tests", capture_output=True, text=True, check=False)
    assert clean.returncode == 0 and clean.stdout == "", clean.stdout


@pytest.mark.parametrize("snippet, rule, line", [
    # Windows PowerShell 5.1 syntax.
    (b"$a = 1\n$b = $a ?? 2\n", "ps51-syntax", 3),
    (b"$a = $null\n$a ??= 2\n", "ps51-syntax", 3),
    (b"$a = $null\n$b = $a?.Name\n", "ps51-syntax", 3),
    (b"$a = $null\n$b = ${a}?[0]\n", "ps51-syntax", 3),
    (b"$ok = $true\n$a = $ok ? 'yes' : 'no'\n", "ps51-syntax", 3),
    (b"Get-Date && Get-Date\n", "ps51-syntax", 2),
    (b"function F {\n    process { 1 }\n    clean { 2 }\n}\n", "ps51-syntax", 4),
    (b"if ($true) {\n    $x = @{ a = 1\n}\n", "parse-error", None),
    (b"$j = '{}'\n$o = ConvertFrom-Json -InputObject $j -AsHashtable\n", "ps7-command", 3),
    (b"$j = '{}'\n$o = ConvertFrom-Json -InputObject $j -Depth 5\n", "ps7-command", 3),
    (b"@(1) | ForEach-Object -Parallel { $_ }\n", "ps7-command", 2),
    (b"$s = @('a') | Join-String\n", "ps7-command", 2),
    (b"Get-Error\n", "ps7-command", 2),
    # Variables.
    (b"$a = $b\n", "undefined-variable", 2),
    (b"$x = 1\nif ($x) { $y = 1 }\n$y\n", "undefined-variable", 4),
    (b"try { $r = 1 } catch { $null = $_ }\n$r\n", "undefined-variable", 3),
    (b"foreach ($i in @(1)) { $j = $i }\n$j\n", "undefined-variable", 3),
    (b"$IsWindows\n", "undefined-variable", 2),
    (b"function F {\n    param([string]$Name)\n    $Name + $Other\n}\n", "undefined-variable", 4),
    # Commands.
    (b"Get-Itemz -LiteralPath 'C:\\x'\n", "unknown-command", 2),
    (b"msiexec.exe /x\n", "unknown-command", 2),
    (b"Get-Item -LitralPath 'C:\\x'\n", "unknown-parameter", 2),
    (b"Get-Item -Lit 'C:\\x'\n", "abbreviated-parameter", 2),
    (b"gci -Path 'C:\\x'\n", "alias", 2),
    (b"@(1) | % { $_ }\n", "alias", 2),
    (b"@(1) | ? { $_ }\n", "alias", 2),
    (b"Get-Item -Path 'a' -LiteralPath 'b'\n", "parameter-set", 2),
    (b"Set-OBMachineSetting -NoThrottle -WorkDay Monday\n", "parameter-set", 2),
    (b"Remove-ItemProperty -LiteralPath 'HKLM:\\x'\n", "missing-mandatory", 2),
    (b"Set-OBMachineSetting -WorkDay Monday -StartWorkHour 8\n", "missing-mandatory", 2),
    (b"function Get-Thing {\n    param([string]$Name)\n    $Name\n}\nGet-Thing -Nme 'x'\n", "unknown-parameter", 6),
    (b"Get-Item -LiteralPath 'C:\\x' -WhatIf\n", "unknown-parameter", 2),
    # Conventions.
    (b"$ErrorActionPreference = 'Continue'\n", "error-action", 2),
    (b"$o = ConvertTo-Json -InputObject @{} -Compress\n", "json-depth", 2),
    (b"Write-Host 'done'\n", "write-host", 2),
    # Secrets.
    (b"$request = Read-Thing\n$secrets = $request.secrets\n$p = $secrets.password\nGet-Item -LiteralPath $p\n",
     "secret-leak", 5),
    (b"$request = Read-Thing\n$p = $request.secrets.password\n$p | Out-Null\n", "secret-leak", 4),
    (b"$request = Read-Thing\n$info = New-Object -TypeName System.Diagnostics.ProcessStartInfo\n"
     b"$info.Arguments = '/p ' + $request.secrets.password\n", "secret-leak", 4),
    (b"function Use-Value {\n    param([string]$Value)\n    Get-Item -LiteralPath $Value\n}\n"
     b"$request = Read-Thing\nUse-Value -Value $request.secrets.password\n", "secret-leak", 4),
])
def test_each_rule_finds_its_defect(snippet, rule, line):
    findings = pslint.check_source(STOP + snippet)
    assert rule in {finding.rule for finding in findings if line is None or finding.line == line}, "\n".join(map(str, findings))


@pytest.mark.parametrize("snippet", [
    b"$x = 1\nif ($x) { $y = 1 } else { $y = 2 }\n$y\n",
    b"$x = 1\nif ($x) { $y = 1 } else { throw 'no' }\n$y\n",
    b"try { $r = 1 } catch { exit 1 }\n$r\n",
    b"$x = 1\nswitch ($x) {\n    1 {\n        $y = 1\n    }\n    default {\n        $y = 2\n    }\n}\n$y\n",
    b"$list = @(@(1) | ForEach-Object { $_ } | Where-Object { $_ -gt 0 })\n$e = $env:TEMP\n$m = 'ab' -match 'a'\n$Matches[0]\n",
    b"function F {\n    param([string]$Name)\n    $Name + $shared\n}\n$shared = 1\nF -Name 'x'\n",
    b"$f = { param($match) $match.Value }\n",
    b"Split-Path -Parent 'C:\\a'\n$o = New-Object System.Text.UTF8Encoding $false\nGet-ChildItem -LiteralPath 'C:\\'\n",
    b"Remove-Item -LiteralPath 'C:\\x' -WhatIf -ErrorAction Ignore\n@('C:\\x') | Remove-Item -Force\n",
    b"$request = Read-Thing\n$secrets = $request.secrets\n$credential = New-Object -TypeName System.Net.NetworkCredential\n"
    b"$credential.Password = $secrets.password\n",
    b"# $a = $b ?? 1 && gci\n$msg = 'x ?? y && Write-Host'\n",
    b"$request = Read-Thing\n$info = New-Object -TypeName System.Diagnostics.ProcessStartInfo\n"
    b"# pslint: allow secret-leak: the program reads its password only from its command line\n"
    b"$info.Arguments = '/p ' + $request.secrets.password\n",
])
def test_correct_code_has_no_findings(snippet):
    findings = [finding for finding in pslint.check_source(STOP + snippet) if finding.rule != "unknown-command" or "Read-Thing" not in finding.message]
    assert not findings, "\n".join(map(str, findings))


def test_a_waiver_needs_its_reason_and_its_rule():
    base = b"$request = Read-Thing\n$info = New-Object -TypeName System.Diagnostics.ProcessStartInfo\n"
    for waiver in (b"# pslint: allow secret-leak\n", b"# pslint: allow json-depth: not this rule\n"):
        findings = pslint.check_source(STOP + base + waiver + b"$info.Arguments = $request.secrets.password\n")
        assert "secret-leak" in {finding.rule for finding in findings}, waiver


def test_a_prelude_function_is_held_to_each_script_that_sends_it():
    prelude = STOP + b"function Start-Thing {\n    param([string]$Name)\n    $Name + $secrets.password\n}\n"
    without = pslint.check_source(b"# azmigrate-host-script: probe/1\nStart-Thing -Name 'x'\n", "probe.ps1", prelude)
    assert [(f.path, f.line, f.rule) for f in without] == [(pslint.source.relative(pslint.PRELUDE), 4, "undefined-variable")], without
    assert "which probe.ps1 calls" in without[0].message
    with_secrets = pslint.check_source(b"# azmigrate-host-script: probe/1\n$secrets = $null\nStart-Thing -Name 'x'\n", "probe.ps1", prelude)
    assert with_secrets == []


# Mutations of the shipped scripts: each puts one defect in a copy and names the rule and line that must report it.
ALIASES = {"ForEach-Object": "%", "Where-Object": "?", "Select-Object": "select", "Get-ChildItem": "gci", "Sort-Object": "sort",
           "Get-Item": "gi", "Get-ItemProperty": "gp", "Get-Content": "gc", "Get-Service": "gsv", "Move-Item": "mi",
           "New-Item": "ni", "Remove-Item": "ri", "Start-Sleep": "sleep"}


def anchor(lines: list[str]) -> tuple[int, str, str]:
    """(index after which a line can go, its indentation, a variable assigned there): in a script the line that
    reads the request (then $input), in the prelude the param() line of Write-HostScriptJson (then $Document)."""
    for index, line in enumerate(lines):
        if "Read-HostScriptRequest -Line" in line and not line.lstrip().startswith("#"):
            return index, re.match(r"^\s*", line).group(0), "$input"
        match = re.match(r"^(\s*)param\(\$Document\)", line)
        if match:
            return index, match.group(1), "$Document"
    raise AssertionError("no line reading the request (a script) or taking $Document (the prelude) to put a mutation after")


def insert_after_anchor(lines, new_line):
    index, indent, _variable = anchor(lines)
    return lines[:index + 1] + [indent + new_line] + lines[index + 1:], index + 2


def mutate_insert(template):
    def mutate(lines):
        _index, _indent, variable = anchor(lines)
        return insert_after_anchor(lines, template.replace("VAR", variable))
    return mutate


def misspell_parameter(lines):
    file = SourceFile(Path("probe.ps1"), "\n".join(lines).encode())
    known = known_commands(Unit(file, SourceFile(pslint.PRELUDE, pslint.PRELUDE.read_bytes())))
    for call in calls(file):
        spec = known.get(call.name.lower())
        for written, node, _colon in call.parameters:
            if spec is not None and len(written) >= 4 and written.lower() in spec.parameters:
                row, column = node.start_point
                misspelt = written[:-2] + written[-1]
                lines = list(lines)
                lines[row] = lines[row][:column] + "-" + misspelt + lines[row][column + 1 + len(written):]
                return lines, row + 1
    raise AssertionError("no parameter of a cmdlet or function to misspell")


def use_alias(lines):
    for index, line in enumerate(lines):
        for name, alias in ALIASES.items():
            match = re.search(rf"(?<![\w-]){name}(?![\w-])", line)
            if match and not line.lstrip().startswith("#"):
                lines = list(lines)
                lines[index] = line[:match.start()] + alias + line[match.end():]
                return lines, index + 1
    return insert_after_anchor(lines, "$null = VAR | % { $_ }".replace("VAR", anchor(lines)[2]))


def drop_depth(lines):
    for index, line in enumerate(lines):
        if "ConvertTo-Json" in line and "-Depth" in line and not line.lstrip().startswith("#"):
            lines = list(lines)
            lines[index] = re.sub(r"\s-Depth\s+\d+", "", line)
            return lines, index + 1
    return mutate_insert("$null = ConvertTo-Json -InputObject VAR -Compress")(lines)


MUTATIONS = {
    "undefined-variable": mutate_insert("$null = $neverAssignedAnywhere"),
    "unknown-parameter": misspell_parameter,
    "ps51-syntax": mutate_insert("$null = VAR ?? 'none'"),
    "alias": use_alias,
    "secret-leak": mutate_insert("$probe = (Read-HostScriptRequest -Line @($input)).secrets.proxy_password; $null = Get-Item -LiteralPath $probe"),
    "json-depth": drop_depth,
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
@pytest.mark.parametrize("path", HOST_SCRIPTS, ids=lambda path: path.name)
def test_a_defect_put_into_a_shipped_script_is_reported_at_its_file_and_line(tmp_path, path, rule):
    scripts = tmp_path / "host_scripts"
    scripts.mkdir()
    prelude_copy = scripts / pslint.PRELUDE.name
    prelude_copy.write_bytes(pslint.PRELUDE.read_bytes())
    copy = scripts / path.name
    mutated, line = MUTATIONS[rule](path.read_text(encoding="utf-8").splitlines())
    copy.write_text("\n".join(mutated) + "\n", encoding="utf-8")
    unit = pslint.source.load_unit(copy, prelude=prelude_copy)
    if path == pslint.PRELUDE and rule in ("undefined-variable",):
        # A prelude function's reads are checked where a script sends it: send this one from a probe script.
        probe = scripts / "probe.ps1"
        probe.write_text("# azmigrate-host-script: probe/1\n$null = Write-HostScriptJson -Document 1\n", encoding="utf-8")
        unit = pslint.source.load_unit(probe, prelude=copy)
    findings = pslint.check_unit(unit)
    expected = f"{copy}:{line}: {rule}: "
    if rule == "unknown-parameter":
        assert any(str(f).startswith(expected) or str(f).startswith(f"{copy}:{line}: abbreviated-parameter: ") for f in findings), "\n".join(map(str, findings))
    else:
        assert any(str(finding).startswith(expected) for finding in findings), f"expected {expected}...; found:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize("snippet", [
    b"$a = 1\n$b = $a ?? 2\n",
    b"$a = $null\n$a ??= 2\n",
    b"$ok = $true\n$a = $ok ? 'yes' : 'no'\n",
    b"Get-Date && Get-Date\n",
    b"Get-Date || Get-Date\n",
    b"if ($true) {\n    $x = @{ a = 1\n}\n",
])
def test_the_lab_refuses_what_the_checker_calls_a_parse_error_or_7_only_syntax(snippet):
    # The lab's refusal (lab/hosts/scripts/_powershell.py) and the checker agree on what 5.1 cannot parse.
    from lab.hosts.scripts._powershell import parse_refusal
    assert {"parse-error", "ps51-syntax"} & {finding.rule for finding in pslint.check_source(STOP + snippet)}
    assert parse_refusal((STOP + snippet).decode()) is not None


@pytest.mark.parametrize("path", [path for path in HOST_SCRIPTS if path != pslint.PRELUDE], ids=lambda path: path.name)
def test_the_lab_runs_every_shipped_script_as_sent(path):
    from lab.hosts.scripts._powershell import parse_refusal

    from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import load_host_script
    assert parse_refusal(load_host_script(path.stem).text) is None
