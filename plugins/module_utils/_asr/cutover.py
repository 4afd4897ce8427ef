# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The Azure VMs around Site Recovery's jobs, shared by the modules migration, test_migration and migration_wave, so
that a VM takes the same checks and changes whether it moves alone or in a wave.

- ``failover_target_check``: before a failover, what would make it fail or land elsewhere (target VM name taken,
  target network or subnet gone), read from Azure and judged by ``_asr.validation.failover_target_problems``.
- ``find_migrated_vm`` / ``not_migrated_message``: the Azure VM of a completed migration (its item is gone), by name.
- ``read_test_vm``: the test VM of a running test failover, as ``_compute.describe_vm`` summarises it.
- ``change_after_cutover``: the disk SKU and tag changes on the migrated VM, with the diff they make.

Reads and writes go through ``_asr.api`` (each an ``azure_operation``: a failure is an AzureModuleError with
the service's message); problems come back as messages, and each caller fails in its own way.
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import resource_group_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.api import get_job
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import merged_tags
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import current_operation
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import (
    azure_vm_id,
    disk_sku_changes,
    target_settings,
    test_vm_name,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import failover_target_problems
from ansible_collections.azmigrate.hyperv.plugins.module_utils._compute import (
    describe_vm,
    get_vm,
    get_vnet,
    list_vms,
    power,
    set_disk_sku,
    set_vm_tags,
    vms_in_group,
)


def failover_target_check(compute, network, item, vnets=None):
    """The problems ``failover_target_problems`` finds for ``item`` (empty when none).

    ``vnets``: an optional dict (target network id, lowercase -> the network or None) that keeps each network read
    once across the VMs of a wave.
    """
    vm_id, network_id = azure_vm_id(item), target_settings(item)["target_network"]
    existing = get_vm(compute, vm_id) if vm_id else None
    vnets = {} if vnets is None else vnets
    if network_id and network_id.lower() not in vnets:
        vnets[network_id.lower()] = get_vnet(network, network_id)
    return failover_target_problems(item, existing, vnets.get((network_id or "").lower()))


def find_migrated_vm(compute, subscription_id, target_resource_group, name):
    """(the id of the Azure VM ``name``, a problem): (id, None) when one VM has the name, (None, None) when none,
    (None, message) when the group does not exist or several VMs have the name."""
    group = resource_group_id(subscription_id, target_resource_group) if target_resource_group else None
    if group:
        vms = vms_in_group(compute, group.rsplit("/", 1)[-1])
        if vms is None:
            return None, f"target_resource_group {target_resource_group!r} does not exist"
    else:
        vms = list_vms(compute)
    found = [vm for vm in vms if (vm.get("name") or "").lower() == name.lower()]
    if len(found) > 1:
        return None, "%d Azure VMs are named %r (%s): give target_resource_group" % (
            len(found), name.lower(), ", ".join(vm["id"] for vm in found))
    return (found[0]["id"], None) if found else (None, None)


def not_migrated_message(name, vault_name, target_vm_name, target_resource_group):
    return "%r neither replicates in vault %r nor has a migrated Azure VM named %r%s" % (
        name, vault_name, target_vm_name or name, " in %s" % target_resource_group if target_resource_group else "")


def read_test_vm(client, resource_group, vault_name, compute, network, item):
    """The test VM read from Compute and Network, or None: its name from the TestFailover job, its group the target's."""
    operation = current_operation(item) or {}
    job = get_job(client, resource_group, vault_name, operation["job_name"]) \
        if operation.get("name") == "TestFailover" and operation.get("job_name") else None
    name, group = test_vm_name(item, job), target_settings(item)["target_resource_group"]
    if not name or not group:
        return None
    return describe_vm(compute, network, f"{group}/providers/Microsoft.Compute/virtualMachines/{name}")[1]


def change_after_cutover(compute, network, vm_id, disk_sku, tags, check_mode, remaining):
    """Disk SKU and tag changes on the migrated Azure VM ``vm_id``: (steps, diff before, diff after).

    ``remaining``: a callable giving the seconds left for each long-running change. A VM that ran before a disk SKU
    change is deallocated for it and started again, also when a disk could not change. Without ``disk_sku`` and
    ``tags`` nothing changes, and the diff shows the VM's disk SKUs and tags as they are.
    """
    vm, summary = describe_vm(compute, network, vm_id)
    if vm is None:   # check mode before the failover: the VM does not exist yet
        return (["disk_sku"] if disk_sku else []) + (["tags"] if tags else []), {}, {}
    sku_changes = disk_sku_changes(summary, disk_sku)
    merged = merged_tags(summary["tags"], tags)
    before = {"disk_skus": dict((disk["name"], disk["sku"]) for disk in summary["disks"]), "tags": summary["tags"]}
    after = {"disk_skus": dict((disk["name"], disk_sku or disk["sku"]) for disk in summary["disks"]),
             "tags": merged or summary["tags"]}
    steps = (["disk_sku"] if sku_changes else []) + (["tags"] if merged else [])
    if check_mode or not steps:
        return steps, before, after
    if sku_changes:
        running = summary["power_state"] == "running"
        if running:
            power(compute, vm_id, "deallocate", remaining())
        try:
            for disk_id, _old, new in sku_changes:
                set_disk_sku(compute, disk_id, new, remaining())
        finally:
            if running:
                power(compute, vm_id, "start", remaining())
    if merged:
        set_vm_tags(compute, get_vm(compute, vm_id), vm_id, merged, remaining())
    return steps, before, after
