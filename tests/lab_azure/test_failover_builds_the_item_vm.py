"""The VM a (test) failover builds is the one the protected item describes (lab/FIDELITY.md, "Azure: enable and
update replication"): its disks are exactly the item's protected managed disks, each with its own replica disk type
and the OS disk the one the item names; its NICs are the item's selected vmNics, each in its own subnet, the
selectedSourceNicId one primary; the item's target tags are on the VM, its disks and its NICs.

sql01 (HV02: OS, data and log disks, two NICs) and app01 (HV01: data disk listed first, two NICs) end each test
not replicating and running.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

VM_TAGS, DISK_TAGS, NIC_TAGS = {"app": "sql"}, {"kind": "disk"}, {"kind": "nic"}


def _vhds(site, vm_name):
    """{disk name: vhdId} of the VM's disks, as discovery lists them."""
    return {d["vhdName"]: d["vhdId"] for d in site.protectable(vm_name).properties.custom_details["diskDetails"]}


def _network(lab, name, subnets):
    """A VNet in the target group with the named subnets, in the order given; returns its id."""
    prefix = {"vnet-fo": "10.30", "vnet-fo-test": "10.31"}[name]
    lab.network.virtual_networks.begin_create_or_update(lab.endpoints["target_resource_group"], name, {
        "location": lab.endpoints["location"], "properties": {
            "addressSpace": {"addressPrefixes": [f"{prefix}.0.0/16"]},
            "subnets": [{"name": subnet, "properties": {"addressPrefix": f"{prefix}.{index + 1}.0/24"}}
                        for index, subnet in enumerate(subnets)]}}).result()
    return lab.network.virtual_networks.get(lab.endpoints["target_resource_group"], name).id


def _nic_input(nic, subnet, selection="SelectedByUser", static_ip=None):
    config = {"isPrimary": True, "isSeletedForFailover": selection != "NotSelected", "recoverySubnetName": subnet,
              "tfoSubnetName": subnet}
    return {"nicId": nic.nic_id, "selectionType": selection,
            "ipConfigs": [{**config, "recoveryStaticIPAddress": static_ip} if static_ip else config]}


def _update_nics(lab, site, vm_id, network_id, primary, nic_inputs):
    lab.asr.replication_protected_items.begin_update(*site.args(vm_id), {"properties": {
        "selectedRecoveryAzureNetworkId": network_id, "selectedSourceNicId": primary, "vmNics": nic_inputs}}).result()


def _vm(lab, name):
    """(VM, {disk name: disk}, [NIC], primary NIC id) of an Azure VM in the target group."""
    group = lab.endpoints["target_resource_group"]
    vm = lab.compute.virtual_machines.get(group, name)
    storage = vm.storage_profile
    disks = {d.name: lab.compute.disks.get(group, d.name) for d in [storage.os_disk, *storage.data_disks]}
    nics = [lab.network.network_interfaces.get(group, ref.id.rsplit("/", 1)[1])
            for ref in vm.network_profile.network_interfaces]
    primary = [ref.id for ref in vm.network_profile.network_interfaces if ref.primary]
    return vm, disks, nics, primary


def _subnet(nic):
    return nic.ip_configurations[0].subnet.id.rsplit("/virtualNetworks/", 1)[1]


def _disable(lab, site, vm_id):
    """Ends the item's test failover or failover when one is pending (a test that failed half-way), then
    disables replication."""
    items = lab.asr.replication_protected_items
    operations = site.item(vm_id).properties.allowed_operations
    if "TestFailoverCleanup" in operations:
        items.begin_test_failover_cleanup(*site.args(vm_id), {"properties": {"comments": ""}}).result()
    if "CancelFailover" in operations:
        items.begin_failover_cancel(*site.args(vm_id)).result()
    items.begin_delete(*site.args(vm_id), {"properties": {"disableProtectionReason": "NotSpecified"}}).result()


def test_test_failover_and_planned_failover_build_the_disks_nics_and_tags_of_the_item(lab, cluster_site):
    site, asr = cluster_site, lab.asr
    vhds = _vhds(site, "sql01")
    network_id = _network(lab, "vnet-fo", ["front", "back"])
    # The test network has none of the item's subnets, and lists "zeta" first.
    test_network_id = _network(lab, "vnet-fo-test", ["zeta", "alpha"])
    vm_id = site.enable("sql01", vhdId=vhds["sql01-os"], diskType="Standard_LRS", targetAzureNetworkId=network_id,
                        targetAzureSubnetId="front", targetVmTags=VM_TAGS, targetManagedDiskTags=DISK_TAGS,
                        targetNicTags=NIC_TAGS, disksToIncludeForManagedDisks=[
                            {"diskId": vhds["sql01-log"], "diskType": "Premium_LRS"},
                            {"diskId": vhds["sql01-os"], "diskType": "StandardSSD_LRS"}])
    try:
        item = site.wait_protected(vm_id, step_s=3600)
        nics = item.properties.provider_specific_details.vm_nics
        assert len(nics) == 2
        _update_nics(lab, site, vm_id, network_id, nics[1].nic_id, [_nic_input(nics[0], "front", static_ip="10.30.1.50"),
                                                                    _nic_input(nics[1], "back")])

        # Test failover: the item's two disks and two NICs, in the test network's first subnet by name.
        asr.replication_protected_items.begin_test_failover(*site.args(vm_id), {"properties": {
            "failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput", "networkId": test_network_id,
            "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}}).result()
        vm, disks, vm_nics, primary = _vm(lab, "sql01-test")
        assert {(name, d.sku.name, d.disk_size_gb) for name, d in disks.items()} == {
            ("sql01-test-OSdisk-00", "StandardSSD_LRS", 127), ("sql01-test-datadisk-01", "Premium_LRS", 128)}
        assert vm.storage_profile.os_disk.name == "sql01-test-OSdisk-00"
        assert [(n.name, _subnet(n)) for n in vm_nics] == [("nic-sql01-test-01", "vnet-fo-test/subnets/alpha"),
                                                           ("nic-sql01-test-00", "vnet-fo-test/subnets/alpha")]
        assert primary == [vm_nics[0].id]
        asr.replication_protected_items.begin_test_failover_cleanup(*site.args(vm_id), {"properties": {
            "comments": ""}}).result()

        # Planned failover: the same disks, each NIC in its own recovery subnet, the selected one primary.
        asr.replication_protected_items.begin_planned_failover(*site.args(vm_id), {"properties": {
            "failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}}
        ).result()
        vm, disks, vm_nics, primary = _vm(lab, "sql01")
        assert vm.storage_profile.os_disk.name == "sql01-OSdisk-00"
        assert disks["sql01-OSdisk-00"].os_type == "Windows" and disks["sql01-OSdisk-00"].disk_size_gb == 127
        assert [(d.name, d.sku.name, d.disk_size_gb) for d in [disks[x.name] for x in vm.storage_profile.data_disks]
                ] == [("sql01-datadisk-01", "Premium_LRS", 128)]
        assert disks["sql01-OSdisk-00"].sku.name == "StandardSSD_LRS"
        assert [(n.name, _subnet(n)) for n in vm_nics] == [("nic-sql01-01", "vnet-fo/subnets/back"),
                                                           ("nic-sql01-00", "vnet-fo/subnets/front")]
        assert primary == [vm_nics[0].id]
        assert vm_nics[1].ip_configurations[0].private_ip_address == "10.30.1.50"     # the NIC's recovery static IP
        assert vm.tags == VM_TAGS
        assert all(d.tags == DISK_TAGS for d in disks.values()) and all(n.tags == NIC_TAGS for n in vm_nics)
        asr.replication_protected_items.begin_failover_cancel(*site.args(vm_id)).result()
    finally:
        _disable(lab, site, vm_id)
    assert lab.vm("HV02", "sql01").state == "Running" and lab.vm("HV02", "sql01").replication is None


def test_a_vm_enabled_with_its_os_disk_only_fails_over_with_that_disk_and_its_selected_nic(lab, site):
    asr = lab.asr
    vhds = _vhds(site, "app01")     # the data disk is listed first
    vm_id = site.enable("app01", vhdId=vhds["app01-os"],
                        disksToIncludeForManagedDisks=[{"diskId": vhds["app01-os"], "diskType": "Premium_LRS"}])
    unplanned = {"properties": {"failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired",
                                "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}}
    try:
        nics = site.wait_protected(vm_id, step_s=3600).properties.provider_specific_details.vm_nics
        # A primary NIC that is not selected for failover fails the failover's prerequisites check, before any change.
        _update_nics(lab, site, vm_id, site.network_id, nics[0].nic_id,
                     [_nic_input(nics[0], "default", "NotSelected"), _nic_input(nics[1], "default")])
        with pytest.raises(HttpResponseError) as caught:
            asr.replication_protected_items.begin_unplanned_failover(*site.args(vm_id), unplanned).result()
        assert caught.value.error.code == "PrimaryNicNotSelected", caught.value.error
        assert "app01" not in [vm.name for vm in lab.compute.virtual_machines.list(lab.endpoints["target_resource_group"])]
        assert site.item(vm_id).properties.protection_state == "Protected"

        _update_nics(lab, site, vm_id, site.network_id, nics[1].nic_id,
                     [_nic_input(nics[0], "default", "NotSelected"), _nic_input(nics[1], "default")])
        asr.replication_protected_items.begin_unplanned_failover(*site.args(vm_id), unplanned).result()
        vm, disks, vm_nics, primary = _vm(lab, "app01")
        assert [(name, d.sku.name, d.disk_size_gb) for name, d in disks.items()] == [
            ("app01-OSdisk-00", "Premium_LRS", 127)]
        assert vm.storage_profile.data_disks == []
        assert [n.name for n in vm_nics] == ["nic-app01-01"] and primary == [vm_nics[0].id]
        asr.replication_protected_items.begin_failover_cancel(*site.args(vm_id)).result()
    finally:
        _disable(lab, site, vm_id)
    assert lab.vm("HV01", "app01").state == "Running" and lab.vm("HV01", "app01").replication is None
