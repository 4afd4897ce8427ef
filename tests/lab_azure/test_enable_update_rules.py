"""The lab refuses the enable and update requests real Azure would refuse (lab/FIDELITY.md, "Azure: enable and update
replication"): each test sends the request body the replication module used to send and checks the refusal, then
the body it sends now.

app01 (HV01) has two disks, its data disk listed first, and two NICs; each test leaves it not replicating.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError


def _disks(site, vm_name):
    """{name: vhdId} of the VM's disks, as discovery lists them."""
    return {d["vhdName"]: d["vhdId"] for d in site.protectable(vm_name).properties.custom_details["diskDetails"]}


def _disable(lab, site, vm_id):
    lab.asr.replication_protected_items.begin_delete(*site.args(vm_id), {"properties": {
        "disableProtectionReason": "NotSpecified"}}).result()


def _disable_failed(lab, site, vm_name):
    """As in Azure, a failed enable leaves a failed item (EnablingFailed) until replication is disabled."""
    vm_id = site.protectable(vm_name).name
    assert site.item(vm_id).properties.protection_state == "EnablingFailed"
    _disable(lab, site, vm_id)


def _seed_disks(lab, vm_name):
    return [d for d in lab.compute.disks.list_by_resource_group(lab.endpoints["target_resource_group"])
            if d.name.startswith(f"asrseeddisk-{vm_name}")]


def test_managed_disk_enable_without_a_log_storage_account_fails_its_job(lab, site):
    # The body the module sent by default: managed-disk replication, no logStorageAccountId.
    with pytest.raises(HttpResponseError) as caught:
        site.enable("app01", logStorageAccountId=None, vhdId=_disks(site, "app01")["app01-os"])
    assert caught.value.error.code == "LogStorageAccountRequired", caught.value.error
    assert lab.vm("HV01", "app01").replication is None and _seed_disks(lab, "app01") == []
    _disable_failed(lab, site, "app01")
    # A log storage account that does not exist fails the same way.
    missing = lab.endpoints["log_storage_account_id"] + "x"
    with pytest.raises(HttpResponseError) as caught:
        site.enable("app01", logStorageAccountId=missing, vhdId=_disks(site, "app01")["app01-os"])
    assert caught.value.error.code == "LogStorageAccountNotFound"
    _disable_failed(lab, site, "app01")


def test_discovery_reports_every_disk_as_data_and_not_in_boot_order(site):
    details = site.protectable("app01").properties.custom_details["diskDetails"]
    assert [d["vhdName"] for d in details] == ["app01-data", "app01-os"]
    assert {d["vhdType"] for d in details} == {"Data"}


def test_seed_disks_only_for_the_disks_and_types_asked_for(lab, site):
    disks = _disks(site, "app01")
    vm_id = site.enable("app01", vhdId=disks["app01-os"], diskType="Standard_LRS",
                        disksToIncludeForManagedDisks=[{"diskId": disks["app01-os"], "diskType": "Premium_LRS"}])
    try:
        seeds = _seed_disks(lab, "app01")
        assert [(d.sku.name, d.disk_size_gb) for d in seeds] == [("Premium_LRS", 127)]
        managed = site.item(vm_id).properties.provider_specific_details.protected_managed_disks
        assert [(m.disk_id, m.replica_disk_type) for m in managed] == [(disks["app01-os"], "Premium_LRS")]
    finally:
        _disable(lab, site, vm_id)
    with pytest.raises(HttpResponseError) as caught:
        site.enable("app01", vhdId=disks["app01-os"], disksToIncludeForManagedDisks=[
            {"diskId": disks["app01-data"], "diskType": "Standard_LRS"}])
    assert caught.value.status_code == 400 and "OsDiskNotIncluded" in str(caught.value)


def test_an_unknown_subnet_is_refused_on_enable_as_on_update(lab, site):
    with pytest.raises(HttpResponseError) as caught:
        site.enable("app01", targetAzureSubnetId="no-such-subnet", vhdId=_disks(site, "app01")["app01-os"])
    assert caught.value.status_code == 400 and "TargetSubnetNotFound" in str(caught.value)
    assert lab.vm("HV01", "app01").replication is None


def test_an_update_that_drops_nics_or_names_a_primary_nic_it_does_not_list_is_refused(lab, site):
    asr = lab.asr
    vm_id = site.enable("app01", vhdId=_disks(site, "app01")["app01-os"])
    try:
        nics = site.item(vm_id).properties.provider_specific_details.vm_nics
        assert len(nics) == 2 and nics[0].nic_id != nics[1].nic_id

        def nic_input(nic, subnet="default", selection="SelectedByUser"):
            return {"nicId": nic.nic_id, "selectionType": selection,
                    "ipConfigs": [{"isPrimary": True, "isSeletedForFailover": True, "recoverySubnetName": subnet}]}

        # The module's old PATCH: the first NIC only, with the item's selected NIC as primary.
        for body in ({"vmNics": [nic_input(nics[0])], "selectedSourceNicId": nics[0].nic_id},
                     {"vmNics": [nic_input(nics[0])], "selectedSourceNicId": nics[1].nic_id}):
            with pytest.raises(HttpResponseError) as caught:
                asr.replication_protected_items.begin_update(*site.args(vm_id), {"properties": {
                    "selectedRecoveryAzureNetworkId": site.network_id, **body}})
            assert caught.value.status_code == 400
            assert any(code in str(caught.value) for code in ("VmNicsMissing", "PrimaryNicNotInVmNics"))
        # Every NIC, each with its own selection type, the second one primary: accepted.
        asr.replication_protected_items.begin_update(*site.args(vm_id), {"properties": {
            "selectedRecoveryAzureNetworkId": site.network_id, "selectedSourceNicId": nics[1].nic_id,
            "vmNics": [nic_input(nics[0], selection="NotSelected"), nic_input(nics[1])]}}).result()
        details = site.item(vm_id).properties.provider_specific_details
        assert details.selected_source_nic_id == nics[1].nic_id
        assert [nic.selection_type for nic in details.vm_nics] == ["NotSelected", "SelectedByUser"]
    finally:
        _disable(lab, site, vm_id)


def test_placement_and_encryption_resources_are_served(lab):
    group = lab.endpoints["target_resource_group"]
    compute = lab.compute
    compute.availability_sets.create_or_update(group, "as-web", {"location": lab.endpoints["location"],
                                                                 "sku": {"name": "Aligned"}})
    compute.proximity_placement_groups.create_or_update(group, "ppg-web", {"location": lab.endpoints["location"]})
    assert compute.availability_sets.get(group, "as-web").name == "as-web"
    assert compute.proximity_placement_groups.get(group, "ppg-web").location == lab.endpoints["location"]
    assert [a.name for a in compute.availability_sets.list(group)] == ["as-web"]
    with pytest.raises(HttpResponseError) as caught:
        compute.disk_encryption_sets.get(group, "des-nope")
    assert caught.value.status_code == 404
