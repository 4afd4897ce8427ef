# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.upload_threads (documentation: plugins/modules/upload_threads.py).

Top to bottom: validate the options (argument spec, then plugin_utils/_upload_settings.py), read the
agent and the Replication key's values with one host script (upload_threads_read/1), plan, and -
unless nothing differs or in check mode - write with a second (upload_threads_set/1), which reads the
values back so success is judged by what the registry holds. A no-change run is one command.

Returned keys: ``changed``, ``changed_values``, ``before``, ``after``, ``upload_threads`` and
``download_threads`` (in force after the task, or that would be in check mode), ``agent_installed``,
``restart_recommended`` and, in diff mode, ``diff``.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError, failure_result, run_checked_host_script
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import (
    THREADS_DOCUMENT_SCHEMA,
    InvalidOption,
    plan_threads,
    threads_mismatches,
    threads_restart_recommended,
    threads_view,
    validate_threads_options,
)

ARGUMENT_SPEC = {
    "upload_threads": {"type": "int"},
    "download_threads": {"type": "int"},
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
        dummy, options = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_one_of=[["upload_threads", "download_threads"]])
        try:
            desired = validate_threads_options(options)
        except InvalidOption as error:
            result.update(failed=True, msg=str(error))
            return result

        try:
            document = run_checked_host_script(self, "upload_threads_read", {}, THREADS_DOCUMENT_SCHEMA)
            plan = plan_threads(document, desired)
            result.update(changed=plan.changed, changed_values=sorted(plan.writes), before=plan.before, after=plan.after)
            if plan.changed and not self._task.check_mode:
                document = run_checked_host_script(self, "upload_threads_set", {"writes": plan.writes}, THREADS_DOCUMENT_SCHEMA)
                result["after"] = threads_view(document)
                mismatches = threads_mismatches(document, desired)
                if mismatches:
                    result.update(failed=True, msg=f"wrote the Replication key's values on {host}, but reading them back shows {'; '.join(mismatches)}")
                    return result
        except HostScriptError as error:
            result.update(failure_result(error))
            return result

        # The values are plain registry, so they are written whether or not the agent is installed: the
        # agent reads them once it is (KB 3056159 has them added by hand to an installed agent's key,
        # which its setup does not always create). Say so, since a host without the agent uploads nothing.
        result["agent_installed"] = document["agent"] is not None
        if not result["agent_installed"]:
            result.setdefault("warnings", []).append(
                f"the Recovery Services agent is not installed on {host}: the thread counts are stored and take effect once it is"
            )
        result.update(result["after"])
        # Whether the engine rereads the values without a restart is not documented (KB 3056159 says nothing either way).
        result["restart_recommended"] = threads_restart_recommended(document, plan.changed)
        if self._task.diff:
            result["diff"] = {
                "before": plan.before,
                "after": result["after"],
                "before_header": f"{host}: HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication",
                "after_header": f"{host}: HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication{' (check mode)' if self._task.check_mode else ''}",
            }
        return result
