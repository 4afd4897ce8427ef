# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication protected items (replicated Hyper-V VMs) as plain, stable dicts. Pure: no SDK, no I/O.

Input is an item as the service sends it (REST JSON, as ``asr_api`` reads it: ``azure_clients.raw_get``),
optionally with the job its ``currentScenario`` names attached under ``SCENARIO_JOB_KEY`` by
``asr_api.with_scenario_job`` (the service does not say in the item whether that job still runs).
The service's field names changed between api-versions (``azureVMDiskDetails`` in 2017,
``azureVmDiskDetails`` in 2024; ``replicationHealthErrors`` then ``healthErrors``;
tests/fixtures/asr-recordings/README.md "Differences" 4), and its ``protectionState`` strings differ from the
spec's (same README, "What the recordings settle"). So the lifecycle ``state`` here is decided
from ``allowedOperations``, ``activeLocation``, ``currentScenario`` and its job, and the item's
health:

==================== =======================================================================
state                when
==================== =======================================================================
enabling             the enable-replication job (EnableDr) is running
initial_replication  on the primary side and no failover is allowed yet: the first copy runs
failed               the enable job failed, or replication stopped with a critical health
                     error before the first copy finished (``failure`` says why and what to do)
protected            on the primary side and test failover or failover is allowed
test_failover        a test VM exists, or a failed test failover awaits its clean-up:
                     TestFailoverCleanup is allowed
in_progress          another job runs on the item (``current_operation`` names it)
failed_over          on the recovery side (Azure) and Commit is allowed
committed            on the recovery side and the failover is committed
==================== =======================================================================

A job is running when its state is NotStarted or InProgress. ``allowedOperations`` says nothing
about it: no recording shows an item read while a job runs, and the service may keep operations
such as DisableProtection listed then. When the job could not be read, an item whose
``currentScenario`` names a job counts as busy, except the TestFailover scenario that stays
after a finished test failover (TestFailoverCleanup allowed).

The API: ``normalize_item(item, hosts_by_provider=None) -> dict``, ``lifecycle_state(item)``,
``failure(item)``, ``scenario_running(item)``, ``job_error(job)``,
``filter_items(vms, names, hosts, health, states)``, ``summarize(vms)``, ``STATES``.
"""

STATES = ("enabling", "initial_replication", "failed", "protected", "test_failover", "in_progress",
          "failed_over", "committed")
# Where asr_api.with_scenario_job puts the job currentScenario names (REST JSON), or None when it is gone.
SCENARIO_JOB_KEY = "currentScenarioJob"
# Job states (the SDK's JobProperties.state): NotStarted and InProgress run; the others are final for a wait.
RUNNING_JOB_STATES = ("NotStarted", "InProgress")
FAILED_JOB_STATES = ("Failed", "Cancelled", "Suspended")
# protectionState names of failed enables and initial replications (the Microsoft.DataReplication enum
# ASR's strings match: azure-mgmt-recoveryservicesdatareplication ProtectionState); read as a hint besides the job and the health.
FAILED_PROTECTION_STATES = ("EnablingFailed", "InitialReplicationFailed")
HEALTH_VALUES = ("Normal", "Warning", "Critical", "None")
FAILOVER_OPERATIONS = ("TestFailover", "PlannedFailover", "UnplannedFailover")
# currentScenario of an idle item: scenarioName "None", jobId ".../replicationJobs/None",
# startTime 1753-01-01T01:01:01Z (planned_failover.json entry 6; Azure/azure-rest-api-specs ReplicationProtectedItems_Get.json).
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


def _scenario_job(item):
    """(read, job): whether the scenario's job was read, and the job (None when it no longer exists)."""
    item = item or {}
    if SCENARIO_JOB_KEY not in item:
        return False, None
    return True, item[SCENARIO_JOB_KEY]


def _job_state(job):
    return ((job or {}).get("properties") or {}).get("state")


def current_operation(item):
    """The operation per ``currentScenario`` (name, job_name, job_id, start_time, job_state), or None.

    ``job_state`` is the state of the scenario's job when it was read (asr_api.with_scenario_job), else None.
    """
    scenario = _properties(item).get("currentScenario") or {}
    if scenario.get("scenarioName") in IDLE_SCENARIOS:
        return None
    job_id = scenario.get("jobId")
    job_name = _segment_after(job_id, "replicationJobs")
    if (job_name or "").lower() == "none":
        return None
    return {"name": scenario.get("scenarioName"), "job_id": job_id, "job_name": job_name,
            "start_time": scenario.get("startTime"), "job_state": _job_state(_scenario_job(item)[1])}


def scenario_running(item):
    """Whether the job ``currentScenario`` names still runs (see the module doc for an unread job)."""
    operation = current_operation(item)
    if operation is None:
        return False
    read, job = _scenario_job(item)
    if read:
        return _job_state(job) in RUNNING_JOB_STATES
    if operation["name"] == "TestFailover" and "TestFailoverCleanup" in (_properties(item).get("allowedOperations") or []):
        return False
    return True


def job_error(job):
    """The first error of a job or of one of its tasks as {code, message, possible_causes, recommended_action},
    or None: ``serviceErrorDetails`` first, ``providerErrorDetails`` when the service's are empty
    (enable_managed_disks.json entry 14; the 70094/31389 pair of MicrosoftDocs/azure-docs#68695)."""
    properties = (job or {}).get("properties") or {}
    errors = list(properties.get("errors") or [])
    for task in properties.get("tasks") or []:
        errors.extend(task.get("errors") or [])
    for error in errors:
        service = error.get("serviceErrorDetails") or {}
        provider = error.get("providerErrorDetails") or {}
        code = service.get("code") or (str(provider["errorCode"]) if provider.get("errorCode") else None)
        message = service.get("message") or provider.get("errorMessage")
        if provider.get("errorCode") and service.get("code"):
            message = "%s (provider error %s: %s)" % (message, provider["errorCode"], provider.get("errorMessage") or "")
        if code or message:
            return {"code": code, "message": message,
                    "possible_causes": service.get("possibleCauses") or provider.get("possibleCauses"),
                    "recommended_action": service.get("recommendedAction") or provider.get("recommendedAction")}
    return None


def _serious(error):
    return (error.get("severity") or "").lower() in ("error", "critical")


def failure(item):
    """Why the item's enable or initial replication failed, or None.

    {reason, code, message, possible_causes, recommended_action, job}: ``reason`` is "enable_job_failed"
    (the EnableDr job currentScenario names ended Failed, Cancelled or Suspended), "protection_failed"
    (protectionState EnablingFailed / InitialReplicationFailed) or "replication_critical" (health Critical
    with an error, on the primary side, before any failover is allowed); ``job`` is the failed job's name.
    """
    properties = _properties(item)
    operations = set(properties.get("allowedOperations") or [])
    operation = current_operation(item)
    _read, job = _scenario_job(item)
    errors = health_errors(item)
    serious = [error for error in errors if _serious(error)] or errors
    first = serious[0] if serious else {}
    from_health = {"code": first.get("code"), "message": first.get("message"),
                   "possible_causes": first.get("possible_causes"), "recommended_action": first.get("recommended_action")}
    if operation and operation["name"] == "EnableDr" and _job_state(job) in FAILED_JOB_STATES:
        found = job_error(job) or from_health
        if not found.get("message"):
            found["message"] = "the enable-replication job ended %s" % _job_state(job)
        return dict(found, reason="enable_job_failed", job=operation["job_name"])
    recovery_side = (properties.get("activeLocation") or "").lower() == "recovery"
    if recovery_side or operations & set(FAILOVER_OPERATIONS) or "TestFailoverCleanup" in operations:
        return None
    states = (properties.get("protectionState"), _details(item).get("vmProtectionState"))
    if any(state in FAILED_PROTECTION_STATES for state in states):
        return dict(from_health, reason="protection_failed", job=None)
    if (properties.get("replicationHealth") or "").lower() == "critical" and serious:
        return dict(from_health, reason="replication_critical", job=None)
    return None


def lifecycle_state(item):
    """One of STATES (see the module doc)."""
    properties = _properties(item)
    operations = set(properties.get("allowedOperations") or [])
    operation = current_operation(item)
    running = scenario_running(item)
    recovery_side = (properties.get("activeLocation") or "").lower() == "recovery"
    if "TestFailoverCleanup" in operations and not running:
        return "test_failover"
    if running:
        return "enabling" if operation["name"] == "EnableDr" else "in_progress"
    if failure(item):
        return "failed"
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
    completed = state not in ("enabling", "initial_replication", "failed")
    # The service keeps reporting "0" after the first copy finished (observed in
    # Azure PowerShell's recorded UpdateRPIWithMangedDisksForReplication test, on a Protected item), so a
    # completed copy is 100 whatever the field says.
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
        "failure": failure(item),
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
