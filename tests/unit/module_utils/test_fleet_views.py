"""The pure parts of the fleet views: JMESPath queries, plan waves, what changed between two readings, resync."""

import asyncio
import importlib.util
from pathlib import Path

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _vm_query as vm_query
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.fleet import (
    plan_waves,
    ready_for_cutover,
    resync_action,
    vm_changes,
    wave_of,
    waves_ready,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "extensions" / "eda" / "plugins" / "event_source" / "replication_events.py"


def vm(name, state="protected", health="Normal", errors=(), completed=True, tags=None, allowed=(), operation=None):
    return {"name": "item-" + name, "vm_name": name, "host": "HV01.contoso.local", "site": "site-a", "state": state,
            "health": health, "errors": [{"code": code} for code in errors], "failure": None,
            "initial_replication": {"completed": completed, "progress_percent": 100 if completed else 40},
            "rpo_seconds": 300, "allowed_operations": list(allowed), "current_operation": operation,
            "target": {"tags": tags or {}}}


# --- JMESPath ---

@pytest.mark.parametrize("expression, words", [
    ("[?health=='Critical'", ["query", "[?health=='Critical'", "not a valid JMESPath", "incomplete"]),
    ("a ||| b", ["query", "a ||| b", "invalid token", "character 4"]),
])
def test_a_bad_expression_is_refused_naming_the_option_and_the_expression(expression, words):
    with pytest.raises(vm_query.QueryError) as refused:
        vm_query.compile_query("query", expression)
    for word in words:
        assert word in str(refused.value)


def test_no_expression_is_no_query():
    assert vm_query.compile_query("query", None) is None and vm_query.compile_query("query", "") is None


def test_a_query_runs_over_the_vm_list():
    vms = [vm("a", health="Critical"), vm("b")]
    assert vm_query.run_query(vm_query.compile_query("query", "[?health=='Critical'].vm_name"), "query", vms) == ["a"]
    with pytest.raises(vm_query.QueryError) as failed:
        vm_query.run_query(vm_query.compile_query("query", "abs(@)"), "query", vms)
    assert "query 'abs(@)' failed on the VM list" in str(failed.value)


def test_select_vms_keeps_vms_and_refuses_projections():
    vms = [vm("a", state="failed"), vm("b")]
    assert vm_query.select_vms(vm_query.compile_query("q", "[?state=='protected']"), "q", vms) == [vms[1]]
    assert vm_query.select_vms(None, "q", vms) == vms
    with pytest.raises(vm_query.QueryError) as refused:
        vm_query.select_vms(vm_query.compile_query("filters.query", "[].vm_name"), "filters.query", vms)
    assert "must select VMs" in str(refused.value) and "a list of str" in str(refused.value)


def test_missing_jmespath_is_named(monkeypatch):
    monkeypatch.setattr(vm_query, "HAS_JMESPATH", False)
    with pytest.raises(vm_query.QueryError) as refused:
        vm_query.compile_query("filters.query", "[]")
    assert "filters.query needs the Python library jmespath" in str(refused.value)


# --- waves ---

def test_plan_waves_reads_plan_yml_and_refuses_other_documents():
    plan = {"plan_start": None, "waves": [{"name": "wave-01", "vms": ["DB01", "web01"], "hosts": ["HV01"]},
                                          {"name": "wave-02", "vms": ["app01"]}]}
    assert plan_waves(plan) == {"db01": "wave-01", "web01": "wave-01", "app01": "wave-02"}
    with pytest.raises(ValueError, match="no 'waves' list"):
        plan_waves({"vms": []})
    with pytest.raises(ValueError, match="no 'name'"):
        plan_waves({"waves": [{"vms": ["a"]}]})


def test_the_plan_wins_over_the_tag():
    tagged = vm("db01", tags={"Wave": "w9"})
    assert wave_of(tagged, {"db01": "wave-01"}, "wave") == "wave-01"
    assert wave_of(tagged, {}, "wave") == "w9"
    assert wave_of(tagged, {}, "") is None


def test_a_wave_is_ready_when_every_planned_vm_is_replicated_and_protected():
    waves = {"a": "wave-01", "b": "wave-01", "c": "wave-02"}
    assert waves_ready([vm("a"), vm("b"), vm("c", state="initial_replication")], waves) == {"wave-01": ["a", "b"]}
    # b is planned but not replicated yet: its wave waits.
    assert waves_ready([vm("a"), vm("c")], waves) == {"wave-02": ["c"]}
    assert waves_ready([vm("x", tags={"wave": "pilot"})], {}, "wave") == {"pilot": ["x"]}
    assert ready_for_cutover(vm("a")) and not ready_for_cutover(vm("a", state="test_failover"))


# --- what changed ---

def test_vm_changes_names_each_kind_of_change():
    before = vm("a", state="initial_replication", completed=False)
    after = vm("a", state="protected", health="Warning", errors=["78018"])
    kinds = [kind for kind, _previous in vm_changes(before, after)]
    assert kinds == ["state_changed", "health_changed", "errors_changed", "initial_replication_finished"]
    assert vm_changes(before, before) == []
    assert vm_changes(None, after) == [("state_changed", {"state": None, "health": None, "error_codes": []})]
    assert vm_changes(vm("a", errors=["1", "2"]), vm("a", errors=["2", "1"])) == []   # the same codes, reordered


def test_resync_action():
    assert resync_action(vm("a", health="Critical", allowed=["RepairReplication", "DisableProtection"])) == "resync"
    running = {"name": "RepairReplication", "job_name": "j1", "job_state": "InProgress"}
    assert resync_action(vm("a", operation=running, allowed=["RepairReplication"])) == "running"
    assert resync_action(vm("a", health="Critical", state="failed")) == "not_needed"


# --- the event source without Azure ---

def load_source():
    spec = importlib.util.spec_from_file_location("replication_events_unit", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_source_events_between_readings():
    source = load_source()
    watch = source.VaultWatch(source.SourceSettings({"resource_group": "rg", "vault_name": "v", "interval": 5}))
    watch.settings.waves_by_vm = {"a": "wave-01", "b": "wave-01"}
    assert watch.changes([vm("a"), vm("b", state="initial_replication", completed=False)]) == []   # the baseline
    events = watch.changes([vm("a"), vm("b")])
    kinds = [(e["azmigrate"]["type"], e["azmigrate"].get("wave")) for e in events]
    assert kinds == [("state_changed", None), ("initial_replication_finished", None), ("wave_ready_for_cutover", "wave-01")]
    assert events[0]["azmigrate"]["vm"]["wave"] == "wave-01" and events[0]["azmigrate"]["vault"] == "v"
    assert watch.changes([vm("a"), vm("b")]) == []   # a ready wave is announced once
    removed = watch.changes([vm("a")])
    assert [e["azmigrate"]["type"] for e in removed] == ["vm_removed"]


def test_source_backs_off_by_retry_after_and_reports_one_failure():
    source = load_source()
    throttled = AzureModuleError("list the replicated VMs of vault 'v'", "Too many requests (Retry-After: 40 s)",
                                 code="SubscriptionRequestsThrottled", status=429)
    readings = [throttled, throttled, [vm("a")], [vm("a", health="Critical", errors=["78018"])]]
    waits = []

    def read(_self):
        answer = readings.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds):
        waits.append(seconds)

    source.VaultWatch.read = read

    async def run():
        got = []
        async for event in source.replication_events({"resource_group": "rg", "vault_name": "v", "interval": 10}, sleep):
            got.append(event)
            if len(got) == 3:
                return got
        return got

    events = asyncio.run(run())
    assert [e["azmigrate"]["type"] for e in events] == ["poll_failed", "health_changed", "errors_changed"]
    assert events[0]["azmigrate"]["status"] == 429 and "Retry-After: 40 s" in events[0]["azmigrate"]["message"]
    assert waits[:3] == [40.0, 40.0, 10.0]


@pytest.mark.parametrize("args, words", [
    ({"vault_name": "v"}, ["resource_group"]),
    ({"resource_group": "rg", "vault_name": "v", "migrate_project": "p"}, ["exactly one", "vault_name", "migrate_project"]),
    ({"resource_group": "rg", "vault_name": "v", "interval": "often"}, ["interval", "often"]),
])
def test_source_settings_refuse_bad_arguments(args, words):
    source = load_source()
    with pytest.raises(ValueError) as refused:
        source.SourceSettings(args)
    for word in words:
        assert word in str(refused.value)
