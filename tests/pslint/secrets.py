"""Rule ``secret-leak``: no value read from the request's ``secrets`` reaches a command's parameter or a
process's command line.

With module logging on (event 4103) every parameter a cmdlet binds is logged, and a process's command line
is logged by process auditing (event 4688) and visible to every user of the host. A value is secret when it
is read through ``.secrets`` (the request's member) or from a variable assigned, directly or through other
assignments, from such a value; passing a secret as a function's parameter makes that parameter secret
inside the function. The sinks: a parameter or argument of a command (cmdlet, function or program), a
value piped into a command, and a ``.Arguments`` or ``.ArgumentList`` property set (ProcessStartInfo).
.NET method calls are not followed (the scripts hand secrets to .NET on purpose: WebClient, File.WriteAllText).
"""

from __future__ import annotations

import typing as t

from tree_sitter import Node

from .commands import calls
from .source import Finding, Unit, child_of, text, variable_name, walk
from .variables import assigned_names

SCRIPT_SCOPE = ""
PROCESS_PROPERTIES = {"arguments", "argumentlist"}


def enclosing_function(node: Node) -> str:
    current = node.parent
    while current is not None:
        if current.type == "function_statement":
            return text(child_of(current, "function_name")).lower()
        current = current.parent
    return SCRIPT_SCOPE


class Taint:
    """Which (function, variable) pairs hold a secret, to a fixpoint over the unit's assignments and calls."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.secret: set[tuple[str, str]] = set()
        self.local: dict[str, set[str]] = {}
        for file in unit.files:
            for assignment in walk(file.root, "assignment_expression"):
                scope = enclosing_function(assignment)
                self.local.setdefault(scope, set()).update(assigned_names(assignment.children[0]) or [])
        for name, function in unit.functions.items():
            self.local.setdefault(name, set()).update(function.parameters)
        self._propagate()

    def holds_secret(self, node: Node, scope: str | None = None) -> bool:
        scope = enclosing_function(node) if scope is None else scope
        for inner in walk(node, "member_access", "variable", "member_name"):
            if inner.type == "member_name" and text(inner).lower() == "secrets":
                return True
            if inner.type == "variable":
                name = variable_name(inner)
                if not name:
                    continue
                owner = scope if name in self.local.get(scope, set()) else SCRIPT_SCOPE
                if (owner, name) in self.secret:
                    return True
        return False

    def _propagate(self) -> None:
        changed = True
        while changed:
            changed = False
            for file in self.unit.files:
                for assignment in walk(file.root, "assignment_expression"):
                    names = assigned_names(assignment.children[0]) or []
                    if names and any(self.holds_secret(value) for value in assignment.children[2:]):
                        scope = enclosing_function(assignment)
                        for name in names:
                            changed |= self._mark(scope, name)
                for loop in walk(file.root, "foreach_statement"):
                    variable = child_of(loop, "variable")
                    source = child_of(loop, "pipeline")
                    if variable is not None and source is not None and self.holds_secret(source):
                        changed |= self._mark(enclosing_function(loop), variable_name(variable) or "")
                for call in calls(file):
                    function = self.unit.functions.get(call.name.lower())
                    if function is None:
                        continue
                    for parameter, value in arguments(call):
                        if parameter and parameter.lower() in function.parameters and self.holds_secret(value):
                            changed |= self._mark(function.name.lower(), parameter.lower())

    def _mark(self, scope: str, name: str) -> bool:
        key = (scope, name)
        if key in self.secret:
            return False
        self.secret.add(key)
        return True


def arguments(call) -> t.Iterator[tuple[str | None, Node]]:
    """(parameter name as written or None for a positional value, value node) of a call."""
    parameter = None
    for kind, node in call.elements:
        if kind == "parameter":
            parameter = text(node).lstrip("-").rstrip(":")
        elif kind == "value":
            yield parameter, node
            parameter = None


def check(unit: Unit) -> t.Iterator[Finding]:
    taint = Taint(unit)
    for file in unit.files:
        for call in calls(file):
            for parameter, value in arguments(call):
                if taint.holds_secret(value):
                    where = f"-{parameter}" if parameter else "a positional argument"
                    yield file.finding(value, "secret-leak",
                                       f"a secret from the request reaches {call.name} as {where}: module logging (event 4103) records "
                                       "parameter values and process auditing (event 4688) command lines; hand it over with .NET "
                                       "calls or property sets instead")
            if call.piped_into:
                upstream = call.node.prev_sibling.prev_sibling if call.node.prev_sibling is not None else None
                if upstream is not None and taint.holds_secret(upstream):
                    yield file.finding(call.node, "secret-leak",
                                       f"a secret from the request is piped into {call.name}, which binds it to a parameter "
                                       "(module logging, event 4103, records it)")
        for assignment in walk(file.root, "assignment_expression"):
            target = assignment.children[0]
            member = next(walk(target, "member_name"), None)
            if member is not None and text(member).lower() in PROCESS_PROPERTIES \
                    and any(taint.holds_secret(value) for value in assignment.children[2:]):
                yield file.finding(assignment, "secret-leak",
                                   f"a secret from the request is put in a process's .{text(member)}: a command line is visible "
                                   "to every user of the host and logged by process auditing (event 4688)")
