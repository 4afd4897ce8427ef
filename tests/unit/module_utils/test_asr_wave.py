"""The pure parts of _asr.wave: the wave's VMs and options, a job's progress and each VM's progress line."""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.waiters import ArmGate
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.wave_options import (
    default_state,
    job_progress,
    progress_line,
    wave_problems,
    wave_specs,
)


def params(**given):
    base = {"operation": "cutover", "state": None, "timeout": 3600, "poll_interval": 30, "round_seconds": None,
            "failover_type": "planned", "shutdown_source": False, "target_resource_group": None, "disk_sku": None,
            "tags": None, "network": None, "network_resource_group": None, "comments": ""}
    base.update(given)
    return base


def test_vms_are_names_or_dicts_and_a_vm_listed_twice_is_refused():
    specs, problems = wave_specs(["web01", {"name": "db01", "site": "hq", "target_vm_name": "db01-az"}])
    assert problems == [] and specs == [{"name": "web01", "site": None, "target_vm_name": None},
                                        {"name": "db01", "site": "hq", "target_vm_name": "db01-az"}]
    specs, problems = wave_specs(["web01", "WEB01", {"name": ""}, {"name": "x", "disk": 1}, 7])
    assert [spec["name"] for spec in specs] == ["web01", "x"]
    assert problems == ["vms[1] ('WEB01') is listed twice (first as vms[0])",
                        "vms[2] is {'name': ''}; each VM is a name (or VM id), or a dict with name",
                        "vms[3] has disk; a VM entry takes name, site and target_vm_name",
                        "vms[4] is 7; each VM is a name (or VM id), or a dict with name"]
    assert wave_specs([]) == ([], ["vms is empty; give the wave's VMs"])


def test_options_of_the_other_operation_and_bad_values_are_named():
    assert wave_problems(params()) == []
    assert wave_problems(params(operation="test_migration", network="vnet-test")) == []
    assert wave_problems(params(state="present")) == [
        "state is 'present'; with operation=cutover it must be one of failed_over, committed, completed"]
    assert wave_problems(params(operation="test_migration")) == [
        "network is required with operation=test_migration and state=present (the isolated virtual network of the "
        "test VMs)"]
    assert wave_problems(params(operation="test_migration", state="absent", disk_sku="Premium_LRS")) == [
        "disk_sku apply to operation=cutover, not to operation=test_migration"]
    assert wave_problems(params(network="vnet", timeout=0, round_seconds=0)) == [
        "timeout is 0; it must be at least 1 (seconds)",
        "round_seconds is 0; it must be at least 1 (seconds), or not given to wait until every VM ends",
        "network apply to operation=test_migration, not to operation=cutover"]
    assert wave_problems(params(state="failed_over", tags={"a": "b"}, shutdown_source=True))[0].startswith(
        "shutdown_source applies to failover_type=unplanned")
    assert default_state("cutover") == "completed" and default_state("test_migration") == "present"


def test_names_follow_azure_rules_and_test_only_options_are_refused_with_a_cutover():
    specs, problems = wave_specs([{"name": "web01", "site": "site x", "target_vm_name": "web_01"},
                                  {"name": "db01", "site": 5}])
    assert specs == [] and len(problems) == 3
    assert problems[0].startswith("vms[0].site is 'site x'; it must be 1 to 64 letters, digits")
    assert problems[1].startswith("vms[0].target_vm_name is 'web_01'; it must be 1 to 63 letters, digits and hyphens")
    assert problems[2] == "vms[1].site is 5; it must be a string"
    found = wave_problems(params(operation="test_migration", network="vnet test", network_resource_group="rg.",
                                 production_networks=["vnet-prod", "/subscriptions/s/resourceGroups/g/providers/"
                                                      "Microsoft.Network/virtualNetworks/v", "-prod"]))
    assert [problem.split(";")[0] for problem in found] == [
        "network is 'vnet test'", "network_resource_group is 'rg.'", "production_networks[2] is '-prod'"]
    assert wave_problems(params(target_resource_group="rg/x", production_networks=["vnet-prod"],
                                allow_production_network=True, restart_if_different=True)) == [
        "target_resource_group is 'rg/x'; it must be 1 to 90 letters, digits, '-', '_', '.', '(' and ')', not ending "
        "with '.'",
        "production_networks, allow_production_network, restart_if_different apply to operation=test_migration, not to "
        "operation=cutover"]


def test_job_progress_names_the_running_task_and_its_number():
    job = {"name": "j1", "properties": {"state": "InProgress", "tasks": [
        {"name": "A", "friendlyName": "Check", "state": "Succeeded"},
        {"name": "B", "friendlyName": "Start failover", "state": "InProgress"},
        {"name": "C", "state": "NotStarted"}]}}
    assert job_progress(job, "planned_failover") == {"step": "planned_failover", "job": "j1", "job_state": "InProgress",
                                                     "task": "Start failover", "task_number": 2, "tasks": 3}
    ended = {"name": "j2", "properties": {"state": "Succeeded", "tasks": [{"name": "A", "state": "Succeeded"}]}}
    assert job_progress(ended, "commit")["task"] is None and job_progress(ended, "commit")["task_number"] == 1


def test_progress_lines():
    running = {"name": "web01", "verdict": "running", "progress": {
        "step": "planned_failover", "task": "Start failover", "task_number": 4, "tasks": 5, "job_state": "InProgress"}}
    assert progress_line(running) == "web01: planned_failover - Start failover (task 4 of 5, InProgress)"
    assert progress_line({"name": "db01", "verdict": "failed", "msg": "Failed to x (70094)."}) == \
        "db01: FAILED - Failed to x (70094)."
    assert progress_line({"name": "a", "verdict": "planned", "steps": ["commit", "complete"]}) == "a: would run commit, complete"
    assert progress_line({"name": "a", "verdict": "done", "state": "completed", "steps": []}) == "a: completed (no change)"


def test_the_gate_holds_requests_until_a_retry_after_passed():
    now, slept = [100.0], []
    gate = ArmGate(lambda: now[0], slept.append)
    gate.wait()
    assert slept == []
    gate.hold(3)
    now[0] += 1
    gate.wait()
    assert slept == [2.0] and gate.throttled == 1
