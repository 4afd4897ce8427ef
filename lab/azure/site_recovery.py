"""Site Recovery infrastructure for Hyper-V to Azure: fabrics (Hyper-V sites), providers,
protection containers and protectable items.

Bodies follow the recordings field for field (cited per renderer). Replication policies and container
mappings are lab/azure/policies.py's, jobs as clients read them lab/azure/job_routes.py's, protected items
and their actions lab/azure/protected_items.py's.
"""

from __future__ import annotations

from lab.azure import discovery, ids, recovery_services, resources
from lab.azure.arm import Arm, ArmCall, iso
from lab.azure.asr_common import (
    CONTAINER,
    FABRIC,
    VAULT,
    accepted,
    asr_error,
    container_of,
    fabric_of,
    item_response,
    job_fabric,
    job_vault,
    listing,
    page,
    vault_of,
)
from lab.azure.jobs import Job, on_task, renderer, start_job
from lab.azure.state import (
    RECOVERY_CONTAINER_NAME,
    RECOVERY_FABRIC_FRIENDLY_NAME,
    RECOVERY_VMM_ID,
    AzureCloud,
    Fabric,
    VaultAsr,
)
from lab.http import Response

T_FABRIC = "Microsoft.RecoveryServices/vaults/replicationFabrics"
T_PROVIDER = T_FABRIC + "/replicationRecoveryServicesProviders"
T_CONTAINER = T_FABRIC + "/replicationProtectionContainers"
T_PROTECTABLE = T_CONTAINER + "/replicationProtectableItems"
FABRIC_CREATE_TYPES = ("HyperVSite", "FabricSpecificCreationInput")   # the latter: create_fabric.json entry 1


# --- renderers ---

def fabric_json(cloud: AzureCloud, vault: VaultAsr, fabric: Fabric) -> dict:
    """enable_managed_disks.json entry 2."""
    discovery.sync_providers(cloud, vault, fabric)
    health_errors = [_heartbeat_error(provider) for provider in fabric.providers.values()
                     if not discovery.connected(cloud, provider)]
    return {
        "name": fabric.name, "type": T_FABRIC, "id": f"{vault.asr_prefix}/replicationFabrics/{fabric.name}",
        "properties": {
            "friendlyName": fabric.friendly_name,
            "encryptionDetails": {"kekState": "None", "kekCertThumbprint": None},
            "rolloverEncryptionDetails": {"kekState": "None", "kekCertThumbprint": None},
            "internalIdentifier": fabric.internal_id,
            "bcdrState": "Valid",
            "customDetails": {"instanceType": "HyperVSite", "hyperVHosts": [
                {"id": discovery.host_id(p.fqdn), "name": p.fqdn.upper().split(".")[0] + p.fqdn[len(p.fqdn.split(".")[0]):],
                 "marsAgentVersion": p.mars_version} for p in fabric.providers.values()]},
            "healthErrorDetails": health_errors,
            "health": "Normal",   # the recording shows Normal beside a heartbeat error
        },
    }


def _heartbeat_error(provider) -> dict:
    """Recorded next to a provider that stopped reporting (enable_managed_disks.json entry 2)."""
    return {"errorSource": "FabricHealthErrorOnPrimary", "errorType": None, "errorLevel": "Error",
            "errorCategory": "FabricInfrastructure", "errorCode": "708",
            "summaryMessage": "Site Recovery provider heartbeat is missing",
            "errorMessage": "Recovery Services Provider heartbeat missing.",
            "possibleCauses": "Site Recovery provider heartbeat is missing.",
            "recommendedAction": "Ensure that the server is connected to the network and accessible.",
            "creationTimeUtc": iso(provider.last_heartbeat), "recoveryProviderErrorMessage": None,
            "entityId": provider.name}


def provider_json(cloud: AzureCloud, vault: VaultAsr, fabric: Fabric, provider) -> dict:
    """As in the azure-rest-api-specs example ReplicationRecoveryServicesProviders_ListByReplicationFabrics.json."""
    connected = discovery.connected(cloud, provider)
    items = [i for i in fabric.items.values() if i.host.lower() == provider.host.lower()]
    return {
        "id": f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/replicationRecoveryServicesProviders/{provider.name}",
        "name": provider.name, "type": T_PROVIDER,
        "properties": {
            "fabricType": "HyperVSite", "friendlyName": provider.fqdn,
            "providerVersion": provider.version, "serverVersion": "3.5.0.0",
            "providerVersionState": "Latest", "providerVersionExpiryDate": "0001-01-01T00:00:00",
            "fabricFriendlyName": fabric.friendly_name,
            "lastHeartBeat": iso(provider.last_heartbeat),
            "connectionStatus": "Connected" if connected else "NotConnected",
            "protectedItemCount": len(items),
            "allowedScenarios": ["Refresh"] if connected else [],
            "healthErrorDetails": [] if connected else [_heartbeat_error(provider)],
            "draIdentifier": provider.name, "machineId": ids.stable_guid("machine", provider.host),
            "machineName": provider.fqdn, "biosId": ids.stable_guid("bios", provider.host).upper(),
            "authenticationIdentityDetails": None, "resourceAccessIdentityDetails": None,
            "dataPlaneAuthenticationIdentityDetails": None,
            "providerVersionDetails": {"version": provider.version, "expiryDate": None, "status": "Latest"},
        },
    }


def container_json(vault: VaultAsr, fabric: Fabric) -> dict:
    """enable_managed_disks.json entry 3; unpaired: role "" and NotPaired (create_container_mapping.json entry 4)."""
    paired = any(m.state == "Paired" for m in fabric.mappings.values())
    return {
        "id": f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/replicationProtectionContainers/{fabric.container_name}",
        "name": fabric.container_name, "type": T_CONTAINER,
        "properties": {"fabricFriendlyName": fabric.friendly_name, "friendlyName": fabric.friendly_name,
                       "fabricType": "HyperVSite", "protectedItemCount": len(fabric.items),
                       "pairingStatus": "Paired" if paired else "NotPaired", "role": "Primary" if paired else "",
                       "fabricSpecificDetails": None},
    }


def protectable_json(cloud: AzureCloud, vault: VaultAsr, fabric: Fabric, provider, host, vm) -> dict:
    """As recorded: enable_managed_disks.json entries 9 and 11."""
    item = next((i for i in fabric.items.values() if i.vm_id.lower() == vm.id.lower()), None)
    container = f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/replicationProtectionContainers/{fabric.container_name}"
    readiness = discovery.readiness(cloud, vm, protected=item is not None)
    return {
        "id": f"{container}/replicationProtectableItems/{vm.id}", "name": vm.id, "type": T_PROTECTABLE,
        "properties": {
            "friendlyName": vm.name, "protectionStatus": "Protected" if item else "Unprotected",
            "replicationProtectedItemId": f"{container}/replicationProtectedItems/{item.name}" if item else None,
            "recoveryServicesProviderId": (f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/"
                                           f"replicationRecoveryServicesProviders/{provider.name}"),
            "protectionReadinessErrors": readiness["errors"],
            "supportedReplicationProviders": readiness["supported_providers"],
            "customDetails": {
                "instanceType": "HyperVVirtualMachine", "sourceItemId": vm.id, "generation": str(vm.generation),
                "osDetails": None, "diskDetails": discovery.disk_details(vm),
                "hasPhysicalDisk": "NotPresent", "hasFibreChannelAdapter": "NotPresent", "hasSharedVhd": "Unknown",
                "hyperVHostId": discovery.host_id(provider.fqdn),
            },
        },
    }


def affected_objects(vault: VaultAsr, fabric: Fabric | None, vm_id: str = "", vm_name: str = "",
                     profile_id: str = "", kind: str = "vm") -> dict:
    """customDetails.affectedObjectDetails of a job, with the keys each recorded job kind has
    (camelCase since 2021: enable_managed_disks.json entry 14):
    site jobs name the site (create_fabric.json), mapping jobs the two clouds
    (create_container_mapping.json), VM jobs everything; policy jobs have none (create_policy.json)."""
    if kind == "policy":
        return {}
    site = {"primaryVmmId": fabric.internal_id if fabric else "", "primaryVmmName": fabric.friendly_name if fabric else "",
            "primaryFabricProviderId": "HyperVSite"}
    if kind == "site":
        return {"affectedObjectDetails": site}
    clouds = {"primaryCloudId": fabric.container_name, "primaryCloudName": fabric.friendly_name,
              "recoveryCloudId": RECOVERY_CONTAINER_NAME, "recoveryCloudName": RECOVERY_FABRIC_FRIENDLY_NAME,
              **site, "recoveryVmmId": RECOVERY_VMM_ID, "recoveryVmmName": RECOVERY_FABRIC_FRIENDLY_NAME,
              "recoveryFabricProviderId": "Azure"}
    if kind == "mapping":
        return {"affectedObjectDetails": clouds}
    return {"affectedObjectDetails": {"primaryVmId": vm_id, "primaryVmName": vm_name, "recoveryVmId": "",
                                      "recoveryVmName": vm_name, "protectionProfileId": profile_id, **clouds}}


# --- fabrics ---

def list_fabrics(call: ArmCall) -> Response:
    vault = vault_of(call)
    return listing([fabric_json(call.cloud, vault, f) for f in vault.fabrics.values()])


def get_fabric(call: ArmCall) -> Response:
    vault, fabric = fabric_of(call)
    return item_response(fabric_json(call.cloud, vault, fabric))


def add_site(vault: VaultAsr, name: str, internal_id: str | None = None) -> Fabric:
    """The vault's Hyper-V site `name`, added (not yet created: its CreateSite job does that) when missing."""
    fabric = vault.fabrics.get(name.lower())
    if fabric is None:
        fabric = Fabric(name=name, internal_id=internal_id or ids.stable_guid(vault.id, "fabric", name), friendly_name=name)
        vault.fabrics[name.lower()] = fabric
    return fabric


def hyperv_site(cloud: AzureCloud, resource_group: str, vault_name: str, site_name: str, location: str | None = None,
                site_id: str | None = None) -> tuple[VaultAsr, Fabric]:
    """The vault and its Hyper-V site, made at once when missing (with the resource group): what a test's set-up
    through ARM would leave, for the admin API's POST /vault-credentials. ValueError when `site_id` is not the
    existing site's."""
    if cloud.resource_group(resource_group) is None:
        resources.create_group(cloud, resource_group, location or cloud.location)
    vault = cloud.vault(resource_group, vault_name) or recovery_services.create_vault(
        cloud, resource_group, vault_name, location or cloud.location)
    fabric = add_site(vault, site_name, site_id)
    if site_id and fabric.internal_id.lower() != site_id.lower():
        raise ValueError(f"site {fabric.name} of vault {vault.name} has the id {fabric.internal_id}, not {site_id}")
    fabric.created = True
    return vault, fabric


def create_fabric(call: ArmCall) -> Response:
    vault = vault_of(call)
    body = call.require_body()
    instance_type = ((body.get("properties") or {}).get("customDetails") or {}).get("instanceType")
    if instance_type not in FABRIC_CREATE_TYPES:
        raise asr_error(400, "InvalidFabricType", f"Fabric type '{instance_type}' is not supported for this "
                        "operation. Create a Hyper-V site with customDetails.instanceType HyperVSite.", call)
    name = call.params["fabric"]
    fabric = add_site(vault, name)
    job = start_job(call.cloud, vault, "CreateSite", fabric.internal_id, name,
                    details=affected_objects(vault, fabric, kind="site"), fabric=fabric.name)
    return accepted(call, job, call.path, "fabric")


@on_task("CreateSite", "RegisterVmmTask")
def _site_created(cloud: AzureCloud, job: Job) -> None:
    fabric = job_fabric(cloud, job)
    if fabric is not None:
        fabric.created = True


@renderer("fabric")
def _fabric_result(cloud: AzureCloud, job: Job) -> dict | None:
    fabric = job_fabric(cloud, job)
    return fabric_json(cloud, job_vault(cloud, job), fabric) if fabric is not None else None


def remove_fabric(call: ArmCall, purge: bool = False) -> Response:
    vault, fabric = fabric_of(call)
    if fabric.items and not purge:
        raise asr_error(400, "FabricHasProtectedItems", "The site has protected items. Disable replication of every "
                        "virtual machine in the site and try again.", call)
    discovery.sync_providers(call.cloud, vault, fabric)
    if fabric.providers and not purge:
        # A Hyper-V site is deleted "after all hosts have been removed from it" (learn.microsoft.com/azure/
        # site-recovery/site-recovery-manage-registration-and-protection); the error code is the lab's (assumption).
        servers = ", ".join(sorted(p.fqdn for p in fabric.providers.values()))
        raise asr_error(400, "FabricHasRegisteredServers", f"The site '{fabric.name}' still has registered servers: "
                        f"{servers}.", call, "Hyper-V hosts are still registered to the site.",
                        "Delete the servers from the site first, then delete the site.")
    job = start_job(call.cloud, vault, "RemoveSite", fabric.internal_id, fabric.name,
                    details=affected_objects(vault, fabric, kind="site"), fabric=fabric.name)
    return accepted(call, job, call.path.rsplit("/remove", 1)[0])


@on_task("RemoveSite", "RemoveSite")
def _remove_site(cloud: AzureCloud, job: Job) -> None:
    job_vault(cloud, job).fabrics.pop(job.ref.fabric, None)


# --- providers ---

def list_providers(call: ArmCall) -> Response:
    vault, fabric = fabric_of(call)
    discovery.sync_providers(call.cloud, vault, fabric)
    return listing([provider_json(call.cloud, vault, fabric, p) for p in fabric.providers.values()])


def list_vault_providers(call: ArmCall) -> Response:
    vault = vault_of(call)
    out = []
    for fabric in vault.fabrics.values():
        discovery.sync_providers(call.cloud, vault, fabric)
        out.extend(provider_json(call.cloud, vault, fabric, p) for p in fabric.providers.values())
    return listing(out)


def _provider(call: ArmCall):
    vault, fabric = fabric_of(call)
    discovery.sync_providers(call.cloud, vault, fabric)
    provider = next((p for p in fabric.providers.values() if p.name.lower() == call.params["provider"].lower()), None)
    if provider is None:
        raise asr_error(404, "RecoveryServicesProviderNotFound",
                        f"The provider '{call.params['provider']}' was not found.", call)
    return vault, fabric, provider


def get_provider(call: ArmCall) -> Response:
    vault, fabric, provider = _provider(call)
    return item_response(provider_json(call.cloud, vault, fabric, provider))


def refresh_provider(call: ArmCall) -> Response:
    vault, fabric, provider = _provider(call)
    if not discovery.connected(call.cloud, provider):
        raise asr_error(400, "ProviderNotConnected", f"The provider on '{provider.fqdn}' is not connected to the vault.",
                        call, "The Site Recovery provider heartbeat is missing.",
                        "Ensure that the server is connected to the network and accessible.")
    job = start_job(call.cloud, vault, "RefreshProvider", provider.name, provider.fqdn,
                    details=affected_objects(vault, fabric, kind="site"), fabric=fabric.name,
                    params={"provider": provider.host.lower()})
    return accepted(call, job, call.path.rsplit("/refreshProvider", 1)[0], "provider")


def _job_provider(cloud: AzureCloud, job: Job):
    fabric = job_fabric(cloud, job)
    return fabric.providers.get(job.params["provider"]) if fabric is not None else None


@on_task("RefreshProvider", "RefreshDra")
def _refresh_provider(cloud: AzureCloud, job: Job) -> None:
    provider = _job_provider(cloud, job)
    if provider is not None:
        discovery.refresh(cloud, provider)


@renderer("provider")
def _provider_result(cloud: AzureCloud, job: Job) -> dict | None:
    provider = _job_provider(cloud, job)
    return provider_json(cloud, job_vault(cloud, job), job_fabric(cloud, job), provider) if provider else None


def remove_provider(call: ArmCall) -> Response:
    vault, fabric, provider = _provider(call)
    if any(i.host.lower() == provider.host.lower() for i in fabric.items.values()):
        raise asr_error(400, "ProviderHasProtectedItems", f"Virtual machines on '{provider.fqdn}' are still protected. "
                        "Disable their replication first.", call)
    job = start_job(call.cloud, vault, "UnregisterDra", provider.name, provider.fqdn,
                    details=affected_objects(vault, fabric, kind="site"), fabric=fabric.name,
                    params={"provider": provider.host.lower()})
    return accepted(call, job, call.path.rsplit("/remove", 1)[0])


@on_task("UnregisterDra", "UnregisterDra")
def _unregister_provider(cloud: AzureCloud, job: Job) -> None:
    # The service forgets the server; the host keeps its registry until it is cleaned up (Microsoft's cleanup script,
    # learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection).
    provider = _job_provider(cloud, job)
    if provider is not None:
        provider.forced_disconnected = True
        job_fabric(cloud, job).providers.pop(job.params["provider"], None)


# --- containers ---

def list_containers(call: ArmCall) -> Response:
    vault, fabric = fabric_of(call)
    return listing([container_json(vault, fabric)])


def list_vault_containers(call: ArmCall) -> Response:
    vault = vault_of(call)
    return listing([container_json(vault, f) for f in vault.fabrics.values()])


def get_container(call: ArmCall) -> Response:
    vault, fabric = container_of(call)
    return item_response(container_json(vault, fabric))


# --- protectable items ---

def list_protectable(call: ArmCall) -> Response:
    vault, fabric = container_of(call)
    discovery.sync_providers(call.cloud, vault, fabric)
    documents = [protectable_json(call.cloud, vault, fabric, p, h, vm)
                 for p, h, vm in sorted(discovery.registered_vms(call.cloud, fabric), key=lambda e: e[2].id)]
    wanted = _state_filter(call.request.query_value("$filter"))
    if wanted:
        documents = [d for d in documents if d["properties"]["protectionStatus"].lower() == wanted]
    return page(call, documents)


def _state_filter(expression: str | None) -> str | None:
    """`$filter=State eq 'Unprotected'` (SDK list_by_replication_protection_containers)."""
    if expression and "eq" in expression:
        return expression.split("eq", 1)[1].strip().strip("'\"").lower()
    return None


def get_protectable(call: ArmCall) -> Response:
    vault, fabric = container_of(call)
    discovery.sync_providers(call.cloud, vault, fabric)
    found = discovery.find_vm(call.cloud, fabric, call.params["item"])
    if found is None:
        raise asr_error(404, "ProtectableItemNotFound", f"The protectable item '{call.params['item']}' was not found. "
                        "The virtual machine may not be discovered yet.", call)
    return item_response(protectable_json(call.cloud, vault, fabric, *found))


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", VAULT + "/replicationFabrics", list_fabrics)
    add("GET", FABRIC, get_fabric)
    add("PUT", FABRIC, create_fabric)
    add("POST", FABRIC + "/remove", remove_fabric)
    add("DELETE", FABRIC, lambda call: remove_fabric(call, purge=True))
    add("GET", FABRIC + "/replicationRecoveryServicesProviders", list_providers)
    add("GET", VAULT + "/replicationRecoveryServicesProviders", list_vault_providers)
    add("GET", FABRIC + "/replicationRecoveryServicesProviders/{provider}", get_provider)
    add("POST", FABRIC + "/replicationRecoveryServicesProviders/{provider}/refreshProvider", refresh_provider)
    add("POST", FABRIC + "/replicationRecoveryServicesProviders/{provider}/remove", remove_provider)
    add("DELETE", FABRIC + "/replicationRecoveryServicesProviders/{provider}", remove_provider)
    add("GET", FABRIC + "/replicationProtectionContainers", list_containers)
    add("GET", VAULT + "/replicationProtectionContainers", list_vault_containers)
    add("GET", CONTAINER, get_container)
    add("GET", CONTAINER + "/replicationProtectableItems", list_protectable)
    add("GET", CONTAINER + "/replicationProtectableItems/{item}", get_protectable)
