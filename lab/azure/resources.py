"""Subscriptions and resource groups (Microsoft.Resources), and what every provider shares:
location, tags, the ARM document envelope and resource-group checks."""

from __future__ import annotations

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, ArmError, empty, json_body
from lab.http import Response

RG = "/subscriptions/{subscription}/resourceGroups/{rg}"


def check_subscription(call: ArmCall) -> None:
    if call.params["subscription"].lower() != call.cloud.subscription_id.lower():
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{call.params['subscription']}' could not be found.")


def require_group(call: ArmCall, name: str | None = None) -> dict:
    check_subscription(call)
    name = name or call.params["rg"]
    group = call.cloud.resource_group(name)
    if group is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
    return group


def require_resource(call: ArmCall, resource_id: str, kind: str) -> dict:
    document = call.cloud.get(resource_id)
    if document is None:
        parsed = ids.parse(resource_id)
        raise ArmError(404, "ResourceNotFound", f"The Resource '{kind}/{parsed.get('name', '')}' under resource group "
                       f"'{parsed.get('resource_group', '')}' was not found. For more details please go to "
                       "https://aka.ms/ARMResourceNotFoundFix")
    return document


def location_of(call: ArmCall, body: dict, group: dict) -> str:
    location = (body.get("location") or group["location"]).replace(" ", "").lower()
    if location != call.cloud.location:
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{location}' is not available for resource type. "
                       f"List of available regions for the resource type is '{call.cloud.location}'.")
    return location


def subscription_json(call: ArmCall) -> dict:
    cloud = call.cloud
    return {"id": f"/subscriptions/{cloud.subscription_id}", "authorizationSource": "RoleBased",
            "managedByTenants": [], "subscriptionId": cloud.subscription_id, "tenantId": cloud.tenant.tenant_id,
            "displayName": cloud.subscription_name, "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"}}


def create_group(cloud, name: str, location: str, tags: dict | None = None) -> dict:
    group = {"id": ids.arm_id(cloud.subscription_id, name), "name": name, "type": "Microsoft.Resources/resourceGroups",
             "location": location, "tags": tags or {}, "properties": {"provisioningState": "Succeeded"}}
    cloud.resource_groups[name.lower()] = group
    return group


def list_subscriptions(call: ArmCall) -> Response:
    return json_body(200, {"value": [subscription_json(call)], "count": {"type": "Total", "value": 1}})


def get_subscription(call: ArmCall) -> Response:
    check_subscription(call)
    return json_body(200, subscription_json(call))


def list_groups(call: ArmCall) -> Response:
    check_subscription(call)
    return json_body(200, {"value": list(call.cloud.resource_groups.values())})


def get_group(call: ArmCall) -> Response:
    return json_body(200, require_group(call))


def head_group(call: ArmCall) -> Response:
    check_subscription(call)
    return empty(204 if call.cloud.resource_group(call.params["rg"]) else 404)


def put_group(call: ArmCall) -> Response:
    check_subscription(call)
    body = call.require_body()
    if not body.get("location"):
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    existing = call.cloud.resource_group(call.params["rg"])
    group = create_group(call.cloud, existing["name"] if existing else call.params["rg"],
                         body["location"].replace(" ", "").lower(), body.get("tags"))
    return json_body(200 if existing else 201, group)


def delete_group(call: ArmCall) -> Response:
    group = require_group(call)
    prefix = ids.key(group["id"]) + "/"
    for key in [k for k in call.cloud.resources if k.startswith(prefix)]:
        del call.cloud.resources[key]
    for key in [k for k in call.cloud.vaults if k.startswith(prefix)]:
        del call.cloud.vaults[key]
    del call.cloud.resource_groups[group["name"].lower()]
    return empty(200)


def list_locations(call: ArmCall) -> Response:
    check_subscription(call)
    name = call.cloud.location
    return json_body(200, {"value": [{"id": f"/subscriptions/{call.cloud.subscription_id}/locations/{name}",
                                      "name": name, "displayName": name, "regionalDisplayName": name}]})


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", "/subscriptions", list_subscriptions)
    add("GET", "/subscriptions/{subscription}", get_subscription)
    add("GET", "/subscriptions/{subscription}/locations", list_locations)
    add("GET", "/subscriptions/{subscription}/resourcegroups", list_groups)
    add("GET", RG, get_group)
    add("HEAD", RG, head_group)
    add("PUT", RG, put_group)
    add("DELETE", RG, delete_group)
