r"""Load an estate file (YAML) into a World.

Format (lab/estates/demo.yml is the worked example):

    clock: {epoch: "2025-06-02T06:00:00Z"}        # optional; default: the real time at start
    defaults: {...}                                # any host key; merged under every host
    clusters:
      - name: HVCLU01
        nodes: [{name: HV02, state: Up}, HV03]     # node ids are 1, 2, ... in this order
    hosts:
      - name: HV01
        os: {caption: ..., version: 10.0.20348, build: 20348, server_core: false}
        domain: contoso.local
        domain_role: 3                             # Win32_ComputerSystem.DomainRole
        hyperv_role: true                          # shorthand for features: [Hyper-V]
        features: [...]                            # other installed Windows features
        dotnet_release: 528449                     # -> registry NDP\v4\Full Release
        strong_crypto: {x64: 1, x86: 1}            # -> registry SchUseStrongCrypto (null: absent)
        registry: {'HKLM\...': {Name: data}}       # any other values
        services: {name: {status, start_type, display_name}}   # null removes a default service
        products: [{name, version, product_code}]  # -> Uninstall keys
        files: {'C:\path': {size, file_version, created_at, content}}
        certificates: [{friendly_name, thumbprint}]
        mars_settings: {throttle: {...}, proxy: {...}}
        language_mode: ConstrainedLanguage          # PowerShell under WDAC/AppLocker (default FullLanguage)
        volumes: [{name: 'D:\', size_gb: 1024, free_gb: 300, label: VMs}]
        vms:
          - {name, id, generation, state, memory_mb, processor_count, switch,
             disks: [{path, size_gb | size_bytes}], replication: {state, health, mode, replica_server}}

A host with `count: N` stands for N hosts alike, its name a format with {index} (1 to N), e.g.
`{name: "FL{index:04d}", count: 1000}` (lab/estates/fleet.yml): a fleet in a few lines.

Sizes take size_gb/free_gb (GiB) or size_bytes/free_bytes. Everything the host scripts
read is stored where Windows keeps it (registry, services, files); the shorthands above
only write those sources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lab.clock import LabClock, parse_time
from lab.hosts.patch import merge_services
from lab.hosts.state import (
    DOTNET_KEY,
    STRONG_CRYPTO_32_KEY,
    STRONG_CRYPTO_64_KEY,
    UNINSTALL_KEY,
    FileEntry,
    HostState,
    OperatingSystem,
    Registry,
    Service,
    language_mode,
    vm_from_dict,
    volume_from_dict,
    windows_path,
)
from lab.log import CommandLog
from lab.world import Cluster, ClusterNode, World

GIB = 1024 ** 3

# Services every Windows server has that the host scripts may look at.
BASE_SERVICES = {
    "WinRM": ("Windows Remote Management (WS-Management)", "Running", "Automatic"),
    "Winmgmt": ("Windows Management Instrumentation", "Running", "Automatic"),
}
HYPERV_SERVICES = {"vmms": ("Hyper-V Virtual Machine Management", "Running", "Automatic")}
CLUSTER_SERVICES = {"ClusSvc": ("Cluster Service", "Running", "Automatic")}


class EstateError(ValueError):
    pass


def load_estate(path: Path, clock: LabClock | None = None, log: CommandLog | None = None,
                state_dir: Path | None = None, time_scale: float | None = None) -> World:
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return build_world(document, clock=clock, log=log, state_dir=state_dir, time_scale=time_scale,
                       source=str(path))


def build_world(document: dict, clock: LabClock | None = None, log: CommandLog | None = None,
                state_dir: Path | None = None, time_scale: float | None = None, source: str = "estate") -> World:
    if clock is None:
        clock_doc = document.get("clock") or {}
        epoch = parse_time(str(clock_doc["epoch"])) if clock_doc.get("epoch") else None
        clock = LabClock(epoch, time_scale or float(clock_doc.get("time_scale", 1)))
    world = World(clock, log or CommandLog(), state_dir)
    membership: dict[str, str] = {}
    for cluster_doc in document.get("clusters") or []:
        cluster = _cluster(cluster_doc)
        world.add_cluster(cluster)
        for node in cluster.nodes:
            membership[node.name.lower()] = cluster.name
    defaults = document.get("defaults") or {}
    hosts = document.get("hosts") or []
    if not hosts:
        raise EstateError(f"{source}: no hosts")
    for host_doc in _expand_counts(hosts, source):
        merged = {**defaults, **host_doc}
        try:
            host = build_host(merged, membership.get(str(merged.get("name", "")).lower()))
        except (KeyError, TypeError, ValueError) as exc:
            raise EstateError(f"{source}: host {host_doc.get('name', '?')}: {exc}") from exc
        world.add_host(host)
    for cluster in world.clusters.values():
        missing = [node.name for node in cluster.nodes if not world.has_host(node.name)]
        if missing:
            raise EstateError(f"{source}: cluster {cluster.name} names unknown hosts {missing}")
    return world


def _expand_counts(hosts: list[dict], source: str) -> list[dict]:
    """Each host with `count: N` as N hosts named by its format ({index}: 1 to N); the others as they are."""
    expanded = []
    for host_doc in hosts:
        if "count" not in host_doc:
            expanded.append(host_doc)
            continue
        count, name = host_doc["count"], str(host_doc.get("name", ""))
        if isinstance(count, bool) or not isinstance(count, int) or count < 1 or "{index" not in name:
            raise EstateError(f"{source}: a host with count needs a whole count >= 1 and a name with {{index}} "
                              f"(e.g. FL{{index:04d}}), not count={count!r}, name={name!r}")
        template = {key: value for key, value in host_doc.items() if key != "count"}
        expanded += [{**template, "name": name.format(index=index)} for index in range(1, count + 1)]
    return expanded


def _cluster(document: dict) -> Cluster:
    nodes = []
    for index, node in enumerate(document.get("nodes") or [], start=1):
        node = {"name": node} if isinstance(node, str) else node
        nodes.append(ClusterNode(name=node["name"], id=str(node.get("id", index)), state=node.get("state", "Up")))
    return Cluster(name=document["name"], nodes=nodes)


def build_host(doc: dict[str, Any], cluster: str | None) -> HostState:
    features = list(doc.get("features") or [])
    if doc.get("hyperv_role", True) and "Hyper-V" not in features:
        features.append("Hyper-V")
    if cluster and "Failover-Clustering" not in features:
        features.append("Failover-Clustering")
    host = HostState(
        name=doc["name"],
        os=OperatingSystem(**(doc.get("os") or {})),
        domain=doc.get("domain", "WORKGROUP"),
        domain_role=int(doc.get("domain_role", 2)),
        features=features,
        cluster=cluster,
        registry=Registry(doc.get("registry") or {}),
        certificates=list(doc.get("certificates") or []),
        mars_settings=dict(doc.get("mars_settings") or {}),
        volumes=[volume_from_dict(_sizes(v, "size")) for v in doc.get("volumes") or []],
        language_mode=language_mode(doc.get("language_mode", "FullLanguage")),
        vms=[vm_from_dict({**vm, "disks": [_sizes(d, "size") for d in vm.get("disks") or []]})
             for vm in doc.get("vms") or []],
    )
    if doc.get("dotnet_release") is not None:
        host.registry.set_value(DOTNET_KEY, "Release", int(doc["dotnet_release"]))
    strong = doc.get("strong_crypto") or {}
    for key, arch in ((STRONG_CRYPTO_64_KEY, "x64"), (STRONG_CRYPTO_32_KEY, "x86")):
        if strong.get(arch) is not None:
            host.registry.set_value(key, "SchUseStrongCrypto", int(strong[arch]))
    for product in doc.get("products") or []:
        key = UNINSTALL_KEY + "\\" + product.get("product_code", product["name"])
        host.registry.set_value(key, "DisplayName", product["name"])
        if product.get("version"):
            host.registry.set_value(key, "DisplayVersion", str(product["version"]))
    _add_services(host, doc.get("services") or {})
    for path, meta in (doc.get("files") or {}).items():
        meta = meta or {}
        content = meta["content"].encode() if isinstance(meta.get("content"), str) else None
        host.files[windows_path(path).lower()] = FileEntry(
            windows_path(path), content, len(content) if content is not None else int(meta.get("size", 0)),
            meta.get("file_version"), meta.get("created_at"))
    return host


def _add_services(host: HostState, overrides: dict[str, Any]) -> None:
    defaults = dict(BASE_SERVICES)
    if host.hyperv_role:
        defaults |= HYPERV_SERVICES
    if host.cluster:
        defaults |= CLUSTER_SERVICES
    for name, (display, status, start) in defaults.items():
        host.add_service(Service(name, display, status, start))
    merge_services(host, overrides)


def _sizes(doc: dict, prefix: str) -> dict:
    """Accept size_gb/free_gb (GiB) as well as size_bytes/free_bytes."""
    out = dict(doc)
    for stem in (prefix, "free"):
        if f"{stem}_gb" in out:
            out[f"{stem}_bytes"] = int(float(out.pop(f"{stem}_gb")) * GIB)
    return out
