# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The calls that set a vault up for Hyper-V: sites, providers, discovery, the vault certificate,
the Migrate project's solution. One function per call, REST JSON in and out (like ``asr_api``).

Site and provider calls go through the Site Recovery SDK. Three calls have no operation in the
SDKs the collection uses, so they are sent as plain ARM requests through the same client (its
credential, retries, TLS and cloud): GET of the vault (api 2023-04-01), PUT of a vault certificate
(Microsoft.RecoveryServices ``vaults/{v}/certificates/{name}``, api 2023-04-01, body
``{"certificateCreateOptions": {"validityInHours": n}}`` at the top level as Terraform's
``azuresdkhacks/model_certificaterequest.go`` sends it), and GET of a Migrate project's solution
(Microsoft.Migrate 2018-09-01-preview, the version Az.Migrate reads it with).
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_jobs import start_operation
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_clients import collect, or_none, rest_dict
from ansible_collections.azmigrate.hyperv.plugins.module_utils.azure_errors import azure_operation

try:
    from azure.core.rest import HttpRequest
except ImportError:   # reported by AzureSession.from_module (missing_required_lib)
    HttpRequest = None

VAULT_API = "2023-04-01"
MIGRATE_API = "2018-09-01-preview"
HYPERV_SITE_INPUT = {"properties": {"customDetails": {"instanceType": "HyperVSite"}}}


def vault_path(subscription_id, resource_group, vault_name):
    return ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.RecoveryServices/vaults/%s"
            % (subscription_id, resource_group, vault_name))


def _send(client, method, path, api_version, body=None):
    """One ARM request through the SDK client's pipeline; the JSON answer, None for a 404."""
    request = HttpRequest(method, "%s?api-version=%s" % (path, api_version), json=body)
    response = client.send_request(request)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json() if response.content else {}


# --- the vault, its certificates, the Migrate project ---

@azure_operation("get Recovery Services vault '{vault_name}'")
def get_vault(client, subscription_id, resource_group, vault_name):
    return _send(client, "GET", vault_path(subscription_id, resource_group, vault_name), VAULT_API)


@azure_operation("create a registration key certificate in vault '{vault_name}'")
def create_vault_certificate(client, subscription_id, resource_group, vault_name, certificate_name, validity_hours):
    """PUT vaults/{v}/certificates/{name}: the vault makes a certificate valid for ``validity_hours``."""
    path = "%s/certificates/%s" % (vault_path(subscription_id, resource_group, vault_name), certificate_name)
    return _send(client, "PUT", path, VAULT_API, {"certificateCreateOptions": {"validityInHours": validity_hours}})


@azure_operation("get solution '{solution}' of Azure Migrate project '{project}'")
def get_migrate_solution(client, subscription_id, resource_group, project, solution):
    path = ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Migrate/migrateProjects/%s/solutions/%s"
            % (subscription_id, resource_group, project, solution))
    return _send(client, "GET", path, MIGRATE_API)


# --- sites (replication fabrics) ---

@azure_operation("get Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def get_fabric(client, resource_group, vault_name, fabric_name):
    return or_none(lambda: client.replication_fabrics.get(resource_group, vault_name, fabric_name))


@azure_operation("create Hyper-V site '{fabric_name}' in vault '{vault_name}'")
def create_fabric(client, resource_group, vault_name, fabric_name):
    """PUT replicationFabrics/{site} with instanceType HyperVSite, which the SDK's models lack (Azure/azure-rest-api-specs#22016)."""
    return start_operation(client.replication_fabrics.begin_create, resource_group, vault_name, fabric_name,
                           HYPERV_SITE_INPUT)


@azure_operation("remove Hyper-V site '{fabric_name}' from vault '{vault_name}'")
def remove_fabric(client, resource_group, vault_name, fabric_name):
    """POST replicationFabrics/{site}/remove (the SDK's begin_delete; DELETE would purge)."""
    return start_operation(client.replication_fabrics.begin_delete, resource_group, vault_name, fabric_name)


# --- providers (registered hosts) and discovery ---

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


@azure_operation("list the discovered VMs of Hyper-V site '{fabric_name}' of vault '{vault_name}'")
def list_protectable_items(client, resource_group, vault_name, fabric_name, container_name):
    return [rest_dict(model) for model in collect(
        client.replication_protectable_items.list_by_replication_protection_containers(
            resource_group, vault_name, fabric_name, container_name))]
