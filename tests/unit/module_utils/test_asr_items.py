"""Normalising replication protected items, on the recorded bodies and on spec-shaped variations of them."""

import copy

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import SCENARIO_JOB_KEY, STATES
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import (
    failure,
    lifecycle_state,
    scenario_running,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import (
    filter_items,
    normalize_item,
    summarize,
)

from asr_recordings import entry, needs_recordings

PROVIDER = ("/Subscriptions/7c943c1b-5122-4097-90c8-861411bdd574/resourceGroups/E2ERg/providers/"
            "Microsoft.RecoveryServices/vaults/E2ETest/replicationFabrics/primaryFriendlyName/"
            "replicationRecoveryServicesProviders/55e8d752-473d-4205-b0f2-553f70d54ef9")


@pytest.fixture
def recorded_list():
    return entry("planned_failover.json", 6)["response_body"]["value"]


@pytest.fixture
def hyperv1(recorded_list):
    return copy.deepcopy(recorded_list[0])


@needs_recordings
def test_recorded_protected_item(hyperv1):
    # planned_failover.json entry 6: hyperV1 just after a test-failover cleanup.
    vm = normalize_item(hyperv1, {PROVIDER.lower(): "HV01.contoso.local"})
    assert vm["name"] == vm["vm_id"] == "b1956159-f3d3-4317-86d4-94fb027c6d95"
    assert vm["vm_name"] == "hyperV1" and vm["host"] == "HV01.contoso.local"
    assert vm["site"] == "primaryFriendlyName" and vm["container"] == "cloud_6e846d3a-d55c-5242-870b-c0b98cee05e2"
    assert vm["policy"] == "B2APolicyTest1"
    assert vm["state"] == "protected" and vm["protection_state"] == "Protected"
    assert vm["health"] == "Normal" and vm["failover_health"] == "Normal" and vm["errors"] == []
    assert vm["active_location"] == "Primary"
    assert vm["test_failover"] == {"state": "MarkedForDeletion", "description": "Cleaning up test environment",
                                   "last_success_time": "2017-09-20T13:15:03.2896486Z"}
    assert vm["current_operation"] is None
    assert vm["allowed_operations"] == ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]
    # The service says "0" on a protected item; a finished first copy reads 100.
    assert vm["initial_replication"] == {"type": "InitialReplication", "completed": True, "progress_percent": 100}
    assert vm["last_replication_time"] == "2017-09-20T18:54:36Z" and vm["rpo_seconds"] is None
    # 2017 casing: azureVMDiskDetails, recoveryAzureVMName.
    assert vm["disks"] == [{"vhd_id": "ecdaefa8-9206-4d8b-9ff8-7d4e9b6ec4e0", "name": "hyperV1",
                            "type": "OperatingSystem", "size_mb": 1024, "lun": 0}]
    assert vm["target"]["vm_name"] == "hyperV1" and vm["target"]["vm_size"] == "Basic_A0"
    assert vm["target"]["use_managed_disks"] is False
    assert vm["seed_disks"] == []


@needs_recordings
def test_every_recorded_item_normalises(recorded_list):
    items = list(recorded_list)
    items += entry("reprotect.json", 8)["response_body"]["value"]
    items += entry("test_failover.json", 6)["response_body"]["value"]
    items += [entry("planned_failover.json", 7)["response_body"], entry("test_failover.json", 7)["response_body"]]
    vms = [normalize_item(item) for item in items]
    assert len(vms) == 9
    assert all(vm["state"] == "protected" and vm["host"] is None and vm["vm_name"] for vm in vms)
    assert summarize(vms)["by_state"]["protected"] == 9


def modern(item):
    """The recorded item reshaped as the 2024 service sends it (Azure PowerShell's recorded
    UpdateRPIWithMangedDisksForReplication.json): new casing, healthErrors, RPO, managed seed disks."""
    item = copy.deepcopy(item)
    properties = item["properties"]
    for old in ("replicationHealthErrors", "failoverHealthErrors"):
        properties.pop(old)
    properties["failoverHealth"] = "Warning"
    properties["healthErrors"] = [{
        "errorSource": "ReplicationUnitFailoverValidatorError", "errorLevel": "Warning", "errorCategory": "TestFailover",
        "errorCode": "161011", "summaryMessage": "Test failover not done",
        "errorMessage": "No test failover was done on the virtual machine.",
        "possibleCauses": "A test failover was not done.", "recommendedAction": "Run a test failover.",
        "creationTimeUtc": "2024-10-29T14:05:10Z", "errorId": "6:8010", "customerResolvability": "Allowed"}]
    details = properties["providerSpecificDetails"]
    details["azureVmDiskDetails"] = details.pop("azureVMDiskDetails")
    details["recoveryAzureVmName"] = details.pop("recoveryAzureVMName")
    details.update(rpoInSeconds=396, lastRecoveryPointReceived="2024-10-29T14:04:00Z", useManagedDisks="true",
                   protectedManagedDisks=[{"diskId": "ecdaefa8-9206-4d8b-9ff8-7d4e9b6ec4e0", "replicaDiskType": "Standard_LRS",
                                           "seedManagedDiskId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
                                                                "disks/asrseeddisk-hyperv1-ecdaefa8",
                                           "targetDiskAccountType": "Premium_LRS"}])
    return item


@needs_recordings
def test_2024_shape(hyperv1):
    vm = normalize_item(modern(hyperv1))
    assert vm["rpo_seconds"] == 396 and vm["last_recovery_point_time"] == "2024-10-29T14:04:00Z"
    assert vm["errors"] == [{"code": "161011", "category": "TestFailover", "severity": "Warning",
                             "message": "No test failover was done on the virtual machine.",
                             "possible_causes": "A test failover was not done.", "recommended_action": "Run a test failover.",
                             "source": "ReplicationUnitFailoverValidatorError", "created": "2024-10-29T14:05:10Z"}]
    assert vm["seed_disks"][0]["seed_managed_disk_id"].endswith("asrseeddisk-hyperv1-ecdaefa8")
    assert vm["disks"][0]["type"] == "OperatingSystem" and vm["target"]["vm_name"] == "hyperV1"
    assert vm["target"]["use_managed_disks"] is True


def with_state(item, operations, location="Primary", scenario="None", progress=None, test_state="None"):
    item = copy.deepcopy(item)
    properties = item["properties"]
    properties["allowedOperations"] = operations
    properties["activeLocation"] = location
    properties["testFailoverState"] = test_state
    properties["currentScenario"] = {"scenarioName": scenario,
                                     "jobId": properties["currentScenario"]["jobId"].replace("/None", "/job-%s" % scenario)
                                     if scenario != "None" else properties["currentScenario"]["jobId"],
                                     "startTime": "2024-01-01T00:00:00Z"}
    if progress is not None:
        properties["providerSpecificDetails"]["initialReplicationDetails"]["initialReplicationProgressPercentage"] = progress
    return item


# The spec's states, which no recording shows (asr-recordings README, "For reference only"), and
# the lifecycle state each must give. Decided from operations, location and scenario only: the
# protectionState strings are deliberately left as recorded ("Protected").
SPEC_STATES = [
    (dict(operations=[], scenario="EnableDr", progress="0"), "enabling"),
    (dict(operations=["DisableProtection"], progress="42"), "initial_replication"),
    (dict(operations=["TestFailoverCleanup"], scenario="TestFailover", test_state="WaitingForCompletion"), "test_failover"),
    (dict(operations=[], scenario="TestFailover"), "in_progress"),
    (dict(operations=[], scenario="PlannedFailover"), "in_progress"),
    (dict(operations=["CompleteMigration", "Commit", "DisableProtection", "ChangePit"], location="Recovery"), "failed_over"),
    (dict(operations=["CompleteMigration", "DisableProtection", "Failback"], location="Recovery"), "committed"),
    (dict(operations=["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]), "protected"),
]


@needs_recordings
@pytest.mark.parametrize("change, expected", SPEC_STATES)
def test_lifecycle_state(hyperv1, change, expected):
    item = with_state(hyperv1, **change)
    assert lifecycle_state(item) == expected
    vm = normalize_item(item)
    assert vm["state"] == expected
    if expected in ("enabling", "initial_replication"):
        assert vm["initial_replication"]["completed"] is False
        assert vm["initial_replication"]["progress_percent"] == int(change["progress"])
    if change.get("scenario", "None") != "None":
        assert vm["current_operation"]["name"] == change["scenario"]
        assert vm["current_operation"]["job_name"] == "job-%s" % change["scenario"]


@needs_recordings
def test_filters_and_summary(hyperv1):
    hosts = {PROVIDER: "HV01.contoso.local"}
    vms = [normalize_item(with_state(hyperv1, **change), hosts) for change, _state in SPEC_STATES]
    vms[1]["health"] = "Critical"
    other = copy.deepcopy(hyperv1)
    other["name"] = "11111111-2222-3333-4444-555555555555"
    other["properties"]["friendlyName"] = "web02"
    other["properties"]["providerSpecificDetails"]["vmId"] = other["name"]
    other["properties"]["recoveryServicesProviderId"] = PROVIDER.replace("55e8d752", "00000000")
    vms.append(normalize_item(other, {PROVIDER.replace("55e8d752", "00000000"): "HV02.contoso.local"}))
    assert [vm["vm_name"] for vm in filter_items(vms, names=["WEB02"])] == ["web02"]
    assert len(filter_items(vms, names=["11111111-2222-3333-4444-555555555555"])) == 1
    assert len(filter_items(vms, hosts=["hv01"])) == 8 and len(filter_items(vms, hosts=["HV02.contoso.local"])) == 1
    assert [vm["state"] for vm in filter_items(vms, health=["critical"])] == ["initial_replication"]
    assert [vm["state"] for vm in filter_items(vms, states=["failed_over", "committed"])] == ["failed_over", "committed"]
    assert filter_items(vms, names=["web02"], hosts=["hv01"]) == []
    summary = summarize(vms)
    assert summary["total"] == 9 and summary["with_errors"] == 0
    assert summary["by_state"] == {"enabling": 1, "initial_replication": 1, "failed": 0, "protected": 2, "test_failover": 1,
                                   "in_progress": 2, "failed_over": 1, "committed": 1}
    assert summary["by_health"] == {"Normal": 8, "Critical": 1}
    assert set(summarize([])["by_state"]) == set(STATES)


def test_minimal_item_does_not_fail():
    vm = normalize_item({"name": "x", "properties": {}})
    assert vm["state"] == "initial_replication" and vm["vm_id"] == "x" and vm["disks"] == [] and vm["errors"] == []


def _job(name, scenario, state, errors=None):
    return {"name": name, "properties": {"scenarioName": scenario, "state": state, "errors": errors or []}}


ERROR_6001 = {"serviceErrorDetails": {"code": "6001", "message": "Parameters are not correct.",
                                      "possibleCauses": "Only one of them is expected.",
                                      "recommendedAction": "Provide the correct input parameters and retry."},
              "providerErrorDetails": {"errorCode": 0}}


@needs_recordings
def test_busy_is_the_scenario_job_running_not_an_empty_operation_list(hyperv1):
    """The service may keep DisableProtection listed while a job runs: the job's state decides."""
    planned = with_state(hyperv1, ["DisableProtection"], scenario="PlannedFailover")
    running = dict(planned, **{SCENARIO_JOB_KEY: _job("job-PlannedFailover", "PlannedFailover", "InProgress")})
    assert scenario_running(running) and lifecycle_state(running) == "in_progress"
    assert normalize_item(running)["current_operation"]["job_state"] == "InProgress"
    queued = dict(planned, **{SCENARIO_JOB_KEY: _job("job-PlannedFailover", "PlannedFailover", "NotStarted")})
    assert scenario_running(queued)
    finished = dict(planned, **{SCENARIO_JOB_KEY: _job("job-PlannedFailover", "PlannedFailover", "Succeeded")})
    assert not scenario_running(finished) and lifecycle_state(finished) == "initial_replication"
    gone = dict(planned, **{SCENARIO_JOB_KEY: None})
    assert not scenario_running(gone)
    enabling = with_state(hyperv1, ["DisableProtection"], scenario="EnableDr")
    assert lifecycle_state(dict(enabling, **{SCENARIO_JOB_KEY: _job("job-EnableDr", "EnableDr", "InProgress")})) == "enabling"
    # Unread job: a named scenario is busy, except the TestFailover scenario that waits for its clean-up.
    assert scenario_running(planned)
    assert not scenario_running(with_state(hyperv1, ["TestFailoverCleanup"], scenario="TestFailover"))


@needs_recordings
def test_a_failed_enable_job_is_failed_with_its_error(hyperv1):
    item = with_state(hyperv1, ["DisableProtection"], scenario="EnableDr")
    item["properties"]["replicationHealth"] = "Critical"
    item[SCENARIO_JOB_KEY] = _job("job-EnableDr", "EnableDr", "Failed", [ERROR_6001])
    assert lifecycle_state(item) == "failed"
    vm = normalize_item(item)
    assert vm["state"] == "failed" and vm["initial_replication"]["completed"] is False
    assert vm["failure"] == {"reason": "enable_job_failed", "code": "6001", "message": "Parameters are not correct.",
                             "possible_causes": "Only one of them is expected.",
                             "recommended_action": "Provide the correct input parameters and retry.", "job": "job-EnableDr"}
    assert summarize([vm])["by_state"]["failed"] == 1


@needs_recordings
def test_critical_health_before_the_first_copy_is_failed_and_after_it_is_not(hyperv1):
    error = {"errorCode": "78113", "errorLevel": "Error", "errorMessage": "Replication is paused: the log volume is full.",
             "recommendedAction": "Free space on the volume, then resume replication."}
    stalled = with_state(hyperv1, ["DisableProtection", "RepairReplication"], progress="40")
    stalled["properties"].update(replicationHealth="Critical", healthErrors=[error])
    vm = normalize_item(stalled)
    assert vm["state"] == "failed" and vm["failure"]["reason"] == "replication_critical"
    assert vm["failure"]["code"] == "78113" and vm["failure"]["recommended_action"].startswith("Free space")
    protected = with_state(hyperv1, ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"])
    protected["properties"].update(replicationHealth="Critical", healthErrors=[error])
    assert lifecycle_state(protected) == "protected" and failure(protected) is None
    named = with_state(hyperv1, ["DisableProtection"])
    named["properties"]["protectionState"] = "InitialReplicationFailed"
    assert failure(named)["reason"] == "protection_failed"
