"""What Windows PowerShell 5.1's parser refuses in a host script, before any of it runs.

The lab runs a Python twin instead of the script, so without this a script that powershell.exe could not even
parse would pass every host test. The bootstrap turns the script text into a ScriptBlock
([ScriptBlock]::Create); a text 5.1 cannot parse makes that call throw a ParseException and nothing of the
script runs. The tree-sitter grammar of PowerShell (tree-sitter-pwsh) stands in for 5.1's parser: it finds
unbalanced brackets, quotes and broken tokens, and it accepts some PowerShell 7 syntax that 5.1 refuses, which
is looked for separately: the operators ``??`` and ``??=``, the ternary ``? :`` and the pipeline chains ``&&``
and ``||`` (about_Operators for 7 lists them as new; 5.1's own message for ``&&`` is quoted below).
"""

from __future__ import annotations

import functools
import re

import tree_sitter_pwsh
from tree_sitter import Language, Node, Parser

_PARSER = Parser(Language(tree_sitter_pwsh.language()))
_NOT_CODE = ("comment", "string_literal", "expandable_string_literal", "verbatim_string_characters",
             "expandable_here_string_literal", "verbatim_here_string_characters")
_NULL_COALESCING = re.compile(r"\?\?=?")


def _where(lines: list[str], row: int, column: int) -> str:
    line = lines[row] if row < len(lines) else ""
    return f"At line:{row + 1} char:{column + 1}\n+ {line.strip()}"


def _first(node: Node, predicate) -> Node | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if predicate(current):
            return current
        stack.extend(reversed(current.children))
    return None


@functools.lru_cache(maxsize=64)   # every host gets the same few script texts
def parse_refusal(script: str) -> str | None:
    """PowerShell's parse error for ``script`` as 5.1 would report it (first one), or None when 5.1 parses it."""
    source = script.encode("utf-8")
    tree = _PARSER.parse(source)
    lines = script.splitlines()
    chain = _first(tree.root_node, lambda node: node.type == "pipeline_chain_tail")
    if chain is not None:
        token = chain.children[0].text.decode() if chain.children else "&&"
        row, column = chain.start_point
        return f"{_where(lines, row, column)}\nThe token '{token}' is not a valid statement separator in this version."
    ternary = _first(tree.root_node, lambda node: node.type == "ternary_expression")
    if ternary is not None:
        question = next((child for child in ternary.children if child.type == "?"), ternary)
        row, column = question.start_point
        return f"{_where(lines, row, column)}\nUnexpected token '?' in expression or statement."
    blanked = bytearray(source)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in _NOT_CODE:
            blanked[node.start_byte:node.end_byte] = re.sub(rb"[^\r\n]", b" ", source[node.start_byte:node.end_byte])
        else:
            stack.extend(node.children)
    for row, line in enumerate(blanked.decode("utf-8", "replace").splitlines()):
        match = _NULL_COALESCING.search(line)
        if match:
            return f"{_where(lines, row, match.start())}\nUnexpected token '{match.group(0)}' in expression or statement."
    broken = _first(tree.root_node, lambda node: node.is_error or node.is_missing)
    if broken is not None:
        row, column = broken.start_point
        if broken.is_missing and broken.type == "}":
            return f"{_where(lines, row, column)}\nMissing closing '}}' in statement block or type definition."
        if broken.is_missing:
            return f"{_where(lines, row, column)}\nMissing '{broken.type}' in the statement."
        return f"{_where(lines, row, column)}\nUnexpected token '{broken.text.decode(errors='replace')[:40]}' in expression or statement."
    return None
