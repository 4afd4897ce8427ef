"""The azmigrate.hyperv.replication_events source for Event-Driven Ansible, against the lab's ARM.

ansible-rulebook needs a Java runtime, which the test environment lacks; the tests load the source by its file path,
as ansible-rulebook does, and run its ``main(queue, args)`` with an asyncio.Queue.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time

import pytest
import yaml

import azure_lab
from azure_lab import PROJECT_ROOT
from fleet_lab import FAILED_VM, finish_initial_replication, fleet_lab, vm_names  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.lab
SOURCE = PROJECT_ROOT / "extensions" / "eda" / "plugins" / "event_source" / "replication_events.py"
ITEMS_ROUTE = ("GET /subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/"
               "{vault}/replicationProtectedItems")


def load_source():
    spec = importlib.util.spec_from_file_location("replication_events", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_args(lab, **extra) -> dict:
    return {**azure_lab.auth_defaults(lab), "resource_group": azure_lab.RESOURCE_GROUP, "vault_name": azure_lab.VAULT,
            "interval": 1, **extra}


async def collect(source, args: dict, until, timeout: float, between=None) -> list[dict]:
    """Run the source's main() until ``until(events)`` holds; ``between(events)`` runs (in a thread) once, after the
    first event, to change the world."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(source.main(queue, args))
    events: list[dict] = []
    changed = between is None
    deadline = time.monotonic() + timeout
    try:
        while not until(events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; events so far: {[e['azmigrate']['type'] for e in events]}")
            try:
                events.append(await asyncio.wait_for(queue.get(), timeout=min(remaining, 5)))
            except asyncio.TimeoutError:
                pass
            if not changed and events:
                changed = True
                await asyncio.to_thread(between, events)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return events


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [event["azmigrate"] for event in events if event["azmigrate"]["type"] == kind]


def test_state_and_initial_replication_events_and_a_ready_wave(fleet_lab, tmp_path):
    source = load_source()
    plan = tmp_path / "plan.yml"
    plan.write_text(yaml.safe_dump({"waves": [{"name": "wave-01", "vms": vm_names("HVA01")},
                                              {"name": "wave-02", "vms": vm_names("HVA02")[:3]}]}))
    args = source_args(fleet_lab, plan_file=str(plan), initial_events=True)
    since = {}

    def copies_complete(_events):
        since["seq"] = azure_lab.arm_requests(fleet_lab)["last_seq"]
        since["t"] = time.monotonic()
        finish_initial_replication(fleet_lab, "HVA02")

    events = asyncio.run(collect(source, args, lambda got: any(e["azmigrate"].get("wave") == "wave-02" for e in got),
                                 timeout=120, between=copies_complete))
    first_reading = [e for e in of_type(events, "state_changed") if e["previous"]["state"] is None]
    assert {e["vm"]["vm_name"] for e in first_reading} == set(vm_names("HVA01") + vm_names("HVA02"))
    failed = next(e for e in first_reading if e["vm"]["vm_name"] == FAILED_VM)
    assert failed["vm"]["state"] == "failed" and failed["vm"]["health"] == "Critical"
    assert failed["vault"] == azure_lab.VAULT and failed["resource_group"] == azure_lab.RESOURCE_GROUP

    ready = of_type(events, "wave_ready_for_cutover")
    assert [(e["wave"], e["vms"]) for e in ready] == [("wave-01", vm_names("HVA01")), ("wave-02", vm_names("HVA02")[:3])]
    finished = of_type(events, "initial_replication_finished")
    assert {e["vm"]["vm_name"] for e in finished} == set(vm_names("HVA02")[:3])
    for event in finished:
        assert event["previous"]["state"] == "initial_replication" and event["vm"]["ready_for_cutover"]
    moved = [e for e in of_type(events, "state_changed") if e["previous"]["state"] is not None]
    assert {(e["vm"]["vm_name"], e["previous"]["state"], e["vm"]["state"]) for e in moved} == {
        (name, "initial_replication", "protected") for name in vm_names("HVA02")[:3]}
    # The failed VM stays failed: no event for it after the first reading.
    assert all(e["vm"]["vm_name"] != FAILED_VM for e in finished + moved)

    # One paged listing per interval: per reading, the item listing's page and its empty last page, nothing per VM.
    log = azure_lab.arm_requests(fleet_lab, since["seq"])
    readings = log["by_route"][ITEMS_ROUTE] / 2
    assert readings >= 1 and log["by_route"][ITEMS_ROUTE] % 2 == 0
    assert log["total"] <= readings * 4 + 1, log   # pages, providers, the failed VM's job; the token's metadata


def test_first_reading_is_a_silent_baseline(fleet_lab):
    source = load_source()
    queue: asyncio.Queue = asyncio.Queue()

    async def run():
        since = azure_lab.arm_requests(fleet_lab)["last_seq"]
        task = asyncio.create_task(source.main(queue, source_args(fleet_lab)))
        deadline = time.monotonic() + 60
        while azure_lab.arm_requests(fleet_lab, since)["by_route"].get(ITEMS_ROUTE, 0) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)   # two readings, two pages each
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return azure_lab.arm_requests(fleet_lab, since)["by_route"].get(ITEMS_ROUTE, 0)

    assert asyncio.run(run()) >= 4
    assert queue.empty()


def test_throttling_beyond_retries_emits_one_poll_failed_and_recovers(fleet_lab):
    source = load_source()
    fleet_lab.admin.post("/azure/faults", {"storm_429": 30, "storm_retry_after_s": 1})

    def clear(_events):
        fleet_lab.admin.delete("/azure/faults")

    try:
        events = asyncio.run(collect(source, source_args(fleet_lab, initial_events=True),
                                     lambda got: any(e["azmigrate"]["type"] == "state_changed" for e in got),
                                     timeout=180, between=clear))
    finally:
        fleet_lab.admin.delete("/azure/faults")
    failures = of_type(events, "poll_failed")
    assert len(failures) == 1 and failures[0]["status"] == 429
    assert "429" in failures[0]["message"] or "throttl" in failures[0]["message"].lower()
    assert of_type(events, "state_changed")


@pytest.mark.parametrize("args, words", [
    ({"vault_name": "v"}, ["resource_group"]),
    ({"resource_group": "rg"}, ["vault_name", "migrate_project"]),
    ({"resource_group": "rg", "vault_name": "v", "interval": 0}, ["interval", "0"]),
    ({"resource_group": "rg", "vault_name": "v", "colour": "red"}, ["colour", "interval"]),
    ({"resource_group": "rg", "vault_name": "v", "plan_file": "/nonexistent.yml"}, ["plan_file", "/nonexistent.yml"]),
])
def test_bad_arguments_are_refused_naming_them(args, words):
    source = load_source()

    async def first():
        async for event in source.replication_events(args):
            return event

    with pytest.raises(ValueError) as refused:
        asyncio.run(first())
    for word in words:
        assert word in str(refused.value)
