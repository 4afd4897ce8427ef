"""The world saved and resumed (lab/persist.py), in process: a job and an operation that were running when the
world was saved go on in the resumed world, and their hooks (module-level functions registered by scenario and
task, reading the job's params) act on the resumed world's objects, not on the ones of the lab that saved them.
The snapshot is versioned JSON of plain data: one of another version is refused. The same through
`python -m lab restart`: tests/lab/test_restart.py; a cutover across a restart: tests/integration/test_azure_migration.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inprocess_azure import DEMO_ESTATE

from lab import persist
from lab.azure import build_azure, compute
from lab.azure import ids
from lab.azure.arm import ArmCall, operation_hook
from lab.azure.jobs import QUEUE_S, SCENARIOS, Scenario, on_job_done, on_task, start_job
from lab.azure.jobs import _t as task_spec
from lab.estate import load_estate
from lab.http import Headers, Request
from lab.world import World


def _world(state_dir: Path, snapshot: persist.Snapshot | None = None) -> World:
    world = load_estate(DEMO_ESTATE, state_dir=state_dir, time_scale=1.0)
    if snapshot is None:
        build_azure(world, state_dir)
        return world
    persist.resume_clock(world, snapshot.header)
    build_azure(world, state_dir, restore=lambda: persist.restore_state(world, snapshot))
    return world


def _save(world: World) -> persist.Snapshot:
    return persist.Snapshot(persist.header(world, {}), persist.dump_state(world))


# A scenario of this test only, with its hooks: they find the VM through the job's params and share a list there.
SCENARIOS["LabSnapshotTest"] = Scenario("LabSnapshotTest", "Snapshot test", "ProtectionEntity", "AsrJobDetails", (
    task_spec("ShutDownTask", "ShutDown", "Shut down", 15), task_spec("FailOverTask", "FailOver", "Fail over", 60)))


def _job_vm(cloud, job):
    return cloud.hosts.host(job.params["host"]).vm(job.params["vm"])


@on_task("LabSnapshotTest", "ShutDown")
def _shut_down(cloud, job) -> None:
    _job_vm(cloud, job).state = "Off"


@on_task("LabSnapshotTest", "FailOver")
def _fail_over(cloud, job) -> None:
    _job_vm(cloud, job).state = "Saved"
    job.params["created"].append(compute.create_disk_internal(cloud, "rg-migrated", "restored-disk", "eastus", 8)["id"])


@on_job_done("LabSnapshotTest")
def _done(cloud, job) -> None:
    cloud.vm_power["marker"] = f"{job.state} {len(job.params['created'])}"


@operation_hook("snapshot test finished")
def _operation_finished(cloud, params) -> None:
    cloud.vm_power[params["key"]] = "finished"


def test_a_running_job_and_operation_resume_bound_to_the_resumed_world(tmp_path):
    world = _world(tmp_path)
    cloud = world.azure
    vault = next(iter(cloud.vaults.values()))
    host_vm = world.host("HV01").vm("web01")
    job = start_job(cloud, vault, "LabSnapshotTest", "vm-id", "web01",
                    params={"host": "HV01", "vm": "web01", "created": []})
    operation = cloud.arm.start_operation("Microsoft.Compute", 100, "snapshot test finished",
                                          params={"key": "operation marker"})
    world.clock.advance(QUEUE_S + 16)
    cloud.arm.tick()
    assert host_vm.state == "Off" and job.state == "InProgress"

    snapshot = _save(world)
    resumed = _world(tmp_path, snapshot)
    again = resumed.azure
    assert again is not cloud and again.subscription_id == cloud.subscription_id
    resumed_job = again.vaults[next(iter(cloud.vaults))].jobs[job.name.lower()]
    assert resumed_job.state == "InProgress" and resumed_job.tasks[0].state == "Succeeded"
    assert resumed.clock.elapsed() >= world.clock.elapsed() - 1
    resumed_vm = resumed.host("HV01").vm("web01")
    assert resumed_vm.state == "Off"

    resumed.clock.advance(120)
    again.arm.tick()
    assert resumed_job.state == "Succeeded"
    assert resumed_vm.state == "Saved" and host_vm.state == "Off"        # the hook changed the resumed world only
    assert again.get(f"/subscriptions/{again.subscription_id}/resourceGroups/rg-migrated/providers/"
                     "Microsoft.Compute/disks/restored-disk") is not None
    assert not cloud.find(compute.DISK_TYPE)
    assert again.vm_power["marker"] == "Succeeded 1" and "marker" not in cloud.vm_power
    assert again.arm.operations[operation.id].finished
    assert again.vm_power["operation marker"] == "finished" and "operation marker" not in cloud.vm_power
    assert resumed_job.params["created"] and not job.params["created"]      # the resumed job's own params


def test_the_snapshot_keeps_no_bearer_token_and_is_private(tmp_path):
    world = _world(tmp_path)
    request = Request("PUT", "/x", {}, Headers({"Authorization": "Bearer secret-token"}), b"{}", ())
    call = ArmCall(request, "PUT", "/x", {}, "2024-01-01", {}, "p", "https://a", world.clock.now(), world.azure)

    world.azure.arm.start_operation("Microsoft.Compute", 10, "snapshot test finished",
                                    params={"key": ids.key(call.path)})
    snapshotter = persist.Snapshotter(world, tmp_path, {"estate": str(DEMO_ESTATE)})
    assert snapshotter.save() and not snapshotter.save()        # unchanged: not written again
    assert snapshotter.save(force=True)
    path = persist.snapshot_path(tmp_path)
    assert path.stat().st_mode & 0o077 == 0
    assert persist.read_header(tmp_path)["args"] == {"estate": str(DEMO_ESTATE)}
    assert b"secret-token" not in path.read_bytes()


def test_a_snapshot_is_json_of_plain_data_and_another_version_is_refused(tmp_path):
    world = _world(tmp_path)
    persist.Snapshotter(world, tmp_path, {}).save()
    path = persist.snapshot_path(tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == persist.FORMAT_NAME and document["version"] == persist.FORMAT_VERSION
    assert "$object" in path.read_text(encoding="utf-8") and "marshal" not in path.read_text(encoding="utf-8")

    document["version"] = persist.FORMAT_VERSION - 1
    path.write_text(json.dumps(document), encoding="utf-8")
    refusal = r"format version 1, and this lab reads version 2 only; start the lab afresh, without --resume"
    with pytest.raises(persist.SnapshotError, match=refusal):
        persist.read(tmp_path)
    path.write_bytes(b"\x80\x05an old pickle")
    with pytest.raises(persist.SnapshotError, match="not a lab snapshot of format version 2"):
        persist.read(tmp_path)


def test_a_hook_that_is_not_plain_data_is_refused_when_saving(tmp_path):
    world = _world(tmp_path)
    vault = next(iter(world.azure.vaults.values()))
    start_job(world.azure, vault, "LabSnapshotTest", "vm-id", "web01", params={"hook": lambda: None})
    with pytest.raises(persist.PlainDataError, match=r"params\['hook'\] is a builtins.function"):
        persist.dump_state(world)
