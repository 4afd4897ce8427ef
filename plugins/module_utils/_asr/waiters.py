# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Waiting for Site Recovery jobs and items, within one deadline per task.

Rather than the SDK's ARM poller (whose final GET differs between PUT and POST and whose operation-status body is
not in the spec), the job a mutation names is polled at ``replicationJobs/{job}`` until it ends, as
Az.RecoveryServices does.

- ``poll_job``: the loop, with injectable fetch, clock and sleep; honours Retry-After; a throttled (429) or 5xx
  read ends one poll, not the wait.
- ``wait_for_job``: returns the job when it succeeded, raises ``AzureModuleError`` with the job's error code,
  possible causes and recommended action when it failed, and code ``Timeout`` when the time ran out.
- ``JobRunner``: the jobs one task starts, each waited for within the task's one deadline.
- ``wait_for_item``: GET an item until a condition holds, within the runner's deadline.
- ``job_summary``, ``error_from_job``: a job as the compact dict modules return, and as an error.
"""

import time

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.api import get_item, retry_after_seconds
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import (
    DEFAULT_POLL_INTERVAL,
    TERMINAL_STATES,
    TRANSIENT_STATUS,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import job_error, lifecycle_state
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import raw_get
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import (
    AZURE_SDK_ERRORS,
    AzureModuleError,
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceResponseError,
    error_from_exception,
)


def error_from_job(job, operation):
    """``AzureModuleError`` for a job that ended Failed, Cancelled or Suspended (pure).

    The first error of the job (or of a failed task) gives the code, message, possible causes and
    recommended action (``_asr.lifecycle.job_error``).
    """
    properties = job.get("properties") or {}
    state = properties.get("state")
    error = job_error(job) or {}
    code, message = error.get("code"), error.get("message")
    action = error.get("recommended_action")
    if state == "Suspended":
        action = action or "The job waits for a manual action: resume or cancel it in the vault, then re-run."
    reason = f"job {job.get('name')} ({properties.get('scenarioName') or '?'}) ended {state}"
    if message:
        reason += f": {message}"
    return AzureModuleError(operation, reason, code=code or f"Job{state}", possible_causes=error.get("possible_causes"),
                            recommended_action=action, details={"job": job_summary(job)})


def job_summary(job):
    """The job as modules return it: name, id, scenario, state, state_description, start_time,
    end_time, allowed_actions, target (VM or object name), tasks [{name, state, state_description}],
    errors [{code, message}]."""
    properties = job.get("properties") or {}
    errors = []
    for error in properties.get("errors") or []:
        service = error.get("serviceErrorDetails") or {}
        errors.append({"code": service.get("code"), "message": service.get("message"),
                       "task": error.get("taskId")})
    return {
        "name": job.get("name"), "id": job.get("id"),
        "scenario": properties.get("scenarioName"), "friendly_name": properties.get("friendlyName"),
        "state": properties.get("state"), "state_description": properties.get("stateDescription"),
        "start_time": properties.get("startTime"), "end_time": properties.get("endTime"),
        "allowed_actions": properties.get("allowedActions") or [],
        "target": properties.get("targetObjectName"),
        "tasks": [{"name": task.get("name"), "state": task.get("state"),
                   "state_description": task.get("stateDescription")}
                  for task in properties.get("tasks") or []],
        "errors": errors,
    }


def _is_transient(exc):
    """429/5xx answers that outlived the SDK's retries, and failures to reach the service, end one poll only.

    A credential that cannot give a token (azure-identity raises ClientAuthenticationError, with no HTTP
    status) is not transient: polling on would only reach the deadline with the same error.
    """
    if ClientAuthenticationError is not None and isinstance(exc, ClientAuthenticationError):
        return False
    status = getattr(exc, "status_code", None)
    if status is None:
        return isinstance(exc, tuple(error for error in (ServiceRequestError, ServiceResponseError) if error))
    return status in TRANSIENT_STATUS


def poll_job(fetch, job_name, timeout, operation, first_delay=None, default_interval=DEFAULT_POLL_INTERVAL,
             clock=time.monotonic, sleep=time.sleep):
    """Poll ``fetch(job_name, remaining_s) -> (job, headers)`` until the job is terminal.

    The first poll comes after ``first_delay`` (the 202's Retry-After); each next one after the poll
    answer's Retry-After, else the 202's, else ``default_interval``, never past the deadline.
    Transient errors (429/5xx after the SDK's retries, network errors) skip one poll.
    Returns the succeeded job; raises AzureModuleError on failure and on timeout.
    """
    deadline = clock() + timeout
    delay = first_delay if first_delay is not None else 0.0
    job, last_error = None, None
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            break
        sleep(max(0.0, min(delay, remaining)))
        remaining = deadline - clock()
        if remaining <= 0:
            break
        try:
            job, headers = fetch(job_name, remaining)
            last_error = None
        except AZURE_SDK_ERRORS as exc:
            if not _is_transient(exc):
                raise error_from_exception(f"read the state of job {job_name} for: {operation}", exc)
            last_error, headers = exc, getattr(getattr(exc, "response", None), "headers", None)
        else:
            state = (job.get("properties") or {}).get("state")
            if state == "Succeeded":
                return job
            if state in TERMINAL_STATES:
                raise error_from_job(job, operation)
        delay = retry_after_seconds(headers) or first_delay or default_interval
    state = ((job or {}).get("properties") or {}).get("state") or "unknown"
    reason = f"job {job_name} was still {state} after {int(timeout)} s"
    if last_error is not None:
        reason += f" (last poll: {str(last_error).splitlines()[0]})"
    raise AzureModuleError(operation, reason, code="Timeout",
                           recommended_action="The job goes on in Azure: re-run the task with a longer timeout to "
                                              "wait for it, or follow it in the vault's Site Recovery jobs.",
                           details={"job": job_summary(job) if job else {"name": job_name}})


def wait_for_job(client, resource_group, vault_name, job_name, timeout, operation, first_delay=None):
    """Wait for ASR job ``job_name`` of a vault with the SDK ``client``; see ``poll_job``."""
    def fetch(name, remaining):
        answers = []
        job = raw_get(client.replication_jobs.get, resource_group, vault_name, name, raw_response_hook=answers.append,
                      timeout=max(1, int(remaining)))
        return job, (answers[-1].http_response.headers if answers else {})
    return poll_job(fetch, job_name, timeout, operation, first_delay=first_delay)


class JobRunner(object):
    """The jobs one task starts, each waited for within the task's one deadline (``timeout`` seconds)."""

    def __init__(self, client, resource_group, vault_name, timeout, clock=None, list_failed_jobs=True):
        # list_failed_jobs: whether a job that failed is listed in ``jobs`` too (its summary is in the error's
        # details either way); replication_policy and hyperv_site have always listed only the jobs that succeeded.
        self.list_failed_jobs = list_failed_jobs
        self.clock = clock or time.monotonic
        self.client, self.resource_group, self.vault_name = client, resource_group, vault_name
        self.deadline = self.clock() + timeout
        self.jobs = []

    def args(self):
        """(client, resource group, vault name): the first arguments of every ``_asr.api`` call on the vault."""
        return (self.client, self.resource_group, self.vault_name)

    def remaining(self):
        return max(1.0, self.deadline - self.clock())

    def wait(self, job_name, operation, first_delay=None):
        """Wait for a job (started by this task or an earlier one); record its summary; return the job."""
        try:
            job = wait_for_job(self.client, self.resource_group, self.vault_name, job_name, self.remaining(), operation,
                               first_delay)
        except AzureModuleError as exc:
            job = (exc.details or {}).get("job")
            if job and self.list_failed_jobs:
                self.jobs.append(job)
            raise
        self.jobs.append(job_summary(job))
        return job

    def run(self, started, operation, wait=True):
        """Record a started mutation; wait for its job when ``wait``; return the job (or None)."""
        if not started.job_name or not wait:
            self.jobs.append({"name": started.job_name, "state": "Started"})
            return None
        return self.wait(started.job_name, operation, started.retry_after)


def wait_for_item(ref, runner, ready, what, poll_interval, sleep=time.sleep):
    """GET the item every ``poll_interval`` seconds until ``ready(item)``, within the runner's deadline.

    Returns the item. A read throttled (429) or failing with 5xx after the SDK's own retries skips one poll;
    the deadline raises AzureModuleError code Timeout naming the item's last state.
    """
    item = None
    while True:
        try:
            item = get_item(ref)
        except AzureModuleError as exc:
            if exc.status not in TRANSIENT_STATUS:
                raise
        else:
            if item is None or ready(item):
                return item
        if runner.deadline - runner.clock() <= 0:
            raise AzureModuleError(what, "VM '%s' was still %s when the timeout ran out" % (
                ref.name, lifecycle_state(item) if item else "unknown"), code="Timeout",
                recommended_action="Replication goes on in Azure: re-run the task with a longer timeout to wait for it.")
        sleep(min(poll_interval, max(0.0, runner.deadline - runner.clock())))


class ArmGate(object):
    """Holds every request of the wave until a Retry-After that outlived the SDK's retries has passed."""

    def __init__(self, clock, sleep):
        self.clock, self.sleep = clock, sleep
        self.not_before = 0.0
        self.throttled = 0

    def wait(self):
        pause = self.not_before - self.clock()
        if pause > 0:
            self.sleep(pause)

    def hold(self, seconds):
        self.throttled += 1
        self.not_before = max(self.not_before, self.clock() + seconds)
