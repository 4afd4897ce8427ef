"""Microsoft.Compute: managed disks and virtual machines (with instance view and power state); availability sets,
proximity placement groups and disk encryption sets are lab/azure/placement.py's.

Disk PUTs answer 202 with Azure-AsyncOperation (the SDK accepts only 200/202 for disks,
azure-mgmt-compute `_create_or_update_initial`); VM PUTs answer 201 with the VM and
Azure-AsyncOperation (SDK accepts 200/201). Power actions answer 202 and the power state changes
when the operation finishes on the lab clock. Site Recovery uses the `*_internal` functions to
create seed disks, replica disks and the failed-over VM.

PATCH (Disks - Update, Virtual Machines - Update): azure-mgmt-compute's `disks.begin_update`
accepts 200/202 and `virtual_machines.begin_update` only 200, both polled with ARMPolling, whose
final GET for a PATCH is the resource's own URL. A disk PATCH (sku, tags, a larger diskSizeGB)
answers 202 with Location and Azure-AsyncOperation and takes effect when its operation ends; a
new SKU or size on a disk attached to a VM that is not deallocated is refused with 409
OperationNotAllowed, as Azure refuses it (the size message is the service's, seen in
kubernetes/kubernetes#96706; the SKU one is modelled on it). A VM PATCH (tags, hardwareProfile.
vmSize) answers 200 with the VM (provisioningState Updating) and Azure-AsyncOperation. Any other
property in a PATCH is refused with 400: the lab does not simulate it.
"""

from __future__ import annotations

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, ArmError, empty, iso, json_body, operation_hook
from lab.azure.network import NIC_TYPE
from lab.azure.resources import location_of, require_group, require_resource
from lab.azure.state import AzureCloud
from lab.http import Response

COMPUTE = "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Compute"
DISK_TYPE = "Microsoft.Compute/disks"
VM_TYPE = "Microsoft.Compute/virtualMachines"
DISK_SKUS = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "UltraSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS",
             "PremiumV2_LRS")
CREATE_OPTIONS = ("Empty", "Copy", "Import", "Upload", "FromImage", "Restore", "CopyStart", "ImportSecure",
                  "UploadPreparedSecure", "CopyFromSanSnapshot", "Attach")
# name -> (vCPUs, memory MiB, max data disks, max NICs)
VM_SIZES = {
    "Basic_A0": (1, 768, 1, 1), "Standard_B1s": (1, 1024, 2, 2), "Standard_B2s": (2, 4096, 4, 3),
    "Standard_B2ms": (2, 8192, 4, 3), "Standard_DS1_v2": (1, 3584, 4, 2), "Standard_DS2_v2": (2, 7168, 8, 2),
    "Standard_D2s_v3": (2, 8192, 4, 2), "Standard_D4s_v3": (4, 16384, 8, 2), "Standard_D8s_v3": (8, 32768, 16, 4),
    "Standard_D16s_v3": (16, 65536, 32, 8), "Standard_E4s_v3": (4, 32768, 8, 2), "Standard_E8s_v3": (8, 65536, 16, 4),
    "Standard_F2s_v2": (2, 4096, 4, 2), "Standard_F4s_v2": (4, 8192, 8, 2),
}
DISK_OPERATION_S = 10
VM_OPERATION_S = 60
POWER_OPERATION_S = 30
UPLOAD_MIN = 20 * 1024 * 1024 + 512
UPLOAD_MAX = 32 * 1024 ** 4 + 512


def smallest_size(cpus: int, memory_mb: int) -> str:
    """The size ASR would suggest: the smallest with at least the source's cores and memory."""
    fitting = [(c, m, name) for name, (c, m, dummy, dummy) in VM_SIZES.items()
               if c >= cpus and m >= memory_mb and not name.startswith("Basic")]
    return min(fitting)[2] if fitting else "Standard_D16s_v3"


# --- disks ---

def create_disk_internal(cloud: AzureCloud, resource_group: str, name: str, location: str, size_gb: int,
                         sku: str = "Standard_LRS", creation: dict | None = None, os_type: str | None = None,
                         hyperv_generation: str | None = None, tags: dict | None = None) -> dict:
    disk_id = ids.arm_id(cloud.subscription_id, resource_group, DISK_TYPE, name)
    properties = {"creationData": creation or {"createOption": "Empty"}, "diskSizeGB": size_gb,
                  "diskSizeBytes": size_gb * 1024 ** 3, "uniqueId": ids.new_guid(),
                  "encryption": {"type": "EncryptionAtRestWithPlatformKey"}, "networkAccessPolicy": "AllowAll",
                  "publicNetworkAccess": "Enabled", "timeCreated": iso(cloud.now()),
                  "provisioningState": "Succeeded", "diskState": "Unattached"}
    if os_type:
        properties["osType"] = os_type
    if hyperv_generation:
        properties["hyperVGeneration"] = hyperv_generation
    if (creation or {}).get("createOption") == "Upload":
        properties["diskState"] = "ReadyToUpload"
    document = {"name": name, "id": disk_id, "type": DISK_TYPE, "location": location, "tags": tags or {},
                "sku": {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"},
                "properties": properties}
    return cloud.put(document)


def _disk_size(call: ArmCall, creation: dict, properties: dict) -> int:
    option = creation.get("createOption")
    if option not in CREATE_OPTIONS:
        raise ArmError(400, "InvalidParameter", f"The value '{option}' of parameter 'creationData.createOption' is "
                       f"not valid. Allowed values: {', '.join(CREATE_OPTIONS)}.")
    if option == "Copy":
        source = call.cloud.get(creation.get("sourceResourceId") or "")
        if source is None:
            raise ArmError(404, "NotFound", f"Resource {creation.get('sourceResourceId')} is not found.")
        return int(properties.get("diskSizeGB") or source["properties"]["diskSizeGB"])
    if option == "Import":
        if not creation.get("sourceUri") or not creation.get("storageAccountId"):
            raise ArmError(400, "InvalidParameter", "Required parameters 'sourceUri' and 'storageAccountId' are "
                           "missing (null) for createOption Import.")
        if call.cloud.get(creation["storageAccountId"]) is None:
            raise ArmError(404, "StorageAccountNotFound", f"Storage account {creation['storageAccountId']} not found.")
    if option == "Upload":
        size = int(creation.get("uploadSizeBytes") or 0)
        if not UPLOAD_MIN <= size <= UPLOAD_MAX:
            raise ArmError(400, "InvalidParameter", f"The value {size} of 'uploadSizeBytes' is not valid: it must be "
                           f"between {UPLOAD_MIN} and {UPLOAD_MAX} bytes.")
        return -(-(size - 512) // 1024 ** 3)
    if not properties.get("diskSizeGB"):
        raise ArmError(400, "InvalidParameter", "Required parameter 'diskSizeGB' is missing (null).")
    return int(properties["diskSizeGB"])


def put_disk(call: ArmCall) -> Response:
    group = require_group(call)
    body = call.require_body()
    properties = body.get("properties") or {}
    sku = (body.get("sku") or {}).get("name", "Standard_LRS")
    if sku not in DISK_SKUS:
        raise ArmError(400, "InvalidParameter", f"The value '{sku}' of parameter 'sku.name' is not valid.")
    disk_id = ids.arm_id(call.cloud.subscription_id, group["name"], DISK_TYPE, call.params["name"])
    existing = call.cloud.get(disk_id)
    creation = properties.get("creationData") or (existing or {}).get("properties", {}).get("creationData") or {}
    size = _disk_size(call, creation, properties)
    if existing and size < existing["properties"]["diskSizeGB"]:
        raise ArmError(400, "BadRequest", "Disk size reduction is not supported.")
    document = create_disk_internal(call.cloud, group["name"], call.params["name"], location_of(call, body, group),
                                    size, sku, creation, properties.get("osType"), properties.get("hyperVGeneration"),
                                    body.get("tags"))
    if existing:
        document["properties"]["diskState"] = existing["properties"]["diskState"]
        if existing.get("managedBy"):
            document["managedBy"] = existing["managedBy"]
    operation = call.cloud.arm.start_operation("Microsoft.Compute", DISK_OPERATION_S, result_id=disk_id)
    return empty(202, call.cloud.arm.operation_headers(operation))


def _attached_to_running_vm(cloud: AzureCloud, disk: dict) -> str | None:
    """The id of the VM the disk is attached to when that VM is not deallocated, else None."""
    owner = disk.get("managedBy")
    if owner and cloud.get(owner) is not None and power_state(cloud, owner) != "deallocated":
        return owner
    return None


def _refuse_unsimulated(body: dict, top: tuple[str, ...], properties: tuple[str, ...], what: str) -> None:
    unknown = [name for name in body if name not in top]
    unknown += [f"properties.{name}" for name in (body.get("properties") or {}) if name not in properties]
    if unknown:
        raise ArmError(400, "InvalidParameter", f"The lab does not simulate changing {', '.join(sorted(unknown))} "
                       f"of a {what} by PATCH.")


def patch_disk(call: ArmCall) -> Response:
    require_group(call)
    disk = require_resource(call, call.path, DISK_TYPE)
    body = call.require_body()
    _refuse_unsimulated(body, ("sku", "tags", "properties"), ("diskSizeGB",), "managed disk")
    cloud = call.cloud
    sku = (body.get("sku") or {}).get("name")
    if sku is not None and sku not in DISK_SKUS:
        raise ArmError(400, "InvalidParameter", f"The value '{sku}' of parameter 'sku.name' is not valid.")
    size = (body.get("properties") or {}).get("diskSizeGB")
    if size is not None and int(size) < disk["properties"]["diskSizeGB"]:
        raise ArmError(400, "BadRequest", "Disk size reduction is not supported.")
    owner = _attached_to_running_vm(cloud, disk)
    if owner and sku is not None and sku != disk["sku"]["name"]:
        raise ArmError(409, "OperationNotAllowed", f"Cannot change the account type of disk {disk['name']} while it is "
                       f"attached to running VM {owner}. Changing the account type of a disk of an Azure Virtual Machine "
                       "requires the virtual machine to be deallocated. Please stop your VM and retry the operation.",
                       details=[{"code": "ChangeDiskSkuWhileAttachedNotAllowed",
                                 "message": "The disk is attached to a VM that is not deallocated."}])
    if owner and size is not None and int(size) != disk["properties"]["diskSizeGB"]:
        raise ArmError(409, "OperationNotAllowed", f"Cannot resize disk {disk['name']} while it is attached to running "
                       f"VM {owner}. Resizing a disk of an Azure Virtual Machine requires the virtual machine to be "
                       "deallocated. Please stop your VM and retry the operation.",
                       details=[{"code": "ChangeDiskSizeWhileAttachedNotAllowed",
                                 "message": "The disk is attached to a VM that is not deallocated."}])
    disk_id, tags = disk["id"], body.get("tags")
    operation = cloud.arm.start_operation("Microsoft.Compute", DISK_OPERATION_S, "disk updated", result_id=disk_id,
                                          params={"disk": disk_id, "tags": tags, "size": size, "sku": sku})
    return empty(202, cloud.arm.operation_headers(operation))


@operation_hook("disk updated")
def _disk_updated(cloud: AzureCloud, params: dict) -> None:
    document = cloud.get(params["disk"])
    if document is None:
        return
    tags, size, sku = params["tags"], params["size"], params["sku"]
    if tags is not None:
        document["tags"] = dict(tags)
    if size is not None:
        document["properties"]["diskSizeGB"] = int(size)
        document["properties"]["diskSizeBytes"] = int(size) * 1024 ** 3
    if sku is not None:
        document["sku"] = {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"}
    _refresh_vm_disk(cloud, document)


def _refresh_vm_disk(cloud: AzureCloud, disk: dict) -> None:
    """The VM's view of one of its disks (storageAccountType, diskSizeGB) after the disk changed."""
    vm = cloud.get(disk["managedBy"]) if disk.get("managedBy") else None
    if vm is None:
        return
    storage = vm["properties"]["storageProfile"]
    for entry in [storage["osDisk"], *storage["dataDisks"]]:
        if ids.same((entry.get("managedDisk") or {}).get("id") or "", disk["id"]):
            entry["managedDisk"]["storageAccountType"] = disk["sku"]["name"]
            entry["diskSizeGB"] = disk["properties"]["diskSizeGB"]


def get_disk(call: ArmCall) -> Response:
    return json_body(200, require_resource(call, call.path, DISK_TYPE))


def list_disks(call: ArmCall) -> Response:
    group = require_group(call)
    return json_body(200, {"value": call.cloud.find(DISK_TYPE, group["name"])})


def list_all_disks(call: ArmCall) -> Response:
    return json_body(200, {"value": call.cloud.find(DISK_TYPE)})


def delete_disk(call: ArmCall) -> Response:
    disk = call.cloud.get(call.path)
    if disk is None:
        return empty(204)
    if disk.get("managedBy"):
        raise ArmError(409, "OperationNotAllowed", f"Disk {disk['name']} is attached to VM {disk['managedBy']}.")
    call.cloud.delete(disk["id"])
    operation = call.cloud.arm.start_operation("Microsoft.Compute", DISK_OPERATION_S)
    return empty(202, call.cloud.arm.operation_headers(operation))


# --- virtual machines ---

def create_vm_internal(cloud: AzureCloud, resource_group: str, name: str, location: str, size: str,
                       os_disk_id: str | None, os_type: str, data_disk_ids: list[str], nic_ids: list[str],
                       tags: dict | None = None, power: str = "running") -> dict:
    vm_id = ids.arm_id(cloud.subscription_id, resource_group, VM_TYPE, name)
    os_disk = cloud.get(os_disk_id) if os_disk_id else None
    document = {
        "name": name, "id": vm_id, "type": VM_TYPE, "location": location, "tags": tags or {},
        "properties": {
            "vmId": ids.new_guid(), "hardwareProfile": {"vmSize": size},
            "storageProfile": {
                "osDisk": {"osType": os_type, "name": os_disk["name"] if os_disk else f"{name}_OsDisk_1",
                           "createOption": "Attach", "caching": "ReadWrite", "deleteOption": "Detach",
                           "managedDisk": {"id": os_disk_id, "storageAccountType": os_disk["sku"]["name"]}
                           if os_disk else None,
                           "diskSizeGB": os_disk["properties"]["diskSizeGB"] if os_disk else 127},
                "dataDisks": [_data_disk(cloud, lun, disk_id) for lun, disk_id in enumerate(data_disk_ids)],
            },
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": index == 0}}
                                                     for index, nic_id in enumerate(nic_ids)]},
            "provisioningState": "Succeeded", "timeCreated": iso(cloud.now()),
        },
    }
    for disk_id in ([os_disk_id] if os_disk_id else []) + data_disk_ids:
        disk = cloud.get(disk_id)
        disk["managedBy"] = vm_id
        disk["properties"]["diskState"] = "Attached"
    for nic_id in nic_ids:
        cloud.get(nic_id)["properties"]["virtualMachine"] = {"id": vm_id}
    cloud.vm_power[ids.key(vm_id)] = power
    return cloud.put(document)


def _data_disk(cloud: AzureCloud, lun: int, disk_id: str) -> dict:
    disk = cloud.get(disk_id)
    return {"lun": lun, "name": disk["name"], "createOption": "Attach", "caching": "None", "deleteOption": "Detach",
            "managedDisk": {"id": disk_id, "storageAccountType": disk["sku"]["name"]},
            "diskSizeGB": disk["properties"]["diskSizeGB"], "toBeDetached": False}


def delete_vm_internal(cloud: AzureCloud, vm_id: str, delete_disks: bool = False, delete_nics: bool = False) -> None:
    vm = cloud.delete(vm_id)
    cloud.vm_power.pop(ids.key(vm_id), None)
    if vm is None:
        return
    storage = vm["properties"]["storageProfile"]
    disks = [storage["osDisk"]["managedDisk"]["id"]] if storage["osDisk"].get("managedDisk") else []
    disks += [d["managedDisk"]["id"] for d in storage["dataDisks"]]
    for disk_id in disks:
        disk = cloud.get(disk_id)
        if disk is not None:
            disk.pop("managedBy", None)
            disk["properties"]["diskState"] = "Unattached"
            if delete_disks:
                cloud.delete(disk_id)
    for reference in vm["properties"]["networkProfile"]["networkInterfaces"]:
        nic = cloud.get(reference["id"])
        if nic is not None:
            nic["properties"].pop("virtualMachine", None)
            if delete_nics:
                cloud.delete(reference["id"])


def power_state(cloud: AzureCloud, vm_id: str) -> str:
    return cloud.vm_power.get(ids.key(vm_id), "running")


def _validate_vm(call: ArmCall, body: dict, vm_id: str) -> tuple[str, dict, list[str], list[str]]:
    properties = body.get("properties") or {}
    size = (properties.get("hardwareProfile") or {}).get("vmSize")
    if size not in VM_SIZES:
        raise ArmError(409, "SkuNotAvailable", f"The requested VM size '{size}' is not available in location "
                       f"'{call.cloud.location}'.")
    storage = properties.get("storageProfile") or {}
    os_disk = storage.get("osDisk") or {}
    if os_disk.get("createOption") != "Attach":
        raise ArmError(400, "InvalidParameter", "The lab creates VMs from existing managed disks only: "
                       "storageProfile.osDisk.createOption must be Attach.")
    disk_ids = [(os_disk.get("managedDisk") or {}).get("id")]
    disk_ids += [(d.get("managedDisk") or {}).get("id") for d in storage.get("dataDisks") or []]
    for disk_id in disk_ids:
        disk = call.cloud.get(disk_id or "")
        if disk is None:
            raise ArmError(404, "NotFound", f"Disk {disk_id} is not found.")
        if disk.get("managedBy") and not ids.same(disk["managedBy"], vm_id):
            raise ArmError(409, "OperationNotAllowed", f"Disk {disk['name']} is already attached to VM "
                           f"{disk['managedBy']}.")
    nics = (properties.get("networkProfile") or {}).get("networkInterfaces") or []
    if not nics:
        raise ArmError(400, "VirtualMachineMustHaveAtLeastOneNetworkInterface",
                       "A virtual machine must have at least one network interface.")
    if len(nics) > 1 and sum(1 for n in nics if (n.get("properties") or {}).get("primary")) != 1:
        raise ArmError(400, "VirtualMachineMustHaveOneNetworkInterfaceAsPrimary",
                       "Virtual machine must have one network interface set as primary.")
    nic_ids = [n.get("id") or "" for n in sorted(nics, key=lambda n: not (n.get("properties") or {}).get("primary"))]
    for nic_id in nic_ids:
        nic = require_resource(call, nic_id, NIC_TYPE)
        owner = nic["properties"].get("virtualMachine")
        if owner and not ids.same(owner["id"], vm_id):
            raise ArmError(400, "NicInUse", f"Network interface {nic_id} is used by virtual machine {owner['id']}.")
    return size, os_disk, disk_ids, nic_ids


def put_vm(call: ArmCall) -> Response:
    group = require_group(call)
    body = call.require_body()
    vm_id = ids.arm_id(call.cloud.subscription_id, group["name"], VM_TYPE, call.params["name"])
    existing = call.cloud.get(vm_id)
    size, os_disk, disk_ids, nic_ids = _validate_vm(call, body, vm_id)
    os_type = os_disk.get("osType") or call.cloud.get(disk_ids[0])["properties"].get("osType") or "Windows"
    if existing:
        delete_vm_internal(call.cloud, vm_id)
    document = create_vm_internal(call.cloud, group["name"], call.params["name"], location_of(call, body, group),
                                  size, disk_ids[0], os_type, disk_ids[1:], nic_ids, body.get("tags"),
                                  power=power_state(call.cloud, vm_id) if existing else "starting")
    document["properties"]["provisioningState"] = "Creating" if not existing else "Updating"
    cloud = call.cloud
    operation = cloud.arm.start_operation("Microsoft.Compute", VM_OPERATION_S, "vm provisioned", params={"vm": vm_id})
    return json_body(200 if existing else 201, document, cloud.arm.operation_headers(operation, location=False))


@operation_hook("vm provisioned")
def _vm_provisioned(cloud: AzureCloud, params: dict) -> None:
    document, key = cloud.get(params["vm"]), ids.key(params["vm"])
    if document is not None:
        document["properties"]["provisioningState"] = "Succeeded"
    if cloud.vm_power.get(key) == "starting":
        cloud.vm_power[key] = "running"


def patch_vm(call: ArmCall) -> Response:
    vm = _vm(call)
    body = call.require_body()
    _refuse_unsimulated(body, ("tags", "properties"), ("hardwareProfile",), "virtual machine")
    size = ((body.get("properties") or {}).get("hardwareProfile") or {}).get("vmSize")
    if size is not None and size not in VM_SIZES:
        raise ArmError(409, "SkuNotAvailable", f"The requested VM size '{size}' is not available in location "
                       f"'{call.cloud.location}'.")
    if body.get("tags") is not None:
        vm["tags"] = dict(body["tags"])
    if size is not None:
        vm["properties"]["hardwareProfile"]["vmSize"] = size
    vm["properties"]["provisioningState"] = "Updating"
    cloud = call.cloud
    operation = cloud.arm.start_operation("Microsoft.Compute", VM_OPERATION_S, "vm updated", params={"vm": vm["id"]})
    return json_body(200, vm, cloud.arm.operation_headers(operation, location=False))


@operation_hook("vm updated")
def _vm_updated(cloud: AzureCloud, params: dict) -> None:
    document = cloud.get(params["vm"])
    if document is not None:
        document["properties"]["provisioningState"] = "Succeeded"


def _vm(call: ArmCall) -> dict:
    require_group(call)
    vm_id = ids.arm_id(call.cloud.subscription_id, call.params["rg"], VM_TYPE, call.params["name"])
    return require_resource(call, vm_id, VM_TYPE)


def instance_view(cloud: AzureCloud, vm: dict) -> dict:
    power = power_state(cloud, vm["id"])
    provisioning = vm["properties"]["provisioningState"]
    display = {"running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated",
               "starting": "VM starting", "stopping": "VM stopping", "deallocating": "VM deallocating"}[power]
    storage = vm["properties"]["storageProfile"]
    disk_names = [storage["osDisk"]["name"]] + [d["name"] for d in storage["dataDisks"]]
    return {
        "computerName": vm["name"], "osName": "Windows Server 2022 Datacenter"
        if storage["osDisk"].get("osType") == "Windows" else "Linux",
        "hyperVGeneration": (cloud.get(storage["osDisk"]["managedDisk"]["id"]) or {}).get("properties", {})
        .get("hyperVGeneration", "V1") if storage["osDisk"].get("managedDisk") else "V1",
        "disks": [{"name": name, "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info",
                                               "displayStatus": "Provisioning succeeded"}]} for name in disk_names],
        "statuses": [
            {"code": f"ProvisioningState/{provisioning.lower()}", "level": "Info",
             "displayStatus": f"Provisioning {provisioning.lower()}", "time": vm["properties"]["timeCreated"]},
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": display},
        ],
    }


def get_vm(call: ArmCall) -> Response:
    vm = _vm(call)
    if (call.request.query_value("$expand") or "").lower() == "instanceview":
        return json_body(200, {**vm, "properties": {**vm["properties"], "instanceView": instance_view(call.cloud, vm)}})
    return json_body(200, vm)


def get_instance_view(call: ArmCall) -> Response:
    return json_body(200, instance_view(call.cloud, _vm(call)))


def list_vms(call: ArmCall) -> Response:
    group = require_group(call)
    return json_body(200, {"value": call.cloud.find(VM_TYPE, group["name"])})


def list_all_vms(call: ArmCall) -> Response:
    return json_body(200, {"value": call.cloud.find(VM_TYPE)})


def delete_vm(call: ArmCall) -> Response:
    vm = call.cloud.get(ids.arm_id(call.cloud.subscription_id, call.params["rg"], VM_TYPE, call.params["name"]))
    if vm is None:
        return empty(204)
    cloud, vm_id = call.cloud, vm["id"]
    cloud.vm_power[ids.key(vm_id)] = "deallocating"
    operation = cloud.arm.start_operation("Microsoft.Compute", POWER_OPERATION_S, "vm deleted", params={"vm": vm_id})
    return empty(202, cloud.arm.operation_headers(operation))


@operation_hook("vm deleted")
def _vm_deleted(cloud: AzureCloud, params: dict) -> None:
    delete_vm_internal(cloud, params["vm"])


def _power_action(transitional: str, final: str):
    def action(call: ArmCall) -> Response:
        vm = _vm(call)
        cloud, key = call.cloud, ids.key(vm["id"])
        cloud.vm_power[key] = transitional
        operation = cloud.arm.start_operation("Microsoft.Compute", POWER_OPERATION_S, "vm power settled",
                                              params={"vm": key, "power": final})
        return empty(202, cloud.arm.operation_headers(operation))
    return action


@operation_hook("vm power settled")
def _vm_power_settled(cloud: AzureCloud, params: dict) -> None:
    if params["vm"] in cloud.vm_power:
        cloud.vm_power[params["vm"]] = params["power"]


def list_sizes(call: ArmCall) -> Response:
    return json_body(200, {"value": [{"name": name, "numberOfCores": c, "memoryInMB": m, "maxDataDiskCount": d,
                                      "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 7168}
                                     for name, (c, m, d, dummy) in VM_SIZES.items()]})


def register(arm: Arm) -> None:
    add = arm.router.add
    add("PUT", COMPUTE + "/disks/{name}", put_disk)
    add("GET", COMPUTE + "/disks/{name}", get_disk)
    add("GET", COMPUTE + "/disks", list_disks)
    add("GET", "/subscriptions/{subscription}/providers/Microsoft.Compute/disks", list_all_disks)
    add("PATCH", COMPUTE + "/disks/{name}", patch_disk)
    add("DELETE", COMPUTE + "/disks/{name}", delete_disk)
    add("PUT", COMPUTE + "/virtualMachines/{name}", put_vm)
    add("PATCH", COMPUTE + "/virtualMachines/{name}", patch_vm)
    add("GET", COMPUTE + "/virtualMachines/{name}", get_vm)
    add("GET", COMPUTE + "/virtualMachines/{name}/instanceView", get_instance_view)
    add("GET", COMPUTE + "/virtualMachines", list_vms)
    add("GET", "/subscriptions/{subscription}/providers/Microsoft.Compute/virtualMachines", list_all_vms)
    add("DELETE", COMPUTE + "/virtualMachines/{name}", delete_vm)
    add("POST", COMPUTE + "/virtualMachines/{name}/powerOff", _power_action("stopping", "stopped"))
    add("POST", COMPUTE + "/virtualMachines/{name}/start", _power_action("starting", "running"))
    add("POST", COMPUTE + "/virtualMachines/{name}/restart", _power_action("starting", "running"))
    add("POST", COMPUTE + "/virtualMachines/{name}/deallocate", _power_action("deallocating", "deallocated"))
    add("GET", "/subscriptions/{subscription}/providers/Microsoft.Compute/locations/{location}/vmSizes", list_sizes)
