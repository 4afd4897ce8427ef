"""Simulation of host_info/1: everything the host actions need to know, in one read.

Output keys, their sources and when each is null are docs/host-scripts.md "host_info/1".
Parameters: {"gather_vms": true}. Like the real script it only reads: registry,
services, files, Hyper-V and cluster state.
"""

from __future__ import annotations

from lab.hosts.scripts import ScriptContext
from lab.hosts.scripts._agent_module import cmdlet_missing
from lab.hosts.scripts.upload_throttle_read import MachineSettingError, read_throttle
from lab.hosts.state import (
    MARS_REPLICATION_KEY,
    PROVIDER_KEY,
    REGISTRATION_KEY,
    HostState,
    windows_path,
)

VERSIONS = (1,)

# What the script changes on the host (tests/pslint/contract.py, tests/unit/test_twin_contracts.py): nothing.
SIDE_EFFECTS: dict = {}

PROVIDER_DEFAULT_PATH = r"C:\Program Files\Microsoft Azure Site Recovery Provider"
SERVICES = ("dra", "obengine", "vmms", "clussvc")
REGISTRATION_VALUES = {"vault_location": "VaultLocation", "subscription_id": "SubscriptionId",
                       "vault_name": "ResourceName", "resource_group": "ResourceGroupName",
                       "site_name": "SiteName", "container_id": "ContainerId"}
REQUIRED_REGISTRATION = ("VaultLocation", "SubscriptionId", "ResourceName", "ResourceGroupName")


def run(ctx: ScriptContext) -> dict:
    host = ctx.host
    strong_64, strong_32 = host.strong_crypto
    # As host_info.ps1: [bool]$request.params.gather_vms, so an absent value means false; and
    # without the Hyper-V role there are no Hyper-V cmdlets (Get-VM). Either way vms/volumes are null.
    gather_vms = bool(ctx.params.get("gather_vms")) and host.hyperv_role
    throttle, warnings = _throttle(host, ctx.agent_module_importable)
    return {
        "computer_name": host.name,
        "domain": host.domain,
        "domain_role": host.domain_role,
        "os": {"caption": host.os.caption, "version": host.os.version, "build": host.os.build},
        "hyperv_role": host.hyperv_role,
        "dotnet_release": host.dotnet_release,
        "tls": {"strong_crypto_64": strong_64, "strong_crypto_32": strong_32},
        "cluster": _cluster(ctx),
        "services": {name: _service(host, name) for name in SERVICES},
        "provider": _provider(host),
        "agent": _agent(host),
        "registration": _registration(host),
        "replication_registry": {name: host.registry.get_value(MARS_REPLICATION_KEY, name)
                                 for name in ("UploadThreadsPerVM", "DownloadThreadsPerVM")},
        "throttle": throttle,
        "warnings": warnings,
        "vms": [_vm(vm) for vm in host.vms] if gather_vms else None,
        "volumes": _volumes(host) if gather_vms else None,
    }


def _cluster(ctx: ScriptContext) -> dict | None:
    cluster = ctx.world.cluster_of(ctx.host)
    clussvc = ctx.host.service("ClusSvc")
    if cluster is None or clussvc is None or clussvc.status != "Running":
        return None   # Get-ClusterNode needs a running cluster service
    return {"name": cluster.name,
            "nodes": [{"name": node.name, "state": node.state, "id": node.id} for node in cluster.nodes]}


def _service(host: HostState, name: str) -> dict | None:
    service = host.service(name)
    return {"status": service.status, "start_type": service.start_type} if service else None


def _provider(host: HostState) -> dict | None:
    version = host.provider_version
    if not version:
        return None
    # The provider's setup takes no install folder: the path is the default one when
    # DRConfigurator.exe is there, else null.
    path = PROVIDER_DEFAULT_PATH if host.file(PROVIDER_DEFAULT_PATH + r"\DRConfigurator.exe") else None
    return {"version": version, "dra_id": host.registry.get_value(PROVIDER_KEY, "DraID"), "path": path}


def _agent(host: HostState) -> dict | None:
    install_path = host.agent_install_path
    if not install_path:
        return None
    # The version is the file version of <InstallPath>\bin\CBEngine.exe, null when it is missing.
    engine = host.file(windows_path(install_path).rstrip("\\") + r"\bin\CBEngine.exe")
    return {"version": engine.file_version if engine else None, "path": str(install_path)}


def _registration(host: HostState) -> dict | None:
    values = host.registry.values(REGISTRATION_KEY)
    lowered = {name.lower(): data for name, data in values.items()}
    if not all(lowered.get(name.lower()) for name in REQUIRED_REGISTRATION):
        return None
    return {key: lowered.get(name.lower()) for key, name in REGISTRATION_VALUES.items()}


def _throttle(host: HostState, agent_module_importable: bool) -> tuple[dict | None, list[str]]:
    """The throttle and the warnings, as host_info.ps1 reads them: an agent that cannot answer leaves it null."""
    engine = host.service("obengine")
    if not host.agent_install_path or engine is None or engine.status != "Running":
        return None, []   # Get-OBMachineSetting reads the settings from the running engine
    missing = cmdlet_missing(agent_module_importable, "Get-OBMachineSetting")
    if missing:
        return None, [f"the throttle was not read (Get-OBMachineSetting): {missing}"]
    try:
        return read_throttle(host), []
    except MachineSettingError as exc:
        return None, [f"the throttle was not read (Get-OBMachineSetting): {exc}"]


def _vm(vm) -> dict:
    replication = vm.replication
    boot = vm.boot_disk()
    return {
        "name": vm.name, "id": vm.id, "state": vm.state, "generation": vm.generation,
        "disks": [{"path": disk.path, "size_bytes": disk.size_bytes, "controller": vm.disk_controller(index)}
                  for index, disk in enumerate(vm.disks)],
        "boot_disk": boot.path if boot else None,
        # KVP exchange data exists only while the guest runs with its integration services.
        "guest_os": vm.guest_os if vm.state == "Running" else None,
        "replication": None if replication is None else {
            "state": replication.state, "health": replication.health, "mode": replication.mode,
            "replica_server": replication.replica_server},
    }


def _volumes(host: HostState) -> list[dict]:
    """The fixed volumes that hold at least one VM disk (mount points and CSVs included), by name,
    as host_info.ps1 selects them: a disk is on the volume with the longest name that starts its path."""
    holding = {}
    for vm in host.vms:
        for disk in vm.disks:
            volume = host.volume_for(disk.path)
            if volume is not None:
                holding[volume.name] = volume
    return [{"name": volume.name, "size_bytes": volume.size_bytes, "free_bytes": volume.free_bytes}
            for volume in sorted(holding.values(), key=lambda volume: volume.name)]
