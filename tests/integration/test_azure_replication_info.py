"""replication_info against 1,000 replicated lab VMs: one paged listing, filters, summary, faults."""

from __future__ import annotations

import math

import pytest

from azure_lab import SCALE_HOSTS, VMS_PER_SCALE_HOST, azure_lab, azure_vault, run_module  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.lab
VAULT_ARGS = {"resource_group": "rg-migrate", "vault_name": "vault-migrate"}
PAGE_SIZE = 100   # the service's page of replicationProtectedItems


def test_every_vm_in_one_paged_listing(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "replication_info", VAULT_ARGS, tmp=tmp_path)
    assert run.rc == 0, run.output
    vms, summary = run.result["vms"], run.result["summary"]
    total = len(SCALE_HOSTS) * VMS_PER_SCALE_HOST
    assert len(vms) == summary["total"] == summary["vault_total"] == total == azure_vault["items"]
    assert sum(summary["by_state"].values()) == total
    assert set(summary["by_state"]) >= {"enabling", "initial_replication", "protected"}
    # From the lab's ARM request log: every page (the service ends with an empty page), the providers,
    # the cloud metadata; nothing per VM and nothing that changes.
    budget = math.ceil(total / PAGE_SIZE) + 3
    assert run.requests["total"] <= budget, run.requests
    assert run.mutations() == {}
    vm = vms[0]
    assert vm["vm_name"] == "hva01-vm001" and vm["host"] == "HVA01.contoso.local" and vm["site"] == "site-a"
    assert vm["policy"] == "pol-a" and vm["active_location"] == "Primary" and vm["health"] in ("Normal", "Warning")
    assert vm["state"] in ("initial_replication", "protected")
    assert "DisableProtection" in vm["allowed_operations"]
    assert 0 <= vm["initial_replication"]["progress_percent"] <= 100
    assert vm["disks"] and vm["target"]["use_managed_disks"] is not None


def test_filters(azure_lab, azure_vault, tmp_path):
    args = dict(VAULT_ARGS, names=["HVA02-VM007", "hva03-vm250"], hosts=["hva02"])
    run = run_module(azure_lab, "replication_info", args, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert [vm["vm_name"] for vm in run.result["vms"]] == ["hva02-vm007"]
    assert run.result["summary"]["total"] == 1 and run.result["summary"]["vault_total"] == 1000
    run = run_module(azure_lab, "replication_info", dict(VAULT_ARGS, states=["failed_over", "committed"]), tmp=tmp_path)
    assert run.result["vms"] == [] and run.result["summary"]["by_state"]["failed_over"] == 0
    run = run_module(azure_lab, "replication_info", dict(VAULT_ARGS, health=["Critical"], hosts=["HVA04.contoso.local"]),
                     tmp=tmp_path)
    assert all(vm["health"] == "Critical" and vm["host"].startswith("HVA04") for vm in run.result["vms"])


def test_check_mode(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "replication_info", dict(VAULT_ARGS, names=["hva01-vm001"]), check=True, tmp=tmp_path)
    assert run.rc == 0 and run.result["changed"] is False and len(run.result["vms"]) == 1


def test_bad_filter_refused_before_any_request(azure_lab, azure_vault, tmp_path):
    run = run_module(azure_lab, "replication_info", dict(VAULT_ARGS, states=["migrated"]), tmp=tmp_path)
    assert run.failed and "states" in run.result["msg"] and "migrated" in run.result["msg"]
    assert run.requests["total"] == 0


def test_429_storm_is_ridden_out(azure_lab, azure_vault, tmp_path):
    """ARM answers the next 6 requests with 429 + Retry-After: azure-core retries them, the task succeeds."""
    azure_lab.admin.post("/azure/faults", {"storm_429": 6, "storm_retry_after_s": 1})
    try:
        run = run_module(azure_lab, "replication_info", dict(VAULT_ARGS, names=["hva01-vm001"]), tmp=tmp_path)
    finally:
        azure_lab.admin.delete("/azure/faults")
    assert run.rc == 0, run.output
    assert len(run.result["vms"]) == 1
    assert run.requests["by_status"].get("429") == 6


def test_throttled_beyond_retries_explains_what_to_do(azure_lab, azure_vault, tmp_path):
    azure_lab.admin.post("/azure/faults", {"storm_429": 100, "storm_retry_after_s": 1})
    try:
        run = run_module(azure_lab, "replication_info", VAULT_ARGS, tmp=tmp_path)
    finally:
        azure_lab.admin.delete("/azure/faults")
    assert run.failed
    assert run.result["error"]["code"] == "SubscriptionRequestsThrottled" and run.result["error"]["status"] == 429
    assert "Retry-After" in run.result["msg"] and "throttle or forks" in run.result["msg"]
