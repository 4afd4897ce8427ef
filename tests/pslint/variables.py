"""Rule ``undefined-variable``: every variable is assigned before it is read, on every path.

As ``Set-StrictMode -Version Latest`` holds it (reading a variable never assigned stops the script), whatever
the prelude sets: a script that reads a name it never assigned has a bug even where it reads as $null. The
analysis follows the statements in order: both branches of an if, every clause of a switch, a try block and
its catch blocks must assign a name for it to count as assigned after them; a loop body may not run at all;
throw, exit, return, break and continue end a path. Script blocks ({ ... } passed to a command) see the names
assigned before them.

A function sees its parameters, what it assigns itself, and -- PowerShell's scopes are dynamic -- the names
its unit assigns at script scope anywhere (the prelude's top level, then the script's): the order of calls is
not followed. A prelude function is checked in every script that sends it, against that script's names.
"""

from __future__ import annotations

import typing as t

from tree_sitter import Node

from .source import Finding, FunctionDef, SourceFile, Unit, child_of, text, top_level_statements, variable_name, walk

# Variables PowerShell defines itself (about_Automatic_Variables, about_Preference_Variables, 5.1). Not
# $IsWindows, $IsLinux, $IsCoreCLR: they came with PowerShell 6 and are unassigned in 5.1.
AUTOMATIC = frozenset("""
_ psitem args input null true false lastexitcode error psscriptroot pscommandpath matches myinvocation
psboundparameters pscmdlet host home pid pwd this executioncontext shellid psversiontable psculture psuiculture
pshome ofs nestedpromptlevel stacktrace sender eventargs event eventsubscriber consolefilename psdebugcontext
psedition pssenderinfo ? ^ $
erroractionpreference warningpreference progresspreference verbosepreference debugpreference informationpreference
confirmpreference whatifpreference psdefaultparametervalues errorview formatenumerationlimit logcommandhealthevent
maximumhistorycount psmoduleautoloadingpreference psemailserver pssessionapplicationname pssessionconfigurationname
pssessionoption outputencoding
""".split())

# Statement kinds that end the path they are on.
ENDS_PATH = ("throw", "exit", "return", "break", "continue")

State = t.Optional[frozenset]   # names assigned on every path so far; None: no path reaches here


def meet(states: t.Iterable[State]) -> State:
    reachable = [state for state in states if state is not None]
    if not reachable:
        return None
    return frozenset.intersection(*reachable)


def assigned_names(target: Node) -> list[str] | None:
    """The names an assignment's left side assigns, or None when it assigns into something ($a.b = , $a[0] =)."""
    if target.type == "variable":
        name = variable_name(target)
        return [name] if name else []
    if target.type in ("left_assignment_expression", "unary_expression", "expression_with_unary_operator", "cast_expression"):
        inner = [child for child in target.named_children if child.type != "type_literal"]
        return assigned_names(inner[-1]) if inner else None
    if target.type == "array_literal_expression":
        names: list[str] = []
        for element in target.named_children:
            found = assigned_names(element)
            if found is None:
                return None
            names += found
        return names
    return None


def script_scope_names(unit: Unit) -> frozenset[str]:
    """Names assigned at script scope anywhere in the unit (top level, or $script:x in a function)."""
    names: set[str] = set()
    for file in unit.files:
        for statement in top_level_statements(file.root):
            for assignment in walk(statement, "assignment_expression", skip=("script_block_expression", "function_statement")):
                names.update(assigned_names(assignment.children[0]) or [])
            for loop in walk(statement, "foreach_statement", skip=("script_block_expression", "function_statement")):
                if (variable := child_of(loop, "variable")) is not None and (name := variable_name(variable)):
                    names.add(name)
        for variable in walk(file.root, "variable"):
            if text(variable).lower().startswith("$script:") and variable.parent is not None:
                if variable.parent.type == "unary_expression" and variable.parent.parent is not None \
                        and variable.parent.parent.type == "left_assignment_expression":
                    names.add(variable_name(variable) or "")
    return frozenset(names)


class Flow:
    """Walks one body in order and reports reads of names not assigned on every path before them."""

    def __init__(self, file: SourceFile, describe: t.Callable[[str], str]) -> None:
        self.file = file
        self.describe = describe
        self.findings: dict[tuple[int, str], Finding] = {}

    # Statements ---------------------------------------------------------------------------------
    def block(self, node: Node | None, state: State) -> State:
        if node is None:
            return state
        for child in node.named_children:
            if state is None:
                return None
            state = self.statement(child, state)
        return state

    def statement(self, node: Node, state: State) -> State:
        handler = getattr(self, f"on_{node.type}", None)
        if handler is not None:
            return handler(node, state)
        if node.type in ("statement_list", "statement_block", "script_block_body", "named_block_list", "named_block"):
            return self.block(node, state)
        return self.expression(node, state)

    def on_function_statement(self, _node: Node, state: State) -> State:
        return state   # analysed on its own (check)

    def on_class_statement(self, _node: Node, state: State) -> State:
        return state

    def on_flow_control_statement(self, node: Node, state: State) -> State:
        for child in node.named_children:
            state = self.expression(child, state)
        keyword = text(node.children[0]).lower() if node.children else ""
        return None if keyword in ENDS_PATH else state

    def on_if_statement(self, node: Node, state: State) -> State:
        outcomes: list[State] = []
        has_else = False
        condition = child_of(node, "pipeline")
        state = self.expression(condition, state) if condition is not None else state
        outcomes.append(self.block(child_of(node, "statement_block"), state))
        for clauses in node.named_children:
            if clauses.type == "elseif_clauses":
                for clause in clauses.named_children:
                    condition = child_of(clause, "pipeline")
                    state = self.expression(condition, state) if condition is not None else state
                    outcomes.append(self.block(child_of(clause, "statement_block"), state))
            elif clauses.type == "else_clause":
                has_else = True
                outcomes.append(self.block(child_of(clauses, "statement_block"), state))
        if not has_else:
            outcomes.append(state)
        return meet(outcomes)

    def on_foreach_statement(self, node: Node, state: State) -> State:
        variable = child_of(node, "variable")
        for child in node.named_children:
            if child.type not in ("variable", "statement_block"):
                state = self.expression(child, state)
        inner = state | {variable_name(variable) or "", "foreach"} if variable is not None and state is not None else state
        self.block(child_of(node, "statement_block"), inner)
        return state

    def on_while_statement(self, node: Node, state: State) -> State:
        condition = child_of(node, "while_condition")
        state = self.expression(condition, state) if condition is not None else state
        self.block(child_of(node, "statement_block"), state)
        return state

    def on_for_statement(self, node: Node, state: State) -> State:
        for child in node.named_children:
            if child.type in ("for_initializer", "for_condition"):
                state = self.expression(child, state)
        body_end = self.block(child_of(node, "statement_block"), state)
        iterator = child_of(node, "for_iterator")
        if iterator is not None and body_end is not None:
            self.expression(iterator, body_end)
        return state

    def on_do_statement(self, node: Node, state: State) -> State:
        after_body = self.block(child_of(node, "statement_block"), state)
        condition = child_of(node, "while_condition") or child_of(node, "pipeline")
        if condition is not None and after_body is not None:
            self.expression(condition, after_body)
        return after_body if after_body is not None else state

    def on_switch_statement(self, node: Node, state: State) -> State:
        condition = child_of(node, "switch_condition")
        state = self.expression(condition, state) if condition is not None else state
        if state is None:
            return None
        inner = state | {"_", "psitem", "switch"}
        outcomes: list[State] = []
        has_default = False
        for clause in walk(node, "switch_clause", skip=("switch_statement", "script_block_expression")):
            clause_condition = child_of(clause, "switch_clause_condition")
            if clause_condition is not None:
                if text(clause_condition).strip().lower() == "default":
                    has_default = True
                else:
                    self.expression(clause_condition, inner)
            outcome = self.block(child_of(clause, "statement_block"), inner)
            outcomes.append(None if outcome is None else outcome - {"_", "psitem", "switch"})
        if not has_default:
            outcomes.append(state)
        return meet(outcomes)

    def on_try_statement(self, node: Node, state: State) -> State:
        outcomes = [self.block(child_of(node, "statement_block"), state)]
        catches = child_of(node, "catch_clauses")
        for clause in (catches.named_children if catches is not None else []):
            # An error can come before any assignment of the try block: a catch starts from the state before it.
            outcome = self.block(child_of(clause, "statement_block"), None if state is None else state | {"_", "psitem"})
            outcomes.append(None if outcome is None else outcome - {"_", "psitem"})
        after = meet(outcomes)
        finally_clause = child_of(node, "finally_clause")
        if finally_clause is not None:
            finally_end = self.block(child_of(finally_clause, "statement_block"), state)
            if finally_end is None:
                return None
            if after is not None and state is not None:
                after = after | (finally_end - state)
        return after

    def on_trap_statement(self, node: Node, state: State) -> State:
        if state is not None:
            self.block(child_of(node, "statement_block"), state | {"_", "psitem"})
        return state

    # Expressions -------------------------------------------------------------------------------
    def expression(self, node: Node, state: State) -> State:
        if state is None:
            return None
        kind = node.type
        if kind == "variable":
            self.read(node, state)
            return state
        if kind == "assignment_expression":
            return self.assignment(node, state)
        if kind == "script_block_expression":
            self.script_block(node, state)
            return state
        if kind in ("member_name", "type_literal", "comment", "function_statement"):
            return state
        if kind in ("if_statement", "switch_statement", "foreach_statement", "try_statement", "while_statement",
                    "for_statement", "do_statement", "flow_control_statement", "statement_list", "statement_block"):
            return self.statement(node, state)
        if kind == "command_parameter":
            return state
        for child in node.named_children:
            state = self.expression(child, state)
            if state is None:
                return None
        return state

    def assignment(self, node: Node, state: State) -> State:
        target, operator = node.children[0], node.children[1] if node.child_count > 1 else None
        for value in node.children[2:]:
            state = self.expression(value, state)
        if state is None:
            return None
        names = assigned_names(target)
        compound = operator is not None and text(operator).strip() != "="
        if names is None or compound:
            self.expression(target, state)
        return state | set(names or [])

    def script_block(self, node: Node, state: State) -> None:
        """A script block expression: its param() block (the grammar puts it beside the body), then its body."""
        if state is None:
            return
        inner: State = state | {"_", "psitem", "args", "input"}
        for holder in (node, child_of(node, "script_block")):
            parameters = child_of(holder, "param_block") if holder is not None else None
            for parameter in (walk(parameters, "script_parameter") if parameters is not None else []):
                variable = child_of(parameter, "variable")
                if variable is not None:
                    inner = inner | {variable_name(variable) or ""}
        body = child_of(node, "script_block")
        for child in (body.named_children if body is not None else []):
            if child.type != "param_block" and inner is not None:
                inner = self.statement(child, inner)

    def read(self, node: Node, state: frozenset) -> None:
        name = variable_name(node)
        if not name or name in state or name in AUTOMATIC:
            return
        line = node.start_point[0] + 1
        if (line, name) not in self.findings:
            self.findings[(line, name)] = self.file.finding(node, "undefined-variable", self.describe(text(node)))


def check_function(unit: Unit, function: FunctionDef, script_names: frozenset[str]) -> list[Finding]:
    sent_by = "" if function.file is unit.script else f", which {unit.script.path.name} calls,"
    flow = Flow(function.file, lambda variable: (
        f"{variable} is read in function {function.name}{sent_by} before it is assigned: it is not a parameter of "
        f"{function.name}, not assigned in it on every path before this line, and not assigned at script scope "
        f"({'prelude and ' if unit.prelude is not None else ''}{unit.script.path.name}); pass it as a parameter or assign it first"))
    state = frozenset(AUTOMATIC | script_names | set(function.parameters))
    body = function.body
    if body is not None:
        parameters = child_of(body, "param_block")
        if parameters is not None:
            flow.expression(parameters, state)
        for child in body.named_children:
            if child.type != "param_block":
                state = flow.statement(child, state) if state is not None else None
    return list(flow.findings.values())


def check(unit: Unit) -> list[Finding]:
    findings: list[Finding] = []
    state: State = frozenset(AUTOMATIC)
    for file in unit.files:
        flow = Flow(file, lambda variable: (
            f"{variable} is read before it is assigned on every path to this line (under Set-StrictMode -Version Latest "
            "this stops the script; otherwise it reads as $null); assign it first on every branch"))
        for statement in top_level_statements(file.root):
            if state is None:
                break
            state = flow.statement(statement, state)
        findings += flow.findings.values()
    if unit.is_prelude:
        return findings   # its functions are checked in each script that sends them, against that script's names
    script_names = script_scope_names(unit)
    for function in unit.sent_functions:
        findings += check_function(unit, function, script_names)
    return findings
