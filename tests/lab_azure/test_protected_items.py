"""Protected-item operations beyond the main life cycle: validation as the service does it,
refusal of operations the item does not allow, 6001, disable, purge, unplanned failover,
change of recovery point, cancel, reprotect, listings."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from inprocess_azure import wait_until


def _job(lab, error: HttpResponseError):
    """The ASR job behind a failed LRO (its name is the operation status id's last segment)."""
    jobs = list(lab.asr.replication_jobs.list(lab.rg, lab.vault, filter="jobStatus eq 'Failed'"))
    return jobs[0]


def test_storage_account_with_managed_disk_replication_fails_6001(lab, site):
    storage_id = f"{site.target_rg_id}/providers/Microsoft.Storage/storageAccounts/sah2atest"
    with pytest.raises(HttpResponseError) as caught:
        site.enable("app01", targetStorageAccountId=storage_id, useManagedDisksForReplication="True")
    assert caught.value.error.code == "6001"
    job = _job(lab, caught.value)
    properties = job.properties
    assert properties.scenario_name == "EnableDr" and properties.state == "Failed"
    assert properties.allowed_actions == ["Restart"]
    assert [(t.state, t.state_description) for t in properties.tasks] == [
        ("Failed", "Failed"), ("Other", "Skipped"), ("Other", "Skipped"), ("Other", "Skipped"),
        ("Succeeded", "Completed")]    # enable_managed_disks.json entry 14
    assert properties.errors[0].service_error_details.message == "Parameters are not correct."
    assert lab.vm("HV01", "app01").replication is None
    # The item stays, failed: health Critical, the job's error as a health error, the failed job as currentScenario.
    item = site.item(site.protectable("app01").name).as_dict()["properties"]
    assert item["protectionState"] == "EnablingFailed" and item["replicationHealth"] == "Critical"
    assert item["allowedOperations"] == ["DisableProtection"]
    assert item["currentScenario"]["scenarioName"] == "EnableDr"
    assert item["currentScenario"]["jobId"].lower().endswith("/replicationjobs/" + job.name.lower())
    assert [(e["errorCode"], e["errorLevel"]) for e in item["healthErrors"]] == [("6001", "Error")]
    assert item["healthErrors"][0]["recommendedAction"].startswith("Provide the correct input parameters")
    # Disabling it is what lets the VM be enabled again.
    site_args = site.args(site.protectable("app01").name)
    lab.asr.replication_protected_items.begin_delete(*site_args, {"properties": {
        "disableProtectionReason": "NotSpecified",
        "replicationProviderInput": {"instanceType": "DisableProtectionProviderSpecificInput"}}}).result()
    assert site.protectable("app01").properties.protection_status == "Unprotected"


def test_input_is_validated_synchronously(lab, site):
    with pytest.raises(HttpResponseError) as caught:
        site.enable("app01", targetAzureV2ResourceGroupId=f"/subscriptions/{lab.sub}/resourceGroups/nope")
    assert caught.value.status_code == 400 and caught.value.error.code == "BadRequest"
    assert "nope" in caught.value.error.message
    with pytest.raises(HttpResponseError) as caught:
        site.enable("app01", targetAzureVmName="bad_name!")
    assert caught.value.status_code == 400


def test_operations_not_allowed_are_refused_then_disable(lab, site):
    asr = lab.asr
    vm_id = site.enable("app01")
    item = site.item(vm_id)
    assert item.properties.allowed_operations == ["DisableProtection"]      # initial replication
    with pytest.raises(HttpResponseError) as caught:
        asr.replication_protected_items.begin_test_failover(*site.args(vm_id), {"properties": {
            "failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput",
            "networkId": site.test_network_id, "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}})
    assert caught.value.status_code == 400
    assert caught.value.error.details[0].code == "ProtectionEntityOperationNotAllowed"
    with pytest.raises(HttpResponseError):
        asr.replication_protected_items.begin_failover_commit(*site.args(vm_id))
    with pytest.raises(HttpResponseError):      # CompleteMigration is not allowed before a failover
        asr.replication_protected_items.begin_delete(*site.args(vm_id), {"properties": {
            "disableProtectionReason": "MigrationComplete"}})
    asr.replication_protected_items.begin_delete(*site.args(vm_id), {"properties": {
        "disableProtectionReason": "NotSpecified"}}).result()
    assert vm_id not in [i.name for i in asr.replication_protected_items.list_by_replication_protection_containers(
        *site.args())]
    assert lab.vm("HV01", "app01").replication is None
    assert not [d for d in lab.compute.disks.list_by_resource_group(lab.endpoints["target_resource_group"])
                if d.name.startswith("asrseeddisk-app01")]


def test_a_running_job_keeps_disable_protection_listed_yet_refuses_every_action(lab, site):
    """The worst case a client must handle: an item read during a job lists operations (here DisableProtection),
    so "no operations listed" cannot mean busy; only the job named by currentScenario tells. Every action is
    still refused until the job ends."""
    asr = lab.asr
    vm_id = site.protectable("app01").name
    asr.replication_protected_items.begin_create(*site.args(vm_id), site.enable_input("app01"), polling=False)
    item = site.item(vm_id).as_dict()["properties"]
    assert item["allowedOperations"] == ["DisableProtection"]
    assert item["currentScenario"]["scenarioName"] == "EnableDr"
    job_name = item["currentScenario"]["jobId"].rsplit("/", 1)[-1]
    assert asr.replication_jobs.get(lab.rg, lab.vault, job_name).properties.state in ("NotStarted", "InProgress")
    with pytest.raises(HttpResponseError) as caught:
        asr.replication_protected_items.begin_delete(*site.args(vm_id), {"properties": {
            "disableProtectionReason": "NotSpecified"}}, polling=False)
    assert caught.value.status_code == 400
    assert caught.value.error.details[0].code == "ProtectionEntityOperationNotAllowed"
    for _step in range(600):
        if asr.replication_jobs.get(lab.rg, lab.vault, job_name).properties.state not in ("NotStarted", "InProgress"):
            break
        lab.advance(5)
    assert site.item(vm_id).properties.current_scenario.scenario_name == "None"
    asr.replication_protected_items.begin_delete(*site.args(vm_id), {"properties": {
        "disableProtectionReason": "NotSpecified"}}).result()


def test_unplanned_failover_change_point_cancel_and_purge(lab, cluster_site):
    asr, site = lab.asr, cluster_site
    vm_id = site.enable("dc02")
    site.wait_protected(vm_id, step_s=3600)
    lab.advance(3 * 3600)      # delta replication makes more recovery points
    points = list(asr.recovery_points.list_by_replication_protected_items(*site.args(vm_id)))
    assert len(points) >= 2 and points[0].properties.recovery_point_type in ("CrashConsistent", "ApplicationConsistent")
    assert asr.recovery_points.get(*site.args(vm_id), points[0].name).name == points[0].name

    asr.replication_protected_items.begin_unplanned_failover(*site.args(vm_id), {"properties": {
        "failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure", "recoveryPointId": points[1].id}}}).result()
    item = site.item(vm_id)
    assert item.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert item.properties.failover_recovery_point_id.endswith(points[1].name)
    assert lab.vm("HV02", "dc02").state == "Running"            # no source-side action was asked for
    rg = lab.endpoints["target_resource_group"]
    assert lab.compute.virtual_machines.get(rg, "dc02").name == "dc02"

    asr.replication_protected_items.begin_apply_recovery_point(*site.args(vm_id), {"properties": {
        "recoveryPointId": points[0].id, "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}}).result()
    assert site.item(vm_id).properties.failover_recovery_point_id.endswith(points[0].name)

    asr.replication_protected_items.begin_failover_cancel(*site.args(vm_id)).result()
    item = site.item(vm_id)
    assert item.properties.active_location == "Primary" and item.properties.protection_state == "Protected"
    assert "dc02" not in [vm.name for vm in lab.compute.virtual_machines.list(rg)]
    assert lab.vm("HV02", "dc02").replication.state == "Replicating"

    asr.replication_protected_items.begin_purge(*site.args(vm_id)).result()
    assert vm_id not in [i.name for i in asr.replication_protected_items.list(lab.rg, lab.vault)]
    assert lab.vm("HV02", "dc02").replication is not None     # purge leaves the host as it was


def test_reprotect_in_the_wrong_direction_is_refused_as_recorded(lab, cluster_site):
    asr, site = lab.asr, cluster_site
    vm_id = site.enable("legacy01")
    site.wait_protected(vm_id, step_s=3600)
    with pytest.raises(HttpResponseError) as caught:
        asr.replication_protected_items.begin_reprotect(*site.args(vm_id), {"properties": {
            "failoverDirection": "RecoveryToPrimary",
            "providerSpecificDetails": {"instanceType": "ReverseReplicationProviderSpecificInput"}}})
    assert caught.value.status_code == 400
    assert caught.value.error.details[0].code == "InvalidFailoverDirection"    # reprotect.json entry 12


def test_update_validation_and_target_sizes(lab, cluster_site):
    asr, site = lab.asr, cluster_site
    items = list(asr.replication_protected_items.list_by_replication_protection_containers(*site.args()))
    vm_id = next(i.name for i in items if i.properties.friendly_name == "legacy01")
    with pytest.raises(HttpResponseError) as caught:
        asr.replication_protected_items.begin_update(*site.args(vm_id), {"properties": {
            "recoveryAzureVMSize": "Standard_Nope"}})
    assert caught.value.status_code == 400
    sizes = list(asr.target_compute_sizes.list_by_replication_protected_items(*site.args(vm_id)))
    assert "Standard_D2s_v3" in [s.name for s in sizes]


def test_vault_wide_listing_pages(lab, site, cluster_site):
    everything = list(lab.asr.replication_protected_items.list(lab.rg, lab.vault))
    assert {i.properties.friendly_name for i in everything} >= {"legacy01"}
    assert all(i.id.startswith("/Subscriptions/") for i in everything)
    # The list view leaves protectedManagedDisks empty; the single GET fills it (README differences §4).
    item = everything[0]
    assert item.properties.provider_specific_details.protected_managed_disks == []


def test_a_job_whose_item_is_purged_meanwhile_goes_on_with_nothing_to_act_on(lab, site):
    """Jobs are data that find their item when a hook runs (lab/azure/jobs.py): once the item is purged, the
    EnableDr job still running on it ends without touching the host, and the world keeps moving."""
    asr = lab.asr
    vm_id = site.protectable("app01").name
    asr.replication_protected_items.begin_create(*site.args(vm_id), site.enable_input("app01"))     # not waited for
    asr.replication_protected_items.begin_purge(*site.args(vm_id)).result()

    def enable_job_state():
        lab.advance(10)
        jobs = asr.replication_jobs.list(lab.rg, lab.vault, filter="jobName eq 'EnableDr'")
        return next((j.properties.state for j in jobs if j.properties.target_object_id == vm_id
                     and j.properties.state in ("Succeeded", "Failed")), None)

    assert wait_until(enable_job_state, timeout=30, what="the EnableDr job to end") == "Succeeded"
    assert lab.vm("HV01", "app01").replication is None        # its hooks had no item left to act on
    assert all(i.name != vm_id for i in asr.replication_protected_items.list_by_replication_protection_containers(
        *site.args()))
