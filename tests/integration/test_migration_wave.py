"""migration_wave and the cutover role on a 5-VM wave, through ansible-playbook against a lab of their own: check mode
sends no write, every VM gets exactly one test VM (and one Azure VM), a re-run changes nothing and starts no job, a
failed job is that VM's verdict only, and under ARM throttling no request goes before a 429's Retry-After passed."""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from migration_lab import (
    TARGET_GROUP, another_vm, azure_vms_named, last_seq, make_runner, replicate_vars, start_lab, vm_name, writes_since,
)
from azure_lab import session

pytestmark = pytest.mark.lab

HOSTS = {"HVX01": 4, "HVX02": 3}
WAVE = [vm_name("HVX01", n) for n in (1, 2, 3)] + [vm_name("HVX02", n) for n in (1, 2)]
FAILING = vm_name("HVX01", 4)
WAVE_PLAYBOOK = "tests/integration/playbooks/migration_wave_module.yml"


@pytest.fixture(scope="module")
def wave_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("wave")
    lab = start_lab(work / "lab", hosts=HOSTS)
    run = make_runner(lab, work)
    outcome = run("playbooks/replicate.yml", extra_vars=replicate_vars(lab, WAVE + [FAILING]))
    assert outcome.rc == 0, outcome.output[-3000:]
    yield run
    lab.stop()


def wave(run, check=False, **args):
    """(PlaybookRun, the migration_wave task's result)."""
    module_args = {"resource_group": "rg-migrate", "vault_name": "vault-migrate", "poll_interval": 1, **args}
    outcome = run(WAVE_PLAYBOOK, extra_vars={"module_args": module_args}, check=check)
    return outcome, outcome.result("localhost", "Migration wave")


def test_wave_test_migration_under_throttling_one_test_vm_each_and_a_rerun_changes_nothing(wave_run):
    lab = wave_run.lab
    since = last_seq(lab)
    outcome, result = wave(wave_run, check=True, operation="test_migration", vms=WAVE, network="vnet-test")
    assert outcome.rc == 0 and result["changed"], outcome.output[-3000:]
    assert [row["verdict"] for row in result["vms"]] == ["planned"] * 5
    assert all(row["steps"] == ["test_failover"] for row in result["vms"])
    assert writes_since(lab, since) == {}
    assert not any(azure_vms_named(lab, name + "-test") for name in WAVE)

    # A read budget the wave must exceed: ARM answers 429 with Retry-After, and no request may come earlier.
    lab.admin.post("/azure/throttle", {"kind": "reads", "capacity": 15, "refill_per_s": 8})
    try:
        since = last_seq(lab)
        outcome, result = wave(wave_run, operation="test_migration", vms=WAVE, network="vnet-test")
        counts = lab.admin.get(f"/azure/requests?since={since}")
    finally:
        lab.admin.delete("/azure/throttle")
    assert outcome.rc == 0, outcome.output[-3000:]
    assert counts["by_status"].get("429", 0) > 0, counts          # the throttle did bite
    assert counts["retry_after_violations"] == 0, counts
    assert sum(n for route, n in counts["by_route"].items() if route.startswith("POST") and route.endswith("/testFailover")) == 5
    rows = {row["name"]: row for row in result["vms"]}
    for name in WAVE:
        assert rows[name]["verdict"] == "done" and rows[name]["state"] == "test_failover", rows[name]
        assert rows[name]["test_vm"]["name"] == name + "-test" and rows[name]["test_vm"]["power_state"] == "running"
        assert [job["scenario"] for job in rows[name]["jobs"]] == ["TestFailover"]
        assert len(azure_vms_named(lab, name + "-test")) == 1
    # The jobs ran side by side: every VM's job was started before the first VM was done.
    started = [entry["at"] for row in result["vms"] for entry in row["timeline"] if entry["event"] == "job"]
    done = [entry["at"] for row in result["vms"] for entry in row["timeline"] if entry["event"] == "done"]
    assert len(started) == 5 and max(started) <= min(done), result["vms"]

    since = last_seq(lab)
    outcome, result = wave(wave_run, operation="test_migration", vms=WAVE, network="vnet-test")
    assert outcome.rc == 0 and not result["changed"], outcome.output[-3000:]
    assert writes_since(lab, since) == {}
    assert all(len(azure_vms_named(lab, name + "-test")) == 1 for name in WAVE)

    outcome, result = wave(wave_run, operation="test_migration", state="absent", vms=WAVE, comments="passed")
    assert outcome.rc == 0 and result["changed"], outcome.output[-3000:]
    assert all(row["state"] == "protected" and row["test_vm"] is None for row in result["vms"])
    assert not any(azure_vms_named(lab, name + "-test") for name in WAVE)


def test_a_round_returns_running_vms_a_timeout_is_a_verdict_and_a_rerun_waits_for_the_same_job(wave_run):
    lab = wave_run.lab
    vm = WAVE[1]
    lab.admin.post("/azure/faults/slow-vm", {"vm": vm, "factor": 60})    # its test failover takes about 36 s
    try:
        since = last_seq(lab)
        outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-test", round_seconds=2)
        assert outcome.rc == 0 and not result["finished"], outcome.output[-3000:]
        row = result["vms"][0]
        assert row["verdict"] == "running" and row["steps"] == ["test_failover"] and row["progress"]["job"]
        assert row["progress_line"].startswith(f"{vm}: test_failover - ")
        outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-test", timeout=2)
        assert outcome.rc != 0 and result["vms"][0]["verdict"] == "timed_out", outcome.output[-3000:]
        assert "(Timeout)" in result["vms"][0]["msg"] and "still running in" not in result["msg"]
        outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-test", timeout=120)
        assert outcome.rc == 0 and result["vms"][0]["verdict"] == "done", outcome.output[-3000:]
        assert result["vms"][0]["steps"] == ["wait"]
        assert sum(n for route, n in writes_since(lab, since).items() if route.endswith("/testFailover")) == 1
        assert len(azure_vms_named(lab, vm + "-test")) == 1
    finally:
        lab.admin.post("/azure/faults/slow-vm", {"vm": vm, "factor": 1})
    outcome, result = wave(wave_run, operation="test_migration", state="absent", vms=[vm])
    assert outcome.rc == 0 and not azure_vms_named(lab, vm + "-test"), outcome.output[-3000:]


def test_wave_bad_input_is_refused_before_any_request(wave_run):
    lab = wave_run.lab
    since = last_seq(lab)
    outcome, result = wave(wave_run, operation="cutover", state="present", vms=[WAVE[0], WAVE[0].upper()],
                           network="vnet-test")
    assert outcome.rc != 0
    assert "state is 'present'; with operation=cutover it must be one of failed_over, committed, completed" in result["msg"]
    assert "listed twice" in result["msg"] and "network apply to operation=test_migration" in result["msg"]
    assert lab.admin.get(f"/azure/requests?since={since}")["total"] == 0


def world(lab) -> dict:
    return lab.admin.get("/azure/world")


def test_wave_names_are_checked_on_their_azure_domain_before_any_request(wave_run):
    lab = wave_run.lab
    since = last_seq(lab)
    outcome, result = wave(wave_run, operation="test_migration", network="vnet test", network_resource_group="rg/x",
                           production_networks=["vnet-test", "prod net"],
                           vms=[{"name": WAVE[0], "site": "site x", "target_vm_name": "web_01"}, WAVE[1]])
    assert outcome.rc != 0 and not result.get("changed"), outcome.output[-3000:]
    for words in ("network is 'vnet test'", "network_resource_group is 'rg/x'", "production_networks[1] is 'prod net'",
                  "vms[0].site is 'site x'", "vms[0].target_vm_name is 'web_01'", "letters, digits"):
        assert words in result["msg"], result["msg"]
    outcome, result = wave(wave_run, operation="cutover", vms=[WAVE[0]], target_resource_group="rg.",
                           restart_if_different=True)
    assert outcome.rc != 0, outcome.output[-3000:]
    assert "target_resource_group is 'rg.'" in result["msg"] and "restart_if_different apply to operation=test_migration" \
        in result["msg"], result["msg"]
    assert lab.admin.get(f"/azure/requests?since={since}")["total"] == 0


def test_wave_refuses_a_production_test_network_or_a_wrong_site_per_vm_and_changes_nothing(wave_run):
    lab = wave_run.lab
    target_network = lab.info["azure"]["target_network"]
    before, since = world(lab), last_seq(lab)
    for check in (True, False):
        # The VMs' own target network, then a network listed as production, then a site the vault does not have.
        outcome, result = wave(wave_run, check=check, operation="test_migration", vms=WAVE[:2], network=target_network)
        assert outcome.rc != 0 and not result["changed"], outcome.output[-3000:]
        for row in result["vms"]:
            assert row["verdict"] == "failed" and row["steps"] == [] and row["jobs"] == [], row
            assert row["msg"].startswith("Invalid options: network '/subscriptions/") and \
                f"/virtualNetworks/{target_network}' is the VM's own target network (production)" in row["msg"], row
            assert "allow_production_network=true" in row["msg"]
        outcome, result = wave(wave_run, check=check, operation="test_migration", vms=WAVE[2:4], network="vnet-test",
                               production_networks=["vnet-test"])
        assert outcome.rc != 0 and not result["changed"], outcome.output[-3000:]
        assert all(row["verdict"] == "failed" and "is listed in production_networks" in row["msg"]
                   for row in result["vms"]), result["vms"]
        outcome, result = wave(wave_run, check=check, operation="test_migration", network="vnet-test",
                               vms=[{"name": WAVE[4], "site": "site-elsewhere"}])
        assert outcome.rc != 0 and not result["changed"], outcome.output[-3000:]
        row = result["vms"][0]
        assert "Invalid options: site 'site-elsewhere' not found in vault 'vault-migrate'" in row["msg"], row
        assert "site-m" in row["msg"] and row["verdict"] == "failed" and row["steps"] == [], row
    assert writes_since(lab, since) == {} and world(lab) == before
    assert not any(azure_vms_named(lab, name + "-test") for name in WAVE)

    # Allowed when asked: check mode plans the test failover into the production network.
    outcome, result = wave(wave_run, check=True, operation="test_migration", vms=WAVE[:1], network=target_network,
                           allow_production_network=True)
    assert outcome.rc == 0 and result["vms"][0]["steps"] == ["test_failover"], outcome.output[-3000:]


def test_a_taken_target_vm_name_is_refused_before_the_failover_in_check_mode_and_real_run(wave_run):
    lab = wave_run.lab
    vm = WAVE[2]
    blocker = another_vm(lab, vm)
    try:
        before, since = world(lab), last_seq(lab)
        for check in (True, False):
            outcome, result = wave(wave_run, check=check, operation="cutover", vms=[vm], target_resource_group=TARGET_GROUP)
            assert outcome.rc != 0 and not result["changed"], outcome.output[-3000:]
            row = result["vms"][0]
            assert row["verdict"] == "failed" and row["steps"] == [], row
            assert row["msg"].startswith(f"Can't migrate '{vm}': an Azure VM '{vm}' already exists in resource group "
                                         f"'{TARGET_GROUP}'") and "target_vm_name" in row["msg"], row
        assert writes_since(lab, since) == {} and world(lab) == before
        assert len(azure_vms_named(lab, vm)) == 1
    finally:
        compute = session(lab).compute()
        compute.virtual_machines.begin_delete(TARGET_GROUP, blocker).result()


def test_a_test_vm_running_in_another_network_is_reported_or_tested_again_never_ok(wave_run):
    lab = wave_run.lab
    vm = WAVE[4]
    session(lab).network().virtual_networks.begin_create_or_update(TARGET_GROUP, "vnet-isolated", {
        "location": lab.info["azure"]["location"], "properties": {
            "addressSpace": {"addressPrefixes": ["10.77.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.77.1.0/24"}}]}}).result()
    outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-test")
    assert outcome.rc == 0 and result["vms"][0]["state"] == "test_failover", outcome.output[-3000:]
    try:
        before, since = world(lab), last_seq(lab)
        outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-isolated")
        assert outcome.rc != 0 and not result["changed"], outcome.output[-3000:]
        row = result["vms"][0]
        assert row["verdict"] == "failed" and "runs in network 'vnet-test'" in row["msg"], row
        assert "'vnet-isolated'" in row["msg"] and "restart_if_different" in row["msg"]
        assert world(lab) == before and writes_since(lab, since) == {}

        outcome, result = wave(wave_run, check=True, operation="test_migration", vms=[vm], network="vnet-isolated",
                               restart_if_different=True)
        assert outcome.rc == 0 and result["changed"], outcome.output[-3000:]
        assert result["vms"][0]["verdict"] == "planned" and result["vms"][0]["steps"] == ["cleanup", "test_failover"]
        assert world(lab) == before and writes_since(lab, since) == {}

        outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-isolated",
                               restart_if_different=True)
        assert outcome.rc == 0 and result["changed"], outcome.output[-3000:]
        row = result["vms"][0]
        assert row["steps"] == ["cleanup", "test_failover"], row
        assert [job["scenario"] for job in row["jobs"]] == ["TestFailoverCleanup", "TestFailover"]
        assert row["test_vm"]["nics"][0]["subnet_id"].endswith("/virtualNetworks/vnet-isolated/subnets/default")
        assert len(azure_vms_named(lab, vm + "-test")) == 1

        since = last_seq(lab)
        outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-isolated",
                               restart_if_different=True)
        assert outcome.rc == 0 and not result["changed"] and writes_since(lab, since) == {}, outcome.output[-3000:]
    finally:
        outcome, result = wave(wave_run, operation="test_migration", state="absent", vms=[vm])
        assert outcome.rc == 0 and not azure_vms_named(lab, vm + "-test"), outcome.output[-3000:]


def test_a_failed_test_failover_is_planned_as_its_cleanup_then_a_new_test_failover(wave_run):
    """Check mode shows both steps the real run takes after a failed test failover, not the clean-up alone."""
    lab = wave_run.lab
    vm = WAVE[3]
    lab.admin.post("/azure/faults/job-failure", {"scenario": "TestFailover", "code": "70094", "vm": vm})
    outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-test")
    assert outcome.rc != 0 and result["vms"][0]["verdict"] == "failed" and "70094" in result["vms"][0]["msg"], outcome.output[-3000:]
    try:
        before, since = world(lab), last_seq(lab)
        outcome, result = wave(wave_run, check=True, operation="test_migration", vms=[vm], network="vnet-test")
        assert outcome.rc == 0 and result["vms"][0]["steps"] == ["cleanup", "test_failover"], outcome.output[-3000:]
        assert world(lab) == before and writes_since(lab, since) == {}

        outcome, result = wave(wave_run, operation="test_migration", vms=[vm], network="vnet-test")
        assert outcome.rc == 0 and result["vms"][0]["steps"] == ["cleanup", "test_failover"], outcome.output[-3000:]
        assert [job["scenario"] for job in result["vms"][0]["jobs"]] == ["TestFailoverCleanup", "TestFailover"]
        assert len(azure_vms_named(lab, vm + "-test")) == 1
    finally:
        outcome, result = wave(wave_run, operation="test_migration", state="absent", vms=[vm])
        assert outcome.rc == 0 and not azure_vms_named(lab, vm + "-test"), outcome.output[-3000:]


def test_test_migration_role_checks_every_test_vm_then_cleans_up(wave_run, tmp_path):
    lab = wave_run.lab
    extra = {"azmigrate_azure_auth": "{{ azure_auth }}", "cutover_resource_group": "rg-migrate",
             "cutover_vault_name": "vault-migrate", "cutover_test_network": "vnet-test", "cutover_poll_interval": 1,
             "cutover_progress_seconds": 1, "cutover_timeout": 100, "cutover_report_dir": str(tmp_path),
             "cutover_vms": WAVE, "cutover_wave_name": "t5"}
    # The role passes the production networks through: every VM is refused, nothing is written.
    since = last_seq(lab)
    outcome = wave_run("playbooks/test_migration.yml", extra_vars={**extra, "cutover_test_production_networks": ["vnet-test"],
                                                                   "cutover_wave_name": "prod"})
    assert outcome.rc != 0, outcome.output[-3000:]
    refused = json.loads((tmp_path / "test_migration-prod.json").read_text())
    assert refused["failed"] == 5 and all("is listed in production_networks" in row["msg"] for row in refused["vms"])
    assert writes_since(lab, since) == {}

    since = last_seq(lab)
    outcome = wave_run("playbooks/test_migration.yml", extra_vars=extra)
    assert outcome.rc == 0, outcome.output[-3000:]
    report = json.loads((tmp_path / "test_migration-t5.json").read_text())
    assert report["passed"] == 5 and report["failed"] == 0
    for row in report["vms"]:
        assert row["azure_vm"] == row["vm"] + "-test" and row["power_state"] == "running", row
        assert row["steps"] == ["test_failover"] and row["state"] == "test_failover"
    writes = writes_since(lab, since)
    assert sorted(n for route, n in writes.items() if route.endswith("/testFailover")) == [5], writes
    assert sorted(n for route, n in writes.items() if route.endswith("/testFailoverCleanup")) == [5], writes
    assert not any(azure_vms_named(lab, name + "-test") for name in WAVE)


def test_cutover_role_migrates_the_wave_prints_progress_and_a_rerun_converges(wave_run, tmp_path):
    lab = wave_run.lab
    lab.admin.post("/azure/faults/job-failure", {"scenario": "PlannedFailover", "code": "70094", "task": 1, "vm": FAILING})
    lab.admin.post("/azure/faults/slow-vm", {"vm": WAVE[0], "factor": 8})   # its jobs outlast a 2-second round
    extra = {"azmigrate_azure_auth": "{{ azure_auth }}", "cutover_resource_group": "rg-migrate",
             "cutover_vault_name": "vault-migrate", "cutover_target_resource_group": TARGET_GROUP,
             "cutover_poll_interval": 1, "cutover_progress_seconds": 2, "cutover_timeout": 200, "cutover_report_dir": str(tmp_path),
             "cutover_vms": WAVE + [FAILING], "cutover_wave_name": "w5"}
    since = last_seq(lab)
    outcome = wave_run("playbooks/cutover.yml", extra_vars=extra, check=True)
    assert outcome.rc == 0, outcome.output[-3000:]
    assert writes_since(lab, since) == {}
    planned = outcome.result("localhost", "azmigrate.hyperv.cutover : Collect the result of each VM")["ansible_facts"]["cutover_rows"]
    assert all(row["steps"] == ["planned_failover", "commit", "complete"] for row in planned), planned

    outcome = wave_run("playbooks/cutover.yml", extra_vars=extra)
    assert outcome.rc != 0, outcome.output[-3000:]        # one VM's failover failed: the verdict is a failure
    report = json.loads((tmp_path / "cutover-w5.json").read_text())
    rows = {row["vm"]: row for row in report["vms"]}
    for name in WAVE:
        assert not rows[name]["failed"] and rows[name]["state"] == "completed", rows[name]
        assert rows[name]["steps"] == ["planned_failover", "commit", "complete"]
        assert len(azure_vms_named(lab, name)) == 1
    assert rows[FAILING]["failed"] and "70094" in rows[FAILING]["msg"] and not azure_vms_named(lab, FAILING)
    junit = (tmp_path / "cutover-w5.xml").read_text()
    assert 'tests="6" failures="1"' in junit
    # Progress lines per VM while waiting, after each round; the slow VM's steps add up over the rounds.
    assert re.search(rf"^\[localhost\] cutover \d+:\d\d:\d\d {WAVE[0]}: planned_failover - .*\(task ", outcome.output, re.M), \
        outcome.output
    assert outcome.result("localhost", "azmigrate.hyperv.cutover : Run the wave, printing each VM's progress while it runs")["rounds"] >= 3

    since = last_seq(lab)
    outcome = wave_run("playbooks/cutover.yml", extra_vars={**extra, "cutover_vms": WAVE, "cutover_wave_name": "again"})
    assert outcome.rc == 0, outcome.output[-3000:]
    assert writes_since(lab, since) == {}
    again = json.loads((tmp_path / "cutover-again.json").read_text())
    assert all(row["steps"] == [] and row["state"] == "completed" for row in again["vms"])
    assert all(len(azure_vms_named(lab, name)) == 1 for name in WAVE)


def test_the_cutover_role_runs_a_wave_in_one_task_whatever_its_number_of_rounds():
    """The role's rounds once included each other (wave_round.yml), capped at 110 rounds, each include slower than
    the last. Now each wave operation is one migration_wave task (its action loops over the rounds in Python,
    bounded by the timeout: tests/unit/plugin_utils/test_rounds.py runs 5,000 rounds); no task file includes itself."""
    tasks = Path(__file__).resolve().parents[2] / "roles" / "cutover" / "tasks"
    assert not (tasks / "wave_round.yml").exists()
    for path in tasks.glob("*.yml"):
        text = path.read_text()
        assert f"include_tasks: {path.name}" not in text, path
    wave_tasks = (tasks / "wave.yml").read_text()
    assert wave_tasks.count("azmigrate.hyperv.migration_wave:") == 1 and "include_tasks" not in wave_tasks
    assert "progress_seconds: \"{{ cutover_progress_seconds }}\"" in wave_tasks
