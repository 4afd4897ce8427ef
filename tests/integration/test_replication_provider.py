"""azmigrate.hyperv.replication_provider on the lab, through ansible-playbook and the real winrm connection.

The lab's command log proves what ran on each host: one read on a no-change run, no apply (nor any file
copy) when an input is refused, and never a secret.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import json
from pathlib import Path

import pytest

from provider_lab import (  # noqa: F401  pylint: disable=unused-import
    AGENT_VERSION, PROVIDER_VERSION, commands_since, credentials, fresh, publish_setup_file, put_setup_file, setup_bytes, setup_file,
    vault_credentials,
)

pytestmark = pytest.mark.lab

PLAYBOOK = "tests/integration/playbooks/replication_provider.yml"
TASK = "Ensure the replication provider"
HOST = "HV01"
PROVIDER_KEY = r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery"
SETUP_PATH = r"C:\Installers\AzureSiteRecoveryProvider.exe"


def url_vars(setup_file: dict, credentials: str, **extra) -> dict:
    return {"target": HOST, "setup_file_url": setup_file["url"], "setup_file_sha256": setup_file["sha256"],
            "vault_credentials_content": credentials, **extra}


def provider_commands(entries: list[dict]) -> list[str]:
    """Names of the commands a run sent to the host, in order."""
    return [entry["name"] if entry["kind"] == "host_script" else entry["kind"] for entry in entries]


def run_provider(ansible_playbook, variables: dict, **kwargs):
    run = ansible_playbook(PLAYBOOK, extra_vars=variables, **kwargs)
    return run, run.result(variables["target"], TASK)


def test_fresh_host_is_installed_and_registered_then_a_rerun_is_one_command(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials), diff=True)
    assert run.rc == 0, run.output
    assert result["changed"] is True
    assert result["steps"] == ["download", "install", "register"]
    # Read, then one apply that prints the registration it leaves: no second read.
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1", "replication_provider_apply/1"]
    assert (result["provider_version"], result["agent_version"]) == (PROVIDER_VERSION, AGENT_VERSION)
    assert result["registration"]["vault_name"] == "rsv-migrate"
    assert result["diff"]["before"]["provider_version"] is None
    assert result["diff"]["after"]["registration"]["site_name"] == "hyperv-site"

    host = lab.admin.host(HOST)
    assert host["provider_version"] == PROVIDER_VERSION
    assert host["services"]["dra"]["status"] == "Running" and host["services"]["obengine"]["status"] == "Running"
    assert host["registry"][r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery\Registration"]["ResourceName"] == "rsv-migrate"
    assert not [path for path in host["files"] if "VaultCredentials" in path], "the key file must not stay on the host"
    registrations = {entry["host"]: entry for entry in lab.admin.get("/provider-registrations")}
    assert registrations[HOST]["site_name"] == "hyperv-site"

    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0 and result["changed"] is False and result["steps"] == []
    assert run.stats[HOST]["changed"] == 0
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]


def test_check_mode_reports_the_steps_and_changes_nothing(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    before = lab.admin.host(HOST)
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials), check=True, diff=True)
    assert run.rc == 0, run.output
    assert result["changed"] is True and result["steps"] == ["download", "install", "register"]
    assert result["diff"]["after"]["registration"]["vault_name"] == "rsv-migrate"
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]
    after = lab.admin.host(HOST)
    assert (after["registry"], after["services"], after["files"]) == (before["registry"], before["services"], before["files"])


def test_setup_file_on_the_host_and_an_upgrade_never_a_downgrade(fresh, ansible_playbook, credentials):
    lab = fresh
    old = publish_setup_file(lab.admin, provider_version="5.1.8095.0", agent_version="2.0.9260.0", name="old.exe")
    put_setup_file(lab.admin, HOST, SETUP_PATH, old)
    run, result = run_provider(ansible_playbook, {"target": HOST, "setup_file_path": SETUP_PATH, "vault_credentials_content": credentials})
    assert run.rc == 0, run.output
    assert result["steps"] == ["install", "register"] and result["provider_version"] == "5.1.8095.0"

    new = publish_setup_file(lab.admin, name="new.exe")
    put_setup_file(lab.admin, HOST, SETUP_PATH, new)
    run, result = run_provider(ansible_playbook, {"target": HOST, "setup_file_path": SETUP_PATH}, diff=True)
    assert run.rc == 0, run.output
    assert result["steps"] == ["upgrade"]
    assert result["diff"]["before"]["provider_version"] == "5.1.8095.0" and result["provider_version"] == PROVIDER_VERSION
    assert result["agent_version"] == AGENT_VERSION

    put_setup_file(lab.admin, HOST, SETUP_PATH, old)
    run, result = run_provider(ansible_playbook, {"target": HOST, "setup_file_path": SETUP_PATH})
    assert run.rc == 0 and result["changed"] is False
    assert any("not downgrading" in warning for warning in result["warnings"])
    assert lab.admin.host(HOST)["provider_version"] == PROVIDER_VERSION


def test_setup_file_pushed_from_the_controller_only_when_the_host_lacks_it(fresh, ansible_playbook, credentials, setup_file, tmp_path):
    lab = fresh
    local = tmp_path / "AzureSiteRecoveryProvider.exe"
    local.write_bytes(setup_bytes(setup_file))
    variables = {"target": HOST, "setup_file_src": str(local), "vault_credentials_content": credentials}
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, variables)
    assert run.rc == 0, run.output
    assert result["steps"] == ["push", "install", "register"]
    assert "put_file" in provider_commands(commands_since(lab.admin, HOST, since))

    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, variables)
    assert run.rc == 0 and result["changed"] is False
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]


def test_registered_elsewhere_fails_naming_both_vaults_unless_forced(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    other = vault_credentials(lab.admin, vault_name="rsv-other", site_name="site-other")
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, url_vars(setup_file, other))
    assert run.rc != 0
    assert "rsv-migrate" in result["msg"] and "rsv-other" in result["msg"] and "force_reregister" in result["msg"]
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]

    # The host cannot leave the old vault by itself: forcing needs the user's word that it was removed there.
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, url_vars(setup_file, other, force_reregister=True))
    assert run.rc != 0
    assert "Hyper-V Hosts" in result["msg"] and "replicationRecoveryServicesProviders/" in result["msg"], result["msg"]
    assert "removed_from_vault=true" in result["msg"]
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]

    lab.admin.delete(f"/provider-registrations/{HOST}")     # the portal's Delete of the host in the old vault
    run, result = run_provider(ansible_playbook, url_vars(setup_file, other, force_reregister=True, removed_from_vault=True))
    assert run.rc == 0, run.output
    assert result["steps"] == ["unregister", "register"] and result["registration"]["vault_name"] == "rsv-other"
    assert lab.admin.host(HOST)["registry"][r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery\Registration"]["ResourceName"] == "rsv-other"


def test_proxy_is_set_at_registration_and_changed_with_configure(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    proxy = {"proxy_address": "http://proxy.contoso.local", "proxy_port": 3128}
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, **proxy))
    assert run.rc == 0, run.output
    assert result["proxy"] == {"address": "http://proxy.contoso.local", "port": 3128, "username": None, "bypass_urls": []}
    # DRConfigurator sets the provider's proxy only: the agent's comes from Set-OBMachineSetting.
    assert lab.admin.host(HOST)["mars_settings"]["proxy"]["port"] == 3128
    changed = {**proxy, "proxy_port": 8080, "proxy_bypass_urls": ["*.contoso.local"]}
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, **changed), diff=True)
    assert run.rc == 0, run.output
    assert result["steps"] == ["configure_proxy"]
    assert result["diff"]["before"]["proxy"]["port"] == 3128 and result["diff"]["after"]["proxy"]["port"] == 8080
    host = lab.admin.host(HOST)
    settings = host["registry"][r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery\ProxySettings"]
    assert settings["ProxyPort"] == 8080 and settings["BypassUrls"] == "*.contoso.local"
    # The running provider uses the new proxy only after dra restarts; the agent got the same proxy.
    assert host["services"]["dra"]["loaded"]["proxy"]["ProxyPort"] == 8080
    assert host["mars_settings"]["proxy"] == {"enabled": True, "server": "http://proxy.contoso.local", "port": 8080, "username": None}
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, **changed))
    assert result["changed"] is False
    # /AddBypassUrls only adds: a bypass URL the task does not list stays, and the task converges with it there.
    lab.admin.patch(f"/hosts/{HOST}", {"registry": {PROVIDER_KEY + r"\ProxySettings": {"BypassUrls": "*.contoso.local;*.fabrikam.local"}}})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, **changed))
    assert run.rc == 0 and result["changed"] is False and result["steps"] == []
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, **{**changed, "proxy_bypass_urls": ["*.litware.local"]}))
    assert result["steps"] == ["configure_proxy"]
    bypass = lab.admin.host(HOST)["registry"][PROVIDER_KEY + r"\ProxySettings"]["BypassUrls"]
    assert bypass == "*.contoso.local;*.fabrikam.local;*.litware.local"


def test_absent_unregisters_then_uninstalls_provider_then_agent(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert lab.admin.host(HOST)["registry"][PROVIDER_KEY]["IdMgmtCloudContainerId"]
    # Registered: the host cannot remove itself from the vault, so absent refuses, naming the step, and changes nothing.
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, {"target": HOST, "provider_state": "absent"})
    assert run.rc != 0
    assert result["msg"].startswith("state=absent: the host is registered to vault rsv-migrate"), result["msg"]
    assert "Site Recovery Infrastructure > Hyper-V Hosts" in result["msg"] and "/remove?api-version=" in result["msg"]
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]
    # The local cleanup alone leaves the vault's record: the user removes the host there first.
    assert HOST in {entry["host"] for entry in lab.admin.get("/provider-registrations")}
    lab.admin.delete(f"/provider-registrations/{HOST}")

    since = lab.admin.last_seq()
    absent = {"target": HOST, "provider_state": "absent", "removed_from_vault": True}
    run, result = run_provider(ansible_playbook, absent, diff=True)
    assert run.rc == 0, run.output
    assert result["steps"] == ["unregister", "uninstall_provider", "uninstall_agent"]
    assert result["diff"]["after"] == {"provider_version": None, "agent_version": None, "registration": None, "proxy": None}
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1", "replication_provider_remove/1"]
    host = lab.admin.host(HOST)
    assert host["provider_version"] is None and host["agent_install_path"] is None
    assert "dra" not in host["services"] and "obengine" not in host["services"]
    assert not [c for c in host["certificates"] if c["friendly_name"].startswith("ASR_")]
    assert "IdMgmtCloudContainerId" not in host["registry"].get(PROVIDER_KEY, {}) and "DraID" not in host["registry"].get(PROVIDER_KEY, {})
    run, result = run_provider(ansible_playbook, absent)
    assert run.rc == 0 and result["changed"] is False


def test_secrets_never_reach_verbose_output_nor_the_lab_log(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    password = "Pr0xy-S3cret-7d1f"
    variables = url_vars(setup_file, credentials, proxy_address="http://proxy.contoso.local", proxy_port=3128,
                         proxy_username="svc-asr", proxy_password=password)
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, variables, verbosity=4)
    assert run.rc == 0, run.output
    sas_signature = setup_file["url"].rsplit("sig=", 1)[1]
    management_cert = credentials.split("ManagementCert>", 2)[1][:200]
    log_text = json.dumps(commands_since(lab.admin, HOST, since)) + Path(lab.info["command_log"]).read_text()
    for secret in (password, sas_signature, management_cert):
        assert secret not in run.output
        assert secret not in log_text
        assert secret not in json.dumps(result)
    apply_entries = [entry for entry in commands_since(lab.admin, HOST, since) if entry["name"] == "replication_provider_apply/1"]
    assert apply_entries and set(apply_entries[0]["secret_keys"]) == {"proxy_password", "setup_file_url", "vault_credentials"}


BLOB_ACCOUNT = "azmigratehostdownload"[:24]
BLOB_CONTAINER = "azmigrate-installers"


@pytest.fixture(scope="module")
def blob_setup_file(lab):
    """The lab's setup file staged as a blob in the lab's Azure Storage (Azurite), with a read-only HTTPS SAS, as
    installer_blob stages it: {url (with the SAS), sha256, unsigned, missing (a SAS URL of a blob that does not
    exist)}."""
    from datetime import datetime, timedelta, timezone

    from azure.core.credentials import AzureNamedKeyCredential
    from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

    from azure_lab import RESOURCE_GROUP, session

    if not lab.info["azure"].get("blob_endpoint"):
        pytest.skip("the lab runs without Azurite (npm ci --prefix lab)")
    storage = session(lab).storage()
    account = storage.storage_accounts.begin_create(RESOURCE_GROUP, BLOB_ACCOUNT, {
        "location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}, polling_interval=1).result()
    key = storage.storage_accounts.list_keys(RESOURCE_GROUP, BLOB_ACCOUNT).keys_property[0].value
    endpoint = account.primary_endpoints.blob
    setup = publish_setup_file(lab.admin, name="BlobProvider.exe")
    blobs = BlobServiceClient(endpoint, credential=AzureNamedKeyCredential(BLOB_ACCOUNT, key), connection_verify=lab.ca_path)
    container = blobs.get_container_client(BLOB_CONTAINER)
    if not container.exists():
        container.create_container()
    container.upload_blob("AzureSiteRecoveryProvider.exe", setup_bytes(setup), overwrite=True)

    def sas_url(blob: str) -> str:
        sas = generate_blob_sas(BLOB_ACCOUNT, BLOB_CONTAINER, blob, account_key=key, permission=BlobSasPermissions(read=True),
                                expiry=datetime.now(timezone.utc) + timedelta(hours=2), protocol="https")
        return f"{endpoint}{BLOB_CONTAINER}/{blob}?{sas}"

    url = sas_url("AzureSiteRecoveryProvider.exe")
    return {"url": url, "sha256": setup["sha256"], "missing": sas_url("NoSuchProvider.exe"),
            "unsigned": url.split("?", 1)[0], "tampered": url.replace("sig=", "sig=AAAA", 1)}


def test_the_host_downloads_the_setup_file_from_blob_storage_with_its_sas(fresh, ansible_playbook, blob_setup_file, credentials):
    lab = fresh
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, url_vars(blob_setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["steps"] == ["download", "install", "register"] and result["provider_version"] == PROVIDER_VERSION
    signature = blob_setup_file["url"].rsplit("sig=", 1)[1].split("&", 1)[0]
    logs = json.dumps(commands_since(lab.admin, HOST, since)) + Path(lab.info["command_log"]).read_text()
    logs += (Path(lab.info["command_log"]).parent / "lab.out").read_text()
    assert signature not in logs and signature not in run.output and signature not in json.dumps(result)


@pytest.mark.parametrize("case, expected", [
    ("tampered", "(403) Forbidden"),
    ("unsigned", "(403) Forbidden"),        # what Azurite answers an anonymous read of a private container's blob
    ("missing", "(404) Not Found"),
    ("wrong_sha256", "not the expected"),
])
def test_a_failed_download_fails_the_step_as_webclient_does(fresh, ansible_playbook, blob_setup_file, credentials,
                                                            case, expected):
    source = dict(blob_setup_file)
    if case == "wrong_sha256":
        source["sha256"] = "0" * 64
    else:
        source["url"] = blob_setup_file[case]
    run, result = run_provider(ansible_playbook, url_vars(source, credentials))
    assert run.rc != 0, run.output
    assert "step download" in result["msg"] and expected in result["msg"], result["msg"]
    assert "sig=" not in result["msg"]
    host = fresh.admin.host(HOST)
    assert host["provider_version"] is None and not [path for path in host["files"] if path.endswith(".partial")]


def test_registering_over_the_leftovers_of_an_earlier_registration_cleans_them_up_first(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    # The host was removed from the vault and its Registration key deleted by hand: DraID, IdMgmtCloudContainerId and
    # the certificates stay, and DRConfigurator /r refuses to register over the identity they hold.
    lab.admin.delete(f"/provider-registrations/{HOST}")
    lab.admin.patch(f"/hosts/{HOST}", {"registry": {PROVIDER_KEY + r"\Registration": None}})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["steps"] == ["unregister", "register"] and result["registration"]["vault_name"] == "rsv-migrate"
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert result["changed"] is False


def test_absent_on_an_unregistered_host_with_a_leftover_proxy_uninstalls_once_and_converges(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, proxy_address="http://proxy.contoso.local", proxy_port=3128))
    assert run.rc == 0, run.output
    # Unregistered in the vault and cleaned up, but for ProxySettings (the provider keeps it across registrations).
    lab.admin.delete(f"/provider-registrations/{HOST}")
    lab.admin.patch(f"/hosts/{HOST}", {"registry": {PROVIDER_KEY + r"\Registration": None,
                                                    PROVIDER_KEY: {"DraID": None, "IdMgmtCloudContainerId": None}},
                                       "certificates": []})
    absent = {"target": HOST, "provider_state": "absent"}
    run, result = run_provider(ansible_playbook, absent)
    assert run.rc == 0, run.output
    assert result["steps"] == ["uninstall_provider", "uninstall_agent"]
    host = lab.admin.host(HOST)
    # The provider's key stays after the MSI uninstall, with ProxySettings: not installed is no Version and no
    # Uninstall entry, so the uninstall did not wait for the key to vanish.
    assert host["provider_version"] is None and PROVIDER_KEY + r"\ProxySettings" in host["registry"]
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, absent)
    assert run.rc == 0 and result["changed"] is False and result["steps"] == []
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]


def test_a_host_behind_a_mandatory_proxy_downloads_through_the_given_proxy(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    lab.admin.patch(f"/hosts/{HOST}", {"outbound_proxy": "http://proxy.contoso.local:3128"})
    try:
        run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
        assert run.rc != 0
        assert "step download" in result["msg"] and "Unable to connect to the remote server" in result["msg"], result["msg"]
        proxy = {"proxy_address": "http://proxy.contoso.local", "proxy_port": 3128, "proxy_username": "svc-asr", "proxy_password": "Pr0xy-7"}
        run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, **proxy))
        assert run.rc == 0, run.output
        assert result["steps"] == ["download", "install", "register"]
        assert lab.admin.host(HOST)["mars_settings"]["proxy"]["username"] == "svc-asr"
    finally:
        lab.admin.patch(f"/hosts/{HOST}", {"outbound_proxy": None})


def test_a_setup_file_version_with_a_suffix_is_read_as_its_numbers(fresh, ansible_playbook, credentials):
    lab = fresh
    old = publish_setup_file(lab.admin, provider_version="5.1.8095.0", agent_version="2.0.9260.0", name="old.exe")
    put_setup_file(lab.admin, HOST, SETUP_PATH, old)
    run, result = run_provider(ansible_playbook, {"target": HOST, "setup_file_path": SETUP_PATH, "vault_credentials_content": credentials})
    assert run.rc == 0, run.output
    new = publish_setup_file(lab.admin, name="new.exe")
    # FileVersion as some builds stamp it: the numbers, then a build label.
    stamped = {"content_b64": new["content_b64"], "file_version": f"{PROVIDER_VERSION} (winmain.240902-1200)"}
    lab.admin.patch(f"/hosts/{HOST}", {"files": {SETUP_PATH: stamped}})
    run, result = run_provider(ansible_playbook, {"target": HOST, "setup_file_path": SETUP_PATH})
    assert run.rc == 0, run.output
    assert result["steps"] == ["upgrade"] and result["setup_file_version"] == PROVIDER_VERSION
    assert result["provider_version"] == PROVIDER_VERSION


def test_a_malformed_third_party_uninstall_entry_does_not_stop_the_read(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    third_party = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}"
    # A value whose data does not fit its type: reading it throws "Specified cast is not valid".
    lab.admin.patch(f"/hosts/{HOST}", {"registry": {third_party: {"DisplayName": {"malformed": "REG_DWORD of 3 bytes"},
                                                                  "UninstallString": "MsiExec.exe /X{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}"}}})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["steps"] == ["download", "install", "register"]
