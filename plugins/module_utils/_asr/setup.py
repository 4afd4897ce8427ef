# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Setting a vault up for Hyper-V hosts, as pure functions over the service's REST JSON.

- The registration key (vault credentials file): ``certificate_name``, ``registration_key_xml``
  (the RSVaultAsrCreds XML the Site Recovery provider's DRConfigurator reads, element for element as
  Terraform's ``recovery_services_vault_hyperv_host_registration_key`` data source writes it from the
  vault, the vault certificate and the site), ``read_registration_key`` and
  ``reusable_key_problems`` (is a key file on disk still good for this vault and site?).
- The log (cache) storage account of managed-disk replication: ``log_storage_problems``,
  ``log_storage_body``.
- Discovery: ``match_host``, ``discovery_status`` (which hosts are registered and Connected, which
  VMs the vault lists as protectable items).
"""

import base64
import datetime
import xml.etree.ElementTree as ET

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import properties_of
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import LOG_STORAGE_KINDS, LOG_STORAGE_SKUS

try:
    from cryptography.hazmat.primitives.serialization import pkcs12
    HAS_CRYPTOGRAPHY = True
except ImportError:   # then a key's validity cannot be read, and an existing key is replaced
    HAS_CRYPTOGRAPHY = False


CREDENTIALS_NAMESPACE = "http://schemas.datacontract.org/2004/07/Microsoft.Azure.Portal.RecoveryServices.Models.Common"
INSTANCE_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
AAD_FIELDS = (("AadAuthority", "aadAuthority"), ("AadTenantId", "aadTenantId"),
              ("ServicePrincipalClientId", "servicePrincipalClientId"), ("AadVaultAudience", "aadAudience"),
              ("ArmManagementEndpoint", "azureManagementEndpointAudience"))


def _id_part(resource_id, index):
    parts = (resource_id or "").split("/")
    return parts[index] if len(parts) > index else ""


def certificate_name(vault_name, day):
    """The vault certificate the portal and Terraform ask for: ``CN=CB_<vault>-<d>-<MM>-<yyyy>-vaultcredentials``."""
    return "CN=CB_%s-%d-%s-vaultcredentials" % (vault_name, day.day, day.strftime("%m-%Y"))


def registration_key_xml(vault, certificate, fabric):
    """The vault credentials file for ``fabric`` (a Hyper-V site) of ``vault``, from the vault certificate answer.

    vault, certificate, fabric: the REST JSON of GET vault, PUT vaults/{v}/certificates/{name} and GET
    replicationFabrics/{site}.
    """
    cert = properties_of(certificate)
    root = ET.Element("RSVaultAsrCreds", {"xmlns": CREDENTIALS_NAMESPACE, "xmlns:i": INSTANCE_NAMESPACE})

    def child(parent, tag, text=""):
        element = ET.SubElement(parent, tag)
        element.text = text
        return element

    details = child(root, "VaultDetails")
    for tag, text in (("SubscriptionId", _id_part(vault["id"], 2)), ("ResourceGroup", _id_part(vault["id"], 4)),
                      ("ResourceName", vault["name"]), ("ResourceId", str(cert.get("resourceId", ""))),
                      ("Location", vault.get("location") or ""), ("ResourceType", "Vaults"),
                      ("ProviderNamespace", "Microsoft.RecoveryServices")):
        child(details, tag, text)
    child(root, "ManagementCert", cert.get("certificate") or "")
    child(root, "Version", "2.0")
    aad = child(root, "AadDetails")
    for tag, field in AAD_FIELDS:
        child(aad, tag, str(cert.get(field) or ""))
    child(root, "ChannelIntegrityKey")
    child(root, "SiteId", properties_of(fabric).get("internalIdentifier") or "")
    child(root, "SiteName", fabric["name"])
    child(root, "PrivateEndpointStateForSiteRecovery",
          properties_of(vault).get("privateEndpointStateForSiteRecovery") or "None")
    return f"<?xml version=\"1.0\" encoding=\"utf-8\"?>{ET.tostring(root, encoding='unicode')}"


def _find_text(element, tag):
    if element is None:
        return ""
    found = element.find("{%s}%s" % (CREDENTIALS_NAMESPACE, tag))
    if found is None:
        found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _certificate_valid_to(management_cert):
    """The end of validity of the PKCS#12 bundle in ManagementCert (no password), or None when unreadable."""
    if not HAS_CRYPTOGRAPHY or not management_cert:
        return None
    try:
        bundle = pkcs12.load_key_and_certificates(base64.b64decode(management_cert), None)
    except (ValueError, TypeError):
        return None
    certificate = bundle[1]
    if certificate is None:
        return None
    valid_to = getattr(certificate, "not_valid_after_utc", None)
    if valid_to is None:   # cryptography < 42: a naive UTC datetime
        valid_to = certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return valid_to


def read_registration_key(content):
    """What a vault credentials file says: {subscription_id, resource_group, vault_name, site_name, site_id,
    valid_to (aware datetime or None)}; None when ``content`` is not such a file."""
    try:
        root = ET.fromstring((content or "").lstrip(u"\ufeff").strip())
    except ET.ParseError:
        return None
    if root.tag.rsplit("}", 1)[-1] != "RSVaultAsrCreds":
        return None
    details = root.find("{%s}VaultDetails" % CREDENTIALS_NAMESPACE)
    if details is None:
        details = root.find("VaultDetails")
    return {"subscription_id": _find_text(details, "SubscriptionId"), "resource_group": _find_text(details, "ResourceGroup"),
            "vault_name": _find_text(details, "ResourceName"), "site_name": _find_text(root, "SiteName"),
            "site_id": _find_text(root, "SiteId"), "valid_to": _certificate_valid_to(_find_text(root, "ManagementCert"))}


def reusable_key_problems(existing, vault, fabric, now, margin_hours):
    """Why the key file ``existing`` (``read_registration_key``) cannot be kept for ``fabric`` of ``vault``
    (REST JSON); empty when it can: same vault and site, valid for at least ``margin_hours`` more."""
    if existing is None:
        return ["the file is not a vault credentials file"]
    problems = []
    wanted = (_id_part(vault["id"], 2), _id_part(vault["id"], 4), vault["name"])
    if tuple(v.lower() for v in (existing["subscription_id"], existing["resource_group"], existing["vault_name"])) \
            != tuple(v.lower() for v in wanted):
        problems.append(f"it is for vault {existing['resource_group']}/{existing['vault_name']}")
    site_id = properties_of(fabric).get("internalIdentifier") or ""
    if existing["site_id"].lower() != site_id.lower():
        problems.append("it is for site %s" % (existing["site_name"] or existing["site_id"]))
    elif existing["site_name"].lower() != (fabric.get("name") or "").lower():
        # The provider registers with the SiteName of the file: a name that is not the vault's site's is not kept.
        problems.append(f"its SiteName {existing['site_name']!r} is not the name of site {fabric.get('name')!r} of the vault")
    if existing["valid_to"] is None:
        problems.append("its validity cannot be read")
    elif existing["valid_to"] - now < datetime.timedelta(hours=margin_hours):
        problems.append(f"it expires at {existing['valid_to'].isoformat()}, within {margin_hours} hours")
    return problems


def normalize_location(location):
    return (location or "").replace(" ", "").lower()


def log_storage_problems(account, location):
    """Why ``account`` (REST JSON of a storage account) cannot be the log storage account for ``location``."""
    problems = []
    if normalize_location(account.get("location")) != normalize_location(location):
        problems.append(f"it is in {account.get('location')}, not in the target region {location}")
    if account.get("kind") not in LOG_STORAGE_KINDS:
        problems.append(f"its kind is {account.get('kind')}; Site Recovery needs one of {', '.join(LOG_STORAGE_KINDS)}")
    sku = (account.get("sku") or {}).get("name")
    if sku not in LOG_STORAGE_SKUS:
        problems.append(f"its SKU is {sku}; Site Recovery needs one of {', '.join(LOG_STORAGE_SKUS)}")
    return problems


def normalize_account(account):
    properties = properties_of(account)
    return {"id": account.get("id"), "name": account.get("name"), "location": account.get("location"),
            "kind": account.get("kind"), "sku": (account.get("sku") or {}).get("name"),
            "minimum_tls_version": properties.get("minimumTlsVersion"),
            "allow_blob_public_access": properties.get("allowBlobPublicAccess")}


def match_host(wanted, provider):
    """True when the host name ``wanted`` (short or fully qualified, any case) is the provider's host."""
    fqdn = (properties_of(provider).get("friendlyName") or "").lower()
    wanted = (wanted or "").lower()
    return bool(wanted) and (fqdn == wanted or fqdn.split(".")[0] == wanted.split(".")[0] and "." not in wanted)


def _item_names(item):
    return ((item.get("name") or "").lower(), (properties_of(item).get("friendlyName") or "").lower())


def discovery_status(hosts, vms, providers, protectables):
    """Where the wait stands. hosts, vms: the names waited for; providers, protectables: the site's lists.

    Returns {"hosts": [{name, provider_name, connection_status}], "vms": [{name, id, item_id, protection_status}],
    "missing_hosts": [names not registered], "disconnected_hosts": [names registered but not Connected],
    "missing_vms": [names or ids not discovered]}.
    """
    status = {"hosts": [], "vms": [], "missing_hosts": [], "disconnected_hosts": [], "missing_vms": []}
    for name in hosts:
        provider = next((p for p in providers if match_host(name, p)), None)
        if provider is None:
            status["missing_hosts"].append(name)
            continue
        connection = properties_of(provider).get("connectionStatus")
        status["hosts"].append({"name": name, "provider_name": provider.get("name"), "connection_status": connection})
        if connection != "Connected":
            status["disconnected_hosts"].append(name)
    for name in vms:
        item = next((i for i in protectables if name.lower() in _item_names(i)), None)
        if item is None:
            status["missing_vms"].append(name)
        else:
            status["vms"].append({"name": properties_of(item).get("friendlyName"), "id": item.get("name"),
                                  "item_id": item.get("id"),
                                  "protection_status": properties_of(item).get("protectionStatus")})
    return status


def discovery_done(status):
    return not (status["missing_hosts"] or status["disconnected_hosts"] or status["missing_vms"])


def describe_missing(status):
    """One sentence naming what the wait still misses."""
    parts = []
    if status["missing_hosts"]:
        parts.append(f"hosts not registered to the site: {', '.join(status['missing_hosts'])}")
    if status["disconnected_hosts"]:
        parts.append(f"hosts registered but not Connected: {', '.join(status['disconnected_hosts'])}")
    if status["missing_vms"]:
        parts.append(f"VMs the vault has not discovered: {', '.join(status['missing_vms'])}")
    return "; ".join(parts)
