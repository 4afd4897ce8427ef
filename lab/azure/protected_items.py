"""Replication protected items: list and get, update (PATCH), remove (disable or complete migration) and
purge; recovery points and target compute sizes. Enabling replication is in lab/azure/enable_replication.py,
the failover family in lab/azure/failover.py, how an item reads in lab/azure/item_views.py.

Each action is accepted only when the item's allowedOperations name it, otherwise the service
refuses it synchronously with its 400 error body (as reprotect.json entry 12 records; that
allowedOperations decides it is an assumption). Accepted actions answer 202 and run a job
(lab/azure/jobs.py) whose task hooks change the world: the host VM's replication state
(lab/hosts/state.py), seed managed disks (compute.py), and initial replication, which moves at the
rate lab/azure/replication.py computes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab.azure import compute, discovery, ids, network, replication
from lab.azure.arm import Arm, ArmCall, iso, json_body
from lab.azure.asr_common import (
    CONTAINER, VAULT, accepted, asr_error, container_of, item_response, job_fabric, job_item, job_vault, page, vault_of,
)
from lab.azure.item_views import LICENSE_TYPES, T_RP, allowed_operations, item_path, rpi_json, vm_nic_ids
from lab.azure.jobs import Hook, Job, on_job_done, on_task, on_task_start, renderer, start_job
from lab.azure.site_recovery import affected_objects
from lab.azure.state import AzureCloud, Fabric, ProtectedItem, RecoveryPoint, VaultAsr
from lab.http import Response

ITEM = CONTAINER + "/replicationProtectedItems/{item}"
ItemHook = Callable[[AzureCloud, Job, ProtectedItem], None]

# --- lookups ---


def find_item(call: ArmCall) -> tuple[VaultAsr, Fabric, ProtectedItem]:
    vault, fabric = container_of(call)
    item = fabric.items.get(call.params["item"].lower())
    if item is None:
        raise asr_error(404, "ReplicationProtectedItemNotFound",
                        f"The replication protected item '{call.params['item']}' was not found.", call,
                        "The virtual machine is not protected or its protection was removed.",
                        "Check the item name and try again.")
    return vault, fabric, item


def require_operation(call: ArmCall, item: ProtectedItem, operation: str) -> None:
    # A running job blocks every action, also those the item keeps listed meanwhile (item_views.BUSY_OPS).
    if item.busy or operation not in allowed_operations(item):
        raise asr_error(400, "ProtectionEntityOperationNotAllowed",
                        f"The operation '{operation}' can't be performed on the replication protected item "
                        f"'{item.vm_name}' in its current state '{item.protection_description}'.", call,
                        "Another operation is in progress on the item, or the item is not in a state that allows "
                        "this operation.", "Wait for the running job to finish, or perform one of the item's "
                        "allowed operations, then retry.")


def host_vm_of(cloud: AzureCloud, fabric: Fabric, item: ProtectedItem):
    found = discovery.find_vm(cloud, fabric, item.vm_id)
    return found[2] if found else None


def begin(item: ProtectedItem, job: Job) -> None:
    item.busy = True
    item.scenario = (job.scenario.name, job.name, job.created)


def finish(item: ProtectedItem, keep_scenario: bool = False) -> None:
    item.busy = False
    if not keep_scenario:
        item.scenario = None


def item_job(call: ArmCall, vault: VaultAsr, fabric: Fabric, item: ProtectedItem, scenario: str,
             params: dict | None = None, details: dict | None = None) -> Job:
    """A job on the item: the hooks registered for `scenario` find the item through the job's ref."""
    job = start_job(call.cloud, vault, scenario, item.vm_id, item.vm_name,
                    details={**(details or {}), **affected_objects(vault, fabric, item.vm_id, item.vm_name,
                                                                   vault.policies[item.policy_name.lower()].profile_id
                                                                   if item.policy_name.lower() in vault.policies else "")},
                    fabric=fabric.name, item=item.name, params=params,
                    fault_names=(item.settings.get("vm_name", ""),))
    begin(item, job)
    return job


def _while_the_item_exists(function: Hook) -> Hook:
    def hook(cloud: AzureCloud, job: Job) -> None:
        if job_item(cloud, job) is not None:
            function(cloud, job)
    hook.__qualname__ = function.__qualname__
    return hook


def on_item_task(scenario: str, task: str) -> Callable[[Hook], Hook]:
    """on_task for a job on a protected item: the hook does not run once the item is gone (purged while the job
    runs: the job goes on, with nothing left to act on)."""
    def register(function: Hook) -> Hook:
        on_task(scenario, task)(_while_the_item_exists(function))
        return function
    return register


def on_item_task_start(scenario: str, task: str) -> Callable[[Hook], Hook]:
    """on_task_start for a job on a protected item, as on_item_task."""
    def register(function: Hook) -> Hook:
        on_task_start(scenario, task)(_while_the_item_exists(function))
        return function
    return register


def on_item_job_done(*scenarios: str) -> Callable[[ItemHook], ItemHook]:
    """Register hook(cloud, job, item) run when a job of one of `scenarios` on a protected item ends; it does not
    run when the item is gone by then (purged meanwhile)."""
    def register(function: ItemHook) -> ItemHook:
        def with_item(cloud: AzureCloud, job: Job) -> None:
            item = job_item(cloud, job)
            if item is not None:
                function(cloud, job, item)
        with_item.__qualname__ = function.__qualname__
        on_job_done(*scenarios)(with_item)
        return function
    return register


def job_host_vm(cloud: AzureCloud, job: Job):
    """The Hyper-V VM of the job's item, as the vault sees it now (None when the host no longer reports it)."""
    fabric, item = job_fabric(cloud, job), job_item(cloud, job)
    return host_vm_of(cloud, fabric, item) if fabric is not None and item is not None else None


@renderer("item")
def item_result(cloud: AzureCloud, job: Job) -> dict | None:
    item = job_item(cloud, job)
    return rpi_json(cloud, job_vault(cloud, job), job_fabric(cloud, job), item) if item is not None else None


# --- list and get ---

def list_items(call: ArmCall) -> Response:
    vault, fabric = container_of(call)
    return page(call, list(fabric.items.values()),
                render=lambda item: rpi_json(call.cloud, vault, fabric, item, single=False))


def list_vault_items(call: ArmCall) -> Response:
    vault = vault_of(call)
    pairs = [(f, i) for f in vault.fabrics.values() for i in f.items.values()]
    return page(call, pairs, skip_token_name="skipToken",
                render=lambda pair: rpi_json(call.cloud, vault, pair[0], pair[1], single=False))


def get_item(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    return item_response(rpi_json(call.cloud, vault, fabric, item))


# --- update (PATCH) ---

def update(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    if item.busy or item.failed_over:
        require_operation(call, item, "UpdateVmProperties")
    properties = call.require_body().get("properties") or {}
    details = properties.get("providerSpecificDetails") or {}
    changes: dict[str, Any] = {}
    network_id = properties.get("selectedRecoveryAzureNetworkId")
    if network_id:
        network_doc = call.cloud.get(network_id)
        if network_doc is None:
            raise asr_error(400, "TargetNetworkNotFound", f"The virtual network '{network_id}' was not found.", call)
        changes["network"] = network_doc["id"]
    if properties.get("selectedTfoAzureNetworkId"):
        changes["tfo_network"] = properties["selectedTfoAzureNetworkId"]
    if properties.get("recoveryAzureVMName"):
        changes["vm_name"] = properties["recoveryAzureVMName"]
    size = properties.get("recoveryAzureVMSize")
    if size:
        if size not in compute.VM_SIZES:
            raise asr_error(400, "InvalidTargetVmSize", f"The VM size '{size}' is not available in the target region.", call)
        changes["vm_size"] = size
    if properties.get("licenseType"):
        if properties["licenseType"] not in LICENSE_TYPES:
            raise asr_error(400, "InvalidLicenseType", f"The licenseType '{properties['licenseType']}' is not valid.", call)
        changes["license_type"] = properties["licenseType"]
    nics = properties.get("vmNics")
    host_vm = host_vm_of(call.cloud, fabric, item)
    known = vm_nic_ids(item.vm_id, host_vm)
    for nic in nics or []:
        if nic.get("nicId") not in known:
            raise asr_error(400, "InvalidNicId", f"The NIC '{nic.get('nicId')}' is not a NIC of the virtual machine.", call)
    if nics is not None:
        # Assumption (lab/FIDELITY.md): the update replaces the NIC list, so one that leaves NICs out, or names a
        # primary NIC it does not list, is refused rather than losing the NICs at failover.
        given = [nic.get("nicId") for nic in nics]
        missing = [nic for nic in known if nic not in given]
        if missing:
            raise asr_error(400, "VmNicsMissing", f"The update lists {len(given)} of the {len(known)} NICs of the "
                            f"virtual machine; NICs not listed: {', '.join(missing)}.", call,
                            "The NIC list of an update replaces the virtual machine's NIC settings.",
                            "List every NIC of the virtual machine in vmNics, each with its selection type.")
        primary = properties.get("selectedSourceNicId")
        if primary and primary not in given:
            raise asr_error(400, "PrimaryNicNotInVmNics", f"The primary NIC '{primary}' is not among the NICs of "
                            "the update (vmNics).", call)
    if properties.get("selectedSourceNicId"):
        if properties["selectedSourceNicId"] not in known:
            raise asr_error(400, "InvalidNicId", f"The NIC '{properties['selectedSourceNicId']}' is not a NIC of the "
                            "virtual machine.", call)
        changes["primary_nic"] = properties["selectedSourceNicId"]
    for nic in [nic for nic in nics or [] if nic.get("selectionType") != "NotSelected"]:
        subnet = ((nic.get("ipConfigs") or [{}])[0]).get("recoverySubnetName")
        target = changes.get("network") or item.settings.get("network")
        if subnet and target and network.find_subnet(call.cloud, f"{target}/subnets/{subnet}") is None:
            raise asr_error(400, "TargetSubnetNotFound", f"The subnet '{subnet}' was not found in '{target}'.", call)
    mapping = {"recoveryAzureV2ResourceGroupId": "resource_group", "targetAvailabilityZone": "zone",
               "targetProximityPlacementGroupId": "ppg", "targetVmTags": "vm_tags", "targetManagedDiskTags": "disk_tags",
               "targetNicTags": "nic_tags", "sqlServerLicenseType": "sql_license_type",
               "linuxLicenseType": "linux_license_type", "userSelectedOSName": "os_name"}
    for source, target_key in mapping.items():
        if details.get(source) not in (None, ""):
            changes[target_key] = details[source]
    if details.get("useManagedDisks") is not None:
        changes["use_managed_disks"] = str(details["useManagedDisks"]).lower() != "false"
    if "resource_group" in changes and call.cloud.resource_group(
            ids.parse(changes["resource_group"]).get("resource_group", "")) is None:
        raise asr_error(400, "TargetResourceGroupNotFound", f"The resource group '{changes['resource_group']}' "
                        "was not found.", call)
    job = item_job(call, vault, fabric, item, "UpdateVmProperties", {"changes": changes, "nics": nics})
    return accepted(call, job, call.path, "item")


@on_item_task("UpdateVmProperties", "UpdateVmPropertiesTask")
def _apply_update(cloud: AzureCloud, job: Job) -> None:
    item = job_item(cloud, job)
    item.settings.update(job.params["changes"])
    if job.params["nics"] is not None:
        item.nic_settings = list(job.params["nics"])


@on_item_job_done("UpdateVmProperties", "ChangePit", "RepairReplication")
def _item_free(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    """The item takes operations again, whatever the job's outcome."""
    finish(item)


# --- remove (disable or complete migration) and purge ---

def remove(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    properties = ((call.body or {}).get("properties") or {})
    reason = properties.get("disableProtectionReason") or "NotSpecified"
    if reason not in ("NotSpecified", "MigrationComplete"):
        raise asr_error(400, "InvalidDisableProtectionReason", f"The disable protection reason '{reason}' is not valid.", call)
    require_operation(call, item, "CompleteMigration" if reason == "MigrationComplete" else "DisableProtection")
    job = item_job(call, vault, fabric, item, "DisableDr")
    return accepted(call, job, item_path(vault, fabric, item))


@on_item_task("DisableDr", "DisableProtection")
def _disable(cloud: AzureCloud, job: Job) -> None:
    item, host_vm = job_item(cloud, job), job_host_vm(cloud, job)
    replication.stop(cloud, item, host_vm, delete_seed=True)
    if host_vm is not None:
        host_vm.replication = None


@on_item_job_done("DisableDr")
def _disable_done(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    finish(item)
    if job.state == "Succeeded":
        job_fabric(cloud, job).items.pop(item.name.lower(), None)


def purge(call: ArmCall) -> Response:
    """Force-delete the record, with no clean-up on the host or in Azure (the purge operation of the
    azure-rest-api-specs TypeSpec: a force delete; remove is the clean disable)."""
    vault, fabric, item = find_item(call)
    job = start_job(call.cloud, vault, "PurgeProtection", item.vm_id, item.vm_name,
                    details=affected_objects(vault, fabric, item.vm_id, item.vm_name), fabric=fabric.name, item=item.name)
    begin(item, job)
    return accepted(call, job, item_path(vault, fabric, item))


@on_task("PurgeProtection", "PurgeProtection")
def _forget(cloud: AzureCloud, job: Job) -> None:
    item = job_item(cloud, job)
    if item is not None:
        replication.forget(cloud, item)
        job_fabric(cloud, job).items.pop(item.name.lower(), None)


# --- recovery points and target sizes ---

def point_json(vault: VaultAsr, fabric: Fabric, item: ProtectedItem, point: RecoveryPoint) -> dict:
    return {"id": f"{item_path(vault, fabric, item)}/recoveryPoints/{point.name}", "name": point.name, "type": T_RP,
            "properties": {"recoveryPointTime": iso(point.time), "recoveryPointType": point.kind,
                           "providerSpecificDetails": None}}


def list_points(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    return json_body(200, {"value": [point_json(vault, fabric, item, p) for p in reversed(item.recovery_points)],
                           "nextLink": None})


def get_point(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    point = next((p for p in item.recovery_points if p.name.lower() == call.params["point"].lower()), None)
    if point is None:
        raise asr_error(404, "RecoveryPointNotFound", f"The recovery point '{call.params['point']}' was not found.", call)
    return json_body(200, point_json(vault, fabric, item, point))


def target_sizes(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    return json_body(200, {"value": [{
        "name": name, "type": "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
                              "replicationProtectedItems/targetComputeSizes",
        "properties": {"name": name, "friendlyName": name, "cpuCoresCount": cores, "vCPUsAvailable": cores,
                       "memoryInGB": round(memory / 1024, 2), "maxDataDiskCount": disks, "maxNicsCount": nics,
                       "errors": [], "highIopsSupported": "Supported" if "s_" in name or name.endswith("s") else
                       "NotSupported", "hyperVGenerations": ["V1", "V2"]}}
        for name, (cores, memory, disks, nics) in compute.VM_SIZES.items()], "nextLink": None})


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", CONTAINER + "/replicationProtectedItems", list_items)
    add("GET", VAULT + "/replicationProtectedItems", list_vault_items)
    add("GET", ITEM, get_item)
    add("PATCH", ITEM, update)
    add("DELETE", ITEM, purge)
    add("POST", ITEM + "/remove", remove)
    add("GET", ITEM + "/recoveryPoints", list_points)
    add("GET", ITEM + "/recoveryPoints/{point}", get_point)
    add("GET", ITEM + "/targetComputeSizes", target_sizes)
