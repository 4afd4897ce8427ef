#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: registration_key
short_description: Write a Hyper-V site's registration key (vault credentials file) on the controller
version_added: 0.1.0
description:
  - Asks a Recovery Services vault for a new management certificate and writes the registration key of one of its
    Hyper-V sites to O(dest), the vault credentials file (C(.VaultCredentials)) the Site Recovery provider's
    registration reads, what the portal's "Download" button of the registration key gives.
  - Keeps the key already at O(dest) when it is for the same vault and site and stays valid for O(renew_margin_hours)
    more, unless O(force); a second run then reports no change.
  - The file holds a secret (the certificate's private key). It is written with mode C(0600) and its content is never
    returned. Pass it to M(azmigrate.hyperv.replication_provider) with C(vault_credentials_src) or
    C(vault_credentials_content).
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  site:
    description: Name of the Hyper-V site the hosts will register to (see M(azmigrate.hyperv.hyperv_site)).
    type: str
    required: true
  dest:
    description: Path on the controller to write the file to. Its directory must exist.
    type: path
    required: true
  validity_hours:
    description:
      - How long the new key is valid, in hours, from 1 to 240. The portal's key is valid for 5 days (120 hours).
    type: int
    default: 120
  renew_margin_hours:
    description:
      - An existing key at O(dest) that expires within this many hours is replaced.
    type: int
    default: 24
  force:
    description: Write a new key even when the one at O(dest) is still good.
    type: bool
    default: false
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
attributes:
  check_mode:
    description: Reads the existing key and the site, reports whether a new key would be written, and writes nothing.
    support: full
  diff_mode:
    description: Shows the key's vault, site and expiry before and after; never its content.
    support: full
notes:
  - >-
    The certificate is requested with C(PUT vaults/{vault}/certificates/CN=CB_{vault}-{d-MM-yyyy}-vaultcredentials) and
    the body C({"certificateCreateOptions": {"validityInHours": n}}) at the top level, as Terraform's
    C(azurerm_recovery_services_vault_hyperv_host_registration_key) data source sends it. The documented
    C(CertificateRequest) body uploads a certificate instead; a body nesting C(certificateCreateOptions) under
    C(properties) gets no certificate.
  - The file's XML (C(RSVaultAsrCreds) with C(VaultDetails), C(ManagementCert), C(AadDetails), C(SiteId), C(SiteName))
    follows the file Terraform writes; that the provider accepts every field as written there is taken from Terraform's
    use, not from a Microsoft specification.
  - Reading an existing key's expiry needs the Python C(cryptography) package (installed with C(azure-identity));
    without it an existing key is always replaced.
seealso:
  - module: azmigrate.hyperv.hyperv_site
  - module: azmigrate.hyperv.replication_provider
"""

EXAMPLES = r"""
- name: Write the site's registration key
  azmigrate.hyperv.registration_key:
    resource_group: migrate-rg
    vault_name: migrate-vault
    site: hyperv-site
    dest: "{{ playbook_dir }}/hyperv-site.VaultCredentials"
  delegate_to: localhost
  run_once: true

- name: Register every host with it
  azmigrate.hyperv.replication_provider:
    vault_credentials_src: "{{ playbook_dir }}/hyperv-site.VaultCredentials"
"""

RETURN = r"""
dest:
  description: Where the key is.
  returned: success
  type: str
  sample: /home/ansible/hyperv-site.VaultCredentials
vault_name:
  description: The vault the key registers hosts to.
  returned: success
  type: str
  sample: migrate-vault
site:
  description: The site the key registers hosts to.
  returned: success
  type: str
  sample: hyperv-site
certificate_name:
  description: The vault certificate the key holds (when the task made a new one), else V(null).
  returned: success
  type: str
  sample: CN=CB_migrate-vault-6-12-2026-vaultcredentials
valid_to:
  description: When the key expires (ISO 8601, UTC); V(null) in check mode when a new key would be written.
  returned: success
  type: str
  sample: "2026-12-11T09:30:00+00:00"
reason:
  description: Why a new key was (or would be) written, or why the existing one was kept.
  returned: success
  type: str
  sample: no key at dest
"""

import datetime
import os
import tempfile


from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.setup import (
    certificate_name,
    read_registration_key,
    registration_key_xml,
    reusable_key_problems,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import is_hyperv_site
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import name_problem

MAX_VALIDITY_HOURS = 240


def read_existing(path):
    if not os.path.isfile(path):
        return None, "no key at dest"
    with open(path, "rb") as handle:
        return read_registration_key(handle.read().decode("utf-8", "replace")), None


def write_secret(path, content):
    """Write ``content`` to ``path`` with mode 0600, replacing the file in one step."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".registration-key-")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, content.encode("utf-8"))
        os.close(handle)
        os.rename(temporary, path)
    except OSError:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def describe(key, vault_name=None, site=None):
    if key is None:
        return None
    return {"vault": key.get("vault_name") or vault_name, "site": key.get("site_name") or site,
            "valid_to": key["valid_to"].isoformat() if key.get("valid_to") else None}


def main():
    module = AzureModule(
        argument_spec=dict(
            site=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            validity_hours=dict(type="int", default=120),
            renew_margin_hours=dict(type="int", default=24),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = []
    if not 1 <= params["validity_hours"] <= MAX_VALIDITY_HOURS:
        problems.append("validity_hours is %s; it must be a whole number from 1 to %d"
                        % (params["validity_hours"], MAX_VALIDITY_HOURS))
    if params["renew_margin_hours"] < 0 or params["renew_margin_hours"] >= params["validity_hours"]:
        problems.append("renew_margin_hours is %s; it must be from 0 to less than validity_hours (%s)"
                        % (params["renew_margin_hours"], params["validity_hours"]))
    if not os.path.isdir(os.path.dirname(os.path.abspath(params["dest"]))):
        problems.append("dest is %s; its directory does not exist" % params["dest"])
    site_problem = name_problem("site", params["site"], "site")
    if site_problem:
        problems.append(site_problem)
    module.fail_invalid(problems)

    session = module.session("azure-mgmt-recoveryservicessiterecovery")
    client = session.site_recovery()
    resource_group, vault_name, site = params["resource_group"], params["vault_name"], params["site"]
    try:
        vault = asr_api.get_vault(client, session.subscription_id, resource_group, vault_name)
        if vault is None:
            module.fail_json(msg="Invalid options: vault_name %r: no Recovery Services vault of that name in resource "
                                 "group %r." % (vault_name, resource_group))
        fabric = asr_api.get_fabric(client, resource_group, vault_name, fabric_name=site)
        if fabric is None or not is_hyperv_site(fabric):
            module.fail_json(msg="Invalid options: site %r is not a Hyper-V site of vault %r; create it first "
                                 "(azmigrate.hyperv.hyperv_site)." % (site, vault_name))
        site = fabric["name"]   # the site the key registers hosts to, as the vault names it
        existing, reason = read_existing(params["dest"])
        now = datetime.datetime.now(datetime.timezone.utc)
        if reason is None:
            problems = reusable_key_problems(existing, vault, fabric, now, params["renew_margin_hours"])
            reason = "forced" if params["force"] else (
                "the key at dest cannot be kept: %s" % "; ".join(problems) if problems else None)
        before = describe(existing)
        if reason is None:
            module.exit_json(changed=False, dest=params["dest"], vault_name=vault_name, site=site, certificate_name=None,
                             valid_to=before["valid_to"], reason="the key at dest is for this vault and site and valid "
                             "until %s" % before["valid_to"], diff={"before": before, "after": before})
        name = certificate_name(vault_name, now)
        after = {"vault": vault_name, "site": site, "valid_to": None}
        if not module.check_mode:
            certificate = asr_api.create_vault_certificate(client, session.subscription_id, resource_group,
                                                           vault_name, name, params["validity_hours"])
            write_secret(params["dest"], registration_key_xml(vault, certificate, fabric))
            after["valid_to"] = describe(read_existing(params["dest"])[0])["valid_to"] or \
                (certificate.get("properties") or {}).get("validTo")
    except AzureModuleError as exc:
        module.fail_json(**exc.fail_kwargs())
    except OSError as exc:
        module.fail_json(msg="Failed to write the registration key to %s: %s" % (params["dest"], exc))
    module.exit_json(changed=True, dest=params["dest"], vault_name=vault_name, site=site, certificate_name=name,
                     valid_to=after["valid_to"], reason=reason, diff={"before": before or {}, "after": after})


if __name__ == "__main__":
    main()
