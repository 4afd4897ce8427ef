"""Microsoft.RecoveryServices vaults and vault certificates, and the vault credentials file.

The vault-certificate PUT (`{vault}/certificates/{name}` with certificateCreateOptions
.validityInHours, asr-api.md §3.2, TF `recovery_services_vault_hyperv_host_registration_key`)
issues a certificate valid for that many hours of lab time; clients build the vault
credentials file (XML root RSVaultAsrCreds) from the answer, as TF does
(`build_vault_credentials` here is the same construction). The host side calls
`check_vault_credentials` when it simulates DRConfigurator /r: the file must name a vault and
site that exist and carry a certificate this vault issued that has not expired.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, ArmError, empty, iso, json_body
from lab.azure.asr_common import VAULT
from lab.azure.resources import location_of, require_group
from lab.azure.state import AzureCloud, VaultAsr
from lab.http import Response

XMLNS = "http://schemas.datacontract.org/2004/07/Microsoft.Azure.Portal.RecoveryServices.Models.Common"
XMLNS_I = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_VALIDITY_HOURS = 120      # TF's default; the portal key is valid 5 days (windows-host.md §1)


def vault_json(cloud: AzureCloud, vault: VaultAsr, tags: dict | None = None) -> dict:
    """enable_managed_disks.json entry 0 (one element of the vault list)."""
    stored = cloud.get(vault.id) or {}
    return {"location": vault.location, "name": vault.name, "etag": f'W/"datetime\'{iso(cloud.now())}\'"',
            "tags": tags if tags is not None else stored.get("tags"),
            "identity": {"tenantId": None, "identityUrl": None, "principalId": None, "type": "None",
                         "userAssignedIdentities": None},
            "properties": {"provisioningState": "Succeeded", "publicNetworkAccess": "Enabled",
                           "privateEndpointStateForSiteRecovery": "None",
                           "restoreSettings": {"crossSubscriptionRestoreSettings": {
                               "crossSubscriptionRestoreState": "Enabled"}}},
            "id": vault.id, "type": ids.VAULT_TYPE,
            "sku": {"name": "RS0", "tier": "Standard", "size": None, "family": None, "capacity": None}}


def create_vault(cloud: AzureCloud, resource_group: str, name: str, location: str, tags: dict | None = None) -> VaultAsr:
    vault = VaultAsr(cloud.subscription_id, resource_group, name, location,
                     resource_id_number=int(ids.stable_guid("vault", resource_group, name).replace("-", "")[:13], 16))
    cloud.vaults[ids.key(vault.id)] = vault
    cloud.put({"id": vault.id, "type": ids.VAULT_TYPE, "name": name, "tags": tags or {}})
    return vault


def _vault(call: ArmCall) -> VaultAsr:
    require_group(call)
    vault = call.cloud.vault(call.params["rg"], call.params["vault"])
    if vault is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.RecoveryServices/vaults/"
                       f"{call.params['vault']}' under resource group '{call.params['rg']}' was not found.")
    return vault


def list_vaults(call: ArmCall) -> Response:
    group = require_group(call)
    return json_body(200, {"value": [vault_json(call.cloud, v) for v in call.cloud.vaults.values()
                                     if v.resource_group.lower() == group["name"].lower()]})


def list_all_vaults(call: ArmCall) -> Response:
    return json_body(200, {"value": [vault_json(call.cloud, v) for v in call.cloud.vaults.values()]})


def get_vault(call: ArmCall) -> Response:
    return json_body(200, vault_json(call.cloud, _vault(call)))


def put_vault(call: ArmCall) -> Response:
    group = require_group(call)
    body = call.require_body()
    existing = call.cloud.vault(group["name"], call.params["vault"])
    vault = existing or create_vault(call.cloud, group["name"], call.params["vault"], location_of(call, body, group),
                                     body.get("tags"))
    if existing and body.get("tags") is not None:
        call.cloud.get(vault.id)["tags"] = body["tags"]
    return json_body(200 if existing else 201, vault_json(call.cloud, vault))


def delete_vault(call: ArmCall) -> Response:
    vault = _vault(call)
    if any(f.items for f in vault.fabrics.values()):
        raise ArmError(400, "ServiceResourceNotEmpty", "Vault cannot be deleted as there are existing resources "
                       "within the vault. Please delete any replicated items, registered servers and policies.")
    call.cloud.vaults.pop(ids.key(vault.id), None)
    call.cloud.delete(vault.id)
    return empty(200)


# --- vault certificates ---

def issue_certificate(cloud: AzureCloud, vault: VaultAsr, name: str, validity_hours: int) -> dict:
    now = cloud.now()
    valid_to = now + dt.timedelta(hours=validity_hours)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name.removeprefix("CN="))])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(valid_to).sign(key, hashes.SHA256()))
    pfx = pkcs12.serialize_key_and_certificates(name.encode(), key, cert, None, serialization.NoEncryption())
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    issued = {"thumbprint": thumbprint, "certificate": base64.b64encode(pfx).decode(), "valid_from": now,
              "valid_to": valid_to, "name": name}
    vault.certificates[thumbprint] = issued
    return issued


def put_certificate(call: ArmCall) -> Response:
    vault = _vault(call)
    body = call.body if isinstance(call.body, dict) else {}
    options = body.get("certificateCreateOptions") or (body.get("properties") or {}).get("certificateCreateOptions") or {}
    hours = options.get("validityInHours", DEFAULT_VALIDITY_HOURS)
    if not isinstance(hours, int) or hours < 1:
        raise ArmError(400, "BadRequest", f"validityInHours must be a positive whole number of hours, got {hours!r}.")
    issued = issue_certificate(call.cloud, vault, call.params["certificate"], hours)
    cloud = call.cloud
    return json_body(200, {
        "name": call.params["certificate"], "type": "Microsoft.RecoveryServices/vaults/certificates",
        "id": f"{vault.id}/certificates/{call.params['certificate']}",
        "properties": {
            "authType": "AzureActiveDirectory", "certificate": issued["certificate"],
            "friendlyName": "", "issuer": call.params["certificate"], "resourceId": vault.resource_id_number,
            "subject": call.params["certificate"], "thumbprint": issued["thumbprint"],
            "validFrom": iso(issued["valid_from"]), "validTo": iso(issued["valid_to"]),
            "aadAuthority": cloud.endpoints.get("authority", ""), "aadTenantId": cloud.tenant.tenant_id,
            "servicePrincipalClientId": ids.stable_guid("vault-sp", vault.id),
            "servicePrincipalObjectId": ids.stable_guid("vault-sp-object", vault.id),
            "azureManagementEndpointAudience": cloud.endpoints.get("arm", "").rstrip("/") + "/",
            "aadAudience": f"https://RecoveryServiceVault/{vault.location}/{vault.name}/{vault.resource_id_number}",
        },
    })


def build_vault_credentials(vault_document: dict, certificate: dict, fabric_document: dict) -> str:
    """The RSVaultAsrCreds XML a client writes from the certificate answer (TF's construction)."""
    properties = certificate["properties"]
    parsed = ids.parse(vault_document["id"])
    root = ET.Element("RSVaultAsrCreds", {"xmlns": XMLNS, "xmlns:i": XMLNS_I})
    details = ET.SubElement(root, "VaultDetails")
    for tag, value in (("SubscriptionId", parsed["subscription"]), ("ResourceGroup", parsed["resource_group"]),
                       ("ResourceName", vault_document["name"]), ("ResourceId", str(properties["resourceId"])),
                       ("Location", vault_document["location"]), ("ResourceType", "Vaults"),
                       ("ProviderNamespace", "Microsoft.RecoveryServices")):
        ET.SubElement(details, tag).text = value
    ET.SubElement(root, "ManagementCert").text = properties["certificate"]
    ET.SubElement(root, "Version").text = "2.0"
    aad = ET.SubElement(root, "AadDetails")
    for tag, value in (("AadAuthority", properties["aadAuthority"]), ("AadTenantId", properties["aadTenantId"]),
                       ("ServicePrincipalClientId", properties["servicePrincipalClientId"]),
                       ("AadVaultAudience", properties["aadAudience"]),
                       ("ArmManagementEndpoint", properties["azureManagementEndpointAudience"])):
        ET.SubElement(aad, tag).text = value
    ET.SubElement(root, "ChannelIntegrityKey").text = ""
    ET.SubElement(root, "SiteId").text = fabric_document["properties"]["internalIdentifier"]
    ET.SubElement(root, "SiteName").text = fabric_document["name"]
    ET.SubElement(root, "PrivateEndpointStateForSiteRecovery").text = \
        vault_document["properties"].get("privateEndpointStateForSiteRecovery", "None")
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")


@dataclass
class CredentialsCheck:
    valid: bool
    reason: str = ""                # why not, in the words DRConfigurator would use
    subscription_id: str = ""
    resource_group: str = ""
    vault_name: str = ""
    vault_location: str = ""
    site_id: str = ""
    site_name: str = ""
    container_id: str = ""          # cloud_<site id>, for the host's Registration\ContainerId
    valid_to: dt.datetime | None = None


def check_vault_credentials(cloud: AzureCloud, text: str) -> CredentialsCheck:
    """Is this vault credentials file good for registering a host now (lab time)?"""
    try:
        root = ET.fromstring(text.lstrip("\ufeff"))
    except ET.ParseError as exc:
        return CredentialsCheck(False, f"The vault credentials file is not valid XML: {exc}.")
    ns = {"v": XMLNS}

    def text_of(path: str) -> str:
        node = root.find(path, ns)
        return (node.text or "").strip() if node is not None else ""

    if root.tag not in (f"{{{XMLNS}}}RSVaultAsrCreds", "RSVaultAsrCreds"):
        return CredentialsCheck(False, "The file is not a Site Recovery vault credentials file.")
    subscription, group = text_of("v:VaultDetails/v:SubscriptionId"), text_of("v:VaultDetails/v:ResourceGroup")
    vault_name, site_id = text_of("v:VaultDetails/v:ResourceName"), text_of("v:SiteId")
    found = dict(subscription_id=subscription, resource_group=group, vault_name=vault_name, site_id=site_id,
                 site_name=text_of("v:SiteName"))
    vault = cloud.vault(group, vault_name) if subscription.lower() == cloud.subscription_id.lower() else None
    if vault is None:
        return CredentialsCheck(False, f"The vault '{vault_name}' named in the vault credentials file does not exist.",
                                **found)
    fabric = next((f for f in vault.fabrics.values() if f.internal_id.lower() == site_id.lower()), None)
    if fabric is None:
        return CredentialsCheck(False, f"The Hyper-V site '{found['site_name']}' named in the vault credentials file "
                                "does not exist in the vault.", **found)
    try:
        pfx = base64.b64decode(text_of("v:ManagementCert"), validate=True)
        _key, cert, _extra = pkcs12.load_key_and_certificates(pfx, None)
    except ValueError:
        return CredentialsCheck(False, "The vault credentials file has no valid management certificate.", **found)
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    issued = vault.certificates.get(thumbprint)
    common = dict(found, vault_location=vault.location, container_id=fabric.container_name, site_name=fabric.name)
    if issued is None:
        return CredentialsCheck(False, "The management certificate in the vault credentials file was not issued by "
                                "the vault.", **common)
    if cloud.now() >= issued["valid_to"]:
        return CredentialsCheck(False, "The vault credentials file has expired. Download a new registration key "
                                "from the vault and retry.", valid_to=issued["valid_to"], **common)
    return CredentialsCheck(True, valid_to=issued["valid_to"], **common)


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults",
        list_vaults)
    add("GET", "/subscriptions/{subscription}/providers/Microsoft.RecoveryServices/vaults", list_all_vaults)
    add("GET", VAULT, get_vault)
    add("PUT", VAULT, put_vault)
    add("DELETE", VAULT, delete_vault)
    add("PUT", VAULT + "/certificates/{certificate}", put_certificate)
