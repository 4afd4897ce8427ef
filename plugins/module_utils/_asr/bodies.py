# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The request bodies the modules send, and the settings differences that decide them. Pure: no SDK, no I/O.

``enable_input`` (enable replication: PUT of a protected item), ``update_input`` (PATCH of its target settings,
from ``desired_settings`` and ``settings_changes``), ``policy_input`` (a replication policy) and
``log_storage_body`` (the cache storage account). Shapes: the Site Recovery REST API's HyperVReplicaAzure inputs.
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import (
    arm_id,
    lowered,
    properties_of,
    provider_details,
    resource_group_id,
    same_id,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import PROVIDER
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import (
    _first_ip_config,
    primary_nic,
    target_settings,
    vm_nics,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import enable_os_type
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import POLICY_FIELDS


def protectable_disks(protectable):
    """[{vhd_id, name, type, size_mb}] of a discovered VM (customDetails.diskDetails, SDK HyperVVirtualMachineDetails)."""
    custom = properties_of(protectable).get("customDetails") or {}
    return [{"vhd_id": disk.get("vhdId"), "name": disk.get("vhdName"), "type": disk.get("vhdType"),
             "size_mb": disk.get("maxSizeMB")} for disk in custom.get("diskDetails") or []]


def _disk_key(wanted):
    """A disk given by path (as host_info reports it) is matched by its file name without extension."""
    text = (wanted or "").replace("/", "\\")
    if "\\" in text:
        text = text.rsplit("\\", 1)[-1]
        text = text.rsplit(".", 1)[0] if "." in text else text
    return lowered(text)


def _disk_matching(disks, wanted):
    for disk in disks:
        if _disk_key(wanted) in (lowered(disk["vhd_id"]), lowered(disk["name"])):
            return disk
    return None


def resolve_disks(protectable, options):
    """(os_disk, included disks, {vhd_id: disk type}, problems) for a discovered VM.

    The OS disk is ``os_disk`` (a disk name, vhdId or path), the disk Azure reports as
    ``OperatingSystem``, or the VM's only disk. Discovery reports every disk as ``Data``
    (enable_managed_disks.json entry 9), and its list order says nothing about which disk boots, so a
    VM with several disks and no ``os_disk`` is refused with its disks named: Azure PowerShell and
    Terraform make the OS disk mandatory too. The OS disk is always included.
    """
    disks = protectable_disks(protectable)
    names = ", ".join(f"{d['name']} ({d['vhd_id']})" for d in disks) or "none"
    problems = []
    if options.get("os_disk"):
        os_disk = _disk_matching(disks, options["os_disk"])
        if os_disk is None:
            problems.append(f"os_disk is {options['os_disk']!r}; it must be one of the VM's disks: {names}")
    else:
        os_disk = next((d for d in disks if d["type"] == "OperatingSystem"), disks[0] if len(disks) == 1 else None)
        if not disks:
            problems.append("the VM reports no disks: give os_disk")
        elif os_disk is None:
            problems.append("os_disk is not given and the VM has %d disks (%s), which Azure all reports as data "
                            "disks: give os_disk, the disk the VM boots from (azmigrate.hyperv.host_info reports it "
                            "as boot_disk)" % (len(disks), names))
    included = []
    for wanted in options.get("disks") or [d["vhd_id"] for d in disks]:
        disk = _disk_matching(disks, wanted)
        if disk is None:
            problems.append(f"disks names {wanted!r}; it must be one of the VM's disks: {names}")
        elif disk not in included:
            included.append(disk)
    if os_disk is not None and os_disk not in included:
        included.insert(0, os_disk)
    disk_types = {}
    for wanted, disk_type in sorted((options.get("disk_types") or {}).items()):
        disk = _disk_matching(disks, wanted)
        if disk is None:
            problems.append(f"disk_types names {wanted!r}; it must be one of the VM's disks: {names}")
        elif disk not in included:
            problems.append(f"disk_types names {wanted!r}, which is not among the disks to replicate")
        else:
            disk_types[disk["vhd_id"]] = disk_type
    return os_disk, included, disk_types, problems


def enable_input(protectable, policy_id, options, subscription_id):
    """The enable-replication PUT body (SDK HyperVReplicaAzureEnableProtectionInput).

    Flags are strings as the service and PowerShell send them (``useManagedDisksForReplication: "true"``,
    enable_managed_disks.json entry 10).
    """
    os_disk, included, disk_types, _problems = resolve_disks(protectable, options)
    properties = properties_of(protectable)
    custom = properties.get("customDetails") or {}
    group = options["target_resource_group"]
    details = {
        "instanceType": PROVIDER,
        "hvHostVmId": custom.get("sourceItemId") or protectable.get("name"),
        "vmName": properties.get("friendlyName"),
        "osType": enable_os_type(protectable, options)[0],
        "vhdId": os_disk["vhd_id"],
        "targetAzureVmName": options.get("target_vm_name") or properties.get("friendlyName"),
        "targetAzureV2ResourceGroupId": resource_group_id(subscription_id, group),
        "useManagedDisks": "true",
    }
    if options.get("managed_disk_replication", True):
        default_type = options.get("disk_type") or "Standard_LRS"
        details["useManagedDisksForReplication"] = "true"
        details["diskType"] = default_type
        per_disk = []
        for disk in included:
            # Per disk as Azure PowerShell sends it (HyperVReplicaAzureDiskInputDetails).
            entry = {"diskId": disk["vhd_id"], "diskType": disk_types.get(disk["vhd_id"], default_type)}
            for option, field in (("log_storage_account_id", "logStorageAccountId"),
                                  ("disk_encryption_set_id", "diskEncryptionSetId")):
                if options.get(option):
                    entry[field] = options[option]
            per_disk.append(entry)
        details["disksToIncludeForManagedDisks"] = per_disk
        if options.get("disk_encryption_set_id"):
            details["diskEncryptionSetId"] = options["disk_encryption_set_id"]
    else:
        details["targetStorageAccountId"] = options["target_storage_account_id"]
        details["disksToInclude"] = [disk["vhd_id"] for disk in included]
    if options.get("log_storage_account_id"):
        details["logStorageAccountId"] = options["log_storage_account_id"]
    if options.get("target_network"):
        details["targetAzureNetworkId"] = arm_id(subscription_id, group, "Microsoft.Network/virtualNetworks",
                                                 options["target_network"])
    if options.get("target_subnet"):
        # PowerShell puts the subnet *name* in targetAzureSubnetId (RecoveryAzureSubnetName, Azure/azure-powershell).
        details["targetAzureSubnetId"] = options["target_subnet"]
    optional = (("target_vm_size", "targetVmSize"), ("availability_zone", "targetAvailabilityZone"),
                ("availability_set_id", "targetAvailabilitySetId"), ("license_type", "licenseType"),
                ("sql_server_license_type", "sqlServerLicenseType"), ("tags", "targetVmTags"),
                ("proximity_placement_group_id", "targetProximityPlacementGroupId"))
    for option, field in optional:
        if options.get(option) not in (None, ""):
            details[field] = options[option]
    # Tag policies ("require a tag") apply to the seed disks EnableDr creates and to the disks and NICs of the
    # migrated VM too: those default to the VM's tags.
    for option, field in (("seed_disk_tags", "seedManagedDiskTags"), ("disk_tags", "targetManagedDiskTags"),
                          ("nic_tags", "targetNicTags")):
        tags = options.get(option) if options.get(option) is not None else options.get("tags")
        if tags and (field != "seedManagedDiskTags" or options.get("managed_disk_replication", True)):
            details[field] = tags
    return {"properties": {"policyId": policy_id, "protectableItemId": protectable.get("id"),
                           "providerSpecificDetails": details}}


# Settings the PATCH can change (SDK UpdateReplicationProtectedItemInput), by option name.
UPDATABLE = ("target_vm_name", "target_vm_size", "target_resource_group", "target_network", "target_subnet",
             "license_type", "sql_server_license_type", "availability_zone", "availability_set_id",
             "proximity_placement_group_id", "tags", "disk_tags", "nic_tags")


_TAG_OPTIONS = ("tags", "disk_tags", "nic_tags")
_ID_OPTIONS = ("target_resource_group", "target_network", "availability_set_id", "proximity_placement_group_id")


def desired_settings(options, subscription_id, current_group=None):
    """The updatable settings the task gives (None = keep), in the service's form (ids, not names).

    A network given by name is looked up in ``target_resource_group``, else in ``current_group`` (the
    item's target resource group, as Azure PowerShell keeps it when not given); raises ValueError when
    there is neither, rather than build an id with no resource group.
    """
    group = options.get("target_resource_group") or current_group
    desired = dict((option, options.get(option)) for option in UPDATABLE)
    if options.get("target_resource_group"):
        desired["target_resource_group"] = resource_group_id(subscription_id, options["target_resource_group"])
    if options.get("target_network"):
        if not group and not options["target_network"].startswith("/"):
            raise ValueError("target_network %r is a name, but target_resource_group is not given: give "
                             "target_resource_group or the network's ARM id" % options["target_network"])
        desired["target_network"] = arm_id(subscription_id, group, "Microsoft.Network/virtualNetworks",
                                           options["target_network"])
    for option in ("disk_tags", "nic_tags"):   # default to the VM's tags, as when enabling
        if desired[option] is None:
            desired[option] = options.get("tags")
    return desired


def _same(option, current, wanted):
    if option in _TAG_OPTIONS:
        return (current or {}) == (wanted or {})
    if option in _ID_OPTIONS:
        return same_id(current, wanted)
    if option in ("target_vm_name", "target_subnet"):
        return lowered(current) == lowered(wanted)
    return current == wanted


def settings_changes(current, desired):
    """{option: (before, after)} for the given desired settings that differ from ``current``."""
    changes = {}
    for option in UPDATABLE:
        wanted = desired.get(option)
        if wanted is None:
            continue
        if option in ("license_type", "sql_server_license_type") and wanted == "NotSpecified" and not current.get(option):
            continue
        if not _same(option, current.get(option), wanted):
            changes[option] = (current.get(option), wanted)
    return changes


def immutable_changes(item, options, protectable=None):
    """Messages for settings the task gives that differ from the item's and can't change once replication runs.

    The SDK has no Hyper-V add/remove-disks input (its AddDisks/RemoveDisks inputs are A2A and InMageRcm
    only), and the replication target (storage account or managed disks) and disk types are fixed at
    enable time.
    """
    current = target_settings(item)
    details = provider_details(item)
    problems = []
    managed_now = details.get("recoveryAzureStorageAccount") in (None, "")
    if options.get("managed_disk_replication") is not None and bool(options["managed_disk_replication"]) != managed_now \
            and (options.get("target_storage_account_id") or not options["managed_disk_replication"]):
        problems.append("managed_disk_replication is %s but the VM replicates to %s" % (
            options["managed_disk_replication"], "managed disks" if managed_now else "a storage account"))
    storage = options.get("target_storage_account_id")
    if storage and not managed_now and not same_id(storage, current["target_storage_account_id"]):
        problems.append(f"target_storage_account_id is {storage!r} but the VM replicates to {current['target_storage_account_id']!r}")
    if options.get("policy") and lowered(options["policy"]) != lowered(current["policy"]):
        problems.append(f"policy is {options['policy']!r} but the VM replicates with policy {current['policy']!r}")
    if protectable is not None:
        # A disk, OS disk or disk type naming a disk the VM does not have is as wrong here as at enable time.
        disk_problems = [problem for problem in resolve_disks(protectable, options)[3]
                         if problem.startswith(("disks names", "disk_types names", "os_disk is '", 'os_disk is "'))]
        if disk_problems:
            return disk_problems
    if protectable is not None and current["disks"]:
        _os_disk, included, disk_types, _problems = resolve_disks(protectable, options)
        replicated = set(lowered(disk) for disk in current["disks"])
        missing = [disk["name"] for disk in included if lowered(disk["vhd_id"]) not in replicated]
        if options.get("disks") and missing:
            problems.append(f"disks includes {', '.join(missing)}, which the VM does not replicate")
        known_types = dict((lowered(key), value) for key, value in current["disk_types"].items())
        for vhd_id, disk_type in sorted(disk_types.items()):
            if known_types and known_types.get(lowered(vhd_id)) not in (None, disk_type):
                problems.append(f"disk_types sets disk {vhd_id} to {disk_type} but it replicates as {known_types[lowered(vhd_id)]}")
    if problems:
        problems.append("these can't change after replication is enabled: disable it (state=absent) and enable it again")
    return problems


def _nic_input(nic, subnet=None, selection_type=None):
    """One VMNicInputDetails from a NIC of the item (VMNicDetails), repeating what the item has; ``subnet`` and
    ``selection_type`` replace the NIC's own."""
    config = _first_ip_config(nic)
    ip_config = {"isPrimary": config.get("isPrimary", True) is not False,
                 "isSeletedForFailover": config.get("isSeletedForFailover", True) is not False,
                 "recoverySubnetName": subnet or config.get("recoverySubnetName") or "",
                 "recoveryStaticIPAddress": config.get("recoveryStaticIPAddress") or "",
                 "recoveryPublicIPAddressId": config.get("recoveryPublicIPAddressId") or "",
                 "recoveryLBBackendAddressPoolIds": config.get("recoveryLBBackendAddressPoolIds") or []}
    for field in ("tfoSubnetName", "tfoStaticIPAddress", "tfoPublicIPAddressId"):
        if config.get(field):
            ip_config[field] = config[field]
    if config.get("tfoLBBackendAddressPoolIds"):
        ip_config["tfoLBBackendAddressPoolIds"] = config["tfoLBBackendAddressPoolIds"]
    body = {"nicId": nic["nicId"], "ipConfigs": [ip_config],
            "selectionType": selection_type or nic.get("selectionType") or "SelectedByDefault",
            "recoveryNetworkSecurityGroupId": nic.get("recoveryNetworkSecurityGroupId") or ""}
    for field in ("enableAcceleratedNetworkingOnRecovery", "enableAcceleratedNetworkingOnTfo", "reuseExistingNic",
                  "tfoReuseExistingNic"):
        if nic.get(field) is not None:
            body[field] = bool(nic[field])
    for field, source in (("recoveryNicName", "recoveryNicName"), ("recoveryNicResourceGroupName", "recoveryNicResourceGroupName"),
                          ("tfoNetworkSecurityGroupId", "tfoNetworkSecurityGroupId"), ("tfoNicName", "tfoRecoveryNicName"),
                          ("tfoNicResourceGroupName", "tfoRecoveryNicResourceGroupName"), ("targetNicName", "targetNicName")):
        if nic.get(source):
            body[field] = nic[source]
    return body


def update_input(item, changes):
    """The PATCH body that applies ``changes`` ({option: (before, after)}) on top of the item's settings.

    Shaped as Azure PowerShell's Set-AzRecoveryServicesAsrReplicationProtectedItem builds it (its recorded
    UpdateRPIWithMangedDisksForReplication test in Azure/azure-powershell): every setting repeated from the
    item unless changed, and **every** NIC in ``vmNics``, each with its own selection type (PowerShell's
    getNicListToUpdate); a new subnet applies to the primary NIC (``selectedSourceNicId``), which is then selected by the user. Terraform notes that the
    service refuses the update without a NIC.
    """
    settings = target_settings(item)
    for option, (_before, after) in changes.items():
        settings[option] = after
    details = provider_details(item)
    primary = primary_nic(item)
    subnet_changed = "target_subnet" in changes or "target_network" in changes
    disk_encryption = dict((disk.get("vhdId"), disk.get("diskEncryptionSetId"))
                           for disk in details.get("azureVmDiskDetails") or [] if disk.get("diskEncryptionSetId"))
    provider = {
        "instanceType": PROVIDER,
        "recoveryAzureV2ResourceGroupId": settings["target_resource_group"],
        "useManagedDisks": details.get("useManagedDisks") or "true",
        "targetAvailabilityZone": settings["availability_zone"] or "",
        "targetProximityPlacementGroupId": settings["proximity_placement_group_id"] or "",
        "targetVmTags": settings["tags"] or {},
        "targetManagedDiskTags": settings["disk_tags"] or {},
        "targetNicTags": settings["nic_tags"] or {},
        "sqlServerLicenseType": settings["sql_server_license_type"] or "NotSpecified",
    }
    for field in ("linuxLicenseType", "targetCapacityReservationGroupId"):
        if details.get(field) not in (None, "", "NotSpecified"):
            provider[field] = details[field]
    user_os = (details.get("oSDetails") or details.get("osDetails") or {}).get("userSelectedOSName")
    if user_os:
        provider["userSelectedOSName"] = user_os
    if disk_encryption:
        provider["diskIdToDiskEncryptionMap"] = disk_encryption
    properties = {
        "recoveryAzureVMName": settings["target_vm_name"],
        "recoveryAzureVMSize": settings["target_vm_size"],
        "selectedRecoveryAzureNetworkId": settings["target_network"] or "",
        "selectedTfoAzureNetworkId": details.get("selectedTfoAzureNetworkId") or "",
        "licenseType": settings["license_type"] or "NotSpecified",
        "recoveryAvailabilitySetId": settings["availability_set_id"] or "",
        "providerSpecificDetails": provider,
    }
    nics = vm_nics(item)
    if nics:
        properties["selectedSourceNicId"] = primary.get("nicId")
        properties["vmNics"] = [
            _nic_input(nic, settings["target_subnet"], "SelectedByUser") if nic is primary and subnet_changed
            else _nic_input(nic) for nic in nics]
    return {"properties": properties}


def merged_tags(current, wanted):
    """The tags after adding ``wanted`` to ``current``, or None when nothing changes."""
    if not wanted:
        return None
    merged = dict(current or {})
    merged.update(wanted)
    return merged if merged != (current or {}) else None


def policy_input(settings):
    """HyperVReplicaAzurePolicyInput JSON for settings by option name (all three given)."""
    body = {"instanceType": PROVIDER}
    for option, fields in POLICY_FIELDS.items():
        body[fields[1]] = settings[option]
    return body


def log_storage_body(location, sku, tags):
    """A new account as the portal makes Site Recovery's cache account: StorageV2, TLS 1.2, no public blob access."""
    return {"location": location, "sku": {"name": sku}, "kind": "StorageV2", "tags": tags or {},
            "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
                           "supportsHttpsTrafficOnly": True}}
