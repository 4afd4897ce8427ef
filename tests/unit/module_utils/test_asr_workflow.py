"""The decisions of replication, test_migration and migration, on the recorded bodies and spec-shaped variations.

The recordings hold a Protected item (planned_failover.json entry 6) and a discovered VM (enable_managed_disks.json
entry 9); the failed-over, committed and test-failover shapes are the spec examples' allowedOperations and
activeLocation (asr-recordings/README.md, "What the recordings settle") applied to the recorded item, with
protectionState strings that differ on purpose: the decisions must not read them.
"""

import copy

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_workflow import (
    azure_vm_id, enable_input, find_protectable, immutable_changes, migration_plan, migration_position, migration_step,
    resolve_disks, running_job, settings_changes, target_settings, update_input,
    validate_enable_options, vm_problems, vm_summary,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_workflow import test_failover_step as trial_step
from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_workflow import test_vm_name as trial_vm_name


from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_items import SCENARIO_JOB_KEY

from asr_recordings import entry, needs_recordings

PROTECTED_OPERATIONS = ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]

pytestmark = needs_recordings
SUB = "7c943c1b-5122-4097-90c8-861411bdd574"
JOB = "/Subscriptions/%s/resourceGroups/E2ERg/providers/Microsoft.RecoveryServices/vaults/E2ETest/replicationJobs/" % SUB


@pytest.fixture
def protected():
    """hyperV1, Protected on the primary side, idle (planned_failover.json entry 6)."""
    return copy.deepcopy(entry("planned_failover.json", 6)["response_body"]["value"][0])


def shaped(item, operations, location="Primary", scenario=None, protection_state="SomethingNew"):
    item = copy.deepcopy(item)
    properties = item["properties"]
    properties.update(allowedOperations=operations, activeLocation=location, protectionState=protection_state)
    if scenario:
        properties["currentScenario"] = {"scenarioName": scenario, "jobId": JOB + "job-1", "startTime": "2025-06-02T06:00:00Z"}
    return item


@pytest.fixture
def discovered():
    """A discovered VM with one Data disk only (enable_managed_disks.json entry 9, the protectable-items list)."""
    return copy.deepcopy(entry("enable_managed_disks.json", 9)["response_body"]["value"][0])


# --- migration steps ---

def test_protected_item_fails_over_then_commits_then_completes(protected):
    assert migration_step(protected, "completed") == ("planned_failover", None)
    assert migration_step(protected, "completed", "unplanned") == ("unplanned_failover", None)
    assert [step for step, _detail in migration_plan(protected, "completed")] == ["planned_failover", "commit", "complete"]
    assert [step for step, _detail in migration_plan(protected, "failed_over")] == ["planned_failover"]


def test_failed_over_item_is_committed_never_failed_over_again(protected):
    failed_over = shaped(protected, ["CompleteMigration", "Commit", "DisableProtection", "ChangePit"], "Recovery")
    assert migration_step(failed_over, "completed") == ("commit", None)
    assert migration_step(failed_over, "failed_over") == ("done", None)
    assert [step for step, _detail in migration_plan(failed_over, "completed")] == ["commit", "complete"]
    # even if the service (wrongly) offered a failover again, the recovery side never fails over
    odd = shaped(protected, ["PlannedFailover", "Commit"], "Recovery")
    assert migration_step(odd, "completed")[0] == "commit"


def test_committed_item_completes_and_is_done_for_committed(protected):
    committed = shaped(protected, ["CompleteMigration", "DisableProtection", "Failback"], "Recovery")
    assert migration_step(committed, "completed") == ("complete", None)
    assert migration_step(committed, "committed") == ("done", None)
    assert migration_position(committed) == "committed"
    assert migration_plan(committed, "committed") == []


def test_gone_item_is_absent(protected):
    assert migration_step(None, "completed") == ("absent", None)
    assert migration_position(None) == "completed"


def test_running_job_is_waited_for_and_counted(protected):
    busy = shaped(protected, [], "Primary", scenario="PlannedFailover")
    assert running_job(busy) == "job-1"
    assert migration_step(busy, "completed") == ("wait", "job-1")
    assert [step for step, _detail in migration_plan(busy, "completed")] == ["wait", "commit", "complete"]


def test_active_test_failover_blocks_migration_and_is_not_a_running_job(protected):
    testing = shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover")
    assert running_job(testing) is None
    step, reason = migration_step(testing, "completed")
    assert step == "blocked" and "test_migration state=absent" in reason


def test_initial_replication_blocks_migration_with_the_allowed_operations(protected):
    step, reason = migration_step(shaped(protected, ["DisableProtection"]), "completed")
    assert step == "blocked" and "DisableProtection" in reason and "initial replication" in reason


def test_decisions_ignore_protection_state_text(protected):
    for text in ("Protected", "PlannedFailoverCommitRequired", "UnplannedFailoverCommitPendingStatesBegin", "x"):
        assert migration_step(shaped(protected, ["CompleteMigration", "Commit"], "Recovery", protection_state=text),
                              "completed") == ("commit", None)


# --- test failover steps ---

def test_test_failover_steps(protected):
    assert trial_step(protected, "present") == ("test_failover", None)
    assert trial_step(protected, "absent") == ("done", None)
    testing = shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover")
    assert trial_step(testing, "present") == ("done", None)
    assert trial_step(testing, "absent") == ("cleanup", None)
    assert trial_step(shaped(protected, [], scenario="TestFailover"), "present") == ("wait", "job-1")
    assert trial_step(shaped(protected, ["Commit"], "Recovery"), "present")[0] == "blocked"


def test_test_vm_name_from_the_job_else_the_suffix(protected):
    job = entry("test_failover.json", 18)["response_body"]
    assert trial_vm_name(protected, job) == "hyperV1-test"
    assert trial_vm_name(protected) == "hyperV1-test"


# --- enable ---

def options(**given):
    base = dict(state="present", managed_disk_replication=True, target_storage_account_id=None, disk_types=None,
                target_vm_name=None, availability_zone=None, availability_set_id=None, target_subnet=None,
                target_network=None, target_resource_group="rg-migrated", log_storage_account_id=None, timeout=60,
                os_disk=None, disks=None, disk_type="Standard_LRS", os_type="Windows", target_vm_size=None,
                license_type=None, sql_server_license_type=None, tags=None, policy=None)
    base.update(given)
    return base


STORAGE = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sah2atest" % SUB


@pytest.mark.parametrize("given, words", [
    (dict(target_storage_account_id=STORAGE), ["target_storage_account_id", "managed_disk_replication=true", "6001"]),
    (dict(managed_disk_replication=False), ["managed_disk_replication is false", "target_storage_account_id"]),
    (dict(managed_disk_replication=False, target_storage_account_id=STORAGE, disk_types={"d": "Premium_LRS"}), ["disk_types"]),
    (dict(disk_types={"os": "Fast_SSD"}), ["disk_types['os']", "'Fast_SSD'", "Premium_LRS"]),
    (dict(target_vm_name="web_01"), ["target_vm_name", "'web_01'", "1 to 63"]),
    (dict(availability_zone="4"), ["availability_zone", "'4'", "1, 2 or 3"]),
    (dict(availability_zone="1", availability_set_id=STORAGE.replace("Storage/storageAccounts", "Compute/availabilitySets")),
     ["availability_zone", "availability_set_id", "together"]),
    (dict(target_subnet="default"), ["target_subnet", "needs target_network"]),
    (dict(target_network="/subscriptions/x/resourceGroups/r/providers/Microsoft.Compute/disks/d"), ["target_network", "virtualNetworks"]),
    (dict(log_storage_account_id="sah2atest"), ["log_storage_account_id", "'sah2atest'", "ARM id"]),
    (dict(target_resource_group="rg with spaces"), ["target_resource_group", "'rg with spaces'"]),
    (dict(timeout=0), ["timeout", "at least 1"]),
])
def test_bad_enable_options_are_named_with_value_and_allowed(given, words):
    problems = " ".join(validate_enable_options(options(**given)))
    assert problems and all(word in problems for word in words), problems


def test_good_options_pass():
    assert validate_enable_options(options(target_network="vnet-migrated", target_subnet="default")) == []


def test_find_protectable_by_name_id_and_refuses_ambiguous(discovered):
    twin = copy.deepcopy(discovered)
    twin["name"] = twin["properties"]["customDetails"]["sourceItemId"] = "00000000-0000-0000-0000-000000000001"
    vm_name = discovered["properties"]["friendlyName"]
    assert find_protectable([discovered], vm_name.lower())["name"] == discovered["name"]
    assert find_protectable([discovered, twin], discovered["name"].upper()) is discovered
    with pytest.raises(ValueError, match="matches 2 VMs"):
        find_protectable([discovered, twin], vm_name.upper())
    with pytest.raises(ValueError, match="not a VM the vault discovered"):
        find_protectable([discovered], "nope")


def test_os_disk_falls_back_to_the_first_disk_and_bad_disks_are_named(discovered):
    os_disk, included, _types, problems = resolve_disks(discovered, options())
    assert problems == [] and os_disk["vhd_id"] == included[0]["vhd_id"]
    problems = resolve_disks(discovered, options(os_disk="nope", disks=["nope2"], disk_types={"nope3": "Premium_LRS"}))[3]
    disk_name = discovered["properties"]["customDetails"]["diskDetails"][0]["vhdName"]
    assert len(problems) == 3 and all(disk_name in problem for problem in problems)


def test_enable_body_managed_disks_with_a_type_per_disk(discovered):
    vhd = discovered["properties"]["customDetails"]["diskDetails"][0]["vhdId"]
    body = enable_input(discovered, "/policy", options(disk_types={vhd: "Premium_LRS"}, target_network="vnet-migrated",
                                                       target_subnet="default", tags={"wave": "1"}), SUB)
    details = body["properties"]["providerSpecificDetails"]
    assert details["useManagedDisksForReplication"] == "true" and "targetStorageAccountId" not in details
    assert details["disksToIncludeForManagedDisks"] == [{"diskId": vhd, "diskType": "Premium_LRS"}]
    assert details["targetAzureNetworkId"].endswith("/resourceGroups/rg-migrated/providers/Microsoft.Network/virtualNetworks/vnet-migrated")
    assert details["targetAzureSubnetId"] == "default" and details["targetVmTags"] == {"wave": "1"}
    assert details["hvHostVmId"] == discovered["name"] and body["properties"]["protectableItemId"] == discovered["id"]


def test_enable_body_storage_account(discovered):
    details = enable_input(discovered, "/p", options(managed_disk_replication=False, target_storage_account_id=STORAGE),
                           SUB)["properties"]["providerSpecificDetails"]
    assert details["targetStorageAccountId"] == STORAGE and "useManagedDisksForReplication" not in details


# --- update ---

def test_settings_changes_and_update_body(protected):
    current = target_settings(protected)
    assert current["target_vm_name"] == "hyperV1"
    changes = settings_changes(current, {"target_vm_size": "Standard_D2s_v3", "target_vm_name": "HYPERV1"})
    assert list(changes) == ["target_vm_size"]
    body = update_input(protected, changes)["properties"]
    assert body["recoveryAzureVMSize"] == "Standard_D2s_v3" and body["recoveryAzureVMName"] == "hyperV1"
    assert body["providerSpecificDetails"]["instanceType"] == "HyperVReplicaAzure"


def test_immutable_settings_are_refused(protected):
    problems = immutable_changes(protected, options(policy="other-policy"))
    assert any("policy" in problem for problem in problems) and "state=absent" in problems[-1]
    assert immutable_changes(protected, options(policy="B2APolicyTest1")) == []


def test_azure_vm_id_from_target_settings(protected):
    protected["properties"]["providerSpecificDetails"]["recoveryAzureResourceGroupId"] = "/subscriptions/s/resourceGroups/rg"
    assert azure_vm_id(protected) == "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/hyperV1"


# --- the Azure VM ---

def test_vm_summary_and_problems():
    vm = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web01", "name": "web01",
          "location": "westeurope", "properties": {
              "hardwareProfile": {"vmSize": "Standard_D2s_v3"}, "provisioningState": "Succeeded",
              "storageProfile": {"osDisk": {"name": "web01-OSdisk-00", "managedDisk": {"id": "/d/os"}}, "dataDisks": []},
              "networkProfile": {"networkInterfaces": [{"id": "/n/nic", "properties": {"primary": True}}]},
              "instanceView": {"statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}]}}}
    disks = {"/d/os": {"sku": {"name": "Premium_LRS"}, "properties": {"diskSizeGB": 127, "diskState": "Attached"}}}
    nics = {"/n/nic": {"name": "nic", "properties": {"ipConfigurations": [{"properties": {"privateIPAddress": "10.0.0.4"}}]}}}
    summary = vm_summary(vm, disks, nics)
    assert summary["power_state"] == "running" and summary["disks"][0]["sku"] == "Premium_LRS"
    assert summary["nics"][0]["private_ip"] == "10.0.0.4" and vm_problems(summary) == []
    vm["properties"]["instanceView"]["statuses"][1]["code"] = "PowerState/stopped"
    vm["properties"]["networkProfile"]["networkInterfaces"] = []
    assert vm_problems(vm_summary(vm, disks, {})) == ["power state is stopped, not running", "no network interface"]


def _with_job(item, scenario_job_state, scenario="PlannedFailover"):
    item = copy.deepcopy(item)
    item[SCENARIO_JOB_KEY] = {"name": "job-1", "properties": {"scenarioName": scenario, "state": scenario_job_state}}
    return item


def test_a_job_running_while_operations_stay_listed_is_waited_for(protected):
    """The service may keep DisableProtection (or more) listed during a job: the job's state decides, so a re-run
    while a failover runs waits for it instead of reporting "blocked"."""
    busy = _with_job(shaped(protected, ["DisableProtection"], scenario="PlannedFailover"), "InProgress")
    assert running_job(busy) == "job-1"
    assert migration_step(busy, "completed") == ("wait", "job-1")
    assert trial_step(busy, "present") == ("wait", "job-1")
    queued = _with_job(shaped(protected, PROTECTED_OPERATIONS, scenario="UpdateVmProperties"), "NotStarted")
    assert migration_step(queued, "completed") == ("wait", "job-1")
    ended = _with_job(shaped(protected, PROTECTED_OPERATIONS, scenario="PlannedFailover"), "Failed")
    assert running_job(ended) is None and migration_step(ended, "completed") == ("planned_failover", None)


def test_a_failed_test_failover_is_cleaned_up_and_retried_not_reported_done(protected):
    failed = _with_job(shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover"), "Failed", "TestFailover")
    assert trial_step(failed, "present") == ("cleanup", None)
    assert trial_step(failed, "absent") == ("cleanup", None)
    done = _with_job(shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover"), "Succeeded", "TestFailover")
    assert trial_step(done, "present") == ("done", None)
    by_state = shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover")
    by_state["properties"]["testFailoverState"] = "Failed"
    assert trial_step(by_state, "present") == ("cleanup", None)


def test_a_failed_enable_blocks_test_failover_with_its_error(protected):
    failed = _with_job(shaped(protected, ["DisableProtection"], scenario="EnableDr"), "Failed", "EnableDr")
    error = {"serviceErrorDetails": {"code": "70094", "message": "Protection couldn't be enabled."}}
    failed[SCENARIO_JOB_KEY]["properties"]["errors"] = [error]
    step, reason = trial_step(failed, "present")
    assert step == "blocked" and "70094" in reason and "Protection couldn't be enabled" in reason


def test_completion_falls_back_to_disable_when_complete_migration_is_not_listed(protected):
    committed = shaped(protected, ["DisableProtection", "Failback"], "Recovery")
    assert migration_step(committed, "completed") == ("complete", "NotSpecified")
    assert migration_step(shaped(protected, ["CompleteMigration", "DisableProtection"], "Recovery"), "completed") == \
        ("complete", None)
