"""A host whose PowerShell runs in ConstrainedLanguage, through the real stack (ansible-playbook → winrm → the lab).

Under a WDAC or AppLocker policy that enforces script rules, PowerShell runs a WinRM command line in
ConstrainedLanguage, where the host scripts' .NET calls are refused. The bootstrap's guard stops before any of
them: the task fails after one command, naming the host and the language mode, and the host is left as it was.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab

HOST = "HV01"
HOST_INFO = ("tests/integration/playbooks/host_info.yml", "Read the host")
HOST_STATE = ("tests/integration/playbooks/hyperv_host_state.yml", "Host state")


@pytest.fixture()
def constrained_host(lab):
    lab.admin.patch(f"/hosts/{HOST}", {"language_mode": "ConstrainedLanguage"})
    yield lab
    lab.admin.patch(f"/hosts/{HOST}", {"language_mode": "FullLanguage"})


def _expected_start(lab) -> str:
    return f"host {HOST} ({lab.host(HOST)['address']}) runs Windows PowerShell in ConstrainedLanguage mode, but the collection's host scripts need FullLanguage"


def _only_the_refused_bootstrap(lab, since: int) -> None:
    sent = lab.admin.log(host=HOST, since=since)
    assert [(entry["kind"], entry["name"]) for entry in sent] == [("rejected", "host script bootstrap in ConstrainedLanguage")], sent


def test_host_info_fails_naming_the_language_mode_after_one_command(constrained_host, ansible_playbook):
    lab = constrained_host
    before = lab.admin.host(HOST)
    since = lab.admin.last_seq()
    run = ansible_playbook(HOST_INFO[0], extra_vars={"target": HOST})
    assert run.rc != 0
    result = run.result(HOST, HOST_INFO[1])
    assert run.stats[HOST]["failures"] == 1 and result["rc"] == 1
    assert result["msg"].startswith(_expected_start(lab)), result["msg"]
    assert "WDAC" in result["msg"] and "AppLocker" in result["msg"]
    _only_the_refused_bootstrap(lab, since)
    assert lab.admin.host(HOST) == before


def test_hyperv_host_state_fails_the_same_way_and_changes_nothing(constrained_host, ansible_playbook):
    lab = constrained_host
    before = lab.admin.host(HOST)
    since = lab.admin.last_seq()
    run = ansible_playbook(HOST_STATE[0], extra_vars={"target": HOST, "state_upload_threads": 8})
    assert run.rc != 0
    result = run.result(HOST, HOST_STATE[1])
    assert run.stats[HOST]["failures"] == 1 and result["host_commands"] == 1
    assert result["msg"].startswith(_expected_start(lab)), result["msg"]
    _only_the_refused_bootstrap(lab, since)
    assert lab.admin.host(HOST) == before


def test_back_in_full_language_the_same_task_runs(lab, ansible_playbook):
    assert lab.admin.host(HOST)["language_mode"] == "FullLanguage"
    run = ansible_playbook(HOST_INFO[0], extra_vars={"target": HOST})
    assert run.rc == 0, run.output
    assert run.result(HOST, HOST_INFO[1])["computer_name"] == HOST
