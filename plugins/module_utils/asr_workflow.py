# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the replication, test_migration and migration modules do next. Pure: no SDK, no I/O.

Inputs are REST JSON (protected items, protectable items, jobs) as ``asr_api`` returns them.
The next step comes from ``allowedOperations``, ``activeLocation``, ``currentScenario`` and job
state, never from ``protectionState`` text (the spec's examples and the live service's strings
differ: tests/fixtures/asr-recordings/README.md, Azure/reliability-workbook#130).

The API:

- enable: ``validate_enable_options``, ``enable_requirements``, ``find_protectable``, ``resolve_disks``,
  ``enable_os_type``, ``vm_name_problem``, ``enable_input``;
- update: ``target_settings``, ``settings_changes``, ``immutable_changes``, ``update_input``;
- steps: ``running_job``, ``test_failover_step``, ``migration_step``, ``migration_plan``;
- ids: ``arm_id``, ``resource_group_id``, ``is_guid``.
"""

import re

from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_items import (
    FAILED_JOB_STATES,
    current_operation,
    failure,
    scenario_running,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_names import NAME_RULES

PROVIDER = "HyperVReplicaAzure"
DISK_TYPES = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "PremiumV2_LRS", "UltraSSD_LRS",
              "StandardSSD_ZRS", "Premium_ZRS")
LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "WindowsServer")
SQL_LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "PAYG", "AHUB")
MIGRATION_STATES = ("failed_over", "committed", "completed")
FAILOVER_OPERATIONS = ("PlannedFailover", "UnplannedFailover", "TestFailover")
# Disk types whose IOPS and throughput must be given per disk; the module does not expose those yet.
PERFORMANCE_DISK_TYPES = ("PremiumV2_LRS", "UltraSSD_LRS")
OS_TYPES = ("Windows", "Linux")
# Target VM names: 1-63 letters, digits and hyphens (Azure Migrate's Hyper-V support matrix).
_VM_NAME = NAME_RULES["vm"][0]   # 1-63 letters, digits and hyphens, not starting or ending with a hyphen
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")


def _properties(resource):
    return (resource or {}).get("properties") or {}


def _details(item):
    return _properties(item).get("providerSpecificDetails") or {}


def is_guid(text):
    return bool(_GUID.match(text or ""))


def _lower(text):
    return (text or "").lower()


def same_id(left, right):
    """ARM ids compare case-insensitively: ASR writes /Subscriptions/ (Azure/azure-sdk-for-go#2824)."""
    return _lower(left).rstrip("/") == _lower(right).rstrip("/")


# --------------------------------------------------------------------------------------------------
# ids
# --------------------------------------------------------------------------------------------------

def resource_group_id(subscription_id, group):
    """``group`` as an ARM id: a name, or an id already (returned unchanged)."""
    if (group or "").startswith("/"):
        return group
    return "/subscriptions/%s/resourceGroups/%s" % (subscription_id, group)


def arm_id(subscription_id, group, resource_type, name):
    """``name`` as the ARM id of a ``resource_type`` ("Microsoft.Network/virtualNetworks") in ``group``;
    a value that already is an id (starts with "/") is returned unchanged."""
    if not name or name.startswith("/"):
        return name
    return "%s/providers/%s/%s" % (resource_group_id(subscription_id, group), resource_type, name)


def name_in_id(resource_id, collection):
    parts = (resource_id or "").split("/")
    lowered = [part.lower() for part in parts]
    if collection.lower() in lowered and lowered.index(collection.lower()) + 1 < len(parts):
        return parts[lowered.index(collection.lower()) + 1]
    return None


def _id_problem(option, value, resource_type):
    """A message when ``value`` is an id that is not of ``resource_type``; names are accepted as they are."""
    if not value or not value.startswith("/"):
        return None
    if not value.lower().startswith("/subscriptions/") or ("/providers/%s/" % resource_type).lower() not in value.lower():
        return ("%s is %r; it must be a name or the ARM id of a %s (/subscriptions/<id>/resourceGroups/<group>/providers/"
                "%s/<name>)" % (option, value, resource_type, resource_type))
    return None


# --------------------------------------------------------------------------------------------------
# enable: validation, VM and disk lookup, the request body
# --------------------------------------------------------------------------------------------------

def validate_enable_options(options):
    """Messages for option values and combinations the service would refuse (empty when all are fine).

    ``options``: the replication module's params. Checked before any request, so a bad task changes
    nothing; each message names the option, the value and what is allowed.
    """
    problems = []
    managed = options.get("managed_disk_replication", True)
    storage = options.get("target_storage_account_id")
    if options.get("state", "present") == "present":
        if storage and managed:
            # enable_managed_disks.json entry 14: the job fails with service error 6001 "Parameters are not
            # correct. Only one of ... storageAccountId or useManagedDisksForReplication".
            problems.append("target_storage_account_id (%r) and managed_disk_replication=true can't be used together: "
                            "Site Recovery replicates either to a storage account or to managed disks (it fails the "
                            "job with error 6001 otherwise); set managed_disk_replication=false to replicate to the "
                            "storage account" % storage)
        if not storage and not managed:
            problems.append("managed_disk_replication is false and target_storage_account_id is not given: replication "
                            "needs one of them")
        if options.get("disk_types") and not managed:
            problems.append("disk_types (%s) applies to managed-disk replication only; with a storage account the disks "
                            "are created at failover as managed disks of type disk_type" % ", ".join(sorted(options["disk_types"])))
        for disk, disk_type in sorted((options.get("disk_types") or {}).items()):
            if disk_type not in DISK_TYPES:
                problems.append("disk_types[%r] is %r; it must be one of %s" % (disk, disk_type, ", ".join(DISK_TYPES)))
        for option, value in [("disk_type", options.get("disk_type"))] + sorted(
                ("disk_types[%r]" % disk, disk_type) for disk, disk_type in (options.get("disk_types") or {}).items()):
            if value in PERFORMANCE_DISK_TYPES:
                problems.append("%s is %s: Premium SSD v2 and Ultra disks need their IOPS and throughput set per disk, "
                                "which this module does not support yet; choose one of %s" % (
                                    option, value, ", ".join(t for t in DISK_TYPES if t not in PERFORMANCE_DISK_TYPES)))
        if storage and options.get("disk_encryption_set_id"):
            problems.append("disk_encryption_set_id applies to managed-disk replication only")
    name = options.get("target_vm_name")
    if name is not None and not _VM_NAME.match(name):
        problems.append(vm_name_problem("target_vm_name", name))
    zone, availability_set = options.get("availability_zone"), options.get("availability_set_id")
    if zone is not None and zone not in ("1", "2", "3"):
        problems.append("availability_zone is %r; it must be 1, 2 or 3" % zone)
    if zone and availability_set:
        problems.append("availability_zone (%s) and availability_set_id can't be used together: a VM is either in a zone "
                        "or in an availability set" % zone)
    group = options.get("target_resource_group")
    if group and not group.startswith("/") and not _RESOURCE_GROUP.match(group):
        problems.append("target_resource_group is %r; it must be a resource group name (1 to 90 letters, digits, "
                        "'-', '_', '.', '(' and ')') or its ARM id" % group)
    for option, resource_type in (("target_network", "Microsoft.Network/virtualNetworks"),
                                  ("target_storage_account_id", "Microsoft.Storage/storageAccounts"),
                                  ("log_storage_account_id", "Microsoft.Storage/storageAccounts"),
                                  ("availability_set_id", "Microsoft.Compute/availabilitySets"),
                                  ("proximity_placement_group_id", "Microsoft.Compute/proximityPlacementGroups"),
                                  ("disk_encryption_set_id", "Microsoft.Compute/diskEncryptionSets")):
        value = options.get(option)
        if option.endswith("_id") and value and not value.startswith("/"):
            problems.append("%s is %r; it must be an ARM id (/subscriptions/<id>/resourceGroups/<group>/providers/%s/"
                            "<name>)" % (option, value, resource_type))
            continue
        problem = _id_problem(option, value, resource_type)
        if problem:
            problems.append(problem)
    for option in ("tags", "seed_disk_tags", "disk_tags", "nic_tags"):
        for key, value in sorted((options.get(option) or {}).items()):
            if not isinstance(value, str):
                problems.append("%s[%r] is %r; tag values must be strings" % (option, key, value))
    if options.get("timeout") is not None and options["timeout"] < 1:
        problems.append("timeout is %s; it must be at least 1 (seconds)" % options["timeout"])
    return problems


def enable_requirements(options):
    """Messages for options that enabling needs and the task does not give (checked once the VM is known not to
    replicate yet, before any request that changes anything)."""
    problems = []
    if not options.get("target_resource_group"):
        problems.append("target_resource_group is required to enable replication of %r" % options.get("name"))
    if options.get("target_subnet") and not options.get("target_network"):
        problems.append("target_subnet (%r) needs target_network" % options["target_subnet"])
    if options.get("managed_disk_replication", True) and not options.get("log_storage_account_id"):
        # The Recovery Services agent uploads the replication logs to this account before they are applied to the
        # seed disks; Azure PowerShell passes it with managed-disk replication (-LogStorageAccountId).
        problems.append("log_storage_account_id is required with managed_disk_replication=true: give the ARM id of a "
                        "standard general-purpose storage account in the target region, where the host uploads the "
                        "replication logs (cache) before they are applied to the managed disks")
    return problems


def enable_os_type(protectable, options):
    """(os_type, problem): the task's os_type, else the one the host reports for the discovered VM, else a problem."""
    if options.get("os_type"):
        return options["os_type"], None
    reported = ((_properties(protectable).get("customDetails") or {}).get("osDetails") or {}).get("osType")
    if reported in OS_TYPES:
        return reported, None
    return None, ("os_type is not given and Azure reports no operating system for VM %r; give os_type (%s), for "
                  "example from azmigrate.hyperv.host_info's guest_os.type" % (
                      _properties(protectable).get("friendlyName"), " or ".join(OS_TYPES)))


# Kinds of storage account Site Recovery takes as the cache (log) account: standard general-purpose v1 or v2
# (Hyper-V to Azure support matrix, "Azure storage"); premium and blob-only accounts are refused.
LOG_STORAGE_KINDS = ("StorageV2", "Storage")


def _location(document):
    return _lower(document.get("location")).replace(" ", "")


def _names(documents):
    return ", ".join(sorted(document.get("name") or "" for document in documents)) or "none"


def target_problems(wanted, found):
    """Messages for target settings that Azure does not have as the task says (empty when all exist).

    Pure: the caller reads Azure. ``wanted``: the settings being set, each None when not set or not
    changing - ``resource_group`` (id), ``group_of_vm`` (the group the VM goes to when ``resource_group`` does not
    change), ``vm_name``, ``network`` (id), ``subnets`` ([(option, subnet name)]),
    ``availability_set_id``, ``proximity_placement_group_id``, ``disk_encryption_set_id``,
    ``log_storage_account_id``. ``found``: what Azure has - ``group_vms`` (the target group's VMs, None when
    the group does not exist), ``vnet`` and ``group_vnets`` (the network and the networks of its group),
    ``availability_set``, ``proximity_placement_group``, ``disk_encryption_set``, ``log_storage_account``
    (documents or None), ``replicated_names`` ({target VM name, lowercase: the Hyper-V VM replicated under it}
    for the vault's other items).
    """
    problems = []
    group, vm_name, network_id = wanted.get("resource_group"), wanted.get("vm_name"), wanted.get("network")
    if group and found.get("group_vms") is None:
        problems.append("target_resource_group %r does not exist in the subscription: create it first" % (
            name_in_id(group, "resourceGroups") or group))
    region = _location(found["vnet"]) if found.get("vnet") else None
    if vm_name:
        taken_by = (found.get("replicated_names") or {}).get(_lower(vm_name))
        if taken_by:
            problems.append("target VM name %r is already the target name of replicated VM %r in this vault; give "
                            "another target_vm_name" % (vm_name, taken_by))
        existing = [vm.get("name") for vm in found.get("group_vms") or [] if _lower(vm.get("name")) == _lower(vm_name)]
        if existing:
            vm_group = group or wanted.get("group_of_vm")
            problems.append("target VM name %r is taken: resource group %r already has a VM %r; give another "
                            "target_vm_name" % (vm_name, name_in_id(vm_group, "resourceGroups") or vm_group, existing[0]))
    if network_id and found.get("vnet") is None:
        network_group = name_in_id(network_id, "resourceGroups")
        problems.append("target_network %r does not exist; %s" % (network_id, (
            "resource group %r has the virtual networks %s" % (network_group, _names(found["group_vnets"])))
            if found.get("group_vnets") is not None else "its resource group %r does not exist" % network_group))
    elif network_id:
        subnets = [subnet.get("name") for subnet in (_properties(found["vnet"]).get("subnets") or [])]
        for option, subnet in wanted.get("subnets") or []:
            if subnet and _lower(subnet) not in [_lower(name) for name in subnets]:
                problems.append("%s %r is not a subnet of virtual network %r, which has the subnets %s" % (
                    option, subnet, found["vnet"].get("name"), ", ".join(sorted(subnets)) or "none"))
    for option, key, what in (("availability_set_id", "availability_set", "availability set"),
                              ("proximity_placement_group_id", "proximity_placement_group", "proximity placement group"),
                              ("disk_encryption_set_id", "disk_encryption_set", "disk encryption set"),
                              ("log_storage_account_id", "log_storage_account", "storage account")):
        resource_id = wanted.get(option)
        if not resource_id:
            continue
        document = found.get(key)
        if document is None:
            problems.append("%s %r does not exist: create the %s first" % (option, resource_id, what))
        elif region and _location(document) != region:
            problems.append("%s %r is in region %s, but the target network %r is in %s: it must be in the target "
                            "region" % (option, resource_id, _location(document), found["vnet"].get("name"), region))
    account = found.get("log_storage_account") if wanted.get("log_storage_account_id") else None
    if account is not None:
        kind, tier = account.get("kind"), (account.get("sku") or {}).get("tier") or ""
        if kind not in LOG_STORAGE_KINDS or tier.lower() == "premium":
            problems.append("log_storage_account_id %r is a %s %s account; Site Recovery needs a standard "
                            "general-purpose account (kind %s, a Standard SKU) for the replication logs" % (
                                wanted["log_storage_account_id"], tier or "?", kind, " or ".join(LOG_STORAGE_KINDS)))
    return problems


def subscription_problems(wanted, subscription_id):
    """Messages for target ids (``wanted`` of target_problems) in another subscription than the vault's: Hyper-V to
    Azure replication creates the VM, its disks and NICs in the vault's subscription (Hyper-V to Azure support
    matrix), and a lookup by group and name would find a namesake in the vault's subscription instead."""
    problems = []
    for option, key in (("target_resource_group", "resource_group"), ("target_network", "network"),
                        ("availability_set_id", "availability_set_id"),
                        ("proximity_placement_group_id", "proximity_placement_group_id"),
                        ("disk_encryption_set_id", "disk_encryption_set_id"),
                        ("log_storage_account_id", "log_storage_account_id")):
        value = wanted.get(key)
        other = name_in_id(value, "subscriptions") if value else None
        if other and _lower(other) != _lower(subscription_id):
            problems.append("%s %r is in subscription %s, but the vault replicates into subscription %s: give a "
                            "resource of that subscription" % (option, value, other, subscription_id))
    return problems


def vm_name_problem(option, name):
    """A message when ``name`` is not a valid Azure VM name (1-63 letters, digits and hyphens), else None."""
    if _VM_NAME.match(name or ""):
        return None
    if option == "target_vm_name":
        return "target_vm_name is %r; it must be %s" % (name, NAME_RULES["vm"][1])
    return ("the Hyper-V VM's name %r is not a valid Azure VM name (%s); give target_vm_name" % (name, NAME_RULES["vm"][1]))


def find_protectable(protectables, vm):
    """The discovered VM named ``vm`` (its Hyper-V VM id, or its name, case-insensitive), or raise ValueError.

    Names are not unique across hosts (Hyper-V names need only be unique on one host), so a name that matches several VMs is
    refused with their ids: the caller then passes the id.
    """
    wanted = _lower(vm)
    by_id = [p for p in protectables if wanted in (_lower(p.get("name")),
                                                   _lower((_properties(p).get("customDetails") or {}).get("sourceItemId")))]
    if by_id:
        return by_id[0]
    by_name = [p for p in protectables if _lower(_properties(p).get("friendlyName")) == wanted]
    if len(by_name) > 1:
        raise ValueError("name %r matches %d VMs (%s); give the VM id instead"
                         % (vm, len(by_name), ", ".join(sorted(p.get("name") for p in by_name))))
    if not by_name:
        raise ValueError("name %r is not a VM the vault discovered on the Hyper-V hosts of its sites: check the "
                         "name, and that the host's provider is registered and connected" % vm)
    return by_name[0]


def protectable_disks(protectable):
    """[{vhd_id, name, type, size_mb}] of a discovered VM (customDetails.diskDetails, SDK HyperVVirtualMachineDetails)."""
    custom = _properties(protectable).get("customDetails") or {}
    return [{"vhd_id": disk.get("vhdId"), "name": disk.get("vhdName"), "type": disk.get("vhdType"),
             "size_mb": disk.get("maxSizeMB")} for disk in custom.get("diskDetails") or []]


def _disk_key(wanted):
    """A disk given by path (as host_info reports it) is matched by its file name without extension."""
    text = (wanted or "").replace("/", "\\")
    if "\\" in text:
        text = text.rsplit("\\", 1)[-1]
        text = text.rsplit(".", 1)[0] if "." in text else text
    return _lower(text)


def _disk_matching(disks, wanted):
    for disk in disks:
        if _disk_key(wanted) in (_lower(disk["vhd_id"]), _lower(disk["name"])):
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
    names = ", ".join("%s (%s)" % (d["name"], d["vhd_id"]) for d in disks) or "none"
    problems = []
    if options.get("os_disk"):
        os_disk = _disk_matching(disks, options["os_disk"])
        if os_disk is None:
            problems.append("os_disk is %r; it must be one of the VM's disks: %s" % (options["os_disk"], names))
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
            problems.append("disks names %r; it must be one of the VM's disks: %s" % (wanted, names))
        elif disk not in included:
            included.append(disk)
    if os_disk is not None and os_disk not in included:
        included.insert(0, os_disk)
    disk_types = {}
    for wanted, disk_type in sorted((options.get("disk_types") or {}).items()):
        disk = _disk_matching(disks, wanted)
        if disk is None:
            problems.append("disk_types names %r; it must be one of the VM's disks: %s" % (wanted, names))
        elif disk not in included:
            problems.append("disk_types names %r, which is not among the disks to replicate" % wanted)
        else:
            disk_types[disk["vhd_id"]] = disk_type
    return os_disk, included, disk_types, problems


def enable_input(protectable, policy_id, options, subscription_id):
    """The enable-replication PUT body (SDK HyperVReplicaAzureEnableProtectionInput).

    Flags are strings as the service and PowerShell send them (``useManagedDisksForReplication: "true"``,
    enable_managed_disks.json entry 10).
    """
    os_disk, included, disk_types, _problems = resolve_disks(protectable, options)
    properties = _properties(protectable)
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


# --------------------------------------------------------------------------------------------------
# target settings: read, compare, update
# --------------------------------------------------------------------------------------------------

# Settings the PATCH can change (SDK UpdateReplicationProtectedItemInput), by option name.
UPDATABLE = ("target_vm_name", "target_vm_size", "target_resource_group", "target_network", "target_subnet",
             "license_type", "sql_server_license_type", "availability_zone", "availability_set_id",
             "proximity_placement_group_id", "tags", "disk_tags", "nic_tags")
_TAG_OPTIONS = ("tags", "disk_tags", "nic_tags")
_ID_OPTIONS = ("target_resource_group", "target_network", "availability_set_id", "proximity_placement_group_id")


def vm_nics(item):
    """The item's NICs (vmNics), as the service lists them."""
    return list(_details(item).get("vmNics") or [])


def primary_nic(item):
    """The NIC the target network and subnet apply to: the item's selected source NIC, else its first NIC."""
    nics = vm_nics(item)
    selected = _details(item).get("selectedSourceNicId")
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
    details = _details(item)
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
        "policy": _properties(item).get("policyFriendlyName"),
        "disks": [disk.get("vhdId") for disk in disks],
        "disk_types": dict((disk.get("diskId"), disk.get("targetDiskAccountType") or disk.get("replicaDiskType"))
                           for disk in managed),
    }


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
        return _lower(current) == _lower(wanted)
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
    details = _details(item)
    problems = []
    managed_now = details.get("recoveryAzureStorageAccount") in (None, "")
    if options.get("managed_disk_replication") is not None and bool(options["managed_disk_replication"]) != managed_now \
            and (options.get("target_storage_account_id") or not options["managed_disk_replication"]):
        problems.append("managed_disk_replication is %s but the VM replicates to %s" % (
            options["managed_disk_replication"], "managed disks" if managed_now else "a storage account"))
    storage = options.get("target_storage_account_id")
    if storage and not managed_now and not same_id(storage, current["target_storage_account_id"]):
        problems.append("target_storage_account_id is %r but the VM replicates to %r" % (storage, current["target_storage_account_id"]))
    if options.get("policy") and _lower(options["policy"]) != _lower(current["policy"]):
        problems.append("policy is %r but the VM replicates with policy %r" % (options["policy"], current["policy"]))
    if protectable is not None:
        # A disk, OS disk or disk type naming a disk the VM does not have is as wrong here as at enable time.
        disk_problems = [problem for problem in resolve_disks(protectable, options)[3]
                         if problem.startswith(("disks names", "disk_types names", "os_disk is '", 'os_disk is "'))]
        if disk_problems:
            return disk_problems
    if protectable is not None and current["disks"]:
        _os_disk, included, disk_types, _problems = resolve_disks(protectable, options)
        replicated = set(_lower(disk) for disk in current["disks"])
        missing = [disk["name"] for disk in included if _lower(disk["vhd_id"]) not in replicated]
        if options.get("disks") and missing:
            problems.append("disks includes %s, which the VM does not replicate" % ", ".join(missing))
        known_types = dict((_lower(key), value) for key, value in current["disk_types"].items())
        for vhd_id, disk_type in sorted(disk_types.items()):
            if known_types and known_types.get(_lower(vhd_id)) not in (None, disk_type):
                problems.append("disk_types sets disk %s to %s but it replicates as %s" % (vhd_id, disk_type, known_types[_lower(vhd_id)]))
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
    details = _details(item)
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


# --------------------------------------------------------------------------------------------------
# steps: what comes next for an item
# --------------------------------------------------------------------------------------------------

def running_job(item):
    """The job name of the operation running on the item, or None.

    Busy means the job ``currentScenario`` names is NotStarted or InProgress (``asr_items.scenario_running``,
    from the job attached by ``asr_api.with_scenario_job``), not that ``allowedOperations`` is empty: the
    service may keep operations such as DisableProtection listed during a job. After a test failover the
    scenario stays TestFailover while the item allows TestFailoverCleanup: a state to act on, not a job.
    """
    if not scenario_running(item):
        return None
    return current_operation(item)["job_name"]


def _failed_test_failover(item):
    """Whether the item's test failover failed and left a clean-up to do (its TestFailover job failed, or
    testFailoverState says so)."""
    operation = current_operation(item) or {}
    if operation.get("name") == "TestFailover" and operation.get("job_state") in FAILED_JOB_STATES:
        return True
    return _lower(_properties(item).get("testFailoverState")) == "failed"


def _operations(item):
    return set(_properties(item).get("allowedOperations") or [])


def _on_recovery_side(item):
    return _lower(_properties(item).get("activeLocation")) == "recovery"


def test_failover_step(item, state):
    """("wait", job) | ("test_failover", None) | ("cleanup", None) | ("done", None) | ("blocked", reason).

    state: "present" (a test VM should exist) or "absent" (no test VM should exist).
    """
    job = running_job(item)
    if job:
        return "wait", job
    operations = _operations(item)
    if state == "absent":
        return ("cleanup", None) if "TestFailoverCleanup" in operations else ("done", None)
    if "TestFailoverCleanup" in operations:
        # A failed test failover also leaves a clean-up to do, but no test VM: clean up, then try again.
        return ("cleanup", None) if _failed_test_failover(item) else ("done", None)
    problem = failure(item)
    if problem:
        return "blocked", "replication failed (%s), so no test failover is possible: %s" % (
            problem.get("code") or problem["reason"], problem.get("message") or "see the vault's health errors")
    if "TestFailover" in operations:
        return "test_failover", None
    if _on_recovery_side(item):
        return "blocked", "the VM has already failed over to Azure; test migration is for VMs that still run on Hyper-V"
    return "blocked", ("Azure does not allow a test failover now (allowed operations: %s): initial replication has not "
                       "finished" % (", ".join(sorted(operations)) or "none"))


def network_of_subnet(subnet_id):
    """The virtual network id of a subnet id (``.../virtualNetworks/<vnet>/subnets/<subnet>``), lowercase, or None."""
    if not subnet_id or "/subnets/" not in subnet_id.lower():
        return None
    return subnet_id[:subnet_id.lower().index("/subnets/")].lower()


def production_network_problem(item, network_id, production_networks=(), allow_production_network=False):
    """A message when the test network ``network_id`` is a production network, else None.

    Production networks: the replication's own target network (where the VM lands at cutover, next to what already
    runs there) and every id in ``production_networks``. A test VM there runs beside the source VM with the same
    identity, so it needs ``allow_production_network``. Pure; the wave-level module calls it per VM too.
    """
    if allow_production_network or not network_id:
        return None
    target = target_settings(item)["target_network"]
    if target and same_id(target, network_id):
        return ("network %r is the VM's own target network (production); a test VM there runs beside the source VM "
                "with the same name and addresses. Use an isolated network, or set allow_production_network=true"
                % network_id)
    listed = [network for network in production_networks or [] if same_id(network, network_id)]
    if listed:
        return ("network %r is listed in production_networks; use an isolated network, or set "
                "allow_production_network=true" % network_id)
    return None


def running_test_vm_difference(summary, network_id):
    """A message when the running test VM (``vm_summary``) is not in the network asked for, else None.

    A test VM in another network is not what the task asks, so it is never reported as unchanged."""
    if not summary or not network_id:
        return None
    networks = sorted(set(filter(None, (network_of_subnet(nic.get("subnet_id")) for nic in summary.get("nics") or []))))
    if networks and all(same_id(network, network_id) for network in networks):
        return None
    return ("test VM %r runs in network %s, not in network %r asked for" % (
        summary.get("name"), ", ".join(repr(name_in_id(network, "virtualNetworks")) for network in networks) or "none",
        name_in_id(network_id, "virtualNetworks") or network_id))


def migration_step(item, state, failover_type="planned"):
    """The next step towards migration ``state`` (failed_over | committed | completed).

    Returns (step, detail): ("wait", job name), ("planned_failover"|"unplanned_failover"|"commit", None),
    ("complete", None) or ("complete", "NotSpecified") (the disable reason to send when Azure lists
    DisableProtection but not CompleteMigration after the commit),
    ("done", None), ("absent", None) when the item does not exist (completed, or never replicated), or
    ("blocked", reason). Never a failover for an item already on the recovery side: a second failover
    would create a second Azure VM.
    """
    if item is None:
        return "absent", None
    job = running_job(item)
    if job:
        return "wait", job
    operations = _operations(item)
    if _on_recovery_side(item):
        if "Commit" in operations:
            return ("done", None) if state == "failed_over" else ("commit", None)
        if state in ("failed_over", "committed"):
            return "done", None
        # After the commit the service lists CompleteMigration (REST spec example ReplicationProtectedItems_FailoverCommit.json). Should it list only
        # DisableProtection, disabling with reason MigrationComplete is the same request (an assumption: the portal's request was not observed).
        if "CompleteMigration" in operations:
            return "complete", None
        if "DisableProtection" in operations:
            return "complete", "NotSpecified"
        return "blocked", ("the VM runs in Azure but Azure does not allow completing the migration now (allowed "
                           "operations: %s)" % (", ".join(sorted(operations)) or "none"))
    if "TestFailoverCleanup" in operations:
        return "blocked", ("a test migration is active (its test VM exists): clean it up first with "
                           "azmigrate.hyperv.test_migration state=absent")
    wanted = "PlannedFailover" if failover_type == "planned" else "UnplannedFailover"
    if wanted in operations:
        return ("planned_failover" if failover_type == "planned" else "unplanned_failover"), None
    return "blocked", ("Azure does not allow a %s failover now (allowed operations: %s): initial replication has not "
                       "finished, or replication needs attention" % (failover_type, ", ".join(sorted(operations)) or "none"))


# After each step, where the item is: planned or unplanned failover, commit, then complete
# (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v).
_AFTER = {"planned_failover": "failed_over", "unplanned_failover": "failed_over", "commit": "committed",
          "complete": "completed"}
_ORDER = ("protected", "failed_over", "committed", "completed")


def migration_plan(item, state, failover_type="planned"):
    """The steps a migration to ``state`` would take from the item's current situation, assuming each
    succeeds (for check mode and the diff): [(step, detail)]. A running job comes first as ("wait",
    job); a blocked item gives [("blocked", reason)]; an item already there gives []."""
    step, detail = migration_step(item, state, failover_type)
    if step in ("done", "absent"):
        return []
    if step == "blocked":
        return [(step, detail)]
    plan = [(step, detail)] if step == "wait" else []
    position = migration_position(item)
    target = _ORDER.index(state)
    while _ORDER.index(position) < target:
        nxt = {"protected": failover_type + "_failover", "failed_over": "commit", "committed": "complete"}[position]
        plan.append((nxt, None))
        position = _AFTER[nxt]
    return plan


def migration_position(item):
    """Where the item is on the way - protected (or earlier), failed_over, committed, completed (item gone) -
    counting a running failover, commit or completion job as done (what the item will be once it ends)."""
    if item is None:
        return "completed"
    operation = current_operation(item) if running_job(item) else None
    scenario = _lower((operation or {}).get("name"))
    if scenario in ("plannedfailover", "unplannedfailover", "failover"):
        return "failed_over"
    if "commit" in scenario:
        return "committed"
    if scenario in ("disabledr", "completemigration"):
        return "completed"
    if not _on_recovery_side(item):
        return "protected"
    return "failed_over" if "Commit" in _operations(item) else "committed"


def azure_vm_id(item):
    """The ARM id of the Azure VM a failover creates or created: target group + target VM name
    (HyperVReplicaAzure ``recoveryAzureResourceGroupId`` and ``recoveryAzureVmName``, SDK HyperVReplicaAzureReplicationDetails)."""
    settings = target_settings(item)
    if not settings["target_resource_group"] or not settings["target_vm_name"]:
        return None
    return "%s/providers/Microsoft.Compute/virtualMachines/%s" % (settings["target_resource_group"].rstrip("/"),
                                                                  settings["target_vm_name"])


def failover_target_problems(item, existing_vm, vnet):
    """What would make a failover of ``item`` fail or land elsewhere than its settings say (empty when none).

    Pure: the caller reads ``existing_vm`` (the VM at ``azure_vm_id(item)``, or None) and ``vnet`` (the item's
    target network, or None). Checked before a failover, in check mode too: a VM of the target name already in the
    target group (a failover would fail or meet it), no target network, or a network without the subnet of the
    VM's NICs (deleted since replication was set up).
    """
    problems = []
    settings = target_settings(item)
    if existing_vm is not None:
        problems.append("an Azure VM %r already exists in resource group %r, and a failover would create another one "
                        "of the same name; choose another target_vm_name with azmigrate.hyperv.replication" % (
                            settings["target_vm_name"], name_in_id(settings["target_resource_group"], "resourceGroups")))
    network = settings["target_network"]
    if not network:
        problems.append("the VM has no target network; set target_network with azmigrate.hyperv.replication")
    elif vnet is None:
        problems.append("its target network %r does not exist any more" % network)
    else:
        subnets = [_lower(subnet.get("name")) for subnet in (_properties(vnet).get("subnets") or [])]
        wanted = settings["target_subnet"]
        if wanted and _lower(wanted) not in subnets:
            problems.append("its target subnet %r is not a subnet of network %r any more (it has %s)" % (
                wanted, vnet.get("name"), ", ".join(sorted(subnets)) or "none"))
    return problems


def test_vm_name(item, job=None):
    """The test VM's name: the job's ``testVmName`` (test_failover.json: "hyperV1-test"), else the target
    name with the "-test" suffix the service adds (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v)."""
    custom = _properties(job).get("customDetails") or {}
    for detail in custom.get("protectedItemDetails") or []:
        if detail.get("testVmName"):
            return detail["testVmName"]
    name = target_settings(item)["target_vm_name"] or _properties(item).get("friendlyName")
    return "%s-test" % name if name else None


# --------------------------------------------------------------------------------------------------
# the Azure VM a failover created
# --------------------------------------------------------------------------------------------------

def _status(statuses, prefix):
    for status in statuses or []:
        code = status.get("code") or ""
        if code.startswith(prefix + "/"):
            return code.split("/", 1)[1]
    return None


def vm_summary(vm, disks_by_id, nics_by_id):
    """The Azure VM as modules return it (REST JSON of a VM with its instance view, and of its disks and NICs).

    {id, name, resource_group, location, size, provisioning_state, power_state, tags, disks: [{name, id, lun,
    os_disk, sku, size_gb, state}], nics: [{name, id, primary, private_ip, subnet_id}]}.
    """
    properties = _properties(vm)
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
                      "size_gb": _properties(disk).get("diskSizeGB") or reference.get("diskSizeGB"),
                      "state": _properties(disk).get("diskState")})
    nics = []
    for reference in (properties.get("networkProfile") or {}).get("networkInterfaces") or []:
        nic = next((value for key, value in nics_by_id.items() if same_id(key, reference.get("id"))), None) or {}
        config = ((_properties(nic).get("ipConfigurations") or [{}])[0]).get("properties") or {}
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
    if _lower(summary["provisioning_state"]) != "succeeded":
        problems.append("provisioning state is %s" % summary["provisioning_state"])
    if expect_running and summary["power_state"] != "running":
        problems.append("power state is %s, not running" % summary["power_state"])
    unmanaged = [disk["name"] for disk in summary["disks"] if not disk["managed"]]
    if unmanaged:
        problems.append("disks without a managed disk: %s" % ", ".join(unmanaged))
    if not summary["nics"]:
        problems.append("no network interface")
    return problems


def disk_sku_changes(summary, sku):
    """[(disk id, before, after)] for the VM's disks whose SKU is not ``sku``."""
    if not sku:
        return []
    return [(disk["id"], disk["sku"], sku) for disk in summary["disks"] if disk["managed"] and disk["sku"] != sku]


def merged_tags(current, wanted):
    """The tags after adding ``wanted`` to ``current``, or None when nothing changes."""
    if not wanted:
        return None
    merged = dict(current or {})
    merged.update(wanted)
    return merged if merged != (current or {}) else None
