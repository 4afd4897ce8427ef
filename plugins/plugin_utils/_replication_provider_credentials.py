# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Read a vault credentials (registration key) file: which vault and site it names, and until when it is valid.

The file is XML with the root ``RSVaultAsrCreds``, as Terraform's azurerm
``recovery_services_vault_hyperv_host_registration_key`` writes it: ``VaultDetails``
(SubscriptionId, ResourceGroup, ResourceName, ResourceId, Location), ``ManagementCert`` (base64 of the
certificate the vault issued, a PKCS#12 bundle in files from the portal), ``SiteId`` and ``SiteName``. The
file holds no expiry field: its validity is the certificate's (five days from the portal:
learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v). Nothing here ever puts a value of
``ManagementCert`` into a message.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET

try:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12
except ImportError:  # cryptography comes with azure-identity; without it the validity is unknown, not refused
    x509 = None
    pkcs12 = None

ROOT_ELEMENT = "RSVaultAsrCreds"
# The portal's files are a few kilobytes; anything far larger is not a vault credentials file.
MAX_CREDENTIALS_CHARS = 256 * 1024


class VaultCredentialsError(ValueError):
    """The content is not a usable vault credentials file; the message never quotes the content."""


@dataclasses.dataclass(frozen=True)
class VaultCredentials:
    subscription_id: str
    resource_group: str
    vault_name: str
    location: str | None
    site_name: str | None
    site_id: str | None
    valid_to: dt.datetime | None      # None: the certificate could not be read on this controller
    content: str = dataclasses.field(repr=False)

    def vault_label(self) -> str:
        """``vault <name> (resource group <rg>, subscription <id>)``, for messages."""
        return f"vault {self.vault_name} (resource group {self.resource_group}, subscription {self.subscription_id})"

    def is_expired(self, now: dt.datetime) -> bool:
        return self.valid_to is not None and now >= self.valid_to


def _local_name(tag: str) -> str:
    # The portal's files carry a data-contract namespace; match on local names only.
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local_name(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in element if _local_name(child.tag) == name), None)


def certificate_valid_to(management_cert: str) -> dt.datetime | None:
    """The not-after time of the certificate in ``ManagementCert`` (PKCS#12 without a password, or DER)."""
    if x509 is None or pkcs12 is None:
        return None
    try:
        der = base64.b64decode(management_cert, validate=False)
    except (binascii.Error, ValueError):
        raise VaultCredentialsError("ManagementCert is not base64") from None
    certificate = None
    try:
        certificate = pkcs12.load_key_and_certificates(der, None)[1]
    except ValueError:
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            raise VaultCredentialsError("ManagementCert holds neither a PKCS#12 bundle nor a DER certificate") from None
    if certificate is None:
        raise VaultCredentialsError("ManagementCert's PKCS#12 bundle holds no certificate")
    return certificate.not_valid_after_utc


def parse_vault_credentials(content: str) -> VaultCredentials:
    """Parse the file's content; raises VaultCredentialsError naming what is wrong (never quoting the content)."""
    if len(content) > MAX_CREDENTIALS_CHARS:
        raise VaultCredentialsError(f"is {len(content)} characters long; a vault credentials file is a few kilobytes")
    try:
        root = ET.fromstring(content.lstrip("\ufeff").strip())
    except ET.ParseError as error:
        raise VaultCredentialsError(f"is not XML ({error.msg if hasattr(error, 'msg') else 'parse error'}); give the content of the .VaultCredentials file "
                                    "downloaded from the vault") from None
    if _local_name(root.tag) != ROOT_ELEMENT:
        raise VaultCredentialsError(f"has the root element {_local_name(root.tag)!r}, not {ROOT_ELEMENT!r}; give a Hyper-V host registration key "
                                    "(.VaultCredentials) file")
    details = _child(root, "VaultDetails")
    if details is None:
        raise VaultCredentialsError("has no VaultDetails element")
    fields = {name: _child_text(details, name) for name in ("SubscriptionId", "ResourceGroup", "ResourceName", "Location")}
    missing = [name for name in ("SubscriptionId", "ResourceGroup", "ResourceName") if not fields[name]]
    if missing:
        raise VaultCredentialsError(f"has no {', '.join(missing)} in VaultDetails")
    management_cert = _child_text(root, "ManagementCert")
    if not management_cert:
        raise VaultCredentialsError("has no ManagementCert")
    if not _child_text(root, "SiteId"):
        # A Hyper-V host registers to a site: the key of a vault without a site (a backup agent's) cannot register it.
        raise VaultCredentialsError("has no SiteId, so it is not the registration key of a Hyper-V site; download the key of the "
                                    "vault's Hyper-V site (azmigrate.hyperv.registration_key)")
    return VaultCredentials(
        subscription_id=fields["SubscriptionId"],
        resource_group=fields["ResourceGroup"],
        vault_name=fields["ResourceName"],
        location=fields["Location"],
        site_name=_child_text(root, "SiteName"),
        site_id=_child_text(root, "SiteId"),
        valid_to=certificate_valid_to(management_cert),
        content=content,
    )
