"""azmigrate.hyperv.hyperv_host_state used on its own (the role's use is tests/integration/test_prepare_hosts.py).

Bad input fails before any command reaches a host; a read of only the host is one command with host_info alone.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import pytest

from provider_lab import publish_setup_file, reset_host, vault_credentials

pytestmark = pytest.mark.lab

PLAYBOOK = "tests/integration/playbooks/hyperv_host_state.yml"
TASK = "Host state"


@pytest.fixture()
def fresh_hv01(lab):
    reset_host(lab.admin, "HV01")
    yield lab
    reset_host(lab.admin, "HV01")


def test_only_reading_the_host_is_one_command_with_host_info_alone(fresh_hv01, ansible_playbook):
    lab = fresh_hv01
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01"})
    assert run.rc == 0, run.output
    result = run.result("HV01", TASK)
    assert result["changed"] is False and result["host_commands"] == 1
    assert result["host_info"]["computer_name"] == "HV01" and "provider" not in result and "ansible_facts" not in result
    assert [(entry["name"], entry["parts"]) for entry in lab.admin.log(host="HV01", since=since)] == [("bundle/1", ["host_info/1"])]


@pytest.mark.parametrize(("extra", "message"), [
    ({"state_provider": {"setup_file_url": "https://downloads.lab.test/x.exe", "setup_file_sha256": "not-a-hash"}},
     "provider: setup_file_sha256"),
    ({"state_provider": {"state": "absent", "removed_from_vault": True}, "state_upload_threads": 8},
     "provider.state 'absent' removes the Recovery Services agent, which upload_threads configure"),
    ({"state_upload_threads": 33}, "upload_threads 33 is not allowed: give a whole number of threads per VM from 1 to 32"),
    ({"state_throttle": {"work_hour_start": "08:00", "work_hour_end": "18:00", "work_hour_bandwidth": "2 Gbps",
                         "non_work_hour_bandwidth": "1 Mbps"}}, "work_hour_bandwidth '2 Gbps'"),
])
def test_bad_input_fails_before_any_command(fresh_hv01, ansible_playbook, extra, message):
    lab = fresh_hv01
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01", **extra})
    assert run.rc != 0
    assert message in run.result("HV01", TASK)["msg"]
    assert lab.admin.log(host="HV01", since=since) == []


def test_a_first_install_reads_the_settings_again_once_the_agent_runs(fresh_hv01, ansible_playbook):
    lab = fresh_hv01
    setup = publish_setup_file(lab.admin)
    provider = {"setup_file_url": setup["url"], "setup_file_sha256": setup["sha256"], "vault_credentials_content": vault_credentials(lab.admin)}
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01", "state_provider": provider, "state_upload_threads": 8})
    assert run.rc == 0, run.output
    result = run.result("HV01", TASK)
    assert result["provider"]["changed"] and result["upload_threads"]["changed"] and result["upload_threads"]["agent_installed"]
    sent = [(entry["name"], entry.get("parts")) for entry in lab.admin.log(host="HV01", since=since)]
    assert sent[0] == ("bundle/1", ["host_info/1", "replication_provider_read/1", "upload_threads_read/1"])
    # The registration comes back in the apply's document, as with replication_provider alone: no second read.
    assert ("replication_provider_read/1", None) not in sent, sent
    assert len(sent) == 4, sent
    assert sent[-2:] == [("bundle/1", ["upload_threads_read/1"]), ("bundle/1", ["upload_threads_set/1"])]
    assert result["host_commands"] == len(sent)
