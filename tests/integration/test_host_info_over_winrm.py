"""host_info through the real stack: ansible-playbook → winrm connection (pywinrm) → the lab.

The lab is shared with other integration tests that change hosts, so every expectation is read
from the lab's own state (admin API) at the time of the run rather than from the estate file.
"""

from __future__ import annotations

from types import SimpleNamespace

import winrm.protocol
import yaml
from ansible.module_utils.common.text.converters import to_text
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import run_host_script

PLAYBOOK = "tests/integration/playbooks/host_info.yml"
TASK = "Read the host"
GIB = 1024 ** 3


def _registry_value(state: dict, key: str, name: str):
    values = next((values for path, values in state["registry"].items() if path.lower() == key.lower()), {})
    return next((data for value_name, data in values.items() if value_name.lower() == name.lower()), None)


def _commands_since(lab, seq: int) -> list[dict]:
    return [entry for entry in lab.admin.log(since=seq) if entry["seq"] > seq]


def test_returns_what_the_lab_state_holds(lab, ansible_playbook):
    run = ansible_playbook(PLAYBOOK)
    assert run.rc == 0, run.output
    for name in lab.admin.get("/hosts"):
        host_name = name if isinstance(name, str) else name["name"]
        state = lab.admin.host(host_name)
        info = run.result(host_name, TASK)
        assert info["changed"] is False
        assert info["computer_name"] == host_name
        assert info["os"]["build"] == state["os"]["build"]
        assert info["hyperv_role"] is state["hyperv_role"]
        assert info["dotnet"]["release"] == state["dotnet_release"]
        assert [vm["name"] for vm in info["vms"]] == [vm["name"] for vm in state["vms"]]
        assert [vm["id"] for vm in info["vms"]] == [vm["id"] for vm in state["vms"]]
        for vm_info, vm_state in zip(info["vms"], state["vms"]):
            assert [disk["path"] for disk in vm_info["disks"]] == [disk["path"] for disk in vm_state["disks"]]
            assert [disk["size_bytes"] for disk in vm_info["disks"]] == [disk["size_bytes"] for disk in vm_state["disks"]]
            assert vm_info["state"] == vm_state["state"]
        assert info["provider"]["installed"] is (state["provider_version"] is not None)
        threads = _registry_value(state, r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication", "UploadThreadsPerVM")
        assert info["upload_threads"] == {"value": threads if threads is not None else 4, "configured": threads is not None}


def test_cluster_nodes_name_each_other_and_the_standalone_host_has_no_cluster(lab, ansible_playbook):
    run = ansible_playbook(PLAYBOOK)
    assert run.rc == 0, run.output
    assert run.result("HV01", TASK)["cluster"] is None
    for node, other in (("HV02", "HV03"), ("HV03", "HV02")):
        cluster = run.result(node, TASK)["cluster"]
        assert cluster["name"] == "HVCLU01"
        assert {member["name"] for member in cluster["nodes"]} == {node, other}


def test_readiness_warns_about_a_disk_larger_than_its_volume_free_space(lab, ansible_playbook):
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01"})
    assert run.rc == 0, run.output
    warnings = run.result("HV01", TASK)["readiness"]["warnings"]
    low_space = [warning for warning in warnings if warning["code"] == "low_disk_space"]
    assert len(low_space) == 1, warnings
    assert "E:" in low_space[0]["msg"] and "file01-data.vhdx" in low_space[0]["msg"], low_space


def test_changes_nothing_and_runs_exactly_one_command_per_host(lab, ansible_playbook):
    hosts = ["HV01", "HV02", "HV03"]
    before = {name: lab.admin.host(name) for name in hosts}
    seq = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK)
    assert run.rc == 0, run.output
    commands = _commands_since(lab, seq)
    assert sorted(entry["host"] for entry in commands) == hosts, commands
    assert {(entry["kind"], entry["name"]) for entry in commands} == {("host_script", "host_info/1")}, commands
    assert {name: lab.admin.host(name) for name in hosts} == before


def test_check_mode_runs_it_as_usual(lab, ansible_playbook):
    run = ansible_playbook(PLAYBOOK, check=True, extra_vars={"target": "HV02"})
    assert run.rc == 0, run.output
    assert run.result("HV02", TASK)["cluster"]["name"] == "HVCLU01"


def test_wrong_password_is_unreachable_and_sends_no_command(lab, ansible_playbook, tmp_path):
    override = tmp_path / "wrong-password.yml"
    override.write_text(yaml.safe_dump({"all": {"hosts": {"HV01": {"ansible_password": "not-the-password"}}}}))
    seq = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, "-i", str(override), extra_vars={"target": "HV01"})
    assert run.rc == 4, run.output   # ansible-playbook's exit code for unreachable hosts
    assert run.stats["HV01"]["unreachable"] == 1
    assert "credentials were rejected" in run.output
    assert "not-the-password" not in run.output
    assert _commands_since(lab, seq) == []


def test_wsman_fault_fails_the_task_clearly(lab, ansible_playbook):
    lab.admin.post("/faults", {"host": "HV02", "wsman_fault_next_command": {"code": 2150858770}})
    try:
        run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV02:HV03"})
    finally:
        lab.admin.delete("/faults")
    assert run.rc != 0
    assert run.stats["HV03"]["failures"] == 0 and run.stats["HV03"]["unreachable"] == 0
    failed = run.stats["HV02"]["failures"] + run.stats["HV02"]["unreachable"]
    assert failed == 1, run.output
    assert "2150858770" in run.output or "WSManFault" in run.output, run.output


def test_connection_reset_fails_the_task_clearly_and_a_rerun_succeeds(lab, ansible_playbook):
    lab.admin.post("/faults", {"host": "HV03", "reset_after_requests": 2})
    try:
        run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV03"})
    finally:
        lab.admin.delete("/faults")
    assert run.rc != 0
    assert run.stats["HV03"]["failures"] + run.stats["HV03"]["unreachable"] == 1, run.output
    assert "reset" in run.output.lower() or "connection" in run.output.lower(), run.output

    rerun = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV03"})
    assert rerun.rc == 0, rerun.output
    assert rerun.result("HV03", TASK)["computer_name"] == "HV03"


def test_host_report_prints_every_host(lab, ansible_playbook):
    run = ansible_playbook("playbooks/host_report.yml")
    assert run.rc == 0, run.output
    assert run.stats.keys() == {"HV01", "HV02", "HV03"}
    assert "Cluster: HVCLU01: HV02 Up, HV03 Up" in run.stdout
    assert "Cluster: none (standalone host)" in run.stdout


# --- names that are not ASCII ---------------------------------------------------------------------

NON_ASCII_VMS = {"HV01": ("Prüf-VM", "D:\\Hyper-V\\Prüf-VM\\Prüf-VM-Système.vhdx"),
                 "HV02": ("テスト", "C:\\ClusterStorage\\Volume1\\テスト\\テスト-os.vhdx")}


def test_non_ascii_vm_names_and_paths_arrive_exactly_over_ansible_winrm(lab, ansible_playbook):
    """Ansible's winrm connection opens its shell with code page 65001."""
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01:HV02"})
    assert run.rc == 0, run.output
    for host, (name, path) in NON_ASCII_VMS.items():
        vms = {vm["name"]: vm for vm in run.result(host, TASK)["vms"]}
        assert name in vms, list(vms)
        assert [disk["path"] for disk in vms[name]["disks"]] == [path]


class ConnectionAction:
    """What run_host_script uses of an action plugin, over a real connection: its shell and one command."""

    def __init__(self, connection):
        self._connection = connection
        self._play_context = SimpleNamespace(remote_addr=connection.get_option("remote_addr"))

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None):
        rc, stdout, stderr = self._connection.exec_command(cmd, in_data=in_data, sudoable=sudoable)
        # As ActionBase._low_level_execute_command decodes them.
        return {"rc": rc, "stdout": to_text(stdout, errors="surrogate_then_replace"),
                "stderr": to_text(stderr, errors="surrogate_then_replace")}


def _winrm_connection(lab, name: str):
    host = lab.host(name)
    connection = connection_loader.get("winrm", PlayContext())
    extras = {"ansible_winrm_server_cert_validation": "validate", "ansible_winrm_ca_trust_path": lab.ca_path}
    connection.set_options(var_options={
        "_extras": extras, "ansible_host": host["address"], "ansible_port": host["port"],
        "ansible_user": host["username"], "ansible_password": host["password"],
        "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "https", **extras})
    return connection


def test_non_ascii_vm_names_arrive_exactly_over_a_shell_in_code_page_437(lab, monkeypatch):
    """Ansible's winrm connection always asks for 65001; a console left in its OEM code page (437, as over SSH)
    is the case the collection's ASCII-escaped JSON exists for. The collection's runner, over Ansible's winrm
    connection, with pywinrm made to open its shell in 437."""
    open_shell = winrm.protocol.Protocol.open_shell
    monkeypatch.setattr(winrm.protocol.Protocol, "open_shell", lambda self, *args, **kwargs: open_shell(self, *args, **{**kwargs, "codepage": 437}))
    for host, (name, path) in NON_ASCII_VMS.items():
        connection = _winrm_connection(lab, host)
        try:
            document = run_host_script(ConnectionAction(connection), "host_info", {"gather_vms": True})
        finally:
            connection.close()
        vms = {vm["name"]: vm for vm in document["vms"]}
        assert name in vms, list(vms)
        assert [disk["path"] for disk in vms[name]["disks"]] == [path]
