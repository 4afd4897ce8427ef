"""One VM's whole life through the real SDK clients: register host -> enable -> protected ->
test failover -> cleanup -> planned failover -> commit -> complete, with the Hyper-V VM's
replication state and power and the Azure VM's power state checked at each step."""

from __future__ import annotations

from inprocess_azure import wait_until


def _azure_vm_power(lab, name: str) -> str | None:
    vms = {vm.name: vm for vm in lab.compute.virtual_machines.list(lab.endpoints["target_resource_group"])}
    if name not in vms:
        return None
    view = lab.compute.virtual_machines.instance_view(lab.endpoints["target_resource_group"], name)
    return next(s.code for s in view.statuses if s.code.startswith("PowerState/"))


def test_whole_life_of_one_vm(lab, site):
    asr, rg_target = lab.asr, lab.endpoints["target_resource_group"]
    host_vm = lab.vm("HV01", "web01")
    assert host_vm.replication is None and host_vm.state == "Running"

    # Registered host: a connected provider, its VMs protectable.
    providers = list(asr.replication_recovery_services_providers.list_by_replication_fabrics(lab.rg, lab.vault, site.name))
    assert [p.properties.friendly_name for p in providers] == ["HV01.contoso.local"]
    assert providers[0].properties.connection_status == "Connected"
    assert site.protectable("web01").properties.protection_status == "Unprotected"

    # Enable: job EnableDr, seed disks, host VM in initial replication.
    vm_id = site.enable("web01")
    item = site.item(vm_id)
    assert item.properties.protection_state == "UnprotectedStatesBegin"
    assert item.properties.allowed_operations == ["DisableProtection"]
    assert lab.vm("HV01", "web01").replication.state == "InitialReplicationInProgress"
    seeds = [d.name for d in lab.compute.disks.list_by_resource_group(rg_target) if d.name.startswith("asrseeddisk-web01")]
    assert len(seeds) == 1
    assert site.protectable("web01").properties.protection_status == "Protected"

    # Initial replication finishes at the rate the model allows; then Protected, delta replication.
    item = site.wait_protected(vm_id)
    assert item.properties.allowed_operations == ["PlannedFailover", "UnplannedFailover", "DisableProtection",
                                                  "TestFailover"]
    assert item.properties.provider_specific_details.vm_protection_state == "Protected"
    assert lab.vm("HV01", "web01").replication.state == "Replicating"
    assert item.properties.health_errors[0].error_code == "161011"     # no test failover yet

    # Target settings (PATCH): size and NIC subnet.
    nic = item.properties.provider_specific_details.vm_nics[0]
    asr.replication_protected_items.begin_update(*site.args(vm_id), {"properties": {
        "recoveryAzureVMSize": "Standard_D2s_v3", "selectedRecoveryAzureNetworkId": site.network_id,
        "vmNics": [{"nicId": nic.nic_id, "ipConfigs": [{"isPrimary": True, "isSeletedForFailover": True,
                                                        "recoverySubnetName": "default", "tfoSubnetName": "default"}],
                    "selectionType": "SelectedByUser"}],
        "licenseType": "WindowsServer",
        "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure", "sqlServerLicenseType": "NoLicenseType"}}}
    ).result()
    item = site.item(vm_id)
    assert item.properties.provider_specific_details.recovery_azure_vm_size == "Standard_D2s_v3"
    assert item.properties.provider_specific_details.license_type == "WindowsServer"

    # Test failover: a "-test" VM in the test network, running; the source keeps running.
    asr.replication_protected_items.begin_test_failover(*site.args(vm_id), {"properties": {
        "failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput", "networkId": site.test_network_id,
        "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}}).result()
    item = site.item(vm_id)
    assert item.properties.test_failover_state == "WaitingForCompletion"
    assert item.properties.allowed_operations == ["TestFailoverCleanup"]
    assert item.properties.current_scenario.scenario_name == "TestFailover"
    assert _azure_vm_power(lab, "web01-test") == "PowerState/running"
    test_nic = lab.network.network_interfaces.get(rg_target, "nic-web01-test-00")
    assert "vnet-test" in test_nic.ip_configurations[0].subnet.id
    assert lab.vm("HV01", "web01").state == "Running"
    assert lab.vm("HV01", "web01").replication.state == "Replicating"     # a test failover leaves the source alone

    # Cleanup removes the test VM, its NIC and disks.
    asr.replication_protected_items.begin_test_failover_cleanup(*site.args(vm_id),
                                                                {"properties": {"comments": "validated"}}).result()
    item = site.item(vm_id)
    assert _azure_vm_power(lab, "web01-test") is None
    assert not [d for d in lab.compute.disks.list_by_resource_group(rg_target) if d.name.startswith("web01-test")]
    assert item.properties.test_failover_state == "MarkedForDeletion"     # as recorded after cleanup
    assert "PlannedFailover" in item.properties.allowed_operations
    assert not [e for e in item.properties.health_errors if e.error_code == "161011"]
    assert item.properties.failover_health == "Normal"
    assert lab.vm("HV01", "web01").replication.state == "Replicating"

    # Planned failover: the source shuts down, final sync, the Azure VM runs from replica disks and a NIC.
    asr.replication_protected_items.begin_planned_failover(*site.args(vm_id), {"properties": {
        "failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}}
    ).result()
    item = site.item(vm_id)
    assert item.properties.active_location == "Recovery"
    assert item.properties.protection_state == "PlannedFailoverCommitRequired"
    assert set(item.properties.allowed_operations) >= {"Commit", "CompleteMigration"}
    host_vm = lab.vm("HV01", "web01")
    assert host_vm.state == "Off" and host_vm.replication.state == "FailedOver"
    assert _azure_vm_power(lab, "web01") == "PowerState/running"
    azure_vm = lab.compute.virtual_machines.get(rg_target, "web01")
    assert azure_vm.hardware_profile.vm_size == "Standard_D2s_v3"
    assert azure_vm.storage_profile.os_disk.name == "web01-OSdisk-00"
    assert azure_vm.network_profile.network_interfaces[0].id.endswith("/nic-web01-00")

    # Commit, then complete the migration: replication removed, seed disks gone, the Azure VM stays.
    asr.replication_protected_items.begin_failover_commit(*site.args(vm_id)).result()
    item = site.item(vm_id)
    assert item.properties.protection_state == "PlannedFailoverStatesBegin"
    assert item.properties.allowed_operations == ["CompleteMigration", "DisableProtection", "Failback"]
    asr.replication_protected_items.begin_delete(*site.args(vm_id), {"properties": {
        "disableProtectionReason": "MigrationComplete",
        "replicationProviderInput": {"instanceType": "DisableProtectionProviderSpecificInput"}}}).result()
    assert vm_id not in [i.name for i in asr.replication_protected_items.list_by_replication_protection_containers(
        *site.args())]
    assert not [d for d in lab.compute.disks.list_by_resource_group(rg_target) if d.name.startswith("asrseeddisk-web01")]
    assert lab.vm("HV01", "web01").replication is None and lab.vm("HV01", "web01").state == "Off"
    assert _azure_vm_power(lab, "web01") == "PowerState/running"
    wait_until(lambda: lab.on_loop(lambda: lab.world.host("HV01").file(r"D:\Hyper-V\web01\web01-os.hrl")) is None,
               what="the .hrl log to go")
