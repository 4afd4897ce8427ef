"""The lab's WinRM service against pywinrm, unmodified: sessions, the raw protocol, errors."""

from __future__ import annotations

import base64

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError
from winrm.protocol import Protocol

SHELL_NOT_FOUND = 2150858843
OPERATION_TIMEOUT = 2150858793


def session(lab, name="HV01", password=None) -> winrm.Session:
    host = lab.host(name)
    return winrm.Session(host["url"], auth=(host["username"], password or host["password"]), transport="ntlm",
                         server_cert_validation="validate", ca_trust_path=lab.ca_path)


def protocol(lab, name="HV01") -> Protocol:
    host = lab.host(name)
    return Protocol(endpoint=host["url"], transport="ntlm", username=host["username"], password=host["password"],
                    server_cert_validation="validate", ca_trust_path=lab.ca_path)


def test_run_ps_returns_computer_name(lab):
    result = session(lab, "HV02").run_ps("$env:COMPUTERNAME")
    assert (result.status_code, result.std_out, result.std_err) == (0, b"HV02\r\n", b"")


@pytest.mark.parametrize("command, args, expected", [
    ("hostname", (), b"HV01\r\n"),
    ("whoami", (), b"hv01\\labadmin\r\n"),
    ("echo", ("lab",), b"lab\r\n"),
])
def test_run_cmd_simple_commands(lab, command, args, expected):
    result = session(lab).run_cmd(command, list(args))
    assert (result.status_code, result.std_out) == (0, expected)


def test_run_cmd_ipconfig_all_shows_host_address(lab):
    result = session(lab).run_cmd("ipconfig", ["/all"])
    assert result.status_code == 0
    assert b"Host Name . . . . . . . . . . . . : HV01" in result.std_out
    assert lab.host("HV01")["address"].encode() in result.std_out


def test_unsimulated_powershell_fails_loudly_as_clixml(lab):
    result = session(lab).run_ps("Get-VM | Remove-VM -Force")
    assert result.status_code == 1
    # pywinrm decoded the CLIXML error stream back to text.
    assert result.std_err == b"lab: command not simulated: Get-VM | Remove-VM -Force"


def test_unsimulated_cmd_fails_with_plain_stderr(lab):
    result = session(lab).run_cmd("format", ["C:"])
    assert result.status_code == 1
    assert result.std_err.startswith(b"lab: command not simulated: format C:")


def test_exit_code_is_carried(lab):
    assert session(lab).run_ps("exit 3").status_code == 3


def test_protocol_with_stdin_in_two_chunks(lab):
    client = protocol(lab, "HV03")
    shell_id = client.open_shell()
    script = "# azmigrate-host-script: host_info/1\n$stdin = @($input) -join \"`n\""
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    command_id = client.run_command(shell_id, "powershell", ["-NoProfile", "-EncodedCommand", encoded],
                                    console_mode_stdin=False)
    document = b'{"params": {}, "secrets": {"unused": "x"}}'
    client.send_command_input(shell_id, command_id, document[:10])
    client.send_command_input(shell_id, command_id, document[10:], end=True)
    stdout, stderr, code = client.get_command_output(shell_id, command_id)
    client.cleanup_command(shell_id, command_id)
    client.close_shell(shell_id)
    assert (code, stderr) == (0, b"")
    assert b'"computer_name":"HV03"' in stdout


def test_bad_password_is_rejected(lab):
    with pytest.raises(InvalidCredentialsError):
        session(lab, password="wrong-password").run_cmd("hostname")
    assert lab.admin.counters()["HV01"]["auth_failures"] >= 1


def test_unknown_shell_is_a_wsman_fault(lab):
    client = protocol(lab)
    with pytest.raises(WSManFaultError) as caught:
        client.run_command("00000000-0000-0000-0000-000000000000", "hostname")
    assert caught.value.wsman_fault_code == SHELL_NOT_FOUND
    assert caught.value.code == 500


def test_injected_wsman_fault_on_next_command(clean_faults):
    lab = clean_faults
    lab.admin.post("/faults", {"host": "HV01", "wsman_fault_next_command": {"code": 2147943418}})
    with pytest.raises(WSManFaultError) as caught:
        session(lab).run_cmd("hostname")
    assert caught.value.wsman_fault_code == 2147943418
    assert session(lab).run_cmd("hostname").status_code == 0, "the fault is one-shot"


def test_injected_operation_timeout_becomes_pywinrm_timeout(clean_faults):
    lab = clean_faults
    lab.admin.post("/faults", {"host": "HV01", "wsman_fault_next_command": {"code": OPERATION_TIMEOUT}})
    with pytest.raises(WinRMOperationTimeoutError):
        session(lab).run_cmd("hostname")


def test_connection_reset_surfaces_as_requests_connection_error(clean_faults):
    lab = clean_faults
    lab.admin.post("/faults", {"host": "HV02", "reset_after_requests": 1})  # Create passes, Command is reset
    with pytest.raises(requests.exceptions.ConnectionError):
        session(lab, "HV02").run_cmd("hostname")
    assert session(lab, "HV02").run_cmd("hostname").status_code == 0, "the reset is one-shot"


def test_latency_is_applied_per_request(clean_faults):
    import time

    lab = clean_faults
    lab.admin.post("/faults", {"host": "HV03", "latency_ms": 100})
    started = time.monotonic()
    session(lab, "HV03").run_cmd("hostname")   # Create, Command, Receive x2, Signal, Delete
    assert time.monotonic() - started >= 0.6


def test_counters_count_round_trips_per_command(lab):
    before = lab.admin.counters()["HV02"]
    session(lab, "HV02").run_cmd("hostname")
    after = lab.admin.counters()["HV02"]
    # The NTLM handshake (401 challenge, 401 with the server's CHALLENGE) authenticates the connection,
    # then Create, Command, Receive x2, Signal, Delete.
    assert after["requests"] - before["requests"] == 8
    assert after["by_action"]["auth-challenge"] - before["by_action"].get("auth-challenge", 0) == 2
    assert after["by_action"]["Receive"] - before["by_action"].get("Receive", 0) == 2
    assert after["bytes_in"] > before["bytes_in"] and after["bytes_out"] > before["bytes_out"]
