# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Where a replicated Hyper-V VM (a protected item) is in its lifecycle, and what comes next. Pure: no SDK, no I/O.

Input is an item as the service sends it (REST JSON, as ``_asr.api`` reads it: ``_azure_clients.raw_get``),
optionally with the job its ``currentScenario`` names attached under ``SCENARIO_JOB_KEY`` by
``_asr.api.with_scenario_job`` (the service does not say in the item whether that job still runs).
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

Every decision reads the item once (``_situation``): ``lifecycle_state`` (one of ``STATES``, what the info
modules report), ``migration_position`` (where a migration stands, a running failover, commit or completion
counted as done), and the next steps ``test_failover_step``, ``migration_step``, and the plans ``test_failover_plan``
and ``migration_plan`` (the steps check mode reports and the real run takes). Also ``failure(item)``, ``scenario_running(item)``,
``running_job(item)``, ``current_operation(item)``, ``health_errors(item)`` and ``job_error(job)``.
"""

from __future__ import annotations

import collections

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import (
    lowered,
    name_in_id,
    properties_of,
    provider_details,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import (
    FAILED_JOB_STATES,
    FAILED_PROTECTION_STATES,
    FAILOVER_OPERATIONS,
    IDLE_SCENARIOS,
    RUNNING_JOB_STATES,
    SCENARIO_JOB_KEY,
)


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

    ``job_state`` is the state of the scenario's job when it was read (_asr.api.with_scenario_job), else None.
    """
    scenario = properties_of(item).get("currentScenario") or {}
    if scenario.get("scenarioName") in IDLE_SCENARIOS:
        return None
    job_id = scenario.get("jobId")
    job_name = name_in_id(job_id, "replicationJobs")
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
    if operation["name"] == "TestFailover" and "TestFailoverCleanup" in (properties_of(item).get("allowedOperations") or []):
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
            message = f"{message} (provider error {provider['errorCode']}: {provider.get('errorMessage') or ''})"
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
    properties = properties_of(item)
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
            found["message"] = f"the enable-replication job ended {_job_state(job)}"
        return dict(found, reason="enable_job_failed", job=operation["job_name"])
    recovery_side = (properties.get("activeLocation") or "").lower() == "recovery"
    if recovery_side or operations & set(FAILOVER_OPERATIONS) or "TestFailoverCleanup" in operations:
        return None
    states = (properties.get("protectionState"), provider_details(item).get("vmProtectionState"))
    if any(state in FAILED_PROTECTION_STATES for state in states):
        return dict(from_health, reason="protection_failed", job=None)
    if (properties.get("replicationHealth") or "").lower() == "critical" and serious:
        return dict(from_health, reason="replication_critical", job=None)
    return None


class _Situation(collections.namedtuple("_Situation", "operations operation running on_recovery_side")):
    """What every decision about an item reads, read once: the allowed operations (a set), the operation
    ``currentScenario`` names (``current_operation``), whether its job runs, and whether the item is on the
    recovery (Azure) side."""


def _situation(item):
    properties = properties_of(item)
    return _Situation(operations=set(properties.get("allowedOperations") or []), operation=current_operation(item),
                      running=scenario_running(item),
                      on_recovery_side=lowered(properties.get("activeLocation")) == "recovery")


def _recovery_side_state(situation):
    """failed_over or committed: where an item on the recovery side settled (Commit still allowed or not)."""
    return "failed_over" if "Commit" in situation.operations else "committed"


def lifecycle_state(item):
    """One of STATES (see the module doc)."""
    situation = _situation(item)
    if "TestFailoverCleanup" in situation.operations and not situation.running:
        return "test_failover"
    if situation.running:
        return "enabling" if situation.operation["name"] == "EnableDr" else "in_progress"
    if failure(item):
        return "failed"
    if situation.on_recovery_side:
        return _recovery_side_state(situation)
    if situation.operations & set(FAILOVER_OPERATIONS):
        return "protected"
    return "initial_replication"


def health_errors(item):
    """The item's health errors as [{code, category, severity, message, possible_causes,
    recommended_action, source, created}]: ``healthErrors`` (2021+), else the 2017 pair
    ``replicationHealthErrors`` + ``failoverHealthErrors``."""
    properties = properties_of(item)
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


def running_job(item):
    """The job name of the operation running on the item, or None.

    Busy means the job ``currentScenario`` names is NotStarted or InProgress (``_asr.lifecycle.scenario_running``,
    from the job attached by ``_asr.api.with_scenario_job``), not that ``allowedOperations`` is empty: the
    service may keep operations such as DisableProtection listed during a job. After a test failover the
    scenario stays TestFailover while the item allows TestFailoverCleanup: a state to act on, not a job.
    """
    if not scenario_running(item):
        return None
    return current_operation(item)["job_name"]


def _failed_test_failover(item):
    """Whether the item's test failover failed and left a clean-up to do (its TestFailover job failed, or
    testFailoverState says so)."""
    operation = current_operation(item) or {}
    if operation.get("name") == "TestFailover" and operation.get("job_state") in FAILED_JOB_STATES:
        return True
    return lowered(properties_of(item).get("testFailoverState")) == "failed"


def test_failover_step(item, state):
    """("wait", job) | ("test_failover", None) | ("cleanup", None) | ("done", None) | ("blocked", reason).

    state: "present" (a test VM should exist) or "absent" (no test VM should exist).
    """
    job = running_job(item)
    if job:
        return "wait", job
    situation = _situation(item)
    operations = situation.operations
    if state == "absent":
        return ("cleanup", None) if "TestFailoverCleanup" in operations else ("done", None)
    if "TestFailoverCleanup" in operations:
        # A failed test failover also leaves a clean-up to do, but no test VM: clean up, then try again.
        return ("cleanup", None) if _failed_test_failover(item) else ("done", None)
    problem = failure(item)
    if problem:
        return "blocked", "replication failed (%s), so no test failover is possible: %s" % (
            problem.get("code") or problem["reason"], problem.get("message") or "see the vault's health errors")
    if "TestFailover" in operations:
        return "test_failover", None
    if situation.on_recovery_side:
        return "blocked", "the VM has already failed over to Azure; test migration is for VMs that still run on Hyper-V"
    return "blocked", ("Azure does not allow a test failover now (allowed operations: %s): initial replication has not "
                       "finished" % (", ".join(sorted(operations)) or "none"))


def _test_failover_after_job(item: dict) -> bool:
    """Whether a test failover (a test VM, or one to clean up) is there once the item's running job has ended, assuming
    it succeeds: a test failover leaves one, its clean-up none, and any other job leaves the item as it lists now."""
    scenario = lowered((current_operation(item) or {}).get("name"))
    if scenario == "testfailover":
        return True
    if scenario == "testfailovercleanup":
        return False
    return "TestFailoverCleanup" in _situation(item).operations


def test_failover_plan(item: dict, state: str, network_difference: str | None = None,
                       restart_if_different: bool = False) -> list[tuple[str, str | None]]:
    """The steps a test migration to ``state`` (present | absent) would take from the item's situation, assuming each
    succeeds (what check mode reports, and what the real run takes, reading the item again before each): [(step,
    detail)], [] when the VM is as asked, [("blocked", reason)] when it can't get there.

    A running job comes first as ("wait", job). Then ("cleanup", why) - why is None for state=absent, else the
    failed test failover or ``network_difference`` - and ("test_failover", None). ``network_difference`` says that the
    test VM runs in another network than asked (``_asr.validation.running_test_vm_difference``): with
    ``restart_if_different`` it is cleaned up and tested again, else the plan is blocked. A failed test failover
    (Azure asks for its clean-up, but no test VM runs) is cleaned up and tried again.
    """
    step, detail = test_failover_step(item, state)
    if step == "blocked":
        return [(step, detail)]
    if step == "wait":
        plan, testing, failed = [(step, detail)], _test_failover_after_job(item), False
    else:
        plan, testing = [], "TestFailoverCleanup" in _situation(item).operations
        failed = testing and _failed_test_failover(item)
    if state == "absent":
        return (plan + [("cleanup", None)]) if testing else plan
    if failed:
        plan.append(("cleanup", "its last test failover failed"))
    elif testing and network_difference:
        if not restart_if_different:
            return [("blocked", f"{network_difference}; clean it up first (state=absent) or set restart_if_different=true")]
        plan.append(("cleanup", network_difference))
    elif testing:
        return plan
    return plan + [("test_failover", None)]


def migration_step(item, state, failover_type="planned"):
    """The next step towards migration ``state`` (failed_over | committed | completed).

    Returns (step, detail): ("wait", job name), ("planned_failover"|"unplanned_failover"|"commit", None),
    ("complete", None) or ("complete", "NotSpecified") (the disable reason to send when Azure lists
    DisableProtection but not CompleteMigration after the commit),
    ("done", None), ("absent", None) when the item does not exist (completed, or never replicated), or
    ("blocked", reason). Never a failover for an item already on the recovery side: a second failover
    would create a second Azure VM.
    """
    if item is None:
        return "absent", None
    job = running_job(item)
    if job:
        return "wait", job
    situation = _situation(item)
    operations = situation.operations
    if situation.on_recovery_side:
        if "Commit" in operations:
            return ("done", None) if state == "failed_over" else ("commit", None)
        if state in ("failed_over", "committed"):
            return "done", None
        # After the commit the service lists CompleteMigration (REST spec example ReplicationProtectedItems_FailoverCommit.json). Should it list only
        # DisableProtection, disabling with reason MigrationComplete is the same request (an assumption: the portal's request was not observed).
        if "CompleteMigration" in operations:
            return "complete", None
        if "DisableProtection" in operations:
            return "complete", "NotSpecified"
        return "blocked", ("the VM runs in Azure but Azure does not allow completing the migration now (allowed "
                           "operations: %s)" % (", ".join(sorted(operations)) or "none"))
    if "TestFailoverCleanup" in operations:
        return "blocked", ("a test migration is active (its test VM exists): clean it up first with "
                           "azmigrate.hyperv.test_migration state=absent")
    wanted = "PlannedFailover" if failover_type == "planned" else "UnplannedFailover"
    if wanted in operations:
        return ("planned_failover" if failover_type == "planned" else "unplanned_failover"), None
    return "blocked", ("Azure does not allow a %s failover now (allowed operations: %s): initial replication has not "
                       "finished, or replication needs attention" % (failover_type, ", ".join(sorted(operations)) or "none"))


# After each step, where the item is: planned or unplanned failover, commit, then complete
# (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v).
_AFTER = {"planned_failover": "failed_over", "unplanned_failover": "failed_over", "commit": "committed",
          "complete": "completed"}


_ORDER = ("protected", "failed_over", "committed", "completed")


def migration_plan(item, state, failover_type="planned"):
    """The steps a migration to ``state`` would take from the item's current situation, assuming each
    succeeds (for check mode and the diff): [(step, detail)]. A running job comes first as ("wait",
    job); a blocked item gives [("blocked", reason)]; an item already there gives []."""
    step, detail = migration_step(item, state, failover_type)
    if step in ("done", "absent"):
        return []
    if step == "blocked":
        return [(step, detail)]
    plan = [(step, detail)] if step == "wait" else []
    position = migration_position(item)
    target = _ORDER.index(state)
    while _ORDER.index(position) < target:
        nxt = {"protected": f"{failover_type}_failover", "failed_over": "commit", "committed": "complete"}[position]
        plan.append((nxt, None))
        position = _AFTER[nxt]
    return plan


def migration_position(item):
    """Where the item is on the way - protected (or earlier), failed_over, committed, completed (item gone) -
    counting a running failover, commit or completion job as done (what the item will be once it ends).
    Settled items are placed by the same reading as ``lifecycle_state``."""
    if item is None:
        return "completed"
    situation = _situation(item)
    operation = situation.operation if running_job(item) else None
    scenario = lowered((operation or {}).get("name"))
    if scenario in ("plannedfailover", "unplannedfailover", "failover"):
        return "failed_over"
    if "commit" in scenario:
        return "committed"
    if scenario in ("disabledr", "completemigration"):
        return "completed"
    if not situation.on_recovery_side:
        return "protected"
    return _recovery_side_state(situation)
