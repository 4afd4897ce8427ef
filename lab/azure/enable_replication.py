"""Enable replication of a Hyper-V VM (PUT of a replication protected item): the settings the service checks
before it accepts the request, and the EnableDr job's hooks - the host VM's replication state
(lab/hosts/state.py), seed managed disks (compute.py), and initial replication, which moves at the rate
lab/azure/replication.py computes. A failed job leaves the item failed, with the job's error as a health error.
"""

from __future__ import annotations

from lab.azure import compute, discovery, ids, network, replication
from lab.azure.arm import Arm, ArmCall
from lab.azure.asr_common import accepted, asr_error, container_of, job_fabric, job_item
from lab.azure.item_views import DISK_TYPES, ENABLE_FAILED_STATE, LICENSE_TYPES, SQL_LICENSE_TYPES
from lab.azure.jobs import Job, JobFailed
from lab.azure.protected_items import ITEM, finish, item_job, job_host_vm, on_item_job_done, on_item_task
from lab.azure.state import AzureCloud, Fabric, ProtectedItem, VaultAsr
from lab.hosts.state import VMReplication
from lab.http import Response


def _check_readiness(call: ArmCall, host_vm, provider: str) -> None:
    """Refuse, before anything is created, a VM its protectable item reports not ready: readiness errors (Hyper-V
    Replica already set up, or a test's knob), or a provider other than the ones it supports. The codes are the
    lab's (lab/FIDELITY.md: assumption); the shape is the recorded synchronous error (reprotect.json)."""
    readiness = discovery.readiness(call.cloud, host_vm, protected=False)
    if readiness["errors"]:
        raise asr_error(400, "ProtectableItemNotReady", f"Protection can't be enabled for the virtual machine "
                        f"'{host_vm.name}': {' '.join(readiness['errors'])}", call,
                        possible_causes=" ".join(readiness["errors"]),
                        recommended_action="Resolve the protection readiness errors of the virtual machine, then "
                        "enable protection again.")
    if provider not in readiness["supported_providers"]:
        raise asr_error(400, "ReplicationProviderNotSupported", f"The replication provider '{provider}' is not "
                        f"supported for the virtual machine '{host_vm.name}'. Supported providers: "
                        f"{', '.join(readiness['supported_providers']) or 'none'}.", call,
                        possible_causes="The virtual machine does not support the replication provider.",
                        recommended_action="Enable protection with a provider the protectable item lists in "
                        "supportedReplicationProviders.")


def _enable_settings(call: ArmCall, vault: VaultAsr, fabric: Fabric, details: dict, host_vm) -> dict:
    rg_id = details.get("targetAzureV2ResourceGroupId") or ""
    if not rg_id or call.cloud.resource_group(ids.parse(rg_id).get("resource_group", "")) is None:
        raise asr_error(400, "TargetResourceGroupNotFound",
                        f"The target resource group '{rg_id}' was not found in the subscription.", call)
    network_id = details.get("targetAzureNetworkId")
    if network_id and call.cloud.get(network_id) is None:
        raise asr_error(400, "TargetNetworkNotFound", f"The target virtual network '{network_id}' was not found.", call)
    subnet = details.get("targetAzureSubnetId")
    if subnet and network_id and network.find_subnet(call.cloud, f"{network_id}/subnets/{subnet}") is None:
        # The same refusal as an update naming an unknown subnet (TargetSubnetNotFound below).
        raise asr_error(400, "TargetSubnetNotFound", f"The subnet '{subnet}' was not found in '{network_id}'.", call)
    vm_name = details.get("targetAzureVmName") or details.get("vmName") or host_vm.name
    if not 1 <= len(vm_name) <= 63 or not all(c.isalnum() or c == "-" for c in vm_name):
        raise asr_error(400, "InvalidTargetVmName", f"The target VM name '{vm_name}' is not valid: use 1-63 letters, "
                        "digits and hyphens.", call)
    os_type = details.get("osType")
    if os_type not in ("Windows", "Linux"):
        raise asr_error(400, "InvalidOsType", f"The OS type '{os_type}' is not valid. Specify Windows or Linux.", call)
    disk_ids = [d["vhdId"] for d in discovery.disk_details(host_vm)]
    if details.get("vhdId") and details["vhdId"] not in disk_ids:
        raise asr_error(400, "InvalidOsDiskId", f"The OS disk '{details['vhdId']}' is not a disk of the virtual "
                        f"machine '{host_vm.name}'.", call)
    disk_type = details.get("diskType") or "Standard_LRS"
    if disk_type not in DISK_TYPES:
        raise asr_error(400, "InvalidDiskType", f"The disk type '{disk_type}' is not valid.", call)
    managed = str(details.get("useManagedDisksForReplication", "")).lower() == "true"
    log_account = details.get("logStorageAccountId")
    disk_types = _included_disks(call, details, disk_ids, disk_type) if managed else {}
    size = details.get("targetVmSize") or compute.smallest_size(host_vm.processor_count, host_vm.memory_mb)
    if size not in compute.VM_SIZES:
        raise asr_error(400, "InvalidTargetVmSize", f"The VM size '{size}' is not available in the target region.", call)
    for label, value, allowed in (("licenseType", details.get("licenseType"), LICENSE_TYPES),
                                  ("sqlServerLicenseType", details.get("sqlServerLicenseType"), SQL_LICENSE_TYPES)):
        if value is not None and value not in allowed:
            raise asr_error(400, "InvalidLicenseType", f"The {label} '{value}' is not valid.", call)
    return {
        "vm_name": vm_name, "vm_size": size, "os_type": os_type, "os_name": details.get("userSelectedOSName"),
        "os_vhd": details.get("vhdId") or disk_ids[0],
        "resource_group": rg_id, "network": network_id, "subnet": details.get("targetAzureSubnetId"),
        "storage_account": details.get("targetStorageAccountId"),
        "log_storage_account": log_account or details.get("targetStorageAccountId"),
        "managed_replication": managed, "disk_types": disk_types,
        "use_managed_disks": str(details.get("useManagedDisks", "true")).lower() != "false",
        "disk_type": disk_type, "license_type": details.get("licenseType"),
        "sql_license_type": details.get("sqlServerLicenseType"), "linux_license_type": details.get("linuxLicenseType"),
        "rdp": details.get("enableRdpOnTargetOption"), "zone": details.get("targetAvailabilityZone"),
        "availability_set": details.get("targetAvailabilitySetId"), "ppg": details.get("targetProximityPlacementGroupId"),
        "vm_tags": details.get("targetVmTags"), "seed_tags": details.get("seedManagedDiskTags"),
        "disk_tags": details.get("targetManagedDiskTags"), "nic_tags": details.get("targetNicTags"),
        "des": details.get("diskEncryptionSetId"),
    }


def _included_disks(call: ArmCall, details: dict, disk_ids: list[str], default_type: str) -> dict[str, str]:
    """{vhdId: disk type} of the disks to replicate to managed disks: disksToIncludeForManagedDisks with each
    disk's own type, or every disk with the top-level type when the list is absent (assumption: the portal's
    default, every disk)."""
    wanted = details.get("disksToIncludeForManagedDisks")
    if not wanted:
        return {vhd: default_type for vhd in disk_ids}
    included = {}
    for disk in wanted:
        vhd, kind = disk.get("diskId"), disk.get("diskType") or default_type
        if vhd not in disk_ids:
            raise asr_error(400, "InvalidDiskId", f"The disk '{vhd}' is not a disk of the virtual machine.", call)
        if kind not in DISK_TYPES:
            raise asr_error(400, "InvalidDiskType", f"The disk type '{kind}' is not valid.", call)
        included[vhd] = kind
    os_vhd = details.get("vhdId")
    if os_vhd and os_vhd not in included:
        raise asr_error(400, "OsDiskNotIncluded", f"The OS disk '{os_vhd}' must be among the disks to replicate.", call)
    return included


def enable(call: ArmCall) -> Response:
    vault, fabric = container_of(call)
    properties = call.require_body().get("properties") or {}
    details = properties.get("providerSpecificDetails") or {}
    if details.get("instanceType") != "HyperVReplicaAzure":
        raise asr_error(400, "InvalidReplicationProvider", f"Replication provider '{details.get('instanceType')}' is "
                        "not valid for a Hyper-V site. Use HyperVReplicaAzure.", call)
    policy_name = ids.last_segment(properties.get("policyId") or "")
    mapped = any(m.policy_name.lower() == policy_name.lower() and m.state == "Paired" for m in fabric.mappings.values())
    if policy_name.lower() not in vault.policies or not mapped:
        raise asr_error(400, "PolicyNotAssociatedWithContainer", f"The replication policy '{policy_name}' is not "
                        f"associated with the protection container '{fabric.container_name}'.", call)
    discovery.sync_providers(call.cloud, vault, fabric)
    vm_id = ids.last_segment(properties.get("protectableItemId") or "")
    found = discovery.find_vm(call.cloud, fabric, vm_id)
    if found is None:
        raise asr_error(400, "ProtectableItemNotFound", f"The protectable item '{vm_id}' was not found. The virtual "
                        "machine may not be discovered yet.", call)
    provider, host, host_vm = found
    name = call.params["item"]
    if name.lower() in fabric.items or any(i.vm_id.lower() == vm_id.lower() for i in fabric.items.values()):
        raise asr_error(409, "ProtectionAlreadyEnabled", f"Protection is already enabled for the virtual machine "
                        f"'{host_vm.name}'.", call)
    _check_readiness(call, host_vm, details.get("instanceType"))
    settings = _enable_settings(call, vault, fabric, details, host_vm)
    item = ProtectedItem(name=name, fabric=fabric.name, vm_id=host_vm.id, host=host.name, vm_name=host_vm.name,
                         policy_name=vault.policies[policy_name.lower()].name, enable_input=details,
                         created_at=call.now, settings=settings)
    fabric.items[name.lower()] = item
    job = item_job(call, vault, fabric, item, "EnableDr")
    return accepted(call, job, call.path, "item")


@on_item_task("EnableDr", "EnableProtectionPrerequisitesCheck")
def _enable_prerequisites(cloud: AzureCloud, job: Job) -> None:
    item = job_item(cloud, job)
    settings, details = item.settings, item.enable_input
    # enable_managed_disks.json entry 14: both a storage account and managed-disk replication -> 6001.
    if settings["storage_account"] and settings["managed_replication"]:
        raise JobFailed("6001")
    if not settings["storage_account"] and not settings["managed_replication"]:
        raise JobFailed("6001", possible_causes="Neither a target storage account nor managed-disk replication "
                        "was specified: exactly one of them is expected.")
    if settings["managed_replication"] and not details.get("logStorageAccountId"):
        # Assumption (lab/FIDELITY.md): the host uploads the logs to this account before they are applied to the
        # seed disks, so the prerequisites check fails without it. The real error code is not recorded; the job
        # fails (as for 6001, recorded) rather than the PUT, since the service checks the storage settings there.
        raise JobFailed("LogStorageAccountRequired", "A log storage account is required to replicate the virtual "
                        "machine to managed disks.", "logStorageAccountId was not specified.")
    log_account = details.get("logStorageAccountId")
    if log_account and cloud.get(log_account) is None:
        raise JobFailed("LogStorageAccountNotFound", f"The log storage account '{log_account}' was not found.",
                        "The storage account was deleted or is in another subscription.")
    found = discovery.find_vm(cloud, job_fabric(cloud, job), item.vm_id)
    if found is None or not discovery.connected(cloud, found[0]):
        raise JobFailed("ProviderNotConnected", "The Site Recovery provider on the host isn't connected.",
                        "Site Recovery provider heartbeat is missing.")


@on_item_task("EnableDr", "EnableProtection")
def _enable_protection(cloud: AzureCloud, job: Job) -> None:
    item, host_vm = job_item(cloud, job), job_host_vm(cloud, job)
    host_vm.replication = VMReplication(state="ReadyForInitialReplication")
    if item.settings["managed_replication"]:
        _create_seed_disks(cloud, item, host_vm)


@on_item_task("EnableDr", "VmStartInitialReplication")
def _start_initial_replication(cloud: AzureCloud, job: Job) -> None:
    item, host_vm = job_item(cloud, job), job_host_vm(cloud, job)
    host_vm.replication.state = "InitialReplicationInProgress"
    replication.start_initial(cloud, item, host_vm, job.event_time)


@on_item_job_done("EnableDr")
def _enable_done(cloud: AzureCloud, job: Job, item: ProtectedItem) -> None:
    host_vm = job_host_vm(cloud, job)
    if job.state == "Failed":
        # The item stays, failed (item_views.ENABLE_FAILED_STATE): the failed job stays its currentScenario
        # and its error becomes a health error, until the user disables replication.
        finish(item, keep_scenario=True)
        fail_enabled_item(item, job)
        replication.stop(cloud, item, host_vm, delete_seed=True)
        if host_vm is not None and host_vm.replication is not None and host_vm.replication.mode == "Primary":
            host_vm.replication = None
        return
    finish(item)
    if not item.ir_done:
        item.protection_description = "Initial replication in progress"


def fail_enabled_item(item: ProtectedItem, job: Job) -> None:
    """The item after its EnableDr job failed: health Critical with the job's error as a health error."""
    item.protection_state = ENABLE_FAILED_STATE
    item.protection_description = "Enabling protection failed"
    item.replication_health = "Critical"
    error = (job.errors or [{}])[0]
    service = error.get("serviceErrorDetails") or {}
    provider = error.get("providerErrorDetails") or {}
    item.health_errors = [{
        "innerHealthErrors": [], "errorSource": "EnableProtection", "errorType": None, "errorLevel": "Error",
        "errorCategory": "Replication", "errorCode": service.get("code"),
        "summaryMessage": service.get("message"), "errorMessage": service.get("message"),
        "possibleCauses": service.get("possibleCauses"), "recommendedAction": service.get("recommendedAction"),
        "creationTimeUtc": error.get("creationTime"), "recoveryProviderErrorMessage": provider.get("errorMessage"),
        "entityId": None, "errorId": provider.get("errorId"), "customerResolvability": "Allowed",
    }]


def _create_seed_disks(cloud: AzureCloud, item: ProtectedItem, host_vm) -> None:
    rg = ids.parse(item.settings["resource_group"])["resource_group"]
    location = cloud.resource_group(rg)["location"]
    disk_types = item.settings.get("disk_types") or {}
    for disk in discovery.disk_details(host_vm):
        if disk["vhdId"] not in disk_types:   # only the disks asked for, each with its own type
            continue
        # Recorded seed name: asrseeddisk-powershe-powershe-4f9b59f4-… (VM and disk name prefixes, then a GUID).
        name = f"asrseeddisk-{host_vm.name[:8].lower()}-{disk['vhdName'][:8].lower()}-{ids.new_guid()}"
        document = compute.create_disk_internal(cloud, rg, name, location, -(-disk["maxSizeMB"] // 1024),
                                                disk_types[disk["vhdId"]], {"createOption": "Empty"},
                                                tags=item.settings.get("seed_tags"))
        item.seed_disks[disk["vhdId"]] = document["id"]


def register(arm: Arm) -> None:
    arm.router.add("PUT", ITEM, enable)
