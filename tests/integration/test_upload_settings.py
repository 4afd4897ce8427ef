"""upload_throttle (through playbooks/throttle.yml) and upload_threads against the lab, end to end.

ansible-playbook -> winrm connection -> the lab's simulated hosts. What is measured comes from the lab,
not from Ansible's word: the hosts' state (admin API GET /hosts/{name}) and the command log (one
entry per command a host ran, GET /log).

HV01 and HV02 get an installed, running Recovery Services agent for these tests; HV03 has none.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab

THROTTLE_PLAYBOOK = "playbooks/throttle.yml"
THREADS_PLAYBOOK = "tests/integration/playbooks/upload_threads.yml"
INVALID_PLAYBOOK = "tests/integration/playbooks/invalid_upload_settings.yml"
THROTTLE_TASK = "Set the throttle"
THREADS_TASK = "Set the threads"

WITH_AGENT = ("HV01", "HV02")
WITHOUT_AGENT = "HV03"
SETUP_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Setup"
REPLICATION_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication"
AGENT_PATH = "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"

THROTTLE_VARS = {
    "throttle_work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "throttle_work_hour_start": "08:00",
    "throttle_work_hour_end": "18:00",
    "throttle_work_hour_bandwidth": "10 Mbps",
    "throttle_non_work_hour_bandwidth": "100 Mbps",
}
# THROTTLE_VARS as Set-OBMachineSetting stores it: bytes per second (1 Mbps = 1,048,576 bytes/s).
STORED_THROTTLE = {
    "enabled": True,
    "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "work_hour_start": "08:00:00",
    "work_hour_end": "18:00:00",
    "work_hour_bandwidth": 10 * 1048576,
    "non_work_hour_bandwidth": 100 * 1048576,
}


def registry_values(host_state: dict, key: str) -> dict:
    """The values of one registry key from GET /hosts/{name} (key paths compare ignoring case)."""
    return next((values for path, values in host_state["registry"].items() if path.lower() == key.lower()), {})


def commands_since(lab, seq: int, host: str | None = None) -> list[tuple[str, str]]:
    """(host, kind/name) of every command the lab ran after ``seq``."""
    return [(entry["host"], f"{entry['kind']}:{entry['name']}") for entry in lab.admin.log(host=host, since=seq)]


def host_states(lab, names=("HV01", "HV02", "HV03")) -> dict[str, dict]:
    return {name: lab.admin.host(name) for name in names}


@pytest.fixture(name="hosts", scope="module")
def fixture_hosts(lab):
    """Install the agent on HV01 and HV02 for this module, and put back what it touched afterwards."""
    touched = {}
    for name in (*WITH_AGENT, WITHOUT_AGENT):
        state = lab.admin.host(name)
        touched[name] = {
            "registry": {SETUP_KEY: registry_values(state, SETUP_KEY) or None, REPLICATION_KEY: registry_values(state, REPLICATION_KEY) or None},
            "services": {"obengine": state["services"].get("obengine")},
            "mars_settings": state["mars_settings"],
        }
    yield lab
    for name, original in touched.items():
        lab.admin.patch(f"/hosts/{name}", {"registry": {SETUP_KEY: None, REPLICATION_KEY: None}})
        lab.admin.patch(f"/hosts/{name}", original)


@pytest.fixture(name="fresh")
def fixture_fresh(hosts):
    """Before each test: the agent on HV01 and HV02 with no throttle and no thread values; HV03 without it."""
    for name in WITH_AGENT:
        hosts.admin.patch(f"/hosts/{name}", {
            "registry": {SETUP_KEY: {"InstallPath": AGENT_PATH}, REPLICATION_KEY: None},
            "services": {"obengine": {"status": "Running", "start_type": "Automatic", "display_name": "Microsoft Azure Recovery Services Agent"}},
            "mars_settings": {},
        })
    hosts.admin.patch(f"/hosts/{WITHOUT_AGENT}", {"registry": {SETUP_KEY: None, REPLICATION_KEY: None}, "services": {"obengine": None}, "mars_settings": {}})
    return hosts


# --- upload_throttle through playbooks/throttle.yml ---------------------------------------------


def test_throttle_first_run_changes_and_second_run_sends_one_command_per_host(fresh, ansible_playbook):
    lab = fresh
    seq = lab.admin.last_seq()
    first = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV01,HV02")
    assert first.rc == 0, first.output
    for name in WITH_AGENT:
        assert first.stats[name]["changed"] == 1
        assert lab.admin.host(name)["mars_settings"]["throttle"] == STORED_THROTTLE
        assert first.result(name)["after"]["work_hour_bandwidth"] == {"bytes_per_second": 10485760, "kbps": 10240}
        assert first.result(name)["restart_recommended"] is False
        # One read, then one set that also reads back.
        assert [command for _host, command in commands_since(lab, seq, name)] == ["host_script:upload_throttle_read/1", "host_script:upload_throttle_set/2"]

    seq = lab.admin.last_seq()
    second = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV01,HV02")
    assert second.rc == 0, second.output
    assert {name: second.stats[name]["changed"] for name in WITH_AGENT} == {"HV01": 0, "HV02": 0}
    assert sorted(commands_since(lab, seq)) == [("HV01", "host_script:upload_throttle_read/1"), ("HV02", "host_script:upload_throttle_read/1")]


def test_throttle_check_diff_shows_each_hosts_before_and_after_and_changes_nothing(fresh, ansible_playbook):
    lab = fresh
    assert ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV01,HV02").rc == 0
    states_before = host_states(lab)
    seq = lab.admin.last_seq()

    run = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars={**THROTTLE_VARS, "throttle_work_hour_bandwidth": "20 Mbps"},
                           limit="HV01,HV02", check=True, diff=True)

    assert run.rc == 0, run.output
    for name in WITH_AGENT:
        assert run.stats[name]["changed"] == 1
        result = run.result(name)
        assert result["changed_fields"] == ["work_hour_bandwidth"]
        assert result["diff"]["before"]["work_hour_bandwidth"] == {"bytes_per_second": 10485760, "kbps": 10240}
        assert result["diff"]["after"]["work_hour_bandwidth"] == {"bytes_per_second": 20971520, "kbps": 20480}
        assert f"--- before: {name}: throttle (Get-OBMachineSetting)" in run.stdout
        assert f"+++ after: {name}: throttle (check mode)" in run.stdout
    assert '-        "bytes_per_second": 10485760,' in run.stdout
    assert '+        "bytes_per_second": 20971520,' in run.stdout
    # Nothing changed on any host, and the hosts were only read.
    assert host_states(lab) == states_before
    assert sorted(commands_since(lab, seq)) == [("HV01", "host_script:upload_throttle_read/1"), ("HV02", "host_script:upload_throttle_read/1")]


def test_throttle_off_and_on_again(fresh, ansible_playbook):
    lab = fresh
    assert ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV01").rc == 0

    off = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars={"throttle_enabled": False}, limit="HV01")
    assert off.rc == 0, off.output
    assert off.result("HV01")["changed_fields"] == ["enabled"]
    # The agent keeps the last schedule after -NoThrottle (greyed out in the MMC): only Enabled goes false.
    assert lab.admin.host("HV01")["mars_settings"]["throttle"] == {**STORED_THROTTLE, "enabled": False}
    assert ansible_playbook(THROTTLE_PLAYBOOK, extra_vars={"throttle_enabled": False}, limit="HV01").stats["HV01"]["changed"] == 0

    on = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV01")
    assert on.stats["HV01"]["changed"] == 1
    assert lab.admin.host("HV01")["mars_settings"]["throttle"] == STORED_THROTTLE


def test_throttle_on_a_host_without_the_agent_fails_clearly_and_the_others_go_on(fresh, ansible_playbook):
    lab = fresh
    seq = lab.admin.last_seq()
    run = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS)
    assert run.rc != 0
    assert run.result(WITHOUT_AGENT)["msg"] == f"the Recovery Services agent is not installed on {WITHOUT_AGENT}; run replication_provider first"
    assert commands_since(lab, seq, WITHOUT_AGENT) == [(WITHOUT_AGENT, "host_script:upload_throttle_read/1")]
    assert lab.admin.host(WITHOUT_AGENT)["mars_settings"] == {}
    # max_fail_percentage defaults to 100: the hosts with the agent are still set.
    assert all(run.stats[name]["changed"] == 1 for name in WITH_AGENT)


def test_throttle_with_the_agent_stopped_fails_naming_the_service(fresh, ansible_playbook):
    lab = fresh
    lab.admin.patch("/hosts/HV02", {"services": {"obengine": {"status": "Stopped"}}})
    run = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV02")
    assert run.rc != 0
    assert run.result("HV02")["msg"].startswith("the Recovery Services agent's service obengine is Stopped on HV02: start it")
    assert lab.admin.host("HV02")["mars_settings"] == {}


def old_guessed_enabled(throttle_setting: dict) -> bool:
    """How the collection used to read `enabled` (property names matched by wildcard on the ThrottleSetting
    sub-object, else `[bool]$workBandwidth`), applied to the object the lab's agent exposes."""
    for pattern in ("enabled", "throttl"):
        for name, value in throttle_setting.items():
            if pattern in name.lower() and isinstance(value, bool):
                return value
    work = next((value for name, value in throttle_setting.items() if name.lower().startswith("work") and "bandwidth" in name.lower()), None)
    return bool(work)


def test_no_throttle_reads_back_disabled_although_the_agent_keeps_the_bandwidths(fresh, ansible_playbook):
    lab = fresh
    assert ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV01").rc == 0
    off = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars={"throttle_enabled": False}, limit="HV01", diff=True)
    assert off.rc == 0, off.output
    assert off.result("HV01")["throttle"]["enabled"] is False and off.result("HV01")["throttle"]["work_hour_bandwidth"] is None
    # The agent kept the last schedule (greyed out in the MMC): only Enabled went false.
    kept = lab.admin.host("HV01")["mars_settings"]["throttle"]
    assert kept == {**STORED_THROTTLE, "enabled": False}
    assert ansible_playbook(THROTTLE_PLAYBOOK, extra_vars={"throttle_enabled": False}, limit="HV01").stats["HV01"]["changed"] == 0

    # An agent whose ThrottleSetting has no Enabled: the old wildcard read found no bool there and fell back to
    # [bool] of the kept work-hour bandwidth, "enabled". Now nothing is guessed: the read fails naming what is there.
    exposed = ["WorkDay", "StartWorkHour", "EndWorkHour", "WorkHourBandwidth", "NonWorkHourBandwidth"]
    assert old_guessed_enabled({"WorkHourBandwidth": kept["work_hour_bandwidth"], "NonWorkHourBandwidth": kept["non_work_hour_bandwidth"]}) is True
    lab.admin.patch("/hosts/HV01", {"mars_settings": {"throttle": kept, "throttle_properties": exposed}})
    run = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars={"throttle_enabled": False}, limit="HV01")
    assert run.rc != 0
    message = run.result("HV01")["msg"]
    assert "does not expose the throttle as expected" in message, message
    assert "its properties are EncryptionSetting, ProxySetting, ThrottleSetting" in message
    assert "ThrottleSetting's are WorkDay, StartWorkHour, EndWorkHour, WorkHourBandwidth, NonWorkHourBandwidth" in message
    assert lab.admin.host("HV01")["mars_settings"]["throttle"] == kept


def test_host_info_reports_a_throttle_the_agent_cannot_give_as_null_with_a_warning(fresh, ansible_playbook):
    lab = fresh
    busy = "The Microsoft Azure Recovery Services Agent is busy. Try again later."
    lab.admin.patch("/hosts/HV01", {"mars_settings": {"machine_setting_error": busy}})
    run = ansible_playbook("tests/integration/playbooks/host_info.yml", extra_vars={"target": "HV01", "gather_vms": False})
    assert run.rc == 0, run.output
    info = run.result("HV01", "Read the host")
    assert info["throttle"] is None and info["agent"]["installed"] is True
    assert info["warnings"] == [f"the throttle was not read (Get-OBMachineSetting): {busy}"]


# --- upload_threads ------------------------------------------------------------------------------


def test_threads_first_run_writes_dwords_and_second_run_sends_one_command_per_host(fresh, ansible_playbook):
    lab = fresh
    seq = lab.admin.last_seq()
    first = ansible_playbook(THREADS_PLAYBOOK, extra_vars={"upload_threads": 8, "download_threads": 6}, limit="HV01,HV02")
    assert first.rc == 0, first.output
    for name in WITH_AGENT:
        assert first.stats[name]["changed"] == 1
        assert registry_values(lab.admin.host(name), REPLICATION_KEY) == {"UploadThreadsPerVM": 8, "DownloadThreadsPerVM": 6}
        result = first.result(name)
        assert result["upload_threads"] == {"value": 8, "configured": True}
        assert result["before"]["upload_threads"] == {"value": 4, "configured": False}
        assert result["restart_recommended"] is True
        assert [command for _host, command in commands_since(lab, seq, name)] == ["host_script:upload_threads_read/1", "host_script:upload_threads_set/2"]

    seq = lab.admin.last_seq()
    second = ansible_playbook(THREADS_PLAYBOOK, extra_vars={"upload_threads": 8, "download_threads": 6}, limit="HV01,HV02")
    assert second.rc == 0, second.output
    assert {name: second.stats[name]["changed"] for name in WITH_AGENT} == {"HV01": 0, "HV02": 0}
    assert all(second.result(name)["restart_recommended"] is False for name in WITH_AGENT)
    assert sorted(commands_since(lab, seq)) == [("HV01", "host_script:upload_threads_read/1"), ("HV02", "host_script:upload_threads_read/1")]


def test_threads_check_diff_shows_before_and_after_and_changes_nothing(fresh, ansible_playbook):
    lab = fresh
    states_before = host_states(lab)
    seq = lab.admin.last_seq()
    run = ansible_playbook(THREADS_PLAYBOOK, extra_vars={"upload_threads": 16}, limit="HV01", check=True, diff=True)
    assert run.rc == 0, run.output
    assert run.result("HV01")["diff"]["after"]["upload_threads"] == {"value": 16, "configured": True}
    assert "--- before: HV01: HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication" in run.stdout
    assert host_states(lab) == states_before
    assert commands_since(lab, seq) == [("HV01", "host_script:upload_threads_read/1")]


def test_threads_without_the_agent_are_written_with_a_warning(fresh, ansible_playbook):
    lab = fresh
    run = ansible_playbook(THREADS_PLAYBOOK, extra_vars={"upload_threads": 12}, limit=WITHOUT_AGENT)
    assert run.rc == 0, run.output
    result = run.result(WITHOUT_AGENT)
    assert result["agent_installed"] is False and result["restart_recommended"] is False
    assert "the Recovery Services agent is not installed on HV03: the thread counts are stored and take effect once it is" in run.output
    assert registry_values(lab.admin.host(WITHOUT_AGENT), REPLICATION_KEY) == {"UploadThreadsPerVM": 12}


def test_a_threads_value_typed_as_a_string_is_replaced_by_a_dword(fresh, ansible_playbook):
    lab = fresh
    lab.admin.patch("/hosts/HV01", {"registry": {REPLICATION_KEY: {"UploadThreadsPerVM": "8"}}})
    run = ansible_playbook(THREADS_PLAYBOOK, extra_vars={"upload_threads": 8}, limit="HV01")
    assert run.stats["HV01"]["changed"] == 1, run.output
    assert run.result("HV01")["before"]["upload_threads"] == {"value": "8", "configured": True, "registry_type": "String"}
    assert registry_values(lab.admin.host("HV01"), REPLICATION_KEY) == {"UploadThreadsPerVM": 8}


# --- invalid input: refused before any command --------------------------------------------------

# (options, what the message must say: the option, the value given and what is allowed)
INVALID_THREADS = [
    ({"upload_threads": 0}, "upload_threads 0 is not allowed: give a whole number of threads per VM from 1 to 32"),
    ({"upload_threads": 33}, "upload_threads 33 is not allowed: give a whole number of threads per VM from 1 to 32"),
    ({"download_threads": -1}, "download_threads -1 is not allowed: give a whole number of threads per VM from 1 to 32"),
    ({"upload_threads": "eight"}, "argument 'upload_threads' is of type str and we were unable to convert to int"),
    ({}, "one of the following is required: upload_threads, download_threads"),
]
INVALID_THROTTLES = [
    ({"work_hour_bandwidth": "256 Kbps"}, "work_hour_bandwidth '256 Kbps' is 256 Kbps (262,144 bytes/s), outside the allowed 512 Kbps to 1023 Mbps"),
    ({"non_work_hour_bandwidth": "1024 Mbps"},
     "non_work_hour_bandwidth '1024 Mbps' is 1024 Mbps (1,073,741,824 bytes/s), outside the allowed 512 Kbps to 1023 Mbps"),
    ({"work_hour_bandwidth": 100}, "work_hour_bandwidth 100 is 100 Kbps (102,400 bytes/s), outside the allowed 512 Kbps to 1023 Mbps"),
    ({"work_hour_bandwidth": "100 Mbit/s"},
     "work_hour_bandwidth '100 Mbit/s' is not a throttle rate: throttle rate '100 Mbit/s' has unit 'mbit/s'; use one of gbps, kbps, mbps"),
    ({"work_hour_start": "25:00"}, "work_hour_start '25:00' is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59"),
    ({"work_hour_start": "18:00", "work_hour_end": "08:00"}, "work_hour_end '08:00' is not after work_hour_start '18:00'"),
    ({"work_days": ["Monday", "Funday"]}, "work_days has 'Funday', not day names: use Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday"),
    ({"work_days": []}, "work_days [] is empty: give at least one of Sunday"),
    ({"non_work_hour_bandwidth": None}, "enabled is true but non_work_hour_bandwidth is not set"),
    ({"enabled": "maybe"}, "argument 'enabled' is of type str and we were unable to convert to bool"),
]
VALID_THROTTLE_OPTIONS = {"work_hour_start": "08:00", "work_hour_end": "18:00", "work_hour_bandwidth": "10 Mbps", "non_work_hour_bandwidth": "100 Mbps"}


def throttle_case(overrides: dict) -> dict:
    """A valid throttle with ``overrides``; a None override leaves the option out."""
    return {key: value for key, value in {**VALID_THROTTLE_OPTIONS, **overrides}.items() if value is not None}


def test_every_invalid_input_fails_before_any_command_naming_option_value_and_what_is_allowed(fresh, ansible_playbook):
    lab = fresh
    states_before = host_states(lab)
    seq = lab.admin.last_seq()

    run = ansible_playbook(INVALID_PLAYBOOK, limit="HV01,HV02", extra_vars={
        "threads_cases": [options for options, _msg in INVALID_THREADS],
        "throttle_cases": [throttle_case(options) for options, _msg in INVALID_THROTTLES],
    })

    for name in WITH_AGENT:
        for task, cases in (("Try invalid threads", INVALID_THREADS), ("Try invalid throttles", INVALID_THROTTLES)):
            items = run.result(name, task)["results"]
            assert len(items) == len(cases), run.output
            for item, (options, expected) in zip(items, cases):
                assert item.get("failed") is True, f"{name} {task} {options}: {item}"
                assert expected in item["msg"], f"{name} {task} {options}: {item['msg']}"
    # Not one command reached a host, and nothing changed.
    assert commands_since(lab, seq) == []
    assert host_states(lab) == states_before


def test_an_unquoted_time_in_a_vars_file_is_refused_with_a_hint(fresh, ansible_playbook, tmp_path):
    lab = fresh
    vars_file = tmp_path / "throttle.yml"
    # YAML 1.1 reads 18:00 unquoted as the base-60 number 1080.
    vars_file.write_text("throttle_work_hour_start: '08:00'\nthrottle_work_hour_end: 18:00\n"
                         "throttle_work_hour_bandwidth: 10 Mbps\nthrottle_non_work_hour_bandwidth: 100 Mbps\n")
    seq = lab.admin.last_seq()
    run = ansible_playbook(THROTTLE_PLAYBOOK, "-e", f"@{vars_file}", limit="HV01")
    assert run.rc != 0
    assert "work_hour_end 1080 is not a time of day" in run.result("HV01")["msg"]
    assert "(1080 is 18:00 in base 60): quote it" in run.result("HV01")["msg"]
    assert commands_since(lab, seq) == []


# --- secrets ------------------------------------------------------------------------------------


def test_no_password_in_verbose_output_or_the_lab_log(fresh, ansible_playbook):
    lab = fresh
    run = ansible_playbook(THROTTLE_PLAYBOOK, extra_vars=THROTTLE_VARS, limit="HV01,HV02", verbosity=4)
    assert run.rc == 0, run.output
    assert "ESTABLISH WINRM CONNECTION" in run.output, "-vvvv output was expected"
    command_log = open(lab.info["command_log"], encoding="utf-8").read()
    for name, host in lab.info["hosts"].items():
        assert host["password"] not in run.output, f"{name}'s WinRM password in -vvvv output"
        assert host["password"] not in command_log, f"{name}'s WinRM password in the lab's command log"
