"""Vault credentials (registration key) files: the format both lab sides use, and the record a registration leaves.

The file is the registration key XML (root RSVaultAsrCreds; VaultDetails, ManagementCert, AadDetails,
SiteId, SiteName), written the way Terraform's azurerm ``recovery_services_vault_hyperv_host_registration_key``
data source writes it from the vault-certificates answer. Its validity is the validity of the certificate in
ManagementCert (a PKCS#12 bundle without a password, as the portal's files carry), five days by default
(learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v).

- Issuing: `issue_certificate()` makes the management certificate; given the lab Azure vault that issues
  it, the vault remembers its thumbprint (lab/azure/recovery_services.py's vault-certificates PUT calls it).
  `issue()` writes a whole file (the admin API's POST /vault-credentials); `from_certificate_answer()` is
  the client's construction from the ARM answers (Terraform's, and the collection's registration_key module's).
- Reading: `parse()`. What DRConfigurator /r checks against the vault, and the registrations the world
  records, are lab/registrations.py's.

Pure: this module knows no world and no Azure side.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import uuid
import xml.etree.ElementTree as ET
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

NAMESPACE = "http://schemas.datacontract.org/2004/07/Microsoft.Azure.Portal.RecoveryServices.Models.Common"
NAMESPACE_I = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_VALIDITY_HOURS = 120   # the portal's key and Terraform's default (validityInHours)
AAD_TAGS = ("AadAuthority", "AadTenantId", "ServicePrincipalClientId", "AadVaultAudience", "ArmManagementEndpoint")


class CredentialsRejected(ValueError):
    """DRConfigurator refuses the file; the message is what it would log.

    `credentials` is the file as read, when it could be read (the refusal is then about the vault or the key).
    """

    def __init__(self, message: str, credentials: VaultCredentials | None = None):
        super().__init__(message)
        self.credentials = credentials


@dataclasses.dataclass(frozen=True)
class VaultCredentials:
    """What a file says: the vault, the site and the management certificate's validity."""

    subscription_id: str
    resource_group: str
    vault_name: str
    vault_location: str
    site_name: str
    site_id: str
    thumbprint: str
    valid_from: dt.datetime
    valid_to: dt.datetime

    @property
    def vault_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.RecoveryServices/vaults/{self.vault_name}")

    @property
    def container_id(self) -> str:
        """The site's protection container, which registration writes to Registration\\ContainerId."""
        return f"cloud_{self.site_id}"

    def to_dict(self) -> dict:
        document = dataclasses.asdict(self)
        document.update(valid_from=self.valid_from.isoformat(), valid_to=self.valid_to.isoformat(),
                        vault_id=self.vault_id, container_id=self.container_id)
        return document


@dataclasses.dataclass(frozen=True)
class ManagementCertificate:
    """A certificate a vault issued: the PKCS#12 bundle (base64) that goes into ManagementCert."""

    name: str
    pfx_base64: str = dataclasses.field(repr=False)
    thumbprint: str
    valid_from: dt.datetime
    valid_to: dt.datetime


@dataclasses.dataclass
class ProviderRegistration:
    """A host registered with a vault's Hyper-V site, as the world knows it."""

    host: str
    friendly_name: str
    dra_id: str
    subscription_id: str
    resource_group: str
    vault_name: str
    site_name: str
    site_id: str
    provider_version: str | None
    agent_version: str | None
    registered_at: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- issuing ---------------------------------------------------------------------------------------

def portal_certificate_name(vault_name: str, day: dt.datetime) -> str:
    """The certificate name the portal and Terraform ask the vault for (Terraform's registration-key data source)."""
    return f"CN=CB_{vault_name}-{day.day}-{day:%m-%Y}-vaultcredentials"


def _thumbprint(certificate: x509.Certificate) -> str:
    return hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


class CertificateIssuer(Protocol):
    """A vault that remembers the certificates it issued, by thumbprint (a lab Azure vault)."""

    certificates: dict[str, ManagementCertificate]


def issue_certificate(name: str, valid_from: dt.datetime, valid_to: dt.datetime,
                      issuer: CertificateIssuer | None = None) -> ManagementCertificate:
    """A self-signed management certificate valid from `valid_from` to `valid_to`.

    `issuer`, a lab Azure vault, remembers the certificate: check() accepts only certificates their vault issued.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name.removeprefix("CN="))])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(valid_from).not_valid_after(valid_to)
                   .sign(key, hashes.SHA256()))
    pfx = pkcs12.serialize_key_and_certificates(name.encode(), key, certificate, None, serialization.NoEncryption())
    issued = ManagementCertificate(name, base64.b64encode(pfx).decode(), _thumbprint(certificate), valid_from, valid_to)
    if issuer is not None:
        issuer.certificates[issued.thumbprint] = issued
    return issued


def render(subscription_id: str, resource_group: str, vault_name: str, resource_id: str, vault_location: str,
           management_cert: str, site_id: str, site_name: str, aad: dict[str, str] | None = None,
           private_endpoint_state: str = "None") -> str:
    """The file's XML, element for element as Terraform's registration-key data source writes it."""
    root = ET.Element("RSVaultAsrCreds", {"xmlns": NAMESPACE, "xmlns:i": NAMESPACE_I})

    def add(parent: ET.Element, tag: str, text: str = "") -> ET.Element:
        element = ET.SubElement(parent, tag)
        element.text = text
        return element

    details = add(root, "VaultDetails")
    for tag, text in (("SubscriptionId", subscription_id), ("ResourceGroup", resource_group), ("ResourceName", vault_name),
                      ("ResourceId", resource_id), ("Location", vault_location), ("ResourceType", "Vaults"),
                      ("ProviderNamespace", "Microsoft.RecoveryServices")):
        add(details, tag, text)
    add(root, "ManagementCert", management_cert)
    add(root, "Version", "2.0")
    aad_details = add(root, "AadDetails")
    for tag in AAD_TAGS:
        add(aad_details, tag, (aad or {}).get(tag, ""))
    add(root, "ChannelIntegrityKey")
    add(root, "SiteId", site_id)
    add(root, "SiteName", site_name)
    add(root, "PrivateEndpointStateForSiteRecovery", private_endpoint_state)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")


def issue(subscription_id: str, resource_group: str, vault_name: str, vault_location: str, site_name: str,
          site_id: str | None = None, now: dt.datetime | None = None, valid_hours: float = DEFAULT_VALIDITY_HOURS,
          issued_hours_ago: float = 0.0, issuer: CertificateIssuer | None = None) -> str:
    """A whole vault credentials file, its key valid from `now - issued_hours_ago` for `valid_hours`.

    `issuer` is the lab Azure vault that issues the key (check() with that Azure side then accepts it); without
    one the file stands alone, as in host-only labs.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    valid_from = now - dt.timedelta(hours=issued_hours_ago)
    certificate = issue_certificate(portal_certificate_name(vault_name, valid_from), valid_from,
                                    valid_from + dt.timedelta(hours=valid_hours), issuer)
    if issuer is not None:
        resource_id = str(issuer.resource_id_number)
    else:
        resource_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription_id}/{resource_group}/{vault_name}").int % 10 ** 16)
    return render(subscription_id, resource_group, vault_name, resource_id, vault_location, certificate.pfx_base64,
                  site_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{vault_name}/{site_name}")), site_name)


def from_certificate_answer(vault_document: dict, certificate: dict, fabric_document: dict) -> str:
    """The file a client writes from ARM's answers: the vault, the vault-certificates PUT and the site (fabric)."""
    properties = certificate["properties"]
    subscription_id, resource_group = vault_document["id"].split("/")[2], vault_document["id"].split("/")[4]
    aad = dict(zip(AAD_TAGS, (properties["aadAuthority"], properties["aadTenantId"], properties["servicePrincipalClientId"],
                              properties["aadAudience"], properties["azureManagementEndpointAudience"])))
    return render(subscription_id, resource_group, vault_document["name"], str(properties["resourceId"]),
                  vault_document["location"], properties["certificate"], fabric_document["properties"]["internalIdentifier"],
                  fabric_document["name"], aad,
                  vault_document["properties"].get("privateEndpointStateForSiteRecovery", "None"))


# --- reading and checking --------------------------------------------------------------------------

def _text(element: ET.Element | None, tag: str) -> str:
    if element is None:
        return ""
    found = element.find(f"{{{NAMESPACE}}}{tag}")
    if found is None:
        found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def parse(content: str) -> VaultCredentials:
    """Read a file; CredentialsRejected when it is not one."""
    try:
        root = ET.fromstring(content.lstrip("\ufeff").strip())
    except ET.ParseError as exc:
        raise CredentialsRejected(f"The vault credentials file is not valid: {exc}") from None
    if root.tag.rsplit("}", 1)[-1] != "RSVaultAsrCreds":
        raise CredentialsRejected("The vault credentials file is not valid: unexpected root element")
    details = root.find(f"{{{NAMESPACE}}}VaultDetails")
    if details is None:
        details = root.find("VaultDetails")
    try:
        bundle = pkcs12.load_key_and_certificates(base64.b64decode(_text(root, "ManagementCert")), None)
    except ValueError:
        raise CredentialsRejected("The vault credentials file is not valid: the certificate cannot be read") from None
    certificate = bundle[1]
    if certificate is None or not _text(details, "ResourceName"):
        raise CredentialsRejected("The vault credentials file is not valid: no vault details")
    return VaultCredentials(
        subscription_id=_text(details, "SubscriptionId"), resource_group=_text(details, "ResourceGroup"),
        vault_name=_text(details, "ResourceName"), vault_location=_text(details, "Location"),
        site_name=_text(root, "SiteName"), site_id=_text(root, "SiteId"), thumbprint=_thumbprint(certificate),
        valid_from=certificate.not_valid_before_utc, valid_to=certificate.not_valid_after_utc)
