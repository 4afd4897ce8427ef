"""Real Ansible (CLI and connection plugin) against the lab's hosts."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess

import pytest

HAS_ANSIBLE_WINDOWS = importlib.util.find_spec("ansible_collections.ansible.windows") is not None
needs_ansible_windows = pytest.mark.skipif(
    not HAS_ANSIBLE_WINDOWS, reason="the ansible.windows collection is not installed (pip install ansible ships it)")


def ansible(lab, ansible_bin, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ansible_bin / "ansible"), "-i", str(lab.inventory), *args],
                          env=lab.ansible_env(), capture_output=True, text=True, timeout=120, check=False)


def test_raw_hostname_on_every_host(lab, ansible_bin):
    result = ansible(lab, ansible_bin, "hyperv_hosts", "-m", "ansible.builtin.raw", "-a", "hostname")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("HV01", "HV02", "HV03"):
        assert f"{name} | CHANGED | rc=0 >>\n{name}" in result.stdout


def test_inventory_groups(lab, ansible_bin):
    result = subprocess.run([str(ansible_bin / "ansible-inventory"), "-i", str(lab.inventory), "--list"],
                            env=lab.ansible_env(), capture_output=True, text=True, timeout=60, check=False)
    inventory = json.loads(result.stdout)
    assert sorted(inventory["hyperv_hosts"]["hosts"]) == ["HV01", "HV02", "HV03"]
    assert sorted(inventory["HVCLU01"]["hosts"]) == ["HV02", "HV03"]
    assert inventory["standalone_hosts"]["hosts"] == ["HV01"]
    hv01 = inventory["_meta"]["hostvars"]["HV01"]
    assert hv01["ansible_winrm_server_cert_validation"] == "validate"
    assert hv01["ansible_winrm_ca_trust_path"] == lab.ca_path


@needs_ansible_windows
def test_win_ping(lab, ansible_bin):
    result = ansible(lab, ansible_bin, "hyperv_hosts", "-m", "ansible.windows.win_ping")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count('"ping": "pong"') == 3
    entry = lab.admin.log(host="HV01")[-1]
    assert (entry["kind"], entry["name"]) == ("module", "ansible.windows.win_ping")


@needs_ansible_windows
def test_win_copy_puts_the_file_with_its_sha1(lab, ansible_bin, tmp_path):
    source = tmp_path / "vault.txt"
    source.write_bytes(b"lab payload\n" * 50000)   # > one 250 kB put_file block
    dest = r"C:\Staging\vault.txt"
    args = json.dumps({"src": str(source), "dest": dest})   # JSON: k=v would read "\\v" as an escape
    result = ansible(lab, ansible_bin, "HV01", "-m", "ansible.windows.win_copy", "-a", args)
    assert result.returncode == 0, result.stdout + result.stderr
    files = lab.admin.host("HV01")["files"]
    assert files[dest]["sha1"] == hashlib.sha1(source.read_bytes()).hexdigest()
    assert not [path for path in files if "ansible-tmp-" in path], "the temp directory is cleaned up"
    again = ansible(lab, ansible_bin, "HV01", "-m", "ansible.windows.win_copy", "-a", args)
    assert '"changed": false' in again.stdout


@needs_ansible_windows
def test_module_arguments_of_a_no_log_task_are_masked(lab, ansible_bin, tmp_path):
    playbook = tmp_path / "no_log.yml"
    playbook.write_text("- hosts: HV03\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.windows.win_ping: {data: classified-data}\n      no_log: true\n")
    result = subprocess.run([str(ansible_bin / "ansible-playbook"), "-i", str(lab.inventory), str(playbook)],
                            env=lab.ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    entry = lab.admin.log(host="HV03")[-1]
    assert entry["params"] == {"data": "********"}
    assert "classified-data" not in (lab.state_dir / "commands.log").read_text()


def winrm_connection(lab, name: str):
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    host = lab.host(name)
    connection = connection_loader.get("winrm", PlayContext())
    extras = {"ansible_winrm_server_cert_validation": "validate", "ansible_winrm_ca_trust_path": lab.ca_path}
    connection.set_options(var_options={
        "_extras": extras, "ansible_host": host["address"], "ansible_port": host["port"],
        "ansible_user": host["username"], "ansible_password": host["password"],
        "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "https", **extras})
    return connection


def test_connection_plugin_put_file(lab, tmp_path):
    source = tmp_path / "setup.bin"
    source.write_bytes(bytes(range(256)) * 2000)
    connection = winrm_connection(lab, "HV03")
    try:
        connection.put_file(str(source), r"C:\Installers\setup.bin")   # raises if the SHA-1 differs
    finally:
        connection.close()
    entry = lab.admin.log(host="HV03")[-1]
    assert (entry["kind"], entry["params"]["Path"]) == ("put_file", r"C:\Installers\setup.bin")
    assert lab.admin.host("HV03")["files"][r"C:\Installers\setup.bin"]["sha1"] == \
        hashlib.sha1(source.read_bytes()).hexdigest()


def test_connection_plugin_runs_a_host_script_with_stdin(lab):
    connection = winrm_connection(lab, "HV02")
    script = "# azmigrate-host-script: host_info/1\n$stdin = @($input) -join \"`n\"\n"
    document = {"params": {"gather_vms": True}, "secrets": {"vault_credentials": "do-not-log-me"}}
    try:
        rc, stdout, stderr = connection.exec_command(script, in_data=json.dumps(document).encode())
    finally:
        connection.close()
    assert rc == 0, stderr
    assert json.loads(stdout)["computer_name"] == "HV02"
    entry = lab.admin.log(host="HV02")[-1]
    assert (entry["kind"], entry["name"], entry["secret_keys"]) == ("host_script", "host_info/1",
                                                                    ["vault_credentials"])
    assert "do-not-log-me" not in (lab.state_dir / "commands.log").read_text()
