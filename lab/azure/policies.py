"""Site Recovery replication policies and their association with a Hyper-V site's protection container
(container mappings): create, update, delete and list, each a job (lab/azure/jobs.py).

Bodies follow the recordings field for field (cited per renderer).
"""
from __future__ import annotations

import dataclasses
import re

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall
from lab.azure.asr_common import (
    CONTAINER,
    VAULT,
    accepted,
    asr_error,
    container_of,
    item_response,
    job_fabric,
    job_vault,
    listing,
    vault_of,
)
from lab.azure.jobs import Job, on_job_done, on_task, renderer, start_job
from lab.azure.site_recovery import T_CONTAINER, affected_objects
from lab.azure.state import RECOVERY_CONTAINER_NAME, RECOVERY_FABRIC_FRIENDLY_NAME, AzureCloud, Fabric, Mapping, Policy, VaultAsr
from lab.http import Response

T_MAPPING = T_CONTAINER + "/replicationProtectionContainerMappings"
T_POLICY = "Microsoft.RecoveryServices/vaults/replicationPolicies"
# Policy names the service keeps (an assumption: the rule is not published; these are the names the portal and
# Azure PowerShell create): no character that needs URL encoding.
POLICY_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$")
POLICY_INTERVALS = (30, 300, 900)     # New-AzRecoveryServicesAsrPolicy -ReplicationFrequencyInSeconds (ValidateSet)


# --- renderers ---

def mapping_json(vault: VaultAsr, fabric: Fabric, mapping: Mapping) -> dict:
    """enable_managed_disks.json entry 4."""
    return {
        "id": (f"{vault.asr_prefix}/replicationFabrics/{fabric.name}/replicationProtectionContainers/"
               f"{fabric.container_name}/replicationProtectionContainerMappings/{mapping.name}"),
        "name": mapping.name, "type": T_MAPPING,
        "properties": {
            "targetProtectionContainerId": RECOVERY_FABRIC_FRIENDLY_NAME,
            "targetProtectionContainerFriendlyName": RECOVERY_FABRIC_FRIENDLY_NAME,
            "providerSpecificDetails": None, "health": "Normal", "healthErrorDetails": [],
            "policyId": f"{vault.asr_prefix}/replicationPolicies/{mapping.policy_name}",
            "state": mapping.state,
            "sourceProtectionContainerFriendlyName": fabric.friendly_name,
            "sourceFabricFriendlyName": fabric.friendly_name,
            "targetFabricFriendlyName": RECOVERY_FABRIC_FRIENDLY_NAME,
            "policyFriendlyName": mapping.policy_name,
        },
    }


def policy_json(vault: VaultAsr, policy: Policy) -> dict:
    """enable_managed_disks.json entry 7."""
    return {
        "id": f"{vault.asr_prefix}/replicationPolicies/{policy.name}", "name": policy.name, "type": T_POLICY,
        "properties": {"friendlyName": policy.name, "providerSpecificDetails": {
            "instanceType": "HyperVReplicaAzure",
            "recoveryPointHistoryDurationInHours": policy.history_hours,
            "applicationConsistentSnapshotFrequencyInHours": policy.app_consistent_hours,
            "replicationInterval": policy.interval_s,
            "encryption": "Disabled",
            "activeStorageAccountId": policy.storage_accounts[0] if policy.storage_accounts else None}},
    }


# --- policies ---

def list_policies(call: ArmCall) -> Response:
    vault = vault_of(call)
    return listing([policy_json(vault, p) for p in vault.policies.values()])


def _policy(call: ArmCall) -> tuple[VaultAsr, Policy]:
    vault = vault_of(call)
    policy = vault.policies.get(call.params["policy"].lower())
    if policy is None:
        raise asr_error(404, "PolicyNotFound", f"The replication policy '{call.params['policy']}' was not found.", call,
                        "The policy does not exist.", "Check the policy name and try again.")
    return vault, policy


def get_policy(call: ArmCall) -> Response:
    vault, policy = _policy(call)
    return item_response(policy_json(vault, policy))


def _policy_settings(call: ArmCall, settings: dict, policy: Policy, update: bool = False) -> None:
    if settings.get("instanceType") != "HyperVReplicaAzure":
        raise asr_error(400, "InvalidReplicationProvider", f"Replication provider '{settings.get('instanceType')}' "
                        "is not valid here. Use HyperVReplicaAzure for Hyper-V to Azure.", call)
    checks = (("recoveryPointHistoryDuration", 0, 24, "history_hours"),        # azure-docs#66195: max 24 h
              ("applicationConsistentSnapshotFrequencyInHours", 0, 12, "app_consistent_hours"))   # Terraform: 0-12
    for field_name, low, high, attribute in checks:
        if settings.get(field_name) is not None:
            value = settings[field_name]
            if not isinstance(value, int) or not low <= value <= high:
                raise asr_error(400, "InvalidPolicyParameter", f"The value {value!r} of {field_name} is not valid. "
                                f"Specify a whole number from {low} to {high}.", call)
            setattr(policy, attribute, value)
    given_app = settings.get("applicationConsistentSnapshotFrequencyInHours") is not None
    if not given_app and settings.get("recoveryPointHistoryDuration") is not None and not update:
        # A new policy that leaves the frequency out gets the lab's default, never more than its own retention.
        policy.app_consistent_hours = min(policy.app_consistent_hours, policy.history_hours)
    if policy.app_consistent_hours and policy.app_consistent_hours > policy.history_hours:
        # HyperVReplicaAzurePolicyInput: application-consistent snapshots are taken within the recovery points
        # kept; one less often than the retention would never be kept (the portal offers no larger value).
        raise asr_error(400, "InvalidPolicyParameter", "The application consistent snapshot frequency "
                        f"({policy.app_consistent_hours} hours) must be less than or equal to the recovery point "
                        f"retention ({policy.history_hours} hours).", call)
    if settings.get("replicationInterval") is not None:
        if settings["replicationInterval"] not in POLICY_INTERVALS:
            raise asr_error(400, "InvalidReplicationInterval", f"The replication interval "
                            f"{settings['replicationInterval']!r} is not valid. Use 30, 300 or 900 seconds.", call)
        policy.interval_s = settings["replicationInterval"]
    if "onlineReplicationStartTime" in settings:
        policy.online_start = settings["onlineReplicationStartTime"]
    if settings.get("storageAccounts") is not None:
        policy.storage_accounts = list(settings["storageAccounts"])


def create_policy(call: ArmCall, update: bool = False) -> Response:
    vault = vault_of(call)
    body = call.require_body()
    properties = body.get("properties") or {}
    settings = properties.get("replicationProviderSettings" if update else "providerSpecificInput") or {}
    name = call.params["policy"]
    if not update and not POLICY_NAME.match(name):
        raise asr_error(400, "InvalidPolicyName", f"The replication policy name '{name}' is not valid. Use 1 to 64 "
                        "letters, digits, '-' and '_', starting and ending with a letter or digit.", call)
    existing = vault.policies.get(name.lower())
    if update and existing is None:
        raise asr_error(404, "PolicyNotFound", f"The replication policy '{name}' was not found.", call)
    policy = Policy(**vars(existing)) if existing else Policy(name=name, profile_id=ids.stable_guid(vault.id, "policy", name))
    _policy_settings(call, settings, policy, update=existing is not None)
    job = start_job(call.cloud, vault, "AddProtectionProfile", policy.profile_id, name,
                    details=affected_objects(vault, None, kind="policy"), params={"policy": dataclasses.asdict(policy)})
    return accepted(call, job, call.path, "policy")


def _job_policy(job: Job) -> Policy:
    """The policy as the job stores it (the request's settings), not yet or no longer the vault's."""
    return Policy(**{**job.params["policy"], "storage_accounts": list(job.params["policy"]["storage_accounts"])})


@on_task("AddProtectionProfile", "AddProtectionProfileTask")
def _store_policy(cloud: AzureCloud, job: Job) -> None:
    policy = _job_policy(job)
    job_vault(cloud, job).policies[policy.name.lower()] = policy


@renderer("policy")
def _policy_result(cloud: AzureCloud, job: Job) -> dict | None:
    vault = job_vault(cloud, job)
    name = job.params["policy"]["name"].lower()
    return policy_json(vault, vault.policies.get(name) or _job_policy(job))


def update_policy(call: ArmCall) -> Response:
    return create_policy(call, update=True)


def delete_policy(call: ArmCall) -> Response:
    vault, policy = _policy(call)
    in_use = [m for f in vault.fabrics.values() for m in f.mappings.values() if m.policy_name.lower() == policy.name.lower()]
    if in_use:
        raise asr_error(400, "PolicyInUse", f"The replication policy '{policy.name}' is associated with a protection "
                        "container. Dissociate it first.", call)
    job = start_job(call.cloud, vault, "RemoveProtectionProfile", policy.profile_id, policy.name,
                    details=affected_objects(vault, None, kind="policy"), params={"policy": policy.name.lower()})
    return accepted(call, job, call.path)


@on_task("RemoveProtectionProfile", "RemoveProtectionProfileTask")
def _remove_policy(cloud: AzureCloud, job: Job) -> None:
    job_vault(cloud, job).policies.pop(job.params["policy"], None)


# --- container mappings ---

def list_mappings(call: ArmCall) -> Response:
    vault, fabric = container_of(call)
    return listing([mapping_json(vault, fabric, m) for m in fabric.mappings.values()])


def list_vault_mappings(call: ArmCall) -> Response:
    vault = vault_of(call)
    return listing([mapping_json(vault, f, m) for f in vault.fabrics.values() for m in f.mappings.values()])


def _mapping(call: ArmCall):
    vault, fabric = container_of(call)
    mapping = fabric.mappings.get(call.params["mapping"].lower())
    if mapping is None:
        raise asr_error(404, "ProtectionContainerMappingNotFound",
                        f"The protection container mapping '{call.params['mapping']}' was not found.", call)
    return vault, fabric, mapping


def get_mapping(call: ArmCall) -> Response:
    vault, fabric, mapping = _mapping(call)
    return item_response(mapping_json(vault, fabric, mapping))


def create_mapping(call: ArmCall) -> Response:
    vault, fabric = container_of(call)
    properties = call.require_body().get("properties") or {}
    # PowerShell sends "PolicyId" with a capital P (create_container_mapping.json entry 5).
    policy_id = properties.get("policyId") or properties.get("PolicyId") or ""
    policy = vault.policies.get(ids.last_segment(policy_id).lower()) if policy_id else None
    in_vault = policy_id.lower().startswith(vault.id.lower() + "/replicationpolicies/")
    if policy is None or not in_vault:
        raise asr_error(400, "InvalidPolicyId", f"The replication policy '{policy_id}' was not found in this vault.", call)
    target = properties.get("targetProtectionContainerId")
    if target not in (RECOVERY_FABRIC_FRIENDLY_NAME, None) and ids.last_segment(str(target)) != RECOVERY_CONTAINER_NAME:
        raise asr_error(400, "InvalidTargetProtectionContainer", f"The target protection container '{target}' is not "
                        "valid for Hyper-V to Azure. Use \"Microsoft Azure\".", call)
    name = call.params["mapping"]
    mapping = fabric.mappings.get(name.lower()) or Mapping(name=name, policy_name=policy.name, state="Pairing")
    fabric.mappings[name.lower()] = mapping
    job = start_job(call.cloud, vault, "AssociateProtectionProfile", policy.profile_id, policy.name,
                    details=affected_objects(vault, fabric, kind="mapping"), fabric=fabric.name,
                    params={"mapping": name.lower()})
    return accepted(call, job, call.path, "mapping")


@on_task("AssociateProtectionProfile", "CloudPairingPairClouds")
def _pair(cloud: AzureCloud, job: Job) -> None:
    fabric = job_fabric(cloud, job)
    mapping = fabric.mappings.get(job.params["mapping"]) if fabric is not None else None
    if mapping is not None:
        mapping.state = "Paired"


@on_job_done("AssociateProtectionProfile")
def _pairing_done(cloud: AzureCloud, job: Job) -> None:
    fabric = job_fabric(cloud, job)
    if job.state == "Failed" and fabric is not None:
        fabric.mappings.pop(job.params["mapping"], None)


@renderer("mapping")
def _mapping_result(cloud: AzureCloud, job: Job) -> dict | None:
    fabric = job_fabric(cloud, job)
    mapping = fabric.mappings.get(job.params["mapping"]) if fabric is not None else None
    return mapping_json(job_vault(cloud, job), fabric, mapping) if mapping is not None else None


def remove_mapping(call: ArmCall, purge: bool = False) -> Response:
    vault, fabric, mapping = _mapping(call)
    if fabric.items and not purge and len(fabric.mappings) == 1:
        raise asr_error(400, "ContainerHasProtectedItems", "Virtual machines in the container are protected with this "
                        "policy. Disable their replication first.", call)
    policy = vault.policies.get(mapping.policy_name.lower())
    job = start_job(call.cloud, vault, "DissociateProtectionProfile", policy.profile_id if policy else "",
                    mapping.policy_name, details=affected_objects(vault, fabric, kind="mapping"), fabric=fabric.name,
                    params={"mapping": mapping.name.lower()})
    return accepted(call, job, call.path.rsplit("/remove", 1)[0])


@on_task("DissociateProtectionProfile", "CloudUnpairing")
def _unpair(cloud: AzureCloud, job: Job) -> None:
    fabric = job_fabric(cloud, job)
    if fabric is not None:
        fabric.mappings.pop(job.params["mapping"], None)


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", VAULT + "/replicationPolicies", list_policies)
    add("GET", VAULT + "/replicationPolicies/{policy}", get_policy)
    add("PUT", VAULT + "/replicationPolicies/{policy}", create_policy)
    add("PATCH", VAULT + "/replicationPolicies/{policy}", update_policy)
    add("DELETE", VAULT + "/replicationPolicies/{policy}", delete_policy)
    add("GET", CONTAINER + "/replicationProtectionContainerMappings", list_mappings)
    add("GET", VAULT + "/replicationProtectionContainerMappings", list_vault_mappings)
    add("GET", CONTAINER + "/replicationProtectionContainerMappings/{mapping}", get_mapping)
    add("PUT", CONTAINER + "/replicationProtectionContainerMappings/{mapping}", create_mapping)
    add("POST", CONTAINER + "/replicationProtectionContainerMappings/{mapping}/remove", remove_mapping)
    add("DELETE", CONTAINER + "/replicationProtectionContainerMappings/{mapping}",
        lambda call: remove_mapping(call, purge=True))
