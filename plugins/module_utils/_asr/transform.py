# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Site Recovery answers and Azure VMs as plain, stable dicts. Pure: no SDK, no I/O.

Replicated items (``normalize_item``, ``filter_items``, ``summarize``), an item's target settings
(``target_settings``, ``azure_vm_id``, ``test_vm_name``) and an Azure VM with its disks and NICs
(``vm_summary``, ``vm_problems``, ``disk_sku_changes``). The service's field names changed between api-versions
(``azureVMDiskDetails`` in 2017, ``azureVmDiskDetails`` in 2024; ``replicationHealthErrors`` then
``healthErrors``), so each field is read under every name it had.
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import (
    lowered,
    name_in_id,
    properties_of,
    provider_details,
    same_id,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import STATES
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import (
    current_operation,
    failure,
    health_errors,
    lifecycle_state,
)


def _first(mapping, *keys):
    """The first present, non-null value among keys that differ only by api-version casing."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _int(value):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _disks(details):
    disks = _first(details, "azureVmDiskDetails", "azureVMDiskDetails") or []
    return [{"vhd_id": disk.get("vhdId"), "name": disk.get("vhdName"), "type": disk.get("vhdType"),
             "size_mb": _int(disk.get("maxSizeMB")), "lun": _int(disk.get("lunId"))} for disk in disks]


def _seed_disks(details):
    # Populated in the single GET, empty in the list view (asr-recordings README, "Differences" 4).
    return [{"disk_id": disk.get("diskId"), "seed_managed_disk_id": disk.get("seedManagedDiskId"),
             "replica_disk_type": disk.get("replicaDiskType"),
             "target_disk_type": disk.get("targetDiskAccountType")}
            for disk in details.get("protectedManagedDisks") or []]


def _initial_replication(details, state):
    ir = details.get("initialReplicationDetails") or {}
    reported = _int(ir.get("initialReplicationProgressPercentage"))
    completed = state not in ("enabling", "initial_replication", "failed")
    # The service keeps reporting "0" after the first copy finished (observed in
    # Azure PowerShell's recorded UpdateRPIWithMangedDisksForReplication test, on a Protected item), so a
    # completed copy is 100 whatever the field says.
    return {"type": ir.get("initialReplicationType"), "completed": completed,
            "progress_percent": 100 if completed else reported}


def normalize_item(item, hosts_by_provider=None):
    """One replicated VM as a flat dict (the element of replication_info's ``vms``).

    ``hosts_by_provider`` maps a provider's ARM id (any casing) to its host's name; without it,
    ``host`` is None.
    """
    properties = properties_of(item)
    details = provider_details(item)
    state = lifecycle_state(item)
    provider_id = properties.get("recoveryServicesProviderId")
    hosts = dict(((key or "").lower(), value) for key, value in (hosts_by_provider or {}).items())
    item_id = item.get("id")
    use_managed = details.get("useManagedDisks")
    return {
        "name": item.get("name"), "id": item_id,
        "vm_name": properties.get("friendlyName"),
        "vm_id": details.get("vmId") or item.get("name"),
        "host": hosts.get((provider_id or "").lower()),
        "site": name_in_id(item_id, "replicationFabrics"),
        "container": name_in_id(item_id, "replicationProtectionContainers"),
        "policy": properties.get("policyFriendlyName") or name_in_id(properties.get("policyId"), "replicationPolicies"),
        "state": state,
        "protection_state": properties.get("protectionState"),
        "protection_state_description": properties.get("protectionStateDescription"),
        "health": properties.get("replicationHealth"),
        "failover_health": properties.get("failoverHealth"),
        "errors": health_errors(item),
        "initial_replication": _initial_replication(details, state),
        "rpo_seconds": _int(details.get("rpoInSeconds")),
        "last_replication_time": details.get("lastReplicatedTime"),
        "last_recovery_point_time": details.get("lastRecoveryPointReceived"),
        "active_location": properties.get("activeLocation"),
        "test_failover": {"state": properties.get("testFailoverState"),
                          "description": properties.get("testFailoverStateDescription"),
                          "last_success_time": properties.get("lastSuccessfulTestFailoverTime")},
        "last_failover_time": properties.get("lastSuccessfulFailoverTime"),
        "current_operation": current_operation(item),
        "failure": failure(item),
        "allowed_operations": list(properties.get("allowedOperations") or []),
        "disks": _disks(details),
        "seed_disks": _seed_disks(details),
        "target": {
            "vm_name": _first(details, "recoveryAzureVmName", "recoveryAzureVMName"),
            "vm_size": details.get("recoveryAzureVMSize"),
            "resource_group_id": details.get("recoveryAzureResourceGroupId") or None,
            "network_id": details.get("selectedRecoveryAzureNetworkId") or None,
            "storage_account_id": details.get("recoveryAzureStorageAccount") or None,
            "log_storage_account_id": details.get("recoveryAzureLogStorageAccountId") or None,
            # A string "true"/"false" in every recording.
            "use_managed_disks": str(use_managed).lower() == "true" if use_managed is not None else None,
        },
    }


def _short(name):
    return (name or "").split(".")[0].lower()


def filter_items(vms, names=None, hosts=None, health=None, states=None):
    """The normalised VMs matching every given filter (each a list; empty or None = any).

    names: VM name, item name or VM id, case-insensitive. hosts: host FQDN or its first label.
    health: replicationHealth values. states: STATES values.
    """
    wanted_names = set(name.lower() for name in names or [])
    wanted_hosts = set(_short(host) for host in hosts or [])
    wanted_health = set(value.lower() for value in health or [])
    wanted_states = set(states or [])
    out = []
    for vm in vms:
        if wanted_names and not wanted_names & set((value or "").lower() for value in (vm["vm_name"], vm["name"], vm["vm_id"])):
            continue
        if wanted_hosts and _short(vm["host"]) not in wanted_hosts:
            continue
        if wanted_health and (vm["health"] or "None").lower() not in wanted_health:
            continue
        if wanted_states and vm["state"] not in wanted_states:
            continue
        out.append(vm)
    return out


def summarize(vms):
    """Counts: {total, by_state: {state: n}, by_health: {health: n}, with_errors: n}; every state key present."""
    by_state = dict((state, 0) for state in STATES)
    by_health = {}
    with_errors = 0
    for vm in vms:
        by_state[vm["state"]] = by_state.get(vm["state"], 0) + 1
        health = vm["health"] or "None"
        by_health[health] = by_health.get(health, 0) + 1
        with_errors += 1 if vm["errors"] else 0
    return {"total": len(vms), "by_state": by_state, "by_health": by_health, "with_errors": with_errors}


def vm_nics(item):
    """The item's NICs (vmNics), as the service lists them."""
    return list(provider_details(item).get("vmNics") or [])


def primary_nic(item):
    """The NIC the target network and subnet apply to: the item's selected source NIC, else its first NIC."""
    nics = vm_nics(item)
    selected = provider_details(item).get("selectedSourceNicId")
    return next((nic for nic in nics if selected and nic.get("nicId") == selected), nics[0] if nics else {})


def _first_ip_config(nic):
    """The NIC's (first) IP configuration; older API versions put its fields on the NIC itself (recovery VM subnet
    name, replica NIC static IP address), as the 2017 recordings show."""
    configs = nic.get("ipConfigs")
    if configs:
        return configs[0]
    return {"recoverySubnetName": nic.get("recoveryVMSubnetName"),
            "recoveryStaticIPAddress": nic.get("replicaNicStaticIPAddress"),
            "recoveryPublicIPAddressId": nic.get("recoveryPublicIpAddressId"),
            "recoveryLBBackendAddressPoolIds": nic.get("recoveryLBBackendAddressPoolIds")} if nic else {}


def target_settings(item):
    """The item's target settings by option name (unset ones as None; ids as the service wrote them)."""
    details = provider_details(item)
    config = _first_ip_config(primary_nic(item))
    disks = details.get("azureVmDiskDetails") or details.get("azureVMDiskDetails") or []
    managed = details.get("protectedManagedDisks") or []
    return {
        "target_vm_name": details.get("recoveryAzureVmName") or details.get("recoveryAzureVMName") or None,
        "target_vm_size": details.get("recoveryAzureVMSize") or None,
        "target_resource_group": details.get("recoveryAzureResourceGroupId") or None,
        "target_network": details.get("selectedRecoveryAzureNetworkId") or None,
        "target_subnet": config.get("recoverySubnetName") or None,
        "license_type": details.get("licenseType") or None,
        "sql_server_license_type": details.get("sqlServerLicenseType") or None,
        "availability_zone": details.get("targetAvailabilityZone") or None,
        "availability_set_id": details.get("recoveryAvailabilitySetId") or None,
        "proximity_placement_group_id": details.get("targetProximityPlacementGroupId") or None,
        "tags": details.get("targetVmTags") or {},
        "disk_tags": details.get("targetManagedDiskTags") or {},
        "nic_tags": details.get("targetNicTags") or {},
        "target_storage_account_id": details.get("recoveryAzureStorageAccount") or None,
        "log_storage_account_id": details.get("recoveryAzureLogStorageAccountId") or None,
        "policy": properties_of(item).get("policyFriendlyName"),
        "disks": [disk.get("vhdId") for disk in disks],
        "disk_types": dict((disk.get("diskId"), disk.get("targetDiskAccountType") or disk.get("replicaDiskType"))
                           for disk in managed),
    }


def azure_vm_id(item):
    """The ARM id of the Azure VM a failover creates or created: target group + target VM name
    (HyperVReplicaAzure ``recoveryAzureResourceGroupId`` and ``recoveryAzureVmName``, SDK HyperVReplicaAzureReplicationDetails)."""
    settings = target_settings(item)
    if not settings["target_resource_group"] or not settings["target_vm_name"]:
        return None
    return "%s/providers/Microsoft.Compute/virtualMachines/%s" % (settings["target_resource_group"].rstrip("/"),
                                                                  settings["target_vm_name"])


def test_vm_name(item, job=None):
    """The test VM's name: the job's ``testVmName`` (test_failover.json: "hyperV1-test"), else the target
    name with the "-test" suffix the service adds (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v)."""
    custom = properties_of(job).get("customDetails") or {}
    for detail in custom.get("protectedItemDetails") or []:
        if detail.get("testVmName"):
            return detail["testVmName"]
    name = target_settings(item)["target_vm_name"] or properties_of(item).get("friendlyName")
    return f"{name}-test" if name else None


def _status(statuses, prefix):
    for status in statuses or []:
        code = status.get("code") or ""
        if code.startswith(f"{prefix}/"):
            return code.split("/", 1)[1]
    return None


def vm_summary(vm, disks_by_id, nics_by_id):
    """The Azure VM as modules return it (REST JSON of a VM with its instance view, and of its disks and NICs).

    {id, name, resource_group, location, size, provisioning_state, power_state, tags, disks: [{name, id, lun,
    os_disk, sku, size_gb, state}], nics: [{name, id, primary, private_ip, subnet_id}]}.
    """
    properties = properties_of(vm)
    storage = properties.get("storageProfile") or {}
    view = properties.get("instanceView") or {}
    references = [dict(storage.get("osDisk") or {}, lun=None, os_disk=True)]
    references += [dict(disk, os_disk=False) for disk in storage.get("dataDisks") or []]
    disks = []
    for reference in references:
        managed = reference.get("managedDisk") or {}
        disk = next((value for key, value in disks_by_id.items() if same_id(key, managed.get("id"))), None) or {}
        disks.append({"name": reference.get("name"), "id": managed.get("id"), "lun": reference.get("lun"),
                      "os_disk": reference["os_disk"], "managed": bool(managed.get("id")),
                      "sku": (disk.get("sku") or {}).get("name") or managed.get("storageAccountType"),
                      "size_gb": properties_of(disk).get("diskSizeGB") or reference.get("diskSizeGB"),
                      "state": properties_of(disk).get("diskState")})
    nics = []
    for reference in (properties.get("networkProfile") or {}).get("networkInterfaces") or []:
        nic = next((value for key, value in nics_by_id.items() if same_id(key, reference.get("id"))), None) or {}
        config = ((properties_of(nic).get("ipConfigurations") or [{}])[0]).get("properties") or {}
        nics.append({"name": nic.get("name") or (reference.get("id") or "").rsplit("/", 1)[-1], "id": reference.get("id"),
                     "primary": bool((reference.get("properties") or {}).get("primary", len(nics) == 0)),
                     "private_ip": config.get("privateIPAddress"), "subnet_id": (config.get("subnet") or {}).get("id")})
    return {
        "id": vm.get("id"), "name": vm.get("name"), "resource_group": name_in_id(vm.get("id"), "resourceGroups"),
        "location": vm.get("location"), "size": (properties.get("hardwareProfile") or {}).get("vmSize"),
        "provisioning_state": properties.get("provisioningState") or _status(view.get("statuses"), "ProvisioningState"),
        "power_state": _status(view.get("statuses"), "PowerState"), "tags": vm.get("tags") or {},
        "disks": disks, "nics": nics,
    }


def vm_problems(summary, expect_running=True):
    """What is wrong with a migrated VM (empty when it is fine): provisioning, power, unmanaged disks, no NIC."""
    problems = []
    if lowered(summary["provisioning_state"]) != "succeeded":
        problems.append(f"provisioning state is {summary['provisioning_state']}")
    if expect_running and summary["power_state"] != "running":
        problems.append(f"power state is {summary['power_state']}, not running")
    unmanaged = [disk["name"] for disk in summary["disks"] if not disk["managed"]]
    if unmanaged:
        problems.append(f"disks without a managed disk: {', '.join(unmanaged)}")
    if not summary["nics"]:
        problems.append("no network interface")
    return problems


def disk_sku_changes(summary, sku):
    """[(disk id, before, after)] for the VM's disks whose SKU is not ``sku``."""
    if not sku:
        return []
    return [(disk["id"], disk["sku"], sku) for disk in summary["disks"] if disk["managed"] and disk["sku"] != sku]
