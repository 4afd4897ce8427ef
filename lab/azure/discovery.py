"""The vault's view of the Hyper-V hosts: providers and protectable items, read from the world.

A host is registered to a vault's Hyper-V site when its registry holds
`HKLM\\SOFTWARE\\Microsoft\\Azure Site Recovery\\Registration` values naming the vault
(SubscriptionId, ResourceGroupName, ResourceName) and the site (SiteName), the values Windows Admin
Center's Get-WACVMASRServiceProperties checks. Registration is what the provider does after
DRConfigurator /r; the vault then lists one provider per host (azure-rest-api-specs example
ReplicationRecoveryServicesProviders_ListByReplicationFabrics.json) and that host's VMs as
protectable items (enable_managed_disks.json entries 9 and 11). The provider is Connected while the
host's `dra` service runs and the admin knob has not disconnected it; a disconnected provider's
lastHeartBeat stops moving.

Discovery takes time, as on Azure: the vault lists a newly registered host's VMs only once the
provider's first inventory has reached it, `discovery_delay_s` of lab time after the registration
(Microsoft: the VMs appear "up to 15 minutes" after registration). A VM created later appears only
after the provider sends a new inventory: a refreshProvider job, or the provider's periodic refresh
every `refresh_interval_s` (an assumption, lab/FIDELITY.md). A VM that is already replicating stays
known. Both intervals are knobs (admin API POST /azure/discovery).

Each discovered VM carries the readiness the vault reports on its protectable item (protectionReadinessErrors,
supportedReplicationProviders): a VM that already replicates with Hyper-V Replica is not ready, and a test gives a
VM further readiness errors, or other supported providers, with the admin API (POST /azure/vms/{vm}/readiness).
"""

from __future__ import annotations

import datetime as dt
from pathlib import PureWindowsPath

from lab.azure import ids
from lab.azure.state import AzureCloud, Fabric, Provider, VaultAsr
from lab.hosts.state import REGISTRATION_KEY, HostState, VirtualMachine

HEARTBEAT_S = 60       # the provider reports in about once a minute (inference)
DISCOVERY_DELAY_S = 15 * 60     # "up to 15 minutes" after registration (Learn, tutorial-migrate-hyper-v)
REFRESH_INTERVAL_S = 24 * 3600  # the provider's own periodic inventory (assumption: lab/FIDELITY.md)


def discovery_settings(cloud: AzureCloud) -> dict[str, float]:
    """The discovery knobs: {"delay_s", "refresh_interval_s"} (lab time)."""
    settings = getattr(cloud, "discovery", None)
    if settings is None:
        settings = {"delay_s": float(DISCOVERY_DELAY_S), "refresh_interval_s": float(REFRESH_INTERVAL_S)}
        cloud.discovery = settings
    return settings


# The replication providers the vault offers a Hyper-V VM (enable_managed_disks.json entry 9, enable_dr.json).
SUPPORTED_PROVIDERS = ("HyperVReplicaAzure",)
HYPERV_REPLICA_ERROR = "The virtual machine is already replicating with Hyper-V Replica."


def readiness_overrides(cloud: AzureCloud) -> dict[str, dict]:
    """{VM id, lowercase: {"errors": [...], "supported_providers": [...]}}: what tests set per VM (the admin knob)."""
    overrides = getattr(cloud, "readiness", None)
    if overrides is None:
        overrides = {}
        cloud.readiness = overrides
    return overrides


def set_readiness(cloud: AzureCloud, vm: VirtualMachine, errors: list[str] | None,
                  supported_providers: list[str] | None) -> dict:
    """Give ``vm`` readiness errors and supported providers besides its own; both None clears the knob."""
    if errors is None and supported_providers is None:
        readiness_overrides(cloud).pop(vm.id.lower(), None)
    else:
        readiness_overrides(cloud)[vm.id.lower()] = {
            "errors": [str(error) for error in errors or []],
            "supported_providers": list(supported_providers) if supported_providers is not None else None}
    return readiness(cloud, vm, protected=False)


def readiness(cloud: AzureCloud, vm: VirtualMachine, protected: bool) -> dict:
    """{"errors", "supported_providers"} of the VM's protectable item. A VM with a Hyper-V Replica relationship is
    not ready unless it is the vault's own (``protected``: the vault replicates the VM already)."""
    override = readiness_overrides(cloud).get(vm.id.lower()) or {}
    errors = [] if protected or vm.replication is None else [HYPERV_REPLICA_ERROR]
    errors += override.get("errors") or []
    supported = override.get("supported_providers")
    return {"errors": errors, "supported_providers": list(SUPPORTED_PROVIDERS) if supported is None else supported}


def host_fqdn(host: HostState) -> str:
    domain = host.domain if host.domain and host.domain.upper() != "WORKGROUP" else ""
    return f"{host.name}.{domain}" if domain else host.name


def host_id(host_fqdn_: str) -> str:
    """hyperVHostId as the service writes it: "idclab-a411_fareast_corp_microsoft_com" (enable_managed_disks.json entry 9)."""
    return host_fqdn_.lower().replace(".", "_")


def registration_matches(host: HostState, vault: VaultAsr, fabric: Fabric) -> bool:
    values = {k.lower(): str(v) for k, v in host.registry.values(REGISTRATION_KEY).items()}
    return (values.get("subscriptionid", "").lower() == vault.subscription.lower()
            and values.get("resourcegroupname", "").lower() == vault.resource_group.lower()
            and values.get("resourcename", "").lower() == vault.name.lower()
            and values.get("sitename", "").lower() in (fabric.name.lower(), fabric.friendly_name.lower()))


def _registered_at(cloud: AzureCloud, host: HostState, now: dt.datetime) -> dt.datetime:
    """When DRConfigurator registered the host (the world's record), else now (a registry set by hand)."""
    record = cloud.registrations.get(host.name.lower())
    if record is not None and record.registered_at:
        try:
            return min(now, dt.datetime.fromisoformat(record.registered_at.replace("Z", "+00:00")))
        except ValueError:
            pass
    return now


def sync_providers(cloud: AzureCloud, vault: VaultAsr, fabric: Fabric) -> None:
    """Add providers for newly registered hosts, drop those whose registration went away, and bring
    each provider's inventory of VMs up to date."""
    now = cloud.now()
    registered = {h.name.lower(): h for h in cloud.hosts.hosts if registration_matches(h, vault, fabric)}
    for name in [n for n in fabric.providers if n not in registered]:
        del fabric.providers[name]
    for name, host in registered.items():
        provider = fabric.providers.get(name)
        if provider is None:
            registered_at = _registered_at(cloud, host, now)
            provider = Provider(name=ids.stable_guid(vault.id, fabric.name, host.name), host=host.name,
                                fqdn=host_fqdn(host), registered_at=registered_at, last_heartbeat=now)
            # The first inventory: the VMs the host has now, reaching the vault after the discovery delay.
            provider.pending_inventory = frozenset(vm.id.lower() for vm in host.vms)
            provider.pending_until = registered_at + dt.timedelta(seconds=discovery_settings(cloud)["delay_s"])
            fabric.providers[name] = provider
        if connected(cloud, provider):
            provider.last_heartbeat = now - dt.timedelta(seconds=(now.timestamp() % HEARTBEAT_S))
        _advance_inventory(cloud, provider, host, now)


def _advance_inventory(cloud: AzureCloud, provider: Provider, host: HostState, now: dt.datetime) -> None:
    pending_until = getattr(provider, "pending_until", None)
    if getattr(provider, "pending_inventory", None) is not None and pending_until is not None and now >= pending_until:
        provider.inventory, provider.inventory_at = provider.pending_inventory, pending_until
        provider.pending_inventory = provider.pending_until = None
    last = getattr(provider, "inventory_at", None)
    interval = discovery_settings(cloud)["refresh_interval_s"]
    if last is not None and interval > 0 and connected(cloud, provider) and now >= last + dt.timedelta(seconds=interval):
        take_inventory(provider, host, now)


def take_inventory(provider: Provider, host: HostState, now: dt.datetime) -> None:
    """The provider sends the host's VMs now (a refresh): the vault knows them at once."""
    provider.inventory = frozenset(vm.id.lower() for vm in host.vms)
    provider.inventory_at = now
    provider.pending_inventory = provider.pending_until = None


def refresh(cloud: AzureCloud, provider: Provider) -> None:
    """A refreshProvider job finished: the provider's inventory is the host's VMs of now."""
    if cloud.hosts.has_host(provider.host):
        take_inventory(provider, cloud.hosts.host(provider.host), cloud.now())


def connected(cloud: AzureCloud, provider: Provider) -> bool:
    if provider.forced_disconnected or not cloud.hosts.has_host(provider.host):
        return False
    service = cloud.hosts.host(provider.host).service("dra")
    return service is not None and service.status == "Running"


def _known(provider: Provider, protected: set[str], vm_id: str) -> bool:
    """The vault knows the VM: in the provider's last inventory, or already replicating (`protected`)."""
    return vm_id in (getattr(provider, "inventory", None) or ()) or vm_id in protected


def _protected_ids(fabric: Fabric) -> set[str]:
    return {item.vm_id.lower() for item in fabric.items.values()}


def registered_vms(cloud: AzureCloud, fabric: Fabric) -> list[tuple[Provider, HostState, VirtualMachine]]:
    """The VMs of the site's registered hosts that the vault has discovered."""
    out, protected = [], _protected_ids(fabric)
    for provider in fabric.providers.values():
        if cloud.hosts.has_host(provider.host):
            host = cloud.hosts.host(provider.host)
            out.extend((provider, host, vm) for vm in host.vms if _known(provider, protected, vm.id.lower()))
    return out


def find_vm(cloud: AzureCloud, fabric: Fabric, vm_id: str) -> tuple[Provider, HostState, VirtualMachine] | None:
    """The discovered VM `vm_id` of the site, or None (not on a registered host, or not discovered yet)."""
    wanted = vm_id.lower()
    for provider in fabric.providers.values():
        if not cloud.hosts.has_host(provider.host):
            continue
        host = cloud.hosts.host(provider.host)
        for vm in host.vms:
            if vm.id.lower() == wanted:
                known = wanted in (getattr(provider, "inventory", None) or ()) or any(
                    item.vm_id.lower() == wanted for item in fabric.items.values())
                return (provider, host, vm) if known else None
    return None


def vhd_id(vm: VirtualMachine, disk_path: str) -> str:
    return ids.stable_guid("vhd", vm.id, disk_path)


def disk_details(vm: VirtualMachine, os_vhd: str | None = None) -> list[dict]:
    """diskDetails of a VM's disks. Discovery reports every disk as Data (enable_dr.json,
    enable_managed_disks.json): the caller names the OS disk (vhdId) when enabling, and from
    then on the item's disk details call that one OperatingSystem (planned_failover.json)."""
    return [{"maxSizeMB": disk.size_bytes // (1024 * 1024),
             "vhdType": "OperatingSystem" if vhd_id(vm, disk.path) == os_vhd else "Data",
             "vhdId": vhd_id(vm, disk.path),
             "vhdName": PureWindowsPath(disk.path).stem}
            for disk in vm.disks]
