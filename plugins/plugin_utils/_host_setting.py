# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""One host setting managed the one way: validate, read, plan, apply unless nothing differs, read back, report.

A setting is declared as data (HostSetting): its options, the pure functions that validate, plan, verify and
report, and the read and set host scripts, whose set script reads the values back so success is judged by
what the host holds. HostSettingAction runs one setting as an action plugin (a no-change run is one command);
hyperv_host_state runs the same functions on documents it read and wrote in bundles. What a setting's
functions must return:

- ``validate(options)``: the desired state; raises an exception of ``errors`` naming the option and value;
- ``plan(read document, desired, host)``: an object with ``changed``, ``before`` and ``after``;
- ``planned(plan)``: the result's keys that name what changes (``changed_values``, ``changed_fields``);
- ``apply_params(plan)``: the set script's params;
- ``enforce_params(desired)``: the set script's params that make the host hold ``desired`` whatever it holds, for a write
  sent with no read before it (hyperv_host_state sets the settings of an agent in the command that installs it); the
  set script's ``replaced`` document then takes the read's place in ``plan``;
- ``verify(set document, desired, host)``: the ``after`` read back, and a failure message when it differs;
- ``report(result, document, plan, host)``: adds the module's last keys to ``result``; returns warnings.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_action import HostAction, TaskFailed
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import run_checked_host_script


@dataclasses.dataclass(frozen=True)
class HostSetting:
    """A setting of the host, its options and the steps that manage it (module docstring)."""

    argument_spec: dict[str, t.Any]
    required_one_of: list[list[str]]
    errors: tuple[type[Exception], ...]
    validate: t.Callable[[t.Mapping[str, t.Any]], t.Any]
    read_script: str
    plan: t.Callable[[dict[str, t.Any], t.Any, str], t.Any]
    planned: t.Callable[[t.Any], dict[str, t.Any]]
    apply_script: str
    apply_params: t.Callable[[t.Any], dict[str, t.Any]]
    enforce_params: t.Callable[[t.Any], dict[str, t.Any]]
    verify: t.Callable[[dict[str, t.Any], t.Any, str], tuple[dict[str, t.Any], str | None]]
    report: t.Callable[[dict[str, t.Any], dict[str, t.Any], t.Any, str], list[str]]
    # What the diff shows, after "<host>: " (the after header also says when it is check mode's prediction).
    diff_headers: tuple[str, str]


def plan_keys(setting: HostSetting, plan: t.Any) -> dict[str, t.Any]:
    """The result's keys a plan gives: ``changed``, what changes, ``before`` and the predicted ``after``."""
    return {"changed": plan.changed, **setting.planned(plan), "before": plan.before, "after": plan.after}


def setting_result(
    setting: HostSetting, plan: t.Any, desired: t.Any, read_document: dict[str, t.Any], set_document: dict[str, t.Any] | None, host: str,
) -> tuple[dict[str, t.Any], list[str], str | None]:
    """The module's result, its warnings and, when what was read back differs from what was set, the failure message.

    ``set_document`` is the set script's document, None when nothing was written (no change, or check mode). On a
    failure the result holds what was planned and what was read back, and no more.
    """
    result = plan_keys(setting, plan)
    document = read_document
    if set_document is not None:
        document = set_document
        result["after"], failure = setting.verify(document, desired, host)
        if failure:
            return result, [], failure
    return result, setting.report(result, document, plan, host), None


def setting_diff(setting: HostSetting, result: dict[str, t.Any], host: str, check_mode: bool) -> dict[str, t.Any]:
    before_header, after_header = setting.diff_headers
    return {"before": result["before"], "after": result["after"], "before_header": f"{host}: {before_header}",
            "after_header": f"{host}: {after_header}{' (check mode)' if check_mode else ''}"}


class HostSettingAction(HostAction):
    """The action plugin of one HostSetting (SETTING): read, plan and - unless nothing differs or in check mode - set."""

    SETTING: HostSetting

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.ARGUMENT_SPEC = cls.SETTING.argument_spec
        cls.ARGUMENT_SPEC_RULES = {"required_one_of": cls.SETTING.required_one_of} if cls.SETTING.required_one_of else {}
        cls.FAILS_WITH_MESSAGE = cls.SETTING.errors

    def _run_task(self, result: dict[str, t.Any], options: dict[str, t.Any], task_vars: dict[str, t.Any]) -> None:
        setting = self.SETTING
        # Everything about the options is checked before the host is asked anything.
        desired = setting.validate(options)
        read_document = run_checked_host_script(self, setting.read_script, {})
        plan = setting.plan(read_document, desired, self._host)
        set_document = None
        if plan.changed and not self._task.check_mode:
            # A failure of the set script leaves what was planned in the result.
            result.update(plan_keys(setting, plan))
            set_document = run_checked_host_script(self, setting.apply_script, setting.apply_params(plan))
        setting_keys, warnings, failure = setting_result(setting, plan, desired, read_document, set_document, self._host)
        result.update(setting_keys)
        if failure:
            raise TaskFailed(failure)
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        if self._task.diff:
            result["diff"] = setting_diff(setting, result, self._host, self._task.check_mode)
