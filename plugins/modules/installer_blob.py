#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: installer_blob
short_description: Stage the provider setup file in Blob storage and give hosts a short-lived download URL
version_added: 0.1.0
description:
  - Uploads a file from the controller (the Azure Site Recovery provider setup file) to a blob container once;
    the upload is skipped when the blob's SHA-256 metadata already matches the file.
  - Returns an HTTPS URL with a read-only shared access signature (SAS) that expires after O(sas_minutes), and
    the file's SHA-256, so that each Hyper-V host downloads the file itself and checks it, instead of the file
    being copied over WinRM.
  - The container is created when it does not exist.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  src:
    description: Path of the file on the machine running the task.
    type: path
    required: true
  resource_group:
    description: Resource group of the storage account.
    type: str
    required: true
  storage_account:
    description: Name of the storage account.
    type: str
    required: true
  container:
    description: Blob container (3-63 lower-case letters, digits and single hyphens).
    type: str
    default: azmigrate-installers
  blob_name:
    description: Name of the blob; by default the file's name.
    type: str
  sas_minutes:
    description: How long the download URL stays valid, in minutes (1 to 1440).
    type: int
    default: 240
  blob_auth:
    description:
      - V(key) uses the account's key (read through Azure Resource Manager, which needs permission to list the
        keys) to upload and to sign the SAS.
      - V(login) uses the task's Entra ID credential for the upload and a user delegation key for the SAS; it
        needs a Storage Blob Data role on the account and works where shared key access is disabled.
    type: str
    choices: [key, login]
    default: key
requirements:
  - azure-mgmt-storage >= 21.2.1
  - azure-storage-blob >= 12.19.0
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.azure_auth.action_group
attributes:
  check_mode:
    description: Reports whether the file would be uploaded, and uploads nothing; the URL is still returned.
    support: full
  diff_mode:
    description: Shows the blob's SHA-256 before and after.
    support: full
  platform:
    description: Runs where the task runs (the controller), which must hold O(src).
    platforms: posix
    support: full
notes:
  - "RV(sas_url) is a credential - anyone holding it can read the blob until RV(expires_on). Give the task
    C(no_log: true) when its result may be displayed (any C(-v)), and pass the URL to the hosts only as a
    module option, never on a command line."
"""

EXAMPLES = r"""
- name: Stage the provider setup file once for every host
  azmigrate.hyperv.installer_blob:
    src: files/AzureSiteRecoveryProvider.exe
    resource_group: migrate-rg
    storage_account: migratestaging01
    sas_minutes: 120
  delegate_to: localhost
  run_once: true
  no_log: true
  register: installer

- name: The URL and checksum for the hosts
  ansible.builtin.set_fact:
    provider_setup_url: "{{ installer.sas_url }}"
    provider_setup_sha256: "{{ installer.sha256 }}"
  no_log: true
"""

RETURN = r"""
url:
  description: HTTPS URL of the blob, without a SAS (safe to display).
  returned: success
  type: str
  sample: https://migratestaging01.blob.core.windows.net/azmigrate-installers/AzureSiteRecoveryProvider.exe
sas_url:
  description:
    - RV(url) with a read-only SAS valid until RV(expires_on), HTTPS only.
    - A credential; see the notes.
  returned: success
  type: str
  sample: "https://migratestaging01.blob.core.windows.net/azmigrate-installers/AzureSiteRecoveryProvider.exe\
    ?sv=2025-11-05&st=...&se=...&sr=b&sp=r&spr=https&sig=..."
expires_on:
  description: When the SAS expires (UTC, ISO 8601).
  returned: success
  type: str
  sample: "2025-01-06T14:41:00+00:00"
sha256:
  description: SHA-256 of the file, lower-case hex, which the hosts check after the download.
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
size_bytes:
  description: Size of the file.
  returned: success
  type: int
  sample: 88413184
uploaded:
  description: Whether the file was uploaded (or, in check mode, would be).
  returned: success
  type: bool
  sample: false
"""

import os


from ansible_collections.azmigrate.hyperv.plugins.module_utils._files import file_sha256
from ansible_collections.azmigrate.hyperv.plugins.module_utils import _blob_staging as blob_staging
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import name_problem

MAX_SAS_MINUTES = 24 * 60


def validate(params):
    """Messages for bad options, found before any request."""
    problems = []
    if not os.path.isfile(params["src"]) or not os.access(params["src"], os.R_OK):
        problems.append("src %r is not a readable file" % params["src"])
    if not blob_staging.valid_container_name(params["container"]):
        problems.append("container %r is not a valid name (3-63 lower-case letters, digits and single hyphens)"
                        % params["container"])
    account = name_problem("storage_account", params["storage_account"], "storage_account")
    if account:
        problems.append(account)
    if not 1 <= params["sas_minutes"] <= MAX_SAS_MINUTES:
        problems.append("sas_minutes is %s; it must be from 1 to %d" % (params["sas_minutes"], MAX_SAS_MINUTES))
    if not 1 <= len(params["blob_name"]) <= 1024:
        problems.append("blob_name must be 1 to 1024 characters long")
    return problems


def stage(session, params, sha256, check_mode):
    """Read the blob's SHA-256, upload unless it matches, sign the SAS; returns (uploaded, before, url, sas, expiry)."""
    rg, account, storage = params["resource_group"], params["storage_account"], session.storage()
    endpoint = (blob_staging.storage_account(storage, rg, account).get("properties") or {}).get("primaryEndpoints", {}).get("blob")
    if not endpoint:
        raise AzureModuleError("read storage account '%s'" % account, "the account has no blob endpoint",
                               recommended_action="Use a general-purpose v2 or BlobStorage account.")
    key = blob_staging.account_key(storage, rg, account) if params["blob_auth"] == "key" else None
    service = session.blob_service(endpoint, credential=key)
    blob = service.get_blob_client(params["container"], params["blob_name"])
    before = blob_staging.blob_sha256(blob)
    upload = before != sha256
    if upload and not check_mode:
        blob_staging.ensure_container(service.get_container_client(params["container"]))
        blob_staging.upload_file(blob, params["src"], sha256)
    token, expiry = blob_staging.read_only_sas(service, account, params["container"], params["blob_name"],
                                               params["sas_minutes"], key=key)
    return upload, before, blob.url, "%s?%s" % (blob.url, token), expiry


def main():
    module = AzureModule(
        vault=False,
        argument_spec=dict(
            src=dict(type="path", required=True),
            resource_group=dict(type="str", required=True),
            storage_account=dict(type="str", required=True),
            container=dict(type="str", default="azmigrate-installers"),
            blob_name=dict(type="str"),
            sas_minutes=dict(type="int", default=240),
            blob_auth=dict(type="str", choices=["key", "login"], default="key"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    params["blob_name"] = params["blob_name"] or os.path.basename(params["src"])
    problems = validate(params)
    module.fail_invalid(problems)
    session = module.session("azure-mgmt-storage", "azure-storage-blob")
    sha256 = file_sha256(params["src"])
    try:
        uploaded, before, url, sas_url, expiry = stage(session, params, sha256, module.check_mode)
    except AzureModuleError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(changed=uploaded, uploaded=uploaded, url=url, sas_url=sas_url, expires_on=expiry.isoformat(),
                     sha256=sha256, size_bytes=os.path.getsize(params["src"]),
                     diff={"before": {"sha256": before}, "after": {"sha256": sha256}})


if __name__ == "__main__":
    main()
