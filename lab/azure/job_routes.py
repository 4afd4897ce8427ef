"""Site Recovery jobs as clients read them: get and list jobs, the operation status and the Location URL of a
job-backed mutation (lab/azure/asr_common.py `accepted`). The jobs themselves are lab/azure/jobs.py's.
"""
from __future__ import annotations

from lab.azure.arm import Arm, ArmCall, ArmError, empty, iso, json_body, retry_headers
from lab.azure.asr_common import CONTAINER, FABRIC, VAULT, asr_error, page, vault_of
from lab.azure.jobs import render_result
from lab.http import Response


# --- jobs and operation polling ---

def _job(call: ArmCall):
    vault = vault_of(call)
    job = vault.jobs.get(call.params["job"].lower())
    if job is None:
        raise asr_error(404, "JobNotFound", f"The job '{call.params['job']}' was not found.", call)
    return job


def get_job(call: ArmCall) -> Response:
    job = _job(call)
    return json_body(200, job.to_json(), {"x-ms-request-id": job.asr_id})


def list_jobs(call: ArmCall) -> Response:
    vault = vault_of(call)
    jobs = sorted(vault.jobs.values(), key=lambda j: j.created, reverse=True)
    expression = call.request.query_value("$filter") or ""
    for clause in expression.split(" and "):
        if " eq " in clause:
            field_name, value = (part.strip().strip("'") for part in clause.split(" eq ", 1))
            if field_name == "jobStatus":
                jobs = [j for j in jobs if j.state.lower() == value.lower()]
            elif field_name == "jobName":
                jobs = [j for j in jobs if j.scenario.name.lower() == value.lower()]
            elif field_name in ("affectedObjectTypes",):
                jobs = [j for j in jobs if j.scenario.target_instance_type.lower() == value.lower()]
        elif " ge " in clause and clause.strip().startswith("startTime"):
            since = clause.split(" ge ", 1)[1].strip().strip("'")
            jobs = [j for j in jobs if (iso(j.created) or "") >= since]
    return page(call, [j.to_json() for j in jobs], skip_token_name="$skipToken")


def operation_status(call: ArmCall) -> Response:
    job = _job(call)
    headers = {"x-ms-request-id": job.asr_id}
    if not job.terminal:
        headers.update(retry_headers(call.cloud, 30, poll=True))
    return json_body(200, job.operation_status(), headers)


def operation_result(call: ArmCall) -> Response:
    """Location URL: 202 while the job runs, then the resource (200) or 204 when it is gone."""
    job = _job(call)
    if not job.terminal:
        return empty(202, {"Location": f"{call.base_url}{call.path}?api-version={call.api_version}",
                           **retry_headers(call.cloud, 30, poll=True)})
    if job.state == "Failed":
        service = job.errors[0]["serviceErrorDetails"] if job.errors else {"code": "JobFailed", "message": "failed"}
        raise ArmError(400, service["code"], service["message"])
    document = render_result(call.cloud, job)
    return json_body(200, document) if document is not None else empty(204)


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", VAULT + "/replicationJobs", list_jobs)
    add("GET", VAULT + "/replicationJobs/{job}", get_job, poll=True)
    add("GET", VAULT + "/replicationOperationStatus/{job}", operation_status, poll=True)
    for resource in (FABRIC, VAULT + "/replicationPolicies/{policy}",
                     CONTAINER + "/replicationProtectionContainerMappings/{mapping}",
                     FABRIC + "/replicationRecoveryServicesProviders/{provider}",
                     CONTAINER + "/replicationProtectedItems/{item}"):
        add("GET", resource + "/operationresults/{job}", operation_result, poll=True)
