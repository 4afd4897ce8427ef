"""What a lab twin (lab/hosts/scripts/<name>.py) takes from the request, read from its Python source.

The twin gets the request as ``ctx.params`` and ``ctx.secrets`` (lab.hosts.scripts.ScriptContext). Paths are
those of contract.request_paths -- ``params.throttle.work_days``, ``params.steps[].proxy`` -- followed
through assignments, ``x or {}``, ``.get(key)`` and ``[key]``, loops (over the request's lists, or over a
tuple of key names), calls of the twin's own functions and of the functions it imports from other twins,
and step handlers called through a dictionary (STEPS). A part of the request handed whole to code outside
the twins (lab/hosts/installers.py) counts as read down to its leaves: ``whole``.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib
import inspect
import typing as t

CTX = "<ctx>"


@dataclasses.dataclass
class TwinReads:
    paths: set[str]
    whole: set[str]


class _Function:
    def __init__(self, module: t.Any, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.module = module
        self.node = node
        self.parameters = [argument.arg for argument in node.args.args]


class TwinReader:
    def __init__(self, module_name: str) -> None:
        self.functions: dict[tuple[str, str], _Function] = {}
        self.constants: dict[tuple[str, str], list[str]] = {}
        self.dispatch: dict[str, list[tuple[str, str]]] = {}    # module -> functions listed in its dict constants
        self.imports: dict[str, dict[str, tuple[str, str]]] = {}   # module -> name -> (twin module, function)
        self.entry = self._load(module_name)
        self.aliases: dict[tuple[str, str, str], str] = {}   # (module, function, variable) -> path
        self.paths: set[str] = set()
        self.whole: set[str] = set()

    def _load(self, module_name: str) -> str:
        if module_name in self.imports:
            return module_name
        module = importlib.import_module(module_name)
        tree = ast.parse(inspect.getsource(module))
        imported: dict[str, tuple[str, str]] = {}
        self.imports[module_name] = imported
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[(module_name, statement.name)] = _Function(module_name, statement)
            elif isinstance(statement, ast.ImportFrom) and statement.module and statement.module.startswith("lab.hosts.scripts."):
                for name in statement.names:
                    imported[name.asname or name.name] = (statement.module, name.name)
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                value = statement.value
                if isinstance(value, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
                    self.constants[(module_name, statement.targets[0].id)] = [e.value for e in value.elts]
                if isinstance(value, ast.Dict):
                    self.dispatch.setdefault(module_name, []).extend(
                        (module_name, item.id) for item in value.values if isinstance(item, ast.Name))
        self.imports[module_name] = imported
        for target_module, _function in set(imported.values()):
            self._load(target_module)
        return module_name

    def resolve_function(self, module: str, name: str) -> _Function | None:
        if (module, name) in self.functions:
            return self.functions[(module, name)]
        target = self.imports.get(module, {}).get(name)
        return self.functions.get(target) if target else None

    # Paths of expressions -----------------------------------------------------------------------------
    def path_of(self, function: _Function, node: ast.AST, loop_keys: dict[str, list[str]]) -> list[str]:
        """The request paths an expression denotes (several when a key comes from a loop over key names)."""
        if isinstance(node, ast.Name):
            path = self.aliases.get((function.module, function.node.name, node.id))
            return [path] if path is not None else []
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return self.path_of(function, node.values[0], loop_keys)
        if isinstance(node, ast.Attribute) and node.attr in ("params", "secrets"):
            return [node.attr] if self.path_of(function, node.value, loop_keys) == [CTX] else []
        key_node, base = None, None
        if isinstance(node, ast.Subscript):
            key_node, base = node.slice, node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            key_node, base = node.args[0], node.func.value
        if key_node is None:
            return []
        bases = self.path_of(function, base, loop_keys)
        if isinstance(key_node, ast.Constant) and isinstance(key_node.value, str):
            keys = [key_node.value]
        elif isinstance(key_node, ast.Name) and key_node.id in loop_keys:
            keys = loop_keys[key_node.id]
        else:
            return []
        return [f"{path}.{key}".lstrip(".") for path in bases for key in keys if path != CTX]

    # One pass over a function --------------------------------------------------------------------------
    def visit(self, function: _Function) -> bool:
        changed = False
        loop_keys: dict[str, list[str]] = {}
        parents: dict[int, ast.AST] = {}
        for parent in ast.walk(function.node):
            for child in ast.iter_child_nodes(parent):
                parents[id(child)] = parent
        for node in ast.walk(function.node):
            if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name):
                iterated = node.iter
                if isinstance(iterated, ast.Name) and (function.module, iterated.id) in self.constants:
                    loop_keys[node.target.id] = self.constants[(function.module, iterated.id)]
                elif isinstance(iterated, ast.Tuple) and all(isinstance(e, ast.Constant) for e in iterated.elts):
                    loop_keys[node.target.id] = [e.value for e in iterated.elts]
                else:
                    for path in self.path_of(function, iterated, loop_keys):
                        changed |= self._alias(function, node.target.id, f"{path}[]")
        for node in ast.walk(function.node):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                for path in self.path_of(function, node.value, loop_keys):
                    changed |= self._alias(function, node.targets[0].id, path)
            elif isinstance(node, ast.Call):
                changed |= self._call(function, node, loop_keys)
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                continue   # the target of an assignment or a loop, not a read
            paths = self.path_of(function, node, loop_keys)
            for path in paths:
                if path in ("params", "secrets", CTX):
                    continue
                self.paths.add(path)
                parent = parents.get(id(node))
                deeper = (isinstance(parent, ast.Subscript) and parent.value is node) or \
                    (isinstance(parent, ast.Attribute) and parent.value is node and parent.attr == "get") or \
                    (isinstance(parent, ast.BoolOp)) or (isinstance(parent, ast.Assign)) or \
                    (isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node) or \
                    self._presence_test(parent, node)
                if not deeper and not self._passed_to_twin_function(function, parent, node):
                    self.whole.add(path)
        return changed

    @staticmethod
    def _presence_test(parent: ast.AST | None, node: ast.AST) -> bool:
        """``x is None``, ``not x``, ``if x:``: the value is tested for presence, not handed on whole."""
        if isinstance(parent, ast.Compare):
            return any(isinstance(operand, ast.Constant) and operand.value is None for operand in [parent.left, *parent.comparators])
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
            return True
        return isinstance(parent, (ast.If, ast.IfExp, ast.While)) and parent.test is node

    def _passed_to_twin_function(self, function: _Function, parent: ast.AST | None, node: ast.AST) -> bool:
        """Whether ``node`` is an argument of a call the reader follows: a twin function, or a handler looked up at run time."""
        if not isinstance(parent, ast.Call) or node not in parent.args or not isinstance(parent.func, ast.Name):
            return False
        if self.resolve_function(function.module, parent.func.id) is not None:
            return True
        return getattr(importlib.import_module(function.module), parent.func.id, None) is None and parent.func.id not in dir(builtins)

    def _call(self, function: _Function, call: ast.Call, loop_keys: dict[str, list[str]]) -> bool:
        changed = False
        callee = call.func
        targets: list[_Function] = []
        if isinstance(callee, ast.Name):
            resolved = self.resolve_function(function.module, callee.id)
            if resolved is not None:
                targets = [resolved]
            elif self._passed_to_twin_function(function, call, call.args[0] if call.args else None):
                # A handler looked up at run time (STEPS[action]): the functions the twin's own dictionaries list.
                targets = [self.functions[key] for key in self.dispatch.get(self.entry, []) if key in self.functions]
        for position, argument in enumerate(call.args):
            paths = [CTX] if self._is_ctx(function, argument) else self.path_of(function, argument, loop_keys)
            for target in targets:
                if position < len(target.parameters):
                    for path in paths:
                        changed |= self._alias(target, target.parameters[position], path)
        return changed

    def _is_ctx(self, function: _Function, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and self.aliases.get((function.module, function.node.name, node.id)) == CTX

    def _alias(self, function: _Function, variable: str, path: str) -> bool:
        """Record that ``variable`` of ``function`` holds ``path`` (the first path found stays); True when new."""
        key = (function.module, function.node.name, variable)
        if key in self.aliases:
            return False
        self.aliases[key] = path
        return True

    def read(self) -> TwinReads:
        entry = self.functions[(self.entry, "run")]
        self._alias(entry, entry.parameters[0], CTX)
        for _round in range(10):
            changed = False
            for function in list(self.functions.values()):
                changed |= self.visit(function)
            if not changed:
                break
        found = set()
        for path in self.paths:
            parts = path.split(".")
            for end in range(1, len(parts) + 1):
                found.add(".".join(parts[:end]))
        return TwinReads({_without_list_mark(path) for path in found} - {"params", "secrets"},
                         {_without_list_mark(path) for path in self.whole})


def _without_list_mark(path: str) -> str:
    """``params.steps[]`` (an element) as ``params.steps`` (the list): reading an element reads the list."""
    return path[:-2] if path.endswith("[]") else path


def twin_reads(script_name: str) -> TwinReads:
    return TwinReader(f"lab.hosts.scripts.{script_name}").read()
