# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Compare the nodes of each failover cluster: every node prepared, all at the same versions.

Facts: the provider is installed and registered on every node
(learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v), and "all Hyper-V servers in a Site Recovery
vault should have the same versions of the Provider and agent" (MicrosoftDocs/azure-docs, the legacy
article articles/site-recovery/site-recovery-hyper-v-site-to-azure.md).

The members of a cluster come from the cluster itself: host_info reads them on each node with Get-ClusterNode,
which lists every node whatever the play holds. A node is checked only when this run read it; a node the run does
not hold (left out by --limit or the inventory, or in another slice of an AWX sliced job) is reported as not checked
in this run, never as prepared and never as known to be unprepared. Pure functions only; the action plugin
(plugins/action/cluster_check.py) checks its inputs before calling them.
"""

from __future__ import annotations

import dataclasses
import typing as t

# What a host_info result holds at least (RETURN of plugins/modules/host_info.py).
HOST_INFO_KEYS = ("computer_name", "cluster", "provider", "agent")
# What a replication_provider result holds when it ran (RETURN of plugins/modules/replication_provider.py).
PROVIDER_KEYS = ("provider_version", "agent_version")

NOT_IN_RUN = "not a host of this run (left out by --limit or the inventory, or in another slice of an AWX sliced job)"
FAILED_IN_RUN = "a host of this run that failed or became unreachable before this check"


class ClusterInputError(ValueError):
    """An input of cluster_check that is missing or is not what the option names; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class RunHosts:
    """The hosts of the run as Ansible knows them when the check runs.

    ``all`` is every host of the play (``ansible_play_hosts_all``), ``active`` those not failed
    (``ansible_play_hosts``) and ``batch`` those of the current serial batch (``ansible_play_batch``).
    """

    all: tuple[str, ...]
    active: tuple[str, ...]
    batch: tuple[str, ...]


def short_name(name: str) -> str:
    """A computer name as a cluster lists it: the first DNS label, upper-cased."""
    return name.split(".", 1)[0].upper()


def describe_value(value: t.Any) -> str:
    """What was given instead of a result, for messages: its type and a short excerpt (never a whole document)."""
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(key) for key in value)[:8])
        return f"a dict with the keys {keys}" if keys else "an empty dict"
    if value is None:
        return "null"
    # Ansible hands over tagged subclasses of the plain types; name the plain type the user wrote.
    kind = next((base.__name__ for base in (bool, int, float, str, list) if isinstance(value, base)), type(value).__name__)
    text = repr(value if kind != "str" else str(value))
    return f"a {kind} ({text[:60]}{'...' if len(text) > 60 else ''})"


def host_info_problem(value: t.Any) -> str | None:
    """Why ``value`` is not a usable host_info result; None when it is one."""
    if not isinstance(value, dict):
        return f"is {describe_value(value)}, not the result of azmigrate.hyperv.host_info"
    if value.get("skipped"):
        return "holds a skipped task's result: host_info did not run on this host"
    if value.get("failed"):
        return f"holds a failed host_info result ({str(value.get('msg') or 'no message')[:200]})"
    missing = [key for key in HOST_INFO_KEYS if key not in value]
    if missing:
        return f"is {describe_value(value)}, not the result of azmigrate.hyperv.host_info (it lacks {', '.join(missing)})"
    if value["cluster"] is not None and not (isinstance(value["cluster"], dict) and isinstance(value["cluster"].get("nodes"), list)):
        return f"has a cluster that is {describe_value(value['cluster'])}, not host_info's {{name, nodes}}"
    return None


def provider_problem(value: t.Any) -> str | None:
    """Why ``value`` is not a replication_provider result; None when it is one, or a skipped or failed one."""
    if isinstance(value, dict) and (value.get("skipped") or value.get("failed")):
        return None
    if not isinstance(value, dict) or any(key not in value for key in PROVIDER_KEYS):
        return f"is {describe_value(value)}, not the result of azmigrate.hyperv.replication_provider"
    return None


def node_entry(inventory_name: str, info: t.Mapping[str, t.Any], provider: t.Any) -> dict[str, t.Any]:
    """One read host: its computer name, cluster and the versions to compare.

    The versions after this run's replication_provider when it ran and returned them, else what host_info read.
    """
    ran = isinstance(provider, dict) and not provider.get("skipped") and not provider.get("failed") and "provider_version" in provider
    return {
        "computer_name": info.get("computer_name") or inventory_name,
        "cluster": info.get("cluster"),
        "provider_version": provider["provider_version"] if ran else (info.get("provider") or {}).get("version"),
        "agent_version": provider["agent_version"] if ran else (info.get("agent") or {}).get("version"),
    }


def check_clusters(hosts: t.Mapping[str, t.Mapping[str, t.Any]], run: RunHosts) -> dict[str, t.Any]:
    """Findings per cluster.

    ``hosts`` maps an inventory host name to ``{"computer_name", "cluster": {"name", "nodes": [...]}, "provider_version",
    "agent_version"}`` for each host this run read (node_entry). Returns ``{"clusters": {name: {...}}, "findings": [...]}``.
    """
    active = {short_name(name) for name in run.active}
    in_run = {short_name(name) for name in run.all}
    read = {}
    for inventory_name, info in hosts.items():
        read[short_name(info["computer_name"])] = (inventory_name, info)
        in_run.add(short_name(info["computer_name"]))
    active_read = {computer for computer, (inventory_name, _info) in read.items() if inventory_name in run.active}
    clusters: dict[str, dict[str, t.Any]] = {}
    for _inventory_name, info in sorted(hosts.items()):
        cluster = info.get("cluster")
        if not cluster or cluster["name"] in clusters:
            continue
        nodes = [{"name": node["name"], "state": node.get("state")} for node in cluster.get("nodes") or []]
        versions, checked, pending, not_checked = {}, [], [], []
        for node in nodes:
            computer = short_name(node["name"])
            if computer in active_read:
                node_info = read[computer][1]
                versions[node["name"]] = {"provider": node_info.get("provider_version"), "agent": node_info.get("agent_version")}
                checked.append(node["name"])
            elif computer in active:
                pending.append(node["name"])      # a host of a later serial batch: checked when its batch runs
            else:
                reason = FAILED_IN_RUN if computer in in_run else NOT_IN_RUN
                not_checked.append({"name": node["name"], "state": node["state"], "reason": reason})
        clusters[cluster["name"]] = {
            "nodes": nodes,
            "checked": checked,
            "pending": pending,
            "not_checked": not_checked,
            "missing": [entry["name"] for entry in not_checked if entry["reason"] == NOT_IN_RUN],
            "versions": versions,
        }
    return {"clusters": clusters, "findings": findings_of(clusters)}


def findings_of(clusters: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[str]:
    findings = []
    for name, cluster in sorted(clusters.items()):
        for node in cluster["not_checked"]:
            findings.append(f"cluster {name}: node {node['name']} (state {node['state'] or 'unknown'}) was not checked in this run: it is "
                            f"{node['reason']}; every node needs the provider registered with the same vault at the same version, or VMs "
                            "that move to it stop replicating - check it in a run that holds every node of the cluster")
        for component in ("provider", "agent"):
            seen: dict[str | None, list[str]] = {}
            for node, versions in sorted(cluster["versions"].items()):
                seen.setdefault(versions[component], []).append(node)
            if len(seen) > 1:
                ordered = sorted(seen.items(), key=lambda item: str(item[0]))
                listed = "; ".join(f"{version or 'not installed'} on {', '.join(nodes)}" for version, nodes in ordered)
                findings.append(f"cluster {name}: the {component} versions differ between nodes ({listed}); all nodes need the same version")
    return findings
