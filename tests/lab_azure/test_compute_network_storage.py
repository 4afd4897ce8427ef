"""Microsoft.Compute disks and VMs, Microsoft.Network VNets, subnets and NICs, Microsoft.Storage
accounts with Azurite behind the blob endpoint, all through the real SDK clients."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobServiceClient

RG = "rg-compute-tests"


@pytest.fixture(scope="module")
def group(lab):
    status, dummy, dummy = lab.raw("PUT", f"/subscriptions/{lab.sub}/resourcegroups/{RG}", {"location": "eastus"},
                                   api_version="2021-04-01")
    assert status in (200, 201)
    return RG


def test_network_vnet_subnet_nic(lab, group):
    network = lab.network
    vnet = network.virtual_networks.begin_create_or_update(group, "vnet1", {
        "location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.50.0.0/16"]},
                                             "subnets": [{"name": "apps", "properties": {"addressPrefix": "10.50.1.0/24"}}]}}
    ).result()
    assert vnet.provisioning_state == "Succeeded" and [s.name for s in vnet.subnets] == ["apps"]
    subnet = network.subnets.begin_create_or_update(group, "vnet1", "data", {"properties": {
        "addressPrefix": "10.50.2.0/24"}}).result()
    assert subnet.address_prefix == "10.50.2.0/24"
    assert {s.name for s in network.subnets.list(group, "vnet1")} == {"apps", "data"}
    nic = network.network_interfaces.begin_create_or_update(group, "nic1", {"location": "eastus", "properties": {
        "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet.id}}}]}}).result()
    assert nic.ip_configurations[0].private_ip_address == "10.50.2.4"     # first address Azure hands out
    with pytest.raises(HttpResponseError) as caught:
        network.subnets.begin_delete(group, "vnet1", "data").result()
    assert caught.value.error.code == "InUseSubnetCannotBeDeleted"
    with pytest.raises(HttpResponseError) as caught:
        network.network_interfaces.begin_create_or_update(group, "nic-bad", {"location": "eastus", "properties": {
            "ipConfigurations": [{"name": "c", "properties": {"subnet": {"id": subnet.id + "x"}}}]}}).result()
    assert caught.value.error.code == "InvalidResourceReference"


def test_disks_and_vm_power(lab, group):
    compute, network = lab.compute, lab.network
    os_disk = compute.disks.begin_create_or_update(group, "vm1-os", {
        "location": "eastus", "sku": {"name": "StandardSSD_LRS"},
        "properties": {"osType": "Windows", "hyperVGeneration": "V2", "diskSizeGB": 64,
                       "creationData": {"createOption": "Empty"}}}).result()
    assert os_disk.disk_state == "Unattached" and os_disk.disk_size_gb == 64
    copy = compute.disks.begin_create_or_update(group, "vm1-os-copy", {
        "location": "eastus", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": os_disk.id}}}
    ).result()
    assert copy.disk_size_gb == 64
    with pytest.raises(HttpResponseError) as caught:
        compute.disks.begin_create_or_update(group, "bad", {"location": "eastus", "properties": {
            "creationData": {"createOption": "Empty"}}}).result()
    assert caught.value.status_code == 400
    subnet_id = network.subnets.get(group, "vnet1", "apps").id
    nic = network.network_interfaces.begin_create_or_update(group, "vm1-nic", {"location": "eastus", "properties": {
        "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}}}]}}).result()
    vm = compute.virtual_machines.begin_create_or_update(group, "vm1", {
        "location": "eastus", "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {"osDisk": {"createOption": "Attach", "osType": "Windows",
                                          "managedDisk": {"id": os_disk.id}}},
            "networkProfile": {"networkInterfaces": [{"id": nic.id, "properties": {"primary": True}}]}}}).result()
    assert vm.provisioning_state == "Succeeded"
    assert compute.disks.get(group, "vm1-os").disk_state == "Attached"

    def power():
        view = compute.virtual_machines.instance_view(group, "vm1")
        return next(s.code for s in view.statuses if s.code.startswith("PowerState/"))

    assert power() == "PowerState/running"
    compute.virtual_machines.begin_power_off(group, "vm1").result()
    assert power() == "PowerState/stopped"
    compute.virtual_machines.begin_deallocate(group, "vm1").result()
    assert power() == "PowerState/deallocated"
    compute.virtual_machines.begin_start(group, "vm1").result()
    assert power() == "PowerState/running"
    expanded = compute.virtual_machines.get(group, "vm1", expand="instanceView")
    assert expanded.instance_view.statuses[1].code == "PowerState/running"
    with pytest.raises(HttpResponseError) as caught:
        compute.disks.begin_delete(group, "vm1-os").result()
    assert caught.value.status_code == 409
    with pytest.raises(HttpResponseError) as caught:
        network.network_interfaces.begin_delete(group, "vm1-nic").result()
    assert caught.value.error.code == "NicInUse"
    compute.virtual_machines.begin_delete(group, "vm1").result()
    assert "vm1" not in [v.name for v in compute.virtual_machines.list(group)]
    compute.disks.begin_delete(group, "vm1-os").result()
    network.network_interfaces.begin_delete(group, "vm1-nic").result()


def test_patch_disk_sku_and_tags_and_vm_tags(lab, group):
    """Disks - Update and Virtual Machines - Update through the SDK's begin_update (PATCH): a new SKU on a disk of a
    running VM is refused as Azure refuses it, accepted once the VM is deallocated, and the VM sees the new SKU."""
    compute, network = lab.compute, lab.network
    disk = compute.disks.begin_create_or_update(group, "vm2-os", {
        "location": "eastus", "sku": {"name": "Standard_LRS"},
        "properties": {"osType": "Windows", "diskSizeGB": 32, "creationData": {"createOption": "Empty"}}}).result()
    subnet_id = network.subnets.get(group, "vnet1", "apps").id
    nic = network.network_interfaces.begin_create_or_update(group, "vm2-nic", {"location": "eastus", "properties": {
        "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}}}]}}).result()
    compute.virtual_machines.begin_create_or_update(group, "vm2", {
        "location": "eastus", "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {"osDisk": {"createOption": "Attach", "osType": "Windows", "managedDisk": {"id": disk.id}}},
            "networkProfile": {"networkInterfaces": [{"id": nic.id, "properties": {"primary": True}}]}}}).result()
    updated = compute.disks.begin_update(group, "vm2-os", {"tags": {"owner": "lab"}}).result()
    assert updated.tags == {"owner": "lab"} and updated.sku.name == "Standard_LRS"     # tags: also while it runs
    with pytest.raises(HttpResponseError) as caught:
        compute.disks.begin_update(group, "vm2-os", {"sku": {"name": "Premium_LRS"}}).result()
    assert caught.value.status_code == 409 and caught.value.error.code == "OperationNotAllowed"
    assert "deallocated" in caught.value.error.message
    compute.virtual_machines.begin_power_off(group, "vm2").result()
    with pytest.raises(HttpResponseError) as caught:     # stopped is not enough: the VM must be deallocated
        compute.disks.begin_update(group, "vm2-os", {"sku": {"name": "Premium_LRS"}}).result()
    assert caught.value.error.code == "OperationNotAllowed"
    compute.virtual_machines.begin_deallocate(group, "vm2").result()
    updated = compute.disks.begin_update(group, "vm2-os", {"sku": {"name": "Premium_LRS"}}).result()
    assert updated.sku.name == "Premium_LRS" and updated.tags == {"owner": "lab"}
    vm = compute.virtual_machines.get(group, "vm2")
    assert vm.storage_profile.os_disk.managed_disk.storage_account_type == "Premium_LRS"
    with pytest.raises(HttpResponseError) as caught:
        compute.disks.begin_update(group, "vm2-os", {"sku": {"name": "Fast_LRS"}}).result()
    assert caught.value.status_code == 400
    with pytest.raises(HttpResponseError) as caught:
        compute.disks.begin_update(group, "vm2-os", {"properties": {"diskIOPSReadWrite": 500}}).result()
    assert caught.value.status_code == 400 and "does not simulate" in caught.value.error.message

    vm = compute.virtual_machines.begin_update(group, "vm2", {"tags": {"wave": "1"}}).result()
    assert vm.tags == {"wave": "1"} and vm.provisioning_state == "Succeeded"
    assert compute.virtual_machines.get(group, "vm2").tags == {"wave": "1"}
    with pytest.raises(HttpResponseError) as caught:
        compute.virtual_machines.begin_update(group, "vm-none", {"tags": {}}).result()
    assert caught.value.status_code == 404
    compute.virtual_machines.begin_delete(group, "vm2").result()
    compute.disks.begin_delete(group, "vm2-os").result()
    network.network_interfaces.begin_delete(group, "vm2-nic").result()


def test_storage_account_keys_and_blobs_in_azurite(lab, group):
    storage = lab.storage
    assert storage.storage_accounts.check_name_availability({"name": "labblobs1", "type":
                                                            "Microsoft.Storage/storageAccounts"}).name_available
    account = storage.storage_accounts.begin_create(group, "labblobs1", {
        "location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}).result()
    assert account.primary_endpoints.blob == lab.endpoints["blob_endpoint"] + "/labblobs1/"
    assert not storage.storage_accounts.check_name_availability({"name": "labblobs1", "type":
                                                                "Microsoft.Storage/storageAccounts"}).name_available
    keys = storage.storage_accounts.list_keys(group, "labblobs1").keys_property
    assert [k.key_name for k in keys] == ["key1", "key2"]
    assert "labblobs1" in [a.name for a in storage.storage_accounts.list_by_resource_group(group)]
    from azure.core.credentials import AzureNamedKeyCredential
    blobs = BlobServiceClient(account.primary_endpoints.blob, connection_verify=lab.ca,
                              credential=AzureNamedKeyCredential("labblobs1", keys[0].value))
    container = blobs.create_container("installers")
    container.upload_blob("setup.exe", b"MZ" + b"\0" * 1024, metadata={"sha256": "abc"})
    assert container.get_blob_client("setup.exe").get_blob_properties().metadata["sha256"] == "abc"
    # The same account through a bearer token from the lab's Entra (Azurite --oauth basic).
    token_blobs = BlobServiceClient(account.primary_endpoints.blob, credential=lab.credential, connection_verify=lab.ca)
    assert token_blobs.get_container_client("installers").download_blob("setup.exe").readall()[:2] == b"MZ"
    with pytest.raises(ResourceExistsError):
        storage.storage_accounts.begin_create(lab.rg, "labblobs1", {"location": "eastus",
                                                                    "sku": {"name": "Standard_LRS"}}).result()
