"""Every PowerShell file under plugins/ parses, and host scripts keep to Windows PowerShell 5.1.

The prelude (host_scripts/prelude.ps1) is parsed and held to the 5.1 rules like a script, but has no
marker; every script is also checked as it is sent, with the prelude it gets.

No PowerShell runs on the project's machines, so the tree-sitter grammar stands in for its parser:
it finds unbalanced brackets, quotes and broken tokens with their position (not every error the real
parser reports). The 5.1 rules (docs/host-scripts.md) are simple text checks on code, comments and
strings removed.
"""

import re
from pathlib import Path

import pytest
import tree_sitter_pwsh
from tree_sitter import Language, Parser

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils.host_script import PRELUDE_NAME, load_host_script

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS = REPO_ROOT / "plugins"
HOST_SCRIPTS = PLUGINS / "plugin_utils" / "host_scripts"

POWERSHELL_FILES = sorted(path for pattern in ("*.ps1", "*.psm1") for path in PLUGINS.rglob(pattern))
HOST_SCRIPT_FILES = sorted(HOST_SCRIPTS.glob("*.ps1"))
PRELUDE = HOST_SCRIPTS / f"{PRELUDE_NAME}.ps1"
# The host scripts proper: every .ps1 there but the prelude.
SCRIPT_FILES = [path for path in HOST_SCRIPT_FILES if path != PRELUDE]

PARSER = Parser(Language(tree_sitter_pwsh.language()))


def relative(path):
    return str(path.relative_to(REPO_ROOT))


def syntax_errors(source, path):
    """``file:line:col: ...`` for every ERROR or MISSING node of the parse tree."""
    tree = PARSER.parse(source)
    errors = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            line, column = node.start_point
            what = f"missing {node.type!r}" if node.is_missing else f"cannot parse {node.text[:40].decode(errors='replace')!r}"
            errors.append(f"{relative(path)}:{line + 1}:{column + 1}: {what}")
        elif node.has_error:
            stack.extend(reversed(node.children))
    return errors


def code_only(source):
    """The source with comments and string contents blanked (same length, same lines), so rule checks see code only."""
    tree = PARSER.parse(source)
    text = bytearray(source)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ("comment", "string_literal", "expandable_string_literal", "verbatim_string_characters", "expandable_here_string_literal"):
            for index in range(node.start_byte, node.end_byte):
                if text[index] not in b"\r\n":
                    text[index] = ord(" ")
        else:
            stack.extend(node.children)
    return text.decode("utf-8")


def test_there_are_powershell_files_to_check():
    assert [relative(path) for path in SCRIPT_FILES], "no host scripts found under plugins/plugin_utils/host_scripts"
    assert PRELUDE in HOST_SCRIPT_FILES, f"no prelude {relative(PRELUDE)}"
    assert set(HOST_SCRIPT_FILES) <= set(POWERSHELL_FILES)


@pytest.mark.parametrize("path", POWERSHELL_FILES, ids=relative)
def test_parses(path):
    errors = syntax_errors(path.read_bytes(), path)
    assert not errors, "\n".join(errors)


def test_syntax_errors_carry_file_line_and_column():
    # The check itself: an unclosed block is reported where the grammar notices it.
    errors = syntax_errors(b"if ($true) {\n    $x = @{ a = 1\n}\n", HOST_SCRIPTS / "broken.ps1")
    assert errors and all(re.match(r"^plugins/plugin_utils/host_scripts/broken\.ps1:\d+:\d+: ", error) for error in errors)


@pytest.mark.parametrize("path", SCRIPT_FILES, ids=relative)
def test_host_script_starts_with_its_marker(path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert re.fullmatch(rf"# azmigrate-host-script: {re.escape(path.stem)}/[0-9]+", first_line), f"{relative(path)}:1: marker line is {first_line!r}"


# Windows PowerShell 5.1 has none of these (they came with PowerShell 6 and 7): text checks on code...
FORBIDDEN_TEXT = {
    r"\?\?": "null-coalescing '??' is PowerShell 7",
    r"-AsHashtable\b": "ConvertFrom-Json -AsHashtable is PowerShell 6",
}
# ... and, where text cannot tell them from 5.1 code, the grammar's nodes for them.
FORBIDDEN_NODES = {
    "ternary_expression": "ternary '? :' is PowerShell 7",
    "pipeline_chain_tail": "pipeline chain operators '&&' and '||' are PowerShell 7",
}


def rule_violations(source, path):
    violations = []
    stack = [PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type in FORBIDDEN_NODES:
            violations.append(f"{relative(path)}:{node.start_point[0] + 1}: {FORBIDDEN_NODES[node.type]}")
        stack.extend(node.children)
    for number, line in enumerate(code_only(source).splitlines(), start=1):
        for pattern, why in FORBIDDEN_TEXT.items():
            if re.search(pattern, line):
                violations.append(f"{relative(path)}:{number}: {why}")
        if re.search(r"\bConvertTo-Json\b", line, re.IGNORECASE) and not re.search(r"-Depth\s+\d+", line, re.IGNORECASE):
            violations.append(f"{relative(path)}:{number}: ConvertTo-Json without -Depth (5.1 cuts nesting at 2 levels)")
    return sorted(violations)


def test_the_prelude_has_no_marker():
    # The lab recognises a host script by its marker on the first line; the prelude only ever comes after one.
    assert "azmigrate-host-script:" not in PRELUDE.read_text(encoding="utf-8").splitlines()[0]


@pytest.mark.parametrize("path", HOST_SCRIPT_FILES, ids=relative)
def test_host_script_keeps_to_powershell_5_1(path):
    violations = rule_violations(path.read_bytes(), path)
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("path", SCRIPT_FILES, ids=relative)
def test_host_script_as_sent_parses_and_keeps_to_powershell_5_1(path):
    # What goes over the wire: the marker, the prelude the script needs, then the script; comments dropped, lines stripped.
    sent = load_host_script(path.stem).text.encode("utf-8")
    where = path.with_name(f"{path.name} as sent")
    problems = syntax_errors(sent, where) + rule_violations(sent, where)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "snippet, expected",
    [
        (b"$a = $b ?? 'x'\n", "'??'"),
        (b"$a ??= 'x'\n", "'??'"),
        (b"$a = ConvertFrom-Json $s -AsHashtable\n", "-AsHashtable"),
        (b"$a = $ok ? 'yes' : 'no'\n", "ternary"),
        (b"$o | ConvertTo-Json -Compress\n", "without -Depth"),
        (b"Get-Thing && Get-Other\n", "'&&'"),
        (b"Get-Thing || Get-Other\n", "'&&'"),
    ],
)
def test_rule_checks_catch_powershell_7_syntax(snippet, expected):
    violations = rule_violations(snippet, HOST_SCRIPTS / "probe.ps1")
    assert any(expected in violation for violation in violations), violations


def test_rule_checks_ignore_comments_and_strings():
    snippet = b"# a ?? b, ConvertTo-Json\n$msg = 'x ?? y && z'\n$n = \"-AsHashtable ConvertTo-Json\"\n"
    assert rule_violations(snippet, HOST_SCRIPTS / "probe.ps1") == []
