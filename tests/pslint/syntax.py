"""Rules ``parse-error`` and ``ps51-syntax``: the file parses, with syntax Windows PowerShell 5.1 has.

The tree-sitter grammar stands in for PowerShell's parser (no PowerShell runs here): it finds unbalanced
brackets, quotes and broken tokens, not every error the real parser reports. Newer syntax is found on the
grammar's nodes where it has them, else on the code with comments and strings blanked out.
"""

from __future__ import annotations

import re
import typing as t

from .source import Finding, SourceFile, text, walk

# Nodes of the grammar for syntax that came after 5.1.
PS7_NODES = {
    "ternary_expression": "the ternary operator 'a ? b : c' is PowerShell 7; write if/else",
    "pipeline_chain_tail": "pipeline chain operators '&&' and '||' are PowerShell 7; test $? or use if",
}

# The same, on code only (comments and strings blanked): pattern -> message.
PS7_TEXT = {
    r"\?\?=": "the null-coalescing assignment '??=' is PowerShell 7; write if ($null -eq $x) { $x = ... }",
    r"\?\?(?!=)": "the null-coalescing operator '??' is PowerShell 7; write if ($null -eq $x) { ... } else { ... }",
    r"[\w})\]]\?\.": "the null-conditional member access '?.' is PowerShell 7; test for $null first",
    r"[\w})\]]\?\[": "the null-conditional index '?[]' is PowerShell 7; test for $null first",
}

# Nodes whose text is not code.
NOT_CODE = ("comment", "string_literal", "expandable_string_literal", "verbatim_string_characters",
            "expandable_here_string_literal", "verbatim_here_string_characters")


def code_only(file: SourceFile) -> list[str]:
    """The file's lines with comments and string contents blanked (same lines, same columns)."""
    blanked = bytearray(file.source)
    for node in walk(file.root):
        if node.type in NOT_CODE:
            for index in range(node.start_byte, node.end_byte):
                if blanked[index] not in b"\r\n":
                    blanked[index] = ord(" ")
    return blanked.decode("utf-8", "replace").splitlines()


def parse_errors(file: SourceFile) -> t.Iterator[Finding]:
    stack = [file.root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            column = node.start_point[1] + 1
            what = f"missing {node.type!r}" if node.is_missing else f"cannot parse {text(node)[:40]!r}"
            yield file.finding(node, "parse-error", f"column {column}: {what} (Windows PowerShell 5.1 would refuse the whole script)")
        elif node.has_error:
            stack.extend(reversed(node.children))


def ps7_syntax(file: SourceFile) -> t.Iterator[Finding]:
    for node in walk(file.root, *PS7_NODES):
        yield file.finding(node, "ps51-syntax", PS7_NODES[node.type])
    for node in walk(file.root, "block_name"):
        if text(node).strip().lower() == "clean":
            yield file.finding(node, "ps51-syntax", "the 'clean' block is PowerShell 7.3; use end {} with try/finally")
    for number, line in enumerate(code_only(file), start=1):
        for pattern, message in PS7_TEXT.items():
            if re.search(pattern, line):
                yield file.finding(number, "ps51-syntax", message)


def check(file: SourceFile) -> t.Iterator[Finding]:
    yield from parse_errors(file)
    yield from ps7_syntax(file)
