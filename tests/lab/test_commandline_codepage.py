"""The lab runs a command as cmd.exe and the console would: the 8,191-character limit, the shell's code page
(WINRS_CODEPAGE) for raw output, CLIXML for what PowerShell writes to stderr, and the collection's bootstrap."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from ansible.plugins.shell.powershell import ShellModule
from hostscript import protocol, run_command, run_host_script
from labfixture import AdminError
from winrm.exceptions import WSManFaultError

from lab.winrm.shell import shell_codepage

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import (
    SCRIPT_END,
    bootstrap_command,
    decode_clixml,
    load_host_script,
)

MARKER = "# azmigrate-host-script: host_info/1"
GATHER = {"gather_vms": True}
TOO_LONG = b"The command line is too long.\r\n"
NON_ASCII_VMS = {"HV01": "Prüf-VM", "HV02": "テスト"}


def _old_transport_command(script_text: str) -> str:
    """How the collection sent a host script before: the whole script as -EncodedCommand."""
    return ShellModule()._encode_script(script_text, strict_mode=False, preserve_rc=False)


def _vm_names(document: dict) -> list[str]:
    return [vm["name"] for vm in document["vms"]]


# --- cmd.exe: 8,191 characters ----------------------------------------------------------------------

def test_a_command_line_of_8191_characters_runs_and_one_more_is_refused(lab):
    # "echo " + argument: cmd.exe counts the whole line.
    stdout, stderr, code = run_command(lab, "HV01", "echo " + "x" * (8191 - 5), None)
    assert (code, stderr, stdout) == (0, b"", b"x" * 8186 + b"\r\n")
    stdout, stderr, code = run_command(lab, "HV01", "echo " + "x" * (8192 - 5), None)
    assert (code, stdout, stderr) == (1, b"", TOO_LONG)
    entry = lab.admin.log(host="HV01")[-1]
    assert (entry["kind"], entry["command_line_chars"], entry["exit_code"]) == ("rejected", 8192, 1)


def test_the_old_transport_fails_through_ansible_with_cmd_exe_message(lab, ansible_bin):
    """host_info/1 sent as -EncodedCommand (the collection's former transport) is 25,000+ characters."""
    script_text = load_host_script("host_info").text
    assert len(_old_transport_command(script_text)) > 8191
    result = subprocess.run([str(ansible_bin / "ansible"), "-i", str(lab.inventory), "HV01", "-m", "ansible.builtin.raw",
                             "-a", script_text], env=lab.ansible_env(), capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode != 0, result.stdout
    assert "HV01 | FAILED | rc=1 >>" in result.stdout
    assert "The command line is too long." in result.stdout
    entry = lab.admin.log(host="HV01")[-1]
    assert entry["kind"] == "rejected" and entry["command_line_chars"] > 8191


def test_skipping_cmd_exe_lifts_the_limit(lab):
    command = _old_transport_command(load_host_script("host_info").text)
    request = json.dumps({"params": GATHER, "secrets": {}}).encode()
    stdout, stderr, code = run_command(lab, "HV01", command, request, skip_cmd_shell=True)
    assert (code, stderr) == (0, b"")
    assert json.loads(stdout)["computer_name"] == "HV01"
    stdout, stderr, code = run_command(lab, "HV01", command, request)
    assert (code, stdout, stderr) == (1, b"", TOO_LONG)


def test_the_bootstrap_command_is_short_whatever_the_script(lab):
    text = load_host_script("host_info").text
    code, info, stderr = run_host_script(lab, "HV01", MARKER, params=GATHER, script=text + "\n" + "$pad = 1\n" * 20000)
    assert (code, stderr) == (0, b"")
    assert info["computer_name"] == "HV01"
    assert lab.admin.log(host="HV01")[-1]["command_line_chars"] == len(bootstrap_command(ShellModule())) < 1000


# --- the bootstrap's stdin --------------------------------------------------------------------------

def test_the_bootstrap_without_the_nul_line_fails_loudly_as_clixml(lab):
    stdout, stderr, code = run_command(lab, "HV01", bootstrap_command(ShellModule()), f"{MARKER}\n{{}}".encode())
    assert (code, stdout) == (1, b"")
    assert stderr.startswith(b"#< CLIXML\r\n")
    assert decode_clixml(stderr.decode()) == (
        "lab: the host script bootstrap got no line of four NULs on stdin (script, NUL line, request)")


def test_the_bootstrap_with_a_script_that_is_no_host_script_fails_loudly(lab):
    payload = f"Remove-VM -Name web01 -Force\n{SCRIPT_END}\n{{}}".encode()
    stdout, stderr, code = run_command(lab, "HV01", bootstrap_command(ShellModule()), payload)
    assert (code, stdout) == (1, b"")
    assert "not a host-script marker" in decode_clixml(stderr.decode())
    assert "Remove-VM" in decode_clixml(stderr.decode())
    assert [vm["name"] for vm in lab.admin.host("HV01")["vms"]][0] == "web01"


# --- code page --------------------------------------------------------------------------------------

@pytest.mark.parametrize("codepage", [65001, 437, 850, 932])
def test_the_collection_script_reports_non_ascii_names_exactly_in_every_code_page(lab, codepage):
    for host, name in NON_ASCII_VMS.items():
        code, info, stderr = run_host_script(lab, host, MARKER, params=GATHER, script=load_host_script("host_info").text,
                                             codepage=codepage)
        assert (code, stderr) == (0, b"")
        assert name in _vm_names(info)


def test_a_script_that_does_not_escape_non_ascii_breaks_under_code_page_437(lab):
    # Only the marker: no Write-HostScriptJson, so the document is written raw in the console's code page.
    code, info_437, dummy = run_host_script(lab, "HV01", MARKER, params=GATHER, codepage=437)
    stdout, stderr, code = run_command(lab, "HV01", bootstrap_command(ShellModule()),
                                       f"{MARKER}\n{SCRIPT_END}\n{json.dumps({'params': GATHER})}".encode(), codepage=437)
    assert code == 0
    assert "Pr\u00fcf-VM".encode("cp437") in stdout and "Pr\u00fcf-VM".encode("utf-8") not in stdout
    assert info_437 is None or "Prüf-VM" not in _vm_names(info_437)
    stdout, stderr, code = run_command(lab, "HV02", bootstrap_command(ShellModule()),
                                       f"{MARKER}\n{SCRIPT_END}\n{json.dumps({'params': GATHER})}".encode(), codepage=437)
    assert '"name":"???"'.encode() in stdout, "cp437 holds no katakana: the console writes ?"
    # The same raw output is exact when the shell was opened with 65001, as Ansible's winrm connection does.
    code, info_65001, dummy = run_host_script(lab, "HV02", MARKER, params=GATHER, codepage=65001)
    assert "テスト" in _vm_names(info_65001)


def test_a_code_page_the_lab_does_not_simulate_is_refused_at_create(lab):
    with pytest.raises(WSManFaultError) as caught:
        protocol(lab, "HV01").open_shell(codepage=1252)
    assert caught.value.wsman_fault_code == 2150858817


# --- CLIXML on stderr -------------------------------------------------------------------------------

def test_decode_clixml_reads_what_powershell_writes_for_an_unknown_command(lab):
    encoded = base64.b64encode("Get-NoSuchThing -Now".encode("utf-16-le")).decode()
    stdout, stderr, code = run_command(lab, "HV01", f"PowerShell -NoProfile -NonInteractive -EncodedCommand {encoded}", None)
    assert (code, stdout) == (1, b"")
    text = stderr.decode()
    assert text.startswith("#< CLIXML\r\n") and '<S S="Error">' in text and "_x000D__x000A_</S>" in text
    assert "Preparing modules for first use." in text, "the progress record a new powershell.exe writes"
    assert decode_clixml(text) == "lab: command not simulated: Get-NoSuchThing -Now"


def test_a_shell_created_without_a_code_page_writes_in_437():
    assert shell_codepage({}) == 437
    assert shell_codepage({"WINRS_CODEPAGE": "65001"}) == 65001


# --- what a command costs a real host ---------------------------------------------------------------

def test_each_command_costs_a_powershell_start_and_a_module_also_its_exec_wrapper(lab, ansible_bin):
    assert lab.admin.get("/costs") == {"powershell_start_ms": 600.0, "module_exec_ms": 450.0, "wait": False}
    run_host_script(lab, "HV01", MARKER, params=GATHER)
    assert lab.admin.log(host="HV01")[-1]["cost_ms"] == 600.0
    run_command(lab, "HV01", "hostname", None)
    assert lab.admin.log(host="HV01")[-1]["cost_ms"] == 0.0, "cmd.exe alone starts no PowerShell"
    lab.admin.post("/costs", {"module_exec_ms": 1000})
    try:
        result = subprocess.run([str(ansible_bin / "ansible"), "-i", str(lab.inventory), "HV01", "-m",
                                 "ansible.windows.win_ping"], env=lab.ansible_env(), capture_output=True, text=True,
                                timeout=120, check=False)
        assert result.returncode == 0, result.stdout
        entry = lab.admin.log(host="HV01")[-1]
        assert (entry["kind"], entry["cost_ms"]) == ("module", 1600.0)
    finally:
        lab.admin.post("/costs", {"module_exec_ms": 450.0})


def test_costs_refuse_what_is_not_a_duration(lab):
    for body in ({"powershell_start_ms": -1}, {"module_exec_ms": "fast"}, {"wait": "yes"}, {"speed": 1}):
        with pytest.raises(AdminError) as caught:
            lab.admin.post("/costs", body)
        assert caught.value.status == 400
