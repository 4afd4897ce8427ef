# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""JMESPath queries over replication_info's VM list, shared by the module, the inventory plugin and the event source.

``compile_query(option, expression)`` checks an expression before anything is read from Azure, and
``run_query(compiled, option, vms)`` applies it; both raise ``QueryError`` with a message that names the
option and the expression. ``select_vms`` is for callers that need VMs back (a query that selects, such as
``[?health=='Critical']``), not a projection of them.
"""

import traceback

try:
    import jmespath
    import jmespath.exceptions
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError:
    jmespath = None
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()


class QueryError(Exception):
    """A query that cannot be used; ``str()`` is the message for the user."""


def compile_query(option, expression):
    """The compiled JMESPath ``expression`` given in ``option``; None when no expression is given."""
    if expression is None or expression == "":
        return None
    if not HAS_JMESPATH:
        raise QueryError("%s needs the Python library jmespath on the machine that runs it (pip install jmespath)"
                         % option)
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise QueryError(f"{option} {expression!r} is not a valid JMESPath expression: {_reason(exc)}")


def run_query(compiled, option, vms):
    """``compiled`` applied to the list ``vms``; raises QueryError when it fails at run time (a wrong type)."""
    try:
        return compiled.search(vms)
    except jmespath.exceptions.JMESPathError as exc:
        raise QueryError(f"{option} {compiled.expression!r} failed on the VM list: {_reason(exc)}")


def select_vms(compiled, option, vms):
    """The VMs a selecting query keeps (every VM when ``compiled`` is None).

    The result must be a list of VMs as replication_info returns them (objects with a C(name)); a projection
    such as ``[].vm_name`` is refused, since there would be nothing to make hosts or events of.
    """
    if compiled is None:
        return list(vms)
    result = run_query(compiled, option, vms)
    if result is None:
        return []
    if not isinstance(result, list) or not all(isinstance(vm, dict) and "name" in vm for vm in result):
        raise QueryError("%s %r must select VMs (a list of the VM objects, for example \"[?health=='Critical']\"), "
                         "not a projection of them; it returned %s" % (option, compiled.expression, _kind(result)))
    return result


def _kind(value):
    if isinstance(value, list):
        kinds = sorted(set(type(item).__name__ for item in value))
        return "a list of %s" % (", ".join(kinds) or "nothing")
    return f"a {type(value).__name__}"


def _reason(exc):
    """What is wrong, on one line (the library's message spans several, with a caret under the position)."""
    if isinstance(exc, jmespath.exceptions.IncompleteExpressionError):
        return "the expression is incomplete"
    if isinstance(exc, jmespath.exceptions.ParseError):
        return f"{exc.msg} {exc.token_value!r} at character {exc.lex_position}"
    if isinstance(exc, jmespath.exceptions.LexerError):
        return f"{exc.message} at character {exc.lexer_position}"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
