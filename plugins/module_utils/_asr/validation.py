# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Checks of a task's options against each other and against what Azure has, made before any change.
Pure: the callers read what is checked.

Each check returns messages that name the option, the value and what is allowed; an empty list means no problem.
"""

from __future__ import annotations

import re

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import (
    lowered,
    name_in_id,
    network_of_subnet,
    properties_of,
    same_id,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import (
    DISK_TYPES,
    LOG_STORAGE_KINDS,
    OS_TYPES,
    PERFORMANCE_DISK_TYPES,
    PROVIDER,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import target_settings
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import NAME_RULES


# Target VM names: 1-63 letters, digits and hyphens (Azure Migrate's Hyper-V support matrix).
_VM_NAME = NAME_RULES["vm"][0]   # 1-63 letters, digits and hyphens, not starting or ending with a hyphen


_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,90}$")


def _id_problem(option, value, resource_type):
    """A message when ``value`` is an id that is not of ``resource_type``; names are accepted as they are."""
    if not value or not value.startswith("/"):
        return None
    if not value.lower().startswith("/subscriptions/") or (f"/providers/{resource_type}/").lower() not in value.lower():
        return ("%s is %r; it must be a name or the ARM id of a %s (/subscriptions/<id>/resourceGroups/<group>/providers/"
                "%s/<name>)" % (option, value, resource_type, resource_type))
    return None


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
                problems.append(f"disk_types[{disk!r}] is {disk_type!r}; it must be one of {', '.join(DISK_TYPES)}")
        for option, value in [("disk_type", options.get("disk_type"))] + sorted(
                (f"disk_types[{disk!r}]", disk_type) for disk, disk_type in (options.get("disk_types") or {}).items()):
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
        problems.append(f"availability_zone is {zone!r}; it must be 1, 2 or 3")
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
                problems.append(f"{option}[{key!r}] is {value!r}; tag values must be strings")
    if options.get("timeout") is not None and options["timeout"] < 1:
        problems.append(f"timeout is {options['timeout']}; it must be at least 1 (seconds)")
    return problems


def enable_requirements(options):
    """Messages for options that enabling needs and the task does not give (checked once the VM is known not to
    replicate yet, before any request that changes anything)."""
    problems = []
    if not options.get("target_resource_group"):
        problems.append(f"target_resource_group is required to enable replication of {options.get('name')!r}")
    if options.get("target_subnet") and not options.get("target_network"):
        problems.append(f"target_subnet ({options['target_subnet']!r}) needs target_network")
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
    reported = ((properties_of(protectable).get("customDetails") or {}).get("osDetails") or {}).get("osType")
    if reported in OS_TYPES:
        return reported, None
    return None, ("os_type is not given and Azure reports no operating system for VM %r; give os_type (%s), for "
                  "example from azmigrate.hyperv.host_info's guest_os.type" % (
                      properties_of(protectable).get("friendlyName"), " or ".join(OS_TYPES)))


def _location(document):
    return lowered(document.get("location")).replace(" ", "")


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
        taken_by = (found.get("replicated_names") or {}).get(lowered(vm_name))
        if taken_by:
            problems.append("target VM name %r is already the target name of replicated VM %r in this vault; give "
                            "another target_vm_name" % (vm_name, taken_by))
        existing = [vm.get("name") for vm in found.get("group_vms") or [] if lowered(vm.get("name")) == lowered(vm_name)]
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
        subnets = [subnet.get("name") for subnet in (properties_of(found["vnet"]).get("subnets") or [])]
        for option, subnet in wanted.get("subnets") or []:
            if subnet and lowered(subnet) not in [lowered(name) for name in subnets]:
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
            problems.append(f"{option} {resource_id!r} does not exist: create the {what} first")
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
        if other and lowered(other) != lowered(subscription_id):
            problems.append("%s %r is in subscription %s, but the vault replicates into subscription %s: give a "
                            "resource of that subscription" % (option, value, other, subscription_id))
    return problems


def vm_name_problem(option, name):
    """A message when ``name`` is not a valid Azure VM name (1-63 letters, digits and hyphens), else None."""
    if _VM_NAME.match(name or ""):
        return None
    if option == "target_vm_name":
        return f"target_vm_name is {name!r}; it must be {NAME_RULES['vm'][1]}"
    return (f"the Hyper-V VM's name {name!r} is not a valid Azure VM name ({NAME_RULES['vm'][1]}); give target_vm_name")


def find_protectable(protectables, vm):
    """The discovered VM named ``vm`` (its Hyper-V VM id, or its name, case-insensitive), or raise ValueError.

    Names are not unique across hosts (Hyper-V names need only be unique on one host), so a name that matches several VMs is
    refused with their ids: the caller then passes the id.
    """
    wanted = lowered(vm)
    by_id = [p for p in protectables if wanted in (lowered(p.get("name")),
                                                   lowered((properties_of(p).get("customDetails") or {}).get("sourceItemId")))]
    if by_id:
        return by_id[0]
    by_name = [p for p in protectables if lowered(properties_of(p).get("friendlyName")) == wanted]
    if len(by_name) > 1:
        raise ValueError("name %r matches %d VMs (%s); give the VM id instead"
                         % (vm, len(by_name), ", ".join(sorted(p.get("name") for p in by_name))))
    if not by_name:
        raise ValueError("name %r is not a VM the vault discovered on the Hyper-V hosts of its sites: check the "
                         "name, and that the host's provider is registered and connected" % vm)
    return by_name[0]


def readiness_problems(protectable: dict, provider: str = PROVIDER) -> list[str]:
    """Messages for a discovered VM (a protectable item as Azure returns it) that Site Recovery would not enable
    with ``provider``; empty when it is ready, or when it is protected already (its readiness is then not about
    an enable).

    Read from the item's ``protectionReadinessErrors`` (the service's own reasons, each quoted as it gives it) and
    ``supportedReplicationProviders``. Checked before any change, so that the task fails with the VM's reasons
    instead of a refused enable.
    """
    properties = properties_of(protectable)
    if lowered(properties.get("protectionStatus")) == "protected":
        return []
    vm = properties.get("friendlyName") or protectable.get("name")
    problems = []
    for error in properties.get("protectionReadinessErrors") or []:
        if error:
            problems.append(f"VM {vm!r} is not ready for replication: Azure reports {error!r}; fix that on the "
                            "Hyper-V host or in the VM's settings, then run again once the vault no longer reports it")
    supported = properties.get("supportedReplicationProviders")
    if supported is not None and lowered(provider) not in [lowered(name) for name in supported]:
        problems.append(f"VM {vm!r} can't replicate to Azure: Azure supports only {', '.join(supported) or 'no provider'} "
                        f"for it, not {provider}; check that its host belongs to a Hyper-V site of this vault and that "
                        "the VM is a supported Hyper-V VM")
    return problems


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
        problems.append(f"its target network {network!r} does not exist any more")
    else:
        subnets = [lowered(subnet.get("name")) for subnet in (properties_of(vnet).get("subnets") or [])]
        wanted = settings["target_subnet"]
        if wanted and lowered(wanted) not in subnets:
            problems.append("its target subnet %r is not a subnet of network %r any more (it has %s)" % (
                wanted, vnet.get("name"), ", ".join(sorted(subnets)) or "none"))
    return problems
