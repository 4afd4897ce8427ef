"""playbooks/prepare_hosts.yml on the lab's estate (HV01 standalone, HV02 and HV03 in cluster HVCLU01).

A fresh estate goes to prepared in one run; the second run changes nothing and sends one command per host, a
run that changes a setting two (the lab's command log); the cluster checks warn about a node left out of the
run (not checked in this run), or fail with hyperv_host_strict_cluster.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import json

import pytest

from provider_lab import PROVIDER_VERSION, fast_clock, publish_setup_file, reset_host, vault_credentials

pytestmark = pytest.mark.lab

PLAYBOOK = "playbooks/prepare_hosts.yml"
ROLE = "azmigrate.hyperv.hyperv_host : "
CLUSTER_CHECK = ROLE + "Compare the nodes of each cluster in the play"
HOSTS = ("HV01", "HV02", "HV03")
STATE_TASK = ROLE + "Read the host and bring it to the desired state"
# What the role reads on every run, in one command: a bundle of these host scripts.
READ_SCRIPTS = ["host_info/1", "replication_provider_read/1", "upload_threads_read/1", "upload_throttle_read/1"]


@pytest.fixture()
def fresh_estate(lab):
    for name in HOSTS:
        reset_host(lab.admin, name)
    with fast_clock(lab.admin):
        yield lab
    for name in HOSTS:
        reset_host(lab.admin, name)


@pytest.fixture()
def prepare_vars(lab):
    setup = publish_setup_file(lab.admin)
    return {
        "hyperv_host_setup_file_url": setup["url"], "hyperv_host_setup_file_sha256": setup["sha256"],
        "hyperv_host_vault_credentials_content": vault_credentials(lab.admin),
        "hyperv_host_upload_threads": 8,
        "hyperv_host_throttle": {"enabled": True, "work_hour_start": "08:00", "work_hour_end": "18:00",
                                 "work_hour_bandwidth": "100 Mbps", "non_work_hour_bandwidth": "1023 Mbps"},
        "prepare_hosts_serial": [1, "100%"], "prepare_hosts_max_fail_percentage": 0,
    }


def test_fresh_estate_is_prepared_in_one_run_and_the_second_run_is_one_command_per_host(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars=prepare_vars)
    assert run.rc == 0, run.output
    # A first install is two commands too: the read, then the provider's steps with the settings after the install.
    install = ("bundle/1", ["replication_provider_apply/1", "upload_threads_set/2", "upload_throttle_set/2"])
    assert commands_by_host(lab, since) == {name: [("bundle/1", READ_SCRIPTS), install] for name in HOSTS}
    for name in HOSTS:
        assert run.stats[name]["failures"] == 0 and run.stats[name]["changed"] >= 1, run.stats
        state = run.result(name, STATE_TASK)
        assert state["host_commands"] == 2
        assert state["provider"]["changed"] and state["upload_threads"]["changed"] and state["upload_throttle"]["changed"], state
        host = lab.admin.host(name)
        assert host["provider_version"] == PROVIDER_VERSION
        assert host["registry"][r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"]["UploadThreadsPerVM"] == 8
    assert {entry["host"] for entry in lab.admin.get("/provider-registrations")} >= set(HOSTS)

    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars=prepare_vars)
    assert run.rc == 0, run.output
    assert all(run.stats[name]["changed"] == 0 for name in HOSTS), run.stats
    for name in HOSTS:
        sent = lab.admin.log(host=name, since=since)
        assert [(entry["name"], entry.get("parts")) for entry in sent] == [("bundle/1", READ_SCRIPTS)], f"{name}: {sent}"
        assert run.result(name, STATE_TASK)["host_commands"] == 1


def test_check_mode_on_a_fresh_estate_changes_nothing(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    before = {name: lab.admin.host(name)["registry"] for name in HOSTS}
    run = ansible_playbook(PLAYBOOK, extra_vars=prepare_vars, check=True, diff=True)
    assert run.rc == 0, run.output
    assert all(run.stats[name]["changed"] >= 1 for name in HOSTS)
    assert {name: lab.admin.host(name)["registry"] for name in HOSTS} == before


def test_a_cluster_node_left_out_is_a_warning_or_with_strict_cluster_a_failure(fresh_estate, ansible_playbook, prepare_vars):
    one_wave = {**prepare_vars, "prepare_hosts_serial": "100%"}
    run = ansible_playbook(PLAYBOOK, extra_vars=one_wave, limit="HV01,HV02")
    assert run.rc == 0, run.output
    check = run.result("HV01", CLUSTER_CHECK)
    assert check["clusters"]["HVCLU01"]["missing"] == ["HV03"]
    assert any("node HV03" in warning for warning in check["warnings"])

    run = ansible_playbook(PLAYBOOK, extra_vars={**one_wave, "hyperv_host_strict_cluster": True}, limit="HV01,HV02")
    assert run.rc != 0
    assert "node HV03 (state Up) was not checked in this run" in run.result("HV01", CLUSTER_CHECK)["msg"]


def test_a_blocked_host_fails_the_readiness_gate_and_the_others_go_on(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    lab.admin.patch("/hosts/HV01", {"domain_role": 5})
    try:
        run = ansible_playbook(PLAYBOOK, extra_vars={**prepare_vars, "prepare_hosts_serial": "100%", "prepare_hosts_max_fail_percentage": 50})
    finally:
        lab.admin.patch("/hosts/HV01", {"domain_role": 3})
    assert run.rc != 0
    assert "domain controller" in run.result("HV01", STATE_TASK)["msg"]
    assert lab.admin.host("HV01")["provider_version"] is None
    assert lab.admin.host("HV02")["provider_version"] == PROVIDER_VERSION


def commands_by_host(lab, since):
    """Each host's commands since `since`: (name, parts) per command, from the lab's command log."""
    return {name: [(entry["name"], entry.get("parts")) for entry in lab.admin.log(host=name, since=since)] for name in HOSTS}


def test_a_settings_change_is_one_read_and_one_write_per_host(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    assert ansible_playbook(PLAYBOOK, extra_vars=prepare_vars).rc == 0
    changed_vars = {**prepare_vars, "hyperv_host_upload_threads": 16, "hyperv_host_download_threads": 6,
                    "hyperv_host_throttle": {**prepare_vars["hyperv_host_throttle"], "work_hour_bandwidth": "50 Mbps"}}

    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars=changed_vars, diff=True)
    assert run.rc == 0, run.output
    writes = ("bundle/1", ["upload_threads_set/2", "upload_throttle_set/2"])
    assert commands_by_host(lab, since) == {name: [("bundle/1", READ_SCRIPTS), writes] for name in HOSTS}
    for name in HOSTS:
        state = run.result(name, STATE_TASK)
        assert state["changed"] and state["host_commands"] == 2 and not state["provider"]["changed"], state
        assert state["upload_threads"]["changed_values"] == ["DownloadThreadsPerVM", "UploadThreadsPerVM"]
        assert state["upload_throttle"]["changed_fields"] == ["work_hour_bandwidth"]
        assert [diff["before_header"] for diff in state["diff"]] == [
            f"{name}: provider and registration", f"{name}: HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication",
            f"{name}: throttle (Get-OBMachineSetting)"]
        replication = lab.admin.host(name)["registry"][r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"]
        assert (replication["UploadThreadsPerVM"], replication["DownloadThreadsPerVM"]) == (16, 6)

    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars=changed_vars)
    assert run.rc == 0 and all(run.stats[name]["changed"] == 0 for name in HOSTS), run.stats
    assert commands_by_host(lab, since) == {name: [("bundle/1", READ_SCRIPTS)] for name in HOSTS}


def test_check_mode_on_a_prepared_estate_is_one_read_per_host(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    assert ansible_playbook(PLAYBOOK, extra_vars=prepare_vars).rc == 0
    before = {name: lab.admin.host(name)["registry"] for name in HOSTS}
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={**prepare_vars, "hyperv_host_upload_threads": 2}, check=True, diff=True)
    assert run.rc == 0, run.output
    assert commands_by_host(lab, since) == {name: [("bundle/1", READ_SCRIPTS)] for name in HOSTS}
    assert all(run.result(name, STATE_TASK)["upload_threads"]["after"]["upload_threads"]["value"] == 2 for name in HOSTS)
    assert {name: lab.admin.host(name)["registry"] for name in HOSTS} == before


def test_a_bad_setting_fails_every_host_before_any_command(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    since = lab.admin.last_seq()
    bad_throttle = {**prepare_vars["hyperv_host_throttle"], "work_hour_end": "07:00"}
    run = ansible_playbook(PLAYBOOK, extra_vars={**prepare_vars, "hyperv_host_throttle": bad_throttle, "prepare_hosts_serial": "100%"})
    assert run.rc != 0
    for name in HOSTS:
        assert "work_hour_end '07:00' is not after work_hour_start '08:00'" in run.result(name, STATE_TASK)["msg"]
    assert lab.admin.log(since=since) == []


def test_a_key_for_another_vault_fails_every_host_before_any_command(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={**prepare_vars, "hyperv_host_vault_name": "another-vault",
                                                 "prepare_hosts_serial": "100%"})
    assert run.rc != 0
    for name in HOSTS:
        message = run.result(name, STATE_TASK)["msg"]
        assert "not for vault_name 'another-vault'" in message, message
        assert lab.admin.host(name)["provider_version"] is None
    assert lab.admin.log(since=since) == []


def test_the_vault_credentials_stay_out_of_output_and_the_lab_log(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars=prepare_vars, verbosity=4)
    assert run.rc == 0, run.output
    secret = prepare_vars["hyperv_host_vault_credentials_content"]
    needle = secret[secret.index("<ChannelIntegrityKey>"):][:60] if "<ChannelIntegrityKey>" in secret else secret[-60:]
    assert needle not in run.output and needle not in run.stderr
    applies = [entry for entry in lab.admin.log(since=since) if "replication_provider_apply/1" in (entry.get("parts") or [])]
    assert applies and all(entry["secret_keys"] == ["setup_file_url", "vault_credentials"] for entry in applies), applies
    assert needle not in json.dumps(lab.admin.log(since=since))


def test_the_opt_in_agent_restart_follows_a_settings_change_only(fresh_estate, ansible_playbook, prepare_vars):
    lab = fresh_estate
    restart = ROLE + "Restart the Recovery Services agent"
    opted_in = {**prepare_vars, "hyperv_host_restart_agent": True, "prepare_hosts_serial": "100%"}
    assert ansible_playbook(PLAYBOOK, extra_vars=opted_in).rc == 0

    run = ansible_playbook(PLAYBOOK, extra_vars=opted_in)
    assert run.rc == 0 and not [entry for entry in run.results if entry["task"] == restart]

    since = lab.admin.last_seq()
    run = ansible_playbook(PLAYBOOK, extra_vars={**opted_in, "hyperv_host_upload_threads": 12}, limit="HV01")
    assert run.rc == 0, run.output
    handler = run.result("HV01", restart)
    assert not handler.get("failed") and not handler.get("skipped"), handler
    assert [entry["name"] for entry in lab.admin.log(host="HV01", since=since)][-1] == "ansible.windows.win_service"
