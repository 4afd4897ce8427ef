"""The decisions of replication, test_migration and migration, on the recorded bodies and spec-shaped variations.

The recordings hold a Protected item (planned_failover.json entry 6) and a discovered VM (enable_managed_disks.json
entry 9); the failed-over, committed and test-failover shapes are the spec examples' allowedOperations and
activeLocation (asr-recordings/README.md, "What the recordings settle") applied to the recorded item, with
protectionState strings that differ on purpose: the decisions must not read them.
"""

import copy

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import (
    desired_settings,
    enable_input,
    immutable_changes,
    resolve_disks,
    settings_changes,
    update_input,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import SCENARIO_JOB_KEY
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import (
    migration_plan,
    migration_position,
    migration_step,
    running_job,
    test_failover_plan as trial_plan,
    test_failover_step as trial_step,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import (
    azure_vm_id,
    target_settings,
    test_vm_name as trial_vm_name,
    vm_problems,
    vm_summary,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import (
    enable_os_type,
    enable_requirements,
    find_protectable,
    target_problems,
    validate_enable_options,
    vm_name_problem,
)


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
                license_type=None, sql_server_license_type=None, tags=None, policy=None, seed_disk_tags=None,
                disk_tags=None, nic_tags=None, disk_encryption_set_id=None, proximity_placement_group_id=None)
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
    (dict(target_network="/subscriptions/x/resourceGroups/r/providers/Microsoft.Compute/disks/d"), ["target_network", "virtualNetworks"]),
    (dict(log_storage_account_id="sah2atest"), ["log_storage_account_id", "'sah2atest'", "ARM id"]),
    (dict(target_resource_group="rg with spaces"), ["target_resource_group", "'rg with spaces'"]),
    (dict(timeout=0), ["timeout", "at least 1"]),
    (dict(disk_type="UltraSSD_LRS"), ["disk_type", "UltraSSD_LRS", "IOPS and throughput", "Premium_LRS"]),
    (dict(disk_types={"os": "PremiumV2_LRS"}), ["disk_types['os']", "PremiumV2_LRS", "IOPS"]),
    (dict(proximity_placement_group_id="ppg1"), ["proximity_placement_group_id", "'ppg1'", "ARM id"]),
    (dict(tags={"wave": 1}), ["tags['wave']", "strings"]),
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


def two_disks(discovered):
    """The discovered VM with a second disk listed first, both reported as Data (the real discovery shape)."""
    disks = discovered["properties"]["customDetails"]["diskDetails"]
    disks.insert(0, dict(disks[0], vhdId="aaaa-data", vhdName="vm-data", vhdType="Data"))
    return discovered


def test_a_single_disk_is_the_os_disk_and_bad_disks_are_named(discovered):
    os_disk, included, _types, problems = resolve_disks(discovered, options())
    assert problems == [] and os_disk["vhd_id"] == included[0]["vhd_id"]
    problems = resolve_disks(discovered, options(os_disk="nope", disks=["nope2"], disk_types={"nope3": "Premium_LRS"}))[3]
    disk_name = discovered["properties"]["customDetails"]["diskDetails"][0]["vhdName"]
    assert len(problems) == 3 and all(disk_name in problem for problem in problems)


def test_several_disks_need_os_disk_never_the_first_in_list_order(discovered):
    vm = two_disks(discovered)
    os_name = vm["properties"]["customDetails"]["diskDetails"][1]["vhdName"]
    os_disk, _included, _types, problems = resolve_disks(vm, options())
    assert os_disk is None and len(problems) == 1
    assert "os_disk" in problems[0] and "vm-data" in problems[0] and os_name in problems[0], problems
    # By name, or by the path host_info reports as boot_disk.
    for given in (os_name, "D:\\Hyper-V\\vm\\%s.vhdx" % os_name):
        os_disk, included, _types, problems = resolve_disks(vm, options(os_disk=given))
        assert problems == [] and os_disk["name"] == os_name and len(included) == 2
    details = enable_input(vm, "/p", options(os_disk=os_name, log_storage_account_id=STORAGE), SUB)["properties"]["providerSpecificDetails"]
    assert details["vhdId"] == os_disk["vhd_id"] != "aaaa-data"


def test_os_type_is_given_or_reported_never_guessed(discovered):
    assert enable_os_type(discovered, options(os_type="Linux")) == ("Linux", None)
    os_type, problem = enable_os_type(discovered, options(os_type=None))
    assert os_type is None and "os_type" in problem and "Windows or Linux" in problem
    discovered["properties"]["customDetails"]["osDetails"] = {"osType": "Linux"}
    assert enable_os_type(discovered, options(os_type=None)) == ("Linux", None)


def test_enabling_managed_disks_needs_a_log_storage_account():
    problems = " ".join(enable_requirements(options()))
    assert "log_storage_account_id is required" in problems and "managed_disk_replication=true" in problems
    assert enable_requirements(options(log_storage_account_id=STORAGE)) == []
    assert "target_subnet ('default') needs target_network" in " ".join(
        enable_requirements(options(log_storage_account_id=STORAGE, target_subnet="default")))
    assert enable_requirements(options(managed_disk_replication=False, target_storage_account_id=STORAGE)) == []
    assert "target_resource_group" in " ".join(enable_requirements(options(log_storage_account_id=STORAGE,
                                                                           target_resource_group=None)))


def test_the_default_target_vm_name_is_validated_too():
    assert vm_name_problem("name", "web01") is None
    problem = vm_name_problem("name", "web_01.contoso")
    assert "'web_01.contoso'" in problem and "target_vm_name" in problem


LOGS = STORAGE.replace("sah2atest", "stlogs")
DES = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des1" % SUB
PPG = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/proximityPlacementGroups/ppg1" % SUB


def test_enable_body_managed_disks_with_a_type_per_disk(discovered):
    vhd = discovered["properties"]["customDetails"]["diskDetails"][0]["vhdId"]
    body = enable_input(discovered, "/policy", options(disk_types={vhd: "Premium_LRS"}, target_network="vnet-migrated",
                                                       target_subnet="default", tags={"wave": "1"},
                                                       log_storage_account_id=LOGS), SUB)
    details = body["properties"]["providerSpecificDetails"]
    assert details["useManagedDisksForReplication"] == "true" and "targetStorageAccountId" not in details
    # The log account top level and per disk, as Azure PowerShell sends it.
    assert details["logStorageAccountId"] == LOGS
    assert details["disksToIncludeForManagedDisks"] == [{"diskId": vhd, "diskType": "Premium_LRS", "logStorageAccountId": LOGS}]
    # Disk, NIC and seed disk tags default to the VM's.
    assert details["seedManagedDiskTags"] == details["targetManagedDiskTags"] == details["targetNicTags"] == {"wave": "1"}
    assert details["targetAzureNetworkId"].endswith("/resourceGroups/rg-migrated/providers/Microsoft.Network/virtualNetworks/vnet-migrated")
    assert details["targetAzureSubnetId"] == "default" and details["targetVmTags"] == {"wave": "1"}
    assert details["hvHostVmId"] == discovered["name"] and body["properties"]["protectableItemId"] == discovered["id"]


def test_enable_body_encryption_placement_and_own_tags(discovered):
    details = enable_input(discovered, "/p", options(log_storage_account_id=LOGS, disk_encryption_set_id=DES,
                                                     proximity_placement_group_id=PPG, tags={"a": "1"},
                                                     nic_tags={"n": "2"}, seed_disk_tags={}), SUB)["properties"]["providerSpecificDetails"]
    assert details["diskEncryptionSetId"] == DES and details["disksToIncludeForManagedDisks"][0]["diskEncryptionSetId"] == DES
    assert details["targetProximityPlacementGroupId"] == PPG
    assert details["targetNicTags"] == {"n": "2"} and details["targetManagedDiskTags"] == {"a": "1"}
    assert "seedManagedDiskTags" not in details


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


NIC1, NIC2 = "TWljcm9zb2Z0OkFBQUFcMQ==", "TWljcm9zb2Z0OkFBQUFcMg=="


def two_nics(protected):
    """The recorded item with a second NIC, the selected one, and the first NIC not selected for failover."""
    details = protected["properties"]["providerSpecificDetails"]
    recorded = details["vmNics"][0]   # 2017 shape: the subnet on the NIC (recoveryVMSubnetName), no ipConfigs
    first = dict(recorded, nicId=NIC1, selectionType="NotSelected", recoveryVMSubnetName="back")
    second = dict(recorded, nicId=NIC2, selectionType="SelectedByDefault",
                  ipConfigs=[{"isPrimary": True, "isSeletedForFailover": True, "recoverySubnetName": "front"}])
    details.update(vmNics=[first, second], selectedSourceNicId=NIC2, targetProximityPlacementGroupId=PPG,
                   targetNicTags={"n": "1"}, targetManagedDiskTags={"d": "1"})
    return protected


def test_update_sends_every_nic_with_its_own_selection_type(protected):
    item = two_nics(protected)
    assert target_settings(item)["target_subnet"] == "front"   # the selected NIC's, not the first's
    body = update_input(item, {"target_vm_size": ("Standard_B1s", "Standard_D2s_v3")})["properties"]
    assert [(nic["nicId"], nic["selectionType"], nic["ipConfigs"][0]["recoverySubnetName"]) for nic in body["vmNics"]] == [
        (NIC1, "NotSelected", "back"), (NIC2, "SelectedByDefault", "front")]
    assert body["selectedSourceNicId"] == NIC2
    # Settings the task does not change are repeated, not reset.
    provider = body["providerSpecificDetails"]
    assert provider["targetProximityPlacementGroupId"] == PPG and provider["targetNicTags"] == {"n": "1"}
    assert provider["targetManagedDiskTags"] == {"d": "1"} and "selectedTfoAzureNetworkId" in body


def test_update_of_the_subnet_changes_only_the_primary_nic(protected):
    item = two_nics(protected)
    body = update_input(item, {"target_subnet": ("front", "web")})["properties"]
    assert [(nic["selectionType"], nic["ipConfigs"][0]["recoverySubnetName"]) for nic in body["vmNics"]] == [
        ("NotSelected", "back"), ("SelectedByUser", "web")]


def test_a_network_name_without_any_resource_group_is_refused_not_resource_groups_none(protected):
    with pytest.raises(ValueError, match="target_network 'vnet1' is a name, but target_resource_group"):
        desired_settings(options(target_network="vnet1", target_resource_group=None), SUB)
    group = "/subscriptions/%s/resourceGroups/rg-item" % SUB
    desired = desired_settings(options(target_network="vnet1", target_resource_group=None), SUB, group)
    assert desired["target_network"] == group + "/providers/Microsoft.Network/virtualNetworks/vnet1"
    assert "None" not in desired["target_network"]


def test_target_problems_name_the_option_the_value_and_what_exists():
    vnet = {"name": "vnet1", "location": "westeurope", "properties": {"subnets": [{"name": "default"}, {"name": "db"}]}}
    group = "/subscriptions/%s/resourceGroups/rg-migrated" % SUB
    wanted = {"resource_group": group, "vm_name": "web01", "network": group + "/providers/Microsoft.Network/virtualNetworks/vnet1",
              "subnets": [("target_subnet", "web")], "availability_set_id": "/x/availabilitySets/as1",
              "proximity_placement_group_id": PPG, "log_storage_account_id": LOGS}
    found = {"group_vms": [{"name": "WEB01"}], "vnet": vnet, "replicated_names": {"web01": "web01-old"},
             "availability_set": None, "proximity_placement_group": {"name": "ppg1", "location": "northeurope"},
             "log_storage_account": {"name": "stlogs", "location": "westeurope", "kind": "BlobStorage",
                                     "sku": {"name": "Standard_LRS", "tier": "Standard"}}}
    problems = target_problems(wanted, found)
    text = " | ".join(problems)
    assert "target_subnet 'web'" in text and "db, default" in text
    assert "replicated VM 'web01-old'" in text and "already has a VM 'WEB01'" in text
    assert "availability_set_id" in text and "does not exist" in text
    assert "proximity_placement_group_id" in text and "northeurope" in text and "westeurope" in text
    assert "log_storage_account_id" in text and "BlobStorage" in text
    found = {"group_vms": None, "vnet": None, "group_vnets": [{"name": "vnet-a"}, {"name": "vnet-b"}]}
    text = " | ".join(target_problems({"resource_group": group, "network": wanted["network"]}, found))
    assert "target_resource_group 'rg-migrated' does not exist" in text and "vnet-a, vnet-b" in text
    found = {"group_vms": None, "vnet": None, "group_vnets": None}
    text = " | ".join(target_problems({"resource_group": group, "network": wanted["network"]}, found))
    assert "its resource group 'rg-migrated' does not exist" in text
    # A new target name on update is checked in the VM's target group, which does not change.
    text = " | ".join(target_problems({"group_of_vm": group, "vm_name": "web02"}, {"group_vms": [{"name": "web02"}]}))
    assert "resource group 'rg-migrated' already has a VM 'web02'" in text
    good = {"group_vms": [], "vnet": vnet, "log_storage_account": {"location": "westeurope", "kind": "StorageV2",
                                                                   "sku": {"tier": "Standard"}}}
    assert target_problems({"resource_group": group, "vm_name": "web01", "network": wanted["network"],
                            "subnets": [("target_subnet", "DB")], "log_storage_account_id": LOGS}, good) == []


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


# --- test failover plans (what test_migration's check mode reports and its real run takes) ---

ELSEWHERE = "test VM 'hyperV1-test' runs in network 'vnet-a', not in network 'vnet-b' asked for"


def test_a_test_failover_plan_from_protected_or_testing_is_one_step_or_none(protected):
    testing = shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover")
    assert trial_plan(protected, "present") == [("test_failover", None)]
    assert trial_plan(protected, "absent") == []
    assert trial_plan(testing, "present") == []
    assert trial_plan(testing, "absent") == [("cleanup", None)]


def test_a_running_job_is_waited_for_first_then_what_it_leaves_is_planned(protected):
    """A test failover still running leaves a test VM; its clean-up leaves none; another job leaves the item as it
    lists its operations now (the real run reads it again after the wait)."""
    testing = _with_job(shaped(protected, [], scenario="TestFailover"), "InProgress", "TestFailover")
    assert trial_plan(testing, "present") == [("wait", "job-1")]
    assert trial_plan(testing, "absent") == [("wait", "job-1"), ("cleanup", None)]
    cleaning = _with_job(shaped(protected, [], scenario="TestFailoverCleanup"), "NotStarted", "TestFailoverCleanup")
    assert trial_plan(cleaning, "present") == [("wait", "job-1"), ("test_failover", None)]
    assert trial_plan(cleaning, "absent") == [("wait", "job-1")]
    updating = _with_job(shaped(protected, PROTECTED_OPERATIONS, scenario="UpdateVmProperties"), "InProgress",
                         "UpdateVmProperties")
    assert trial_plan(updating, "present") == [("wait", "job-1"), ("test_failover", None)]
    assert trial_plan(updating, "absent") == [("wait", "job-1")]
    unread = shaped(protected, [], scenario="TestFailover")        # the job could not be read: busy
    assert trial_plan(unread, "present") == [("wait", "job-1")]


def test_a_failed_test_failover_plans_its_cleanup_then_a_new_test_failover(protected):
    by_job = _with_job(shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover"), "Failed", "TestFailover")
    by_state = shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover")
    by_state["properties"]["testFailoverState"] = "Failed"
    for failed in (by_job, by_state):
        plan = trial_plan(failed, "present")
        assert [step for step, _detail in plan] == ["cleanup", "test_failover"], plan
        assert "failed" in plan[0][1]
        assert trial_plan(failed, "absent") == [("cleanup", None)]
        # the network difference is not read for a failed test failover: no test VM runs
        assert [step for step, _detail in trial_plan(failed, "present", ELSEWHERE)] == ["cleanup", "test_failover"]


def test_a_test_vm_in_another_network_is_tested_again_or_blocked(protected):
    testing = shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover")
    assert trial_plan(testing, "present", ELSEWHERE, restart_if_different=True) == [
        ("cleanup", ELSEWHERE), ("test_failover", None)]
    assert trial_plan(testing, "present", ELSEWHERE) == [
        ("blocked", ELSEWHERE + "; clean it up first (state=absent) or set restart_if_different=true")]
    assert trial_plan(testing, "absent", ELSEWHERE) == [("cleanup", None)]
    # a difference said of a VM with no test VM changes nothing: there is nothing to restart
    assert trial_plan(protected, "present", ELSEWHERE, restart_if_different=True) == [("test_failover", None)]


def test_a_blocked_test_failover_plan_is_the_one_blocked_step_with_the_reason(protected):
    for item in (shaped(protected, ["Commit"], "Recovery"), shaped(protected, ["DisableProtection"])):
        plan = trial_plan(item, "present")
        assert plan == [trial_step(item, "present")] and plan[0][0] == "blocked", plan
    failed = _with_job(shaped(protected, ["DisableProtection"], scenario="EnableDr"), "Failed", "EnableDr")
    assert trial_plan(failed, "present")[0][0] == "blocked"


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_test_failover_plan_starts_with_the_next_step(protected, state):
    """The plan's first step is the one test_failover_step names (the step the wave takes too), and an empty plan is
    "done"."""
    failed = shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover")
    failed["properties"]["testFailoverState"] = "Failed"
    items = [protected, shaped(protected, ["TestFailoverCleanup"], scenario="TestFailover"), failed,
             _with_job(shaped(protected, [], scenario="TestFailover"), "InProgress", "TestFailover"),
             _with_job(shaped(protected, [], scenario="TestFailoverCleanup"), "InProgress", "TestFailoverCleanup"),
             shaped(protected, ["Commit"], "Recovery")]
    for item in items:
        plan = trial_plan(item, state)
        assert (plan[0][0] if plan else "done") == trial_step(item, state)[0], plan
