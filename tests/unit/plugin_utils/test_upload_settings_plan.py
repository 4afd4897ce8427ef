"""upload_threads and upload_throttle: option validation, reading the host, planning, confirming."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import (
    DEFAULT_WORK_DAYS,
    THREADS_SETTING,
    THROTTLE_SETTING,
    HostNotReady,
    InvalidOption,
    ThrottleSchedule,
    check_agent,
    plan_threads,
    plan_throttle,
    read_throttle,
    threads_mismatches,
    threads_restart_recommended,
    threads_view,
    throttle_mismatches,
    throttle_view,
    validate_threads_options,
    validate_throttle_options,
)

AGENT = {"path": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\", "service_status": "Running"}


def threads_document(upload=None, download=None, agent="running"):
    """A threads document; ``agent`` is "running" (AGENT), None (not installed) or the agent's document."""
    agent = AGENT if agent == "running" else agent

    def entry(value):
        if value is None:
            return None
        return {"data": value, "kind": "DWord" if isinstance(value, int) else "String"}

    return {"agent": agent, "replication_registry": {"UploadThreadsPerVM": entry(upload), "DownloadThreadsPerVM": entry(download)}}


def throttle_options(**overrides):
    options = {
        "enabled": True,
        "work_days": None,
        "work_hour_start": "08:00",
        "work_hour_end": "18:00",
        "work_hour_bandwidth": "512 Kbps",
        "non_work_hour_bandwidth": "100 Mbps",
    }
    options.update(overrides)
    return options


SCHEDULE = ThrottleSchedule(DEFAULT_WORK_DAYS, "08:00:00", "18:00:00", 512 * 1024, 100 * 1024 * 1024)

# What Get-OBMachineSetting shows for SCHEDULE, as the read script prints it.
RAW_SCHEDULE = {
    "enabled": True,
    "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
    "work_hour_start": "08:00:00",
    "work_hour_end": "18:00:00",
    "work_hour_bandwidth": 524288,
    "non_work_hour_bandwidth": 104857600,
}


# --- upload threads ----------------------------------------------------------------------------


def test_threads_options_give_the_registry_values_to_manage():
    assert validate_threads_options({"upload_threads": 8, "download_threads": None}) == {"UploadThreadsPerVM": 8}
    assert validate_threads_options({"upload_threads": 1, "download_threads": 32}) == {"UploadThreadsPerVM": 1, "DownloadThreadsPerVM": 32}


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"upload_threads": 0}, "upload_threads 0 is not allowed: give a whole number of threads per VM from 1 to 32"),
        ({"upload_threads": 33}, "upload_threads 33 is not allowed"),
        ({"download_threads": -4}, "download_threads -4 is not allowed"),
        ({"upload_threads": True}, "upload_threads True is not allowed"),
        ({"upload_threads": None, "download_threads": None}, "give at least one of upload_threads, download_threads"),
    ],
)
def test_threads_options_refuse_what_the_agent_does_not_support(options, expected):
    with pytest.raises(InvalidOption, match=expected.replace("(", r"\(")):
        validate_threads_options(options)


def test_threads_view_matches_host_info_and_shows_the_default():
    assert threads_view(threads_document(upload=8)) == {
        "upload_threads": {"value": 8, "configured": True},
        "download_threads": {"value": 4, "configured": False},
    }


def test_a_value_of_the_wrong_registry_type_is_shown_with_its_type_and_rewritten():
    document = threads_document(upload="8")
    assert threads_view(document)["upload_threads"] == {"value": "8", "configured": True, "registry_type": "String"}
    assert plan_threads(document, {"UploadThreadsPerVM": 8}).writes == {"UploadThreadsPerVM": 8}


def test_threads_plan_writes_only_what_differs():
    plan = plan_threads(threads_document(upload=8, download=4), {"UploadThreadsPerVM": 16, "DownloadThreadsPerVM": 4})
    assert plan.writes == {"UploadThreadsPerVM": 16}
    assert plan.changed
    assert plan.before["upload_threads"] == {"value": 8, "configured": True}
    assert plan.after == {"upload_threads": {"value": 16, "configured": True}, "download_threads": {"value": 4, "configured": True}}


def test_threads_plan_with_everything_in_place_changes_nothing():
    plan = plan_threads(threads_document(upload=8), {"UploadThreadsPerVM": 8})
    assert not plan.changed
    assert plan.before == plan.after


def test_an_absent_value_is_written_even_when_the_default_is_asked_for():
    plan = plan_threads(threads_document(), {"UploadThreadsPerVM": 4})
    assert plan.writes == {"UploadThreadsPerVM": 4}
    assert plan.before["upload_threads"] == {"value": 4, "configured": False}
    assert plan.after["upload_threads"] == {"value": 4, "configured": True}


def test_threads_plan_works_without_the_agent_and_without_the_key():
    plan = plan_threads({"agent": None, "replication_registry": None}, {"DownloadThreadsPerVM": 6})
    assert plan.writes == {"DownloadThreadsPerVM": 6}


def test_threads_mismatches_name_what_was_not_stored():
    assert threads_mismatches(threads_document(upload=8), {"UploadThreadsPerVM": 8}) == []
    assert threads_mismatches(threads_document(), {"UploadThreadsPerVM": 8}) == ["UploadThreadsPerVM is absent, not 8 (DWord)"]
    assert threads_mismatches(threads_document(upload="8"), {"UploadThreadsPerVM": 8}) == ["UploadThreadsPerVM is '8' (String), not 8 (DWord)"]


@pytest.mark.parametrize(
    "agent, changed, expected",
    [
        (AGENT, True, True),
        (AGENT, False, False),
        ({**AGENT, "service_status": "Stopped"}, True, False),
        (None, True, False),
    ],
)
def test_a_restart_is_recommended_only_when_a_running_engine_may_hold_old_values(agent, changed, expected):
    assert threads_restart_recommended(threads_document(agent=agent), changed) is expected


# --- throttle options --------------------------------------------------------------------------


def test_throttle_options_become_the_five_set_obmachinesetting_parameters():
    assert validate_throttle_options(throttle_options()) == SCHEDULE
    assert SCHEDULE.set_params() == {
        "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "work_hour_start": "08:00:00",
        "work_hour_end": "18:00:00",
        "work_hour_bandwidth": 524288,
        "non_work_hour_bandwidth": 104857600,
    }


@pytest.mark.parametrize(
    "value, bytes_per_second",
    [
        ("512 Kbps", 524288),
        ("512Kbps", 524288),
        (512, 524288),
        ("2048", 2097152),
        ("1.5 Mbps", 1572864),
        ("1023 Mbps", 1023 * 1048576),
        ("1,000 Kbps", 1024000),
    ],
)
def test_bandwidths_take_units_or_a_number_of_kbps(value, bytes_per_second):
    assert validate_throttle_options(throttle_options(work_hour_bandwidth=value)).work_hour_bandwidth == bytes_per_second


def test_work_days_take_any_case_in_any_order_and_merge_duplicates():
    schedule = validate_throttle_options(throttle_options(work_days=["friday", "Monday", "MONDAY", " Sunday "]))
    assert schedule.work_days == ("Sunday", "Monday", "Friday")


@pytest.mark.parametrize(
    "hours, expected",
    [(("8:00", "17:30"), ("08:00:00", "17:30:00")), (("00:00", "23:59:59"), ("00:00:00", "23:59:59"))],
)
def test_work_hours_are_read_on_a_24_hour_clock(hours, expected):
    schedule = validate_throttle_options(throttle_options(work_hour_start=hours[0], work_hour_end=hours[1]))
    assert (schedule.work_hour_start, schedule.work_hour_end) == expected


# Each invalid input names the option, the value given and what is allowed.
INVALID_THROTTLE_OPTIONS = [
    ({"work_hour_bandwidth": "256 Kbps"},
     "work_hour_bandwidth '256 Kbps' is 256 Kbps (262,144 bytes/s), outside the allowed 512 Kbps to 1023 Mbps"),
    ({"non_work_hour_bandwidth": "1024 Mbps"},
     "non_work_hour_bandwidth '1024 Mbps' is 1024 Mbps (1,073,741,824 bytes/s), outside the allowed 512 Kbps to 1023 Mbps"),
    ({"work_hour_bandwidth": 0}, "work_hour_bandwidth 0 is 0 Kbps (0 bytes/s), outside the allowed"),
    ({"work_hour_bandwidth": "100 Mbit/s"},
     "work_hour_bandwidth '100 Mbit/s' is not a throttle rate: throttle rate '100 Mbit/s' has unit 'mbit/s'; use one of gbps, kbps, mbps"),
    ({"work_hour_bandwidth": "fast"}, "work_hour_bandwidth 'fast' is not a throttle rate"),
    ({"non_work_hour_bandwidth": "-5 Mbps"}, "non_work_hour_bandwidth '-5 Mbps' is not a throttle rate: throttle rate '-5 Mbps' is negative"),
    ({"work_hour_bandwidth": True}, "work_hour_bandwidth True is not a throttle rate"),
    ({"work_hour_start": "25:00"}, "work_hour_start '25:00' is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59"),
    ({"work_hour_end": "6pm"}, "work_hour_end '6pm' is not a time of day"),
    ({"work_hour_end": "1080"},
     "work_hour_end '1080' is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59; "
     "an unquoted time like 18:00 in YAML is read as a number (1080 is 18:00 in base 60): quote it"),
    # Numbers are echoed as given, never as a string nor as seconds of a day.
    ({"work_hour_start": 8}, "work_hour_start 8 is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59; for 8 o'clock write '08:00'"),
    ({"work_hour_end": 1080}, "work_hour_end 1080 is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59; "
     "an unquoted time like 18:00 in YAML is read as a number (1080 is 18:00 in base 60): quote it"),
    ({"work_hour_start": 28800}, "work_hour_start 28800 is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59; "
     "an unquoted time like 8:00:00 in YAML is read as a number of seconds (28800 is 8:00:00 in base 60): quote it"),
    ({"work_hour_start": 8.5}, "work_hour_start 8.5 is not a time of day"),
    ({"work_hour_start": "18:00", "work_hour_end": "08:00"}, "work_hour_end '08:00' is not after work_hour_start '18:00'"),
    ({"work_hour_start": "08:00", "work_hour_end": "8:00"}, "work_hour_end '8:00' is not after work_hour_start '08:00'"),
    ({"work_days": ["Monday", "Funday"]}, "work_days has 'Funday', not day names: use Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday"),
    ({"work_days": []}, "work_days [] is empty: give at least one of Sunday"),
    ({"non_work_hour_bandwidth": None}, "enabled is true but non_work_hour_bandwidth is not set"),
    ({"work_hour_start": None, "work_hour_end": None}, "enabled is true but work_hour_start, work_hour_end are not set"),
]


@pytest.mark.parametrize("overrides, expected", INVALID_THROTTLE_OPTIONS)
def test_invalid_throttle_options_are_refused_naming_option_value_and_what_is_allowed(overrides, expected):
    with pytest.raises(InvalidOption) as refused:
        validate_throttle_options(throttle_options(**overrides))
    assert expected in str(refused.value)


def test_no_throttle_needs_no_schedule_but_checks_what_is_given():
    assert validate_throttle_options({"enabled": False}) is None
    assert validate_throttle_options(throttle_options(enabled=False)) is None
    with pytest.raises(InvalidOption, match="work_hour_bandwidth '1 Kbps'"):
        validate_throttle_options(throttle_options(enabled=False, work_hour_bandwidth="1 Kbps"))


# --- reading the host --------------------------------------------------------------------------


def test_check_agent_fails_clearly_when_the_agent_is_missing():
    with pytest.raises(HostNotReady, match="^the Recovery Services agent is not installed on HV01; run replication_provider first$"):
        check_agent({"agent": None, "throttle": None}, "HV01")


def test_check_agent_fails_clearly_when_the_engine_is_stopped():
    with pytest.raises(HostNotReady, match="service obengine is Stopped on HV01: start it"):
        check_agent({"agent": {**AGENT, "service_status": "Stopped"}, "throttle": None}, "HV01")
    with pytest.raises(HostNotReady, match="service obengine is missing on HV01"):
        check_agent({"agent": {**AGENT, "service_status": None}, "throttle": None}, "HV01")
    check_agent({"agent": AGENT, "throttle": RAW_SCHEDULE}, "HV01")


def test_read_throttle_reads_what_get_obmachinesetting_shows():
    assert read_throttle(RAW_SCHEDULE) == SCHEDULE
    assert read_throttle({**RAW_SCHEDULE, "enabled": False}) is None
    # Days in another order, numbers as strings, a TimeSpan with days: still the same schedule.
    shuffled = {**RAW_SCHEDULE, "work_days": ["friday", "Monday", "Tuesday", "Thursday", "Wednesday"],
                "work_hour_start": "1.08:00:00", "work_hour_bandwidth": "524288"}
    assert read_throttle(shuffled) == SCHEDULE


def test_unreadable_throttle_properties_read_as_none_and_differ_from_any_wish():
    unreadable = {"enabled": True, "work_days": [], "work_hour_start": None, "work_hour_end": None,
                  "work_hour_bandwidth": None, "non_work_hour_bandwidth": None}
    schedule = read_throttle(unreadable)
    assert schedule == ThrottleSchedule(None, None, None, None, None)
    assert plan_throttle(schedule, SCHEDULE).changed_fields == [
        "work_days", "work_hour_start", "work_hour_end", "work_hour_bandwidth", "non_work_hour_bandwidth"]


# --- planning ----------------------------------------------------------------------------------


def test_the_same_throttle_changes_nothing():
    plan = plan_throttle(SCHEDULE, SCHEDULE)
    assert not plan.changed and plan.set_params is None
    assert plan.before == plan.after == throttle_view(SCHEDULE)


def test_no_throttle_on_a_host_without_one_changes_nothing():
    plan = plan_throttle(None, None)
    assert not plan.changed and plan.set_params is None


def test_one_field_differing_sets_all_five_parameters():
    desired = ThrottleSchedule(DEFAULT_WORK_DAYS, "08:00:00", "18:00:00", 1024 * 1024, 100 * 1024 * 1024)
    plan = plan_throttle(SCHEDULE, desired)
    assert plan.changed_fields == ["work_hour_bandwidth"]
    assert plan.set_params == {"throttle": desired.set_params()}
    assert plan.before["work_hour_bandwidth"] == {"bytes_per_second": 524288, "kbps": 512}
    assert plan.after["work_hour_bandwidth"] == {"bytes_per_second": 1048576, "kbps": 1024}


def test_turning_the_throttle_on_and_off():
    on = plan_throttle(None, SCHEDULE)
    assert on.changed_fields == ["enabled"] and on.set_params == {"throttle": SCHEDULE.set_params()}
    assert on.before == {"enabled": False, "work_days": [], "work_hour_start": None, "work_hour_end": None,
                         "work_hour_bandwidth": None, "non_work_hour_bandwidth": None}
    off = plan_throttle(SCHEDULE, None)
    assert off.changed_fields == ["enabled"] and off.set_params == {"throttle": None}
    assert off.after == on.before


def test_throttle_view_agrees_with_host_info():
    assert throttle_view(SCHEDULE) == {
        "enabled": True,
        "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "work_hour_start": "08:00:00",
        "work_hour_end": "18:00:00",
        "work_hour_bandwidth": {"bytes_per_second": 524288, "kbps": 512},
        "non_work_hour_bandwidth": {"bytes_per_second": 104857600, "kbps": 102400},
    }


def test_throttle_mismatches_after_a_set_name_the_fields():
    assert throttle_mismatches(SCHEDULE, SCHEDULE) == []
    assert throttle_mismatches(None, SCHEDULE) == ["enabled is False, not True"]
    read_back = ThrottleSchedule(DEFAULT_WORK_DAYS, "08:00:00", "18:00:00", None, 100 * 1024 * 1024)
    assert throttle_mismatches(read_back, SCHEDULE) == ["work_hour_bandwidth is None, not {'bytes_per_second': 524288, 'kbps': 512}"]


# --- writes sent with no read first (the first install through hyperv_host_state) ---------------


@pytest.mark.parametrize("desired", [SCHEDULE, None])
def test_a_throttle_enforced_without_a_read_sets_what_a_plan_from_any_state_would(desired):
    params = THROTTLE_SETTING.enforce_params(desired)
    changing = [plan_throttle(current, desired) for current in (None, SCHEDULE, ThrottleSchedule(("Sunday",), "01:00:00", "02:00:00", 1, 1))]
    changing = [plan for plan in changing if plan.changed]
    assert len(changing) == 2 and all(plan.set_params == params for plan in changing)


def test_threads_enforced_without_a_read_write_every_desired_value_and_plan_from_what_they_replaced():
    desired = {"UploadThreadsPerVM": 8, "DownloadThreadsPerVM": 4}
    assert THREADS_SETTING.enforce_params(desired) == {"writes": desired}
    replaced = threads_document(upload=None, download=4, agent=AGENT)
    plan = THREADS_SETTING.plan(replaced, desired, "HV01")
    assert plan.writes == {"UploadThreadsPerVM": 8} and plan.before["upload_threads"] == {"value": 4, "configured": False}
