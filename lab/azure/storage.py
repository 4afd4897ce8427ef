"""Microsoft.Storage storage accounts, whose blob endpoint is Azurite.

Azurite has no management plane (it emulates the storage data plane only, github.com/Azure/Azurite),
so accounts are created here: each gets two keys and an Azurite account of the same name, and
`primaryEndpoints.blob` is Azurite's path-style URL (`https://127.0.0.1:PORT/<account>/`). Create
answers 202 with a Location the SDK polls (azure-mgmt-storage 25.3 `_create_initial` accepts
200/202); it finishes once Azurite serves the new account.
"""

from __future__ import annotations

import base64
import re
import secrets

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, ArmError, empty, iso, json_body, ready_check
from lab.azure.resources import check_subscription, location_of, require_group, require_resource
from lab.http import Response

STORAGE = "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Storage"
ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
NAME = re.compile(r"^[a-z0-9]{3,24}$")
SKUS = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS", "Premium_ZRS",
        "Standard_GZRS", "Standard_RAGZRS")
CREATE_S = 10


def _name_problem(call: ArmCall, name: str) -> tuple[str, str] | None:
    if not NAME.match(name):
        return "AccountNameInvalid", (f"{name} is not a valid storage account name. Storage account name must be "
                                      "between 3 and 24 characters in length and use numbers and lower-case letters only.")
    if name in call.cloud.storage_keys:
        return "AlreadyExists", f"The storage account named {name} is already taken."
    return None


def check_name(call: ArmCall) -> Response:
    check_subscription(call)
    name = (call.require_body().get("name") or "")
    problem = _name_problem(call, name)
    if problem is None:
        return json_body(200, {"nameAvailable": True})
    return json_body(200, {"nameAvailable": False, "reason": problem[0], "message": problem[1]})


def put_account(call: ArmCall) -> Response:
    group = require_group(call)
    body = call.require_body()
    name = call.params["name"]
    account_id = ids.arm_id(call.cloud.subscription_id, group["name"], ACCOUNT_TYPE, name)
    existing = call.cloud.get(account_id)
    if existing is None:
        problem = _name_problem(call, name)
        if problem:
            raise ArmError(400 if problem[0] == "AccountNameInvalid" else 409,
                           "StorageAccountAlreadyTaken" if problem[0] == "AlreadyExists" else problem[0], problem[1])
    sku = (body.get("sku") or {}).get("name")
    if sku not in SKUS:
        raise ArmError(400, "InvalidRequestPropertyValue", f"The value '{sku}' is not allowed for property sku.name.")
    azurite = call.cloud.azurite
    if existing is None:
        keys = [base64.b64encode(secrets.token_bytes(64)).decode() for dummy in range(2)]
        call.cloud.storage_keys[name] = keys
        if azurite is not None:
            azurite.add_account(name, keys[0])
    blob = azurite.blob_endpoint(name) if azurite is not None else f"https://{name}.blob.lab.invalid/"
    now = iso(call.now)
    document = {
        "sku": {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"},
        "kind": body.get("kind") or "StorageV2", "id": account_id, "name": name, "type": ACCOUNT_TYPE,
        "location": location_of(call, body, group), "tags": body.get("tags") or {},
        "properties": {
            "keyCreationTime": {"key1": now, "key2": now}, "privateEndpointConnections": [],
            "minimumTlsVersion": (body.get("properties") or {}).get("minimumTlsVersion", "TLS1_2"),
            "allowBlobPublicAccess": False, "supportsHttpsTrafficOnly": True, "accessTier": "Hot",
            "networkAcls": {"bypass": "AzureServices", "virtualNetworkRules": [], "ipRules": [], "defaultAction": "Allow"},
            "encryption": {"services": {"blob": {"keyType": "Account", "enabled": True, "lastEnabledTime": now}},
                           "keySource": "Microsoft.Storage"},
            "provisioningState": "Succeeded", "creationTime": (existing or {}).get("properties", {}).get("creationTime", now),
            "primaryEndpoints": {"blob": blob}, "primaryLocation": call.cloud.location, "statusOfPrimary": "available",
        },
    }
    call.cloud.put(document)
    arm = call.cloud.arm
    operation = arm.start_operation("Microsoft.Storage", CREATE_S, result_id=account_id,
                                    ready="blob service" if azurite is not None else None)
    return empty(202, arm.operation_headers(operation, async_header=False))


@ready_check("blob service")
def _blob_service_ready(cloud) -> bool:
    """A new account's operation ends once Azurite serves the account (lab/azure/azurite.py)."""
    return cloud.azurite is None or cloud.azurite.ready()


def get_account(call: ArmCall) -> Response:
    require_group(call)
    return json_body(200, require_resource(call, call.path, ACCOUNT_TYPE))


def list_accounts(call: ArmCall) -> Response:
    group = require_group(call)
    return json_body(200, {"value": call.cloud.find(ACCOUNT_TYPE, group["name"])})


def list_all_accounts(call: ArmCall) -> Response:
    check_subscription(call)
    return json_body(200, {"value": call.cloud.find(ACCOUNT_TYPE)})


def list_keys(call: ArmCall) -> Response:
    account = require_resource(call, call.path.rsplit("/listKeys", 1)[0], ACCOUNT_TYPE)
    keys = call.cloud.storage_keys[account["name"]]
    created = account["properties"]["keyCreationTime"]
    return json_body(200, {"keys": [{"keyName": f"key{n}", "value": value, "permissions": "FULL",
                                     "creationTime": created[f"key{n}"]} for n, value in enumerate(keys, start=1)]})


def delete_account(call: ArmCall) -> Response:
    account = call.cloud.get(call.path)
    if account is None:
        return empty(204)
    call.cloud.delete(account["id"])
    call.cloud.storage_keys.pop(account["name"], None)
    return empty(200)


def register(arm: Arm) -> None:
    add = arm.router.add
    add("POST", "/subscriptions/{subscription}/providers/Microsoft.Storage/checkNameAvailability", check_name)
    add("PUT", STORAGE + "/storageAccounts/{name}", put_account)
    add("GET", STORAGE + "/storageAccounts/{name}", get_account)
    add("GET", STORAGE + "/storageAccounts", list_accounts)
    add("GET", "/subscriptions/{subscription}/providers/Microsoft.Storage/storageAccounts", list_all_accounts)
    add("POST", STORAGE + "/storageAccounts/{name}/listKeys", list_keys)
    add("DELETE", STORAGE + "/storageAccounts/{name}", delete_account)
