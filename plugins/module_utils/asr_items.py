# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication protected items (replicated Hyper-V VMs) as plain, stable dicts. Pure: no SDK, no I/O.

Input is an item as the service sends it (REST JSON, ``azure_clients.rest_dict`` of an SDK model).
The service's field names changed between api-versions (``azureVMDiskDetails`` in 2017,
``azureVmDiskDetails`` in 2024; ``replicationHealthErrors`` then ``healthErrors``;
asr-recordings/README.md "Differences" 4), and its ``protectionState`` strings differ from the
spec's (same README, "What the recordings settle"). So the lifecycle ``state`` here is decided
from ``allowedOperations``, ``activeLocation`` and ``currentScenario`` only (design.md 3.2):

==================== =======================================================================
state                when
==================== =======================================================================
enabling             the enable-replication job (EnableDr) is running
initial_replication  on the primary side and no failover is allowed yet: the first copy runs
protected            on the primary side and test failover or failover is allowed
test_failover        a test VM exists: TestFailoverCleanup is allowed
in_progress          another job runs on the item (``current_operation`` names it)
failed_over          on the recovery side (Azure) and Commit is allowed
committed            on the recovery side and the failover is committed
==================== =======================================================================

The API: ``normalize_item(item, hosts_by_provider=None) -> dict``, ``lifecycle_state(item)``,
``filter_items(vms, names, hosts, health, states)``, ``summarize(vms)``, ``STATES``.
"""

STATES = ("enabling", "initial_replication", "protected", "test_failover", "in_progress",
          "failed_over", "committed")
HEALTH_VALUES = ("Normal", "Warning", "Critical", "None")
FAILOVER_OPERATIONS = ("TestFailover", "PlannedFailover", "UnplannedFailover")
# currentScenario of an idle item: scenarioName "None", jobId ".../replicationJobs/None",
# startTime 1753-01-01T01:01:01Z (planned_failover.json entry 6; asr-api.md section 5.1).
IDLE_SCENARIOS = (None, "", "None")


def _properties(item):
    return (item or {}).get("properties") or {}


def _details(item):
    return _properties(item).get("providerSpecificDetails") or {}


def _first(mapping, *keys):
    """The first present, non-null value among keys that differ only by api-version casing."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _int(value):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _segment_after(resource_id, collection):
    """The name after ``/{collection}/`` in an ARM id (case-insensitive, ids may say /Subscriptions/)."""
    parts = (resource_id or "").split("/")
    lowered = [part.lower() for part in parts]
    if collection.lower() in lowered:
        index = lowered.index(collection.lower())
        if index + 1 < len(parts):
            return parts[index + 1]
    return None


def current_operation(item):
    """The job running on the item per ``currentScenario`` (name, job_name, job_id, start_time), or None."""
    scenario = _properties(item).get("currentScenario") or {}
    if scenario.get("scenarioName") in IDLE_SCENARIOS:
        return None
    job_id = scenario.get("jobId")
    return {"name": scenario.get("scenarioName"), "job_id": job_id,
            "job_name": _segment_after(job_id, "replicationJobs"), "start_time": scenario.get("startTime")}


def lifecycle_state(item):
    """One of STATES, from allowedOperations, activeLocation and currentScenario (see the module doc)."""
    properties = _properties(item)
    operations = set(properties.get("allowedOperations") or [])
    operation = current_operation(item)
    recovery_side = (properties.get("activeLocation") or "").lower() == "recovery"
    if "TestFailoverCleanup" in operations:
        return "test_failover"
    if operation and operation["name"] == "EnableDr":
        return "enabling"
    if operation and not operations:
        return "in_progress"
    if recovery_side:
        return "failed_over" if "Commit" in operations else "committed"
    if operations & set(FAILOVER_OPERATIONS):
        return "protected"
    return "initial_replication"


def health_errors(item):
    """The item's health errors as [{code, category, severity, message, possible_causes,
    recommended_action, source, created}]: ``healthErrors`` (2021+), else the 2017 pair
    ``replicationHealthErrors`` + ``failoverHealthErrors``."""
    properties = _properties(item)
    errors = properties.get("healthErrors")
    if errors is None:
        errors = (properties.get("replicationHealthErrors") or []) + (properties.get("failoverHealthErrors") or [])
    out = []
    for error in errors or []:
        out.append({
            "code": error.get("errorCode"), "category": error.get("errorCategory"),
            "severity": error.get("errorLevel"),
            "message": error.get("errorMessage") or error.get("summaryMessage"),
            "possible_causes": error.get("possibleCauses"), "recommended_action": error.get("recommendedAction"),
            "source": error.get("errorSource"), "created": error.get("creationTimeUtc"),
        })
    return out


def _disks(details):
    disks = _first(details, "azureVmDiskDetails", "azureVMDiskDetails") or []
    return [{"vhd_id": disk.get("vhdId"), "name": disk.get("vhdName"), "type": disk.get("vhdType"),
             "size_mb": _int(disk.get("maxSizeMB")), "lun": _int(disk.get("lunId"))} for disk in disks]


def _seed_disks(details):
    # Populated in the single GET, empty in the list view (asr-recordings README, "Differences" 4).
    return [{"disk_id": disk.get("diskId"), "seed_managed_disk_id": disk.get("seedManagedDiskId"),
             "replica_disk_type": disk.get("replicaDiskType"),
             "target_disk_type": disk.get("targetDiskAccountType")}
            for disk in details.get("protectedManagedDisks") or []]


def _initial_replication(details, state):
    ir = details.get("initialReplicationDetails") or {}
    reported = _int(ir.get("initialReplicationProgressPercentage"))
    completed = state not in ("enabling", "initial_replication")
    # The service keeps reporting "0" after the first copy finished (asr-api.md section 5.3, a
    # Protected item), so a completed copy is 100 whatever the field says.
    return {"type": ir.get("initialReplicationType"), "completed": completed,
            "progress_percent": 100 if completed else reported}


def normalize_item(item, hosts_by_provider=None):
    """One replicated VM as a flat dict (the element of replication_info's ``vms``).

    ``hosts_by_provider`` maps a provider's ARM id (any casing) to its host's name; without it,
    ``host`` is None.
    """
    properties = _properties(item)
    details = _details(item)
    state = lifecycle_state(item)
    provider_id = properties.get("recoveryServicesProviderId")
    hosts = dict(((key or "").lower(), value) for key, value in (hosts_by_provider or {}).items())
    item_id = item.get("id")
    use_managed = details.get("useManagedDisks")
    return {
        "name": item.get("name"), "id": item_id,
        "vm_name": properties.get("friendlyName"),
        "vm_id": details.get("vmId") or item.get("name"),
        "host": hosts.get((provider_id or "").lower()),
        "site": _segment_after(item_id, "replicationFabrics"),
        "container": _segment_after(item_id, "replicationProtectionContainers"),
        "policy": properties.get("policyFriendlyName") or _segment_after(properties.get("policyId"), "replicationPolicies"),
        "state": state,
        "protection_state": properties.get("protectionState"),
        "protection_state_description": properties.get("protectionStateDescription"),
        "health": properties.get("replicationHealth"),
        "failover_health": properties.get("failoverHealth"),
        "errors": health_errors(item),
        "initial_replication": _initial_replication(details, state),
        "rpo_seconds": _int(details.get("rpoInSeconds")),
        "last_replication_time": details.get("lastReplicatedTime"),
        "last_recovery_point_time": details.get("lastRecoveryPointReceived"),
        "active_location": properties.get("activeLocation"),
        "test_failover": {"state": properties.get("testFailoverState"),
                          "description": properties.get("testFailoverStateDescription"),
                          "last_success_time": properties.get("lastSuccessfulTestFailoverTime")},
        "last_failover_time": properties.get("lastSuccessfulFailoverTime"),
        "current_operation": current_operation(item),
        "allowed_operations": list(properties.get("allowedOperations") or []),
        "disks": _disks(details),
        "seed_disks": _seed_disks(details),
        "target": {
            "vm_name": _first(details, "recoveryAzureVmName", "recoveryAzureVMName"),
            "vm_size": details.get("recoveryAzureVMSize"),
            "resource_group_id": details.get("recoveryAzureResourceGroupId") or None,
            "network_id": details.get("selectedRecoveryAzureNetworkId") or None,
            "storage_account_id": details.get("recoveryAzureStorageAccount") or None,
            "log_storage_account_id": details.get("recoveryAzureLogStorageAccountId") or None,
            # A string "true"/"false" in every recording.
            "use_managed_disks": str(use_managed).lower() == "true" if use_managed is not None else None,
        },
    }


def _short(name):
    return (name or "").split(".")[0].lower()


def filter_items(vms, names=None, hosts=None, health=None, states=None):
    """The normalised VMs matching every given filter (each a list; empty or None = any).

    names: VM name, item name or VM id, case-insensitive. hosts: host FQDN or its first label.
    health: replicationHealth values. states: STATES values.
    """
    wanted_names = set(name.lower() for name in names or [])
    wanted_hosts = set(_short(host) for host in hosts or [])
    wanted_health = set(value.lower() for value in health or [])
    wanted_states = set(states or [])
    out = []
    for vm in vms:
        if wanted_names and not wanted_names & set((value or "").lower() for value in (vm["vm_name"], vm["name"], vm["vm_id"])):
            continue
        if wanted_hosts and _short(vm["host"]) not in wanted_hosts:
            continue
        if wanted_health and (vm["health"] or "None").lower() not in wanted_health:
            continue
        if wanted_states and vm["state"] not in wanted_states:
            continue
        out.append(vm)
    return out


def summarize(vms):
    """Counts: {total, by_state: {state: n}, by_health: {health: n}, with_errors: n}; every state key present."""
    by_state = dict((state, 0) for state in STATES)
    by_health = {}
    with_errors = 0
    for vm in vms:
        by_state[vm["state"]] = by_state.get(vm["state"], 0) + 1
        health = vm["health"] or "None"
        by_health[health] = by_health.get(health, 0) + 1
        with_errors += 1 if vm["errors"] else 0
    return {"total": len(vms), "by_state": by_state, "by_health": by_health, "with_errors": with_errors}
