"""What every Site Recovery handler shares: vault lookup, ASR error bodies, 202 job answers, paging.

ASR answers a mutation with 202, an empty body and four headers naming one job
(enable_dr.json entry 16): Location `…/{resource}/operationresults/{job}`,
Azure-AsyncOperation `{vault}/replicationOperationStatus/{job}`, Retry-After (recorded "30";
lab/azure/arm.py explains the lab-clock scaling) and x-ms-request-id = the job's ARM id.
The api-version inside those URLs is older than the request's in every recording; the lab
echoes the request's (lab/FIDELITY.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote

from lab.azure import ids
from lab.azure.arm import ArmCall, ArmError, empty, json_body, retry_headers
from lab.azure.faults import LOST_ANSWER_ERRORS
from lab.azure.jobs import Job
from lab.azure.resources import check_subscription
from lab.azure.state import AzureCloud, Fabric, ProtectedItem, VaultAsr
from lab.http import Response

VAULT = "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{vault}"
FABRIC = VAULT + "/replicationFabrics/{fabric}"
CONTAINER = FABRIC + "/replicationProtectionContainers/{container}"
RECORDED_RETRY_AFTER_S = 30   # Retry-After on every recorded 202
PAGE_SIZE = 100
LAST_PAGE_TOKEN = "ReplicationGroup:Begin"   # the empty last page (enable_managed_disks.json entry 10)


def asr_error(status: int, detail_code: str, message: str, call: ArmCall | None = None,
              possible_causes: str = "Invalid parameters were specified.",
              recommended_action: str = "Verify the input and try again.") -> ArmError:
    """The service's synchronous error (reprotect.json entry 12)."""
    top = {400: "BadRequest", 404: "NotFound", 409: "Conflict"}.get(status, "InternalServerError")
    request_id = (call.request.headers.get("x-ms-client-request-id") if call else None) or ids.new_guid()
    return ArmError(status, top, message, details=[{
        "code": detail_code, "message": message, "possibleCauses": possible_causes,
        "recommendedAction": recommended_action, "clientRequestId": request_id, "activityId": request_id}])


def vault_of(call: ArmCall) -> VaultAsr:
    check_subscription(call)
    vault = call.cloud.vault(call.params["rg"], call.params["vault"])
    if vault is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.RecoveryServices/vaults/{call.params['vault']}' "
                       f"under resource group '{call.params['rg']}' was not found.")
    return vault


def fabric_of(call: ArmCall, vault: VaultAsr | None = None) -> tuple[VaultAsr, Fabric]:
    vault = vault or vault_of(call)
    fabric = vault.fabrics.get(call.params["fabric"].lower())
    if fabric is None:
        raise asr_error(404, "FabricNotFound", f"The fabric '{call.params['fabric']}' was not found in the vault.", call,
                        "The fabric does not exist or was deleted.", "Check the fabric name and try again.")
    return vault, fabric


def container_of(call: ArmCall) -> tuple[VaultAsr, Fabric]:
    vault, fabric = fabric_of(call)
    if call.params["container"].lower() != fabric.container_name.lower():
        raise asr_error(404, "ProtectionContainerNotFound",
                        f"The protection container '{call.params['container']}' was not found.", call,
                        "The protection container does not exist.", "Check the container name and try again.")
    return vault, fabric


# --- what a job acts on (lab/azure/jobs.py JobRef), as the cloud holds it now ---

def job_vault(cloud: AzureCloud, job: Job) -> VaultAsr | None:
    return cloud.vaults.get(ids.key(job.ref.vault))


def job_fabric(cloud: AzureCloud, job: Job) -> Fabric | None:
    vault = job_vault(cloud, job)
    return vault.fabrics.get(job.ref.fabric or "") if vault is not None else None


def job_item(cloud: AzureCloud, job: Job) -> ProtectedItem | None:
    fabric = job_fabric(cloud, job)
    return fabric.items.get(job.ref.item or "") if fabric is not None else None


def accepted(call: ArmCall, job: Job, resource_path: str, result: str | None = None) -> Response:
    """202 for a job-backed mutation; `resource_path` is the resource's ARM path (any casing); `result` names the
    renderer of what the Location URL returns once the job is done (lab/azure/jobs.py `renderer`).

    With a lost-answer fault for the job's scenario and VM (lab/azure/faults.py `LostAnswer`), the job runs but
    the client gets a 5xx instead."""
    job.result = result
    lost = call.cloud.faults.take_lost_answer(job.scenario_name, (job.target_id, job.target_name))
    if lost is not None:
        raise ArmError(lost.status, *LOST_ANSWER_ERRORS[lost.status])
    base = call.base_url
    headers = {
        "Location": f"{base}{ids.asr_id(resource_path)}/operationresults/{job.name}?api-version={call.api_version}",
        "Azure-AsyncOperation": (f"{base}{ids.asr_id(job.ref.vault)}/replicationOperationStatus/{job.name}"
                                 f"?api-version={call.api_version}"),
        "x-ms-request-id": job.asr_id,
        **retry_headers(call.cloud, RECORDED_RETRY_AFTER_S),
    }
    return empty(202, headers)


def page(call: ArmCall, documents: Sequence, skip_token_name: str = "$skipToken",
         render: Callable[[object], dict] | None = None) -> Response:
    """A list answer with ASR's paging: pages of `take` (or 100) items, then an empty last page.

    With `render`, `documents` are the resources themselves and only the page's are rendered to JSON: a vault
    of 10,000 items is then read in 101 requests that each build 100 documents, not 10,000.
    """
    token = call.request.query_value(skip_token_name) or call.request.query_value("skipToken")
    if token == LAST_PAGE_TOKEN:
        return json_body(200, {"value": [], "nextLink": None})
    size = int(call.request.query_value("take") or PAGE_SIZE)
    start = int(token) if token and token.isdigit() else 0
    chunk = list(documents[start:start + size])
    if render is not None:
        chunk = [render(resource) for resource in chunk]
    following = str(start + size) if start + size < len(documents) else LAST_PAGE_TOKEN
    next_link = None
    if documents and (start + size < len(documents) or call.request.query_value("take") is None):
        next_link = f"{call.base_url}{call.path}?api-version={call.api_version}&{skip_token_name}={quote(following)}"
    return json_body(200, {"value": chunk, "nextLink": next_link})


def listing(documents: list[dict]) -> Response:
    return json_body(200, {"value": documents, "nextLink": None})


def item_response(document: dict) -> Response:
    return json_body(200, document)
