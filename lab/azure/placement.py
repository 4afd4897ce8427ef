"""Microsoft.Compute placement and encryption: availability sets, proximity placement groups, disk encryption sets.

Created synchronously (200, or 201 when created, with the resource, as Availability Sets - Create Or Update
and Proximity Placement Groups - Create Or Update answer); Site Recovery only reads them: a target setting that names
one must exist in the target region. Disk encryption sets answer 202 in Azure (long-running); here they
are ready at once, which is all enabling replication needs.
"""

from __future__ import annotations

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, json_body
from lab.azure.compute import COMPUTE
from lab.azure.resources import location_of, require_group, require_resource
from lab.http import Response


PLACEMENT_TYPES = {"availabilitySets": "Microsoft.Compute/availabilitySets",
                   "proximityPlacementGroups": "Microsoft.Compute/proximityPlacementGroups",
                   "diskEncryptionSets": "Microsoft.Compute/diskEncryptionSets"}


def _placement_routes(collection: str):
    kind = PLACEMENT_TYPES[collection]

    def put(call: ArmCall) -> Response:
        group = require_group(call)
        body = call.require_body()
        resource_id = ids.arm_id(call.cloud.subscription_id, group["name"], kind, call.params["name"])
        existing = call.cloud.get(resource_id)
        properties = dict(body.get("properties") or {})
        if collection == "availabilitySets":
            properties.setdefault("platformFaultDomainCount", 2)
            properties.setdefault("platformUpdateDomainCount", 5)
            properties.setdefault("virtualMachines", [])
        elif collection == "proximityPlacementGroups":
            properties.setdefault("proximityPlacementGroupType", "Standard")
        else:
            properties.setdefault("encryptionType", "EncryptionAtRestWithCustomerKey")
            properties["provisioningState"] = "Succeeded"
        document = {"id": resource_id, "name": call.params["name"], "type": kind,
                    "location": location_of(call, body, group), "tags": body.get("tags") or {},
                    "properties": properties}
        if collection == "availabilitySets":
            document["sku"] = body.get("sku") or {"name": "Aligned"}
        if collection == "diskEncryptionSets":
            document["identity"] = body.get("identity") or {"type": "SystemAssigned"}
        call.cloud.put(document)
        # Availability Sets - Create Or Update answers 200 only; the others 200 on update, 201 on create.
        return json_body(200 if existing or collection == "availabilitySets" else 201, document)

    def get(call: ArmCall) -> Response:
        require_group(call)
        return json_body(200, require_resource(call, call.path, kind))

    def list_in_group(call: ArmCall) -> Response:
        group = require_group(call)
        return json_body(200, {"value": call.cloud.find(kind, group["name"])})

    return put, get, list_in_group


def register(arm: Arm) -> None:
    add = arm.router.add
    for collection in PLACEMENT_TYPES:
        put, get, list_in_group = _placement_routes(collection)
        add("PUT", COMPUTE + f"/{collection}/{{name}}", put)
        add("GET", COMPUTE + f"/{collection}/{{name}}", get)
        add("GET", COMPUTE + f"/{collection}", list_in_group)
