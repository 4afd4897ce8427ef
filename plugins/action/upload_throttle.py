# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.upload_throttle (documentation: plugins/modules/upload_throttle.py).

Top to bottom: validate the options (argument spec, then plugin_utils/_upload_settings.py), read the
agent and its throttle with one host script (upload_throttle_read/1), plan, and - unless nothing
differs or in check mode - apply with a second (upload_throttle_set/1), which reads the throttle back
so success is judged by what the agent reports. A no-change run is one command on the host.

Returned keys: ``changed``, ``changed_fields``, ``before``, ``after``, ``throttle`` (the throttle in
force after the task, or that would be in check mode), ``restart_recommended`` and, in diff mode,
``diff``.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError, failure_result, run_checked_host_script
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import (
    THROTTLE_DOCUMENT_SCHEMA,
    HostNotReady,
    InvalidOption,
    check_agent,
    plan_throttle,
    read_throttle,
    throttle_mismatches,
    throttle_view,
    validate_throttle_options,
)

ARGUMENT_SPEC = {
    "enabled": {"type": "bool", "default": True},
    "work_days": {"type": "list", "elements": "str"},
    # Raw, so a message echoes a value as it was given (8, 1080, "25:00"); only strings are times of day.
    "work_hour_start": {"type": "raw"},
    "work_hour_end": {"type": "raw"},
    # Strings with units ("512 Kbps") or numbers of Kbps: parsed by module_utils/bandwidth.py.
    "work_hour_bandwidth": {"type": "raw"},
    "non_work_hour_bandwidth": {"type": "raw"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        host = (task_vars or {}).get("inventory_hostname", self._play_context.remote_addr)

        # Everything about the options is checked before the host is asked anything.
        dummy, options = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            desired = validate_throttle_options(options)
        except InvalidOption as error:
            result.update(failed=True, msg=str(error))
            return result

        try:
            document = run_checked_host_script(self, "upload_throttle_read", {}, THROTTLE_DOCUMENT_SCHEMA)
            check_agent(document, host)
            plan = plan_throttle(read_throttle(document["throttle"]), desired)
            result.update(changed=plan.changed, changed_fields=plan.changed_fields, before=plan.before, after=plan.after)
            if plan.changed and not self._task.check_mode:
                document = run_checked_host_script(self, "upload_throttle_set", plan.set_params, THROTTLE_DOCUMENT_SCHEMA)
                read_back = read_throttle(document["throttle"] or {})
                result["after"] = throttle_view(read_back)
                mismatches = throttle_mismatches(read_back, desired)
                if mismatches:
                    # Get-OBMachineSetting's throttle properties are undocumented; if a real agent names
                    # them otherwise, this is where it shows, instead of a change reported on every run.
                    result.update(
                        failed=True,
                        msg=f"Set-OBMachineSetting ran on {host}, but Get-OBMachineSetting then reports {'; '.join(mismatches)}. "
                        "Its throttle properties are not documented, so the read may have missed them: compare "
                        "(Get-OBMachineSetting).ThrottleSetting | Format-List * with Get-ThrottleSetting in plugins/plugin_utils/host_scripts/prelude.ps1",
                    )
                    return result
        except HostScriptError as error:
            result.update(failure_result(error))
            return result
        except HostNotReady as error:
            result.update(failed=True, msg=str(error))
            return result

        result["throttle"] = result["after"]
        # Set-OBMachineSetting hands the throttle to the running engine, as the agent's MMC does, so no
        # obengine restart is needed for it (an assumption: KB 3056159 documents none either way).
        result["restart_recommended"] = False
        if self._task.diff:
            result["diff"] = {
                "before": plan.before,
                "after": result["after"],
                "before_header": f"{host}: throttle (Get-OBMachineSetting)",
                "after_header": f"{host}: throttle{' (check mode)' if self._task.check_mode else ''}",
            }
        return result
