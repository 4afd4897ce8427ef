"""Microsoft.Network: virtual networks, subnets and network interfaces.

PUTs answer 201 (new) or 200 with the resource and an Azure-AsyncOperation header, as the
Network RP does; the SDK accepts only 200/201 for these (azure-mgmt-network 33.1
`_create_or_update_initial`), polls the operation, then GETs the resource.
Site Recovery creates NICs through `create_nic` when it fails a VM over.
"""

from __future__ import annotations

import ipaddress

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, ArmError, empty, json_body
from lab.azure.resources import location_of, require_group, require_resource
from lab.azure.state import AzureCloud
from lab.http import Response

NET = "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Network"
VNET_TYPE = "Microsoft.Network/virtualNetworks"
NIC_TYPE = "Microsoft.Network/networkInterfaces"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
OPERATION_S = 5      # lab seconds a network PUT/DELETE runs


def _etag() -> str:
    return f'W/"{ids.new_guid()}"'


# --- virtual networks and subnets ---

def _subnet_doc(vnet_id: str, name: str, properties: dict) -> dict:
    prefix = properties.get("addressPrefix") or (properties.get("addressPrefixes") or [None])[0]
    if not prefix:
        raise ArmError(400, "InvalidRequestFormat", f"Subnet '{name}' needs an addressPrefix.")
    try:
        ipaddress.ip_network(prefix)
    except ValueError:
        raise ArmError(400, "InvalidAddressPrefixFormat", f"Address prefix {prefix} of subnet {name} is not valid.") from None
    return {"name": name, "id": f"{vnet_id}/subnets/{name}", "etag": _etag(), "type": SUBNET_TYPE,
            "properties": {"provisioningState": "Succeeded", "addressPrefix": prefix,
                           "privateEndpointNetworkPolicies": "Disabled", "privateLinkServiceNetworkPolicies": "Enabled"}}


def _vnet(call: ArmCall) -> dict:
    require_group(call)
    vnet_id = ids.arm_id(call.cloud.subscription_id, call.params["rg"], VNET_TYPE, call.params["name"])
    return require_resource(call, vnet_id, VNET_TYPE)


def put_vnet(call: ArmCall) -> Response:
    group = require_group(call)
    body = call.require_body()
    properties = body.get("properties") or {}
    prefixes = (properties.get("addressSpace") or {}).get("addressPrefixes") or []
    if not prefixes:
        raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request: addressSpace.addressPrefixes is required.")
    vnet_id = ids.arm_id(call.cloud.subscription_id, group["name"], VNET_TYPE, call.params["name"])
    existing = call.cloud.get(vnet_id)
    subnets = [_subnet_doc(vnet_id, s["name"], s.get("properties") or {}) for s in properties.get("subnets") or []]
    document = {"name": call.params["name"], "id": vnet_id, "etag": _etag(), "type": VNET_TYPE,
                "location": location_of(call, body, group), "tags": body.get("tags") or {},
                "properties": {"provisioningState": "Succeeded", "resourceGuid": ids.new_guid(),
                               "addressSpace": {"addressPrefixes": prefixes}, "subnets": subnets,
                               "virtualNetworkPeerings": [], "enableDdosProtection": False}}
    call.cloud.put(document)
    return _created(call, document, existing is None)


def _created(call: ArmCall, document: dict, new: bool) -> Response:
    arm = call.cloud.arm
    operation = arm.start_operation("Microsoft.Network", OPERATION_S)
    return json_body(201 if new else 200, document, arm.operation_headers(operation, location=False))


def get_vnet(call: ArmCall) -> Response:
    return json_body(200, _vnet(call))


def list_vnets(call: ArmCall) -> Response:
    group = require_group(call)
    return json_body(200, {"value": call.cloud.find(VNET_TYPE, group["name"])})


def delete_vnet(call: ArmCall) -> Response:
    vnet = _vnet(call)
    for subnet in vnet["properties"]["subnets"]:
        _refuse_if_subnet_used(call.cloud, subnet)
    call.cloud.delete(vnet["id"])
    return empty(200)


def _refuse_if_subnet_used(cloud: AzureCloud, subnet: dict) -> None:
    users = nics_in_subnet(cloud, subnet["id"])
    if users:
        raise ArmError(400, "InUseSubnetCannotBeDeleted", f"Subnet {subnet['name']} is in use by "
                       f"{users[0]['id']}/ipConfigurations/ipconfig1 and cannot be deleted. In order to delete the "
                       "subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.")


def put_subnet(call: ArmCall) -> Response:
    vnet = _vnet(call)
    subnet = _subnet_doc(vnet["id"], call.params["subnet"], call.require_body().get("properties") or {})
    subnets = vnet["properties"]["subnets"]
    new = not any(s["name"].lower() == subnet["name"].lower() for s in subnets)
    vnet["properties"]["subnets"] = [s for s in subnets if s["name"].lower() != subnet["name"].lower()] + [subnet]
    return _created(call, subnet, new)


def find_subnet(cloud: AzureCloud, subnet_id: str) -> dict | None:
    at = subnet_id.lower().find("/subnets/")
    vnet = cloud.get(subnet_id[:at]) if at > 0 else None
    if vnet is None:
        return None
    name = ids.last_segment(subnet_id).lower()
    return next((s for s in vnet["properties"]["subnets"] if s["name"].lower() == name), None)


def get_subnet(call: ArmCall) -> Response:
    subnet = find_subnet(call.cloud, call.path)
    if subnet is None:
        raise ArmError(404, "NotFound", f"Resource {call.path} not found.")
    return json_body(200, subnet)


def list_subnets(call: ArmCall) -> Response:
    return json_body(200, {"value": _vnet(call)["properties"]["subnets"]})


def delete_subnet(call: ArmCall) -> Response:
    vnet = _vnet(call)
    subnet = find_subnet(call.cloud, call.path)
    if subnet is None:
        return empty(204)
    _refuse_if_subnet_used(call.cloud, subnet)
    vnet["properties"]["subnets"] = [s for s in vnet["properties"]["subnets"] if s is not subnet]
    return empty(200)


# --- network interfaces ---

def nics_in_subnet(cloud: AzureCloud, subnet_id: str) -> list[dict]:
    return [nic for nic in cloud.find(NIC_TYPE)
            if any(ids.same(c["properties"]["subnet"]["id"], subnet_id) for c in nic["properties"]["ipConfigurations"])]


def _next_address(cloud: AzureCloud, subnet: dict) -> str:
    network = ipaddress.ip_network(subnet["properties"]["addressPrefix"])
    used = {c["properties"].get("privateIPAddress") for nic in nics_in_subnet(cloud, subnet["id"])
            for c in nic["properties"]["ipConfigurations"]}
    # Azure reserves the first four addresses and the last one of every subnet.
    for host in list(network.hosts())[3:-1]:
        if str(host) not in used:
            return str(host)
    raise ArmError(400, "SubnetIsFull", f"Subnet {subnet['name']} has no free address.")


def create_nic(cloud: AzureCloud, resource_group: str, name: str, subnet_id: str, location: str,
               tags: dict | None = None, static_ip: str | None = None) -> dict:
    """Used by the NIC PUT and by Site Recovery at failover."""
    subnet = find_subnet(cloud, subnet_id)
    if subnet is None:
        raise ArmError(400, "InvalidResourceReference", f"Resource {subnet_id} referenced by resource "
                       f"{name} was not found. Please make sure that the referenced resource exists.")
    nic_id = ids.arm_id(cloud.subscription_id, resource_group, NIC_TYPE, name)
    existing = cloud.get(nic_id)
    address = static_ip or (existing and existing["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]) \
        or _next_address(cloud, subnet)
    document = {"name": name, "id": nic_id, "etag": _etag(), "type": NIC_TYPE, "location": location,
                "tags": tags or {},
                "properties": {"provisioningState": "Succeeded", "resourceGuid": ids.new_guid(),
                               "ipConfigurations": [{"name": "ipconfig1", "id": f"{nic_id}/ipConfigurations/ipconfig1",
                                                     "type": f"{NIC_TYPE}/ipConfigurations",
                                                     "properties": {"provisioningState": "Succeeded",
                                                                    "privateIPAddress": address,
                                                                    "privateIPAllocationMethod": "Static" if static_ip else "Dynamic",
                                                                    "subnet": {"id": subnet["id"]}, "primary": True,
                                                                    "privateIPAddressVersion": "IPv4"}}],
                               "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
                               "enableAcceleratedNetworking": False, "enableIPForwarding": False,
                               "virtualMachine": existing["properties"].get("virtualMachine") if existing else None,
                               "nicType": "Standard"}}
    if document["properties"]["virtualMachine"] is None:
        del document["properties"]["virtualMachine"]
    return cloud.put(document)


def put_nic(call: ArmCall) -> Response:
    group = require_group(call)
    body = call.require_body()
    configs = (body.get("properties") or {}).get("ipConfigurations") or []
    if not configs or not ((configs[0].get("properties") or {}).get("subnet") or {}).get("id"):
        raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request: a network interface needs an IP "
                       "configuration with a subnet.")
    properties = configs[0]["properties"]
    nic_id = ids.arm_id(call.cloud.subscription_id, group["name"], NIC_TYPE, call.params["name"])
    new = call.cloud.get(nic_id) is None
    static = properties.get("privateIPAddress") if properties.get("privateIPAllocationMethod") == "Static" else None
    document = create_nic(call.cloud, group["name"], call.params["name"], properties["subnet"]["id"],
                          location_of(call, body, group), body.get("tags"), static)
    return _created(call, document, new)


def get_nic(call: ArmCall) -> Response:
    return json_body(200, require_resource(call, call.path, NIC_TYPE))


def list_nics(call: ArmCall) -> Response:
    group = require_group(call)
    return json_body(200, {"value": call.cloud.find(NIC_TYPE, group["name"])})


def delete_nic(call: ArmCall) -> Response:
    nic = call.cloud.get(call.path)
    if nic is None:
        return empty(204)
    attached = nic["properties"].get("virtualMachine")
    if attached:
        raise ArmError(400, "NicInUse", f"Network Interface {nic['id']} is used by existing resource "
                       f"{attached['id']}. In order to delete the network interface, it must be dissociated from the "
                       "resource. To learn more, see aka.ms/deletenic.")
    call.cloud.delete(nic["id"])
    return empty(200)


def register(arm: Arm) -> None:
    add = arm.router.add
    add("PUT", NET + "/virtualNetworks/{name}", put_vnet)
    add("GET", NET + "/virtualNetworks/{name}", get_vnet)
    add("GET", NET + "/virtualNetworks", list_vnets)
    add("DELETE", NET + "/virtualNetworks/{name}", delete_vnet)
    add("PUT", NET + "/virtualNetworks/{name}/subnets/{subnet}", put_subnet)
    add("GET", NET + "/virtualNetworks/{name}/subnets/{subnet}", get_subnet)
    add("GET", NET + "/virtualNetworks/{name}/subnets", list_subnets)
    add("DELETE", NET + "/virtualNetworks/{name}/subnets/{subnet}", delete_subnet)
    add("PUT", NET + "/networkInterfaces/{name}", put_nic)
    add("GET", NET + "/networkInterfaces/{name}", get_nic)
    add("GET", NET + "/networkInterfaces", list_nics)
    add("DELETE", NET + "/networkInterfaces/{name}", delete_nic)
