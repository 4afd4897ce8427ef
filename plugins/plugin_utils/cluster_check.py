# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare the nodes of each failover cluster in a play: every node prepared, all at the same versions.

FOR INTERNAL COLLECTION USE ONLY: this is not a public API and may change in any release.

Facts: the provider is installed and registered on every node
(learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v), and "all Hyper-V servers in a Site Recovery
vault should have the same versions of the Provider and agent" (MicrosoftDocs/azure-docs, the legacy
article articles/site-recovery/site-recovery-hyper-v-site-to-azure.md).
Input is what host_info returned for each host of the play (``cluster.nodes``, ``computer_name``), with
the versions after preparation when known. Pure functions only.
"""

from __future__ import annotations

import typing as t


def short_name(name: str) -> str:
    """A computer name as a cluster lists it: the first DNS label, upper-cased."""
    return name.split(".", 1)[0].upper()


def check_clusters(hosts: t.Mapping[str, t.Mapping[str, t.Any]], play_hosts: t.Iterable[str]) -> dict[str, t.Any]:
    """Findings per cluster.

    ``hosts`` maps an inventory host name to ``{"computer_name", "cluster": {"name", "nodes": [...]}, "provider_version",
    "agent_version"}`` (host_info's return with the versions after preparation); ``play_hosts`` are all hosts of the
    play, in every serial batch. Returns ``{"clusters": {name: {...}}, "findings": [msg, ...]}``.
    """
    in_play = {short_name(name) for name in play_hosts}
    by_computer = {}
    for inventory_name, info in hosts.items():
        computer = short_name(info.get("computer_name") or inventory_name)
        by_computer[computer] = info
        in_play.add(computer)
    clusters: dict[str, dict[str, t.Any]] = {}
    for info in hosts.values():
        cluster = info.get("cluster")
        if not cluster or cluster["name"] in clusters:
            continue
        nodes = [{"name": node["name"], "state": node.get("state")} for node in cluster.get("nodes") or []]
        versions = {}
        for node in nodes:
            node_info = by_computer.get(short_name(node["name"]))
            if node_info is not None:
                versions[node["name"]] = {"provider": node_info.get("provider_version"), "agent": node_info.get("agent_version")}
        clusters[cluster["name"]] = {
            "nodes": nodes,
            "missing": [node["name"] for node in nodes if short_name(node["name"]) not in in_play],
            "versions": versions,
        }
    return {"clusters": clusters, "findings": findings_of(clusters)}


def findings_of(clusters: t.Mapping[str, t.Mapping[str, t.Any]]) -> list[str]:
    findings = []
    for name, cluster in sorted(clusters.items()):
        states = {node["name"]: node["state"] for node in cluster["nodes"]}
        for node in cluster["missing"]:
            findings.append(f"cluster {name}: node {node} (state {states.get(node) or 'unknown'}) is not in the play, so it is not prepared; "
                            "every node needs the provider registered with the same vault, or VMs that move to it stop replicating")
        for component in ("provider", "agent"):
            seen: dict[str | None, list[str]] = {}
            for node, versions in sorted(cluster["versions"].items()):
                seen.setdefault(versions[component], []).append(node)
            if len(seen) > 1:
                ordered = sorted(seen.items(), key=lambda item: str(item[0]))
                listed = "; ".join(f"{version or 'not installed'} on {', '.join(nodes)}" for version, nodes in ordered)
                findings.append(f"cluster {name}: the {component} versions differ between nodes ({listed}); all nodes need the same version")
    return findings
