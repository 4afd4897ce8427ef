"""The lab's WinRM listeners authenticate as a Windows Server listener does by default.

Negotiate (NTLM) on, Basic off unless the host's Group Policy enables it, HTTP only with sealed
messages unless AllowUnencryptedTraffic, channel binding checked over HTTPS when the client sends
it (CbtHardeningLevel Relaxed). Every client here is unmodified pywinrm/requests; the only
substitution is a client library's certificate hash, to send a wrong channel binding.
"""

from __future__ import annotations

import base64
import hashlib
import stat

import pytest
import requests
import requests_ntlm
import winrm
from hostscript import run_host_script
from lab.hosts.logon import Logon, share_denied
from winrm.exceptions import InvalidCredentialsError

POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service"
READ_MARKER = "# azmigrate-host-script: replication_provider_read/1"


def session(lab, name: str, transport: str = "ntlm", url_key: str = "url", user: str | None = None,
            password: str | None = None, **options) -> winrm.Session:
    host = lab.host(name)
    return winrm.Session(host[url_key], auth=(user or host["username"], password or host["password"]),
                         transport=transport, server_cert_validation="validate", ca_trust_path=lab.ca_path, **options)


def failures(lab, name: str) -> int:
    return lab.admin.counters().get(name, {}).get("auth_failures", 0)


@pytest.fixture()
def policy(lab):
    """Set WinRM service policy values on a host for one test; removed afterwards."""
    changed: list[str] = []

    def apply(name: str, **values):
        changed.append(name)
        lab.admin.patch(f"/hosts/{name}", {"registry": {POLICY_KEY: values}})

    yield apply
    for name in changed:
        lab.admin.patch(f"/hosts/{name}", {"registry": {POLICY_KEY: None}})


def test_unauthenticated_request_gets_the_windows_challenge_without_basic(lab):
    response = requests.post(lab.host("HV01")["url"], data=b"<s:Envelope/>", verify=lab.ca_path, timeout=10)
    assert response.status_code == 401
    assert response.raw.headers.getlist("WWW-Authenticate") == ["Negotiate", "Kerberos"]
    assert response.headers["Server"] == "Microsoft-HTTPAPI/2.0"


def test_a_kerberos_token_the_listener_cannot_accept_gets_401(lab):
    """A Negotiate token that is not NTLM: Kerberos, which needs the realm's keytab (and a KDC at all)."""
    before = failures(lab, "HV01")
    forged = base64.b64encode(bytes.fromhex("6082") + b"\x00" * 64).decode()
    response = requests.post(lab.host("HV01")["url"], data=b"<s:Envelope/>", verify=lab.ca_path, timeout=10,
                             headers={"Authorization": f"Negotiate {forged}"})
    assert response.status_code == 401
    assert failures(lab, "HV01") == before + 1


def test_basic_is_refused_where_windows_ships_it_off(lab):
    before, seq = failures(lab, "HV01"), lab.admin.last_seq()
    with pytest.raises(InvalidCredentialsError):
        session(lab, "HV01", transport="basic").run_cmd("hostname")
    assert failures(lab, "HV01") == before + 1
    assert not [entry for entry in lab.admin.log(since=seq) if entry["seq"] > seq], "no command ran"


def test_basic_works_over_https_once_the_host_policy_allows_it(lab, policy):
    policy("HV03", AllowBasic=1)
    challenge = requests.post(lab.host("HV03")["url"], data=b"", verify=lab.ca_path, timeout=10)
    assert challenge.raw.headers.getlist("WWW-Authenticate") == ["Negotiate", "Kerberos", 'Basic realm="WSMAN"']
    result = session(lab, "HV03", transport="basic").run_cmd("hostname")
    assert (result.status_code, result.std_out) == (0, b"HV03\r\n")
    assert lab.admin.log(host="HV03")[-1]["logon"] == "basic"


def test_basic_over_http_also_needs_unencrypted_traffic_allowed(lab, policy):
    policy("HV03", AllowBasic=1)
    with pytest.raises(InvalidCredentialsError):
        session(lab, "HV03", transport="basic", url_key="http_url").run_cmd("hostname")
    policy("HV03", AllowBasic=1, AllowUnencryptedTraffic=1)
    assert session(lab, "HV03", transport="basic", url_key="http_url").run_cmd("hostname").std_out == b"HV03\r\n"


@pytest.mark.parametrize("user", ["labadmin", "LABADMIN", ".\\labadmin", "HV02\\labadmin", "hv02\\labadmin"])
def test_ntlm_accepts_the_local_account_however_it_is_spelt(lab, user):
    result = session(lab, "HV02", user=user).run_cmd("hostname")
    assert (result.status_code, result.std_out) == (0, b"HV02\r\n")
    assert lab.admin.log(host="HV02")[-1]["logon"] == "ntlm"


@pytest.mark.parametrize("user, password", [("labadmin", "wrong-password"), ("CONTOSO\\labadmin", None),
                                            ("someoneelse", None)])
def test_ntlm_refuses_a_wrong_password_or_another_account(lab, user, password):
    before = failures(lab, "HV02")
    with pytest.raises(InvalidCredentialsError):
        session(lab, "HV02", user=user, password=password).run_cmd("hostname")
    assert failures(lab, "HV02") == before + 1


def test_another_hosts_password_does_not_open_this_host(lab):
    with pytest.raises(InvalidCredentialsError):
        session(lab, "HV02", password=lab.host("HV01")["password"]).run_cmd("hostname")


def test_http_listener_speaks_ntlm_with_sealed_messages(lab):
    before = lab.admin.counters().get("HV01", {}).get("by_action", {}).get("auth-setup", 0)
    result = session(lab, "HV01", url_key="http_url").run_ps("$env:COMPUTERNAME")
    assert (result.status_code, result.std_out) == (0, b"HV01\r\n")
    # pywinrm set up the sealing context with its empty first request, then sealed every message.
    assert lab.admin.counters()["HV01"]["by_action"]["auth-setup"] == before + 1


def test_http_listener_refuses_clear_text_soap_unless_allowed(lab, policy):
    before = failures(lab, "HV01")
    with pytest.raises(InvalidCredentialsError):
        session(lab, "HV01", url_key="http_url", message_encryption="never").run_cmd("hostname")
    assert failures(lab, "HV01") == before + 1
    policy("HV01", AllowUnencryptedTraffic=1)
    assert session(lab, "HV01", url_key="http_url", message_encryption="never").run_cmd("hostname").std_out == b"HV01\r\n"


def test_https_refuses_a_channel_binding_for_another_certificate(lab, monkeypatch):
    monkeypatch.setattr(requests_ntlm.HttpNtlmAuth, "_get_server_cert",
                        lambda self, response: hashlib.sha256(b"a certificate a proxy presented").digest())
    with pytest.raises(InvalidCredentialsError):
        session(lab, "HV01").run_cmd("hostname")


def test_https_without_channel_binding_passes_relaxed_and_fails_strict(lab, policy):
    assert session(lab, "HV01", send_cbt=False).run_cmd("hostname").std_out == b"HV01\r\n"
    policy("HV01", CbtHardeningLevel="Strict")
    with pytest.raises(InvalidCredentialsError):
        session(lab, "HV01", send_cbt=False).run_cmd("hostname")
    assert session(lab, "HV01").run_cmd("hostname").std_out == b"HV01\r\n"


def test_credentials_never_reach_the_logs_and_the_ntlm_store_is_private(lab):
    for name in ("HV01", "HV02"):
        session(lab, name).run_cmd("hostname")
    passwords = [host["password"] for host in lab.info["hosts"].values()]
    for name in ("lab.out", "commands.log"):
        text = (lab.state_dir / name).read_text()
        assert not any(password in text for password in passwords)
        assert "NTLMSSP" not in text and "Negotiate " not in text
    for store in (lab.state_dir / "ntlm-users").iterdir():
        assert stat.S_IMODE(store.stat().st_mode) == 0o600


@pytest.mark.parametrize("transport", ["ntlm", "basic"])
def test_a_share_reads_as_absent_from_a_session_without_delegation(lab, policy, transport):
    """The double hop: neither an NTLM nor a Basic logon can authenticate to a file server."""
    share_path = r"\\fs01\installers\AzureSiteRecoveryProvider.exe"
    local_path = r"C:\Installers\AzureSiteRecoveryProvider.exe"
    lab.admin.patch("/hosts/HV02", {"files": {share_path: {"content": "setup"}, local_path: {"content": "setup"}}})
    policy("HV02", AllowBasic=1)
    try:
        for path, exists in ((share_path, False), (local_path, True)):
            params = {"setup_file": {"path": path, "sha256": False}}
            code, document, dummy = run_host_script(lab, "HV02", READ_MARKER, params, transport=transport)
            assert code == 0 and document["setup_file"]["exists"] is exists, path
    finally:
        lab.admin.patch("/hosts/HV02", {"files": {share_path: None, local_path: None}})


@pytest.mark.parametrize("method, denied", [("ntlm", True), ("basic", True), ("kerberos", True),
                                            ("kerberos-delegated", False), ("credssp", False)])
def test_only_delegating_logons_reach_a_share(method, denied):
    assert share_denied(Logon("HV01\\labadmin", method), r"\\fs01\installers\setup.exe") is denied
    assert share_denied(Logon("HV01\\labadmin", method), r"C:\Installers\setup.exe") is False
    assert share_denied(None, r"\\fs01\installers\setup.exe") is False   # a local console session


def test_running_a_setup_file_from_a_share_is_denied_without_delegation(lab):
    share_path = r"\\fs01\installers\AzureSiteRecoveryProvider.exe"
    lab.admin.patch("/hosts/HV02", {"files": {share_path: {"content": "setup"}}})
    steps = [{"action": "extract", "setup_file": share_path, "dir": r"C:\ProgramData\azmigrate\setup\extracted-new"}]
    try:
        code, document, dummy = run_host_script(lab, "HV02", "# azmigrate-host-script: replication_provider_apply/1",
                                                {"steps": steps})
    finally:
        lab.admin.patch("/hosts/HV02", {"files": {share_path: None}})
    assert code != 0 and document["failed"] is True
    assert "step extract" in document["msg"] and "Access is denied." in document["msg"]


@pytest.mark.parametrize("token", [b"NTLMSSP\x00\x01\x00\x00\x00", b"NTLMSSP\x00\x03\x00\x00\x00" + b"\xff" * 40, b"NTLM"])
def test_a_malformed_ntlm_token_gets_401_not_a_server_error(lab, token):
    response = requests.post(lab.host("HV01")["url"], data=b"<s:Envelope/>", verify=lab.ca_path, timeout=10,
                             headers={"Authorization": f"Negotiate {base64.b64encode(token).decode()}"})
    assert response.status_code == 401
