"""test_migration and migration through ansible-playbook against the lab's Azure: check mode, test failover and cleanup,
the plan of a test migration that restarts a test VM running in another network (check mode, then the real run),
cutover to completed with the Azure VM verified, a second run that changes nothing, 5xx while polling, a cutover
interrupted half-way that a re-run finishes with exactly one Azure VM, a change of disk SKU after the cutover, and a
lab restarted in the middle of a cutover, after which the re-run converges with exactly one Azure VM."""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import json
import os
import signal
import time

import pytest

# migration_lab's fixtures are used by name.
from migration_lab import (  # noqa: F401  pylint: disable=unused-import
    TARGET_GROUP, azure_vms_named, enable_args, item_of, last_seq, make_runner, migration_lab, migration_playbook,
    run_module, start_lab, writes_since,
)
from azure_lab import VAULT, session  # noqa: E402

pytestmark = pytest.mark.lab


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (ansible-core's local connection starts the module in a session of its
    own, so killing the playbook's process group would leave the module running)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def kill_controller(process) -> None:
    for pid in reversed(descendants(process.pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


def replicated(run, name: str) -> None:
    playbook_run, result = run_module(run, "replication", name=name, wait_for="protected", poll_interval=1,
                                      **enable_args(run.lab, name))
    assert playbook_run.rc == 0 and result["state"] == "protected", playbook_run.output


def test_test_migration_creates_a_running_test_vm_and_cleans_it_up(migration_lab, migration_playbook):
    lab = migration_lab
    replicated(migration_playbook, "hvm02-vm01")
    since = last_seq(lab)
    run, result = run_module(migration_playbook, "test_migration", check=True, name="hvm02-vm01", network="vnet-test")
    assert run.rc == 0 and result["changed"] and writes_since(lab, since) == {}, run.output
    run, result = run_module(migration_playbook, "test_migration", name="hvm02-vm01", network="vnet-test")
    assert run.rc == 0 and result["changed"] and result["state"] == "test_failover", run.output
    test_vm = result["test_vm"]
    assert test_vm["name"] == "hvm02-vm01-test" and test_vm["power_state"] == "running"
    assert test_vm["nics"][0]["subnet_id"].endswith("/virtualNetworks/vnet-test/subnets/default")
    since = last_seq(lab)
    run, result = run_module(migration_playbook, "test_migration", name="hvm02-vm01", network="vnet-test")
    assert run.rc == 0 and not result["changed"] and writes_since(lab, since) == {}
    run, result = run_module(migration_playbook, "migration", name="hvm02-vm01")
    assert run.rc != 0 and "test_migration state=absent" in result["msg"] and not azure_vms_named(lab, "hvm02-vm01")
    run, result = run_module(migration_playbook, "test_migration", name="hvm02-vm01", state="absent", comments="ok")
    assert run.rc == 0 and result["changed"] and result["test_vm"] is None, run.output
    assert not azure_vms_named(lab, "hvm02-vm01-test")
    run, result = run_module(migration_playbook, "test_migration", name="hvm02-vm01", state="absent")
    assert run.rc == 0 and not result["changed"]


def test_a_failed_test_failover_is_cleaned_up_and_retried_by_a_rerun_not_reported_done(migration_lab, migration_playbook):
    """After a failed test failover Azure asks for a clean-up (TestFailoverCleanup allowed) though no test VM runs: a
    re-run must not take that for a test VM and report it done with none."""
    lab = migration_lab
    replicated(migration_playbook, "hvm01-vm09")
    lab.admin.post("/azure/faults/job-failure", {"scenario": "TestFailover", "code": "70094", "vm": "hvm01-vm09"})
    run, result = run_module(migration_playbook, "test_migration", name="hvm01-vm09", network="vnet-test")
    assert run.rc != 0 and "70094" in result["msg"] and result["jobs"][-1]["state"] == "Failed", run.output
    assert item_of(lab, "hvm01-vm09")["allowed_operations"] == ["TestFailoverCleanup"]
    since = last_seq(lab)
    run, result = run_module(migration_playbook, "test_migration", check=True, name="hvm01-vm09", network="vnet-test")
    assert run.rc == 0 and result["steps"] == ["cleanup", "test_failover"] and writes_since(lab, since) == {}, run.output
    run, result = run_module(migration_playbook, "test_migration", name="hvm01-vm09", network="vnet-test")
    assert run.rc == 0 and result["changed"] and result["state"] == "test_failover", run.output
    assert [job["scenario"] for job in result["jobs"]] == ["TestFailoverCleanup", "TestFailover"]
    assert result["steps"] == ["cleanup", "test_failover"]
    assert result["test_vm"]["name"] == "hvm01-vm09-test" and result["test_vm"]["power_state"] == "running"
    run, result = run_module(migration_playbook, "test_migration", name="hvm01-vm09", state="absent")
    assert run.rc == 0 and result["changed"] and not azure_vms_named(lab, "hvm01-vm09-test"), run.output


def _vault_world(lab) -> dict:
    """The vault in the lab's world: its sites' items (test VM id, failover state) and its job count."""
    return lab.admin.get("/azure/world")["vaults"][VAULT]


def _test_vm_network(result: dict) -> str:
    return result["test_vm"]["nics"][0]["subnet_id"].split("/virtualNetworks/")[1].split("/")[0]


def test_check_mode_plans_the_restart_of_a_test_vm_in_another_network_and_the_run_takes_exactly_it(tmp_path):
    """A test VM runs in vnet-isolated and the task asks for vnet-test with restart_if_different: check mode reports the
    clean-up and the new test failover and changes nothing; the real run takes those two steps, no more; a second run
    has no step left. A lab of its own: the shared migration lab has no VM to spare."""
    lab = start_lab(tmp_path / "restart-plan-lab", hosts={"HVT01": 1})
    try:
        run, vm = make_runner(lab, tmp_path), "hvt01-vm01"
        replicated(run, vm)
        session(lab).network().virtual_networks.begin_create_or_update(TARGET_GROUP, "vnet-isolated", {
            "location": lab.info["azure"]["location"], "properties": {
                "addressSpace": {"addressPrefixes": ["10.77.0.0/16"]},
                "subnets": [{"name": "default", "properties": {"addressPrefix": "10.77.1.0/24"}}]}}).result()
        first, result = run_module(run, "test_migration", name=vm, network="vnet-isolated")
        assert first.rc == 0 and result["steps"] == ["test_failover"] and _test_vm_network(result) == "vnet-isolated"

        before, since = _vault_world(lab), last_seq(lab)
        check, result = run_module(run, "test_migration", check=True, name=vm, network="vnet-test")
        assert check.rc != 0 and "restart_if_different" in result["msg"] and result["steps"] == [], check.output
        check, result = run_module(run, "test_migration", check=True, name=vm, network="vnet-test",
                                   restart_if_different=True)
        assert check.rc == 0 and result["changed"] and result["steps"] == ["cleanup", "test_failover"], check.output
        assert result["jobs"] == [] and _test_vm_network(result) == "vnet-isolated"
        assert writes_since(lab, since) == {} and _vault_world(lab) == before     # no job, the same test VM

        real, result = run_module(run, "test_migration", name=vm, network="vnet-test", restart_if_different=True)
        assert real.rc == 0 and result["changed"] and result["steps"] == ["cleanup", "test_failover"], real.output
        assert [job["scenario"] for job in result["jobs"]] == ["TestFailoverCleanup", "TestFailover"]
        assert _vault_world(lab)["jobs"] == before["jobs"] + 2 and _test_vm_network(result) == "vnet-test"
        assert len(azure_vms_named(lab, vm + "-test")) == 1

        since = last_seq(lab)
        again, result = run_module(run, "test_migration", name=vm, network="vnet-test", restart_if_different=True)
        assert again.rc == 0 and not result["changed"] and result["steps"] == [] and result["jobs"] == [], again.output
        assert writes_since(lab, since) == {}
    finally:
        lab.stop()


def test_migration_completes_verifies_the_vm_and_a_second_run_changes_nothing(migration_lab, migration_playbook):
    lab = migration_lab
    replicated(migration_playbook, "hvm02-vm02")
    since = last_seq(lab)
    run, result = run_module(migration_playbook, "migration", check=True, diff=True, name="hvm02-vm02")
    assert run.rc == 0 and result["changed"] and result["steps"] == ["planned_failover", "commit", "complete"], run.output
    assert writes_since(lab, since) == {} and item_of(lab, "hvm02-vm02")["active_location"] == "Primary"

    run, result = run_module(migration_playbook, "migration", name="hvm02-vm02", tags={"wave": "2"})
    assert run.rc == 0 and result["changed"], run.output
    assert result["steps"] == ["planned_failover", "commit", "complete", "tags"] and result["state"] == "completed"
    assert [job["scenario"] for job in result["jobs"]] == ["PlannedFailover", "CommitFailover", "DisableDr"]
    vm = result["azure_vm"]
    assert vm["provisioning_state"] == "Succeeded" and vm["power_state"] == "running" and vm["tags"]["wave"] == "2"
    assert all(disk["managed"] and disk["sku"] for disk in vm["disks"]) and len(vm["disks"]) == 2
    assert vm["nics"] and vm["nics"][0]["private_ip"] and result["verification"] == []
    assert item_of(lab, "hvm02-vm02") is None and len(azure_vms_named(lab, "hvm02-vm02")) == 1
    host_vm = next(v for v in lab.admin.host("HVM02")["vms"] if v["name"] == "hvm02-vm02")
    assert host_vm["state"] == "Off"     # planned failover shut the source down

    for args in ({}, {"target_resource_group": TARGET_GROUP, "tags": {"wave": "2"}}):
        since = last_seq(lab)
        run, result = run_module(migration_playbook, "migration", name="hvm02-vm02", **args)
        assert run.rc == 0 and not result["changed"] and result["state"] == "completed", run.output
        assert result["azure_vm"]["name"] == "hvm02-vm02" and writes_since(lab, since) == {}


def test_failed_over_then_committed_then_completed_step_by_step(migration_lab, migration_playbook):
    lab = migration_lab
    replicated(migration_playbook, "hvm02-vm03")
    for state, steps in (("failed_over", ["planned_failover"]), ("failed_over", []), ("committed", ["commit"]),
                         ("completed", ["complete"])):
        run, result = run_module(migration_playbook, "migration", name="hvm02-vm03", state=state)
        assert run.rc == 0 and result["steps"] == steps and result["state"] == state, run.output
    assert len(azure_vms_named(lab, "hvm02-vm03")) == 1


def test_5xx_while_polling_jobs_is_ridden_out(migration_lab, migration_playbook):
    lab = migration_lab
    replicated(migration_playbook, "hvm02-vm04")
    lab.admin.post("/azure/faults", {"poll_5xx": 6, "poll_5xx_status": 503})
    try:
        run, result = run_module(migration_playbook, "migration", name="hvm02-vm04")
    finally:
        lab.admin.delete("/azure/faults")
    assert run.rc == 0 and result["state"] == "completed", run.output
    assert len(azure_vms_named(lab, "hvm02-vm04")) == 1


def test_a_cutover_interrupted_half_way_is_finished_by_a_rerun_with_exactly_one_azure_vm(migration_lab, migration_playbook):
    """The controller dies while the planned failover runs (its ansible-playbook is killed), and the ARM endpoint drops
    connections for a while, as a restarted lab or network does; the re-run waits for the running job, commits and
    completes, and never starts a second failover."""
    lab = migration_lab
    replicated(migration_playbook, "hvm02-vm05")
    lab.admin.post("/clock", {"time_scale": 20})      # slow enough to interrupt the failover half-way
    try:
        process, _results = migration_playbook(
            "tests/integration/playbooks/azure_migration_module.yml", popen=True,
            extra_vars={"module": "migration", "module_args": {"resource_group": "rg-migrate", "vault_name": "vault-migrate",
                                                               "name": "hvm02-vm05"}})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            item = item_of(lab, "hvm02-vm05")
            if item and item["busy"] and item["protection_state"].startswith("PlannedFailover"):
                break
            time.sleep(0.2)
        else:
            kill_controller(process)
            pytest.fail("the planned failover did not start")
        kill_controller(process)      # ansible-playbook, its worker and the module: the controller dies
        lab.admin.post("/azure/faults", {"reset_after_requests": 2})   # and the endpoint drops connections a while
        time.sleep(1)
        lab.admin.delete("/azure/faults")
        run, result = run_module(migration_playbook, "migration", name="hvm02-vm05")
    finally:
        lab.admin.post("/clock", {"time_scale": 600})
    assert run.rc == 0 and result["state"] == "completed", run.output
    assert result["steps"] == ["wait", "commit", "complete"], result["steps"]   # never a second planned_failover
    assert [job["scenario"] for job in result["jobs"]][0] == "PlannedFailover"
    assert len(azure_vms_named(lab, "hvm02-vm05")) == 1 and item_of(lab, "hvm02-vm05") is None
    run, result = run_module(migration_playbook, "migration", name="hvm02-vm05")
    assert run.rc == 0 and not result["changed"] and len(azure_vms_named(lab, "hvm02-vm05")) == 1


def test_cutover_playbook_writes_json_and_junit_and_its_exit_code_is_the_verdict(migration_lab, migration_playbook, tmp_path):
    replicated(migration_playbook, "hvm02-vm06")
    common = {"cutover_resource_group": "rg-migrate", "cutover_vault_name": "vault-migrate", "cutover_poll_interval": 1,
              "cutover_target_resource_group": TARGET_GROUP, "cutover_report_dir": str(tmp_path),
              "waves": [{"name": "w1", "vms": ["hvm02-vm06", "hvm01-vm10"], "hosts": ["HVM02", "HVM01"]}],
              "azmigrate_azure_auth": None}
    common["azmigrate_azure_auth"] = "{{ azure_auth }}"
    run = migration_playbook("playbooks/cutover.yml", extra_vars={**common, "wave": "w1"})
    assert run.rc != 0, run.output          # hvm01-vm10 does not replicate: the verdict is a failure
    report = json.loads((tmp_path / "cutover-w1.json").read_text())
    rows = {row["vm"]: row for row in report["vms"]}
    assert not rows["hvm02-vm06"]["failed"] and rows["hvm02-vm06"]["state"] == "completed"
    assert rows["hvm01-vm10"]["failed"] and "neither replicates" in rows["hvm01-vm10"]["msg"]
    junit = (tmp_path / "cutover-w1.xml").read_text()
    assert 'tests="2" failures="1"' in junit and "<failure" in junit
    run = migration_playbook("playbooks/cutover.yml", extra_vars={**common, "cutover_vms": ["hvm02-vm06"], "cutover_wave_name": "w2"})
    assert run.rc == 0, run.output
    assert json.loads((tmp_path / "cutover-w2.json").read_text())["vms"][0]["steps"] == []


def test_disk_sku_after_the_cutover_deallocates_changes_every_disk_and_starts_the_vm(migration_lab, migration_playbook):
    lab = migration_lab
    vm = "hvm01-vm08"    # two disks (os and data)
    replicated(migration_playbook, vm)
    run, result = run_module(migration_playbook, "migration", diff=True, name=vm, disk_sku="Premium_LRS")
    assert run.rc == 0 and result["changed"] and result["state"] == "completed", run.output
    assert result["steps"] == ["planned_failover", "commit", "complete", "disk_sku"], result["steps"]
    disks = result["azure_vm"]["disks"]
    assert len(disks) == 2 and {disk["sku"] for disk in disks} == {"Premium_LRS"}, disks
    assert result["azure_vm"]["power_state"] == "running"          # deallocated for the change, then started again
    assert result["diff"]["after"]["disk_skus"] == dict.fromkeys(result["diff"]["before"]["disk_skus"], "Premium_LRS")
    counts = lab.admin.get("/azure/requests?since=0")["by_route"]
    assert any(route.startswith("PATCH ") and route.endswith("/disks/{name}") for route in counts), counts

    since = last_seq(lab)
    run, result = run_module(migration_playbook, "migration", name=vm, disk_sku="Premium_LRS")
    assert run.rc == 0 and not result["changed"] and writes_since(lab, since) == {}, run.output
    run, result = run_module(migration_playbook, "migration", check=True, name=vm, disk_sku="StandardSSD_LRS")
    assert run.rc == 0 and result["changed"] and result["steps"] == ["disk_sku"] and writes_since(lab, since) == {}
    assert len(azure_vms_named(lab, vm)) == 1


def _wait_for_planned_failover(lab, vm: str, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        item = item_of(lab, vm)
        if item and item["busy"] and item["protection_state"] == "PlannedFailoverInitiated":
            return
        if process.poll() is not None:
            pytest.fail(f"the migration run ended ({process.returncode}) before its planned failover was seen running")
        time.sleep(0.1)
    kill_controller(process)
    pytest.fail("the planned failover did not start")


def _planned_failovers(lab, vm: str) -> int:
    client = session(lab).site_recovery()
    jobs = client.replication_jobs.list("rg-migrate", "vault-migrate", filter="jobName eq 'PlannedFailover'")
    return sum(1 for job in jobs if job["properties"]["scenarioName"] == "PlannedFailover"
               and job["properties"]["targetObjectName"] == vm)


def test_a_lab_restarted_during_the_cutover_converges_on_a_rerun_with_exactly_one_azure_vm(tmp_path):
    """The whole lab (hosts and Azure) goes down while the planned failover job runs, and comes back from its saved
    world (python -m lab up --resume on the same state dir: same endpoints and credentials). The run that was
    polling the job fails honestly: its timeout runs out while Azure is unreachable. The job went on on the lab
    clock meanwhile, as the real service's does, and ends (creating the VM) in the resumed lab; the re-run commits
    and completes, and there is exactly one planned failover and one Azure VM."""
    lab = start_lab(tmp_path / "restart-lab", hosts={"HVM01": 1})
    try:
        run = make_runner(lab, tmp_path)
        vm = "hvm01-vm01"
        replicated(run, vm)
        lab.admin.post("/clock", {"time_scale": 40})     # the planned failover's ~450 lab seconds take ~11 s
        process, results = run("tests/integration/playbooks/azure_migration_module.yml", popen=True, extra_vars={
            "module": "migration", "module_args": {"resource_group": "rg-migrate", "vault_name": "vault-migrate",
                                                   "name": vm, "timeout": 25}})
        try:
            _wait_for_planned_failover(lab, vm, process)
            lab.stop()                                    # down in the middle of the cutover
            first_rc = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                kill_controller(process)
        first = json.loads(results.read_text())["results"] if results.exists() else []
        messages = [str(entry["result"].get("msg", "")) for entry in first if entry["status"] == "failed"]
        assert first_rc != 0 and messages, first
        assert "was still" in messages[0], messages       # its timeout ran out while Azure was unreachable

        lab.resume()                                      # up --resume: the saved world, the job resumed
        lab.admin.post("/clock", {"time_scale": 600})
        # The lab was down for ~1000 lab seconds, longer than the job had left: it ends at the first tick (which an
        # ARM request makes happen, as the ticker does every 0.2 s), creating the Azure VM in the resumed lab.
        assert len(azure_vms_named(lab, vm)) == 1
        assert item_of(lab, vm)["protection_state"] == "PlannedFailoverCommitRequired"
        rerun, result = run_module(run, "migration", name=vm)
        assert rerun.rc == 0 and result["state"] == "completed", rerun.output
        assert "planned_failover" not in result["steps"] and result["steps"][-2:] == ["commit", "complete"], result
        assert result["azure_vm"]["power_state"] == "running"
        assert len(azure_vms_named(lab, vm)) == 1 and item_of(lab, vm) is None
        assert _planned_failovers(lab, vm) == 1
        again, result = run_module(run, "migration", name=vm)
        assert again.rc == 0 and not result["changed"] and len(azure_vms_named(lab, vm)) == 1
    finally:
        lab.stop()
