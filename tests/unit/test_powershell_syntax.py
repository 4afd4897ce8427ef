"""Every PowerShell file under plugins/ parses, and host scripts keep to Windows PowerShell 5.1.

The prelude (host_scripts/prelude.ps1) is parsed like a script, but has no marker; every script is also
checked as it is sent, with the prelude it gets, against the 5.1 syntax rules of the checker (tests/pslint,
which holds the source files to all its rules: tests/unit/test_pslint.py).

No PowerShell runs on the project's machines, so the tree-sitter grammar stands in for its parser:
it finds unbalanced brackets, quotes and broken tokens with their position (not every error the real
parser reports).
"""

import re
from pathlib import Path

import pytest
import tree_sitter_pwsh
from pslint import syntax as pslint_syntax
from pslint.source import SourceFile
from tree_sitter import Language, Parser

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import PRELUDE_NAME, load_host_script

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


def test_the_prelude_has_no_marker():
    # The lab recognises a host script by its marker on the first line; the prelude only ever comes after one.
    assert "azmigrate-host-script:" not in PRELUDE.read_text(encoding="utf-8").splitlines()[0]


@pytest.mark.parametrize("path", SCRIPT_FILES, ids=relative)
def test_host_script_as_sent_parses_and_keeps_to_powershell_5_1(path):
    # What goes over the wire: the marker, the prelude the script needs, then the script; comments dropped, lines stripped.
    sent = SourceFile(path.with_name(f"{path.name} as sent"), load_host_script(path.stem).text.encode("utf-8"))
    problems = [str(finding) for finding in pslint_syntax.check(sent)]
    assert not problems, "\n".join(problems)
