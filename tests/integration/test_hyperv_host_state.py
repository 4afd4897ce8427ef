"""azmigrate.hyperv.hyperv_host_state used on its own (the role's use is tests/integration/test_prepare_hosts.py).

Bad input fails before any command reaches a host; a read of only the host is one command with host_info alone.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import pytest

from provider_lab import fast_clock, publish_setup_file, reset_host, vault_credentials

pytestmark = pytest.mark.lab

PLAYBOOK = "tests/integration/playbooks/hyperv_host_state.yml"
TASK = "Host state"


@pytest.fixture()
def fresh_hv01(lab):
    reset_host(lab.admin, "HV01")
    with fast_clock(lab.admin):     # an install takes minutes of lab time
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


def test_a_first_install_is_two_commands_and_sets_the_settings_in_the_install_s_own(fresh_hv01, ansible_playbook):
    lab = fresh_hv01
    setup = publish_setup_file(lab.admin)
    provider = {"setup_file_url": setup["url"], "setup_file_sha256": setup["sha256"], "vault_credentials_content": vault_credentials(lab.admin)}
    throttle = {"work_hour_start": "08:00", "work_hour_end": "18:00", "work_hour_bandwidth": "100 Mbps", "non_work_hour_bandwidth": "1023 Mbps"}
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01", "state_provider": provider, "state_upload_threads": 8, "state_throttle": throttle},
                           diff=True)
    assert run.rc == 0, run.output
    result = run.result("HV01", TASK)
    sent = [(entry["name"], entry.get("parts")) for entry in lab.admin.log(host="HV01", since=since)]
    # Read everything, then one command: the provider's steps, and the settings right after the install, in the same
    # powershell.exe (which finds the new agent's module only by its full path: tests/lab/test_agent_module.py).
    assert sent == [("bundle/1", ["host_info/1", "replication_provider_read/1", "upload_threads_read/1", "upload_throttle_read/1"]),
                    ("bundle/1", ["replication_provider_apply/1", "upload_threads_set/2", "upload_throttle_set/2"])], sent
    assert result["host_commands"] == 2
    # Planned from what the set scripts replaced: the fresh agent's defaults, as a read first would have shown them.
    assert result["provider"]["changed"] and result["upload_threads"]["changed"] and result["upload_threads"]["agent_installed"]
    assert result["upload_threads"]["changed_values"] == ["UploadThreadsPerVM"]
    assert result["upload_threads"]["before"]["upload_threads"] == {"value": 4, "configured": False}
    assert result["upload_throttle"]["changed"] and result["upload_throttle"]["before"]["enabled"] is False
    assert result["upload_throttle"]["changed_fields"] == ["enabled"]
    assert [diff["before_header"] for diff in result["diff"]] == [
        "HV01: provider and registration", "HV01: HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication",
        "HV01: throttle (Get-OBMachineSetting)"]
    host = lab.admin.host("HV01")
    assert host["registry"]["HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication"]["UploadThreadsPerVM"] == 8
    assert host["mars_settings"]["throttle"]["work_hour_bandwidth"] == 100 * 1024 * 1024

    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={"target": "HV01", "state_provider": provider, "state_upload_threads": 8, "state_throttle": throttle})
    assert run.rc == 0 and run.result("HV01", TASK)["changed"] is False, run.output
    assert len(lab.admin.log(host="HV01", since=since)) == 1


def test_a_first_install_whose_agent_service_does_not_run_fails_naming_it_and_a_re_run_converges(fresh_hv01, ansible_playbook):
    lab = fresh_hv01
    setup = publish_setup_file(lab.admin)
    provider = {"setup_file_url": setup["url"], "setup_file_sha256": setup["sha256"], "vault_credentials_content": vault_credentials(lab.admin)}
    throttle = {"work_hour_start": "08:00", "work_hour_end": "18:00", "work_hour_bandwidth": "100 Mbps", "non_work_hour_bandwidth": "1023 Mbps"}
    extra = {"target": "HV01", "state_provider": provider, "state_upload_threads": 8, "state_throttle": throttle}
    lab.admin.post("/installers/HV01/faults", {"agent_service_stopped": True})
    run = ansible_playbook(PLAYBOOK, extra_vars=extra)
    assert run.rc != 0
    message = run.result("HV01", TASK)["msg"]
    assert "service obengine is Stopped, not Running: start it (Start-Service obengine)" in message, message
    assert "the provider's steps before it completed, and a re-run goes on from there" in message, message
    host = lab.admin.host("HV01")
    assert host["provider_version"] is not None and not (host["mars_settings"].get("throttle") or {}).get("enabled")

    lab.admin.patch("/hosts/HV01", {"services": {"obengine": {"status": "Running"}}})   # Start-Service obengine
    run = ansible_playbook(PLAYBOOK, extra_vars=extra)
    assert run.rc == 0, run.output
    result = run.result("HV01", TASK)
    assert not result["provider"]["changed"] and result["upload_throttle"]["changed"] and result["host_commands"] == 2
