"""A Site Recovery action whose answer is lost after its job started, through ansible-playbook against the lab.

The lab's lost-answer fault (POST /azure/faults/lost-answer) makes the next POST of a scenario start its job and
answer 500, 502, 503 or 504. azure-core replays a POST answered 500, 503 or 504 at once, and the replay finds the item
busy with that job: 400 ProtectionEntityOperationNotAllowed. A 502 without Retry-After is not replayed. Either way the
task must wait for the job that runs, succeed, and leave exactly one job of the scenario and one test VM or Azure VM;
its result's jobs name that job. A lab of its own (three VMs on host HVP01), so no other test's VM is touched."""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import pytest

from migration_lab import azure_vms_named, enable_args, last_seq, make_runner, run_module, start_lab, writes_since
from azure_lab import RESOURCE_GROUP, VAULT, session

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def replay_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory.mktemp("post-replay-lab"), hosts={"HVP01": 3})
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def replay_playbook(replay_lab, tmp_path_factory):
    return make_runner(replay_lab, tmp_path_factory.mktemp("post-replay-playbooks"))


def _replicated(run, vm: str) -> None:
    playbook_run, result = run_module(run, "replication", name=vm, wait_for="protected", poll_interval=1,
                                      **enable_args(run.lab, vm))
    assert playbook_run.rc == 0 and result["state"] == "protected", playbook_run.output


def _jobs(lab, scenario: str, vm: str) -> list[str]:
    """The names of the vault's jobs of ``scenario`` on ``vm``, as Azure lists them."""
    jobs = session(lab).site_recovery().replication_jobs.list(RESOURCE_GROUP, VAULT)
    return [job["name"] for job in jobs
            if job["properties"]["scenarioName"] == scenario and job["properties"]["targetObjectName"] == vm]


def _lose_the_next_answer(lab, scenario: str, vm: str, status: int) -> None:
    faults = lab.admin.post("/azure/faults/lost-answer", {"scenario": scenario, "vm": vm, "status": status})
    assert faults["lost_answers"] == [{"scenario": scenario, "status": status, "vm": vm, "remaining": 1}]


def _writes_since(lab, since: int) -> tuple[int, dict]:
    """(how many ARM write requests were sent since ``since``, ARM's answers by status since then). A refused request
    is logged without its route, so writes are counted by method."""
    counts = lab.admin.get(f"/azure/requests?since={since}")
    return sum(writes_since(lab, since).values()), counts["by_status"]


def _job_named_in(result: dict, scenario: str, name: str) -> dict:
    named = [job for job in result["jobs"] if job.get("scenario") == scenario]
    assert [job["name"] for job in named] == [name], result["jobs"]
    return named[0]


def test_a_test_failover_whose_answer_is_lost_waits_for_its_one_job(replay_lab, replay_playbook):
    """503 on testFailover: azure-core replays it, the replay is refused (the item is busy with the job the first
    POST started); then 502 on the clean-up's POST, which is not replayed. Each task waits for the one job."""
    lab, vm = replay_lab, "hvp01-vm01"
    _replicated(replay_playbook, vm)
    _lose_the_next_answer(lab, "TestFailover", vm, 503)
    since = last_seq(lab)
    run, result = run_module(replay_playbook, "test_migration", name=vm, network="vnet-test")
    assert run.rc == 0 and result["changed"] and result["state"] == "test_failover", run.output
    writes, statuses = _writes_since(lab, since)
    assert writes == 2 and statuses.get("503") == 1 and statuses.get("400") == 1, statuses   # the replay, refused
    jobs = _jobs(lab, "TestFailover", vm)
    assert len(jobs) == 1 and _job_named_in(result, "TestFailover", jobs[0])["state"] == "Succeeded"
    assert result["test_vm"]["name"] == f"{vm}-test" and result["test_vm"]["power_state"] == "running"
    assert len(azure_vms_named(lab, f"{vm}-test")) == 1

    _lose_the_next_answer(lab, "TestFailoverCleanup", vm, 502)
    since = last_seq(lab)
    run, result = run_module(replay_playbook, "test_migration", name=vm, state="absent")
    assert run.rc == 0 and result["changed"] and result["test_vm"] is None, run.output
    writes, statuses = _writes_since(lab, since)
    assert writes == 1 and statuses.get("502") == 1 and "400" not in statuses, statuses    # 502: no replay
    jobs = _jobs(lab, "TestFailoverCleanup", vm)
    assert len(jobs) == 1 and _job_named_in(result, "TestFailoverCleanup", jobs[0])["state"] == "Succeeded"
    assert not azure_vms_named(lab, f"{vm}-test")
    assert lab.admin.get("/azure")["faults"]["lost_answers"] == []


@pytest.mark.parametrize("status", [500, 504])
def test_a_planned_failover_whose_answer_is_lost_completes_the_migration_with_one_azure_vm(
        replay_lab, replay_playbook, status):
    """500 or 504 on plannedFailover, the replay refused: the migration waits for the one failover job, commits and
    completes, and a second run changes nothing."""
    lab, vm = replay_lab, {500: "hvp01-vm02", 504: "hvp01-vm03"}[status]
    _replicated(replay_playbook, vm)
    _lose_the_next_answer(lab, "PlannedFailover", vm, status)
    since = last_seq(lab)
    run, result = run_module(replay_playbook, "migration", name=vm)
    assert run.rc == 0 and result["state"] == "completed", run.output
    assert result["steps"] == ["planned_failover", "commit", "complete"], result["steps"]
    writes, statuses = _writes_since(lab, since)    # the failover, its refused replay, the commit and the removal
    assert writes == 4 and statuses.get(str(status)) == 1 and statuses.get("400") == 1, statuses
    jobs = _jobs(lab, "PlannedFailover", vm)
    assert len(jobs) == 1 and _job_named_in(result, "PlannedFailover", jobs[0])["state"] == "Succeeded"
    assert len(azure_vms_named(lab, vm)) == 1 and result["azure_vm"]["power_state"] == "running"
    run, result = run_module(replay_playbook, "migration", name=vm)
    assert run.rc == 0 and not result["changed"] and len(azure_vms_named(lab, vm)) == 1
