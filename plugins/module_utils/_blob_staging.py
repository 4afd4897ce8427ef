# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Staging a file in Blob storage for the hosts to download.

The blob carries the file's SHA-256 in its metadata (key ``sha256``), so a second upload of the
same file is skipped; hosts get an HTTPS URL with a short-lived, read-only SAS and check the
SHA-256 after the download.

The API: ``valid_container_name(name)``, ``storage_account(client, rg, name)``,
``account_key(client, rg, name)``, ``blob_sha256(blob_client)``, ``ensure_container(container_client)``,
``upload_file(blob_client, path, sha256)``, ``read_only_sas(...)``. The SDK wrappers raise
``AzureModuleError``.
"""

import datetime
import re

from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import rest_dict
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import azure_operation

try:
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas
except ImportError:   # _azure_clients.AzureSession.from_module reports the missing SDK
    ResourceExistsError = ResourceNotFoundError = None


SHA256_METADATA_KEY = "sha256"


# Azure's container name rule: 3-63 lower-case letters, digits and single hyphens, starting and
# ending with a letter or digit.
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


# A SAS starts a little in the past, so a host whose clock runs behind can use it at once.
CLOCK_SKEW = datetime.timedelta(minutes=5)


def valid_container_name(name):
    return bool(_CONTAINER_NAME.match(name or ""))


@azure_operation("read storage account '{account_name}' in resource group '{resource_group}'")
def storage_account(client, resource_group, account_name):
    """The account as REST JSON; ``properties.primaryEndpoints.blob`` is its blob endpoint."""
    return rest_dict(client.storage_accounts.get_properties(resource_group, account_name))


@azure_operation("list the keys of storage account '{account_name}'")
def account_key(client, resource_group, account_name):
    keys = rest_dict(client.storage_accounts.list_keys(resource_group, account_name)).get("keys") or []
    return keys[0]["value"] if keys else None


@azure_operation("read the properties of blob '{blob_client.blob_name}'")
def blob_sha256(blob_client):
    """The SHA-256 recorded in the blob's metadata; None when the blob (or its container) does not exist."""
    try:
        properties = blob_client.get_blob_properties()
    except ResourceNotFoundError:
        return None
    return (properties.metadata or {}).get(SHA256_METADATA_KEY, "")


@azure_operation("create blob container '{container_client.container_name}'")
def ensure_container(container_client):
    """Create the container unless it exists; True when it was created."""
    try:
        container_client.create_container()
    except ResourceExistsError:
        return False
    return True


@azure_operation("upload blob '{blob_client.blob_name}'")
def upload_file(blob_client, path, sha256):
    with open(path, "rb") as stream:
        blob_client.upload_blob(stream, overwrite=True, metadata={SHA256_METADATA_KEY: sha256}, max_concurrency=4)


@azure_operation("sign a read-only SAS for blob '{blob_name}'")
def read_only_sas(service_client, account_name, container_name, blob_name, minutes, key=None, now=None):
    """(SAS token, expiry) for reading one blob over HTTPS for ``minutes``; signed with the account
    ``key``, or with a user delegation key from Entra ID when ``key`` is None."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    start, expiry = now - CLOCK_SKEW, now + datetime.timedelta(minutes=minutes)
    signing = dict(account_key=key)
    if key is None:
        signing = dict(user_delegation_key=service_client.get_user_delegation_key(start, expiry))
    token = generate_blob_sas(account_name, container_name, blob_name, permission=BlobSasPermissions(read=True),
                              start=start, expiry=expiry, protocol="https", **signing)
    return token, expiry
