# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The skeleton every host action plugin shares: arguments checked, the task run, a failure turned into the result.

An action subclasses HostAction, sets ARGUMENT_SPEC (and ARGUMENT_SPEC_RULES for ``required_one_of`` and the
like) and writes ``_run_task``, which fills the task's result in place: what it put there before a failure
stays in the result beside ``failed`` and ``msg``. A failure is raised, never returned:

- TaskFailed (message and any extra keys of the result);
- HostScriptError from the host scripts (``msg`` and, when the script exited, ``rc``);
- any exception type in FAILS_WITH_MESSAGE, whose message names the option, the value and what is allowed.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError, failure_result


class TaskFailed(Exception):
    """Ends the task with failed=true, this message and any extra keys; what was done so far stays in the result."""

    def __init__(self, msg: str, **extra: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


class HostAction(ActionBase):
    """An action plugin of a host module; see the module docstring."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC: dict[str, t.Any] = {}
    ARGUMENT_SPEC_RULES: dict[str, t.Any] = {}
    FAILS_WITH_MESSAGE: tuple[type[Exception], ...] = ()

    _host: str

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        self._host = task_vars.get("inventory_hostname", self._play_context.remote_addr)
        try:
            self._run_task(result, self._validated_arguments(), task_vars)
        except TaskFailed as failure:
            result.update(failed=True, msg=failure.msg, **failure.extra)
        except HostScriptError as error:
            result.update(failure_result(error))
        except self.FAILS_WITH_MESSAGE as error:  # pylint: disable=catching-non-exception
            result.update(failed=True, msg=str(error))
        return result

    def _validated_arguments(self) -> dict[str, t.Any]:
        """The task's arguments through the argument spec (which fails the task itself when they do not fit it)."""
        dummy, options = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC, **self.ARGUMENT_SPEC_RULES)
        return options

    def _run_task(self, result: dict[str, t.Any], options: dict[str, t.Any], task_vars: dict[str, t.Any]) -> None:
        """Do the task, filling ``result``; raise to fail it."""
        raise NotImplementedError
