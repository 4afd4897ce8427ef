"""The vault's view of the Hyper-V hosts: providers and protectable items, read from the world.

A host is registered to a vault's Hyper-V site when its registry holds
`HKLM\\SOFTWARE\\Microsoft\\Azure Site Recovery\\Registration` values naming the vault
(SubscriptionId, ResourceGroupName, ResourceName) and the site (SiteName); windows-host.md
§3.2. Registration is what the provider does after DRConfigurator /r; the vault then lists
one provider per host (asr-api.md §3.3) and that host's VMs as protectable items (§3.7).
The provider is Connected while the host's `dra` service runs and the admin knob has not
disconnected it; a disconnected provider's lastHeartBeat stops moving.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PureWindowsPath

from lab.azure import ids
from lab.azure.state import AzureCloud, Fabric, Provider, VaultAsr
from lab.hosts.state import REGISTRATION_KEY, HostState, VirtualMachine

HEARTBEAT_S = 60       # the provider reports in about once a minute (inference)


def host_fqdn(host: HostState) -> str:
    domain = host.domain if host.domain and host.domain.upper() != "WORKGROUP" else ""
    return f"{host.name}.{domain}" if domain else host.name


def host_id(host_fqdn_: str) -> str:
    """hyperVHostId as the service writes it: "idclab-a411_fareast_corp_microsoft_com" (§3.7)."""
    return host_fqdn_.lower().replace(".", "_")


def registration_matches(host: HostState, vault: VaultAsr, fabric: Fabric) -> bool:
    values = {k.lower(): str(v) for k, v in host.registry.values(REGISTRATION_KEY).items()}
    return (values.get("subscriptionid", "").lower() == vault.subscription.lower()
            and values.get("resourcegroupname", "").lower() == vault.resource_group.lower()
            and values.get("resourcename", "").lower() == vault.name.lower()
            and values.get("sitename", "").lower() in (fabric.name.lower(), fabric.friendly_name.lower()))


def sync_providers(cloud: AzureCloud, vault: VaultAsr, fabric: Fabric) -> None:
    """Add providers for newly registered hosts, drop those whose registration went away."""
    now = cloud.now()
    registered = {h.name.lower(): h for h in cloud.world.hosts if registration_matches(h, vault, fabric)}
    for name in [n for n in fabric.providers if n not in registered]:
        del fabric.providers[name]
    for name, host in registered.items():
        provider = fabric.providers.get(name)
        if provider is None:
            provider = Provider(name=ids.stable_guid(vault.id, fabric.name, host.name), host=host.name,
                                fqdn=host_fqdn(host), registered_at=now, last_heartbeat=now)
            fabric.providers[name] = provider
        if connected(cloud, provider):
            provider.last_heartbeat = now - dt.timedelta(seconds=(now.timestamp() % HEARTBEAT_S))


def connected(cloud: AzureCloud, provider: Provider) -> bool:
    if provider.forced_disconnected or not cloud.world.has_host(provider.host):
        return False
    service = cloud.world.host(provider.host).service("dra")
    return service is not None and service.status == "Running"


def registered_vms(cloud: AzureCloud, fabric: Fabric) -> list[tuple[Provider, HostState, VirtualMachine]]:
    out = []
    for provider in fabric.providers.values():
        if cloud.world.has_host(provider.host):
            host = cloud.world.host(provider.host)
            out.extend((provider, host, vm) for vm in host.vms)
    return out


def find_vm(cloud: AzureCloud, fabric: Fabric, vm_id: str) -> tuple[Provider, HostState, VirtualMachine] | None:
    return next((entry for entry in registered_vms(cloud, fabric) if entry[2].id.lower() == vm_id.lower()), None)


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
