"""Site Recovery jobs: timelines of tasks on the lab clock, with the world changes they make.

Every ASR mutation creates a job (every recorded 202 names one, e.g. enable_dr.json entry 16).
A job waits `QUEUE_S` in NotStarted (the first poll after a POST shows state NotStarted with
scenarioName, friendlyName and targetObjectId null and no tasks: test_failover.json entry 20),
then runs its tasks in order; a task's hook runs when the task ends and may change the world or
fail the task. A failed task fails the job: later tasks become state Other / "Skipped" except tasks
marked `always_runs` (UpdateDraState still ran and Succeeded in enable_managed_disks.json
entry 14), and the job's allowedActions become [Restart].

A job is data: its scenario, what it acts on (`JobRef`: vault, fabric, item), its params and its task
timeline. What runs as its tasks start and end is registered per scenario and task by the modules that
start such jobs (`@on_task("PlannedFailover", "VmFailover")`, `on_task_start`, `on_job_done`), and what
its Location URL returns once done is a named renderer (`renderer`). So a snapshot (lab/persist.py) keeps
jobs as JSON, and a job resumed after a restart runs the hooks of the code that resumes it.

Scenario and task names are the recorded ones where a recording has them (each is cited);
the rest are marked "not recorded" and listed in lab/FIDELITY.md.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lab.azure import ids
from lab.azure.faults import SERVICE_ERRORS
from lab.azure.formats import iso
from lab.azure.hooks import register_once

QUEUE_S = 2.0                     # lab seconds a new job stays NotStarted
NOT_RUN = "0001-01-01T00:00:00"   # task start/end before the task ran (every recording)
JOB_TYPE = "Microsoft.RecoveryServices/vaults/replicationJobs"


@dataclass(frozen=True)
class TaskSpec:
    task_id: str
    name: str
    friendly_name: str
    seconds: float
    always_runs: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    friendly_name: str
    target_instance_type: str
    details_type: str
    tasks: tuple[TaskSpec, ...]
    running_actions: tuple[str, ...] = ("Cancel",)


def _t(task_id: str, name: str, friendly: str, seconds: float, always: bool = False) -> TaskSpec:
    return TaskSpec(task_id, name, friendly, seconds, always)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    # create_fabric.json entries 2-3
    Scenario("CreateSite", "Create a site", "Server", "AsrJobDetails", (
        _t("RegisterVMMTask", "RegisterVmmTask", "Registering the server", 20),), running_actions=()),
    # create_policy.json entries 2-5
    Scenario("AddProtectionProfile", "Create replication policy", "ProtectionProfile", "AsrJobDetails", (
        _t("AddProtectionProfilePreflightsCheckTask", "AddProtectionProfilePreflightsCheckTask",
           "Prerequisites check for creating the replication policy", 10),
        _t("AddProtectionProfileTask", "AddProtectionProfileTask", "Creating the replication policy", 20))),
    # create_container_mapping.json entries 6-13
    Scenario("AssociateProtectionProfile", "Associate replication policy", "ProtectionProfile", "AsrJobDetails", (
        _t("CloudPairingWfPreflightChecksTask", "CloudPairingPrerequisitesCheck", "Check protection prerequisites", 10),
        _t("CloudPairingWfPrepareSiteTask", "CloudPairingPrepareSite", "Prepare the server", 10),
        _t("CloudPairingWfPrepareCloudForPairingTask", "CloudPairingPrepareCloud",
           "Prepare for configuring protection", 10),
        _t("CloudPairingWfPairCloudsTask", "CloudPairingPairClouds", "Configure the protection settings", 10))),
    # enable_dr.json entry 17, enable_managed_disks.json entry 14
    Scenario("EnableDr", "Enable replication", "ProtectionEntity", "AsrJobDetails", (
        _t("EnableProtectionPreflightChecksTask", "EnableProtectionPrerequisitesCheck",
           "Prerequisites check for enabling protection", 15),
        _t("CreateProtectionTargetTask", "CreateProtectionTarget", "Identifying the replication target", 10),
        _t("EnableProtectionTask", "EnableProtection", "Enable replication", 20),
        _t("StartInitialReplicationTask", "VmStartInitialReplication", "Starting initial replication", 15),
        _t("UpdateDraStateTask", "UpdateDraState", "Updating the provider states", 5, always=True))),
    # Azure PowerShell's recorded UpdateRPIWithMangedDisksForReplication.json: one task; allowedActions [] while running
    Scenario("UpdateVmProperties", "Update the virtual machine", "ProtectionEntity", "AsrJobDetails", (
        _t("UpdateVmPropertiesTask", "UpdateVmPropertiesTask", "Update the virtual machine properties", 20),),
        running_actions=()),
    # test_failover.json entries 9-18
    Scenario("TestFailover", "Test failover", "ProtectionEntity", "TestFailoverJobDetails", (
        _t("TestFailoverPreflightChecksTask", "VmTfoPrerequisitesCheck", "Prerequisites check for test failover", 30),
        _t("BeginTestFailoverTask", "VmTfoInitiateFailover", "Starting test failover", 30),
        _t("PrepareTestProtectedEntitiesTask", "VmTfoPrepareTestVm", "Creating test virtual machine", 240),
        _t("BootTestProtectedEntitiesTask", "VmTfoBootTestVm", "Start the virtual machine", 60))),
    # test_failover.json entries 20-24
    Scenario("TestFailoverCleanup", "Test failover cleanup", "ProtectionEntity", "TestFailoverJobDetails", (
        _t("TestFailoverCleanupPreflightChecksTask", "VmTfoCleanupPreflightsCheck",
           "Prerequisites check for test failover cleanup", 20),
        _t("EndTestFailoverTask", "VmTfoEndFailover", "Ending test failover", 30),
        _t("CleanupTestProtectedEntitiesTask", "VmTfoDeleteTestVm", "Clean up the test virtual machine", 120))),
    # planned_failover.json entries 9-16 (the final sync task's length is set when it starts)
    Scenario("PlannedFailover", "Planned failover", "ProtectionEntity", "FailoverJobDetails", (
        _t("PlannedFailoverPreflightChecksTask", "VmPfoPrerequisitesCheck",
           "Prerequisites check for planned failover", 30),
        _t("ShutdownVmOnPrimary", "VmShutdownVmOnPrimary", "Shut down the virtual machine", 60),
        _t("PrepareForFailoverTask", "VmPrepareForFailover", "Preparing for failover", 30),
        _t("FailoverTask", "VmFailover", "Start failover", 300),
        _t("StartVmOnSecondary", "VmFoStartVmOnSecondary", "Start the replica virtual machine", 30))),
    # Not recorded: named after the planned-failover tasks.
    Scenario("UnplannedFailover", "Failover", "ProtectionEntity", "FailoverJobDetails", (
        _t("UnplannedFailoverPreflightChecksTask", "VmUfoPrerequisitesCheck", "Prerequisites check for failover", 30),
        _t("ShutdownVmOnPrimary", "VmShutdownVmOnPrimary", "Shut down the virtual machine", 60),
        _t("FailoverTask", "VmFailover", "Start failover", 300),
        _t("StartVmOnSecondary", "VmFoStartVmOnSecondary", "Start the replica virtual machine", 30))),
    # Not recorded.
    Scenario("CommitFailover", "Commit", "ProtectionEntity", "AsrJobDetails", (
        _t("CommitFailoverPreflightChecksTask", "VmCommitPrerequisitesCheck", "Prerequisites check for commit", 15),
        _t("CommitFailoverTask", "VmCommitFailover", "Commit the failover", 30))),
    Scenario("CancelFailover", "Cancel failover", "ProtectionEntity", "AsrJobDetails", (
        _t("CancelFailoverPreflightChecksTask", "VmCancelFailoverPrerequisitesCheck",
           "Prerequisites check for cancel failover", 15),
        _t("CancelFailoverTask", "VmCancelFailover", "Cancel the failover", 60))),
    Scenario("DisableDr", "Disable replication", "ProtectionEntity", "AsrJobDetails", (
        _t("DisableProtectionPreflightChecksTask", "DisableProtectionPrerequisitesCheck",
           "Prerequisites check for disabling protection", 15),
        _t("DisableProtectionTask", "DisableProtection", "Disable replication", 30),
        _t("UpdateDraStateTask", "UpdateDraState", "Updating the provider states", 5, always=True))),
    Scenario("PurgeProtection", "Purge protection", "ProtectionEntity", "AsrJobDetails", (
        _t("PurgeProtectionTask", "PurgeProtection", "Remove the replication record", 15),)),
    Scenario("ChangePit", "Change recovery point", "ProtectionEntity", "AsrJobDetails", (
        _t("ChangePitTask", "VmChangePit", "Change the recovery point", 60),)),
    Scenario("RepairReplication", "Resynchronize replication", "ProtectionEntity", "AsrJobDetails", (
        _t("RepairReplicationTask", "VmRepairReplication", "Resynchronize the virtual machine", 30),)),
    Scenario("RemoveSite", "Remove a site", "Server", "AsrJobDetails", (
        _t("RemoveSiteTask", "RemoveSite", "Removing the site", 20),)),
    Scenario("RemoveProtectionProfile", "Remove replication policy", "ProtectionProfile", "AsrJobDetails", (
        _t("RemoveProtectionProfileTask", "RemoveProtectionProfileTask", "Removing the replication policy", 15),)),
    Scenario("DissociateProtectionProfile", "Dissociate replication policy", "ProtectionProfile", "AsrJobDetails", (
        _t("CloudUnpairingTask", "CloudUnpairing", "Remove the protection settings", 20),)),
    Scenario("RefreshProvider", "Refresh server", "Server", "AsrJobDetails", (
        _t("RefreshProviderTask", "RefreshDra", "Refreshing the server", 15),)),
    Scenario("UnregisterDra", "Unregister the Azure Site Recovery Provider", "Server", "AsrJobDetails", (
        _t("UnregisterDraTask", "UnregisterDra", "Unregistering the server", 15),)),
)}


class JobFailed(Exception):
    """Raised by a task hook: the task (and the job) fail with this service error code."""

    def __init__(self, code: str, message: str | None = None, possible_causes: str | None = None):
        super().__init__(code)
        self.code, self.message, self.possible_causes = code, message, possible_causes


# --- hooks: module-level functions registered by (scenario, task name), reading the job's data ---
#
# A job is plain data (its scenario, what it acts on, its parameters and its task timeline), so a snapshot keeps it
# as JSON (lab/persist.py) and a resumed job runs the hooks of the code that resumes it. A hook gets the cloud and
# the job; it finds what it acts on through `job.ref` (job_vault, job_fabric, job_item) and reads `job.params`.

class JobCloud(Protocol):
    """What jobs need of the Azure side (lab/azure/state.py's AzureCloud): the clock, the fault knobs, the vaults."""

    faults: Any
    vaults: dict[str, Any]

    def now(self) -> dt.datetime: ...


class JobVault(Protocol):
    """The vault a job runs in (lab/azure/state.py's VaultAsr)."""

    id: str
    jobs: dict[str, Job]


Hook = Callable[[Any, "Job"], None]               # hook(cloud, job): the cloud is lab/azure/state.py's AzureCloud
Renderer = Callable[[Any, "Job"], "dict | None"]

_TASK_END: dict[tuple[str, str], Hook] = {}     # (scenario, task name) -> hook when the task ends
_TASK_START: dict[tuple[str, str], Hook] = {}   # (scenario, task name) -> hook when the task starts
_JOB_DONE: dict[str, Hook] = {}                 # scenario -> hook when the job ends (succeeded or failed)
_RENDERERS: dict[str, Renderer] = {}            # name -> what the Location URL returns once the job is done


def on_task(scenario: str, task: str) -> Callable[[Hook], Hook]:
    """Register a hook run when `task` of `scenario` ends; it may change the world or raise JobFailed."""
    _check_task(scenario, task)
    return lambda function: register_once(_TASK_END, (scenario, task), function)


def on_task_start(scenario: str, task: str) -> Callable[[Hook], Hook]:
    """Register a hook run when `task` of `scenario` starts (it may set the task's length)."""
    _check_task(scenario, task)
    return lambda function: register_once(_TASK_START, (scenario, task), function)


def on_job_done(*scenarios: str) -> Callable[[Hook], Hook]:
    """Register a hook run when a job of one of `scenarios` ends, succeeded or failed."""
    def register(function: Hook) -> Hook:
        for scenario in scenarios:
            _check_task(scenario, None)
            register_once(_JOB_DONE, scenario, function)
        return function
    return register


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register a named renderer of a job's result (the resource its Location URL returns once done)."""
    return lambda function: register_once(_RENDERERS, name, function)


def _check_task(scenario: str, task: str | None) -> None:
    spec = SCENARIOS.get(scenario)
    if spec is None or (task is not None and task not in {t.name for t in spec.tasks}):
        raise ValueError(f"no task {task!r} in scenario {scenario!r}")


def render_result(cloud: JobCloud, job: Job) -> dict | None:
    if job.result is None:
        return None
    try:
        render = _RENDERERS[job.result]
    except KeyError:
        raise LookupError(f"job {job.name}: no result renderer named {job.result!r}") from None
    return render(cloud, job)


@dataclass(frozen=True)
class JobRef:
    """What a job acts on: its vault (ARM id), and the fabric and protected item by name (lower-cased) if any."""

    vault: str
    fabric: str | None = None
    item: str | None = None


@dataclass
class TaskRun:
    spec: TaskSpec
    seconds: float
    state: str = "NotStarted"
    description: str = "NotStarted"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    errors: list[dict] = field(default_factory=list)


@dataclass
class Job:
    name: str
    ref: JobRef
    scenario_name: str
    target_id: str
    target_name: str
    details: dict[str, Any]
    created: dt.datetime
    tasks: list[TaskRun]
    params: dict[str, Any] = field(default_factory=dict)       # what the hooks read (JSON-able data)
    planned_failure: tuple[int, str] | None = None             # (task index, code) from a fault knob
    activity_id: str = ""
    state: str = "NotStarted"
    description: str = "NotStarted"
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    errors: list[dict] = field(default_factory=list)
    result: str | None = None     # the renderer of what the Location URL returns once done (None: no body)
    event_time: dt.datetime | None = None   # lab time of the task end a hook is running for

    @property
    def scenario(self) -> Scenario:
        return SCENARIOS[self.scenario_name]

    @property
    def terminal(self) -> bool:
        return self.state in ("Succeeded", "Failed", "Cancelled")

    @property
    def asr_id(self) -> str:
        return f"{ids.asr_id(self.ref.vault)}/replicationJobs/{self.name}"

    # --- the timeline ---

    def advance(self, cloud: JobCloud, now: dt.datetime) -> None:
        if self.terminal:
            return
        if self.state == "NotStarted":
            start = self.created + dt.timedelta(seconds=QUEUE_S)
            if now < start:
                return
            self.state, self.description, self.started = "InProgress", "InProgress", start
            self._start_task(cloud, 0, start)
        while not self.terminal:
            index, task = self._current()
            due = task.start + dt.timedelta(seconds=task.seconds)
            if now < due:
                return
            self._end_task(cloud, index, due)

    def _current(self) -> tuple[int, TaskRun]:
        return next((i, t) for i, t in enumerate(self.tasks) if t.state == "InProgress")

    def _start_task(self, cloud: JobCloud, index: int, at: dt.datetime) -> None:
        task = self.tasks[index]
        task.state, task.description, task.start = "InProgress", "InProgress", at
        self.event_time = at
        hook = _TASK_START.get((self.scenario_name, task.spec.name))
        if hook is not None:
            hook(cloud, self)     # may change task.seconds (e.g. the final sync before a failover)

    def _end_task(self, cloud: JobCloud, index: int, at: dt.datetime) -> None:
        task = self.tasks[index]
        task.end = self.event_time = at
        try:
            if self.planned_failure and self.planned_failure[0] == index:
                raise JobFailed(self.planned_failure[1])
            hook = _TASK_END.get((self.scenario_name, task.spec.name))
            if hook is not None:
                hook(cloud, self)
        except JobFailed as failure:
            self._fail(cloud, index, at, failure)
            return
        task.state, task.description = "Succeeded", "Completed"
        if index + 1 < len(self.tasks):
            self._start_task(cloud, index + 1, at)
        else:
            self.state, self.description, self.ended = "Succeeded", "Completed", at
            self._done(cloud)

    def _fail(self, cloud: JobCloud, index: int, at: dt.datetime, failure: JobFailed) -> None:
        error = self._error(failure, self.tasks[index].spec.task_id, at)
        task = self.tasks[index]
        task.state, task.description, task.errors = "Failed", "Failed", [error]
        self.errors = [error]
        for later in self.tasks[index + 1:]:
            if later.spec.always_runs:
                later.state, later.description, later.start, later.end = "Succeeded", "Completed", at, at
            else:
                later.state, later.description = "Other", "Skipped"
        self.state, self.description, self.ended = "Failed", "Failed", at
        self._done(cloud)

    def _done(self, cloud: JobCloud) -> None:
        hook = _JOB_DONE.get(self.scenario_name)
        if hook is not None:
            hook(cloud, self)

    def _error(self, failure: JobFailed, task_id: str, at: dt.datetime) -> dict:
        known = SERVICE_ERRORS.get(failure.code, {})
        provider = known.get("provider", {"errorCode": 0, "errorMessage": None, "possibleCauses": "",
                                          "recommendedAction": ""})
        return {
            "serviceErrorDetails": {
                "code": failure.code,
                "message": failure.message or known.get("message", "The operation failed."),
                "possibleCauses": failure.possible_causes or known.get("possibleCauses", ""),
                "recommendedAction": known.get("recommendedAction", "Retry the operation."),
                "activityId": self.activity_id,
            },
            "providerErrorDetails": {**provider, "errorId": ids.new_guid()},
            "errorLevel": "Error",
            "creationTime": iso(at),
            "taskId": task_id,
        }

    # --- what clients read ---

    def to_json(self) -> dict:
        properties: dict[str, Any] = {"activityId": self.activity_id}
        if self.state == "NotStarted":
            properties.update({
                "scenarioName": None, "friendlyName": None, "state": "NotStarted", "stateDescription": "NotStarted",
                "tasks": [], "errors": [], "allowedActions": [], "targetObjectId": None, "targetObjectName": None,
                "targetInstanceType": self.scenario.target_instance_type,
                "customDetails": {"instanceType": "AsrJobDetails", "affectedObjectDetails": {}},
            })
        else:
            properties.update({
                "scenarioName": self.scenario.name, "friendlyName": self.scenario.friendly_name,
                "state": self.state, "stateDescription": self.description,
                "tasks": [self._task_json(task) for task in self.tasks],
                "errors": list(self.errors), "startTime": iso(self.started),
            })
            if self.ended is not None:
                properties["endTime"] = iso(self.ended)
            properties.update({
                "allowedActions": (["Restart"] if self.state == "Failed" else
                                   [] if self.terminal else list(self.scenario.running_actions)),
                "targetObjectId": self.target_id, "targetObjectName": self.target_name,
                "targetInstanceType": self.scenario.target_instance_type,
                "customDetails": {"instanceType": self.scenario.details_type, **self.details},
            })
        return {"id": self.asr_id, "name": self.name, "type": JOB_TYPE, "properties": properties}

    @staticmethod
    def _task_json(task: TaskRun) -> dict:
        return {
            "taskId": task.spec.task_id, "name": task.spec.name,
            "startTime": iso(task.start) if task.start else NOT_RUN,
            "endTime": iso(task.end) if task.end and task.state != "InProgress" else NOT_RUN,
            "allowedActions": [], "friendlyName": task.spec.friendly_name,
            "state": task.state, "stateDescription": task.description,
            "taskType": "TaskDetails", "customDetails": {"instanceType": "TaskDetails"},
            "groupTaskCustomDetails": None, "errors": list(task.errors),
        }

    def operation_status(self) -> dict:
        """Body of GET .../replicationOperationStatus/{job} (the ARM async-operation convention,
        learn.microsoft.com/azure/azure-resource-manager/management/async-operations)."""
        status = {"NotStarted": "InProgress", "InProgress": "InProgress", "Succeeded": "Succeeded",
                  "Failed": "Failed", "Cancelled": "Canceled"}.get(self.state, "InProgress")
        document: dict[str, Any] = {"id": f"{ids.asr_id(self.ref.vault)}/replicationOperationStatus/{self.name}",
                                    "name": self.name, "status": status, "startTime": iso(self.started or self.created)}
        if self.ended is not None:
            document["endTime"] = iso(self.ended)
        if self.state == "Failed" and self.errors:
            service = self.errors[0]["serviceErrorDetails"]
            document["error"] = {"code": service["code"], "message": service["message"]}
        return document


def start_job(cloud: JobCloud, vault: JobVault, scenario_name: str, target_id: str, target_name: str,
              details: dict[str, Any] | None = None, fabric: str | None = None, item: str | None = None,
              params: dict[str, Any] | None = None, fault_names: tuple[str, ...] = ()) -> Job:
    """Create a job acting on `vault` (and the named fabric and item); the fault knobs may plan its failure
    (lab/azure/faults.py). The hooks registered for its scenario run as its tasks start and end. The job keeps its
    own copy of `params`: what a hook puts in the world from them is never the job's data too."""
    scenario = SCENARIOS[scenario_name]
    request_id = ids.new_guid()
    factor = cloud.faults.seconds_factor((target_name, *fault_names))
    job = Job(
        name=ids.new_guid(), ref=JobRef(vault.id, fabric.lower() if fabric else None, item.lower() if item else None),
        scenario_name=scenario_name, target_id=target_id, target_name=target_name, details=details or {},
        created=cloud.now(), tasks=[TaskRun(spec, spec.seconds * factor) for spec in scenario.tasks],
        params=copy.deepcopy(params or {}), activity_id=f"{request_id} ActivityId: {ids.new_guid()}",
    )
    failure = cloud.faults.take_job_failure(scenario_name, (target_id, target_name, *fault_names))
    if failure is not None:
        job.planned_failure = (min(failure.task, len(job.tasks) - 1), failure.code)
    vault.jobs[job.name.lower()] = job
    return job


def tick_jobs(cloud: JobCloud, now: dt.datetime) -> None:
    for vault in cloud.vaults.values():
        for job in list(vault.jobs.values()):
            job.advance(cloud, now)
