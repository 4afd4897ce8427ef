# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.cluster_check (documentation: plugins/modules/cluster_check.py).

Runs on the controller only, from the variables of the play's hosts: no command reaches a host. The inputs are
checked first - a variable name that no host of the batch holds, or a value that is not the module's result, fails
the task naming the option, the host and what it holds - so the check never passes on nothing checked. Returns
clusters and findings; findings are warnings, or a failure with strict_cluster=true.
"""

from __future__ import annotations

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._cluster_check import (
    ClusterInputError,
    RunHosts,
    check_clusters,
    describe_value,
    host_info_problem,
    node_entry,
    provider_problem,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_action import HostAction

ARGUMENT_SPEC = {
    "host_info_var": {"type": "str", "default": "hyperv_host_info"},
    "provider_var": {"type": "str", "default": "hyperv_host_provider"},
    "strict_cluster": {"type": "bool", "default": False},
}
VARIABLE_NAME_OPTIONS = ("host_info_var", "provider_var")


def check_variable_names(args: dict) -> None:
    """The *_var options take a variable's name: a result passed instead (``"{{ hyperv_host_info }}"``) is refused."""
    for option in VARIABLE_NAME_OPTIONS:
        value = args.get(option)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ClusterInputError(f"{option}: takes the name of a variable (for example {ARGUMENT_SPEC[option]['default']}), "
                                    f"not its value; got {describe_value(value)}")


def read_inputs(hostvars, run: RunHosts, options: dict, provider_var_given: bool) -> dict:
    """The host_info result (and replication_provider result) of each host this run read, checked.

    Every active host of the current batch must hold a host_info result under host_info_var; hosts of earlier batches
    count when they hold one, hosts of later batches are read when their batch runs.
    """
    host_info_var, provider_var = options["host_info_var"], options["provider_var"]
    batch = [name for name in run.batch if name in run.active]
    undefined = [name for name in batch if host_info_var not in hostvars.get(name, {})]
    if batch and len(undefined) == len(batch):
        raise ClusterInputError(f"host_info_var: no host of this batch ({', '.join(batch)}) has a variable named {host_info_var!r}; "
                                "register the result of azmigrate.hyperv.host_info under that name on every host, or name the variable that holds it")
    if undefined:
        raise ClusterInputError(f"host_info_var: {host_info_var!r} is not defined on {', '.join(undefined)} (it is on the other hosts of "
                                "this batch); run azmigrate.hyperv.host_info on every host before cluster_check")
    hosts = {}
    provider_seen = False
    for name in run.all:
        variables = hostvars.get(name, {})
        if host_info_var not in variables:
            continue                       # a host of a later batch, or one that failed before host_info
        info = variables[host_info_var]
        problem = host_info_problem(info)
        if problem:
            if name in run.active:
                raise ClusterInputError(f"host_info_var: {host_info_var!r} on {name} {problem}")
            continue                       # a host that failed earlier in the play: reported as not checked
        provider = variables.get(provider_var)
        if provider_var in variables:
            provider_seen = True
            problem = provider_problem(provider)
            if problem:
                raise ClusterInputError(f"provider_var: {provider_var!r} on {name} {problem}")
        hosts[name] = node_entry(name, info, provider)
    if provider_var_given and hosts and not provider_seen:
        raise ClusterInputError(f"provider_var: no host read by this run has a variable named {provider_var!r}; register the result of "
                                "azmigrate.hyperv.replication_provider under that name, or leave provider_var out to compare the versions host_info read")
    if not hosts:
        raise ClusterInputError(f"host_info_var: no host of this run holds a host_info result in {host_info_var!r}, so nothing could be checked")
    return hosts


class ActionModule(HostAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    FAILS_WITH_MESSAGE = (ClusterInputError,)

    def _validated_arguments(self):
        # The raw arguments: the argument spec's str type would turn a result passed instead of a name into its text.
        check_variable_names(self._task.args)
        return super()._validated_arguments()

    def _run_task(self, result, options, task_vars):
        all_hosts = tuple(task_vars.get("ansible_play_hosts_all") or ())
        run = RunHosts(all=all_hosts, active=tuple(task_vars.get("ansible_play_hosts") or all_hosts),
                       batch=tuple(task_vars.get("ansible_play_batch") or all_hosts))
        # A provider_var named on purpose must exist; the default name may be absent (the provider step did not run).
        provider_var_named = options["provider_var"] != ARGUMENT_SPEC["provider_var"]["default"]
        hosts = read_inputs(task_vars.get("hostvars", {}), run, options, provider_var_named)
        report = check_clusters(hosts, run)
        result.update(changed=False, checked_hosts=sorted(hosts), clusters=report["clusters"], findings=report["findings"])
        if report["findings"]:
            if options["strict_cluster"]:
                result.update(failed=True, msg="; ".join(report["findings"]))
            else:
                result["warnings"] = report["findings"]
