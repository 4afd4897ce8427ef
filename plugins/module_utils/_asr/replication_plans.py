# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The plans of the replication module: enable, update or disable one VM's replication, each a dict the module
applies (or, in check mode, reports). Every target a plan names is read from Azure and checked before the plan is
returned, so a refused target fails the task before anything changes."""

from __future__ import annotations

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _compute as azure_compute
from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import name_in_id, same_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import lookup as asr_lookup
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import (
    desired_settings,
    enable_input,
    immutable_changes,
    resolve_disks,
    settings_changes,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import lifecycle_state
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import target_settings
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import (
    enable_os_type,
    enable_requirements,
    find_protectable,
    readiness_problems,
    subscription_problems,
    target_problems,
    vm_name_problem,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import Blocked, InvalidOptions


def policy_id_for(task, container_ref, policy):
    """The id of ``policy`` (or of the one policy associated with the VM's container), checked to be associated."""
    mappings = [m for m in asr_api.list_mappings(task.client, task.resource_group, task.vault_name)
                if name_in_id(m.get("id"), "replicationProtectionContainers") == container_ref.container]
    policy_ids = [(m.get("properties") or {}).get("policyId") for m in mappings]
    if policy:
        chosen = [pid for pid in policy_ids if (name_in_id(pid, "replicationPolicies") or "").lower() == policy.lower()]
    else:
        chosen = policy_ids
    if len(chosen) != 1:
        known = ", ".join(sorted(name_in_id(pid, "replicationPolicies") for pid in policy_ids)) or "none"
        raise InvalidOptions("policy %s: the site %r has policies %s associated; %s" % (
            repr(policy) if policy else "is not given", container_ref.fabric, known,
            "associate it first (azmigrate.hyperv.replication_policy sites=...)" if policy else "name one with policy"))
    return chosen[0]


def replicated_names(task, own_item=None):
    """{target VM name, lowercase: Hyper-V VM name} of the vault's replicated VMs other than ``own_item``."""
    names = {}
    for other in asr_api.list_protected_items(task.client, task.resource_group, task.vault_name):
        if own_item is not None and same_id(other.get("id"), own_item.get("id")):
            continue
        target = target_settings(other)["target_vm_name"]
        if target:
            names[target.lower()] = (other.get("properties") or {}).get("friendlyName") or other.get("name")
    return names


def check_targets(task, azure, wanted, own_item=None):
    """Read what the target settings in ``wanted`` name, and raise InvalidOptions for those Azure does not have."""
    problems = subscription_problems(wanted, azure.subscription_id)
    if problems:
        raise InvalidOptions(*problems)
    compute, network = azure.compute(), azure.network()
    found = {"replicated_names": replicated_names(task, own_item) if wanted.get("vm_name") else {}}
    group = wanted.get("resource_group") or wanted.get("group_of_vm")
    if wanted.get("resource_group") or wanted.get("vm_name"):
        found["group_vms"] = azure_compute.vms_in_group(compute, name_in_id(group, "resourceGroups"))
    if wanted.get("network"):
        found["vnet"] = azure_compute.get_vnet(network, wanted["network"])
        if found["vnet"] is None:
            found["group_vnets"] = azure_compute.list_vnets(network, name_in_id(wanted["network"], "resourceGroups"))
    for option, key, lookup in (("availability_set_id", "availability_set", azure_compute.get_availability_set),
                                ("proximity_placement_group_id", "proximity_placement_group",
                                 azure_compute.get_proximity_placement_group),
                                ("disk_encryption_set_id", "disk_encryption_set", azure_compute.get_disk_encryption_set)):
        if wanted.get(option):
            found[key] = lookup(compute, wanted[option])
    if wanted.get("log_storage_account_id"):
        found["log_storage_account"] = azure_compute.get_storage_account(azure.storage(), wanted["log_storage_account_id"])
    problems = target_problems(wanted, found)
    if problems:
        raise InvalidOptions(*problems)


def plan_enable(task, azure, params):
    """The enable of a VM that does not replicate yet: {action, ref, body, changes}, every target checked first.
    Raises Blocked when Azure reports the VM not ready for replication, InvalidOptions for the task's options."""
    subscription_id = azure.subscription_id
    problems = enable_requirements(params)
    if problems:
        raise InvalidOptions(*problems)
    discovered = []
    for fabric, container in asr_lookup.site_containers(task.client, task.resource_group, task.vault_name, params["site"]):
        discovered += asr_api.list_protectable_items(task.client, task.resource_group, task.vault_name, fabric, container)
    try:
        protectable = find_protectable(discovered, params["name"])
    except ValueError as exc:
        raise InvalidOptions(str(exc))
    # What the VM itself lacks comes first: no option of the task can make Site Recovery enable it.
    problems = readiness_problems(protectable)
    if problems:
        raise Blocked("; ".join(problems))
    ref = asr_api.ref_of(task.client, task.resource_group, task.vault_name, protectable)
    problems = resolve_disks(protectable, params)[3]
    problems.append(enable_os_type(protectable, params)[1])
    vm_name = params["target_vm_name"] or (protectable.get("properties") or {}).get("friendlyName")
    problems.append(vm_name_problem("target_vm_name" if params["target_vm_name"] else "name", vm_name))
    problems = [problem for problem in problems if problem]
    if problems:
        raise InvalidOptions(*problems)
    desired = desired_settings(params, subscription_id)
    check_targets(task, azure, {
        "resource_group": desired["target_resource_group"], "vm_name": vm_name, "network": desired["target_network"],
        "subnets": [("target_subnet", params["target_subnet"])],
        "availability_set_id": params["availability_set_id"],
        "proximity_placement_group_id": params["proximity_placement_group_id"],
        "disk_encryption_set_id": params["disk_encryption_set_id"],
        "log_storage_account_id": params["log_storage_account_id"] if params["managed_disk_replication"] else None})
    body = enable_input(protectable, policy_id_for(task, ref, params["policy"]), params, subscription_id)
    changes = dict((key, {"before": None, "after": value}) for key, value in desired.items() if value is not None)
    changes["replication"] = {"before": "disabled", "after": "enabled"}
    return {"action": "enable", "ref": ref, "body": body, "changes": changes}


def plan_update(task, azure, params, item):
    """The change of a replicating VM's target settings: {action ("update" or None), ref, settings {option: (old,
    new)}, changes {option: {before, after}}}, every new target checked first."""
    ref = asr_api.ref_of(task.client, task.resource_group, task.vault_name, item)
    protectable = None
    if params["disks"] or params["disk_types"] or params["os_disk"]:
        protectable_id = (item.get("properties") or {}).get("protectableItemId")
        protectable = asr_api.get_protectable_item(asr_api.ItemRef(task.client, task.resource_group, task.vault_name, ref.fabric,
                                                                   ref.container, name_in_id(protectable_id, "replicationProtectableItems")))
    problems = immutable_changes(item, params, protectable)
    if problems:
        raise InvalidOptions(*problems)
    current = target_settings(item)
    if params["target_subnet"] and not (params["target_network"] or current["target_network"]):
        raise InvalidOptions("target_subnet (%r) needs target_network: the VM has no target network yet" % params["target_subnet"])
    try:
        desired = desired_settings(params, azure.subscription_id, current["target_resource_group"])
    except ValueError as exc:
        raise InvalidOptions(str(exc))
    changes = settings_changes(current, desired)
    if changes and lifecycle_state(item) in ("failed_over", "committed"):
        raise InvalidOptions("the VM has failed over to Azure: its target settings (%s) can't change any more" % ", ".join(sorted(changes)))
    if "target_vm_name" in changes:
        problem = vm_name_problem("target_vm_name", changes["target_vm_name"][1])
        if problem:
            raise InvalidOptions(problem)
    if changes:
        network_changes = "target_network" in changes or "target_subnet" in changes
        after = dict(current, **dict((option, new) for option, (_old, new) in changes.items()))
        check_targets(task, azure, {
            "resource_group": after["target_resource_group"] if "target_resource_group" in changes else None,
            "group_of_vm": after["target_resource_group"],
            "vm_name": after["target_vm_name"] if "target_vm_name" in changes else None,
            "network": after["target_network"] if network_changes else None,
            "subnets": [("target_subnet", after["target_subnet"])] if network_changes else [],
            "availability_set_id": after["availability_set_id"] if "availability_set_id" in changes else None,
            "proximity_placement_group_id": after["proximity_placement_group_id"]
            if "proximity_placement_group_id" in changes else None}, own_item=item)
    return {"action": "update" if changes else None, "ref": ref, "settings": changes,
            "changes": dict((key, {"before": old, "after": new}) for key, (old, new) in changes.items())}


def plan_disable(task, item):
    """The disable of a replicating VM: {action, ref, changes}."""
    return {"action": "disable", "ref": asr_api.ref_of(task.client, task.resource_group, task.vault_name, item),
            "changes": {"replication": {"before": "enabled", "after": "disabled"}}}
