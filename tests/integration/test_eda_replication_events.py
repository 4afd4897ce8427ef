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


async def collect(source, args: dict, until, timeout: float, between=None, between_at_start=False) -> list[dict]:
    """Run the source's main() until ``until(events)`` holds; ``between(events)`` runs (in a thread) once, after the
    first event (or, with ``between_at_start``, alongside the source from the start), to change the world."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(source.main(queue, args))
    events: list[dict] = []
    changed = between is None
    if between_at_start:
        changer = asyncio.create_task(asyncio.to_thread(between, events))
        changed = True
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
    if between_at_start:
        await changer   # its failure is the test's
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


RULEBOOK = PROJECT_ROOT / "extensions" / "eda" / "rulebooks" / "replication_watch.yml"
TRICKLE_BPS = 1.0


def fill_replication_log_volume(lab, host: str, vm: str) -> None:
    """The host's D: volume nearly full, its link a trickle and the VM writing fast: the VM's replication log fills
    the volume, replication pauses and the item turns Critical with RepairReplication allowed."""
    mib = 1024 * 1024
    lab.admin.patch(f"/hosts/{host}", {"volumes": [
        {"name": "C:\\", "label": "System", "size_bytes": 127 * 1024 * mib, "free_bytes": 60 * 1024 * mib},
        {"name": "D:\\", "label": "VMs", "size_bytes": 4096 * 1024 * mib, "free_bytes": 50 * mib}]})
    lab.admin.post(f"/azure/hosts/{host}/link", {"bps": TRICKLE_BPS})
    lab.admin.post(f"/azure/vms/{vm}/churn", {"bps": 20 * mib})
    lab.admin.post("/clock", {"advance_seconds": 30})


def test_critical_health_event_then_the_rulebook_resync(fleet_lab, tmp_path):
    """What the example rulebook does: a VM's replication turns Critical (its host's log volume filled), the source
    says so, the rule's module (replication_resync) resynchronises it once, and a re-run changes nothing."""
    source = load_source()
    vm = "hva01-vm001"
    since = azure_lab.arm_requests(fleet_lab)["last_seq"]

    def after_the_baseline(_events):
        deadline = time.monotonic() + 60
        while azure_lab.arm_requests(fleet_lab, since)["by_route"].get(ITEMS_ROUTE, 0) < 2:   # one whole reading
            assert time.monotonic() < deadline, "the source read nothing"
            time.sleep(0.2)
        fill_replication_log_volume(fleet_lab, "HVA01", vm)

    def critical(got):
        kinds = {e["azmigrate"]["type"] for e in got if e["azmigrate"].get("vm", {}).get("vm_name") == vm}
        return {"health_changed", "errors_changed"} <= kinds

    events = asyncio.run(collect(source, source_args(fleet_lab), critical, timeout=120, between=after_the_baseline,
                                 between_at_start=True))
    changed = next(e["azmigrate"] for e in events
                   if e["azmigrate"]["type"] == "health_changed" and e["azmigrate"]["vm"]["vm_name"] == vm)
    assert changed["vm"]["health"] == "Critical" and changed["previous"]["health"] == "Normal"
    assert "RepairReplication" in changed["vm"]["allowed_operations"]
    assert any(e["azmigrate"]["type"] == "errors_changed" and e["azmigrate"]["vm"]["vm_name"] == vm for e in events)

    # The rule matches this event (its condition as data: type, health, RepairReplication allowed) ...
    rules = {rule["name"]: rule for rule in yaml.safe_load(RULEBOOK.read_text())[0]["rules"]}
    resync_rule = rules["Resynchronise a VM whose replication turned Critical"]
    assert '"health_changed"' in resync_rule["condition"] and '"RepairReplication"' in resync_rule["condition"]
    module_args = resync_rule["action"]["run_module"]["module_args"]
    assert resync_rule["action"]["run_module"]["name"] == "azmigrate.hyperv.replication_resync"
    assert set(module_args) == {"resource_group", "vault_name", "names"}

    # ... and runs the module with the event's vault and VM.
    args = {"resource_group": changed["resource_group"], "vault_name": changed["vault"], "names": [changed["vm"]["name"]]}
    checked = azure_lab.run_module(fleet_lab, "replication_resync", args, check=True, tmp=tmp_path)
    assert checked.rc == 0, checked.output
    assert checked.result["changed"] is True and checked.mutations() == {}
    assert [v["action"] for v in checked.result["vms"]] == ["resync"]
    # Someone freed the volume meanwhile (a resync onto a full volume would pause again).
    fleet_lab.admin.patch("/hosts/HVA01", {"volumes": [
        {"name": "C:\\", "label": "System", "size_bytes": 127 * 1024 ** 3, "free_bytes": 60 * 1024 ** 3},
        {"name": "D:\\", "label": "VMs", "size_bytes": 4096 * 1024 ** 3, "free_bytes": 3000 * 1024 ** 3}]})
    fleet_lab.admin.post(f"/azure/vms/{vm}/churn", {"bps": 64 * 1024})
    finish_initial_replication(fleet_lab, "HVA01", seconds=1)   # the link fast again
    run = azure_lab.run_module(fleet_lab, "replication_resync", args, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert run.result["changed"] is True and run.result["vms"][0]["job"]["state"] == "Succeeded"
    assert sum(run.mutations().values()) == 1
    item = next(i for i in fleet_lab.admin.get("/azure/items") if i["vm"] == vm)
    assert item["replication_health"] == "Normal" and "RepairReplication" not in item["allowed_operations"]
    again = azure_lab.run_module(fleet_lab, "replication_resync", args, tmp=tmp_path)
    assert again.rc == 0 and again.result["changed"] is False and again.mutations() == {}
    assert again.result["vms"][0]["action"] in ("not_needed", "running")


def test_resync_of_an_unknown_vm_changes_nothing(fleet_lab, tmp_path):
    args = {"resource_group": azure_lab.RESOURCE_GROUP, "vault_name": azure_lab.VAULT,
            "names": ["hva01-vm002", "no-such-vm"]}
    run = azure_lab.run_module(fleet_lab, "replication_resync", args, tmp=tmp_path)
    assert run.failed and "names" in run.result["msg"] and "no-such-vm" in run.result["msg"]
    assert run.mutations() == {}
