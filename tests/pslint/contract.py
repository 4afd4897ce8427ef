"""What a host script takes from its request and what it changes on the host, read from its parse.

The lab runs a Python twin of each host script (lab/hosts/scripts/<name>.py); these extractions are what the
twin is held to (tests/unit/test_twin_contracts.py):

- ``request_paths``: the request members the script reads, as dotted paths from the request's root --
  ``params.throttle``, ``params.steps[].proxy.address``, ``secrets.proxy_password``; ``[]`` is an element of
  a list. Followed through assignments, foreach loops and function parameters (the prelude's too).
- ``side_effects``: the registry keys and values it writes or removes, the services it starts, stops or
  restarts, the programs it starts (Start-Installer) with their arguments, and the state-changing cmdlets
  it calls with their parameters. Values computed at run time show as ``{}``.
"""

from __future__ import annotations

import itertools
import re
import typing as t

from tree_sitter import Node

from .commands import calls, cmdlets
from .source import SourceFile, Unit, child_of, text, variable_name, walk
from .variables import assigned_names

SCRIPT_SCOPE = ""
# Members that leave the request's own data: PowerShell's views of an object, and counts.
NOT_REQUEST_MEMBERS = {"psobject", "count", "length", "gettype", "tostring"}
# Verbs of cmdlets that change the host (Microsoft's approved verbs that write).
CHANGING_VERBS = {"new", "set", "remove", "move", "copy", "rename", "start", "stop", "restart", "add", "clear", "install",
                  "uninstall", "register", "unregister", "enable", "disable", "suspend", "resume", "write"}
# Cmdlets with such a verb that change only the PowerShell session, not the host.
SESSION_ONLY = {"new-object", "set-strictmode", "start-sleep", "add-type", "set-variable", "new-variable", "set-location", "write-output"}
SERVICE_ACTIONS = {"start-service": "start", "stop-service": "stop", "restart-service": "restart", "set-service": "set"}
PROGRAM_STARTER = "start-installer"
# Cmdlets that write registry values (-Name) or keys (the path itself).
VALUE_WRITERS = {"new-itemproperty": "set", "set-itemproperty": "set", "remove-itemproperty": "removed"}
KEY_WRITERS = {"new-item": "keys_created", "remove-item": "keys_removed"}
RUNTIME = "{}"


def _scope_of(node: Node) -> str:
    current = node.parent
    while current is not None:
        if current.type == "function_statement":
            return text(child_of(current, "function_name")).lower()
        current = current.parent
    return SCRIPT_SCOPE


def _strip(node: Node) -> Node:
    """The expression inside @(), ( ), casts and unary wrappers."""
    while True:
        if node.type in ("unary_expression", "expression_with_unary_operator", "pipeline", "pipeline_chain",
                         "assignment_value", "argument_expression", "array_expression", "parenthesized_expression",
                         "statement_list", "cast_expression"):
            inner = [child for child in node.named_children if child.type != "type_literal"]
            if len(inner) != 1:
                return node
            node = inner[0]
        else:
            return node


class Program:
    """The functions a unit runs (script and the prelude functions it sends) and its variables' scopes."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        # tree-sitter hands out a new Node object on each access: a function is known by its file and span.
        sent = {(function.file.label, function.node.start_byte, function.node.end_byte) for function in unit.sent_functions}
        self.roots_by_file: list[tuple[SourceFile, list[Node]]] = []
        for file in unit.files:
            statements = child_of(file.root, "statement_list")
            self.roots_by_file.append((file, [
                child for child in (statements.named_children if statements is not None else [])
                if child.type != "function_statement" or (file.label, child.start_byte, child.end_byte) in sent]))
        self.roots = [root for _file, roots in self.roots_by_file for root in roots]
        self.local: dict[str, set[str]] = {}
        for root in self.roots:
            for assignment in walk(root, "assignment_expression"):
                self.local.setdefault(_scope_of(assignment), set()).update(assigned_names(assignment.children[0]) or [])
            for loop in walk(root, "foreach_statement"):
                variable = child_of(loop, "variable")
                if variable is not None:
                    self.local.setdefault(_scope_of(loop), set()).add(variable_name(variable) or "")
        for name, function in unit.functions.items():
            self.local.setdefault(name, set()).update(function.parameters)

    def key(self, variable: Node) -> tuple[str, str]:
        name = variable_name(variable) or ""
        scope = _scope_of(variable)
        return (scope if name in self.local.get(scope, set()) else SCRIPT_SCOPE, name)

    def nodes(self, *types: str) -> t.Iterator[Node]:
        for root in self.roots:
            yield from walk(root, *types)


# Request paths --------------------------------------------------------------------------------------
class RequestReads:
    def __init__(self, unit: Unit) -> None:
        self.program = Program(unit)
        self.alias: dict[tuple[str, str], str] = {}
        changed = True
        while changed:
            changed = self._propagate()

    def path_of(self, node: Node) -> str | None:
        """The request path an expression denotes, or None when it is not (part of) the request."""
        node = _strip(node)
        if node.type == "variable":
            return self.alias.get(self.program.key(node))
        if node.type == "member_access":
            base, member = node.named_children[0], child_of(node, "member_name")
            base_path = self.path_of(base)
            name = text(member)
            if base_path is None or not re.fullmatch(r"\w+", name) or name.lower() in NOT_REQUEST_MEMBERS:
                return None
            return f"{base_path}.{name}".lstrip(".")
        if node.type == "command" and text(child_of(node, "command_name")).lower() == "read-hostscriptrequest":
            return ""
        return None

    def _propagate(self) -> bool:
        changed = False
        for assignment in self.program.nodes("assignment_expression"):
            names = assigned_names(assignment.children[0]) or []
            values = assignment.children[2:]
            if len(names) == 1 and len(values) == 1:
                path = self.path_of(values[0])
                if path is not None:
                    changed |= self._set((_scope_of(assignment), names[0]), path)
        for loop in self.program.nodes("foreach_statement"):
            variable, source = child_of(loop, "variable"), child_of(loop, "pipeline")
            path = self.path_of(source) if source is not None else None
            if variable is not None and path is not None:
                changed |= self._set((_scope_of(loop), variable_name(variable) or ""), f"{path}[]")
        for file, roots in self.program.roots_by_file:
            for call in calls(file, roots):
                function = self.program.unit.functions.get(call.name.lower())
                if function is None:
                    continue
                parameter = None
                for kind, node in call.elements:
                    if kind == "parameter":
                        parameter = text(node).lstrip("-").rstrip(":").lower()
                    elif kind == "value":
                        path = self.path_of(node)
                        if parameter in function.parameters and path is not None:
                            changed |= self._set((function.name.lower(), parameter), path)
                        parameter = None
        return changed

    def _set(self, key: tuple[str, str], path: str) -> bool:
        if self.alias.get(key) == path:
            return False
        self.alias[key] = path
        return True

    def paths(self) -> set[str]:
        found = set()
        for node in self.program.nodes("member_access", "variable"):
            path = self.path_of(node)
            if path:
                found.add(path)
        # A read of params.steps[].action reads params.steps too.
        for path in list(found):
            parts = path.split(".")
            for end in range(1, len(parts)):
                found.add(".".join(parts[:end]))
        return {path.replace("[]", "") if path.endswith("[]") else path for path in found} - {"", "params", "secrets"}


def request_paths(unit: Unit) -> set[str]:
    return RequestReads(unit).paths()


# Side effects ----------------------------------------------------------------------------------------
class Renderer:
    """Renders an argument as text: literals as they are, known string variables resolved, the rest {}."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.strings: dict[tuple[str, str], list[Node]] = {}
        for assignment in program.nodes("assignment_expression"):
            names = assigned_names(assignment.children[0]) or []
            if len(names) == 1:
                self.strings.setdefault((_scope_of(assignment), names[0]), []).append(assignment.children[-1])
        self.loops: dict[tuple[str, str], Node] = {}
        for loop in program.nodes("foreach_statement"):
            variable, source = child_of(loop, "variable"), child_of(loop, "pipeline")
            if variable is not None and source is not None:
                self.loops[(_scope_of(loop), variable_name(variable) or "")] = source

    def render(self, node: Node, depth: int = 0) -> list[str]:
        """Every text the expression can have (a foreach over literals gives several), {} for run-time values."""
        if depth > 8:
            return [RUNTIME]
        node = _strip(node)
        kind = node.type
        if kind == "string_literal":
            return self.render(node.named_children[0], depth + 1) if node.named_children else [text(node).strip("'\"")]
        if kind in ("verbatim_string_characters",):
            return [text(node)[1:-1].replace("''", "'")]
        if kind in ("expandable_string_literal", "expandable_here_string_literal"):
            return self.expandable(node, depth)
        if kind in ("generic_token", "simple_name", "command_name"):
            return [text(node)]
        if kind == "variable":
            key = self.program.key(node)
            if key in self.loops:
                return self.render(self.loops[key], depth + 1)
            values = self.strings.get(key, [])
            if len(values) == 1:
                rendered = self.render(values[0], depth + 1)
                return rendered if RUNTIME not in "".join(rendered) or len(values[0].text) < 200 else [RUNTIME]
            return [RUNTIME]
        if kind == "array_literal_expression":
            return [value for child in node.named_children for value in self.render(child, depth + 1)]
        if kind == "additive_expression" or kind == "additive_argument_expression":
            pieces = [self.render(child, depth + 1) for child in node.named_children]
            return ["".join(combination) for combination in itertools.product(*pieces)]
        if kind == "command":
            name = text(child_of(node, "command_name"))
            if name.lower() == "join-path":
                child = dict(self._named_arguments(node)).get("childpath")
                return [f"{{}}\\{value}" for value in self.render(child, depth + 1)] if child is not None else [RUNTIME]
            return [f"{{{name}}}"]
        return [RUNTIME]

    def expandable(self, node: Node, depth: int) -> list[str]:
        raw = node.text
        pieces: list[list[str]] = []
        position = node.start_byte + 1
        for child in node.named_children:
            pieces.append([raw[position - node.start_byte:child.start_byte - node.start_byte].decode()])
            pieces.append(self.render(child, depth + 1) if child.type == "variable" else [RUNTIME])
            position = child.end_byte
        pieces.append([raw[position - node.start_byte:len(raw) - 1].decode()])
        return ["".join(combination).replace('`"', '"') for combination in itertools.product(*pieces)]

    @staticmethod
    def _named_arguments(command: Node) -> list[tuple[str, Node]]:
        found, parameter = [], None
        elements = child_of(command, "command_elements")
        for element in (elements.named_children if elements is not None else []):
            if element.type == "command_parameter":
                parameter = text(element).lstrip("-").rstrip(":").lower()
            elif element.type != "command_argument_sep" and parameter is not None:
                found.append((parameter, element))
                parameter = None
        return found


def side_effects(unit: Unit) -> dict[str, t.Any]:
    """What the unit changes on the host (see the module docstring), with empty parts left out."""
    program = Program(unit)
    renderer = Renderer(program)
    table = cmdlets()
    registry: dict[str, dict[str, set[str]]] = {"set": {}, "removed": {}}
    keys: dict[str, set[str]] = {"keys_created": set(), "keys_removed": set()}
    services: dict[str, set[str]] = {}
    processes: set[str] = set()
    changing: dict[str, set[str]] = {}
    for file, roots in program.roots_by_file:
        for call in calls(file, roots):
            lowered = call.name.lower()
            arguments = dict(Renderer._named_arguments(call.node))
            spec = table.get(lowered)
            if spec is not None and lowered.split("-")[0] in CHANGING_VERBS and lowered not in SESSION_ONLY:
                changing.setdefault(spec.name, set()).update(
                    spec.parameters.get(name.lower(), name) for name, _node, _colon in call.parameters)
            if lowered in SERVICE_ACTIONS and "name" in arguments:
                services.setdefault(SERVICE_ACTIONS[lowered], set()).update(renderer.render(arguments["name"]))
            if lowered == PROGRAM_STARTER:
                programs = renderer.render(arguments["filepath"]) if "filepath" in arguments else [RUNTIME]
                argument_texts = renderer.render(arguments["arguments"]) if "arguments" in arguments else [""]
                processes.update(f"{program.rsplit(chr(92), 1)[-1]} {argument}".strip() for program in programs for argument in argument_texts)
            path_node = arguments.get("literalpath") or arguments.get("path")
            paths = [path for path in (renderer.render(path_node) if path_node is not None else []) if path.upper().startswith("HKLM:")]
            if lowered in VALUE_WRITERS and paths:
                names = renderer.render(arguments["name"]) if "name" in arguments else [RUNTIME]
                for path in paths:
                    registry[VALUE_WRITERS[lowered]].setdefault(path, set()).update(names)
            if lowered in KEY_WRITERS and paths:
                keys[KEY_WRITERS[lowered]].update(paths)
    document: dict[str, t.Any] = {
        "registry_values_set": {path: sorted(names) for path, names in registry["set"].items()},
        "registry_values_removed": {path: sorted(names) for path, names in registry["removed"].items()},
        "registry_keys_created": sorted(keys["keys_created"]),
        "registry_keys_removed": sorted(keys["keys_removed"]),
        "services": {action: sorted(names) for action, names in services.items()},
        "processes": sorted(processes),
        "cmdlets": {name: sorted(parameters) for name, parameters in changing.items()},
    }
    return {key: value for key, value in document.items() if value}
