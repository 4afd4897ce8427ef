# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Normalise the raw document of the host_info/1 host script into host_info's return values.

The raw document is specified in docs/host-scripts.md ("host_info/1") and declared once, as the
host_info contract's output schema, in _host_contracts.py. Every function is pure; each fact names its
public source below.
"""

from __future__ import annotations

import typing as t

from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import DEFAULT_UPLOAD_THREADS, volume_for_path
from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import find_time_of_day as time_of_day

# Win32_ComputerSystem.DomainRole values.
DOMAIN_ROLE_NAMES = {
    0: "standalone_workstation",
    1: "member_workstation",
    2: "standalone_server",
    3: "member_server",
    4: "backup_domain_controller",
    5: "primary_domain_controller",
}
STANDALONE_DOMAIN_ROLES = frozenset((0, 2))
DOMAIN_CONTROLLER_ROLE_NAMES = frozenset((DOMAIN_ROLE_NAMES[4], DOMAIN_ROLE_NAMES[5]))

# Smallest "Release" DWORD of each .NET Framework 4.5+ version (HKLM\SOFTWARE\Microsoft\NET Framework
# Setup\NDP\v4\Full), from Microsoft's "How to: Determine which .NET Framework versions are installed".
DOTNET_VERSIONS_BY_RELEASE = (
    (533320, "4.8.1"),
    (528040, "4.8"),
    (461808, "4.7.2"),
    (461308, "4.7.1"),
    (460798, "4.7"),
    (394802, "4.6.2"),
    (394254, "4.6.1"),
    (393295, "4.6"),
    (379893, "4.5.2"),
    (378675, "4.5.1"),
    (378389, "4.5"),
)
# Azure Migrate's Hyper-V support matrix asks for ".NET Framework 4.7 or later"
# (learn.microsoft.com/azure/migrate/migrate-support-matrix-hyper-v-migration); the older ASR matrix says 4.6.2,
# but the stricter Migrate requirement is the one this collection serves.
MINIMUM_DOTNET_RELEASE = 460798
MINIMUM_DOTNET_VERSION = "4.7"

# Bandwidths are bytes per second; the agent's UI counts "Kbps" of 1,024 bytes per second.
# Microsoft's examples pass -WorkHourBandwidth (512*1024) to Set-OBMachineSetting for the UI's
# minimum of "512 Kbps" (Microsoft Learn: Set-OBMachineSetting; KB 3056159), so 1 UI Kbps = 1,024 bytes/s.
BYTES_PER_UI_KBPS = 1024

# How Hyper-V names the replica server of a VM that replicates to Azure (KB 3094171).
AZURE_REPLICA_SERVER = "Microsoft Azure"

GIB = 1024 ** 3


def dotnet_version_name(release: int | None) -> str | None:
    """The .NET Framework version a ``Release`` DWORD stands for ("4.8"), None below 4.5 or unknown."""
    if release is None:
        return None
    for minimum, name in DOTNET_VERSIONS_BY_RELEASE:
        if release >= minimum:
            return name
    return None


def bandwidth(bytes_per_second: int | None) -> dict[str, t.Any] | None:
    """A throttle bandwidth in bytes per second and in the agent UI's Kbps."""
    if bytes_per_second is None:
        return None
    kbps = bytes_per_second / BYTES_PER_UI_KBPS
    return {"bytes_per_second": bytes_per_second, "kbps": int(kbps) if kbps.is_integer() else round(kbps, 1)}


def threads(raw_value: int | None) -> dict[str, t.Any]:
    """An UploadThreadsPerVM-style value: the effective count and whether the registry sets it."""
    return {"value": DEFAULT_UPLOAD_THREADS if raw_value is None else raw_value, "configured": raw_value is not None}


def service_status(services: dict[str, t.Any], name: str) -> str | None:
    """A service's status name ("Running"), None when the service does not exist."""
    service = services.get(name)
    return service["status"] if service else None


def format_gib(size_bytes: int) -> str:
    """A byte count as GiB with one decimal, for messages."""
    return f"{size_bytes / GIB:.1f} GiB"


def normalise_os(raw: dict[str, t.Any]) -> dict[str, t.Any]:
    """Operating system, domain membership and role name."""
    domain_role = raw["domain_role"]
    os_info = raw["os"] or {}
    return {
        "caption": os_info.get("caption"),
        "version": os_info.get("version"),
        "build": os_info.get("build"),
        # On a standalone machine Win32_ComputerSystem.Domain holds the workgroup name.
        "domain": None if domain_role in STANDALONE_DOMAIN_ROLES else raw["domain"],
        "workgroup": raw["domain"] if domain_role in STANDALONE_DOMAIN_ROLES else None,
        "domain_role": DOMAIN_ROLE_NAMES.get(domain_role),
    }


def normalise_component(raw_component: dict[str, t.Any] | None, services: dict[str, t.Any], service_name: str) -> dict[str, t.Any]:
    """Provider or agent: installed, version, install path and its service's status."""
    component = raw_component or {}
    path = component.get("path")
    return {
        "installed": raw_component is not None,
        "version": component.get("version"),
        # The agent's InstallPath ends with a backslash; paths are reported without one.
        "path": path.rstrip("\\") if path else None,
        "service": service_name,
        "service_state": service_status(services, service_name),
    }


def normalise_throttle(raw_throttle: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    """Throttle schedule with bandwidths in bytes/s and UI Kbps; None when it could not be read."""
    if raw_throttle is None:
        return None
    return {
        "enabled": bool(raw_throttle["enabled"]),
        "work_days": list(raw_throttle["work_days"] or []),
        "work_hour_start": time_of_day(raw_throttle["work_hour_start"]),
        "work_hour_end": time_of_day(raw_throttle["work_hour_end"]),
        "work_hour_bandwidth": bandwidth(raw_throttle["work_hour_bandwidth"]),
        "non_work_hour_bandwidth": bandwidth(raw_throttle["non_work_hour_bandwidth"]),
    }


def guest_os_type(os_name: str | None) -> str | None:
    """Windows or Linux from the guest's OSName (KVP), None when it is unknown. Linux guests report their
    distribution ("Ubuntu 22.04.3 LTS"), Windows guests "Windows Server 2022 Datacenter"."""
    if not os_name:
        return None
    return "Windows" if "windows" in os_name.lower() else "Linux"


def disk_name(path: str | None) -> str | None:
    """The disk's name as Azure reports it (vhdName): the file name without its extension."""
    if not path:
        return None
    base = path.replace("/", "\\").rsplit("\\", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def normalise_vm(raw_vm: dict[str, t.Any]) -> dict[str, t.Any]:
    """One VM with its disks, their total size, its boot disk, its guest OS (None when Hyper-V does not know it)
    and its Hyper-V replication (None when not replicating)."""
    disks = [{"path": disk["path"], "size_bytes": disk["size_bytes"], "controller": disk["controller"]}
             for disk in raw_vm["disks"] or []]
    replication = raw_vm["replication"]
    os_name = raw_vm["guest_os"] or None
    return {
        "name": raw_vm["name"],
        "id": raw_vm["id"],
        "state": raw_vm["state"],
        "generation": raw_vm["generation"],
        "boot_disk": raw_vm["boot_disk"] or None,
        "os_disk": disk_name(raw_vm["boot_disk"]),
        "guest_os": {"name": os_name, "type": guest_os_type(os_name)},
        "disks": disks,
        "disk_total_bytes": sum(disk["size_bytes"] or 0 for disk in disks),
        "replication": dict(replication) if replication else None,
    }


def disks_by_volume(vms: list[dict[str, t.Any]], volumes: list[dict[str, t.Any]]) -> dict[str, list[dict[str, t.Any]]]:
    """VM disks grouped by the name of the volume that holds them (disks on no listed volume are left out)."""
    grouped: dict[str, list[dict[str, t.Any]]] = {}
    names = [volume["name"] for volume in volumes]
    for vm in vms:
        for disk in vm["disks"]:
            holder = volume_for_path(disk["path"] or "", names)
            if holder is not None:
                grouped.setdefault(holder, []).append({"vm": vm["name"], **disk})
    return grouped


def readiness_item(code: str, msg: str) -> dict[str, str]:
    """One readiness finding."""
    return {"code": code, "msg": msg}


def blocking_findings(facts: dict[str, t.Any]) -> list[dict[str, str]]:
    """What stops the provider's setup on this host."""
    findings = []
    if facts["os"]["domain_role"] in DOMAIN_CONTROLLER_ROLE_NAMES:
        # The provider's setup refuses a domain controller ("no compatible product"): github.com/MicrosoftDocs/azure-docs/issues/42969.
        findings.append(readiness_item("domain_controller", "the host is a domain controller, and the Azure Site Recovery provider does not install on one"))
    if not facts["hyperv_role"]:
        findings.append(readiness_item("hyperv_role_missing", "the Hyper-V role is not installed, and the provider's setup requires it"))
    release = facts["dotnet"]["release"]
    if release is None or release < MINIMUM_DOTNET_RELEASE:
        found = f".NET Framework {facts['dotnet']['version'] or 'below 4.5'} (release {release})" if release is not None else "no .NET Framework 4"
        findings.append(readiness_item("dotnet_too_old", f"Azure Migrate needs .NET Framework {MINIMUM_DOTNET_VERSION} or later; the host has {found}"))
    return findings


def warning_findings(facts: dict[str, t.Any], raw_volumes: list[dict[str, t.Any]] | None) -> list[dict[str, str]]:
    """What lets setup run but hurts replication later."""
    findings = []
    tls = facts["tls"]
    weak = [bits for bits, enabled in (("64-bit", tls["strong_crypto_64"]), ("32-bit", tls["strong_crypto_32"])) if not enabled]
    if weak:
        # Site Recovery needs TLS 1.2; without strong crypto .NET clients offer older versions
        # (KB 4033999; Microsoft Learn: Transport Layer Security in Azure Site Recovery).
        findings.append(
            readiness_item(
                "strong_crypto_disabled",
                f"SchUseStrongCrypto is not 1 for {' and '.join(weak)} .NET Framework (HKLM\\SOFTWARE\\[WOW6432Node\\]Microsoft\\.NETFramework\\v4.0.30319): "
                "the provider and agent need TLS 1.2",
            )
        )
    for component, label in (("provider", "Azure Site Recovery provider"), ("agent", "Recovery Services agent")):
        details = facts[component]
        if details["installed"] and details["service_state"] != "Running":
            state = details["service_state"] or "missing"
            findings.append(
                readiness_item(f"{component}_service_not_running", f"the {label} is installed but its service {details['service']} is {state}")
            )
    for vm in facts["vms"] or []:
        replication = vm["replication"]
        if replication and replication.get("replica_server") != AZURE_REPLICA_SERVER:
            # Azure Migrate refuses VMs already protected by Hyper-V Replica (Azure Migrate's Hyper-V migration support matrix).
            findings.append(
                readiness_item(
                    "hyperv_replica_in_use",
                    f"VM {vm['name']} already replicates with Hyper-V Replica to {replication.get('replica_server') or 'another server'} "
                    f"(mode {replication.get('mode')}): Azure Migrate cannot replicate it until that is removed",
                )
            )
    if facts["vms"] and raw_volumes:
        free_by_volume = {volume["name"]: volume["free_bytes"] for volume in raw_volumes}
        for volume_name, disks in disks_by_volume(facts["vms"], raw_volumes).items():
            sized = [disk for disk in disks if disk["size_bytes"] is not None]
            free_bytes = free_by_volume[volume_name]
            if not sized or free_bytes is None:
                continue
            largest = max(sized, key=lambda disk: disk["size_bytes"])
            if free_bytes < largest["size_bytes"]:
                # Initial replication can need up to 100 % of a VHD's size for its snapshot and .hrl logs
                # (learn.microsoft.com/azure/site-recovery/site-recovery-hyper-v-deployment-planner-analyze-report).
                findings.append(
                    readiness_item(
                        "low_disk_space",
                        f"volume {volume_name} has {format_gib(free_bytes)} free, less than the {format_gib(largest['size_bytes'])} of "
                        f"{largest['path']} (VM {largest['vm']}): initial replication can need up to the full size of a VHD",
                    )
                )
    return findings


def normalise_host_facts(raw: dict[str, t.Any]) -> dict[str, t.Any]:
    """host_info's return values from the raw host_info/1 document (see RETURN in plugins/modules/host_info.py)."""
    services = raw["services"] or {}
    tls = raw["tls"] or {}
    registry = raw["replication_registry"] or {}
    registration = raw["registration"]
    cluster = raw["cluster"]
    raw_vms = raw["vms"]
    raw_volumes = raw["volumes"]
    vms = None if raw_vms is None else [normalise_vm(vm) for vm in raw_vms]

    volumes = None
    if raw_volumes is not None:
        # The script lists only volumes that hold VM disks; matching again keeps that true whatever it sent.
        holding = set(disks_by_volume(vms or [], raw_volumes))
        volumes = [
            {"name": volume["name"], "size_bytes": volume["size_bytes"], "free_bytes": volume["free_bytes"]}
            for volume in raw_volumes
            if volume["name"] in holding
        ]

    facts = {
        "computer_name": raw["computer_name"],
        "os": normalise_os(raw),
        "hyperv_role": bool(raw["hyperv_role"]),
        "dotnet": {"release": raw["dotnet_release"], "version": dotnet_version_name(raw["dotnet_release"])},
        # Absent counts as off: the KB's fix is to set the value to 1 explicitly (KB 4033999).
        "tls": {"strong_crypto_64": tls.get("strong_crypto_64") == 1, "strong_crypto_32": tls.get("strong_crypto_32") == 1},
        "cluster": None if cluster is None else {
            "name": cluster["name"],
            "nodes": [{"name": node["name"], "state": node["state"], "id": node["id"]} for node in cluster["nodes"] or []],
        },
        "provider": {**normalise_component(raw["provider"], services, "dra"), "dra_id": (raw["provider"] or {}).get("dra_id")},
        "agent": normalise_component(raw["agent"], services, "obengine"),
        "registration": None if registration is None else {
            "vault_name": registration["vault_name"],
            "resource_group": registration["resource_group"],
            "subscription_id": registration["subscription_id"],
            "location": registration["vault_location"],
            "site_name": registration["site_name"],
            "container_id": registration["container_id"],
        },
        "upload_threads": threads(registry.get("UploadThreadsPerVM")),
        "download_threads": threads(registry.get("DownloadThreadsPerVM")),
        "throttle": normalise_throttle(raw["throttle"]),
        "vms": vms,
        "volumes": volumes,
    }
    facts["readiness"] = {"blocking": blocking_findings(facts), "warnings": warning_findings(facts, raw_volumes)}
    return facts
