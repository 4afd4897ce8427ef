# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin wrappers over the SDK calls of the replication, test_migration and migration modules.

The same conventions as ``asr_api`` (which this extends): one function per call, REST JSON in
and out, ``get_*`` return None for a resource that does not exist, Site Recovery mutations return
``asr_jobs.OperationStarted`` (wait with ``asr_jobs.wait_for_job``), every azure-core error
becomes ``AzureModuleError("Failed to <what> ...")``. An item is addressed by ``ItemRef``
(its site, container and name), which ``ref_of(item)`` reads from the item's id.

Compute and Network calls (the verification of a migrated VM and the changes after it) wait for
their ARM operation with the SDK poller, bounded by ``timeout`` seconds.
"""

import time

from ansible_collections.azmigrate.hyperv.plugins.module_utils import asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_items import lifecycle_state
from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_jobs import job_summary, start_operation, wait_for_job
from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_workflow import vm_summary
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_clients import collect, or_none, raw_get, raw_list, rest_dict
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_errors import (
    AZURE_SDK_ERRORS,
    AzureModuleError,
    azure_operation,
    is_not_found,
)

# The Hyper-V side of every failover action (the SDK's HyperVReplicaAzure* failover inputs).
PRIMARY_TO_RECOVERY = "PrimaryToRecovery"
PROVIDER = {"instanceType": "HyperVReplicaAzure"}


class ItemRef(object):
    """Where a replicated item lives: vault (client, resource group, name), site, container, item name."""

    def __init__(self, client, resource_group, vault_name, fabric, container, name):
        self.client, self.resource_group, self.vault_name = client, resource_group, vault_name
        self.fabric, self.container, self.name = fabric, container, name

    def args(self):
        return (self.resource_group, self.vault_name, self.fabric, self.container, self.name)


def _segment(resource_id, collection):
    parts = (resource_id or "").split("/")
    lowered = [part.lower() for part in parts]
    index = lowered.index(collection.lower()) if collection.lower() in lowered else -1
    return parts[index + 1] if 0 <= index < len(parts) - 1 else None


def ref_of(client, resource_group, vault_name, resource):
    """The ItemRef of a protected or protectable item, from its id."""
    resource_id = resource.get("id")
    return ItemRef(client, resource_group, vault_name, _segment(resource_id, "replicationFabrics"),
                   _segment(resource_id, "replicationProtectionContainers"), resource.get("name"))


# --- Site Recovery reads ---

@azure_operation("list the VMs discovered in container '{container}' of site '{fabric}' (vault '{vault_name}')")
def list_protectable_items(client, resource_group, vault_name, fabric, container):
    return raw_list(client.replication_protectable_items.list_by_replication_protection_containers,
                    resource_group, vault_name, fabric, container)


@azure_operation("get discovered VM '{ref.name}' of vault '{ref.vault_name}'")
def get_protectable_item(ref):
    return or_none(lambda: raw_get(ref.client.replication_protectable_items.get, *ref.args()))


@azure_operation("get replicated VM '{ref.name}' of vault '{ref.vault_name}'")
def get_item(ref):
    item = or_none(lambda: raw_get(ref.client.replication_protected_items.get, *ref.args()))
    return asr_api.with_scenario_job(ref.client, ref.resource_group, ref.vault_name, item)


# --- Site Recovery mutations (202 + a job each) ---

@azure_operation("enable replication of VM '{ref.name}' in vault '{ref.vault_name}'")
def enable(ref, body):
    """PUT replicationProtectedItems/{name} (SDK HyperVReplicaAzureEnableProtectionInput)."""
    return start_operation(ref.client.replication_protected_items.begin_create, *ref.args(), input=body)


@azure_operation("update the target settings of replicated VM '{ref.name}' in vault '{ref.vault_name}'")
def update(ref, body):
    """PATCH replicationProtectedItems/{name} (SDK UpdateReplicationProtectedItemInput)."""
    return start_operation(ref.client.replication_protected_items.begin_update, *ref.args(), update_protection_input=body)


@azure_operation("disable replication of VM '{ref.name}' in vault '{ref.vault_name}' (reason {reason})")
def remove(ref, reason="NotSpecified"):
    """POST .../remove, the clean disable (the SDK's begin_delete; DELETE would purge). ``MigrationComplete``
    is the portal's Complete migration (an assumption: it is the only other DisableProtectionReason,
    and the portal's own request was not observed)."""
    body = {"properties": {"disableProtectionReason": reason,
                           "replicationProviderInput": {"instanceType": "DisableProtectionProviderSpecificInput"}}}
    return start_operation(ref.client.replication_protected_items.begin_delete, *ref.args(), disable_protection_input=body)


@azure_operation("start the test failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def test_failover(ref, network_id):
    """POST .../testFailover into the VNet ``network_id`` (Azure/azure-rest-api-specs example ReplicationProtectedItems_TestFailover.json)."""
    body = {"properties": {"failoverDirection": PRIMARY_TO_RECOVERY, "networkType": "VmNetworkAsInput",
                           "networkId": network_id, "providerSpecificDetails": dict(PROVIDER)}}
    return start_operation(ref.client.replication_protected_items.begin_test_failover, *ref.args(), testfailover_input=body)


@azure_operation("clean up the test failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def test_failover_cleanup(ref, comments):
    body = {"properties": {"comments": comments or ""}}     # PowerShell sends comments "" (test_failover.json)
    return start_operation(ref.client.replication_protected_items.begin_test_failover_cleanup, *ref.args(),
                           cleanup_input=body)


@azure_operation("start the planned failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def planned_failover(ref):
    """POST .../plannedFailover: the service shuts the source VM down and syncs once more.

    Source: learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v.
    """
    body = {"properties": {"failoverDirection": PRIMARY_TO_RECOVERY, "providerSpecificDetails": dict(PROVIDER)}}
    return start_operation(ref.client.replication_protected_items.begin_planned_failover, *ref.args(), failover_input=body)


@azure_operation("start the unplanned failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def unplanned_failover(ref, shutdown_source):
    """POST .../unplannedFailover; ``sourceSiteOperations`` Required tries to shut the source down (8.4)."""
    body = {"properties": {"failoverDirection": PRIMARY_TO_RECOVERY,
                           "sourceSiteOperations": "Required" if shutdown_source else "NotRequired",
                           "providerSpecificDetails": dict(PROVIDER)}}
    return start_operation(ref.client.replication_protected_items.begin_unplanned_failover, *ref.args(),
                           failover_input=body)


@azure_operation("commit the failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def commit(ref):
    return start_operation(ref.client.replication_protected_items.begin_failover_commit, *ref.args())


# --- Compute and Network (the Azure VM) ---

def _group_and_name(resource_id):
    return _segment(resource_id, "resourceGroups"), (resource_id or "").rstrip("/").rsplit("/", 1)[-1]


@azure_operation("get Azure VM '{vm_id}'")
def get_vm(compute, vm_id):
    """The VM with its instance view (power and provisioning state), or None."""
    group, name = _group_and_name(vm_id)
    return or_none(lambda: compute.virtual_machines.get(group, name, expand="instanceView"))


def _list_or_none(list_call):
    """Every item ``list_call()`` pages through, as the service's JSON; None when Azure answers 404 (a resource group
    that does not exist)."""
    try:
        return [rest_dict(model) for model in collect(list_call())]
    except AZURE_SDK_ERRORS as exc:
        if is_not_found(exc):
            return None
        raise


@azure_operation("list the Azure VMs of resource group '{group}'")
def list_vms(compute, group=None):
    pages = compute.virtual_machines.list(group) if group else compute.virtual_machines.list_all()
    return [rest_dict(model) for model in collect(pages)]


@azure_operation("get managed disk '{disk_id}'")
def get_disk(compute, disk_id):
    group, name = _group_and_name(disk_id)
    return or_none(lambda: compute.disks.get(group, name))


@azure_operation("get network interface '{nic_id}'")
def get_nic(network, nic_id):
    group, name = _group_and_name(nic_id)
    return or_none(lambda: network.network_interfaces.get(group, name))


@azure_operation("get virtual network '{vnet_id}'")
def get_vnet(network, vnet_id):
    group, name = _group_and_name(vnet_id)
    return or_none(lambda: network.virtual_networks.get(group, name))


@azure_operation("list the virtual networks of resource group '{group}'")
def list_vnets(network, group):
    """The virtual networks of ``group``, or None when the group does not exist."""
    return _list_or_none(lambda: network.virtual_networks.list(group))


@azure_operation("list the Azure VMs of resource group '{group}'")
def vms_in_group(compute, group):
    """The VMs of ``group``, or None when the group does not exist (how the target resource group is checked)."""
    return _list_or_none(lambda: compute.virtual_machines.list(group))


@azure_operation("get availability set '{resource_id}'")
def get_availability_set(compute, resource_id):
    group, name = _group_and_name(resource_id)
    return or_none(lambda: compute.availability_sets.get(group, name))


@azure_operation("get proximity placement group '{resource_id}'")
def get_proximity_placement_group(compute, resource_id):
    group, name = _group_and_name(resource_id)
    return or_none(lambda: compute.proximity_placement_groups.get(group, name))


@azure_operation("get disk encryption set '{resource_id}'")
def get_disk_encryption_set(compute, resource_id):
    group, name = _group_and_name(resource_id)
    return or_none(lambda: compute.disk_encryption_sets.get(group, name))


@azure_operation("get storage account '{resource_id}'")
def get_storage_account(storage, resource_id):
    group, name = _group_and_name(resource_id)
    return or_none(lambda: storage.storage_accounts.get_properties(group, name))


def _finish(poller, timeout, operation):
    result = poller.result(timeout=timeout)
    if not poller.done():
        raise AzureModuleError(operation, "the operation was still running after %s s" % int(timeout), code="Timeout")
    return rest_dict(result)


@azure_operation("change the SKU of managed disk '{disk_id}' to {sku}")
def set_disk_sku(compute, disk_id, sku, timeout):
    """PATCH the disk's SKU (Disks - Update; the disk must be unattached or its VM deallocated)."""
    group, name = _group_and_name(disk_id)
    return _finish(compute.disks.begin_update(group, name, {"sku": {"name": sku}}), timeout,
                   "change the SKU of managed disk '%s'" % disk_id)


@azure_operation("set the tags of Azure VM '{vm_id}'")
def set_vm_tags(compute, vm, vm_id, tags, timeout):
    """PATCH the VM's tags (Virtual Machines - Update). An endpoint without PATCH (405) gets the VM's own
    definition back by PUT, with the new tags."""
    group, name = _group_and_name(vm_id)
    operation = "set the tags of Azure VM '%s'" % vm_id
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
    group, name = _group_and_name(vm_id)
    method = compute.virtual_machines.begin_deallocate if action == "deallocate" else compute.virtual_machines.begin_start
    return _finish(method(group, name), timeout, "%s Azure VM '%s'" % (action, vm_id))


# --- finding a VM's item, and waiting on the jobs a task starts ---

def _matches(item, wanted, site):
    properties = item.get("properties") or {}
    details = properties.get("providerSpecificDetails") or {}
    if site and (_segment(item.get("id"), "replicationFabrics") or "").lower() != site.lower() \
            and (properties.get("primaryFabricFriendlyName") or "").lower() != site.lower():
        return False
    return wanted.lower() in ((item.get("name") or "").lower(), (details.get("vmId") or "").lower(),
                              (properties.get("friendlyName") or "").lower())


def find_item(client, resource_group, vault_name, vm, site=None, listed=None):
    """The replicated item of VM ``vm`` (name, VM id or item name) as one GET returns it (with the details the
    vault-wide listing leaves empty), or None. One listing of the vault, then one GET; ``listed``: the vault's
    items listed already (a wave finds all its VMs in one listing).

    A VM name replicated twice (two hosts with VMs of the same name) raises AzureModuleError naming the ids.
    """
    if listed is None:
        listed = asr_api.list_protected_items(client, resource_group, vault_name)
    listed = [item for item in listed if _matches(item, vm, site)]
    exact = [item for item in listed if vm.lower() in ((item.get("name") or "").lower(),
             (((item.get("properties") or {}).get("providerSpecificDetails") or {}).get("vmId") or "").lower())]
    if len(listed) > 1 and not exact:
        raise AzureModuleError("find replicated VM '%s' in vault '%s'" % (vm, vault_name),
                               "the name matches %d replicated VMs (%s)" % (len(listed), ", ".join(sorted(i["name"] for i in listed))),
                               recommended_action="Give the VM id (or the site) instead of the name.")
    chosen = (exact or listed or [None])[0]
    return get_item(ref_of(client, resource_group, vault_name, chosen)) if chosen else None


def site_problem(client, resource_group, vault_name, site):
    """A message when ``site`` is given and is not a Hyper-V site (fabric name or friendly name) of the vault, else None.

    One listing of the vault's fabrics; checked before anything else is looked up, so that a wrong site is named as
    such and not reported as a VM the site does not have.
    """
    if not site:
        return None
    fabrics = asr_api.list_fabrics(client, resource_group, vault_name)
    for fabric in fabrics:
        friendly = (fabric.get("properties") or {}).get("friendlyName") or ""
        if site.lower() in ((fabric.get("name") or "").lower(), friendly.lower()):
            return None
    names = sorted(fabric.get("name") or "" for fabric in fabrics
                   if ((fabric.get("properties") or {}).get("customDetails") or {}).get("instanceType") == "HyperVSite")
    return "site %r not found in vault %r; its Hyper-V sites: %s" % (site, vault_name, ", ".join(names) or "none")


def site_containers(client, resource_group, vault_name, site=None):
    """[(site, container)] of the vault's protection containers, of one site when ``site`` is given."""
    out = []
    for container in asr_api.list_containers(client, resource_group, vault_name):
        fabric = _segment(container.get("id"), "replicationFabrics")
        friendly = (container.get("properties") or {}).get("fabricFriendlyName") or ""
        if site and site.lower() not in ((fabric or "").lower(), friendly.lower()):
            continue
        out.append((fabric, container.get("name")))
    return out


class JobRunner(object):
    """The jobs one task starts, each waited for within the task's one deadline (``timeout`` seconds)."""

    def __init__(self, client, resource_group, vault_name, timeout, clock=None):
        self.clock = clock or time.monotonic
        self.client, self.resource_group, self.vault_name = client, resource_group, vault_name
        self.deadline = self.clock() + timeout
        self.jobs = []

    def remaining(self):
        return max(1.0, self.deadline - self.clock())

    def wait(self, job_name, operation, first_delay=None):
        """Wait for a job (started by this task or an earlier one); record its summary; return the job."""
        try:
            job = wait_for_job(self.client, self.resource_group, self.vault_name, job_name, self.remaining(), operation,
                               first_delay)
        except AzureModuleError as exc:
            job = (exc.details or {}).get("job")
            if job:
                self.jobs.append(job)
            raise
        self.jobs.append(job_summary(job))
        return job

    def run(self, started, operation, wait=True):
        """Record a started mutation; wait for its job when ``wait``; return the job (or None)."""
        if not started.job_name or not wait:
            self.jobs.append({"name": started.job_name, "state": "Started"})
            return None
        return self.wait(started.job_name, operation, started.retry_after)


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


TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)


def wait_for_item(ref, runner, ready, what, poll_interval, sleep=time.sleep):
    """GET the item every ``poll_interval`` seconds until ``ready(item)``, within the runner's deadline.

    Returns the item. A read throttled (429) or failing with 5xx after the SDK's own retries skips one poll;
    the deadline raises AzureModuleError code Timeout naming the item's last state.
    """
    item = None
    while True:
        try:
            item = get_item(ref)
        except AzureModuleError as exc:
            if exc.status not in TRANSIENT_STATUS:
                raise
        else:
            if item is None or ready(item):
                return item
        if runner.deadline - runner.clock() <= 0:
            raise AzureModuleError(what, "VM '%s' was still %s when the timeout ran out" % (
                ref.name, lifecycle_state(item) if item else "unknown"), code="Timeout",
                recommended_action="Replication goes on in Azure: re-run the task with a longer timeout to wait for it.")
        sleep(min(poll_interval, max(0.0, runner.deadline - runner.clock())))
