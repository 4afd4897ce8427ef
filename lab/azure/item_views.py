"""How a replication protected item reads: the item document, its allowed operations and the
HyperVReplicaAzure details (field names from the SDK's ReplicationProtectedItemProperties
and HyperVReplicaAzureReplicationDetails, values from the recordings as cited)."""

from __future__ import annotations

import base64
from typing import Any

from lab.azure import discovery, ids
from lab.azure.arm import iso
from lab.azure.state import (
    NONE_SCENARIO_START, RECOVERY_CONTAINER_NAME, RECOVERY_FABRIC_FRIENDLY_NAME, RECOVERY_FABRIC_NAME, AzureCloud,
    Fabric, ProtectedItem, VaultAsr,
)

T_RPI = "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems"
T_RP = T_RPI + "/recoveryPoints"
PROTECTED_OPS = ["PlannedFailover", "UnplannedFailover", "DisableProtection", "TestFailover"]   # every recording
FAILED_OVER_OPS = ["CompleteMigration", "Commit", "DisableProtection", "ChangePit", "CancelFailover"]
COMMITTED_OPS = ["CompleteMigration", "DisableProtection", "Failback"]
DISK_TYPES = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "PremiumV2_LRS", "UltraSSD_LRS", "StandardSSD_ZRS",
              "Premium_ZRS")
LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "WindowsServer")
SQL_LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "PAYG", "AHUB")
NO_TEST_FAILOVER_ERROR = {   # Azure PowerShell's recorded UpdateRPIWithMangedDisksForReplication.json
    "innerHealthErrors": [], "errorSource": "ReplicationUnitFailoverValidatorError", "errorType": None,
    "errorLevel": "Warning", "errorCategory": "TestFailover", "errorCode": "161011",
    "summaryMessage": "Test failover hasn't been performed for a long time.",
    "errorMessage": "Test failover hasn't been performed on the virtual machine.",
    "possibleCauses": "Test failover hasn't been performed on the virtual machine since replication was enabled.",
    "recommendedAction": "Perform a test failover to validate the disaster recovery readiness of the virtual machine.",
    "recoveryProviderErrorMessage": None, "errorId": "6:8010", "customerResolvability": "Allowed",
}


# --- views ---

# While a job runs the item keeps DisableProtection listed. Assumption (no recording reads an item during a
# job): the service may list operations then, so clients must read the job, not an empty list; the lab takes
# the case that breaks the "no operations means busy" reading, and still refuses every action until the job
# ends (protected_items.require_operation).
BUSY_OPS = ["DisableProtection"]
# A failed enable leaves the item with its failed EnableDr job as currentScenario, health Critical and the
# job's error as a health error (EnablingFailed is in Microsoft.DataReplication's ProtectionState enum, whose
# names ASR's strings match: azure-mgmt-recoveryservicesdatareplication models/_enums.py). Assumption: the
# only operation offered then is DisableProtection (the portal's "Disable replication" of a failed item).
ENABLE_FAILED_STATE = "EnablingFailed"
ENABLE_FAILED_OPS = ["DisableProtection"]
# A failed test failover waits for its clean-up like a finished one (Microsoft Learn, "Run a test failover
# (disaster recovery drill) to Azure": a test failover is followed by a clean-up). Assumption: TestFailoverCleanup
# stays allowed after a failed test failover; the testFailoverState string is not recorded.
TEST_FAILOVER_FAILED_STATE = "Failed"


def enable_failed(item: ProtectedItem) -> bool:
    return item.protection_state == ENABLE_FAILED_STATE


def allowed_operations(item: ProtectedItem) -> list[str]:
    if item.busy:
        return list(BUSY_OPS)
    if enable_failed(item):
        return list(ENABLE_FAILED_OPS)
    if item.committed:
        return list(COMMITTED_OPS)
    if item.failed_over:
        return list(FAILED_OVER_OPS)
    if item.test_failover_state in ("WaitingForCompletion", TEST_FAILOVER_FAILED_STATE):
        return ["TestFailoverCleanup"]
    repair = ["RepairReplication"] if item.paused_reason else []
    if not item.ir_done:
        return ["DisableProtection"] + repair
    return PROTECTED_OPS + repair


def item_path(vault: VaultAsr, fabric: Fabric, item: ProtectedItem) -> str:
    return (f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/replicationProtectionContainers/"
            f"{fabric.container_name}/replicationProtectedItems/{item.name}")


def nic_id(vm_id: str, switch: str | None, index: int = 0) -> str:
    """Opaque base64 of "Microsoft:<VM GUID>\\<NIC GUID>" (what the recorded nicId decodes to,
    UpdateRPIWithMangedDisksForReplication.json); `index` tells the network adapters
    of one VM apart (the first keeps the id it always had)."""
    nic_guid = ids.stable_guid("nic", vm_id, switch or "", *([str(index)] if index else []))
    return base64.b64encode(f"Microsoft:{vm_id.upper()}\\{nic_guid.upper()}".encode()).decode()


def vm_nic_ids(vm_id: str, host_vm) -> list[str]:
    """The NIC ids of the VM's network adapters, in order (one NIC when the host VM is gone)."""
    switches = host_vm.adapter_switches() if host_vm else []
    return [nic_id(vm_id, switch, index) for index, switch in enumerate(switches or [None])]


def primary_nic_id(item: ProtectedItem, host_vm) -> str:
    """selectedSourceNicId: the NIC an update chose, else the first."""
    known = vm_nic_ids(item.vm_id, host_vm)
    chosen = item.settings.get("primary_nic")
    return chosen if chosen in known else known[0]


def nic_settings(item: ProtectedItem, wanted: str) -> dict:
    return next((n for n in item.nic_settings if n.get("nicId") == wanted), {})


def vm_nics(item: ProtectedItem, host_vm) -> list[dict]:
    switches = (host_vm.adapter_switches() if host_vm else []) or [None]
    return [_vm_nic(item, nic_id(item.vm_id, switch, index), switch, index) for index, switch in enumerate(switches)]


def _vm_nic(item: ProtectedItem, this_nic: str, switch: str | None, index: int) -> dict:
    s = item.settings
    nic = nic_settings(item, this_nic)
    config = (nic.get("ipConfigs") or [{}])[0]
    subnet = config.get("recoverySubnetName") or s.get("subnet") or ""
    return {
        "nicId": this_nic, "replicaNicId": None, "sourceNicArmId": None,
        "vMNetworkName": switch or "", "recoveryVMNetworkId": s.get("network") or "",
        "ipConfigs": [{"isPrimary": True, "subnetName": None, "staticIPAddress": None, "ipAddressType": "Dynamic",
                       "isSeletedForFailover": True, "recoverySubnetName": subnet,
                       "recoveryStaticIPAddress": config.get("recoveryStaticIPAddress") or "",
                       "recoveryIPAddressType": "Static" if config.get("recoveryStaticIPAddress") else "Dynamic",
                       "recoveryPublicIPAddressId": config.get("recoveryPublicIPAddressId") or "",
                       "recoveryLBBackendAddressPoolIds": config.get("recoveryLBBackendAddressPoolIds") or [],
                       "tfoSubnetName": config.get("tfoSubnetName") or subnet,
                       "tfoStaticIPAddress": config.get("tfoStaticIPAddress") or "",
                       "tfoPublicIPAddressId": config.get("tfoPublicIPAddressId") or "",
                       "tfoLBBackendAddressPoolIds": config.get("tfoLBBackendAddressPoolIds") or []}],
        "selectionType": nic.get("selectionType") or "SelectedByDefault",
        "recoveryNetworkSecurityGroupId": nic.get("recoveryNetworkSecurityGroupId") or "",
        "enableAcceleratedNetworkingOnRecovery": bool(nic.get("enableAcceleratedNetworkingOnRecovery")),
        "tfoVMNetworkId": s.get("tfo_network") or "", "tfoNetworkSecurityGroupId": nic.get("tfoNetworkSecurityGroupId") or "",
        "enableAcceleratedNetworkingOnTfo": bool(nic.get("enableAcceleratedNetworkingOnTfo")),
        "recoveryNicName": nic.get("recoveryNicName") or "", "recoveryNicResourceGroupName": nic.get("recoveryNicResourceGroupName") or "",
        "reuseExistingNic": bool(nic.get("reuseExistingNic")), "tfoRecoveryNicName": nic.get("tfoNicName") or "",
        "tfoRecoveryNicResourceGroupName": nic.get("tfoNicResourceGroupName") or "",
        "tfoReuseExistingNic": bool(nic.get("tfoReuseExistingNic")),
        "targetNicName": nic.get("targetNicName") or f"nic-{s['vm_name'].lower()}-{index:02d}",   # recorded: nic-powershellvm2-00
    }


def disk_views(cloud: AzureCloud, item: ProtectedItem, host_vm) -> tuple[list[dict], list[dict]]:
    details = discovery.disk_details(host_vm, item.settings.get("os_vhd")) if host_vm else []
    vm_details, managed = [], []
    for lun, disk in enumerate(details):
        target = target_disk_name(item, lun)
        vm_details.append({"vhdType": disk["vhdType"], "vhdId": disk["vhdId"],
                           "diskId": f"{item.vm_id.upper()}_{disk['vhdId'].upper()}",
                           "vhdName": disk["vhdName"], "maxSizeMB": str(disk["maxSizeMB"]),
                           "targetDiskLocation": None, "targetDiskName": None, "lunId": str(lun),
                           "diskEncryptionSetId": item.settings.get("des") or None, "customTargetDiskName": target})
        seed = item.seed_disks.get(disk["vhdId"])
        if seed:
            disk_type = (item.settings.get("disk_types") or {}).get(disk["vhdId"]) or item.settings["disk_type"]
            managed.append({"diskId": disk["vhdId"], "seedManagedDiskId": seed,
                            "replicaDiskType": disk_type, "diskEncryptionSetId": item.settings.get("des") or None,
                            "targetDiskAccountType": disk_type, "sectorSizeInBytes": 512,
                            "throughputInMbps": None, "diskSizeInGB": -(-disk["maxSizeMB"] // 1024)})
    return vm_details, managed


def target_disk_name(item: ProtectedItem, lun: int, vm_name: str | None = None) -> str:
    base = (vm_name or item.settings["vm_name"]).lower()
    return f"{base}-OSdisk-00" if lun == 0 else f"{base}-datadisk-{lun:02d}"   # recorded: powershellvm2-OSdisk-00


def vm_protection(item: ProtectedItem) -> tuple[str, str]:
    """vmProtectionState / description of the HyperVReplicaAzure details."""
    if item.failed_over:
        return ("FailedOver", "Failover committed") if item.committed else ("FailedOver", "Failed over")
    if enable_failed(item):
        return ENABLE_FAILED_STATE, item.protection_description
    if not item.ir_done:
        if item.busy and item.scenario and item.scenario[0] == "EnableDr":
            return "UnprotectedStatesBegin", "Enabling protection"
        return "InitialReplicationInProgress", "Initial replication in progress"
    return "Protected", "Protected"


def rpi_json(cloud: AzureCloud, vault: VaultAsr, fabric: Fabric, item: ProtectedItem, single: bool = True) -> dict:
    s = item.settings
    found = discovery.find_vm(cloud, fabric, item.vm_id)
    provider, host_vm = (found[0], found[2]) if found else (None, None)
    vm_details, managed = disk_views(cloud, item, host_vm)
    vm_state, vm_state_description = vm_protection(item)
    progress = 0 if item.ir_done or item.ir_total_bytes <= 0 else \
        int(100 * (1 - item.ir_remaining_bytes / item.ir_total_bytes))
    scenario = item.scenario
    container_path = (f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/replicationProtectionContainers/"
                      f"{fabric.container_name}")
    errors = list(item.health_errors) + ([NO_TEST_FAILOVER_ERROR] if item.ir_done and not item.last_test_failover
                                         and not item.failed_over else [])
    properties: dict[str, Any] = {
        "friendlyName": item.vm_name, "protectedItemType": "HyperVVirtualMachine",
        "protectableItemId": f"{container_path}/replicationProtectableItems/{item.vm_id}",
        "recoveryServicesProviderId": (f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/"
                                       f"replicationRecoveryServicesProviders/{provider.name}") if provider else None,
        "primaryFabricFriendlyName": fabric.friendly_name, "primaryFabricProvider": "SingleHostHyperVFabric",
        "recoveryFabricFriendlyName": RECOVERY_FABRIC_FRIENDLY_NAME, "recoveryFabricId": RECOVERY_FABRIC_FRIENDLY_NAME,
        "primaryProtectionContainerFriendlyName": fabric.friendly_name,
        "recoveryProtectionContainerFriendlyName": RECOVERY_FABRIC_FRIENDLY_NAME,
        "protectionState": item.protection_state, "protectionStateDescription": item.protection_description,
        "activeLocation": item.active_location,
        "testFailoverState": item.test_failover_state, "testFailoverStateDescription": item.test_failover_description,
        "switchProviderState": "None", "switchProviderStateDescription": "None",
        "allowedOperations": allowed_operations(item),
        "replicationHealth": item.replication_health if item.ir_done or item.paused_reason or enable_failed(item)
        else "Normal",
        "failoverHealth": "Warning" if any(e["errorLevel"] == "Warning" for e in errors) else "Normal",
        "healthErrors": errors,
        "policyId": f"{vault.asr_prefix}/replicationPolicies/{item.policy_name}", "policyFriendlyName": item.policy_name,
    }
    # Absent, not null, until first set (tests/fixtures/asr-recordings/README.md, differences §4).
    if item.last_failover:
        properties["lastSuccessfulFailoverTime"] = iso(item.last_failover)
    if item.last_test_failover:
        properties["lastSuccessfulTestFailoverTime"] = iso(item.last_test_failover)
    properties.update({
        "currentScenario": {"scenarioName": scenario[0], "jobId": f"{vault.asr_prefix}/replicationJobs/{scenario[1]}",
                            "startTime": iso(scenario[2])} if scenario else
        {"scenarioName": "None", "jobId": f"{vault.asr_prefix}/replicationJobs/None", "startTime": NONE_SCENARIO_START},
        "failoverRecoveryPointId": f"{item_path(vault, fabric, item)}/recoveryPoints/{item.failover_recovery_point}"
        if item.failover_recovery_point else None,
        "providerSpecificDetails": {
            "instanceType": "HyperVReplicaAzure", "azureVmDiskDetails": vm_details,
            "recoveryAzureVmName": s["vm_name"], "recoveryAzureVMSize": s["vm_size"],
            "recoveryAzureStorageAccount": s.get("storage_account"),
            "recoveryAzureLogStorageAccountId": s.get("log_storage_account"),
            "lastReplicatedTime": iso(item.last_replicated), "rpoInSeconds": item.rpo_seconds,
            "lastRpoCalculatedTime": iso(item.last_rpo_calculated), "vmId": item.vm_id,
            "vmProtectionState": vm_state, "vmProtectionStateDescription": vm_state_description,
            # Recorded "0" even on a Protected item (UpdateRPIWithMangedDisksForReplication.json): only IR in progress shows a percentage.
            "initialReplicationDetails": {"initialReplicationType": "InitialReplication",
                                          "initialReplicationProgressPercentage": str(progress)},
            "vmNics": vm_nics(item, host_vm), "selectedRecoveryAzureNetworkId": s.get("network") or "",
            "selectedSourceNicId": primary_nic_id(item, host_vm),
            "encryption": "Disabled",
            "oSDetails": {"osType": s["os_type"], "productType": "Server", "osEdition": "",
                          "oSVersion": "10.0.20348" if s["os_type"] == "Windows" else "",
                          "oSMajorVersion": "10" if s["os_type"] == "Windows" else "",
                          "oSMinorVersion": "0", "userSelectedOSName": s.get("os_name") or ""},
            "sourceVmRamSizeInMB": host_vm.memory_mb if host_vm else 0,
            "sourceVmCpuCount": host_vm.processor_count if host_vm else 0,
            "enableRdpOnTargetOption": s.get("rdp") or "", "recoveryAzureResourceGroupId": s["resource_group"],
            "recoveryAvailabilitySetId": s.get("availability_set") or "",
            "targetAvailabilityZone": s.get("zone") or "", "targetProximityPlacementGroupId": s.get("ppg") or "",
            "useManagedDisks": "true" if s.get("use_managed_disks", True) else "false",
            "licenseType": s.get("license_type") or "NotSpecified",
            "sqlServerLicenseType": s.get("sql_license_type") or "NotSpecified",
            "linuxLicenseType": s.get("linux_license_type") or "NotSpecified",
            "lastRecoveryPointReceived": iso(item.recovery_points[-1].time) if item.recovery_points else None,
            "targetVmTags": s.get("vm_tags") or {}, "seedManagedDiskTags": s.get("seed_tags") or {},
            "targetManagedDiskTags": s.get("disk_tags") or {}, "targetNicTags": s.get("nic_tags") or {},
            # Empty in the list view, populated in the single GET (tests/fixtures/asr-recordings/README.md differences §4).
            "protectedManagedDisks": managed if single else [],
            "allAvailableOSUpgradeConfigurations": [], "targetVmSecurityProfile": None,
            "targetCapacityReservationGroupId": "",
        },
        "recoveryContainerId": (f"{vault.asr_prefix}/replicationFabrics/{RECOVERY_FABRIC_NAME}/"
                                f"replicationProtectionContainers/{RECOVERY_CONTAINER_NAME}"),
        "eventCorrelationId": item.event_correlation_id,
    })
    return {"id": item_path(vault, fabric, item), "name": item.name, "type": T_RPI, "properties": properties}
