# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Thin wrappers over the Compute, Network and Storage calls: the Azure VM a failover creates, and the resources
a replication's target settings name.

One function per call, REST JSON in and out, ``get_*`` return None for a resource that does not exist, every
azure-core error becomes ``AzureModuleError("Failed to <what> ...")``. Mutations wait for their ARM operation with
the SDK poller, bounded by ``timeout`` seconds.
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import group_and_name
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import vm_summary
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import collect, rest_dict
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import (
    AZURE_SDK_ERRORS,
    AzureModuleError,
    azure_operation,
)


@azure_operation("get Azure VM '{vm_id}'", missing=None)
def get_vm(compute, vm_id):
    """The VM with its instance view (power and provisioning state), or None."""
    group, name = group_and_name(vm_id)
    return rest_dict(compute.virtual_machines.get(group, name, expand="instanceView"))


@azure_operation("list the Azure VMs of resource group '{group}'")
def list_vms(compute, group=None):
    pages = compute.virtual_machines.list(group) if group else compute.virtual_machines.list_all()
    return [rest_dict(model) for model in collect(pages)]


@azure_operation("get managed disk '{disk_id}'", missing=None)
def get_disk(compute, disk_id):
    group, name = group_and_name(disk_id)
    return rest_dict(compute.disks.get(group, name))


@azure_operation("get network interface '{nic_id}'", missing=None)
def get_nic(network, nic_id):
    group, name = group_and_name(nic_id)
    return rest_dict(network.network_interfaces.get(group, name))


@azure_operation("get virtual network '{vnet_id}'", missing=None)
def get_vnet(network, vnet_id):
    group, name = group_and_name(vnet_id)
    return rest_dict(network.virtual_networks.get(group, name))


@azure_operation("list the virtual networks of resource group '{group}'", missing=None)
def list_vnets(network, group):
    """The virtual networks of ``group``, or None when the group does not exist."""
    return [rest_dict(model) for model in collect(network.virtual_networks.list(group))]


@azure_operation("list the Azure VMs of resource group '{group}'", missing=None)
def vms_in_group(compute, group):
    """The VMs of ``group``, or None when the group does not exist (how the target resource group is checked)."""
    return [rest_dict(model) for model in collect(compute.virtual_machines.list(group))]


@azure_operation("get availability set '{resource_id}'", missing=None)
def get_availability_set(compute, resource_id):
    group, name = group_and_name(resource_id)
    return rest_dict(compute.availability_sets.get(group, name))


@azure_operation("get proximity placement group '{resource_id}'", missing=None)
def get_proximity_placement_group(compute, resource_id):
    group, name = group_and_name(resource_id)
    return rest_dict(compute.proximity_placement_groups.get(group, name))


@azure_operation("get disk encryption set '{resource_id}'", missing=None)
def get_disk_encryption_set(compute, resource_id):
    group, name = group_and_name(resource_id)
    return rest_dict(compute.disk_encryption_sets.get(group, name))


@azure_operation("get storage account '{resource_id}'", missing=None)
def get_storage_account(storage, resource_id):
    group, name = group_and_name(resource_id)
    return rest_dict(storage.storage_accounts.get_properties(group, name))


def _finish(poller, timeout, operation):
    result = poller.result(timeout=timeout)
    if not poller.done():
        raise AzureModuleError(operation, f"the operation was still running after {int(timeout)} s", code="Timeout")
    return rest_dict(result)


@azure_operation("change the SKU of managed disk '{disk_id}' to {sku}")
def set_disk_sku(compute, disk_id, sku, timeout):
    """PATCH the disk's SKU (Disks - Update; the disk must be unattached or its VM deallocated)."""
    group, name = group_and_name(disk_id)
    return _finish(compute.disks.begin_update(group, name, {"sku": {"name": sku}}), timeout,
                   f"change the SKU of managed disk '{disk_id}'")


@azure_operation("set the tags of Azure VM '{vm_id}'")
def set_vm_tags(compute, vm, vm_id, tags, timeout):
    """PATCH the VM's tags (Virtual Machines - Update). An endpoint without PATCH (405) gets the VM's own
    definition back by PUT, with the new tags."""
    group, name = group_and_name(vm_id)
    operation = f"set the tags of Azure VM '{vm_id}'"
    try:
        return _finish(compute.virtual_machines.begin_update(group, name, {"tags": tags}), timeout, operation)
    except AZURE_SDK_ERRORS as exc:
        if getattr(exc, "status_code", None) != 405:
            raise
    properties = vm["properties"]
    body = {"location": vm["location"], "tags": tags,
            "properties": dict((key, properties[key]) for key in ("hardwareProfile", "storageProfile", "networkProfile")
                               if key in properties)}
    return _finish(compute.virtual_machines.begin_create_or_update(group, name, body), timeout, operation)


@azure_operation("{action} Azure VM '{vm_id}'")
def power(compute, vm_id, action, timeout):
    """action: "deallocate" or "start"."""
    group, name = group_and_name(vm_id)
    method = compute.virtual_machines.begin_deallocate if action == "deallocate" else compute.virtual_machines.begin_start
    return _finish(method(group, name), timeout, f"{action} Azure VM '{vm_id}'")


def describe_vm(compute, network, vm_id):
    """(vm REST JSON, summary) of an Azure VM with its disks and NICs, or (None, None): one GET for the VM
    (with its instance view) and one per disk and NIC."""
    vm = get_vm(compute, vm_id)
    if vm is None:
        return None, None
    storage = (vm.get("properties") or {}).get("storageProfile") or {}
    disk_ids = [((storage.get("osDisk") or {}).get("managedDisk") or {}).get("id")]
    disk_ids += [(disk.get("managedDisk") or {}).get("id") for disk in storage.get("dataDisks") or []]
    disks = dict((disk_id, get_disk(compute, disk_id)) for disk_id in disk_ids if disk_id)
    nic_ids = [nic.get("id") for nic in ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []]
    nics = dict((nic_id, get_nic(network, nic_id)) for nic_id in nic_ids if nic_id)
    return vm, vm_summary(vm, disks, nics)
