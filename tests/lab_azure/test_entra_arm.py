"""Entra ID (discovery, client-credentials tokens, cloud metadata) and the ARM front door."""

from __future__ import annotations

import socket
import time

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError


def test_discovery_names_token_endpoint(lab):
    status, dummy, document = lab.raw("GET", f"/{lab.endpoints['tenant_id']}/v2.0/.well-known/openid-configuration",
                                      api_version=None, token=None, base=lab.endpoints["authority_url"])
    assert status == 200
    assert document["token_endpoint"] == f"{lab.endpoints['authority_url']}/{lab.endpoints['tenant_id']}/oauth2/v2.0/token"
    assert document["authorization_endpoint"].startswith("https://")


def test_token_lasts_at_least_an_hour(lab):
    token = lab.credential.get_token("https://management.azure.com/.default")
    assert token.expires_on - time.time() >= 3600


def test_wrong_secret_is_refused_as_entra_refuses_it(lab):
    credential = lab.make_credential(lab.endpoints["client_id"], "not-the-secret")
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token("https://management.azure.com/.default")


@pytest.mark.parametrize("api_version", ["1.0", "2022-09-01"])
def test_cloud_metadata_names_arm_authority_and_storage(lab, api_version):
    status, dummy, document = lab.raw("GET", "/metadata/endpoints", api_version=api_version, token=None)
    assert status == 200
    if api_version == "1.0":      # msrestazure get_cloud_from_metadata_endpoint reads these
        assert document["authentication"]["loginEndpoint"] == lab.endpoints["authority_url"] + "/"
        assert document["authentication"]["audiences"][0] == lab.endpoints["arm_url"] + "/"
        assert document["galleryEndpoint"] and document["graphEndpoint"]
    else:
        cloud = document[0]
        assert cloud["resourceManager"] == lab.endpoints["arm_url"] + "/"
        assert cloud["authentication"]["loginEndpoint"] == lab.endpoints["authority_url"] + "/"
        assert cloud["suffixes"]["storage"] == lab.endpoints["blob_endpoint"].removeprefix("https://")


def test_arm_wants_a_valid_token(lab):
    status, headers, body = lab.raw("GET", f"/subscriptions/{lab.sub}", token=None)
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    assert headers["www-authenticate"].startswith("Bearer authorization_uri=")
    status, dummy, body = lab.raw("GET", f"/subscriptions/{lab.sub}", token="a.b.c")
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken"


def test_arm_wants_an_api_version(lab):
    status, dummy, body = lab.raw("GET", f"/subscriptions/{lab.sub}/resourcegroups", api_version=None)
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"


def test_subscription_and_resource_groups(lab):
    status, dummy, subscriptions = lab.raw("GET", "/subscriptions", api_version="2022-12-01")
    assert status == 200 and subscriptions["value"][0]["subscriptionId"] == lab.sub
    status, dummy, group = lab.raw("PUT", f"/subscriptions/{lab.sub}/resourcegroups/rg-scratch", {"location": "eastus"},
                                   api_version="2021-04-01")
    assert status == 201 and group["id"] == f"/subscriptions/{lab.sub}/resourceGroups/rg-scratch"
    status, dummy, groups = lab.raw("GET", f"/subscriptions/{lab.sub}/resourcegroups", api_version="2021-04-01")
    assert "rg-scratch" in [g["name"] for g in groups["value"]]
    assert lab.raw("DELETE", f"/subscriptions/{lab.sub}/resourcegroups/rg-scratch", api_version="2021-04-01")[0] == 200
    status, dummy, body = lab.raw("GET", f"/subscriptions/{lab.sub}/resourcegroups/rg-scratch", api_version="2021-04-01")
    assert status == 404 and body["error"]["code"] == "ResourceGroupNotFound"


def test_unknown_resource_is_an_arm_404(lab):
    with pytest.raises(ResourceNotFoundError) as caught:
        lab.compute.disks.get(lab.endpoints["target_resource_group"], "no-such-disk")
    assert caught.value.error.code == "ResourceNotFound"


def test_vault_read_and_ids_casing(lab, site):
    status, dummy, vault = lab.raw("GET", f"/subscriptions/{lab.sub}/resourceGroups/{lab.rg}/providers/"
                                   f"Microsoft.RecoveryServices/vaults/{lab.vault}", api_version="2023-04-01")
    assert status == 200 and vault["id"].startswith("/subscriptions/")
    fabric = lab.asr.replication_fabrics.get(lab.rg, lab.vault, site.name)
    assert fabric.id.startswith("/Subscriptions/")        # ASR's casing (Azure/azure-sdk-for-go#2824)
    with pytest.raises(HttpResponseError) as caught:
        lab.asr.replication_fabrics.get(lab.rg, lab.vault, "no-such-site")
    assert caught.value.status_code == 404 and caught.value.error.code == "NotFound"


def test_loopback_guard_refuses_the_internet_at_once(lab):
    with pytest.raises(ConnectionRefusedError, match="loopback guard"):
        socket.getaddrinfo("login.microsoftonline.com", 443)
    from azure.identity import ClientSecretCredential
    credential = ClientSecretCredential(lab.endpoints["tenant_id"], lab.endpoints["client_id"],
                                        lab.endpoints["client_secret"], authority=lab.endpoints["authority_url"],
                                        connection_verify=lab.ca, retry_total=0)   # no disable_instance_discovery
    started = time.monotonic()
    with pytest.raises(ClientAuthenticationError, match="login.microsoftonline.com"):
        credential.get_token("https://management.azure.com/.default")
    assert time.monotonic() - started < 2
