"""Kerberos against the lab's real MIT KDC (lab/kdc.py): a domain account, tickets from kinit,
pywinrm's Kerberos transport (pykerberos) unmodified, and the listeners' GSSAPI acceptor.

`make setup` installs the KDC and the bindings; a machine without them skips these tests with the
reason (CI fails instead), and its lab refuses Kerberos tokens, which
tests/lab/test_winrm_listener_auth.py covers.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import subprocess

import pytest
import winrm
from hostscript import run_host_script
from kerberos_realm import lab_realm
from winrm.exceptions import InvalidCredentialsError

READ_MARKER = "# azmigrate-host-script: replication_provider_read/1"
SHARE_PATH = r"\\fs01\installers\AzureSiteRecoveryProvider.exe"


@pytest.fixture()
def realm(lab, tmp_path, monkeypatch):
    """The lab's realm with a fresh forwardable ticket for its domain account in a private cache."""
    kerberos = lab_realm(lab)
    monkeypatch.setenv("KRB5_CONFIG", kerberos["krb5_conf"])
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'ccache'}")
    kinit = subprocess.run(["kinit", "-f", kerberos["user"]], input=kerberos["password"] + "\n", text=True,
                           capture_output=True, timeout=30, check=False)
    assert kinit.returncode == 0, kinit.stderr
    return kerberos


def session(lab, realm, name: str, url_key: str = "url", **options) -> winrm.Session:
    return winrm.Session(lab.host(name)[url_key], auth=(realm["user"], None), transport="kerberos",
                         server_cert_validation="validate", ca_trust_path=lab.ca_path, **options)


def test_kerberos_over_https_runs_as_the_domain_account(lab, realm):
    result = session(lab, realm, "HV01").run_cmd("hostname")
    assert (result.status_code, result.std_out) == (0, b"HV01\r\n")
    assert lab.admin.log(host="HV01")[-1]["logon"] == "kerberos"


def test_kerberos_over_http_seals_every_message(lab, realm):
    before = lab.admin.counters().get("HV02", {}).get("by_action", {}).get("auth-setup", 0)
    result = session(lab, realm, "HV02", url_key="http_url").run_ps("$env:COMPUTERNAME")
    assert (result.status_code, result.std_out) == (0, b"HV02\r\n")
    assert lab.admin.counters()["HV02"]["by_action"]["auth-setup"] == before + 1


def test_kerberos_over_http_in_clear_text_is_refused(lab, realm):
    with pytest.raises(InvalidCredentialsError):
        session(lab, realm, "HV02", url_key="http_url", message_encryption="never").run_cmd("hostname")


def test_a_ticket_for_another_hosts_spn_is_refused(lab, realm):
    """A Windows host decrypts only tickets for its own SPN: HV01's ticket presented to HV02 gets 401."""
    before = lab.admin.counters().get("HV02", {}).get("auth_failures", 0)
    with pytest.raises(InvalidCredentialsError):
        session(lab, realm, "HV02", kerberos_hostname_override=lab.host("HV01")["address"]).run_cmd("hostname")
    assert lab.admin.counters()["HV02"]["auth_failures"] > before
    result = session(lab, realm, "HV02").run_cmd("hostname")   # the same account with HV02's own ticket
    assert (result.status_code, result.std_out) == (0, b"HV02\r\n")


def test_only_a_delegated_ticket_reaches_a_share(lab, realm):
    """The double hop: Kerberos without delegation reads a share as absent, with delegation it reads it."""
    lab.admin.patch("/hosts/HV03", {"files": {SHARE_PATH: {"content": "setup"}}})
    params = {"setup_file": {"path": SHARE_PATH, "sha256": False}}
    credentials = {"username": realm["user"], "password": None}
    try:
        plain = run_host_script(lab, "HV03", READ_MARKER, params, transport="kerberos", **credentials)
        delegated = run_host_script(lab, "HV03", READ_MARKER, params, transport="kerberos",
                                    kerberos_delegation=True, **credentials)
    finally:
        lab.admin.patch("/hosts/HV03", {"files": {SHARE_PATH: None}})
    assert plain[0] == 0 and plain[1]["setup_file"]["exists"] is False
    assert delegated[0] == 0 and delegated[1]["setup_file"]["exists"] is True
    assert [entry["logon"] for entry in lab.admin.log(host="HV03")[-2:]] == ["kerberos", "kerberos-delegated"]
