# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Test migration and cutover of a wave of VMs in one task: every VM's job is started, then the jobs are
polled together, so the wave takes about as long as its slowest VM.

Each VM goes through the same decisions as the per-VM modules: ``_asr.lifecycle.migration_step`` /
``migration_plan`` (cutover) and ``_asr.lifecycle.test_failover_step`` (test migration) pick the next step
from the item, the request bodies are ``_asr.api``'s, a failed job reads as ``_asr.waiters.error_from_job``;
the checks (``production_network_problem``, ``running_test_vm_difference``, ``_asr.lookup.site_problem``,
``_azure_names``) and the Azure VM reads and changes (``_asr.cutover``: the failover target check, the migrated VM,
the test VM, disk SKU and tags) are the per-VM modules' too.
What this file adds is the scheduling: one listing of the vault finds every VM, and one loop keeps, per VM,
the job it waits for and the earliest moment it may read that job again (the answer's Retry-After, else the
202's, else ``poll_interval``), then reads whichever job is due first.

Requests go one at a time. azure-core's retry policy sleeps a 429's Retry-After before its retry, and since
no other request is in flight meanwhile, no request reaches Azure Resource Manager before the Retry-After it
was given has passed. A 429 that outlives the SDK's retries holds every further request of the wave for its
Retry-After (``ArmGate``) and skips one poll; other errors end that VM only, with the service's message.

The API: ``wave_specs`` and ``wave_problems`` (pure: the task's VMs and options), ``WaveRun`` (the run:
``find``, ``plan``, ``run``, ``results``), ``progress_line`` (pure).
"""

import time

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import arm_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.api import (
    commit,
    get_item,
    list_protected_items,
    planned_failover,
    ref_of,
    remove,
    retry_after_seconds,
    test_failover,
    test_failover_cleanup,
    unplanned_failover,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import TERMINAL_STATES, TRANSIENT_STATUS
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.cutover import (
    change_after_cutover,
    failover_target_check,
    find_migrated_vm,
    not_migrated_message,
    read_test_vm,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import (
    lifecycle_state,
    migration_plan,
    migration_position,
    migration_step,
    test_failover_plan,
    test_failover_step,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lookup import find_item, site_problem
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import (
    azure_vm_id,
    target_settings,
    vm_problems,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import (
    production_network_problem,
    running_test_vm_difference,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.waiters import ArmGate, error_from_job, job_summary
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.wave_options import (
    MAX_STEPS_PER_VM,
    job_progress,
    progress_line,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import raw_get
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import (
    AZURE_SDK_ERRORS,
    AzureModuleError,
    Blocked,
    ClientAuthenticationError,
    InvalidOptions,
    error_from_exception,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._compute import describe_vm, get_vnet


class WaveVm(object):
    """One VM's way through the wave: its item, the job it waits for, what it did and its verdict."""

    def __init__(self, spec):
        self.name, self.site, self.target_vm_name = spec["name"], spec["site"], spec["target_vm_name"]
        self.item, self.ref, self.network_id = None, None, None
        self.restart = None      # why the running test VM is cleaned up and tested again (restart_if_different)
        self.azure_vm_id = None  # the Azure VM a failover creates, kept once completing removed the item
        self.before = None
        self.steps, self.jobs, self.timeline = [], [], []
        self.job = None          # {"name", "step", "operation", "due"} while a job is waited for
        self.progress = None
        self.verdict, self.msg, self.error = None, None, None
        self.ended_at = None
        self.extra = {}          # the per-VM module's own result fields (state, azure_vm, test_vm, ...)

    @property
    def active(self):
        return self.verdict is None


class WaveRun(object):
    """A test migration or cutover of a wave. ``client``/``compute``/``network``: SDK clients; ``params``: the
    module's params (``operation``, ``state`` set); ``subscription_id`` for names given without an id."""

    def __init__(self, client, compute, network, params, subscription_id, specs, clock=time.monotonic, sleep=time.sleep):
        self.client, self.compute, self.network = client, compute, network
        self.params, self.subscription_id = params, subscription_id
        self.resource_group, self.vault_name = params["resource_group"], params["vault_name"]
        self.clock, self.sleep = clock, sleep
        self.started = clock()
        self.deadline = self.started + params["timeout"]
        self.round_end = self.started + params["round_seconds"] if params.get("round_seconds") else self.deadline
        self.gate = ArmGate(clock, sleep)
        self.vms = [WaveVm(spec) for spec in specs]
        self.network_ids = {}
        self.target_vnets = {}   # target network id (lowercase) -> the network as read once, or None

    # --- bookkeeping ---

    def _at(self):
        return round(self.clock() - self.started, 1)

    def _note(self, vm, event, **fields):
        entry = {"at": self._at(), "event": event}
        entry.update(fields)
        vm.timeline.append(entry)

    def _end(self, vm, verdict, msg=None, error=None):
        vm.verdict, vm.msg, vm.error, vm.ended_at = verdict, msg, error, self._at()
        vm.job = None
        self._note(vm, verdict, msg=msg) if msg else self._note(vm, verdict)

    def _fail(self, vm, exc):
        if isinstance(exc, InvalidOptions):
            self._end(vm, "failed", str(exc))
        elif isinstance(exc, Blocked):
            what = "test-migrate" if self.params["operation"] == "test_migration" else "migrate"
            self._end(vm, "failed", f"Can't {what} {vm.name!r}: {exc}.")
        else:
            self._end(vm, "timed_out" if exc.code == "Timeout" else "failed", str(exc), exc.as_dict())

    # --- finding the VMs: one listing of the vault, one GET per VM ---

    def find(self):
        """Read every VM, and refuse, per VM and before anything starts, what the per-VM modules refuse: a site the
        vault does not have, a production network as test network, a test VM running in another network."""
        site_problems = self._site_problems()
        listed = list_protected_items(self.client, self.resource_group, self.vault_name)
        for vm in self.vms:
            self.gate.wait()
            try:
                if site_problems.get((vm.site or "").lower()):
                    raise InvalidOptions(site_problems[vm.site.lower()])
                vm.item = find_item(self.client, self.resource_group, self.vault_name, vm.name, vm.site, listed=listed)
                if vm.item is not None:
                    vm.ref = ref_of(self.client, self.resource_group, self.vault_name, vm.item)
                    vm.azure_vm_id = azure_vm_id(vm.item)
                vm.before = self._position(vm.item)
                if self.params["operation"] == "test_migration":
                    self._check_test_network(vm)
            except (Blocked, InvalidOptions, AzureModuleError) as exc:
                self._fail(vm, exc)

    def _site_problems(self):
        """{site (lowercase): _asr.lookup.site_problem's message} for each distinct site of the wave."""
        found = {}
        for site in sorted(set(vm.site for vm in self.vms if vm.site)):
            if site.lower() not in found:
                self.gate.wait()
                found[site.lower()] = site_problem(self.client, self.resource_group, self.vault_name, site)
        return found

    def _position(self, item):
        if self.params["operation"] == "cutover":
            return migration_position(item)
        return item is not None and lifecycle_state(item) == "test_failover"

    def _network_id(self, group, network):
        return arm_id(self.subscription_id, group, "Microsoft.Network/virtualNetworks", network)

    def _check_test_network(self, vm):
        if vm.item is None:
            raise Blocked(f"it does not replicate in vault {self.vault_name!r} (azmigrate.hyperv.replication enables it)")
        network = self.params.get("network")
        if not network:
            return
        group = self.params.get("network_resource_group") or target_settings(vm.item)["target_resource_group"]
        network_id = self._network_id(group, network)
        if network_id not in self.network_ids:
            self.network_ids[network_id] = network.startswith("/") or get_vnet(self.network, network_id) is not None
        if not self.network_ids[network_id]:
            raise Blocked(f"network {network!r} is not a virtual network of resource group {(group or '').rsplit('/', 1)[-1]!r}")
        vm.network_id = network_id
        production = [self._network_id(group, value) for value in self.params.get("production_networks") or []]
        problem = production_network_problem(vm.item, network_id, production, self.params.get("allow_production_network"))
        if problem:
            raise InvalidOptions(problem)
        self._check_running_test_vm(vm)

    def _check_running_test_vm(self, vm):
        """A test VM already running in another network than asked: the VM fails naming both networks, or, with
        restart_if_different, its test failover is cleaned up and run again (as azmigrate.hyperv.test_migration)."""
        if lifecycle_state(vm.item) != "test_failover" or test_failover_step(vm.item, "present")[0] != "done":
            return
        difference = running_test_vm_difference(self._test_vm(vm), vm.network_id)
        if not difference:
            return
        if not self.params.get("restart_if_different"):
            raise Blocked(f"{difference}; clean it up first (state=absent) or set restart_if_different=true")
        vm.restart = difference

    # --- check mode: the plan of each VM, nothing sent ---

    def plan(self):
        for vm in [vm for vm in self.vms if vm.active]:
            try:
                if self.params["operation"] == "cutover":
                    self._plan_cutover(vm)
                else:
                    # vm.restart is only set with restart_if_different (else the VM was refused while checked).
                    plan = test_failover_plan(vm.item, self.params["state"], vm.restart, restart_if_different=vm.restart is not None)
                    if plan and plan[0][0] == "blocked":
                        raise Blocked(plan[0][1])
                    vm.steps = [step for step, _detail in plan]
                    vm.extra = {"state": lifecycle_state(vm.item), "test_vm": None}
                    self._end(vm, "planned" if vm.steps else "done")
            except (Blocked, AzureModuleError) as exc:
                self._fail(vm, exc)

    def _plan_cutover(self, vm):
        if vm.item is None:
            vm_id = self._migrated_vm(vm)
            vm.extra = {"state": "completed", "azure_vm": describe_vm(self.compute, self.network, vm_id)[1],
                        "verification": []}
            self._end(vm, "done")
            return
        plan = migration_plan(vm.item, self.params["state"], self.params["failover_type"])
        if plan and plan[0][0] == "blocked":
            raise Blocked(plan[0][1])
        if plan and plan[0][0] in ("planned_failover", "unplanned_failover"):   # a running job may be that failover
            self._check_failover_target(vm)
        vm.steps = [step for step, _detail in plan]
        if self.params["state"] != "failed_over":
            vm.steps += self._after_cutover(vm, azure_vm_id(vm.item), check_mode=True)[0]
        vm.extra = {"state": self.params["state"] if vm.steps else vm.before,
                    "azure_vm": describe_vm(self.compute, self.network, azure_vm_id(vm.item))[1], "verification": []}
        self._end(vm, "planned" if vm.steps else "done")

    # --- the real run ---

    def run(self):
        """Start what each VM needs, then poll the jobs together until every VM ended or the round is over."""
        for vm in [vm for vm in self.vms if vm.active]:
            self._advance(vm)
        while True:
            waiting = [vm for vm in self.vms if vm.active and vm.job]
            if not waiting:
                break
            vm = min(waiting, key=lambda candidate: candidate.job["due"])
            due = vm.job["due"]
            if due >= self.deadline:
                for late in [candidate for candidate in waiting if candidate.job["due"] >= self.deadline]:
                    self._timed_out(late)
                continue
            if due > self.round_end:
                break
            pause = due - self.clock()
            if pause > 0:
                self.sleep(pause)
            self._poll(vm)
        for vm in [vm for vm in self.vms if vm.active]:
            vm.verdict = "running"
            self._note(vm, "running", job=(vm.job or {}).get("name"))

    def _timed_out(self, vm):
        job = vm.job
        self._end(vm, "timed_out", "Failed to %s (Timeout): job %s was still %s after %s s. Recommended action: The job "
                  "goes on in Azure: re-run the task with a longer timeout to wait for it, or follow it in the vault's "
                  "Site Recovery jobs." % (job["operation"], job["name"], (vm.progress or {}).get("job_state") or "running",
                                           int(self.params["timeout"])))

    def _next_step(self, vm):
        if self.params["operation"] == "cutover":
            return migration_step(vm.item, self.params["state"], self.params["failover_type"])
        if vm.restart:   # first the cleanup of the test VM in the other network, then a new test failover
            step, detail = test_failover_step(vm.item, "absent")
            if step != "done":
                return step, detail
            vm.restart = None
        return test_failover_step(vm.item, self.params["state"])

    def _advance(self, vm):
        """Decide and start the VM's next step; or end the VM when it is where the task asked."""
        try:
            while True:
                if vm.item is None and self.params["operation"] == "cutover" and not vm.steps:
                    vm_id = self._migrated_vm(vm)
                    self._finish_cutover(vm, vm_id, "completed")
                    return
                step, detail = self._next_step(vm)
                if step in ("done", "absent"):
                    self._finish(vm)
                    return
                if step == "blocked":
                    raise Blocked(detail)
                if len(vm.steps) >= MAX_STEPS_PER_VM:
                    raise Blocked("it did not reach state %s after %s (Azure lists %s next)" % (
                        self.params["state"], ", ".join(vm.steps), step))
                operation = f"{step.replace('_', ' ')} of VM '{vm.name}'"
                if step == "wait":
                    vm.steps.append(step)
                    self._wait_for(vm, detail, step, f"wait for the running job ({detail}) of VM '{vm.name}'", None)
                    return
                started = self._start(vm, step, detail)
                vm.steps.append(step)
                if started.job_name:
                    self._wait_for(vm, started.job_name, step, operation, started.retry_after)
                    return
                # Answered without a job (or a replay found the item busy): the item says what runs now.
                vm.jobs.append({"name": None, "state": "Started"})
                self._reread(vm)
        except (Blocked, AzureModuleError) as exc:
            self._fail(vm, exc)

    def _start(self, vm, step, detail):
        self.gate.wait()
        self._note(vm, "start", step=step)
        if step in ("planned_failover", "unplanned_failover"):
            self._check_failover_target(vm)
            if step == "planned_failover":
                return planned_failover(vm.ref)
            return unplanned_failover(vm.ref, self.params["shutdown_source"])
        if step == "commit":
            return commit(vm.ref)
        if step == "complete":
            return remove(vm.ref, detail or "MigrationComplete")
        if step == "test_failover":
            return test_failover(vm.ref, vm.network_id)
        if vm.restart:
            return test_failover_cleanup(vm.ref, self.params["comments"] or "test network changed")
        return test_failover_cleanup(vm.ref, self.params["comments"])

    def _check_failover_target(self, vm):
        """Before a failover, in check mode too: the target VM name is free, the target network and subnet exist."""
        problems = failover_target_check(self.compute, self.network, vm.item, self.target_vnets)
        if problems:
            raise Blocked("; ".join(problems))

    def _wait_for(self, vm, job_name, step, operation, first_delay):
        delay = first_delay if first_delay is not None else 0.0
        vm.job = {"name": job_name, "step": step, "operation": operation, "first_delay": first_delay,
                  "due": self.clock() + delay}
        vm.progress = {"step": step, "job": job_name, "job_state": "NotStarted", "task": None, "task_number": 0, "tasks": 0}
        self._note(vm, "job", step=step, job=job_name)

    def _poll(self, vm):
        """Read the VM's job once: on success re-read the item and go on, on failure end the VM."""
        job_ref = vm.job
        self.gate.wait()
        answers = []
        try:
            job = raw_get(self.client.replication_jobs.get, self.resource_group, self.vault_name, job_ref["name"],
                          raw_response_hook=answers.append, timeout=max(1, int(self.deadline - self.clock())))
            headers = answers[-1].http_response.headers if answers else {}
        except AZURE_SDK_ERRORS as exc:
            status = getattr(exc, "status_code", None)
            headers = getattr(getattr(exc, "response", None), "headers", None) or {}
            # 429/5xx that outlived the SDK's retries, and failures to reach Azure, skip one poll; a credential that
            # gives no token, or any other answer, ends the VM.
            credential_failed = ClientAuthenticationError is not None and isinstance(exc, ClientAuthenticationError)
            if credential_failed or (status is not None and status not in TRANSIENT_STATUS):
                self._fail(vm, error_from_exception(f"read the state of job {job_ref['name']} for: {job_ref['operation']}", exc))
                return
            wait = retry_after_seconds(headers)
            if status == 429 and wait:
                self.gate.hold(wait)
            job_ref["due"] = self.clock() + (wait or job_ref["first_delay"] or self.params["poll_interval"])
            self._note(vm, "poll_error", job=job_ref["name"], status=status)
            return
        state = (job.get("properties") or {}).get("state")
        previous = vm.progress or {}
        vm.progress = job_progress(job, job_ref["step"])
        if (vm.progress["job_state"], vm.progress["task"]) != (previous.get("job_state"), previous.get("task")):
            self._note(vm, "progress", job=job_ref["name"], state=state, task=vm.progress["task"])
        if state not in TERMINAL_STATES:
            job_ref["due"] = self.clock() + (retry_after_seconds(headers) or job_ref["first_delay"]
                                             or self.params["poll_interval"])
            return
        vm.jobs.append(job_summary(job))
        vm.job = None
        if state != "Succeeded":
            self._fail(vm, error_from_job(job, job_ref["operation"]))
            return
        try:
            self._reread(vm)
        except AzureModuleError as exc:
            self._fail(vm, exc)
            return
        self._advance(vm)

    def _reread(self, vm):
        self.gate.wait()
        vm.item = get_item(vm.ref)
        if vm.item is not None:
            vm.azure_vm_id = azure_vm_id(vm.item) or vm.azure_vm_id

    # --- the end of each VM: the per-VM modules' result fields ---

    def _finish(self, vm):
        if self.params["operation"] == "cutover":
            self._finish_cutover(vm, vm.azure_vm_id or self._migrated_vm(vm), migration_position(vm.item))
            return
        state = lifecycle_state(vm.item)
        vm.extra = {"state": state, "test_vm": self._test_vm(vm) if state == "test_failover" else None}
        self._end(vm, "done")

    def _finish_cutover(self, vm, vm_id, state):
        if self.params["state"] != "failed_over":
            steps, before, after = self._after_cutover(vm, vm_id, check_mode=False)
            vm.steps += steps
        else:
            before, after = {}, {}
        summary = describe_vm(self.compute, self.network, vm_id)[1]
        problems = []
        if self.params["verify"]:
            problems = vm_problems(summary) if summary else [f"the Azure VM {vm_id} does not exist"]
        vm.extra = {"state": state, "azure_vm": summary, "verification": problems,
                    "diff": {"before": dict(before, state=vm.before), "after": dict(after, state=state)}}
        if problems:
            self._end(vm, "failed", f"The migrated VM {vm_id} is not as expected: {'; '.join(problems)}.")
        else:
            self._end(vm, "done")

    def _migrated_vm(self, vm):
        """The Azure VM of a completed migration (its item is gone), by name, or Blocked."""
        group = self.params.get("target_resource_group")
        vm_id, problem = find_migrated_vm(self.compute, self.subscription_id, group, vm.target_vm_name or vm.name)
        if problem or vm_id is None:
            raise Blocked(problem or not_migrated_message(vm.name, self.vault_name, vm.target_vm_name, group))
        return vm_id

    def _after_cutover(self, vm, vm_id, check_mode):
        """Disk SKU and tag changes on the Azure VM: (steps, diff before, diff after); nothing asked, nothing read."""
        sku, tags = self.params.get("disk_sku"), self.params.get("tags")
        if not sku and not tags:
            return [], {}, {}
        return change_after_cutover(self.compute, self.network, vm_id, sku, tags, check_mode,
                                    lambda: max(1.0, self.deadline - self.clock()))

    def _test_vm(self, vm):
        """The test VM: its name from the TestFailover job, its group the target's; None when unknown."""
        return read_test_vm(self.client, self.resource_group, self.vault_name, self.compute, self.network, vm.item)

    # --- results ---

    def results(self, check_mode):
        out = []
        for vm in self.vms:
            row = {"name": vm.name, "verdict": vm.verdict, "failed": vm.verdict in ("failed", "timed_out"),
                   "changed": bool(vm.steps), "msg": vm.msg, "steps": vm.steps, "jobs": vm.jobs,
                   "timeline": vm.timeline, "progress": vm.progress, "elapsed_seconds": vm.ended_at if vm.ended_at is not None
                   else self._at()}
            if vm.error:
                row["error"] = vm.error
            row.update(vm.extra)
            row.setdefault("state", self._state_now(vm))
            if self.params["operation"] == "cutover":
                row.setdefault("azure_vm", None)
                row.setdefault("verification", [])
                row.setdefault("diff", {"before": {"state": vm.before}, "after": {"state": row["state"]}})
            else:
                row.setdefault("test_vm", None)
                after = (self.params["state"] == "present") if check_mode and vm.verdict == "planned" else row["state"] == "test_failover"
                row["diff"] = {"before": {"test_vm": bool(vm.before)}, "after": {"test_vm": after}}
            row["progress_line"] = progress_line(row)
            out.append(row)
        return out

    def _state_now(self, vm):
        if vm.item is None:
            return None
        if self.params["operation"] == "cutover":
            return migration_position(vm.item)
        return lifecycle_state(vm.item)
