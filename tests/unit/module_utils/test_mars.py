"""The MARS agent's settings, each defined once: thread range, days, times of day, volumes, the throttle."""

import math

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _mars

# 1970-01-04 00:00 UTC, a Sunday (model time is seconds since the epoch).
SUNDAY = 3 * 86400.0


def test_thread_range_and_default_are_the_agents():
    assert (_mars.MIN_UPLOAD_THREADS, _mars.DEFAULT_UPLOAD_THREADS, _mars.MAX_UPLOAD_THREADS) == (1, 4, 32)


def test_days_follow_dayofweek_and_refuse_abbreviations():
    assert _mars.day_names(["friday", " Sunday ", "Monday", "sunday"]) == ("Sunday", "Monday", "Friday")
    assert _mars.day_number("Saturday") == 6
    with pytest.raises(ValueError, match="'Mon' is not a day of the week"):
        _mars.day_number("Mon")


@pytest.mark.parametrize(("value", "seconds"), [("8:00", 28800.0), ("08:00:30", 28830.0), ("24:00", 86400.0), (3600, 3600.0)])
def test_time_of_day(value, seconds):
    assert _mars.parse_time_of_day(value) == seconds


@pytest.mark.parametrize("value", ["12:75", "8:5", "6pm", "25:00", "24:01"])
def test_time_of_day_refused(value):
    with pytest.raises(ValueError, match="time of day"):
        _mars.parse_time_of_day(value)


def test_time_of_day_found_in_what_a_host_printed():
    assert _mars.find_time_of_day("01/01/0001 08:00:00") == "08:00:00"
    assert _mars.find_time_of_day("7:30") == "07:30:00"
    assert _mars.find_time_of_day(None) is None


def test_volume_for_path_takes_the_longest_root_ignoring_case_and_slashes():
    names = ["C:\\", "C:\\ClusterStorage\\Volume1\\", "D:\\"]
    assert _mars.volume_for_path("c:/clusterstorage/volume1/a.vhdx", names) == "C:\\ClusterStorage\\Volume1\\"
    assert _mars.volume_for_path("C:\\ClusterStorage\\Volume10\\a.vhdx", names) == "C:\\"
    assert _mars.volume_for_path("\\\\fs01\\vms\\a.vhdx", names) is None


def test_schedule_in_the_agents_terms_and_in_rates():
    schedule = _mars.ThrottleSchedule(("Sunday", "monday"), "9:00", "17:30", 512 * 1024, 100 * 1024 * 1024)
    assert schedule.set_params() == {"work_days": ["Sunday", "Monday"], "work_hour_start": "09:00:00", "work_hour_end": "17:30:00",
                                     "work_hour_bandwidth": 512 * 1024, "non_work_hour_bandwidth": 100 * 1024 * 1024}
    assert schedule.rate_at(SUNDAY + 9 * 3600) == 512 * 1024
    assert schedule.rate_at(SUNDAY + 8 * 3600) == 100 * 1024 * 1024
    assert schedule.next_change_after(SUNDAY + 17.5 * 3600) == SUNDAY + 86400 + 9 * 3600        # Monday 09:00
    assert schedule.peak_rate() == 100 * 1024 * 1024 and schedule.min_rate() == 512 * 1024
    assert _mars.ThrottleSchedule.unthrottled().rate_at(0) == math.inf


def test_a_schedule_read_back_with_a_field_missing_is_kept_as_read():
    """Get-OBMachineSetting may not show a field; the schedule keeps None there and compares unequal to a full one."""
    read_back = _mars.ThrottleSchedule(("Monday",), "08:00:00", "18:00:00", None, 1024 * 1024)
    assert read_back.work_hour_bandwidth is None
    assert read_back != _mars.ThrottleSchedule(("Monday",), "08:00:00", "18:00:00", 512 * 1024, 1024 * 1024)


def test_a_full_schedule_with_backwards_hours_is_refused():
    with pytest.raises(ValueError, match="start before they end"):
        _mars.ThrottleSchedule(("Monday",), "18:00", "08:00", 512 * 1024, 1024 * 1024)
