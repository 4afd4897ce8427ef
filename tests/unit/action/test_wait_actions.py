"""The pure parts of the wait actions: migration_wave's rows merged over its rounds and its result, and the lines
replication_wait shows each round."""

from __future__ import annotations

from ansible_collections.azmigrate.hyperv.plugins.action.migration_wave import merge_row, wave_result, wave_vms
from ansible_collections.azmigrate.hyperv.plugins.action.replication_wait import lines_to_show, poll_seconds


def row(name, verdict, steps, jobs, at, elapsed, changed=True, line=None):
    return {"name": name, "verdict": verdict, "failed": verdict in ("failed", "timed_out"), "changed": changed,
            "steps": steps, "jobs": jobs, "timeline": [{"at": at, "event": verdict}], "elapsed_seconds": elapsed,
            "progress_line": line or f"{name}: {verdict}"}


def test_a_vms_rounds_add_up_steps_jobs_and_times_from_the_tasks_start():
    first = merge_row(None, row("web01", "running", ["planned_failover"], ["j1"], 1.0, 60.0), offset=0.0)
    assert first["timeline"] == [{"at": 1.0, "event": "running"}] and first["elapsed_seconds"] == 60.0
    second = merge_row(first, row("web01", "running", ["wait", "commit"], ["j1", "j2"], 2.0, 60.0, changed=False), offset=61.5)
    assert second["steps"] == ["planned_failover", "commit"] and second["jobs"] == ["j1", "j1", "j2"]
    assert second["changed"] and second["elapsed_seconds"] == 121.5
    assert second["timeline"] == [{"at": 1.0, "event": "running"}, {"at": 63.5, "event": "running"}]
    third = merge_row(second, row("web01", "done", ["complete"], ["j3"], 0.5, 3.0), offset=123.0)
    assert third["steps"] == ["planned_failover", "commit", "complete"] and third["verdict"] == "done"


def test_the_waves_result_keeps_the_waves_order_and_fails_naming_each_failed_vm():
    rows = {"b": row("b", "failed", [], [], 0, 1, line="b: FAILED - 70094"), "a": row("a", "done", ["x"], [], 0, 1)}
    result = wave_result(["a", "b"], rows, rounds=4, throttled=1, elapsed=12.34)
    assert [vm["name"] for vm in result["vms"]] == ["a", "b"]
    assert result["summary"] == {"done": 1, "failed": 1, "timed_out": 0, "running": 0, "planned": 0}
    assert result["finished"] and result["rounds"] == 4 and result["throttled"] == 1 and result["elapsed_seconds"] == 12.3
    assert result["failed"] and result["msg"] == "1 of 2 VM(s) failed: b: FAILED - 70094"
    assert "failed" not in wave_result(["a"], rows, 1, 0, 1.0)


def test_each_round_shows_the_vms_still_waiting_and_any_vm_whose_line_changed():
    shown = {}
    first = [{"vm_name": "a", "state": "initial_replication", "progress_line": "a: 10%"},
             {"vm_name": "b", "state": "protected", "progress_line": "b: protected"}]
    assert lines_to_show(first, shown) == ["a: 10%", "b: protected"]
    again = [{"vm_name": "a", "state": "initial_replication", "progress_line": "a: 10%"},
             {"vm_name": "b", "state": "protected", "progress_line": "b: protected"}]
    assert lines_to_show(again, shown) == ["a: 10%"]
    done = [{"vm_name": "a", "state": "protected", "progress_line": "a: protected"},
            {"vm_name": "b", "state": "protected", "progress_line": "b: protected"}]
    assert lines_to_show(done, shown) == ["a: protected"]


def test_the_poll_interval_is_a_number_of_seconds_of_at_least_a_twentieth():
    assert [poll_seconds(value) for value in (60, "0.15", 0.05, 0.01, "soon", True, None)] == [60.0, 0.15, 0.05, None, None, None, None]


def test_the_waves_vms_are_a_list_as_the_module_reads_them():
    assert wave_vms(["a", {"name": "b"}]) == ["a", {"name": "b"}]
    assert wave_vms("a, b") == ["a", "b"] and wave_vms(None) == [] and wave_vms(7) == []
