"""The host_setting pipeline's pure steps (plugins/plugin_utils/_host_setting.py) with the two upload settings."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_setting import setting_diff, setting_result
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import (
    THREADS_KEY,
    THREADS_SETTING,
    THROTTLE_SETTING,
    HostNotReady,
    InvalidOption,
)

AGENT = {"path": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\", "service_status": "Running"}


def threads_document(upload=None, agent_installed=True):
    value = None if upload is None else {"data": upload, "kind": "DWord"}
    return {"agent": AGENT if agent_installed else None, "replication_registry": {"UploadThreadsPerVM": value, "DownloadThreadsPerVM": None}}


def test_threads_no_change_reports_what_is_stored_and_nothing_to_write():
    desired = THREADS_SETTING.validate({"upload_threads": 8})
    read = threads_document(8)
    plan = THREADS_SETTING.plan(read, desired, "HV01")
    result, warnings, failure = setting_result(THREADS_SETTING, plan, desired, read, None, "HV01")
    assert failure is None and warnings == []
    assert result["changed"] is False and result["changed_values"] == []
    assert result["upload_threads"] == {"value": 8, "configured": True} and result["restart_recommended"] is False


def test_threads_written_and_read_back_as_asked():
    desired = THREADS_SETTING.validate({"upload_threads": 8})
    read = threads_document()
    plan = THREADS_SETTING.plan(read, desired, "HV01")
    assert THREADS_SETTING.apply_params(plan) == {"writes": {"UploadThreadsPerVM": 8}}
    result, dummy, failure = setting_result(THREADS_SETTING, plan, desired, read, threads_document(8), "HV01")
    assert failure is None and result["changed"] and result["changed_values"] == ["UploadThreadsPerVM"]
    assert result["after"]["upload_threads"] == {"value": 8, "configured": True} and result["restart_recommended"] is True
    diff = setting_diff(THREADS_SETTING, result, "HV01", check_mode=True)
    assert (diff["before_header"], diff["after_header"]) == (f"HV01: {THREADS_KEY}", f"HV01: {THREADS_KEY} (check mode)")


def test_threads_read_back_otherwise_fail_with_what_was_planned_and_read():
    desired = THREADS_SETTING.validate({"upload_threads": 8})
    read = threads_document()
    plan = THREADS_SETTING.plan(read, desired, "HV01")
    result, warnings, failure = setting_result(THREADS_SETTING, plan, desired, read, threads_document(4), "HV01")
    assert failure == "wrote the Replication key's values on HV01, but reading them back shows UploadThreadsPerVM is 4 (DWord), not 8 (DWord)"
    assert set(result) == {"changed", "changed_values", "before", "after"} and warnings == []


def test_threads_without_the_agent_are_stored_with_a_warning():
    desired = THREADS_SETTING.validate({"download_threads": 2})
    read = threads_document(agent_installed=False)
    plan = THREADS_SETTING.plan(read, desired, "HV01")
    result, warnings, dummy = setting_result(THREADS_SETTING, plan, desired, read, None, "HV01")
    assert result["agent_installed"] is False and "not installed on HV01" in warnings[0]


def test_throttle_needs_a_running_agent_and_reports_the_schedule():
    desired = THROTTLE_SETTING.validate({"enabled": False})
    with pytest.raises(HostNotReady, match="not installed on HV01"):
        THROTTLE_SETTING.plan({"agent": None, "throttle": None}, desired, "HV01")
    read = {"agent": AGENT, "throttle": {"enabled": False, "work_days": [], "work_hour_start": None, "work_hour_end": None,
                                         "work_hour_bandwidth": None, "non_work_hour_bandwidth": None}}
    plan = THROTTLE_SETTING.plan(read, desired, "HV01")
    result, dummy, failure = setting_result(THROTTLE_SETTING, plan, desired, read, None, "HV01")
    assert failure is None and result["changed"] is False and result["throttle"] == result["after"] and result["restart_recommended"] is False
    assert setting_diff(THROTTLE_SETTING, result, "HV01", check_mode=False)["before_header"] == "HV01: throttle (Get-OBMachineSetting)"


def test_each_setting_refuses_bad_options_with_its_own_error_type():
    with pytest.raises(THREADS_SETTING.errors):
        THREADS_SETTING.validate({"upload_threads": 33})
    with pytest.raises(InvalidOption):
        THROTTLE_SETTING.validate({"enabled": True, "work_hour_start": "25:00"})
