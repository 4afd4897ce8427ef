"""replication_policy against the lab's Azure: check mode, create, idempotence, update, bad input, faults, removal."""

from __future__ import annotations

import pytest

from azure_lab import azure_lab, azure_vault, run_module  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.lab
POLICY = {"resource_group": "rg-migrate", "vault_name": "vault-migrate", "name": "pol-b", "sites": ["site-b"],
          "recovery_point_retention_hours": 12, "app_consistent_snapshot_frequency_hours": 2,
          "replication_interval": 300, "timeout": 120}


@pytest.fixture
def fast_jobs(azure_lab):
    """Site Recovery jobs take lab minutes; run the lab clock fast meanwhile."""
    azure_lab.admin.post("/clock", {"time_scale": 300})
    yield
    azure_lab.admin.post("/clock", {"time_scale": 1})


def policy_names(lab, tmp_path):
    run = run_module(lab, "vault_info", {"resource_group": "rg-migrate", "vault_name": "vault-migrate"}, tmp=tmp_path)
    return {p["name"] for p in run.result["policies"]}, {(m["policy"], m["site"]) for m in run.result["mappings"]}


def test_lifecycle(azure_lab, azure_vault, fast_jobs, tmp_path):
    # Check mode: reports the change, sends nothing that changes.
    run = run_module(azure_lab, "replication_policy", POLICY, check=True, diff=True, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert run.result["changed"] is True and run.mutations() == {}
    assert run.result["diff"]["after"] == {"policy": {"recovery_point_retention_hours": 12,
                                                      "app_consistent_snapshot_frequency_hours": 2,
                                                      "replication_interval": 300}, "sites": ["site-b"]}
    assert run.result["associations"][0]["state"] == "Planned"
    assert "pol-b" not in policy_names(azure_lab, tmp_path)[0]

    # Create: the policy job, then the association job, each waited for.
    run = run_module(azure_lab, "replication_policy", POLICY, diff=True, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert run.result["changed"] is True
    assert [(job["scenario"], job["state"]) for job in run.result["jobs"]] == [
        ("AddProtectionProfile", "Succeeded"), ("AssociateProtectionProfile", "Succeeded")]
    assert run.result["policy"]["replication_interval"] == 300 and run.result["policy"]["id"]
    assert [(a["site"], a["state"]) for a in run.result["associations"]] == [("site-b", "Paired")]
    assert ("pol-b", "site-b") in policy_names(azure_lab, tmp_path)[1]

    # Second run: nothing to do, nothing sent that changes anything.
    run = run_module(azure_lab, "replication_policy", POLICY, tmp=tmp_path)
    assert run.rc == 0 and run.result["changed"] is False and run.mutations() == {}

    # Update one setting: one PATCH; then idempotent again.
    run = run_module(azure_lab, "replication_policy", dict(POLICY, replication_interval=30), diff=True, tmp=tmp_path)
    assert run.result["changed"] is True, run.output
    assert run.result["diff"]["before"]["policy"]["replication_interval"] == 300
    assert run.result["policy"]["replication_interval"] == 30
    assert list(run.mutations()) == ["PATCH /subscriptions/{subscription}/resourceGroups/{rg}/providers/"
                                     "Microsoft.RecoveryServices/vaults/{vault}/replicationPolicies/{policy}"]
    run = run_module(azure_lab, "replication_policy", dict(POLICY, replication_interval=30), tmp=tmp_path)
    assert run.result["changed"] is False

    # Absent: dissociate, delete; check mode first; then nothing left to do.
    absent = {"resource_group": "rg-migrate", "vault_name": "vault-migrate", "name": "pol-b", "state": "absent"}
    run = run_module(azure_lab, "replication_policy", absent, check=True, tmp=tmp_path)
    assert run.result["changed"] is True and run.mutations() == {} and run.result["policy"] is None
    run = run_module(azure_lab, "replication_policy", absent, tmp=tmp_path)
    assert run.result["changed"] is True, run.output
    assert [job["scenario"] for job in run.result["jobs"]] == ["DissociateProtectionProfile", "RemoveProtectionProfile"]
    policies, mappings = policy_names(azure_lab, tmp_path)
    assert "pol-b" not in policies and not any(policy == "pol-b" for policy, _site in mappings)
    run = run_module(azure_lab, "replication_policy", absent, tmp=tmp_path)
    assert run.result["changed"] is False and run.mutations() == {}


BAD_INPUTS = [
    ({"recovery_point_retention_hours": 25}, "recovery_point_retention_hours is 25; it must be a whole number from 0 to 24"),
    ({"app_consistent_snapshot_frequency_hours": 13},
     "app_consistent_snapshot_frequency_hours is 13; it must be a whole number from 0 to 12"),
    ({"replication_interval": 60}, "replication_interval"),
    ({"sites": ["no-such-site"]}, "site 'no-such-site' is not a Hyper-V site of the vault (its Hyper-V sites: site-a, site-b)"),
    ({"timeout": 0}, "timeout is 0; it must be at least 1"),
    ({"state": "gone"}, "state"),
]


@pytest.mark.parametrize("change, words", BAD_INPUTS)
def test_bad_input_refused_before_any_change(azure_lab, azure_vault, tmp_path, change, words):
    run = run_module(azure_lab, "replication_policy", dict(POLICY, name="pol-bad", **change), tmp=tmp_path)
    assert run.failed and words in run.result["msg"], run.output
    assert run.mutations() == {}


def test_existing_policy_out_of_range_is_refused_too(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "replication_policy", {"resource_group": "rg-migrate", "vault_name": "vault-migrate",
                                                       "name": "pol-a", "recovery_point_retention_hours": 48}, tmp=tmp_path)
    assert run.failed and "from 0 to 24" in run.result["msg"] and run.requests["total"] == 0


def test_5xx_while_polling_the_job(azure_lab, azure_vault, fast_jobs, tmp_path):
    """The next 4 job polls answer 503: azure-core retries them (Retry-After), the wait goes on, the task succeeds."""
    azure_lab.admin.post("/azure/faults", {"poll_5xx": 4, "poll_5xx_status": 503})
    try:
        run = run_module(azure_lab, "replication_policy", dict(POLICY, name="pol-5xx", sites=[]), tmp=tmp_path)
    finally:
        azure_lab.admin.delete("/azure/faults")
    assert run.rc == 0, run.output
    assert run.result["jobs"][0]["state"] == "Succeeded"
    assert run.requests["by_status"].get("503") == 4
    cleanup = run_module(azure_lab, "replication_policy", {"resource_group": "rg-migrate", "vault_name": "vault-migrate",
                                                           "name": "pol-5xx", "state": "absent"}, tmp=tmp_path)
    assert cleanup.result["changed"] is True


def test_failed_job_reports_code_causes_and_action(azure_lab, azure_vault, fast_jobs, tmp_path):
    azure_lab.admin.post("/azure/faults/job-failure", {"scenario": "AddProtectionProfile", "code": "6001"})
    try:
        run = run_module(azure_lab, "replication_policy", dict(POLICY, name="pol-fails", sites=[]), tmp=tmp_path)
    finally:
        azure_lab.admin.delete("/azure/faults")
    assert run.failed
    assert run.result["msg"].startswith("Failed to create replication policy 'pol-fails' (6001): job ")
    assert "Parameters are not correct" in run.result["msg"] and "Recommended action:" in run.result["msg"]
    assert run.result["jobs"] == [] and run.result["error"]["details"]["job"]["allowed_actions"] == ["Restart"]


def test_timeout_bounds_the_wait(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "replication_policy", dict(POLICY, name="pol-slow", sites=[], timeout=2), tmp=tmp_path)
    assert run.failed and run.result["error"]["code"] == "Timeout", run.output
    assert "re-run the task with a longer timeout" in run.result["msg"]
