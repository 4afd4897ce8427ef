#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: log_storage_account
short_description: Check or create the log (cache) storage account that managed-disk replication needs
version_added: 0.1.0
description:
  - Replicating Hyper-V VMs to managed disks needs a log storage account in the target region, where Site Recovery
    writes the replicated data before it applies it to the replica disks (the portal and Azure Migrate create one per
    target region). This module returns its id, for the C(log_storage_account_id) option of
    M(azmigrate.hyperv.replication).
  - An existing account is checked, not changed - it must be in O(location), of kind C(StorageV2) or C(Storage), with
    a standard SKU - and the task fails naming what does not fit.
  - A missing account is created the way the portal creates Site Recovery's cache account (kind C(StorageV2), minimum
    TLS 1.2, HTTPS only, no public blob access), unless O(create=false), which makes a missing account an error.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  resource_group:
    description: Resource group of the storage account. It must exist.
    type: str
    required: true
  name:
    description: Name of the storage account, 3 to 24 lower-case letters and digits, unique in Azure.
    type: str
    required: true
  location:
    description: The target region of the replication (where the VMs will run), as in C(westeurope).
    type: str
    required: true
  sku:
    description: Redundancy of a new account.
    type: str
    choices: [Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS]
    default: Standard_LRS
  tags:
    description: Tags of a new account.
    type: dict
  create:
    description: Create the account when it is missing; with V(false) a missing account fails the task.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the account's creation.
    type: int
    default: 300
requirements:
  - azure-mgmt-storage >= 21.2.1
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
attributes:
  check_mode:
    description: Checks an existing account; reports that a missing one would be created, and creates nothing.
    support: full
  diff_mode:
    description: Shows the account before and after.
    support: full
notes:
  - The kinds and SKUs accepted follow Site Recovery's support matrix for cache storage (standard general-purpose
    accounts; premium and blob-only accounts are not supported). That C(Standard_ZRS) is accepted as cache storage for
    Hyper-V to Azure is an assumption.
seealso:
  - module: azmigrate.hyperv.replication
"""

EXAMPLES = r"""
- name: Make sure the target region has a log storage account
  azmigrate.hyperv.log_storage_account:
    resource_group: migrate-rg
    name: migratelogwesteurope
    location: westeurope
  register: log_storage

- name: Replicate to managed disks through it
  azmigrate.hyperv.replication:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    target_resource_group: rg-migrated
    log_storage_account_id: "{{ log_storage.id }}"
"""

RETURN = r"""
id:
  description: The account's resource id, for C(log_storage_account_id); V(null) in check mode when it would be created.
  returned: success
  type: str
  sample: /subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/migrate-rg/providers/Microsoft.Storage/storageAccounts/migratelogwesteurope
account:
  description: The account after the task (as it would be, in check mode).
  returned: success
  type: dict
  sample:
    name: migratelogwesteurope
    location: westeurope
    kind: StorageV2
    sku: Standard_LRS
    minimum_tls_version: TLS1_2
    allow_blob_public_access: false
"""

import re


from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import log_storage_body
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import LOG_STORAGE_SKUS
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.setup import (
    log_storage_problems,
    normalize_account,
    normalize_location,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import rest_dict
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import (
    azure_operation,
    AZURE_SDK_ERRORS,
    AzureModuleError,
    is_not_found,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule

ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


@azure_operation("get storage account '{name}' in resource group '{resource_group}'")
def get_account(client, resource_group, name):
    try:
        return rest_dict(client.storage_accounts.get_properties(resource_group, name))
    except AZURE_SDK_ERRORS as exc:
        if is_not_found(exc):
            return None
        raise


@azure_operation("check that storage account name '{name}' is free")
def name_problem(client, name):
    answer = rest_dict(client.storage_accounts.check_name_availability({"name": name,
                                                                        "type": "Microsoft.Storage/storageAccounts"}))
    return None if answer.get("nameAvailable") else (answer.get("message") or answer.get("reason") or "taken")


@azure_operation("create storage account '{name}' in resource group '{resource_group}'")
def create_account(client, resource_group, name, body, timeout):
    return rest_dict(client.storage_accounts.begin_create(resource_group, name, body).result(timeout=timeout))


def main():
    module = AzureModule(
        vault=False,
        argument_spec=dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str", required=True),
            sku=dict(type="str", choices=list(LOG_STORAGE_SKUS), default="Standard_LRS"),
            tags=dict(type="dict"),
            create=dict(type="bool", default=True),
            timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    params = module.params
    name, resource_group = params["name"], params["resource_group"]
    problems = []
    if not ACCOUNT_NAME.match(name):
        problems.append("name is %r; it must be 3 to 24 lower-case letters and digits" % name)
    if params["timeout"] < 1:
        problems.append("timeout is %s; it must be at least 1" % params["timeout"])
    if not re.match(r"^[A-Za-z0-9 ]+$", params["location"] or "") or not params["location"].strip():
        problems.append("location is %r; it must be an Azure region name such as eastus or 'East US'" % params["location"])
    module.fail_invalid(problems)
    location = normalize_location(params["location"])
    session = module.session("azure-mgmt-storage")
    client = session.storage()
    try:
        account = get_account(client, resource_group, name)
        if account is not None:
            problems = log_storage_problems(account, location)
            if problems:
                module.fail_json(msg="Storage account %r cannot be the log storage account of replication to %s: %s."
                                     % (name, location, "; ".join(problems)), account=normalize_account(account))
            current = normalize_account(account)
            module.exit_json(changed=False, id=account["id"], account=current, diff={"before": current, "after": current})
        if not params["create"]:
            module.fail_json(msg="Storage account %r does not exist in resource group %r (create is false)."
                                 % (name, resource_group))
        taken = name_problem(client, name)
        if taken:
            module.fail_json(msg="Invalid options: name %r cannot be used for a new storage account: %s" % (name, taken))
        body = log_storage_body(location, params["sku"], params["tags"])
        planned = {"id": None, "name": name, "location": location, "kind": body["kind"], "sku": params["sku"],
                   "minimum_tls_version": "TLS1_2", "allow_blob_public_access": False}
        if module.check_mode:
            module.exit_json(changed=True, id=None, account=planned, diff={"before": {}, "after": planned})
        created = create_account(client, resource_group, name, body, params["timeout"])
        account = get_account(client, resource_group, name) or created
    except AzureModuleError as exc:
        module.fail_json(**exc.fail_kwargs())
    current = normalize_account(account)
    module.exit_json(changed=True, id=account["id"], account=current, diff={"before": {}, "after": current})


if __name__ == "__main__":
    main()
