"""The collection over each way a Windows host can be reached, through ansible-playbook and the lab.

NTLM over HTTPS is the lab inventory's default (every other integration test uses it). Here: Basic
where the host's policy enables it, NTLM over HTTP with sealed messages, the old Basic inventory
refused where Windows refuses it, and a UNC setup file that an NTLM session cannot read (double hop).
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import pytest

from kerberos_realm import lab_realm
from provider_lab import credentials, fresh  # noqa: F401  pylint: disable=unused-import

PLAYBOOK = "tests/integration/playbooks/win_ping_and_host_info.yml"
PROVIDER_PLAYBOOK = "tests/integration/playbooks/replication_provider.yml"
POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service"
SHARE_PATH = r"\\fs01\installers\AzureSiteRecoveryProvider.exe"


@pytest.fixture()
def basic_allowed(lab):
    """HV03 with Basic enabled by Group Policy, as an administrator would have to; removed afterwards."""
    lab.admin.patch("/hosts/HV03", {"registry": {POLICY_KEY: {"AllowBasic": 1}}})
    yield lab
    lab.admin.patch("/hosts/HV03", {"registry": {POLICY_KEY: None}})


def commands_since(lab, host: str, seq: int) -> list[dict]:
    return [entry for entry in lab.admin.log(host=host, since=seq) if entry["seq"] > seq]


def assert_reached(run, lab, host: str, seq: int, logon: str) -> None:
    assert run.rc == 0, run.output
    assert run.result(host, "Ping the host")["ping"] == "pong"
    assert run.result(host, "Read the host")["computer_name"] == host
    entries = commands_since(lab, host, seq)
    assert [entry["name"] for entry in entries] == ["ansible.windows.win_ping", "host_info/1"]
    assert {entry["logon"] for entry in entries} == {logon}


def test_ntlm_over_https_is_the_inventory_default(lab, ansible_playbook):
    seq = lab.admin.last_seq()
    assert_reached(ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01"}), lab, "HV01", seq, "ntlm")


def test_basic_over_https_where_the_host_enables_it(basic_allowed, ansible_playbook):
    lab = basic_allowed
    seq = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV03", "ansible_winrm_transport": "basic"})
    assert_reached(run, lab, "HV03", seq, "basic")


def test_ntlm_over_http_with_message_encryption(lab, ansible_playbook):
    seq = lab.admin.last_seq()
    setups = lab.admin.counters().get("HV02", {}).get("by_action", {}).get("auth-setup", 0)
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV02", "ansible_winrm_scheme": "http",
                                                 "ansible_port": lab.host("HV02")["http_port"]})
    assert_reached(run, lab, "HV02", seq, "ntlm")
    assert lab.admin.counters()["HV02"]["by_action"]["auth-setup"] > setups, "pywinrm sealed the messages"


def test_the_old_basic_inventory_is_refused_where_windows_refuses_it(lab, ansible_playbook):
    seq, failures = lab.admin.last_seq(), lab.admin.counters().get("HV01", {}).get("auth_failures", 0)
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01", "ansible_winrm_transport": "basic"})
    assert run.rc == 4, run.output    # unreachable
    assert "the specified credentials were rejected by the server" in run.output
    assert lab.admin.counters()["HV01"]["auth_failures"] > failures
    assert not commands_since(lab, "HV01", seq)


def test_unc_setup_file_over_ntlm_names_the_double_hop_and_its_fixes(fresh, ansible_playbook, credentials):
    lab = fresh
    setup = lab.admin.post("/setup-files", {"name": "share.exe", "provider_version": "5.24.0902.3",
                                            "agent_version": "2.0.9277.0"})
    lab.admin.patch("/hosts/HV01", {"files": {SHARE_PATH: {"content_b64": setup["content_b64"]}}})
    seq = lab.admin.last_seq()
    run = ansible_playbook(PROVIDER_PLAYBOOK, extra_vars={"target": "HV01", "setup_file_path": SHARE_PATH,
                                                          "vault_credentials_content": credentials})
    assert run.rc == 2, run.output
    message = run.result("HV01", "Ensure the replication provider")["msg"]
    for words in (SHARE_PATH, "double hop", "NTLM", "setup_file_src", "setup_file_url", "credssp",
                  "ansible_winrm_kerberos_delegation"):
        assert words in message, message
    assert [entry["name"] for entry in commands_since(lab, "HV01", seq)] == ["replication_provider_read/1"]
    assert lab.admin.host("HV01")["provider_version"] is None


def test_kerberos_with_the_domain_account_where_the_lab_runs_a_kdc(lab, ansible_playbook):
    kerberos = lab_realm(lab)
    seq = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV02", "ansible_winrm_transport": "kerberos",
                                                 "ansible_user": kerberos["user"], "ansible_password": kerberos["password"],
                                                 # kinit runs with a blank environment unless told: the lab's realm
                                                 # is in $KRB5_CONFIG, not /etc/krb5.conf.
                                                 "ansible_winrm_kinit_env_vars": ["KRB5_CONFIG"]})
    assert_reached(run, lab, "HV02", seq, "kerberos")
