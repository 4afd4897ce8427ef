"""Vault credentials (registration key) files and host registrations: the one place both lab sides use.

The file is the XML of asr-api.md §3.2 (root RSVaultAsrCreds; VaultDetails, ManagementCert, AadDetails,
SiteId, SiteName). Its validity is the validity of the certificate in ManagementCert (a PKCS#12 bundle
without a password, as the portal's files carry), five days by default (windows-host.md §1). The lab's
Azure side issues files with `issue()`; DRConfigurator's simulation checks them with `check()`; a
successful registration is recorded with `record_registration()`, where the Azure side lists the host
as a provider of the vault's Hyper-V site.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

NAMESPACE = "http://schemas.datacontract.org/2004/07/Microsoft.Azure.Portal.RecoveryServices.Models.Common"
DEFAULT_VALIDITY_HOURS = 120   # the portal's key and Terraform's default (asr-api.md §3.2)


class CredentialsRejected(ValueError):
    """DRConfigurator refuses the file; the message is what it would log."""


@dataclass(frozen=True)
class VaultCredentials:
    subscription_id: str
    resource_group: str
    vault_name: str
    location: str
    site_name: str
    site_id: str
    valid_from: dt.datetime
    valid_to: dt.datetime

    @property
    def vault_id(self) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.RecoveryServices/vaults/{self.vault_name}")


@dataclass
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
        return asdict(self)


def _certificate(vault_name: str, valid_from: dt.datetime, valid_to: dt.datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"CB_{vault_name}-{valid_from:%d-%m-%Y}-vaultcredentials")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(valid_from).not_valid_after(valid_to)
                   .sign(key, hashes.SHA256()))
    return pkcs12.serialize_key_and_certificates(None, key, certificate, None, serialization.NoEncryption())


def issue(subscription_id: str, resource_group: str, vault_name: str, location: str, site_name: str,
          site_id: str | None = None, now: dt.datetime | None = None, valid_hours: float = DEFAULT_VALIDITY_HOURS,
          issued_hours_ago: float = 0.0) -> str:
    """A vault credentials file's XML, valid from `now - issued_hours_ago` for `valid_hours`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    valid_from = now - dt.timedelta(hours=issued_hours_ago)
    valid_to = valid_from + dt.timedelta(hours=valid_hours)
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}RSVaultAsrCreds")

    def add(parent: ET.Element, tag: str, text: str = "") -> ET.Element:
        element = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
        element.text = text
        return element

    details = add(root, "VaultDetails")
    resource_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription_id}/{resource_group}/{vault_name}").int % 10 ** 16)
    for tag, text in (("SubscriptionId", subscription_id), ("ResourceGroup", resource_group), ("ResourceName", vault_name),
                      ("ResourceId", resource_id), ("Location", location), ("ResourceType", "Vaults"),
                      ("ProviderNamespace", "Microsoft.RecoveryServices")):
        add(details, tag, text)
    add(root, "ManagementCert", base64.b64encode(_certificate(vault_name, valid_from, valid_to)).decode())
    add(root, "Version", "2.0")
    aad = add(root, "AadDetails")
    for tag in ("AadAuthority", "AadTenantId", "ServicePrincipalClientId", "AadVaultAudience", "ArmManagementEndpoint"):
        add(aad, tag)
    add(root, "ChannelIntegrityKey")
    add(root, "SiteId", site_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{vault_name}/{site_name}")))
    add(root, "SiteName", site_name)
    add(root, "PrivateEndpointStateForSiteRecovery", "None")
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")


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
        vault_name=_text(details, "ResourceName"), location=_text(details, "Location"),
        site_name=_text(root, "SiteName"), site_id=_text(root, "SiteId"),
        valid_from=certificate.not_valid_before_utc, valid_to=certificate.not_valid_after_utc)


def check(content: str, now: dt.datetime) -> VaultCredentials:
    """What DRConfigurator /r checks before registering: a readable file whose key has not expired."""
    credentials = parse(content)
    if now >= credentials.valid_to:
        # windows-host.md §12: a key file older than its validity is refused ("registration key has expired").
        raise CredentialsRejected(f"The registration key has expired (valid until {credentials.valid_to:%Y-%m-%d %H:%M:%S} UTC). "
                                  "Download a new vault credentials file from the vault and try again.")
    return credentials


# --- registrations in the world -------------------------------------------------------------------

def registrations(world) -> dict[str, ProviderRegistration]:
    """Registered hosts by lower-cased host name (kept on the world, which owns all shared state)."""
    return world.__dict__.setdefault("provider_registrations", {})


def record_registration(world, registration: ProviderRegistration) -> None:
    registrations(world)[registration.host.lower()] = registration


def remove_registration(world, host_name: str) -> ProviderRegistration | None:
    return registrations(world).pop(host_name.lower(), None)


def providers_of_site(world, subscription_id: str, resource_group: str, vault_name: str, site_name: str) -> list[ProviderRegistration]:
    """The hosts the vault's Hyper-V site lists as providers."""
    def same(left: str, right: str) -> bool:
        return left.lower() == right.lower()
    return [registration for registration in registrations(world).values()
            if same(registration.subscription_id, subscription_id) and same(registration.resource_group, resource_group)
            and same(registration.vault_name, vault_name) and same(registration.site_name, site_name)]
