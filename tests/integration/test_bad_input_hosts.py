"""Bad input to the host actions, through ansible-playbook, the real winrm connection and the lab.

Every case asserts the failure, that the message names the option and the value given (never a secret), and that
the lab hosts did not change: registry, services, files, installed products, certificates, agent settings and the
world's record of registrations, read through the lab's admin API. Where the refusal needs no host state, not one
command reaches the host; where it needs the host's state (an expired key is judged on the host's clock), only the
read does.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

from provider_lab import (  # noqa: F401  pylint: disable=unused-import
    PROVIDER_VERSION, commands_since, credentials, fresh, publish_setup_file, reset_host, setup_file, vault_credentials,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from lab import vault_credentials as lab_credentials  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_credentials import (  # noqa: E402
    parse_vault_credentials,
)

pytestmark = pytest.mark.lab

HOST = "HV01"
PROVIDER_PLAYBOOK = "tests/integration/playbooks/replication_provider.yml"
INVALID_PROVIDER_PLAYBOOK = "tests/integration/playbooks/invalid_replication_provider.yml"
INVALID_UPLOAD_PLAYBOOK = "tests/integration/playbooks/invalid_upload_settings.yml"
CLUSTER_PLAYBOOK = "tests/integration/playbooks/cluster_check.yml"
PROVIDER_TASK = "Ensure the replication provider"
CLUSTER_TASK = "Check the clusters"
REGISTRATION_KEY = r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery\Registration"
SETUP_LOG = r"C:\ProgramData\ASRLogs\DRASetupWizard.log"
HOST_STATE_KEYS = ("registry", "services", "files", "certificates", "mars_settings", "provider_version", "agent_install_path")


def host_state(lab, name: str = HOST) -> dict:
    """What a host holds that any host action could change, as the lab's admin API shows it."""
    document = lab.admin.host(name)
    return {key: document.get(key) for key in HOST_STATE_KEYS}


def world_registrations(lab) -> dict:
    return {entry["host"]: (entry["vault_name"], entry["site_name"]) for entry in lab.admin.get("/provider-registrations")}


def sent(lab, since: int, name: str = HOST) -> list[str]:
    return [entry["name"] if entry["kind"] == "host_script" else entry["kind"] for entry in commands_since(lab.admin, name, since)]


def without_site_id(key: str) -> str:
    return key.replace("<SiteId>", "<SiteRef>").replace("</SiteId>", "</SiteRef>")


# --- replication_provider -------------------------------------------------------------------------


def provider_cases(lab, setup: dict, key: str, tmp_path: Path) -> list[tuple[dict, list[str], list[str]]]:
    """(options, words the message must hold, commands the host may see) for each bad input."""
    url = {"setup_file_url": setup["url"], "setup_file_sha256": setup["sha256"]}
    other_vault = vault_credentials(lab.admin, vault_name="rsv-other", site_name="site-other")
    other_site = vault_credentials(lab.admin, site_name="hyperv-site-2")
    expired = vault_credentials(lab.admin, valid_hours=24, issued_hours_ago=30)
    missing_file = str(tmp_path / "nowhere.VaultCredentials")
    return [
        ({**url, "vault_credentials_content": other_vault, "vault_name": "rsv-migrate"},
         ["vault_credentials_content: the file is a registration key for the vault rsv-other", "not for vault_name 'rsv-migrate'"], []),
        ({**url, "vault_credentials_content": other_site, "site": "hyperv-site"},
         ["for site 'hyperv-site-2' of vault rsv-migrate, not for site 'hyperv-site'"], []),
        ({**url, "vault_credentials_content": "this is not a key file"}, ["vault_credentials_content: is not XML"], []),
        ({**url, "vault_credentials_content": "<BackupVaultCreds/>"},
         ["vault_credentials_content: has the root element 'BackupVaultCreds', not 'RSVaultAsrCreds'"], []),
        ({**url, "vault_credentials_content": without_site_id(key)}, ["vault_credentials_content: has no SiteId"], []),
        ({**url, "vault_credentials_src": missing_file}, ["vault_credentials_src", repr(missing_file), "is not a file on the controller"], []),
        ({**url, "vault_credentials_content": key, "vault_name": "rsv\nmigrate"}, ["vault_name: 'rsv\\nmigrate' is not allowed"], []),
        ({**url, "vault_credentials_content": key, "site": "  "}, ["site: '  ' is not allowed"], []),
        ({**url, "vault_credentials_content": expired}, ["vault credentials file: expired at", "download a new one"],
         ["replication_provider_read/1"]),
        ({"setup_file_url": setup["url"].replace("https://", "http://", 1), "setup_file_sha256": setup["sha256"], "vault_credentials_content": key},
         ["setup_file_url:", "is not an https:// URL"], []),
        ({"setup_file_url": setup["url"], "setup_file_sha256": "abc123", "vault_credentials_content": key},
         ["setup_file_sha256: 'abc123' is not a SHA-256 digest"], []),
        ({"setup_file_path": "Installers\\AzureSiteRecoveryProvider.exe", "vault_credentials_content": key},
         ["setup_file_path: 'Installers\\\\AzureSiteRecoveryProvider.exe' is not an absolute Windows path"], []),
        ({**url, "vault_credentials_content": key, "proxy_address": "http://proxy.contoso.local", "proxy_port": 70000},
         ["proxy_port: 70000 is out of range; give a TCP port from 1 to 65535"], []),
        ({**url, "vault_credentials_content": key, "proxy_address": "https://proxy.contoso.local", "proxy_port": 3128},
         ["proxy_address: 'https://proxy.contoso.local' is not allowed", "HTTPS proxies are not supported"], []),
        ({**url, "vault_credentials_content": key, "install_timeout": 5}, ["install_timeout: 5 is out of range; give seconds from 60 to 86400"], []),
        ({**url, "vault_credentials_content": key, "registration_timeout": "10m"}, ["registration_timeout", "10m"], []),
        ({**url, "vault_credentials_content": key, "friendly_name": "HV 01!"}, ["friendly_name: 'HV 01!' is not allowed"], []),
        ({"state": "absent", "vault_credentials_content": key}, ["vault_credentials_content: not used with state=absent"], []),
        ({"state": "gone"}, ["state", "gone", "present, absent"], []),
        ({**url, "setup_file_path": "C:\\Installers\\AzureSiteRecoveryProvider.exe", "vault_credentials_content": key},
         ["mutually exclusive", "setup_file_path", "setup_file_url"], []),
    ]


def test_every_bad_provider_option_fails_before_any_change_naming_option_and_value(fresh, ansible_playbook, setup_file, credentials, tmp_path):
    lab = fresh
    cases = provider_cases(lab, setup_file, credentials, tmp_path)
    state_before, registrations_before = host_state(lab), world_registrations(lab)
    since = lab.admin.last_seq()
    items = [{**options, "label": f"case {number}"} for number, (options, _words, _sent) in enumerate(cases)]
    run = ansible_playbook(INVALID_PROVIDER_PLAYBOOK, extra_vars={"target": HOST, "provider_cases": items})
    results = run.result(HOST, "Try invalid provider options")["results"]
    assert len(results) == len(cases), run.output
    for result, (options, words, _sent) in zip(results, cases):
        assert result.get("failed") is True, f"{options}: {result}"
        assert all(word in result["msg"] for word in words), f"{options}:\n{result['msg']}"
        assert "ManagementCert>" not in result["msg"] and "sig=" not in result["msg"]
    # Only the expired key needed the host's state (its clock): one read, nothing else, and no change anywhere.
    expected_reads = sum(len(commands) for _options, _words, commands in cases)
    assert sent(lab, since) == ["replication_provider_read/1"] * expected_reads
    assert host_state(lab) == state_before
    assert world_registrations(lab) == registrations_before


def test_an_expired_key_installs_nothing_although_the_host_would_take_the_setup(fresh, ansible_playbook, setup_file):
    lab = fresh
    expired = vault_credentials(lab.admin, valid_hours=120, issued_hours_ago=121)
    state_before = host_state(lab)
    since = lab.admin.last_seq()
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars={"target": HOST, "setup_file_url": setup_file["url"],
                                                          "setup_file_sha256": setup_file["sha256"], "vault_credentials_content": expired})
    result = run.result(HOST, PROVIDER_TASK)
    assert run.rc != 0 and "expired at" in result["msg"], result
    # The old order - install, then let DRConfigurator refuse the key - would leave the provider and agent installed.
    assert sent(lab, since) == ["replication_provider_read/1"]
    assert host_state(lab) == state_before and lab.admin.host(HOST)["provider_version"] is None


@pytest.mark.parametrize("missing", ["vault", "site"])
def test_a_key_for_a_vault_or_site_that_does_not_exist_fails_with_the_providers_reason(fresh, ansible_playbook, setup_file, credentials, missing):
    lab = fresh
    subscription = parse_vault_credentials(credentials).subscription_id
    if missing == "vault":
        key, reason = (lab_credentials.issue(subscription, "rg-migrate", "rsv-gone", "westeurope", "hyperv-site"),
                       "The vault 'rsv-gone' named in the vault credentials file does not exist.")
    else:
        key, reason = (lab_credentials.issue(subscription, "rg-migrate", "rsv-migrate", "westeurope", "hyperv-site-gone"),
                       "The Hyper-V site 'hyperv-site-gone' named in the vault credentials file does not exist in the vault.")
    variables = {"target": HOST, "setup_file_url": setup_file["url"], "setup_file_sha256": setup_file["sha256"], "vault_credentials_content": key}
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars=variables)
    result = run.result(HOST, PROVIDER_TASK)
    assert run.rc != 0
    # The provider's own reason, from its configurator log, not the setup wizard's log nor only a log path.
    assert "step register" in result["msg"] and reason in result["msg"], result["msg"]
    assert "DRASetupWizard.log" not in result["msg"]
    assert "check that they exist (azmigrate.hyperv.vault_info)" in result["msg"] and "ManagementCert" not in result["msg"]
    assert HOST not in world_registrations(lab)
    assert REGISTRATION_KEY not in lab.admin.host(HOST)["registry"]
    # A re-run with the right key converges from where the host is: installed, so it only registers.
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars={**variables, "vault_credentials_content": credentials, "vault_name": "rsv-migrate"})
    assert run.rc == 0, run.output
    assert run.result(HOST, PROVIDER_TASK)["steps"] == ["register"]


def test_a_failed_registration_quotes_drconfigurators_log_even_when_setups_log_is_newer(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    variables = {"target": HOST, "setup_file_url": setup_file["url"], "setup_file_sha256": setup_file["sha256"], "vault_credentials_content": credentials}
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars=variables)
    assert run.rc == 0, run.output
    # Out of the vault and its Registration key gone; setup's log written last (an upgrade, a repair, the same second).
    lab.admin.delete(f"/provider-registrations/{HOST}")
    lab.admin.patch(f"/hosts/{HOST}", {"registry": {REGISTRATION_KEY: None}, "files": {
        SETUP_LOG: {"content_b64": base64.b64encode(b"2999-01-01T00:00:00Z Setup completed successfully.\r\n").decode(),
                    "created_at": "2999-01-01T00:00:00Z"}}})
    gone = lab_credentials.issue(parse_vault_credentials(credentials).subscription_id, "rg-migrate", "rsv-gone", "westeurope", "hyperv-site")
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars={**variables, "vault_credentials_content": gone})
    result = run.result(HOST, PROVIDER_TASK)
    assert run.rc != 0
    assert "DRConfigurator.log:" in result["msg"] and "The vault 'rsv-gone' named in the vault credentials file does not exist." in result["msg"]
    assert "Setup completed successfully" not in result["msg"], result["msg"]


def test_a_key_naming_another_site_than_its_site_id_reports_the_site_the_host_is_in(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    misnamed = credentials.replace("<SiteName>hyperv-site</SiteName>", "<SiteName>hyperv-site-typo</SiteName>")
    assert misnamed != credentials
    variables = {"target": HOST, "setup_file_url": setup_file["url"], "setup_file_sha256": setup_file["sha256"],
                 "vault_credentials_content": misnamed}
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars=variables)
    assert run.rc == 0, run.output
    result = run.result(HOST, PROVIDER_TASK)
    # What the host holds, not what the file said.
    assert result["registration"]["site_name"] == "hyperv-site"
    assert world_registrations(lab)[HOST] == ("rsv-migrate", "hyperv-site")
    assert any("names site 'hyperv-site-typo'" in warning and "to site 'hyperv-site'" in warning for warning in result["warnings"])


def test_site_option_fails_when_the_vault_registers_the_host_elsewhere(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    misnamed = credentials.replace("<SiteName>hyperv-site</SiteName>", "<SiteName>hyperv-site-typo</SiteName>")
    variables = {"target": HOST, "setup_file_url": setup_file["url"], "setup_file_sha256": setup_file["sha256"],
                 "vault_credentials_content": misnamed, "site": "hyperv-site-typo"}
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars=variables)
    result = run.result(HOST, PROVIDER_TASK)
    assert run.rc != 0
    assert result["msg"].startswith("site: the host was registered to site 'hyperv-site' of vault rsv-migrate, not to site 'hyperv-site-typo'")
    assert result["registration"]["site_name"] == "hyperv-site"


def test_check_mode_with_a_mismatched_key_is_refused_too(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    since = lab.admin.last_seq()
    run = ansible_playbook(PROVIDER_PLAYBOOK, check=True, extra_vars={
        "target": HOST, "setup_file_url": setup_file["url"], "setup_file_sha256": setup_file["sha256"],
        "vault_credentials_content": credentials, "vault_name": "rsv-prod"})
    assert run.rc != 0 and "not for vault_name 'rsv-prod'" in run.result(HOST, PROVIDER_TASK)["msg"]
    assert sent(lab, since) == []


# --- upload_threads and upload_throttle -----------------------------------------------------------

INVALID_THREADS = [
    ({"upload_threads": 0}, "upload_threads 0 is not allowed: give a whole number of threads per VM from 1 to 32"),
    ({"download_threads": 64}, "download_threads 64 is not allowed: give a whole number of threads per VM from 1 to 32"),
    ({"upload_threads": True}, "upload_threads True is not allowed"),
    ({"upload_threads": 8.5}, "upload_threads"),
]
INVALID_THROTTLES = [
    # Hours echoed as given: a number stays the number, never a string nor float seconds.
    ({"work_hour_start": 8}, "work_hour_start 8 is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59; for 8 o'clock write '08:00'"),
    ({"work_hour_end": 28800}, "work_hour_end 28800 is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59; "
                               "an unquoted time like 8:00:00 in YAML is read as a number of seconds (28800 is 8:00:00 in base 60)"),
    ({"work_hour_start": "08:00", "work_hour_end": "8:00"}, "work_hour_end '8:00' is not after work_hour_start '08:00'"),
    # Rates echoed with their unit, zero refused like any rate below the range.
    ({"work_hour_bandwidth": "0 Mbps"}, "work_hour_bandwidth '0 Mbps' is 0 Kbps (0 bytes/s), outside the allowed 512 Kbps to 1023 Mbps"),
    ({"non_work_hour_bandwidth": 0}, "non_work_hour_bandwidth 0 is 0 Kbps (0 bytes/s), outside the allowed 512 Kbps to 1023 Mbps"),
    ({"work_hour_bandwidth": "100 Mbit/s"}, "work_hour_bandwidth '100 Mbit/s' is not a throttle rate"),
    ({"enabled": False, "work_hour_bandwidth": "2 Gbps"}, "work_hour_bandwidth '2 Gbps' is 2048 Mbps"),
]
VALID_THROTTLE = {"work_hour_start": "08:00", "work_hour_end": "18:00", "work_hour_bandwidth": "10 Mbps", "non_work_hour_bandwidth": "100 Mbps"}


def test_every_bad_threads_and_throttle_option_fails_before_any_command(fresh, ansible_playbook):
    lab = fresh
    state_before = host_state(lab, "HV02")
    since = lab.admin.last_seq()
    run = ansible_playbook(INVALID_UPLOAD_PLAYBOOK, limit="HV02", extra_vars={
        "threads_cases": [options for options, _msg in INVALID_THREADS],
        "throttle_cases": [{**VALID_THROTTLE, **options} for options, _msg in INVALID_THROTTLES],
    })
    for task, cases in (("Try invalid threads", INVALID_THREADS), ("Try invalid throttles", INVALID_THROTTLES)):
        items = run.result("HV02", task)["results"]
        assert len(items) == len(cases), run.output
        for item, (options, expected) in zip(items, cases):
            assert item.get("failed") is True, f"{task} {options}: {item}"
            assert expected in item["msg"], f"{task} {options}: {item['msg']}"
    assert sent(lab, since, "HV02") == []
    assert host_state(lab, "HV02") == state_before


# --- host_info ------------------------------------------------------------------------------------


def test_host_info_refuses_a_gather_vms_that_is_not_a_boolean(lab, ansible_playbook):
    since = lab.admin.last_seq()
    run = ansible_playbook("tests/integration/playbooks/host_info.yml", extra_vars={"target": "HV02", "gather_vms": "sometimes"})
    result = run.result("HV02", "Read the host")
    assert run.rc != 0 and "gather_vms" in result["msg"] and "sometimes" in result["msg"], result["msg"]
    assert sent(lab, since, "HV02") == []


# --- cluster_check --------------------------------------------------------------------------------

CLUSTER_HOSTS = ("HV02", "HV03")


def cluster_states(lab) -> dict:
    return {name: host_state(lab, name) for name in CLUSTER_HOSTS}


@pytest.mark.parametrize("variables, words", [
    ({"host_info_var": "hyperv_hots_info"},
     ["host_info_var: no host of this batch (HV02, HV03) has a variable named 'hyperv_hots_info'"]),
    ({"host_info_var": "given_host_info", "bad_host_info": "HVCLU01"},
     ["host_info_var: 'given_host_info' on HV02 is a str ('HVCLU01'), not the result of azmigrate.hyperv.host_info"]),
    ({"host_info_var": "given_host_info", "bad_host_info": {"computer_name": "HV02"}},
     ["'given_host_info' on HV02 is a dict with the keys computer_name", "it lacks cluster, provider, agent"]),
    ({"read_hosts": False}, ["host_info_var: 'hyperv_host_info' on HV02 holds a skipped task's result"]),
    ({"host_info_var": "{{ hyperv_host_info }}"}, ["host_info_var: takes the name of a variable", "not its value"]),
    ({"provider_var": "hyperv_host_provder"}, ["provider_var: no host read by this run has a variable named 'hyperv_host_provder'"]),
    ({"provider_var": "given_host_info", "bad_host_info": ["5.24.0902.3"]},
     ["provider_var: 'given_host_info' on HV02 is a list", "not the result of azmigrate.hyperv.replication_provider"]),
    ({"strict_cluster": "always"}, ["strict_cluster", "always"]),
])
def test_cluster_check_fails_on_missing_or_wrong_input_even_without_strict(lab, ansible_playbook, variables, words):
    before = cluster_states(lab)
    run = ansible_playbook(CLUSTER_PLAYBOOK, limit=",".join(CLUSTER_HOSTS), extra_vars=variables)
    result = run.result("HV02", CLUSTER_TASK)
    assert run.rc != 0 and run.stats["HV02"]["failures"] == 1, run.output
    assert all(word in result["msg"] for word in words), result["msg"]
    assert "clusters" not in result, "a refused input checks nothing and reports no clusters"
    assert cluster_states(lab) == before


def test_strict_cluster_fails_on_a_node_this_run_did_not_check_and_names_it_not_checked(lab, ansible_playbook):
    # As an AWX sliced job sees it: this slice holds HV02 only; the cluster itself lists HV03 (Get-ClusterNode).
    run = ansible_playbook(CLUSTER_PLAYBOOK, limit="HV02", extra_vars={"strict_cluster": True})
    result = run.result("HV02", CLUSTER_TASK)
    assert run.rc != 0
    assert "node HV03 (state Up) was not checked in this run" in result["msg"] and "another slice of an AWX sliced job" in result["msg"]
    assert result["clusters"]["HVCLU01"]["checked"] == ["HV02"]
    assert [node["name"] for node in result["clusters"]["HVCLU01"]["not_checked"]] == ["HV03"]

    run = ansible_playbook(CLUSTER_PLAYBOOK, limit="HV02")
    result = run.result("HV02", CLUSTER_TASK)
    assert run.rc == 0 and any("HV03" in warning and "not checked in this run" in warning for warning in result["warnings"])


def test_strict_cluster_passes_when_every_node_was_checked_and_serial_batches_wait_for_theirs(lab, ansible_playbook):
    run = ansible_playbook(CLUSTER_PLAYBOOK, limit=",".join(CLUSTER_HOSTS), extra_vars={"strict_cluster": True})
    assert run.rc == 0, run.output
    result = run.result("HV02", CLUSTER_TASK)
    assert result["checked_hosts"] == ["HV02", "HV03"] and result["clusters"]["HVCLU01"]["checked"] == ["HV02", "HV03"]
    assert result["findings"] == []
    # One node per batch: the first batch's check waits for HV03 (pending), the second compares both.
    run = ansible_playbook(CLUSTER_PLAYBOOK, limit=",".join(CLUSTER_HOSTS), extra_vars={"strict_cluster": True, "play_serial": 1})
    assert run.rc == 0, run.output
    first, second = [entry["result"] for entry in run.results if entry["task"] == CLUSTER_TASK]
    assert first["clusters"]["HVCLU01"]["pending"] == ["HV03"] and second["clusters"]["HVCLU01"]["checked"] == ["HV02", "HV03"]
