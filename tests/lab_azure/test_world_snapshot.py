"""The world saved and resumed (lab/persist.py), in process: a job and an operation that were running when the
world was saved go on in the resumed world, and their hooks (closures made by the handlers) act on the resumed
world's objects, not on the ones of the lab that saved them. The same through `python -m lab restart`:
tests/lab/test_restart.py; a cutover across a restart: tests/integration/test_azure_migration.py."""

from __future__ import annotations

from pathlib import Path

from inprocess_azure import DEMO_ESTATE

from lab import persist
from lab.azure import build_azure, compute
from lab.azure.arm import ArmCall
from lab.azure.jobs import QUEUE_S, start_job
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


def test_a_running_job_and_operation_resume_bound_to_the_resumed_world(tmp_path):
    world = _world(tmp_path)
    cloud = world.azure
    vault = next(iter(cloud.vaults.values()))
    host_vm = world.host("HV01").vm("web01")
    created: list[str] = []      # shared by two hooks: one cell in the saved closures too

    def shut_down(job) -> None:
        host_vm.state = "Off"

    def fail_over(job) -> None:
        host_vm.state = "Saved"
        created.append(compute.create_disk_internal(cloud, "rg-migrated", "restored-disk", "eastus", 8)["id"])

    def done(job) -> None:
        cloud.vm_power["marker"] = f"{job.state} {len(created)}"

    job = start_job(cloud, vault, "CommitFailover", "vm-id", "web01",
                    hooks={"VmCommitPrerequisitesCheck": shut_down, "VmCommitFailover": fail_over}, on_done=done)
    finished: list[bool] = []
    operation = cloud.arm.start_operation("Microsoft.Compute", 100, lambda: finished.append(True))
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
    assert again.arm.operations[operation.id].finished and not finished     # the resumed closure's own list


def test_the_snapshot_keeps_no_bearer_token_and_is_private(tmp_path):
    world = _world(tmp_path)
    request = Request("PUT", "/x", {}, Headers({"Authorization": "Bearer secret-token"}), b"{}", ())
    call = ArmCall(request, "PUT", "/x", {}, "2024-01-01", {}, "p", "https://a", world.clock.now(), world.azure)

    def forget_power() -> None:     # a hook that keeps the request's ArmCall, as compute's handlers' hooks may
        call.cloud.vm_power.clear()

    world.azure.arm.start_operation("Microsoft.Compute", 10, forget_power)
    snapshotter = persist.Snapshotter(world, tmp_path, {"estate": str(DEMO_ESTATE)})
    assert snapshotter.save() and not snapshotter.save()        # unchanged: not written again
    assert snapshotter.save(force=True)
    path = persist.snapshot_path(tmp_path)
    assert path.stat().st_mode & 0o077 == 0
    assert persist.read_header(tmp_path)["args"] == {"estate": str(DEMO_ESTATE)}
    assert b"secret-token" not in path.read_bytes()
