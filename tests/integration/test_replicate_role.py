"""The replicate role against a lab of its own: a wave where one VM's enable fails (the lab's job-failure knob) and
the others replicate. The wave's wait stops waiting for the failed VM, lets the others finish, and fails at the end
naming the failed VM and its error - long before the timeout - after printing each VM's progress. The wait is one
task, a flat loop: no task includes another."""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from migration_lab import POLICY, SITE, TARGET_GROUP, azure_vars, item_of, make_runner, start_lab

pytestmark = pytest.mark.lab
ROLE_TASKS = Path(__file__).resolve().parents[2] / "roles" / "replicate" / "tasks"
HOST = "HVR01"
WAVE = ["hvr01-vm01", "hvr01-vm02", "hvr01-vm03"]
FAILING = "hvr01-vm02"
TIMEOUT_S = 900
ROLE = "azmigrate.hyperv.replicate : "


@pytest.fixture(scope="module")
def role_lab(tmp_path_factory):
    # Slow enough that the healthy VMs still copy when the failed one is seen: the wait must go on for them.
    lab = start_lab(tmp_path_factory.mktemp("replicate-role-lab"), hosts={HOST: len(WAVE)}, time_scale=60)
    yield lab
    lab.stop()


def test_a_failed_vm_is_named_with_its_error_and_does_not_hold_the_wave_until_the_timeout(role_lab, tmp_path):
    lab = role_lab
    run = make_runner(lab, tmp_path)
    lab.admin.post("/azure/faults/job-failure", {"scenario": "EnableDr", "code": "70094", "task": 2, "vm": FAILING})
    info = azure_vars(lab)
    started = time.monotonic()
    playbook = run("playbooks/replicate.yml", extra_vars={
        "azmigrate_azure_auth": info["azure_auth"], "replicate_resource_group": info["vault_resource_group"],
        "replicate_vault_name": info["vault_name"], "replicate_site": SITE, "replicate_policy": POLICY,
        "replicate_target_resource_group": TARGET_GROUP, "replicate_target_network": info["target_network"],
        "replicate_target_subnet": "default", "replicate_os_type": "Windows",
        "replicate_log_storage_account_id": lab.info["azure"]["log_storage_account_id"],
        "replicate_vms": [{"name": vm, "os_disk": f"{vm}-os"} for vm in WAVE],
        "replicate_poll_interval": 1, "replicate_timeout": TIMEOUT_S})
    elapsed = time.monotonic() - started
    assert playbook.rc != 0, playbook.output
    verdict = playbook.result("localhost", ROLE + "Wait for the wave's initial replication")
    assert "Replication failed for 1 VM(s): %s (70094" % FAILING in verdict["msg"], verdict["msg"]
    assert "Protection couldn't be enabled" in verdict["msg"] and "Resolve the Hyper-V error" in verdict["msg"]
    assert "still in initial replication" not in verdict["msg"], verdict["msg"]
    # The others were waited for, to the end of their initial replication; the failed one was not waited on.
    for vm in WAVE:
        item = item_of(lab, vm)
        if vm == FAILING:
            assert item["protection_state"] == "EnablingFailed" and item["replication_health"] == "Critical"
        else:
            assert item["protection_state"] == "Protected", item
    assert elapsed < TIMEOUT_S / 3, elapsed
    assert verdict["finished"] and len(verdict["vms"]) == len(WAVE), verdict   # it ended on its condition, not the timeout
    # One progress line per VM while it waited, and one when it ended (the failed VM's with its health).
    for vm in WAVE:
        assert re.search(rf"^\[localhost\] replication \d+:\d\d:\d\d {vm}: ", playbook.output, re.M), playbook.output[-3000:]
    assert re.search(rf"\[localhost\] replication \d+:\d\d:\d\d {FAILING}: failed 0% health Critical", playbook.output), \
        playbook.output[-3000:]


def _tasks(path: Path) -> list[dict]:
    found = []
    for task in yaml.safe_load(path.read_text()) or []:
        found.append(task)
        for section in ("block", "rescue", "always"):
            found += task.get(section) or []
    return found


def test_the_wait_is_a_flat_bounded_loop_that_includes_nothing():
    """The old wait.yml included itself once per poll: about 245 polls reached Python's maximum recursion; its
    successor, an until loop, printed nothing while it ran. The wait is now one task of the replication_wait action
    (one flat loop in Python, bounded by replicate_timeout), and the role includes no task file at all."""
    assert sorted(path.name for path in ROLE_TASKS.iterdir()) == ["main.yml"]
    main = _tasks(ROLE_TASKS / "main.yml")
    including = [task.get("name") for task in main
                 if set(task) & {"include_tasks", "import_tasks", "ansible.builtin.include_tasks",
                                 "ansible.builtin.import_tasks", "include_role", "ansible.builtin.include_role"}]
    assert including == []
    wait = next(task for task in main if "azmigrate.hyperv.replication_wait" in task)
    assert not set(wait) & {"until", "retries", "loop", "with_items"}
    assert wait["azmigrate.hyperv.replication_wait"]["timeout"] == "{{ replicate_timeout }}"
    assert wait["azmigrate.hyperv.replication_wait"]["poll_interval"] == "{{ replicate_poll_interval }}"
