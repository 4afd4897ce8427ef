"""Parsing PowerShell with the tree-sitter grammar, and what every rule shares.

A *unit* is what Windows PowerShell runs at once: a host script with the prelude it is sent with
(plugins/plugin_utils/_host_script.py inserts the prelude's top-level lines and the functions the script
calls right after the marker), or the prelude alone. Findings keep the file and line of the text they
are about, so a problem in a prelude function shows in prelude.ps1 whichever script sends it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing as t
from pathlib import Path

import tree_sitter_pwsh
from tree_sitter import Language, Node, Parser

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST_SCRIPTS = REPO_ROOT / "plugins" / "plugin_utils" / "host_scripts"
PRELUDE = HOST_SCRIPTS / "prelude.ps1"
COMMAND_TABLE = REPO_ROOT / "tests" / "fixtures" / "powershell_commands.json"

PARSER = Parser(Language(tree_sitter_pwsh.language()))

# Scope modifiers a variable name may carry ($script:x is $x of the script scope).
SCOPE_PREFIXES = ("global", "script", "local", "private", "using")

# A waiver written on the line before a finding (or at the end of its line):
#   # pslint: allow <rule>: <why the rule does not apply here>
WAIVER = re.compile(r"#\s*pslint:\s*allow\s+(?P<rule>[a-z0-9-]+)\s*:\s*(?P<why>\S.*)$")


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One problem: where it is, the rule it breaks, and what to do."""

    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


@dataclasses.dataclass
class SourceFile:
    """One .ps1 file, parsed."""

    path: Path
    source: bytes
    label: str = ""

    def __post_init__(self) -> None:
        self.tree = PARSER.parse(self.source)
        self.lines = self.source.decode("utf-8", "replace").splitlines()
        if not self.label:
            self.label = relative(self.path)

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def finding(self, node: Node | int, rule: str, message: str) -> Finding:
        line = node if isinstance(node, int) else node.start_point[0] + 1
        return Finding(self.label, line, rule, message)

    def waived(self, finding: Finding) -> bool:
        """Whether the line of ``finding`` or the line before carries ``# pslint: allow <its rule>: <reason>``."""
        for number in (finding.line, finding.line - 1):
            if 1 <= number <= len(self.lines):
                match = WAIVER.search(self.lines[number - 1])
                if match and match.group("rule") == finding.rule:
                    return True
        return False


@dataclasses.dataclass
class FunctionDef:
    name: str
    file: SourceFile
    node: Node
    parameters: dict[str, bool]   # lower-case name -> mandatory
    body: Node | None

    @property
    def parameter_names(self) -> dict[str, str]:
        """Lower-case name -> the name as the param() block writes it."""
        return {name.lower(): name for name in function_parameters(self.node, proper_case=True)}


@dataclasses.dataclass
class Unit:
    """A script and the prelude it is sent with (prelude None: the file runs alone)."""

    script: SourceFile
    prelude: SourceFile | None

    @property
    def is_prelude(self) -> bool:
        """The prelude checked on its own."""
        return self.prelude is None and self.script.path.resolve() == PRELUDE.resolve()

    @property
    def files(self) -> list[SourceFile]:
        return [self.script] if self.prelude is None else [self.prelude, self.script]

    @functools.cached_property
    def functions(self) -> dict[str, FunctionDef]:
        """Every function the unit can call (lower-case name): the prelude's, then the script's own."""
        found: dict[str, FunctionDef] = {}
        for file in self.files:
            for node in walk(file.root, "function_statement"):
                name = text(child_of(node, "function_name"))
                found[name.lower()] = FunctionDef(name, file, node, function_parameters(node), child_of(node, "script_block"))
        return found

    @functools.cached_property
    def sent_functions(self) -> list[FunctionDef]:
        """The functions that run in this unit: the script's own and the prelude functions it calls, transitively."""
        if self.prelude is None or self.script is self.prelude:
            return list(self.functions.values())
        own = [function for function in self.functions.values() if function.file is self.script]
        wanted: list[FunctionDef] = []
        pending = called_names(self.script.root) | set().union(*(called_names(node) for node in top_level_statements(self.prelude.root)))
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen or name not in self.functions:
                continue
            seen.add(name)
            function = self.functions[name]
            if function.file is self.prelude:
                wanted.append(function)
            pending |= called_names(function.node)
        return wanted + own


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def text(node: Node | None) -> str:
    return "" if node is None else node.text.decode("utf-8", "replace")


def walk(node: Node, *types: str, skip: tuple[str, ...] = ()) -> t.Iterator[Node]:
    """Nodes under ``node`` (itself included) in source order, of ``types`` (all when none); ``skip`` prunes subtrees."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current is not node and current.type in skip:
            continue
        if not types or current.type in types:
            yield current
        stack.extend(reversed(current.children))


def child_of(node: Node, *types: str) -> Node | None:
    return next((child for child in node.children if child.type in types), None)


def variable_name(node: Node) -> str | None:
    """The lower-case name of a ``variable`` node without sigil, braces or scope ($script:X -> x); None for $env:X and other drives."""
    raw = text(node)
    if raw.startswith(("$", "@")):
        raw = raw[1:]
    if raw.startswith("{") and raw.endswith("}"):
        raw = raw[1:-1]
    if ":" in raw:
        scope, _colon, rest = raw.partition(":")
        if scope.lower() not in SCOPE_PREFIXES:
            return None
        raw = rest
    return raw.lower()


def function_parameters(function: Node, proper_case: bool = False) -> dict[str, bool]:
    """A function's parameters (lower-case name, or as written, -> mandatory), from its param() block or its name(...) list."""
    parameters: dict[str, bool] = {}
    body = child_of(function, "script_block")
    holders = [child_of(body, "param_block")] if body is not None else []
    holders.append(child_of(function, "function_parameter_declaration"))
    for holder in holders:
        if holder is None:
            continue
        for parameter in walk(holder, "script_parameter", skip=("script_block_expression",)):
            variable = child_of(parameter, "variable")
            if variable is None:
                continue
            attributes = text(child_of(parameter, "attribute_list")).lower().replace(" ", "")
            name = text(variable).lstrip("$") if proper_case else variable_name(variable) or ""
            parameters[name] = "mandatory" in attributes and "mandatory=$false" not in attributes
    return parameters


def command_name(command: Node) -> str | None:
    """The name a ``command`` node calls (None for & $scriptBlock and other computed names)."""
    name = child_of(command, "command_name")
    return text(name) if name is not None else None


def called_names(node: Node) -> set[str]:
    return {name.lower() for command in walk(node, "command") if (name := command_name(command))}


def top_level_statements(root: Node) -> list[Node]:
    """The statements of a file outside functions, in order."""
    statements = child_of(root, "statement_list")
    if statements is None:
        return []
    return [child for child in statements.named_children if child.type != "function_statement"]


def load_unit(path: Path, prelude: Path | None = PRELUDE) -> Unit:
    """The unit of ``path``: a host script with the prelude beside it; the prelude or any other file alone."""
    script = SourceFile(path, path.read_bytes())
    if prelude is not None and path.resolve().parent == prelude.resolve().parent and path.resolve() != prelude.resolve() and prelude.exists():
        return Unit(script, SourceFile(prelude, prelude.read_bytes()))
    return Unit(script, None)
