"""replication_provider against bad inputs and the lab's faults: a clear failure before any change, or an honest
reboot_required, and a re-run that converges (sources in lab/FIDELITY.md)."""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import time

import pytest

from provider_lab import (  # noqa: F401  pylint: disable=unused-import
    PROVIDER_VERSION, commands_since, credentials, fresh, setup_file, vault_credentials,
)
from test_replication_provider import HOST, PLAYBOOK, TASK, provider_commands, run_provider, url_vars

pytestmark = pytest.mark.lab

CHANGING_COMMANDS = {"replication_provider_apply/1", "replication_provider_remove/1", "put_file"}


def bad_inputs(setup_file: dict, credentials: str) -> list[tuple[str, dict, list[str]]]:
    """(case, variables, words the message must hold): option, value and what is allowed."""
    url = url_vars(setup_file, credentials)
    return [
        ("two setup sources", {**url, "setup_file_path": r"C:\Installers\setup.exe"}, ["mutually exclusive", "setup_file_path", "setup_file_url"]),
        ("url without sha256", {**url, "setup_file_sha256": None}, ["setup_file_sha256", "required with setup_file_url"]),
        ("http url", {**url, "setup_file_url": "http://downloads.lab.test/setup.exe"}, ["setup_file_url", "http://downloads.lab.test/setup.exe", "https://"]),
        ("malformed sha256", {**url, "setup_file_sha256": "abc123"}, ["setup_file_sha256", "'abc123'", "64 hexadecimal"]),
        ("relative setup path", {"target": HOST, "setup_file_path": "setup.exe", "vault_credentials_content": credentials},
         ["setup_file_path", "'setup.exe'", "absolute Windows path"]),
        ("https proxy", {**url, "proxy_address": "https://proxy.contoso.local", "proxy_port": 443},
         ["proxy_address", "https://proxy.contoso.local", "http://"]),
        ("proxy port out of range", {**url, "proxy_address": "http://proxy.contoso.local", "proxy_port": 70000}, ["proxy_port", "70000", "1 to 65535"]),
        ("proxy user without password", {**url, "proxy_address": "http://proxy.contoso.local", "proxy_port": 3128, "proxy_username": "svc"},
         ["proxy_username", "proxy_password"]),
        ("friendly name with spaces", {**url, "friendly_name": "my host"}, ["friendly_name", "'my host'", "letters, digits"]),
        ("credentials not XML", {**url, "vault_credentials_content": "not a key file"}, ["vault_credentials_content", "is not XML"]),
        ("credentials of another kind", {**url, "vault_credentials_content": "<BackupVaultCreds/>"},
         ["vault_credentials_content", "BackupVaultCreds", "RSVaultAsrCreds"]),
        ("timeout too short", {**url, "install_timeout": 5}, ["install_timeout", "5", "60 to 86400"]),
        ("absent with a setup file", {"target": HOST, "provider_state": "absent", "setup_file_path": r"C:\Installers\setup.exe"},
         ["setup_file_path", "state=absent"]),
        ("unknown state", {**url, "provider_state": "installed"}, ["state", "installed", "present, absent"]),
    ]


def test_every_bad_input_fails_before_any_change_naming_option_value_and_allowed(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    failures = []
    for case, variables, words in bad_inputs(setup_file, credentials):
        variables = {key: value for key, value in variables.items() if value is not None}
        before = lab.admin.host(HOST)
        since = lab.admin.last_seq()
        run = ansible_playbook(PLAYBOOK, extra_vars=variables)
        result = run.result(HOST, TASK)
        ran = set(provider_commands(commands_since(lab.admin, HOST, since)))
        missing = [word for word in words if word not in result.get("msg", "")]
        if run.rc == 0 or missing or ran & CHANGING_COMMANDS or lab.admin.host(HOST)["registry"] != before["registry"]:
            failures.append(f"{case}: rc={run.rc} missing={missing} ran={sorted(ran)} msg={result.get('msg')!r}")
    assert not failures, "\n".join(failures)
    assert len(bad_inputs(setup_file, credentials)) >= 8


def test_expired_vault_credentials_are_refused_before_installing(fresh, ansible_playbook, setup_file):
    lab = fresh
    expired = vault_credentials(lab.admin, issued_hours_ago=200)
    since = lab.admin.last_seq()
    run, result = run_provider(ansible_playbook, url_vars(setup_file, expired))
    assert run.rc != 0 and "expired" in result["msg"] and "5 days" in result["msg"]
    assert provider_commands(commands_since(lab.admin, HOST, since)) == ["replication_provider_read/1"]
    assert lab.admin.host(HOST)["provider_version"] is None


@pytest.mark.parametrize("patch, message", [
    ({"domain_role": 5}, "no compatible product was found"),
    ({"features": []}, "ensure that Hyper-V role is enabled"),
    ({"dotnet_release": 394254}, ".NET Framework 4.6.2 or higher is required"),
])
def test_setup_refuses_a_host_it_cannot_install_on_with_its_own_message(fresh, ansible_playbook, setup_file, credentials, patch, message):
    lab = fresh
    lab.admin.patch(f"/hosts/{HOST}", patch)
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc != 0 and message in result["msg"] and "step install" in result["msg"], result.get("msg")
    assert lab.admin.host(HOST)["provider_version"] is None


@pytest.mark.parametrize("exit_code, message", [
    (1603, "(1603)"),
    (1618, "another installation is in progress"),
])
def test_installer_failure_leaves_nothing_and_a_rerun_converges(fresh, ansible_playbook, setup_file, credentials, exit_code, message):
    lab = fresh
    lab.admin.post(f"/installers/{HOST}/faults", {"setup_exit_code": exit_code})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc != 0 and message in result["msg"] and str(exit_code) in result["msg"], result.get("msg")
    assert lab.admin.host(HOST)["provider_version"] is None
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["steps"] == ["install", "register"] and result["provider_version"] == PROVIDER_VERSION


def test_exit_3010_reports_reboot_required_until_the_host_restarts(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    lab.admin.post(f"/installers/{HOST}/faults", {"setup_exit_code": 3010})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["reboot_required"] is True and result["provider_version"] == PROVIDER_VERSION
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert result["changed"] is False and result["reboot_required"] is True


def test_connection_reset_during_install_fails_clearly_and_a_rerun_converges(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    lab.admin.post(f"/installers/{HOST}/faults", {"reset_during_install": True})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc != 0
    assert "connection to the host failed during replication_provider_apply" in result["msg"], run.output
    assert "run the task again" in result["msg"]
    # The install goes on on the host after the connection dropped.
    deadline = time.monotonic() + 30
    while lab.admin.get("/installers")["pending_installs"] and time.monotonic() < deadline:
        time.sleep(0.5)
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["provider_version"] == PROVIDER_VERSION and result["registration"]["vault_name"] == "rsv-migrate"


def test_a_setup_that_hangs_is_stopped_at_the_timeout_and_reported_with_its_process_id(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    # setupdr shows a message box nobody can answer in the WinRM session: it never exits on its own.
    lab.admin.post(f"/installers/{HOST}/faults", {"setup_hangs": True})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials, install_timeout=60))
    assert run.rc != 0
    message = result["msg"]
    assert "failed at step install" in message and "setupdr.exe /i (process " in message, message
    assert "was still running after 60 s and was stopped" in message
    assert r"started in C:\ProgramData\azmigrate\setup\extracted-" in message
    # Stopped: nothing of it runs on, and it installs nothing later.
    assert lab.admin.get(f"/installers/{HOST}/processes") == []
    time.sleep(1.0)
    assert lab.admin.host(HOST)["provider_version"] is None
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["provider_version"] == PROVIDER_VERSION
