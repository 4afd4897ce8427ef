"""Microsoft.RecoveryServices vaults and vault certificates.

The vault-certificate PUT (`{vault}/certificates/{name}` with a top-level certificateCreateOptions
.validityInHours, terraform-provider-azurerm `recovery_services_vault_hyperv_host_registration_key` and
`azuresdkhacks/model_certificaterequest.go`; the nested `properties.certificateCreateOptions` is refused)
issues a certificate valid for that many hours of lab time, through lab/vault_credentials.py,
which remembers it in the vault; clients build the vault credentials file (XML root
RSVaultAsrCreds) from the answer, as Terraform does (`vault_credentials.from_certificate_answer`), and
DRConfigurator's simulation accepts only certificates the named vault issued.
"""

from __future__ import annotations

import datetime as dt

from lab import vault_credentials
from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, ArmError, empty, iso, json_body
from lab.azure.asr_common import VAULT, vault_of
from lab.azure.resources import location_of, require_group
from lab.azure.state import AzureCloud, VaultAsr
from lab.http import Response


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
    """The vault of the path; a missing resource group is reported as such first."""
    require_group(call)
    return vault_of(call)


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

def put_certificate(call: ArmCall) -> Response:
    vault = _vault(call)
    body = call.body if isinstance(call.body, dict) else {}
    options = body.get("certificateCreateOptions")
    if not isinstance(options, dict):
        # The service makes the certificate only when asked at the top level (Terraform's CertificateRequest, the
        # portal); anything else is a CertificateRequest whose properties carry no uploaded certificate. The exact
        # code and message are an assumption (lab/FIDELITY.md).
        raise ArmError(400, "BadRequest", "The certificate request is not valid: send certificateCreateOptions "
                       "(validityInHours) at the top level of the body to have the vault create the certificate, or "
                       "properties.certificate to upload one.")
    hours = options.get("validityInHours", vault_credentials.DEFAULT_VALIDITY_HOURS)
    if not isinstance(hours, int) or hours < 1:
        raise ArmError(400, "BadRequest", f"validityInHours must be a positive whole number of hours, got {hours!r}.")
    cloud, name = call.cloud, call.params["certificate"]
    now = cloud.now()
    issued = vault_credentials.issue_certificate(name, now, now + dt.timedelta(hours=hours), issuer=vault)
    return json_body(200, {
        "name": name, "type": "Microsoft.RecoveryServices/vaults/certificates", "id": f"{vault.id}/certificates/{name}",
        "properties": {
            "authType": "AzureActiveDirectory", "certificate": issued.pfx_base64,
            "friendlyName": "", "issuer": name, "resourceId": vault.resource_id_number,
            "subject": name, "thumbprint": issued.thumbprint,
            "validFrom": iso(issued.valid_from), "validTo": iso(issued.valid_to),
            "aadAuthority": cloud.endpoints.get("authority", ""), "aadTenantId": cloud.tenant.tenant_id,
            "servicePrincipalClientId": ids.stable_guid("vault-sp", vault.id),
            "servicePrincipalObjectId": ids.stable_guid("vault-sp-object", vault.id),
            "azureManagementEndpointAudience": cloud.endpoints.get("arm", "").rstrip("/") + "/",
            "aadAudience": f"https://RecoveryServiceVault/{vault.location}/{vault.name}/{vault.resource_id_number}",
        },
    })


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults",
        list_vaults)
    add("GET", "/subscriptions/{subscription}/providers/Microsoft.RecoveryServices/vaults", list_all_vaults)
    add("GET", VAULT, get_vault)
    add("PUT", VAULT, put_vault)
    add("DELETE", VAULT, delete_vault)
    add("PUT", VAULT + "/certificates/{certificate}", put_certificate)
