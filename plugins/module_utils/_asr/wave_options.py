# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""A wave's VMs and options, checked before any request, and its progress lines. Pure."""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import MIGRATION_STATES
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import (
    name_problem,
    problems as option_problems,
)


OPERATIONS = ("test_migration", "cutover")
TEST_STATES = ("present", "absent")


# A VM that needs more steps than this in one run is not converging (each step moves it forward).
MAX_STEPS_PER_VM = 8


# What each verdict means: done - the VM is where the task asked; failed - a job failed or Azure refused (msg);
# timed_out - the wave's timeout passed with its job running; running - this run returned (round_seconds) with its
# job running, a later run goes on; planned - check mode.
VERDICTS = ("done", "failed", "timed_out", "running", "planned")


def wave_specs(vms):
    """([{name, site, target_vm_name}], problems) from the task's ``vms``: names, or dicts with ``name``."""
    specs, problems, seen = [], [], {}
    for index, entry in enumerate(vms or []):
        if isinstance(entry, dict):
            unknown = sorted(set(entry) - {"name", "site", "target_vm_name"})
            if unknown:
                problems.append("vms[%d] has %s; a VM entry takes name, site and target_vm_name" % (index, ", ".join(unknown)))
            name, site, target = entry.get("name"), entry.get("site"), entry.get("target_vm_name")
        else:
            name, site, target = entry, None, None
        if not isinstance(name, str) or not name.strip():
            problems.append("vms[%d] is %r; each VM is a name (or VM id), or a dict with name" % (index, entry))
            continue
        entry_problems = [problem for problem in (_name_like("vms[%d].site" % index, site, "site"),
                                                  _name_like("vms[%d].target_vm_name" % index, target, "vm")) if problem]
        if entry_problems:
            problems += entry_problems
            continue
        if name.lower() in seen:
            problems.append("vms[%d] (%r) is listed twice (first as vms[%d])" % (index, name, seen[name.lower()]))
            continue
        seen[name.lower()] = index
        specs.append({"name": name.strip(), "site": site, "target_vm_name": target})
    if not specs and not problems:
        problems.append("vms is empty; give the wave's VMs")
    return specs, problems


def _name_like(option, value, kind):
    """name_problem for a value from a VM entry, which YAML may have made a number or a list."""
    if value is not None and not isinstance(value, str):
        return f"{option} is {value!r}; it must be a string"
    return name_problem(option, value, kind)


def wave_problems(params):
    """Messages for option values and combinations that can't work (empty when all are fine)."""
    problems = []
    operation, state = params["operation"], params.get("state")
    allowed = TEST_STATES if operation == "test_migration" else MIGRATION_STATES
    if state is not None and state not in allowed:
        problems.append(f"state is {state!r}; with operation={operation} it must be one of {', '.join(allowed)}")
    for option in ("timeout", "poll_interval"):
        if params.get(option) is not None and params[option] < 1:
            problems.append(f"{option} is {params[option]}; it must be at least 1 (seconds)")
    if params.get("round_seconds") is not None and params["round_seconds"] < 1:
        problems.append("round_seconds is %s; it must be at least 1 (seconds), or not given to wait until every VM "
                        "ends" % params["round_seconds"])
    network = params.get("network") or ""
    problems += option_problems(
        name_problem("network", params.get("network"), "virtual_network") if not network.startswith("/") else None,
        name_problem("network_resource_group", params.get("network_resource_group"), "resource_group"),
        name_problem("target_resource_group", params.get("target_resource_group"), "resource_group"),
        *[name_problem("production_networks[%d]" % index, value, "virtual_network") if not value.startswith("/") else None
          for index, value in enumerate(params.get("production_networks") or [])])
    cutover_only = ("failover_type", "shutdown_source", "target_resource_group", "disk_sku", "tags")
    test_only = ("network", "network_resource_group", "comments", "production_networks", "allow_production_network",
                 "restart_if_different")
    if operation == "test_migration":
        given = [option for option in cutover_only if params.get(option) not in (None, False, {}, "planned")]
        if given:
            problems.append(f"{', '.join(given)} apply to operation=cutover, not to operation=test_migration")
        if (state or "present") == "present" and not params.get("network"):
            problems.append("network is required with operation=test_migration and state=present (the isolated "
                            "virtual network of the test VMs)")
        if state == "absent" and (params.get("network") or params.get("network_resource_group")):
            problems.append("network and network_resource_group apply to state=present, not to the cleanup (state=absent)")
        if network.startswith("/") and "/providers/microsoft.network/virtualnetworks/" not in network.lower():
            problems.append("network is %r; it must be a virtual network name or its ARM id (/subscriptions/<id>/"
                            "resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>)" % network)
    else:
        given = [option for option in test_only if params.get(option)]
        if given:
            problems.append(f"{', '.join(given)} apply to operation=test_migration, not to operation=cutover")
        if params.get("shutdown_source") and params.get("failover_type") == "planned":
            problems.append("shutdown_source applies to failover_type=unplanned; a planned failover always shuts the "
                            "source down")
        if (params.get("disk_sku") or params.get("tags")) and state == "failed_over":
            problems.append("disk_sku and tags apply after the failover is committed (state=committed or completed), "
                            "not to state=failed_over, which may still be cancelled")
    return problems


def default_state(operation):
    return "present" if operation == "test_migration" else "completed"


def progress_line(vm):
    """One line for a VM's result: "web01: planned_failover - Start failover (task 4 of 5, InProgress)"."""
    if vm["verdict"] in ("failed", "timed_out"):
        return f"{vm['name']}: {vm['verdict'].upper().replace('_', ' ')} - {vm.get('msg') or ''}"
    progress = vm.get("progress") or {}
    if vm["verdict"] == "running" and progress:
        return "%s: %s - %s (task %s of %s, %s)" % (vm["name"], progress.get("step"), progress.get("task") or "queued",
                                                    progress.get("task_number"), progress.get("tasks"),
                                                    progress.get("job_state"))
    if vm["verdict"] == "planned":
        return f"{vm['name']}: would run {', '.join(vm.get('steps') or []) or 'nothing'}"
    return f"{vm['name']}: {vm.get('state')} ({', '.join(vm.get('steps') or []) or 'no change'})"


def job_progress(job, step):
    """{step, job, job_state, task, task_number, tasks} of a job as read (pure)."""
    properties = (job or {}).get("properties") or {}
    tasks = properties.get("tasks") or []
    current = next((index for index, task in enumerate(tasks) if task.get("state") in ("InProgress", "NotStarted")), None)
    return {"step": step, "job": (job or {}).get("name"), "job_state": properties.get("state"),
            "task": tasks[current].get("friendlyName") or tasks[current].get("name") if current is not None else None,
            "task_number": (current + 1) if current is not None else len(tasks), "tasks": len(tasks)}
