# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Thin wrappers over the Site Recovery and Recovery Services calls the modules make: one function per call.

Each takes the SDK client (``AzureSession.site_recovery()``), the vault's resource group and name, then the call's
own names (an item is addressed by ``ItemRef``: its site, container and name, which ``ref_of(item)`` reads from the
item's id), and returns REST JSON (dicts), so callers and tests never touch SDK models: answers are read as the
service's JSON (``raw_get``, ``raw_list``), whatever the SDK release. Each is wrapped once by ``azure_operation``:
an azure-core error becomes ``AzureModuleError("Failed to <what> ...")``; ``get_*`` return None for a resource that
does not exist (``missing=None``). Bodies are the REST shapes of the Site Recovery REST API (passed as dicts: the
SDK's models lack some Hyper-V discriminators, Azure/azure-rest-api-specs#22016 and #22769).

Every mutation answers 202 with an empty body and names one job three ways: ``Azure-AsyncOperation:
.../replicationOperationStatus/{job}`` (``.../replicationJobs/{job}`` in 2017 api-versions), ``Location:
.../operationresults/{job}`` and ``x-ms-request-id: .../replicationJobs/{job}``. Like Az.RecoveryServices and
Az.Migrate, ``start_operation`` calls the SDK's ``begin_*`` method without its poller and returns the job name and
the answer's Retry-After (``OperationStarted``); ``waiters`` polls the job. The actions on an item (failovers,
commit, remove) are not idempotent: when their answer is lost after the job started (a 5xx, or azure-core's replay
refused), ``_start_on_item`` finds the job the item names instead of failing. The scenario names it matches are
recorded for TestFailover, TestFailoverCleanup and PlannedFailover; UnplannedFailover, CommitFailover and DisableDr
are assumptions (no recording has them): with another name the service's answer stands, as without this check.

Items read for a decision carry the job their ``currentScenario`` names (``with_scenario_job``): whether an item
is busy, and why an enable failed, is in that job, not in the item. Listing calls follow nextLink (``collect``):
vault-wide lists cost one request per page whatever the number of sites.
"""

import json
import re

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import name_in_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import (
    AZURE_RECOVERY_CONTAINER,
    PRIMARY_TO_RECOVERY,
    PROVIDER,
    RUNNING_JOB_STATES,
    SCENARIO_JOB_KEY,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import current_operation
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import (
    collect,
    raw_get,
    raw_list,
    rest_dict,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import (
    AZURE_SDK_ERRORS,
    AzureModuleError,
    azure_operation,
)

try:
    from azure.core.rest import HttpRequest
except ImportError:   # reported by AzureSession.from_module (missing_required_lib)
    HttpRequest = None


_JOB_IN_URL = re.compile(r"/(?:replicationOperationStatus|replicationJobs|operationresults)/([^/?#,\s]+)",
                         re.IGNORECASE)


class OperationStarted(object):
    """What a mutation's first answer said.

    job_name: the ASR job's name (a GUID), or None when the service answered synchronously
    (200/201/204 without a job); status: the HTTP status; retry_after: seconds, or None;
    body: the answer's JSON body (synchronous answers), or None; replayed: True when the request was
    replayed after a 5xx and the replay refused (``_replayed_into_refusal``): re-read the item for its job
    (``_start_on_item`` does); refusal: then the replay's error, to raise when the item names no such job.
    """

    def __init__(self, job_name, status, retry_after, body=None, replayed=False, refusal=None):
        self.job_name = job_name
        self.status = status
        self.retry_after = retry_after
        self.body = body
        self.replayed = replayed
        self.refusal = refusal


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
            return OperationStarted(None, 400, None, replayed=True, refusal=exc)
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


# Statuses whose answer may come after the service started the job: azure-core replays a POST answered 500, 503
# or 504 (and any status with Retry-After), not a 502 without it (azure/core/pipeline/policies/_retry.py,
# ``_is_method_retryable``); a 5xx that outlived the replays may have started a job too.
LOST_ANSWER_STATUS = (500, 502, 503, 504)


def _job_started_for(ref, scenario):
    """The job of ``scenario`` the item, read again, names in ``currentScenario`` while it runs or after it
    succeeded; None otherwise (also when the item can't be read). A job of that scenario that failed or was
    cancelled is an earlier attempt's: the action may not have started one."""
    try:
        item = get_item(ref)
    except AzureModuleError:
        return None
    operation = current_operation(item) if item else None
    if not operation or operation["name"] != scenario or not operation["job_name"]:
        return None
    if operation["job_state"] not in RUNNING_JOB_STATES + ("Succeeded",):
        return None
    return operation["job_name"]


def _start_on_item(ref, scenario, begin_method, **kwargs):
    """``start_operation`` for a POST action on a replicated item, which is not idempotent.

    When the answer was lost after the service started the job (a 500/502/503/504, or azure-core's replay of the
    POST refused because the item is busy with that job), the item read again names the job in
    ``currentScenario``: that job is the action's, and is returned (``replayed``) to be waited for like any other.
    A second POST is never sent. When the item names no job of ``scenario``, the service's answer stands."""
    try:
        started = start_operation(begin_method, *ref.args(), **kwargs)
    except AZURE_SDK_ERRORS as exc:
        status = getattr(exc, "status_code", None)
        job_name = _job_started_for(ref, scenario) if status in LOST_ANSWER_STATUS else None
        if job_name is None:
            raise
        return OperationStarted(job_name, status, None, replayed=True)
    if not started.replayed:
        return started
    job_name = _job_started_for(ref, scenario)
    if job_name is None:
        raise started.refusal
    return OperationStarted(job_name, started.status, None, replayed=True)


@azure_operation("list the replication fabrics (Hyper-V sites) of vault '{vault_name}'")
def list_fabrics(client, resource_group, vault_name):
    return raw_list(client.replication_fabrics.list, resource_group, vault_name)


@azure_operation("list the registered Hyper-V hosts (Site Recovery providers) of vault '{vault_name}'")
def list_providers(client, resource_group, vault_name):
    return raw_list(client.replication_recovery_services_providers.list, resource_group, vault_name)


@azure_operation("list the protection containers of vault '{vault_name}'")
def list_containers(client, resource_group, vault_name):
    return raw_list(client.replication_protection_containers.list, resource_group, vault_name)


@azure_operation("list the replication policies of vault '{vault_name}'")
def list_policies(client, resource_group, vault_name):
    return raw_list(client.replication_policies.list, resource_group, vault_name)


@azure_operation("get replication policy '{policy_name}' of vault '{vault_name}'", missing=None)
def get_policy(client, resource_group, vault_name, policy_name):
    return raw_get(client.replication_policies.get, resource_group, vault_name, policy_name)


@azure_operation("list the policy associations (container mappings) of vault '{vault_name}'")
def list_mappings(client, resource_group, vault_name):
    return raw_list(client.replication_protection_container_mappings.list, resource_group, vault_name)


@azure_operation("list the replicated VMs of vault '{vault_name}'")
def list_protected_items(client, resource_group, vault_name, limit=None, with_jobs=False):
    """The vault's items; ``with_jobs``: each with its scenario's job (one more GET per item that names one)."""
    items = raw_list(client.replication_protected_items.list, resource_group, vault_name, limit=limit)
    if with_jobs:
        items = [with_scenario_job(client, resource_group, vault_name, item) for item in items]
    return items


@azure_operation("get replicated VM '{item_name}' of vault '{vault_name}'", missing=None)
def get_protected_item(client, resource_group, vault_name, fabric_name, container_name, item_name):
    item = raw_get(client.replication_protected_items.get, resource_group, vault_name, fabric_name, container_name,
                   item_name)
    return with_scenario_job(client, resource_group, vault_name, item)


@azure_operation("get job '{job_name}' of vault '{vault_name}'", missing=None)
def get_job(client, resource_group, vault_name, job_name):
    return raw_get(client.replication_jobs.get, resource_group, vault_name, job_name)


def with_scenario_job(client, resource_group, vault_name, item):
    """A copy of ``item`` with the job its ``currentScenario`` names under ``_asr.constants.SCENARIO_JOB_KEY``
    (None when the job no longer exists); ``item`` itself when it names none (or is None)."""
    operation = current_operation(item)
    if not operation or not operation["job_name"]:
        return item
    job = get_job(client, resource_group, vault_name, operation["job_name"])
    enriched = dict(item)
    enriched[SCENARIO_JOB_KEY] = job
    return enriched


@azure_operation("create replication policy '{policy_name}' in vault '{vault_name}'")
def create_policy(client, resource_group, vault_name, policy_name, provider_input):
    """PUT replicationPolicies/{policy}; ``provider_input``: HyperVReplicaAzurePolicyInput as JSON."""
    return start_operation(client.replication_policies.begin_create, resource_group, vault_name, policy_name,
                           {"properties": {"providerSpecificInput": provider_input}})


@azure_operation("update replication policy '{policy_name}' in vault '{vault_name}'")
def update_policy(client, resource_group, vault_name, policy_name, provider_input):
    """PATCH replicationPolicies/{policy}: the settings go in ``replicationProviderSettings``.

    Terraform's azurerm sends its UpdatePolicyInputProperties this way.
    """
    return start_operation(client.replication_policies.begin_update, resource_group, vault_name, policy_name,
                           {"properties": {"replicationProviderSettings": provider_input}})


@azure_operation("delete replication policy '{policy_name}' from vault '{vault_name}'")
def delete_policy(client, resource_group, vault_name, policy_name):
    return start_operation(client.replication_policies.begin_delete, resource_group, vault_name, policy_name)


@azure_operation("associate policy '{policy_id}' with Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def create_mapping(client, resource_group, vault_name, fabric_name, container_name, mapping_name, policy_id):
    """PUT a container mapping from the site's container to Azure (REST spec example ReplicationProtectionContainerMappings_Create)."""
    body = {"properties": {"targetProtectionContainerId": AZURE_RECOVERY_CONTAINER, "policyId": policy_id,
                           "providerSpecificInput": {"instanceType": "ReplicationProviderSpecificContainerMappingInput"}}}
    return start_operation(client.replication_protection_container_mappings.begin_create, resource_group, vault_name,
                           fabric_name, container_name, mapping_name, body)


@azure_operation("remove policy association '{mapping_name}' from Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def remove_mapping(client, resource_group, vault_name, fabric_name, container_name, mapping_name):
    """POST .../remove, the clean dissociation (the SDK's begin_delete; DELETE would purge)."""
    return start_operation(client.replication_protection_container_mappings.begin_delete, resource_group, vault_name,
                           fabric_name, container_name, mapping_name, {"properties": {}})


VAULT_API = "2023-04-01"
MIGRATE_API = "2018-09-01-preview"
HYPERV_SITE_INPUT = {"properties": {"customDetails": {"instanceType": "HyperVSite"}}}


def vault_path(subscription_id, resource_group, vault_name):
    return ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.RecoveryServices/vaults/%s"
            % (subscription_id, resource_group, vault_name))


def _send(client, method, path, api_version, body=None):
    """One ARM request through the SDK client's pipeline; the JSON answer (an error answer raises, so that
    ``azure_operation(..., missing=None)`` reads a 404 as None, as for every other reader)."""
    request = HttpRequest(method, f"{path}?api-version={api_version}", json=body)
    response = client.send_request(request)
    response.raise_for_status()
    return response.json() if response.content else {}


@azure_operation("get Recovery Services vault '{vault_name}'", missing=None)
def get_vault(client, subscription_id, resource_group, vault_name):
    return _send(client, "GET", vault_path(subscription_id, resource_group, vault_name), VAULT_API)


@azure_operation("create a registration key certificate in vault '{vault_name}'")
def create_vault_certificate(client, subscription_id, resource_group, vault_name, certificate_name, validity_hours):
    """PUT vaults/{v}/certificates/{name}: the vault makes a certificate valid for ``validity_hours``."""
    path = f"{vault_path(subscription_id, resource_group, vault_name)}/certificates/{certificate_name}"
    return _send(client, "PUT", path, VAULT_API, {"certificateCreateOptions": {"validityInHours": validity_hours}})


@azure_operation("get solution '{solution}' of Azure Migrate project '{project}'", missing=None)
def get_migrate_solution(client, subscription_id, resource_group, project, solution):
    path = ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Migrate/migrateProjects/%s/solutions/%s"
            % (subscription_id, resource_group, project, solution))
    return _send(client, "GET", path, MIGRATE_API)


@azure_operation("get Hyper-V site '{fabric_name}' of vault '{vault_name}'", missing=None)
def get_fabric(client, resource_group, vault_name, fabric_name):
    return rest_dict(client.replication_fabrics.get(resource_group, vault_name, fabric_name))


@azure_operation("create Hyper-V site '{fabric_name}' in vault '{vault_name}'")
def create_fabric(client, resource_group, vault_name, fabric_name):
    """PUT replicationFabrics/{site} with instanceType HyperVSite, which the SDK's models lack (Azure/azure-rest-api-specs#22016)."""
    return start_operation(client.replication_fabrics.begin_create, resource_group, vault_name, fabric_name,
                           HYPERV_SITE_INPUT)


@azure_operation("remove Hyper-V site '{fabric_name}' from vault '{vault_name}'")
def remove_fabric(client, resource_group, vault_name, fabric_name):
    """POST replicationFabrics/{site}/remove (the SDK's begin_delete; DELETE would purge)."""
    return start_operation(client.replication_fabrics.begin_delete, resource_group, vault_name, fabric_name)


@azure_operation("list the registered hosts of Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def list_site_providers(client, resource_group, vault_name, fabric_name):
    return [rest_dict(model) for model in collect(
        client.replication_recovery_services_providers.list_by_replication_fabrics(resource_group, vault_name,
                                                                                   fabric_name))]


@azure_operation("refresh the provider '{provider_name}' of Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def refresh_provider(client, resource_group, vault_name, fabric_name, provider_name):
    """POST .../replicationRecoveryServicesProviders/{p}/refreshProvider: the host sends its VMs again."""
    return start_operation(client.replication_recovery_services_providers.begin_refresh_provider, resource_group,
                           vault_name, fabric_name, provider_name)


@azure_operation("remove the provider '{provider_name}' from Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def remove_provider(client, resource_group, vault_name, fabric_name, provider_name):
    """POST .../replicationRecoveryServicesProviders/{p}/remove (the SDK's begin_delete): the vault forgets the host."""
    return start_operation(client.replication_recovery_services_providers.begin_delete, resource_group, vault_name,
                           fabric_name, provider_name)


PROVIDER_INPUT = {"instanceType": PROVIDER}


class ItemRef(object):
    """Where a replicated item lives: vault (client, resource group, name), site, container, item name."""

    def __init__(self, client, resource_group, vault_name, fabric, container, name):
        self.client, self.resource_group, self.vault_name = client, resource_group, vault_name
        self.fabric, self.container, self.name = fabric, container, name

    def args(self):
        return (self.resource_group, self.vault_name, self.fabric, self.container, self.name)


def ref_of(client, resource_group, vault_name, resource):
    """The ItemRef of a protected or protectable item, from its id."""
    resource_id = resource.get("id")
    return ItemRef(client, resource_group, vault_name, name_in_id(resource_id, "replicationFabrics"),
                   name_in_id(resource_id, "replicationProtectionContainers"), resource.get("name"))


@azure_operation("list the discovered VMs of Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def list_protectable_items(client, resource_group, vault_name, fabric_name, container_name):
    return raw_list(client.replication_protectable_items.list_by_replication_protection_containers,
                    resource_group, vault_name, fabric_name, container_name)


@azure_operation("get discovered VM '{ref.name}' of vault '{ref.vault_name}'", missing=None)
def get_protectable_item(ref):
    return raw_get(ref.client.replication_protectable_items.get, *ref.args())


@azure_operation("get replicated VM '{ref.name}' of vault '{ref.vault_name}'", missing=None)
def get_item(ref):
    item = raw_get(ref.client.replication_protected_items.get, *ref.args())
    return with_scenario_job(ref.client, ref.resource_group, ref.vault_name, item)


@azure_operation("enable replication of VM '{ref.name}' in vault '{ref.vault_name}'")
def enable(ref, body):
    """PUT replicationProtectedItems/{name} (SDK HyperVReplicaAzureEnableProtectionInput)."""
    return start_operation(ref.client.replication_protected_items.begin_create, *ref.args(), input=body)


@azure_operation("update the target settings of replicated VM '{ref.name}' in vault '{ref.vault_name}'")
def update(ref, body):
    """PATCH replicationProtectedItems/{name} (SDK UpdateReplicationProtectedItemInput)."""
    return start_operation(ref.client.replication_protected_items.begin_update, *ref.args(), update_protection_input=body)


@azure_operation("disable replication of VM '{ref.name}' in vault '{ref.vault_name}' (reason {reason})")
def remove(ref, reason="NotSpecified"):
    """POST .../remove, the clean disable (the SDK's begin_delete; DELETE would purge). ``MigrationComplete``
    is the portal's Complete migration (an assumption: it is the only other DisableProtectionReason,
    and the portal's own request was not observed)."""
    body = {"properties": {"disableProtectionReason": reason,
                           "replicationProviderInput": {"instanceType": "DisableProtectionProviderSpecificInput"}}}
    return _start_on_item(ref, "DisableDr", ref.client.replication_protected_items.begin_delete,
                          disable_protection_input=body)


@azure_operation("start the test failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def test_failover(ref, network_id):
    """POST .../testFailover into the VNet ``network_id`` (Azure/azure-rest-api-specs example ReplicationProtectedItems_TestFailover.json)."""
    body = {"properties": {"failoverDirection": PRIMARY_TO_RECOVERY, "networkType": "VmNetworkAsInput",
                           "networkId": network_id, "providerSpecificDetails": dict(PROVIDER_INPUT)}}
    return _start_on_item(ref, "TestFailover", ref.client.replication_protected_items.begin_test_failover,
                          testfailover_input=body)


@azure_operation("clean up the test failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def test_failover_cleanup(ref, comments):
    body = {"properties": {"comments": comments or ""}}     # PowerShell sends comments "" (test_failover.json)
    return _start_on_item(ref, "TestFailoverCleanup", ref.client.replication_protected_items.begin_test_failover_cleanup,
                          cleanup_input=body)


@azure_operation("start the planned failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def planned_failover(ref):
    """POST .../plannedFailover: the service shuts the source VM down and syncs once more.

    Source: learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v.
    """
    body = {"properties": {"failoverDirection": PRIMARY_TO_RECOVERY, "providerSpecificDetails": dict(PROVIDER_INPUT)}}
    return _start_on_item(ref, "PlannedFailover", ref.client.replication_protected_items.begin_planned_failover,
                          failover_input=body)


@azure_operation("start the unplanned failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def unplanned_failover(ref, shutdown_source):
    """POST .../unplannedFailover; ``sourceSiteOperations`` Required tries to shut the source down (8.4)."""
    body = {"properties": {"failoverDirection": PRIMARY_TO_RECOVERY,
                           "sourceSiteOperations": "Required" if shutdown_source else "NotRequired",
                           "providerSpecificDetails": dict(PROVIDER_INPUT)}}
    return _start_on_item(ref, "UnplannedFailover", ref.client.replication_protected_items.begin_unplanned_failover,
                          failover_input=body)


@azure_operation("commit the failover of VM '{ref.name}' in vault '{ref.vault_name}'")
def commit(ref):
    return _start_on_item(ref, "CommitFailover", ref.client.replication_protected_items.begin_failover_commit)
