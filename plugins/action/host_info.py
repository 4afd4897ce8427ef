# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.host_info (documentation: plugins/modules/host_info.py).

Runs the host_info/1 host script once, checks its document against the contract and returns the
normalised facts with ``changed: false``. It changes nothing, so check mode runs it as usual.
"""

from __future__ import annotations

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_action import HostAction
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import normalise_host_facts
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import run_checked_host_script

ARGUMENT_SPEC = {
    "gather_vms": {"type": "bool", "default": True},
}


class ActionModule(HostAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def _run_task(self, result, options, task_vars):
        raw = run_checked_host_script(self, "host_info", {"gather_vms": options["gather_vms"]})
        result.update(changed=False, **normalise_host_facts(raw))
        if raw["warnings"]:
            result["warnings"] = list(raw["warnings"])
