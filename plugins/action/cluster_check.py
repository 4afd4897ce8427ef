# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.cluster_check (documentation: plugins/modules/cluster_check.py).

Runs on the controller only, from the variables of the play's hosts: no command reaches a host. Returns
clusters and findings; findings are warnings, or a failure with strict_cluster=true.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils.cluster_check import check_clusters

ARGUMENT_SPEC = {
    "host_info_var": {"type": "str", "default": "hyperv_host_info"},
    "provider_var": {"type": "str", "default": "hyperv_host_provider"},
    "strict_cluster": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy, options = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        task_vars = task_vars or {}
        hostvars = task_vars.get("hostvars", {})
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        hosts = {}
        for name in play_hosts:
            variables = hostvars.get(name, {})
            info = variables.get(options["host_info_var"])
            if not isinstance(info, dict) or "cluster" not in info:
                continue  # not read yet (a later serial batch) or the read failed
            provider = variables.get(options["provider_var"]) or {}
            hosts[name] = {
                "computer_name": info.get("computer_name"),
                "cluster": info.get("cluster"),
                # The versions after this play's preparation when it ran, else what host_info read.
                "provider_version": provider.get("provider_version", (info.get("provider") or {}).get("version")),
                "agent_version": provider.get("agent_version", (info.get("agent") or {}).get("version")),
            }
        report = check_clusters(hosts, play_hosts)
        result.update(changed=False, clusters=report["clusters"], findings=report["findings"])
        if report["findings"]:
            if options["strict_cluster"]:
                result.update(failed=True, msg="; ".join(report["findings"]))
            else:
                result["warnings"] = report["findings"]
        return result
