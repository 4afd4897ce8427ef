"""installer_blob against the lab's Azure and its blob storage (Azurite): upload once, short-lived read-only URL."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from azure_lab import RESOURCE_GROUP, azure_lab, run_module, session  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.lab
ACCOUNT = "azmigratestaging"


@pytest.fixture(scope="module")
def storage_account(azure_lab):
    if not azure_lab.info["azure"].get("blob_endpoint"):
        pytest.skip("the lab runs without Azurite (npm ci --prefix lab)")
    poller = session(azure_lab).storage().storage_accounts.begin_create(
        RESOURCE_GROUP, ACCOUNT, {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}},
        polling_interval=1)
    return poller.result()


@pytest.fixture
def setup_file(tmp_path):
    path = tmp_path / "AzureSiteRecoveryProvider.exe"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


def args(path, **extra):
    return dict({"src": str(path), "resource_group": RESOURCE_GROUP, "storage_account": ACCOUNT, "sas_minutes": 30}, **extra)


def download(lab, url):
    return requests.get(url, verify=lab.ca_path, timeout=60)


def test_upload_once_and_download_with_the_sas(azure_lab, storage_account, setup_file, tmp_path):
    sha256 = hashlib.sha256(setup_file.read_bytes()).hexdigest()
    run = run_module(azure_lab, "installer_blob", args(setup_file), check=True, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert run.result["changed"] is True and run.result["uploaded"] is True
    assert download(azure_lab, run.result["sas_url"]).status_code == 404   # check mode uploaded nothing

    run = run_module(azure_lab, "installer_blob", args(setup_file), diff=True, tmp=tmp_path)
    assert run.rc == 0, run.output
    result = run.result
    assert result["changed"] is True and result["sha256"] == sha256 and result["size_bytes"] == 3 * 1024 * 1024 + 17
    assert result["url"].startswith("https://") and "sig=" not in result["url"]
    assert result["sas_url"].startswith(result["url"] + "?") and "sp=r" in result["sas_url"] and "spr=https" in result["sas_url"]
    assert result["diff"] == {"before": {"sha256": None}, "after": {"sha256": sha256}}
    got = download(azure_lab, result["sas_url"])
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha256
    # Without the SAS the blob is not readable; with it, it is read-only.
    assert download(azure_lab, result["url"]).status_code in (401, 403, 404)
    assert requests.put(result["sas_url"], data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, verify=azure_lab.ca_path,
                        timeout=60).status_code == 403

    again = run_module(azure_lab, "installer_blob", args(setup_file), tmp=tmp_path)
    assert again.rc == 0 and again.result["changed"] is False and again.result["uploaded"] is False
    assert again.result["sha256"] == sha256 and again.requests["by_route"].get(
        "POST /subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}/listKeys") == 1


def test_changed_file_is_uploaded_again(azure_lab, storage_account, setup_file, tmp_path):
    first = run_module(azure_lab, "installer_blob", args(setup_file, blob_name="provider-v2.exe"), tmp=tmp_path)
    setup_file.write_bytes(b"a newer provider")
    second = run_module(azure_lab, "installer_blob", args(setup_file, blob_name="provider-v2.exe"), tmp=tmp_path)
    assert first.result["changed"] and second.result["changed"]
    assert second.result["diff"]["before"]["sha256"] == first.result["sha256"] != second.result["sha256"]
    assert download(azure_lab, second.result["sas_url"]).content == b"a newer provider"


@pytest.mark.parametrize("change, words", [
    ({"src": "/nonexistent/AzureSiteRecoveryProvider.exe"}, "is not a readable file"),
    ({"container": "Bad_Name"}, "container 'Bad_Name' is not a valid name"),
    ({"sas_minutes": 0}, "sas_minutes is 0; it must be from 1 to 1440"),
    ({"blob_auth": "anonymous"}, "blob_auth"),
])
def test_bad_input_refused_before_any_request(azure_lab, setup_file, tmp_path, change, words):
    run = run_module(azure_lab, "installer_blob", dict(args(setup_file), **change), tmp=tmp_path)
    assert run.failed and words in run.result["msg"], run.output
    assert run.requests["total"] == 0
