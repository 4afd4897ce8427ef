# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin wrappers over the Site Recovery SDK calls the modules make: one function per call.

Each takes the SDK client (``AzureSession.site_recovery()``), the vault's resource group and
name, then the call's own names, and returns REST JSON (dicts),
so callers and tests never touch SDK models: answers are read as the service's JSON (``raw_get``,
``raw_list``), whatever the SDK release. Each is wrapped once by ``azure_operation``: an
azure-core error becomes ``AzureModuleError("Failed to <what> ...")``. ``get_*`` return None
for a resource that does not exist. Mutations return ``asr_jobs.OperationStarted``; wait with
``asr_jobs.wait_for_job``. Bodies are the REST shapes of the Site Recovery REST API (passed as dicts: the
SDK's models lack some Hyper-V discriminators, Azure/azure-rest-api-specs#22016 and #22769).

Items read for a decision carry the job their ``currentScenario`` names (``with_scenario_job``):
whether an item is busy, and why an enable failed, is in that job, not in the item.

Listing calls follow nextLink (``collect``): vault-wide lists (``list_protected_items``,
``list_providers``, ...) cost one request per page whatever the number of sites.
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_items import SCENARIO_JOB_KEY, current_operation
from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_jobs import start_operation
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_clients import raw_get, raw_list
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_errors import (
    AZURE_SDK_ERRORS,
    azure_operation,
    is_not_found,
)

# The Azure side of every Hyper-V-to-Azure mapping is named, not referenced by id
# (create_container_mapping.json entry 5; Azure/azure-rest-api-specs ReplicationProtectionContainerMappings_Create.json).
AZURE_RECOVERY_CONTAINER = "Microsoft Azure"


def _or_none(method, *args):
    try:
        return raw_get(method, *args)
    except AZURE_SDK_ERRORS as exc:
        if is_not_found(exc):
            return None
        raise


# --- reads ---

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


@azure_operation("get replication policy '{policy_name}' of vault '{vault_name}'")
def get_policy(client, resource_group, vault_name, policy_name):
    return _or_none(client.replication_policies.get, resource_group, vault_name, policy_name)


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


@azure_operation("get replicated VM '{item_name}' of vault '{vault_name}'")
def get_protected_item(client, resource_group, vault_name, fabric_name, container_name, item_name):
    item = _or_none(client.replication_protected_items.get, resource_group, vault_name, fabric_name, container_name,
                    item_name)
    return with_scenario_job(client, resource_group, vault_name, item)


@azure_operation("get job '{job_name}' of vault '{vault_name}'")
def get_job(client, resource_group, vault_name, job_name):
    return _or_none(client.replication_jobs.get, resource_group, vault_name, job_name)


def with_scenario_job(client, resource_group, vault_name, item):
    """A copy of ``item`` with the job its ``currentScenario`` names under ``asr_items.SCENARIO_JOB_KEY``
    (None when the job no longer exists); ``item`` itself when it names none (or is None)."""
    operation = current_operation(item)
    if not operation or not operation["job_name"]:
        return item
    job = get_job(client, resource_group, vault_name, operation["job_name"])
    enriched = dict(item)
    enriched[SCENARIO_JOB_KEY] = job
    return enriched


# --- mutations (each answers 202 and a job) ---

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
