"""The failover family of a replication protected item: test failover and its cleanup, planned
and unplanned failover, commit, cancel, change of recovery point, resynchronisation, reprotect.

Hooks at the recorded tasks change the world: the test VM ("-test", recorded testVmName
"hyperV1-test") and the failed-over VM are built from the item as Azure builds them (its protected
managed disks with their own types, the OS disk the one it names, a NIC for each selected vmNic in
that NIC's subnet with selectedSourceNicId primary, its target tags), and get a power state; a
planned failover shuts the source VM down and runs the final sync first (planned_failover.json
tasks; Microsoft Learn, learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v: "shut down virtual
machines and perform a planned migration with no data loss"). State strings after a failover follow
the azure-rest-api-specs examples for planned failover, and the values observed live in
Azure/reliability-workbook#130 for unplanned.
"""

from __future__ import annotations

from lab.azure import compute, ids, network, replication
from lab.azure.arm import Arm, ArmCall
from lab.azure.asr_common import accepted, asr_error, job_item
from lab.azure.item_views import (
    TEST_FAILOVER_FAILED_STATE, disk_views, item_path, primary_nic_id, target_disk_name, vm_nics,
)
from lab.azure.jobs import Job, JobFailed
from lab.azure.protected_items import (
    ITEM, find_item, finish, host_vm_of, item_job, job_host_vm, on_item_job_done, on_item_task, on_item_task_start,
    require_operation,
)
from lab.azure.state import AzureCloud, ProtectedItem, RecoveryPoint
from lab.http import Response

# --- test failover and cleanup ---


def _direction(call: ArmCall, properties: dict, expected: str = "PrimaryToRecovery") -> None:
    """reprotect.json entry 12: the service's answer to a direction the item can't take."""
    direction = properties.get("failoverDirection") or expected
    if direction != expected:
        raise asr_error(400, "InvalidFailoverDirection",
                        "Invalid failover direction was specified. Verify input and try operation again.", call)


def _recovery_point(call: ArmCall, item: ProtectedItem, properties: dict) -> RecoveryPoint | None:
    wanted = (properties.get("providerSpecificDetails") or {}).get("recoveryPointId") or properties.get("recoveryPointId")
    if not wanted:
        return item.recovery_points[-1] if item.recovery_points else None
    point = next((p for p in item.recovery_points if p.name.lower() == ids.last_segment(wanted).lower()), None)
    if point is None:
        raise asr_error(400, "InvalidRecoveryPoint", f"The recovery point '{wanted}' was not found.", call)
    return point


def _replica_disks(cloud: AzureCloud, item: ProtectedItem, host_vm) -> list[dict]:
    """The disks the failed-over VM gets, the OS disk first: with managed-disk replication exactly the item's
    protectedManagedDisks, each with its replicaDiskType and copied from its seed disk; in storage-account mode
    the disks of disksToInclude (every disk when absent) with the item's disk type, imported from the account.
    The OS disk is the one the item names (vhdId), whatever the order the host lists the disks in."""
    vm_disks, managed = disk_views(cloud, item, host_vm)
    os_vhd = item.settings.get("os_vhd")
    by_vhd = {disk["vhdId"]: disk for disk in vm_disks}
    if item.settings.get("managed_replication"):
        chosen = [{"vhdId": m["diskId"], "type": m["replicaDiskType"], "size_gb": m["diskSizeInGB"],
                   "creation": {"createOption": "Copy", "sourceResourceId": m["seedManagedDiskId"]}} for m in managed]
    else:
        account = item.settings.get("storage_account") or ""
        wanted = item.enable_input.get("disksToInclude") or list(by_vhd)
        chosen = [{"vhdId": vhd, "type": item.settings["disk_type"], "size_gb": -(-int(by_vhd[vhd]["maxSizeMB"]) // 1024),
                   "creation": {"createOption": "Import", "sourceUri": f"{account}/{by_vhd[vhd]['vhdName']}.vhd",
                                "storageAccountId": account}} for vhd in wanted if vhd in by_vhd]
    return sorted(chosen, key=lambda disk: disk["vhdId"] != os_vhd)


def _selected_nics(item: ProtectedItem, host_vm) -> list[dict]:
    """The item's vmNics that become NICs of the Azure VM (every NIC but the NotSelected ones, in the VM's
    adapter order), each with its index on the VM; the primary one (selectedSourceNicId) first."""
    primary = primary_nic_id(item, host_vm)
    nics = [dict(nic, index=index) for index, nic in enumerate(vm_nics(item, host_vm))
            if nic["selectionType"] != "NotSelected"]
    return sorted(nics, key=lambda nic: nic["nicId"] != primary)


def _subnet_for(cloud: AzureCloud, network_id: str, wanted: str | None, fallback: bool) -> dict | None:
    """The subnet named `wanted` in the network; when it has none of that name and `fallback` is set (test
    failover), the first subnet in alphabetical order, as Site Recovery picks it."""
    vnet = cloud.get(network_id) if network_id else None
    subnets = vnet["properties"]["subnets"] if vnet else []
    named = next((x for x in subnets if wanted and x["name"].lower() == wanted.lower()), None)
    if named is not None or not fallback:
        return named
    return min(subnets, key=lambda x: x["name"].lower()) if subnets else None


def _check_target(cloud: AzureCloud, item: ProtectedItem, host_vm) -> None:
    """What the failover prerequisites check refuses before anything changes: no target network, no NIC
    selected, a primary NIC that is not selected, a selected NIC whose recovery subnet is gone (assumption:
    the codes are the lab's, the service's are not recorded)."""
    network_id = item.settings.get("network")
    if not network_id:
        raise JobFailed("TargetNetworkNotConfigured", "The target network for the virtual machine isn't "
                        "configured.", "Compute and network settings of the item have no target network.")
    nics = _selected_nics(item, host_vm)
    if not nics:
        raise JobFailed("NoNicSelectedForFailover", "No network adapter of the virtual machine is selected for "
                        "failover.", "Every NIC of the item has selectionType NotSelected; an Azure VM needs one.")
    if nics[0]["nicId"] != primary_nic_id(item, host_vm):
        raise JobFailed("PrimaryNicNotSelected", "The primary network adapter of the virtual machine is not "
                        "selected for failover.", "selectedSourceNicId names a NIC whose selectionType is NotSelected.")
    for nic in nics:
        subnet = nic["ipConfigs"][0]["recoverySubnetName"]
        if _subnet_for(cloud, network_id, subnet, fallback=False) is None:
            raise JobFailed("TargetSubnetNotFound", f"The subnet '{subnet}' was not found in the target network "
                            f"'{network_id}'.", "The subnet was deleted after the target settings were saved.")
    # A resource group holds one VM of a name (Compute's create-or-update would change that VM, not make another):
    # a failover whose target VM name is taken there fails before the source is shut down (the code is the lab's).
    name, group = item.settings.get("vm_name") or "", ids.parse(item.settings.get("resource_group") or "").get("resource_group")
    taken = [vm for vm in cloud.find("Microsoft.Compute/virtualMachines", group)
             if vm["name"].lower() == name.lower() and ids.key(vm["id"]) != ids.key(item.failover_vm_id or "")] if group else []
    if taken:
        raise JobFailed("TargetVmNameAlreadyInUse", f"A virtual machine named '{name}' already exists in resource group "
                        f"'{group}'.", "Another VM (or an earlier failover of another replicated VM) has the target VM name.")


def _create_azure_vm(cloud: AzureCloud, item: ProtectedItem, host_vm, name: str, network_id: str | None,
                     test: bool = False) -> str:
    """The Azure VM Site Recovery builds from the item's HyperVReplicaAzureReplicationDetails: its replica
    disks (_replica_disks), a NIC for each selected vmNic in that NIC's subnet (recovery subnet, or the test
    failover subnet in the test network), the selectedSourceNicId one primary, the item's target tags on VM, disks and NICs; the VM stopped.
    Returns the VM id."""
    s = item.settings
    rg = ids.parse(s["resource_group"])["resource_group"]
    location = cloud.resource_group(rg)["location"]
    generation = "V2" if host_vm is not None and host_vm.generation == 2 else "V1"
    disk_ids = []
    for lun, disk in enumerate(_replica_disks(cloud, item, host_vm)):
        document = compute.create_disk_internal(
            cloud, rg, target_disk_name(item, lun, name), location, disk["size_gb"], disk["type"], disk["creation"],
            s["os_type"] if lun == 0 else None, generation if lun == 0 else None, s.get("disk_tags"))
        disk_ids.append(document["id"])
    nic_ids = []
    for nic in _selected_nics(item, host_vm) if network_id else []:
        config = nic["ipConfigs"][0]
        wanted = config["tfoSubnetName"] if test else config["recoverySubnetName"]
        subnet = _subnet_for(cloud, network_id, wanted, fallback=test)
        if subnet is None:
            continue
        nic_name = (nic["tfoRecoveryNicName"] or f"nic-{name.lower()}-{nic['index']:02d}") if test else \
            (nic["recoveryNicName"] or nic["targetNicName"])
        static_ip = (config["tfoStaticIPAddress"] if test else config["recoveryStaticIPAddress"]) or None
        document = network.create_nic(cloud, rg, nic_name, subnet["id"], location, s.get("nic_tags"), static_ip)
        nic_ids.append(document["id"])
    vm = compute.create_vm_internal(cloud, rg, name, location, s["vm_size"], disk_ids[0], s["os_type"], disk_ids[1:],
                                    nic_ids, s.get("vm_tags"), power="stopped")
    return vm["id"]


def test_failover(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    require_operation(call, item, "TestFailover")
    properties = call.require_body().get("properties") or {}
    _direction(call, properties)
    network_type = properties.get("networkType") or "VmNetworkAsInput"
    network_id = properties.get("networkId")
    if network_type == "VmNetworkAsInput":
        if not network_id or call.cloud.get(network_id) is None:
            raise asr_error(400, "TestFailoverNetworkNotFound", f"The test failover network '{network_id}' was not "
                            "found.", call)
    _recovery_point(call, item, properties)      # refuses a recovery point the item does not have
    test_name = f"{item.settings['vm_name']}-test"    # recorded testVmName "hyperV1-test"
    network_name = ids.last_segment(network_id) if network_id else ""
    details = {"testFailoverStatus": "Active", "comments": None, "networkName": network_name,
               "networkFriendlyName": network_name, "networkType": network_type, "protectedItemDetails": []}
    item.test_failover_state, item.test_failover_description = "InProgress", "Test failover in progress"
    job = item_job(call, vault, fabric, item, "TestFailover", {"network": network_id, "test_vm_name": test_name},
                   details=details)
    return accepted(call, job, item_path(vault, fabric, item), "item")


@on_item_task("TestFailover", "VmTfoPrepareTestVm")
def _prepare_test_vm(cloud: AzureCloud, job: Job) -> None:
    item = job_item(cloud, job)
    item.test_vm_id = _create_azure_vm(cloud, item, job_host_vm(cloud, job), job.params["test_vm_name"],
                                       job.params["network"], test=True)


@on_item_task("TestFailover", "VmTfoBootTestVm")
def _boot_test_vm(cloud: AzureCloud, job: Job) -> None:
    cloud.vm_power[ids.key(job_item(cloud, job).test_vm_id)] = "running"


@on_item_job_done("TestFailover")
def _test_failover_done(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    if job.state == "Succeeded":
        item.last_test_failover = job.ended
        item.test_failover_state, item.test_failover_description = "WaitingForCompletion", "Waiting for user input"
        item.protection_description = "Cleanup test failover pending"     # spec example ReplicationProtectedItems_TestFailover.json
        finish(item, keep_scenario=True)     # currentScenario stays TestFailover until cleanup (spec example)
    else:
        # What the failed attempt created stays until the clean-up, which Azure then asks for
        # (item_views.TEST_FAILOVER_FAILED_STATE; an assumption, see there).
        item.test_failover_state, item.test_failover_description = TEST_FAILOVER_FAILED_STATE, "Test failover failed"
        finish(item, keep_scenario=True)


def test_failover_cleanup(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    require_operation(call, item, "TestFailoverCleanup")
    comments = ((call.body or {}).get("properties") or {}).get("comments")
    item.test_failover_state, item.test_failover_description = "MarkedForDeletion", "Cleaning up test environment"
    details = {"testFailoverStatus": None, "comments": comments, "networkName": None, "networkFriendlyName": None,
               "networkType": None, "protectedItemDetails": []}
    job = item_job(call, vault, fabric, item, "TestFailoverCleanup", details=details)
    return accepted(call, job, item_path(vault, fabric, item), "item")


@on_item_task("TestFailoverCleanup", "VmTfoDeleteTestVm")
def _delete_test_vm(cloud: AzureCloud, job: Job) -> None:
    item = job_item(cloud, job)
    if item.test_vm_id:
        compute.delete_vm_internal(cloud, item.test_vm_id, delete_disks=True, delete_nics=True)
        item.test_vm_id = None


@on_item_job_done("TestFailoverCleanup")
def _test_failover_cleanup_done(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    # 47 s after cleanup the item still read MarkedForDeletion with the normal operations
    # (planned_failover.json entries 6-7), so the state is left as it is.
    item.protection_description = "Protected"
    finish(item)


# --- failover, commit, cancel, change recovery point ---

def _failover(call: ArmCall, planned: bool) -> Response:
    vault, fabric, item = find_item(call)
    require_operation(call, item, "PlannedFailover" if planned else "UnplannedFailover")
    properties = call.require_body().get("properties") or {}
    _direction(call, properties)
    shutdown = planned or properties.get("sourceSiteOperations") == "Required"
    point = None if planned else _recovery_point(call, item, properties)
    host_vm = host_vm_of(call.cloud, fabric, item)
    was_running = host_vm is not None and host_vm.state == "Running"
    item.protection_state = "PlannedFailoverInitiated" if planned else "UnplannedFailoverInitiated"
    item.protection_description = "Planned failover in progress" if planned else "Failover in progress"
    params = {"planned": planned, "shutdown": shutdown, "was_running": was_running,
              "points": [point.name] if point else []}     # the recovery points chosen, the one used last
    job = item_job(call, vault, fabric, item, "PlannedFailover" if planned else "UnplannedFailover", params,
                   details={"protectedItemDetails": []})
    return accepted(call, job, item_path(vault, fabric, item), "item")


@on_item_task("PlannedFailover", "VmPfoPrerequisitesCheck")
@on_item_task("UnplannedFailover", "VmUfoPrerequisitesCheck")
def _failover_prerequisites(cloud: AzureCloud, job: Job) -> None:
    _check_target(cloud, job_item(cloud, job), job_host_vm(cloud, job))


@on_item_task("PlannedFailover", "VmShutdownVmOnPrimary")
@on_item_task("UnplannedFailover", "VmShutdownVmOnPrimary")
def _shut_down_source(cloud: AzureCloud, job: Job) -> None:
    host_vm = job_host_vm(cloud, job)
    if job.params["shutdown"] and host_vm is not None:
        host_vm.state = "Off"


@on_item_task_start("PlannedFailover", "VmPrepareForFailover")
def _final_sync_length(cloud: AzureCloud, job: Job) -> None:
    job.tasks[2].seconds = max(30.0, replication.final_sync_seconds(cloud, job_item(cloud, job)))


@on_item_task("PlannedFailover", "VmPrepareForFailover")
def _final_sync(cloud: AzureCloud, job: Job) -> None:
    host_vm = job_host_vm(cloud, job)
    job.params["points"].append(replication.final_sync(cloud, job_item(cloud, job)).name)
    if host_vm is not None and host_vm.replication is not None:
        host_vm.replication.state = "PreparedForFailover"


@on_item_task("PlannedFailover", "VmFailover")
@on_item_task("UnplannedFailover", "VmFailover")
def _fail_over(cloud: AzureCloud, job: Job) -> None:
    item, host_vm = job_item(cloud, job), job_host_vm(cloud, job)
    if not job.params["points"]:
        job.params["points"].append(replication.latest_point(cloud, item).name)
    replication.stop(cloud, item, host_vm, delete_seed=False)
    if host_vm is not None and host_vm.replication is not None:
        host_vm.replication.state = "FailedOver"
    item.failover_recovery_point = job.params["points"][-1]
    item.failover_vm_id = _create_azure_vm(cloud, item, host_vm, item.settings["vm_name"], item.settings["network"])


@on_item_task("PlannedFailover", "VmFoStartVmOnSecondary")
@on_item_task("UnplannedFailover", "VmFoStartVmOnSecondary")
def _start_failed_over_vm(cloud: AzureCloud, job: Job) -> None:
    cloud.vm_power[ids.key(job_item(cloud, job).failover_vm_id)] = "running"


@on_item_job_done("PlannedFailover", "UnplannedFailover")
def _failover_done(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    finish(item)
    if job.state == "Succeeded":
        planned = job.params["planned"]
        item.failed_over = "Planned" if planned else "Unplanned"
        item.active_location = "Recovery"
        item.last_failover = job.ended
        item.pre_failover_running = job.params["was_running"]
        if planned:   # spec example ReplicationProtectedItems_PlannedFailover.json
            item.protection_state, item.protection_description = "PlannedFailoverCommitRequired", "Planned failover finished"
        else:         # observed live (Azure/reliability-workbook#130)
            item.protection_state = "UnplannedFailoverCommitPendingStatesBegin"
            item.protection_description = "Failover completed"
    else:
        item.protection_state, item.protection_description = "Protected", "Protected"
        replication.resume(cloud, item, job_host_vm(cloud, job), job.event_time)


def planned_failover(call: ArmCall) -> Response:
    return _failover(call, planned=True)


def unplanned_failover(call: ArmCall) -> Response:
    return _failover(call, planned=False)


def _item_action(call: ArmCall, operation: str, scenario: str) -> Response:
    """An action on the item that takes no input: allowed by the item's operations, it runs the scenario's job."""
    vault, fabric, item = find_item(call)
    require_operation(call, item, operation)
    job = item_job(call, vault, fabric, item, scenario)
    return accepted(call, job, item_path(vault, fabric, item), "item")


def commit(call: ArmCall) -> Response:
    return _item_action(call, "Commit", "CommitFailover")


@on_item_task("CommitFailover", "VmCommitFailover")
def _commit(cloud: AzureCloud, job: Job) -> None:
    # Commit finalises the failover and deletes the other recovery points (spec example ReplicationProtectedItems_FailoverCommit.json).
    item = job_item(cloud, job)
    item.recovery_points = [p for p in item.recovery_points if p.name == item.failover_recovery_point]


@on_item_job_done("CommitFailover")
def _commit_done(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    finish(item)
    if job.state == "Succeeded":
        item.committed = True
        if item.failed_over == "Planned":    # spec example ReplicationProtectedItems_FailoverCommit.json
            item.protection_state, item.protection_description = "PlannedFailoverStatesBegin", "Planned failover committed"
        else:                               # observed live (Azure/reliability-workbook#130)
            item.protection_state, item.protection_description = "UnplannedFailoverCommitted", "Failover committed"


def cancel(call: ArmCall) -> Response:
    return _item_action(call, "CancelFailover", "CancelFailover")


@on_item_task("CancelFailover", "VmCancelFailover")
def _undo_failover(cloud: AzureCloud, job: Job) -> None:
    item, host_vm = job_item(cloud, job), job_host_vm(cloud, job)
    if item.failover_vm_id:
        compute.delete_vm_internal(cloud, item.failover_vm_id, delete_disks=True, delete_nics=True)
        item.failover_vm_id = None
    if host_vm is not None and item.pre_failover_running:
        host_vm.state = "Running"     # inference: the source comes back as it was before the failover


@on_item_job_done("CancelFailover")
def _cancel_done(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    finish(item)
    if job.state == "Succeeded":
        item.failed_over = None
        item.active_location = "Primary"
        item.failover_recovery_point = None
        item.protection_state, item.protection_description = "Protected", "Protected"
        replication.resume(cloud, item, job_host_vm(cloud, job), job.event_time)


def apply_recovery_point(call: ArmCall) -> Response:
    vault, fabric, item = find_item(call)
    require_operation(call, item, "ChangePit")
    properties = call.require_body().get("properties") or {}
    if not properties.get("recoveryPointId"):
        raise asr_error(400, "InvalidRecoveryPoint", "A recoveryPointId is required.", call)
    point = _recovery_point(call, item, properties)
    job = item_job(call, vault, fabric, item, "ChangePit", {"point": point.name})
    return accepted(call, job, item_path(vault, fabric, item), "item")


@on_item_task("ChangePit", "VmChangePit")
def _change_recovery_point(cloud: AzureCloud, job: Job) -> None:
    job_item(cloud, job).failover_recovery_point = job.params["point"]


def repair(call: ArmCall) -> Response:
    return _item_action(call, "RepairReplication", "RepairReplication")


@on_item_task("RepairReplication", "VmRepairReplication")
def _resynchronize(cloud: AzureCloud, job: Job) -> None:
    replication.resynchronize(cloud, job_item(cloud, job), job_host_vm(cloud, job), job.event_time)


def reprotect(call: ArmCall) -> Response:
    """Failback is not part of a migration; the lab answers what the service answers when the
    item can't be reprotected in the asked direction (reprotect.json entry 12)."""
    vault, fabric, item = find_item(call)
    properties = call.require_body().get("properties") or {}
    expected = "RecoveryToPrimary" if item.active_location == "Recovery" else "PrimaryToRecovery"
    _direction(call, {"failoverDirection": properties.get("failoverDirection")}, expected)
    raise asr_error(400, "ReprotectNotSupported", "Reprotect (failback to Hyper-V) is not supported by the lab.", call)


def register(arm: Arm) -> None:
    for action, handler in (("testFailover", test_failover), ("testFailoverCleanup", test_failover_cleanup),
                            ("plannedFailover", planned_failover), ("unplannedFailover", unplanned_failover),
                            ("failoverCommit", commit), ("failoverCancel", cancel),
                            ("applyRecoveryPoint", apply_recovery_point), ("repairReplication", repair),
                            ("reProtect", reprotect)):
        arm.router.add("POST", ITEM + "/" + action, handler)
