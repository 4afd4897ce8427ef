"""Every refusal rule in lab/FIDELITY.md names its public source and a test that exists.

A rule without a test is a promise nobody checks: the test column names `path::function` (several
separated by `;`), and this test opens the file and looks for the function, so a renamed or deleted
test breaks the table rather than leaving it silently stale.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIDELITY = REPO / "lab" / "FIDELITY.md"
TEST_REFERENCE = re.compile(r"(tests/[\w/.-]+\.py)::(\w+)")


def rule_sections() -> dict[str, list[list[str]]]:
    text = FIDELITY.read_text(encoding="utf-8")
    block = text.split("## Refusal rules", 1)[1].split("\n## ", 1)[0]
    sections: dict[str, list[list[str]]] = {}
    current = None
    for line in block.splitlines():
        if line.startswith("### "):
            current = sections.setdefault(line[4:].strip(), [])
        elif current is not None and line.startswith("|") and not set(line) <= set("|- "):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if cells[0] != "rule":
                current.append(cells)
    return sections


def test_every_area_has_rules():
    sections = rule_sections()
    assert sections, "lab/FIDELITY.md has no '## Refusal rules' section"
    empty = [name for name, rows in sections.items() if not rows]
    assert not empty, f"areas without a single refusal rule: {empty}"


@pytest.mark.parametrize("section,row", [(name, row) for name, rows in rule_sections().items() for row in rows],
                         ids=lambda value: value[0][:60] if isinstance(value, list) else value[:30])
def test_rule_names_a_source_and_an_existing_test(section, row):
    assert len(row) == 3, f"{section}: a rule row has three cells (rule | source | test): {row}"
    rule, source, tests = row
    assert rule and source, f"{section}: rule {rule!r} needs a public source (or the word assumption and why)"
    references = TEST_REFERENCE.findall(tests)
    assert references, f"{section}: rule {rule!r} names no test as tests/<path>.py::<function>"
    for path, function in references:
        file = REPO / path
        assert file.is_file(), f"{section}: rule {rule!r} names {path}, which does not exist"
        assert re.search(rf"^\s*(async )?def {function}\(", file.read_text(encoding="utf-8"), re.M), \
            f"{section}: rule {rule!r} names {path}::{function}, which is not defined there"
