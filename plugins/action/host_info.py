# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.host_info (documentation: plugins/modules/host_info.py).

Runs the host_info/1 host script once, checks its document against the contract and returns the
normalised facts with ``changed: false``. It changes nothing, so check mode runs it as usual.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import RAW_SCHEMA, normalise_host_facts
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError, failure_result, run_checked_host_script

ARGUMENT_SPEC = {
    "gather_vms": {"type": "bool", "default": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp

        dummy, options = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)

        try:
            raw = run_checked_host_script(self, "host_info", {"gather_vms": options["gather_vms"]}, RAW_SCHEMA)
        except HostScriptError as error:
            result.update(failure_result(error))
            return result

        result.update(changed=False, **normalise_host_facts(raw))
        if raw["warnings"]:
            result["warnings"] = list(raw["warnings"])
        return result
