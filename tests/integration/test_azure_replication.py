"""replication through ansible-playbook against the lab's Azure: check mode, enable, a second run that changes nothing,
update, disable, bad input refused before any request that changes anything, and faults (429 storm, job failing with
6001). The modules reach the lab only through their standard options (migration_lab.azure_vars)."""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import pytest

# migration_lab's fixtures are used by name.
from migration_lab import (  # noqa: F401  pylint: disable=unused-import
    SITE, TARGET_GROUP, enable_args, item_of, last_seq, migration_lab, migration_playbook, run_module, writes_since,
)
from azure_lab import RESOURCE_GROUP, VAULT, session  # noqa: E402

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api  # noqa: E402

pytestmark = pytest.mark.lab


def azure_item(lab, vm_name):
    """The VM's protected item as Azure returns it (a single GET: providerSpecificDetails in full)."""
    client = session(lab).site_recovery()
    listed = next(item for item in asr_api.list_protected_items(client, RESOURCE_GROUP, VAULT)
                  if item["properties"]["friendlyName"] == vm_name)
    parts = listed["id"].split("/")
    fabric, container = parts[parts.index("replicationFabrics") + 1], parts[parts.index("replicationProtectionContainers") + 1]
    return asr_api.get_protected_item(client, RESOURCE_GROUP, VAULT, fabric, container, listed["name"])["properties"][
        "providerSpecificDetails"]


def test_check_mode_changes_nothing_then_enable_then_a_second_run_changes_nothing(migration_lab, migration_playbook):
    lab = migration_lab
    since = last_seq(lab)
    run, result = run_module(migration_playbook, "replication", check=True, diff=True, name="hvm01-vm01", **enable_args(lab, "hvm01-vm01"))
    assert run.rc == 0 and result["changed"], run.output
    assert result["changes"]["replication"] == {"before": "disabled", "after": "enabled"}
    assert writes_since(lab, since) == {} and item_of(lab, "hvm01-vm01") is None

    run, result = run_module(migration_playbook, "replication", name="hvm01-vm01", wait_for="protected", poll_interval=1,
                             tags={"wave": "1"}, **enable_args(lab, "hvm01-vm01"))
    assert run.rc == 0 and result["changed"], run.output
    assert result["state"] == "protected" and result["jobs"][0]["scenario"] == "EnableDr"
    assert result["vm"]["target"]["network_id"].endswith("/virtualNetworks/vnet-migrated")
    assert item_of(lab, "hvm01-vm01")["active_location"] == "Primary"

    since = last_seq(lab)
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm01", tags={"wave": "1"}, **enable_args(lab, "hvm01-vm01"))
    assert run.rc == 0 and not result["changed"] and result["jobs"] == [], run.output
    assert writes_since(lab, since) == {}


def test_update_changes_only_what_differs_and_refuses_what_cannot_change(migration_lab, migration_playbook):
    lab = migration_lab
    run, _result = run_module(migration_playbook, "replication", name="hvm01-vm02", wait_for="protected", poll_interval=1, **enable_args(lab, "hvm01-vm02"))
    assert run.rc == 0, run.output
    run, result = run_module(migration_playbook, "replication", check=True, diff=True, name="hvm01-vm02",
                             target_vm_size="Standard_D4s_v3")
    assert run.rc == 0 and result["changed"] and result["diff"]["after"]["target_vm_size"] == "Standard_D4s_v3"
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm02", target_vm_size="Standard_D4s_v3",
                             license_type="WindowsServer")
    assert run.rc == 0 and set(result["changes"]) == {"target_vm_size", "license_type"}, run.output
    assert [job["scenario"] for job in result["jobs"]] == ["UpdateVmProperties"]
    since = last_seq(lab)
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm02", target_vm_size="Standard_D4s_v3",
                             license_type="WindowsServer")
    assert run.rc == 0 and not result["changed"] and writes_since(lab, since) == {}
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm02", policy="another-policy")
    assert run.rc != 0 and "policy" in result["msg"] and "state=absent" in result["msg"]
    assert writes_since(lab, since) == {}


def test_a_two_nic_vm_keeps_both_nics_when_its_subnet_changes(migration_lab, migration_playbook):
    """hvm01-vm08 has two NICs and lists its data disk first. The OS disk is the one given (never the first listed),
    and a new subnet goes to the primary NIC while the other keeps its settings: the lab refuses a PATCH that drops a
    NIC, as the module's update used to send."""
    lab = migration_lab
    network = session(lab).network()
    network.subnets.begin_create_or_update(TARGET_GROUP, "vnet-migrated", "web", {"properties": {"addressPrefix": "10.10.2.0/24"}}).result()
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm08", wait_for="protected", poll_interval=1,
                             **enable_args(lab, "hvm01-vm08"))
    assert run.rc == 0 and result["state"] == "protected", run.output
    details = azure_item(lab, "hvm01-vm08")
    assert [disk["vhdName"] for disk in details["azureVmDiskDetails"] if disk["vhdType"] == "OperatingSystem"] == ["hvm01-vm08-os"]
    assert len(details["vmNics"]) == 2, details["vmNics"]
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm08", target_subnet="web")
    assert run.rc == 0 and set(result["changes"]) == {"target_subnet"}, run.output
    details = azure_item(lab, "hvm01-vm08")
    by_id = dict((nic["nicId"], nic) for nic in details["vmNics"])
    primary = by_id.pop(details["selectedSourceNicId"])
    assert primary["ipConfigs"][0]["recoverySubnetName"] == "web" and primary["selectionType"] == "SelectedByUser"
    [other] = by_id.values()
    assert other["ipConfigs"][0]["recoverySubnetName"] == "default" and other["selectionType"] == "SelectedByDefault"


def test_disable_removes_replication_and_a_second_run_changes_nothing(migration_lab, migration_playbook):
    lab = migration_lab
    run, _result = run_module(migration_playbook, "replication", name="hvm01-vm03", **enable_args(lab, "hvm01-vm03"))
    assert run.rc == 0, run.output
    run, result = run_module(migration_playbook, "replication", check=True, name="hvm01-vm03", state="absent")
    assert run.rc == 0 and result["changed"] and item_of(lab, "hvm01-vm03") is not None
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm03", state="absent")
    assert run.rc == 0 and result["changed"] and result["state"] == "absent", run.output
    assert item_of(lab, "hvm01-vm03") is None
    assert lab.admin.host("HVM01")["vms"][2].get("replication") in (None, {}), lab.admin.host("HVM01")["vms"][2]
    since = last_seq(lab)
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm03", state="absent")
    assert run.rc == 0 and not result["changed"] and writes_since(lab, since) == {}


STORAGE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1"


def bad_inputs(target):
    """(case, module, args, words the message must hold): the option, the value, and what is allowed."""
    availability_set = target["log_storage_account_id"].replace("Storage/storageAccounts", "Compute/availabilitySets")
    return [
        ("storage account with managed-disk replication", "replication", {"name": "hvm01-vm04", **target, "target_storage_account_id": STORAGE},
         ["target_storage_account_id", "managed_disk_replication=true", "6001"]),
        ("neither storage account nor managed disks", "replication", {"name": "hvm01-vm04", **target, "managed_disk_replication": False},
         ["managed_disk_replication is false", "target_storage_account_id"]),
        ("availability zone out of range", "replication", {"name": "hvm01-vm04", **target, "availability_zone": "7"},
         ["availability_zone", "'7'", "1, 2 or 3"]),
        ("zone and availability set", "replication", {"name": "hvm01-vm04", **target, "availability_zone": "1",
                                                      "availability_set_id": STORAGE.replace("Storage/storageAccounts", "Compute/availabilitySets")},
         ["availability_zone", "availability_set_id", "together"]),
        ("target VM name with underscore", "replication", {"name": "hvm01-vm04", **target, "target_vm_name": "web_01"},
         ["target_vm_name", "'web_01'", "1 to 63 letters, digits and hyphens"]),
        ("subnet without network", "replication", {"name": "hvm01-vm04", "target_resource_group": TARGET_GROUP, "target_subnet": "default"},
         ["target_subnet", "needs target_network"]),
        ("disk type per disk with a storage account", "replication", {"name": "hvm01-vm04", **target, "managed_disk_replication": False,
                                                                      "target_storage_account_id": STORAGE, "disk_types": {"hvm01-vm04-os": "Premium_LRS"}},
         ["disk_types", "managed-disk replication only"]),
        ("unknown disk type", "replication", {"name": "hvm01-vm04", **target, "disk_types": {"hvm01-vm04-os": "Ultra_Fast"}},
         ["disk_types['hvm01-vm04-os']", "'Ultra_Fast'", "Premium_LRS"]),
        ("OS disk that is not the VM's", "replication", {"name": "hvm01-vm04", **target, "os_disk": "other-disk"},
         ["os_disk", "'other-disk'", "hvm01-vm04-os"]),
        ("VM that does not exist", "replication", {"name": "no-such-vm", **target}, ["'no-such-vm'", "not a VM the vault discovered"]),
        ("policy not associated with the site", "replication", {"name": "hvm01-vm04", **target, "policy": "pol-other"},
         ["policy 'pol-other'", SITE, "pol-m"]),
        ("enable without target resource group", "replication", {"name": "hvm01-vm04"}, ["target_resource_group is required"]),
        ("log storage account by name", "replication", {"name": "hvm01-vm04", **target, "log_storage_account_id": "stlogs"},
         ["log_storage_account_id", "'stlogs'", "ARM id"]),
        ("timeout of zero", "replication", {"name": "hvm01-vm04", **target, "timeout": 0}, ["timeout", "at least 1"]),
        ("managed disks without a log storage account", "replication",
         {"name": "hvm01-vm04", **without(target, "log_storage_account_id")},
         ["log_storage_account_id is required", "managed_disk_replication=true"]),
        ("two disks and no OS disk", "replication", {"name": "hvm01-vm04", **without(target, "os_disk")},
         ["os_disk is not given", "2 disks", "hvm01-vm04-os", "hvm01-vm04-data"]),
        ("no OS type", "replication", {"name": "hvm01-vm04", **without(target, "os_type")}, ["os_type", "Windows or Linux"]),
        ("Ultra disks", "replication", {"name": "hvm01-vm04", **target, "disk_type": "UltraSSD_LRS"},
         ["disk_type", "UltraSSD_LRS", "IOPS and throughput"]),
        ("subnet the network does not have", "replication", {"name": "hvm01-vm04", **target, "target_subnet": "nope"},
         ["target_subnet 'nope'", "vnet-migrated", "default"]),
        ("network that does not exist", "replication", {"name": "hvm01-vm04", **target, "target_network": "vnet-nope"},
         ["target_network", "vnet-nope", "vnet-migrated, vnet-test"]),
        ("target resource group that does not exist", "replication", {"name": "hvm01-vm04", **target,
                                                                      "target_resource_group": "rg-nope"},
         ["target_resource_group 'rg-nope' does not exist"]),
        ("availability set that does not exist", "replication", {"name": "hvm01-vm04", **target,
                                                                 "availability_set_id": availability_set},
         ["availability_set_id", "does not exist"]),
        ("log storage account that does not exist", "replication", {"name": "hvm01-vm04", **target, "log_storage_account_id":
                                                                    target["log_storage_account_id"] + "nope"},
         ["log_storage_account_id", "nope'", "does not exist"]),
        ("target name of another replicated VM", "replication", {"name": "hvm01-vm04", **target, "target_vm_name": "hvm01-vm01"},
         ["'hvm01-vm01'", "already the target name of replicated VM"]),
        ("test migration without network", "test_migration", {"name": "hvm01-vm01"}, ["network"]),
        ("test network that is not a network id", "test_migration", {"name": "hvm01-vm01", "network": STORAGE},
         ["network", STORAGE, "virtual network"]),
        ("test network that does not exist", "test_migration", {"name": "hvm01-vm01", "network": "vnet-nope"},
         ["'vnet-nope'", "not a virtual network"]),
        ("test migration of a VM that does not replicate", "test_migration", {"name": "hvm01-vm05", "network": "vnet-test"},
         ["'hvm01-vm05'", "does not replicate"]),
        ("shutdown_source with a planned failover", "migration", {"name": "hvm01-vm01", "shutdown_source": True},
         ["shutdown_source", "failover_type=unplanned"]),
        ("disk SKU on a failover that may be cancelled", "migration", {"name": "hvm01-vm01", "state": "failed_over", "disk_sku": "Premium_LRS"},
         ["disk_sku", "state=failed_over"]),
        ("migration of a VM that neither replicates nor migrated", "migration", {"name": "hvm01-vm05"},
         ["'hvm01-vm05'", "neither replicates", "migrated Azure VM"]),
        ("migration state that does not exist", "migration", {"name": "hvm01-vm01", "state": "done"}, ["state", "done", "completed"]),
    ]


def without(target, option):
    return dict((key, value) for key, value in target.items() if key != option)


def test_every_bad_input_fails_before_any_request_that_changes_anything(migration_lab, migration_playbook):
    lab = migration_lab
    failures = []
    cases = bad_inputs(enable_args(lab, "hvm01-vm04"))
    for case, module, args, words in cases:
        since = last_seq(lab)
        run, result = run_module(migration_playbook, module, **args)
        message = result.get("msg", "")
        missing = [word for word in words if word not in message]
        writes = writes_since(lab, since)
        if run.rc == 0 or missing or writes or result.get("changed"):
            failures.append(f"{case}: rc={run.rc} missing={missing} writes={writes} msg={message!r}")
    assert not failures, "\n".join(failures)
    assert len(cases) >= 25 and item_of(lab, "hvm01-vm04") is None


# azure-core retries a throttled request retry_status times (3 unless the client sets it; module_utils/_azure_clients.py
# sets only retry_total), each after the answer's Retry-After; job polls ride out any storm (_asr.waiters.poll_job).
STORM = 3


def test_a_429_storm_is_ridden_out(migration_lab, migration_playbook):
    lab = migration_lab
    lab.admin.post("/azure/faults", {"storm_429": STORM, "storm_retry_after_s": 1})
    try:
        run, result = run_module(migration_playbook, "replication", name="hvm01-vm06", **enable_args(lab, "hvm01-vm06"))
    finally:
        lab.admin.delete("/azure/faults")
    assert run.rc == 0 and result["changed"], run.output
    assert result["jobs"][0]["state"] == "Succeeded"


def test_an_enable_job_failing_with_6001_fails_the_task_with_the_service_reason_and_a_rerun_converges(migration_lab, migration_playbook):
    lab = migration_lab
    lab.admin.post("/azure/faults/job-failure", {"scenario": "EnableDr", "code": "6001", "vm": "hvm01-vm07"})
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm07", **enable_args(lab, "hvm01-vm07"))
    assert run.rc != 0, run.output
    assert "6001" in result["msg"] and "Parameters are not correct" in result["msg"], result["msg"]
    assert result["error"]["code"] == "6001" and result["jobs"][-1]["state"] == "Failed"
    left = item_of(lab, "hvm01-vm07")            # as Azure does, the failed enable leaves a failed item
    assert left["protection_state"] == "EnablingFailed" and left["replication_health"] == "Critical"
    assert left["current_scenario"] == "EnableDr" and left["allowed_operations"] == ["DisableProtection"]
    run, result = run_module(migration_playbook, "replication_info", names=["hvm01-vm07"])
    vm = result["vms"][0]
    assert vm["state"] == "failed" and vm["failure"]["reason"] == "enable_job_failed", vm
    assert vm["failure"]["code"] == "6001" and vm["failure"]["recommended_action"].startswith("Provide the correct")
    assert vm["current_operation"]["job_state"] == "Failed"
    run, result = run_module(migration_playbook, "replication", name="hvm01-vm07", **enable_args(lab, "hvm01-vm07"))
    assert run.rc == 0 and result["changed"], run.output
    assert [job["scenario"] for job in result["jobs"]] == ["DisableDr", "EnableDr"], result["jobs"]
    assert result["state"] in ("initial_replication", "protected")


def vault_jobs(lab) -> int:
    return lab.admin.get("/azure/world")["vaults"][VAULT]["jobs"]


def test_a_vm_azure_reports_not_ready_fails_before_any_change_naming_each_reason(migration_lab, migration_playbook):
    """The VM's protectable item lists readiness errors (the lab's knob; Azure fills protectionReadinessErrors):
    the task fails, in check mode too, naming the VM and each error, and nothing is enabled - no item, no job. A VM
    that already replicates is not checked again. hvm01-vm04 stays unreplicated; hvm01-vm06 replicates (the 429
    test above enables it, or this test does)."""
    lab = migration_lab
    errors = ["The virtual machine has a shared virtual hard disk.", "The virtual machine has a pass-through disk."]
    lab.admin.post("/azure/vms/hvm01-vm04/readiness", {"errors": errors})
    try:
        for check in (True, False):
            since, jobs = last_seq(lab), vault_jobs(lab)
            run, result = run_module(migration_playbook, "replication", check=check, name="hvm01-vm04",
                                     **enable_args(lab, "hvm01-vm04"))
            assert run.rc != 0 and not result.get("changed"), run.output
            message = result["msg"]
            assert message.startswith("Can't enable replication of 'hvm01-vm04': VM 'hvm01-vm04' is not ready"), message
            assert all(repr(error) in message for error in errors) and "fix that on the Hyper-V host" in message
            assert writes_since(lab, since) == {} and vault_jobs(lab) == jobs and item_of(lab, "hvm01-vm04") is None
        # A VM whose supported providers lack HyperVReplicaAzure is refused the same way.
        lab.admin.post("/azure/vms/hvm01-vm04/readiness", {"supported_providers": ["HyperVReplica2012R2"]})
        since = last_seq(lab)
        run, result = run_module(migration_playbook, "replication", name="hvm01-vm04", **enable_args(lab, "hvm01-vm04"))
        assert run.rc != 0 and "HyperVReplica2012R2" in result["msg"] and "not HyperVReplicaAzure" in result["msg"]
        assert writes_since(lab, since) == {} and item_of(lab, "hvm01-vm04") is None
    finally:
        lab.admin.post("/azure/vms/hvm01-vm04/readiness", {})

    run, _result = run_module(migration_playbook, "replication", name="hvm01-vm06", **enable_args(lab, "hvm01-vm06"))
    assert run.rc == 0 and item_of(lab, "hvm01-vm06") is not None, run.output
    lab.admin.post("/azure/vms/hvm01-vm06/readiness", {"errors": errors})
    try:
        since = last_seq(lab)
        run, result = run_module(migration_playbook, "replication", name="hvm01-vm06", **enable_args(lab, "hvm01-vm06"))
        assert run.rc == 0 and not result["changed"] and writes_since(lab, since) == {}, run.output
    finally:
        lab.admin.post("/azure/vms/hvm01-vm06/readiness", {})
