"""Host registrations with a vault: what DRConfigurator /r checks in a vault credentials file, and the
registrations the world records (`world.provider_registrations`, by lower-cased host name).

- `check()` is what DRConfigurator /r checks (lab/hosts/installers.py): a readable file whose key has not
  expired and, when the world has an Azure side, whose vault and Hyper-V site exist there and whose
  certificate that vault issued. The admin API's POST /azure/credentials/check calls it too.
- A successful /r is recorded with `record_registration()`; the Azure side reads the records to know which
  hosts a site has (lab/azure/discovery.py).

The file format is lab/vault_credentials.py's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from lab.vault_credentials import CredentialsRejected, ProviderRegistration, VaultCredentials, parse

if TYPE_CHECKING:
    from lab.azure.state import AzureCloud

Registrations = dict[str, ProviderRegistration]     # by lower-cased host name


def _resolve(azure: AzureCloud, credentials: VaultCredentials) -> VaultCredentials:
    """The vault and Hyper-V site the file names, as the lab's Azure side holds them."""
    vault = None
    if credentials.subscription_id.lower() == azure.subscription_id.lower():
        vault = azure.vault(credentials.resource_group, credentials.vault_name)
    if vault is None:
        raise CredentialsRejected(f"The vault '{credentials.vault_name}' named in the vault credentials file does not exist.",
                                  credentials)
    fabric = next((f for f in vault.fabrics.values() if f.internal_id.lower() == credentials.site_id.lower()), None)
    if fabric is None:
        raise CredentialsRejected(f"The Hyper-V site '{credentials.site_name}' named in the vault credentials file does not "
                                  "exist in the vault.", credentials)
    resolved = dataclasses.replace(credentials, vault_location=vault.location, site_name=fabric.name)
    if credentials.thumbprint not in vault.certificates:
        raise CredentialsRejected("The management certificate in the vault credentials file was not issued by the vault.",
                                  resolved)
    return resolved


def check(content: str, now: dt.datetime, azure: AzureCloud | None = None) -> VaultCredentials:
    """What DRConfigurator /r checks before registering: a readable file whose key has not expired, and, when
    the lab has an Azure side (`world.azure`), a vault and site that exist there and a key that vault issued.
    """
    credentials = parse(content)
    if azure is not None:
        # The vault's word first: a file naming a vault or site that does not exist is refused as such, expired or not.
        credentials = _resolve(azure, credentials)
    if now >= credentials.valid_to:
        # A key file older than its validity is refused (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v). The
        # text is the one the Recovery Services agent gives for an expired key (Start-OBRegistration, recorded in
        # github.com/Azure/azure-powershell/issues/9533 and github.com/MicrosoftDocs/azure-docs/issues/44495); that
        # DRConfigurator, which registers through the same agent, words it alike is an assumption (lab/FIDELITY.md).
        raise CredentialsRejected("Vault credentials file provided has expired. We recommend you download a new vault credentials file "
                                  "from the portal and use it within 2 days.", credentials)
    return credentials


# --- registrations in the world -------------------------------------------------------------------

def record_registration(registrations: Registrations, registration: ProviderRegistration) -> None:
    registrations[registration.host.lower()] = registration


def remove_registration(registrations: Registrations, host_name: str) -> ProviderRegistration | None:
    return registrations.pop(host_name.lower(), None)


def providers_of_site(registrations: Registrations, subscription_id: str, resource_group: str, vault_name: str,
                      site_name: str) -> list[ProviderRegistration]:
    """The hosts recorded as registered to the vault's Hyper-V site."""
    def same(left: str, right: str) -> bool:
        return left.lower() == right.lower()
    return [registration for registration in registrations.values()
            if same(registration.subscription_id, subscription_id) and same(registration.resource_group, resource_group)
            and same(registration.vault_name, vault_name) and same(registration.site_name, site_name)]
