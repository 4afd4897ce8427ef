"""vault_info against the lab's Azure: what a vault knows about its Hyper-V sites, hosts and policies."""

from __future__ import annotations

import pytest

from azure_lab import SCALE_HOSTS, SMALL_HOST, auth_defaults, azure, azure_lab, azure_vault, run_module  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.lab
VAULT_ARGS = {"resource_group": "rg-migrate", "vault_name": "vault-migrate"}


def test_sites_hosts_containers_policies_and_mappings(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "vault_info", VAULT_ARGS, tmp=tmp_path)
    assert run.rc == 0, run.output
    result = run.result
    assert result["changed"] is False
    assert sorted(site["name"] for site in result["sites"]) == ["site-a", "site-b"]
    hosts = {host["name"].split(".")[0]: host for host in result["hosts"]}
    assert sorted(hosts) == sorted(SCALE_HOSTS + (SMALL_HOST,))
    assert all(host["connection_status"] == "Connected" and host["last_heartbeat"] and host["provider_version"]
               for host in hosts.values())
    assert hosts["HVA01"]["site"] == "site-a" and hosts["HVA01"]["protected_item_count"] == 250
    assert {c["site"]: c["pairing_status"] for c in result["containers"]} == {"site-a": "Paired", "site-b": "NotPaired"}
    assert [(p["name"], p["replication_interval"], p["recovery_point_retention_hours"]) for p in result["policies"]
            if p["name"] == "pol-a"] == [("pol-a", 300, 4)]
    assert [(m["site"], m["policy"], m["state"]) for m in result["mappings"] if m["policy"] == "pol-a"] == [
        ("site-a", "pol-a", "Paired")]
    # Five vault-wide reads (plus the cloud metadata), whatever the number of VMs; nothing that changes.
    assert run.requests["total"] == 6 and run.mutations() == {}


def test_check_mode_reads_the_same(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "vault_info", VAULT_ARGS, check=True, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert len(run.result["hosts"]) == 5 and run.mutations() == {}


def test_disconnected_host(azure_lab, azure_vault, tmp_path):
    azure_lab.admin.post(f"/azure/providers/{SMALL_HOST}", {"connected": False})
    try:
        run = run_module(azure_lab, "vault_info", VAULT_ARGS, tmp=tmp_path)
    finally:
        azure_lab.admin.post(f"/azure/providers/{SMALL_HOST}", {"connected": True})
    host = next(h for h in run.result["hosts"] if h["name"].startswith(SMALL_HOST))
    assert host["connection_status"] == "NotConnected"
    assert host["health_errors"] and host["health_errors"][0]["code"] == "708"


def test_azure_collection_environment_variables_and_ca_bundle(azure_lab, azure_vault, tmp_path):
    """auth_source=env with azure.azcollection's variables; the CA through REQUESTS_CA_BUNDLE."""
    info = azure(azure_lab)
    env = {"AZURE_SUBSCRIPTION_ID": info["subscription_id"], "AZURE_CLIENT_ID": info["client_id"],
           "AZURE_SECRET": info["client_secret"], "AZURE_TENANT": info["tenant_id"],
           "AZURE_CLOUD_ENVIRONMENT": info["cloud_environment"], "AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
           "ANSIBLE_AZURE_AUTH_SOURCE": "env", "REQUESTS_CA_BUNDLE": azure_lab.ca_path}
    run = run_module(azure_lab, "vault_info", VAULT_ARGS, auth={}, env=env, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert len(run.result["sites"]) == 2


def test_credentials_file_profile(azure_lab, azure_vault, tmp_path):
    home = tmp_path / "home"
    (home / ".azure").mkdir(parents=True)
    options = auth_defaults(azure_lab)
    (home / ".azure" / "credentials").write_text("[lab]\n" + "".join(
        f"{key} = {value}\n" for key, value in options.items()))
    run = run_module(azure_lab, "vault_info", VAULT_ARGS, auth={"profile": "lab"}, env={"HOME": str(home)}, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert len(run.result["sites"]) == 2


@pytest.mark.parametrize("change, code, words", [
    ({"secret": "wrong"}, "AADSTS7000215", "Invalid client secret provided"),
    ({"ca_cert": None}, "TLSVerifyFailed", "ca_cert"),
    ({"cloud_environment": "AzureMoonCloud"}, None, "neither a cloud name nor a metadata URL"),
])
def test_bad_credentials_and_endpoints_fail_with_a_reason(azure_lab, azure_vault, tmp_path, change, code, words):
    auth = {key: value for key, value in dict(auth_defaults(azure_lab), **change).items() if value is not None}
    run = run_module(azure_lab, "vault_info", VAULT_ARGS, auth=auth, tmp=tmp_path)
    assert run.rc != 0 and run.failed
    assert words in run.result["msg"]
    if code:
        assert run.result["error"]["code"] == code
    assert azure(azure_lab)["client_secret"] not in run.output


def test_missing_vault(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "vault_info", {"resource_group": "rg-migrate", "vault_name": "no-such-vault"}, tmp=tmp_path)
    assert run.failed
    assert run.result["msg"].startswith("Failed to list the replication fabrics (Hyper-V sites) of vault 'no-such-vault' "
                                        "(ResourceNotFound)")
    assert run.result["error"]["status"] == 404
