# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site Recovery mutations and their jobs: start one, wait for its job, report it.

Every ASR mutation answers 202 with an empty body and names one job three ways (Azure
PowerShell's recorded tests; tests/fixtures/asr-recordings/enable_dr.json entry 16):
``Azure-AsyncOperation: .../replicationOperationStatus/{job}`` (``.../replicationJobs/{job}`` in the 2017
recordings), ``Location: .../operationresults/{job}`` and ``x-ms-request-id: .../replicationJobs/{job}``. Like Az.RecoveryServices and Az.Migrate we take
the job name from those headers and poll ``replicationJobs/{job}`` until the job ends, rather
than trusting the SDK's ARM poller, whose final GET differs between PUT and POST and whose
operation-status body is not in the spec.

The API:

- ``start_operation(begin_method, *args, **kwargs) -> OperationStarted``: calls an SDK
  ``begin_*`` method without its poller and returns the job name and the answer's Retry-After.
- ``wait_for_job(client, resource_group, vault_name, job_name, timeout, first_delay=None)``:
  polls until the job is terminal; returns the job (REST JSON) when it succeeded, raises
  ``AzureModuleError`` with the job's error code, possible causes and recommended action when
  it failed, and ``AzureModuleError`` code ``Timeout`` when ``timeout`` seconds passed.
- ``job_summary(job)``: the job as the compact dict modules return.
- Pure helpers, unit-tested: ``job_name_from_headers``, ``retry_after_seconds``,
  ``error_from_job``, ``poll_job`` (the loop, with injectable fetch, clock and sleep).
"""

import json
import re
import time

from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_items import job_error
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_errors import (
    AZURE_SDK_ERRORS,
    AzureModuleError,
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceResponseError,
    error_from_exception,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_clients import raw_get

# PowerShell's WaitForJobCompletion stops on these (Azure/azure-powershell, AsrCmdletBase.cs). "Suspended" waits for
# a person (resume with a comment), so an automated wait treats it as the end.
TERMINAL_STATES = ("Succeeded", "Failed", "Cancelled", "Suspended")
# Without any Retry-After, poll as Az.RecoveryServices does: every 30 s (PSAsrClient.cs).
DEFAULT_POLL_INTERVAL = 30.0
# 429 and 5xx that outlive the SDK's own retries, and network errors, end one poll, not the wait.
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)

_JOB_IN_URL = re.compile(r"/(?:replicationOperationStatus|replicationJobs|operationresults)/([^/?#,\s]+)",
                         re.IGNORECASE)


class OperationStarted(object):
    """What a mutation's first answer said.

    job_name: the ASR job's name (a GUID), or None when the service answered synchronously
    (200/201/204 without a job); status: the HTTP status; retry_after: seconds, or None;
    body: the answer's JSON body (synchronous answers), or None; replayed: True when the request was
    replayed after a 5xx and the replay refused (``_replayed_into_refusal``): re-read the item for its job.
    """

    def __init__(self, job_name, status, retry_after, body=None, replayed=False):
        self.job_name = job_name
        self.status = status
        self.retry_after = retry_after
        self.body = body
        self.replayed = replayed


def _header_values(headers, name):
    values = []
    for key, value in (headers or {}).items():
        if key.lower() == name:
            # requests joins repeated headers with ", " (x-ms-request-id often has two values).
            values.extend(value if isinstance(value, (list, tuple)) else str(value).split(","))
    return [value.strip() for value in values if value and value.strip()]


def job_name_from_headers(headers):
    """The ASR job name named by a 202's headers, or None.

    Azure-AsyncOperation first, then Location (segment after ``operationresults/``, as
    PowerShell's GetJobIdFromReponseLocation reads it), then x-ms-request-id (a job ARM id, or
    a plain request id in the 2021 policy PUT of create_policy.json, which is ignored).
    """
    for name in ("azure-asyncoperation", "location", "x-ms-request-id"):
        for value in _header_values(headers, name):
            found = _JOB_IN_URL.search(value)
            if found and found.group(1).lower() != "none":
                return found.group(1)
    return None


def retry_after_seconds(headers):
    """Seconds to wait from Retry-After (seconds), retry-after-ms or x-ms-retry-after-ms; else None.

    A zero or unreadable value counts as absent (azure-core does the same, then uses its
    polling interval: azure-core's get_retry_after).
    """
    for name, scale in (("retry-after", 1.0), ("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        for value in _header_values(headers, name):
            try:
                seconds = float(value) * scale
            except ValueError:
                continue   # an HTTP date: ASR sends seconds ("30"), so fall through to the next header
            if seconds > 0:
                return seconds
    return None


def _as_json(value):
    """A request body ({"properties": ...}) as JSON bytes, which every SDK release sends as it is; the SDK's
    models would drop what they do not know (Hyper-V discriminators, newer fields)."""
    if isinstance(value, dict) and "properties" in value:
        return json.dumps(value).encode("utf-8")
    return value


def _replayed_into_refusal(exc, answers):
    """Whether azure-core replayed the request after a 500/502/503/504 and the replay was refused with 400.

    ASR actions are not idempotent: when the first attempt started a job before its answer was lost, the
    replay finds the item busy and is refused. The caller then re-reads the item, whose currentScenario
    names that job, instead of failing while the job runs. A first attempt that started nothing leaves
    the item idle, so the caller's next attempt gets the service's own answer.
    """
    if getattr(exc, "status_code", None) != 400:
        return False
    statuses = [answer.http_response.status_code for answer in answers[:-1]]
    return any(status in (500, 502, 503, 504) for status in statuses)


def start_operation(begin_method, *args, **kwargs):
    """Send one SDK ``begin_*`` mutation without polling; return ``OperationStarted``.

    The SDK's ``polling=False`` sends the first request only; its answer is captured with
    azure-core's ``raw_response_hook`` (called for every attempt, so the last one counts). Dict bodies
    go as JSON bytes (``_as_json``).
    azure-core errors propagate: wrap the call in ``azure_errors(...)``.
    """
    answers = []
    args = [_as_json(value) for value in args]
    kwargs = dict((key, _as_json(value)) for key, value in kwargs.items())
    try:
        begin_method(*args, polling=False, raw_response_hook=answers.append, **kwargs)
    except AZURE_SDK_ERRORS as exc:
        if _replayed_into_refusal(exc, answers):
            return OperationStarted(None, 400, None, replayed=True)
        raise
    response = answers[-1].http_response
    body = None
    if response.status_code in (200, 201):
        try:
            body = response.json()
        except ValueError:
            body = None
    return OperationStarted(job_name_from_headers(response.headers), response.status_code,
                            retry_after_seconds(response.headers), body)


def error_from_job(job, operation):
    """``AzureModuleError`` for a job that ended Failed, Cancelled or Suspended (pure).

    The first error of the job (or of a failed task) gives the code, message, possible causes and
    recommended action (``asr_items.job_error``).
    """
    properties = job.get("properties") or {}
    state = properties.get("state")
    error = job_error(job) or {}
    code, message = error.get("code"), error.get("message")
    action = error.get("recommended_action")
    if state == "Suspended":
        action = action or "The job waits for a manual action: resume or cancel it in the vault, then re-run."
    reason = "job %s (%s) ended %s" % (job.get("name"), properties.get("scenarioName") or "?", state)
    if message:
        reason += ": %s" % message
    return AzureModuleError(operation, reason, code=code or "Job%s" % state, possible_causes=error.get("possible_causes"),
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
                raise error_from_exception("read the state of job %s for: %s" % (job_name, operation), exc)
            last_error, headers = exc, getattr(getattr(exc, "response", None), "headers", None)
        else:
            state = (job.get("properties") or {}).get("state")
            if state == "Succeeded":
                return job
            if state in TERMINAL_STATES:
                raise error_from_job(job, operation)
        delay = retry_after_seconds(headers) or first_delay or default_interval
    state = ((job or {}).get("properties") or {}).get("state") or "unknown"
    reason = "job %s was still %s after %s s" % (job_name, state, int(timeout))
    if last_error is not None:
        reason += " (last poll: %s)" % str(last_error).splitlines()[0]
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
