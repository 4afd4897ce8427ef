"""ARM throttling (token buckets per principal, x-ms-ratelimit-remaining-* headers, 429 with
Retry-After) and the Azure fault knobs of the admin API."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError


def _requests(lab) -> int:
    return lab.admin("GET", "/azure/requests")["last_seq"]


def test_reads_drain_the_bucket_then_429(lab, clean_faults):
    lab.admin("POST", "/azure/throttle", {"kind": "reads", "capacity": 5, "refill_per_s": 1})
    path = f"/subscriptions/{lab.sub}/resourcegroups"
    token = lab.token()
    remaining = []
    for dummy in range(5):
        status, headers, dummy = lab.raw("GET", path, api_version="2021-04-01", token=token)
        assert status == 200
        remaining.append(int(headers["x-ms-ratelimit-remaining-subscription-reads"]))
        assert "x-ms-ratelimit-remaining-subscription-global-reads" in headers
    assert remaining == sorted(remaining, reverse=True) and remaining[-1] <= 1
    status, headers, body = lab.raw("GET", path, api_version="2021-04-01", token=token)
    if status == 200:       # a token trickled in meanwhile (1/s): the next one is refused
        status, headers, body = lab.raw("GET", path, api_version="2021-04-01", token=token)
    assert status == 429 and body["error"]["code"] == "SubscriptionRequestsThrottled"
    assert int(headers["retry-after"]) >= 1
    # Buckets are per principal: another service principal still reads.
    other = lab.admin("POST", "/azure/principals", {"display_name": "second"})
    other_token = lab.token(lab.make_credential(other["client_id"], other["secret"]))
    assert lab.raw("GET", path, api_version="2021-04-01", token=other_token)[0] == 200
    # The SDK waits Retry-After and succeeds.
    since = _requests(lab)
    list(lab.asr.replication_fabrics.list(lab.rg, lab.vault))
    assert lab.admin("GET", f"/azure/requests?since={since}")["by_status"]["200"] >= 1


def test_writes_report_their_own_bucket(lab, clean_faults):
    status, headers, dummy = lab.raw("PUT", f"/subscriptions/{lab.sub}/resourcegroups/rg-throttle", {"location": "eastus"},
                                     api_version="2021-04-01")
    assert status in (200, 201) and int(headers["x-ms-ratelimit-remaining-subscription-writes"]) < 200


def test_429_storm_is_retried_by_the_sdk(lab, clean_faults):
    since = _requests(lab)
    lab.admin("POST", "/azure/faults", {"storm_429": 2})
    policies = list(lab.asr.replication_policies.list(lab.rg, lab.vault))
    assert isinstance(policies, list)
    counts = lab.admin("GET", f"/azure/requests?since={since}")
    assert counts["by_status"].get("429") == 2


def test_5xx_while_a_job_is_polled(lab, clean_faults):
    since = _requests(lab)
    lab.admin("POST", "/azure/faults", {"poll_5xx": 2, "poll_5xx_status": 503})
    lab.asr.replication_policies.begin_create(lab.rg, lab.vault, "policy-5xx", {"properties": {"providerSpecificInput": {
        "instanceType": "HyperVReplicaAzure", "replicationInterval": 300}}}).result()
    counts = lab.admin("GET", f"/azure/requests?since={since}")
    assert counts["by_status"].get("503") == 2
    assert lab.asr.replication_policies.get(lab.rg, lab.vault, "policy-5xx").name == "policy-5xx"


def test_job_fails_with_70094(lab, cluster_site, clean_faults):
    lab.admin("POST", "/azure/faults/job-failure", {"scenario": "EnableDr", "code": "70094", "task": 2, "vm": "sql01"})
    with pytest.raises(HttpResponseError) as caught:
        cluster_site.enable("sql01")
    assert caught.value.error.code == "70094"
    job = next(iter(lab.asr.replication_jobs.list(lab.rg, lab.vault, filter="jobStatus eq 'Failed'")))
    assert job.properties.target_object_name == "sql01"
    failed = [t for t in job.properties.tasks if t.state == "Failed"]
    assert [t.name for t in failed] == ["EnableProtection"]
    assert failed[0].errors[0].provider_error_details.error_code == 31389
    assert lab.vm("HV02", "sql01").replication is None
    failed_item = cluster_site.protectable("sql01").name
    assert cluster_site.item(failed_item).properties.health_errors[0].error_code == "70094"
    lab.asr.replication_protected_items.begin_delete(*cluster_site.args(failed_item), {"properties": {
        "disableProtectionReason": "NotSpecified"}}).result()     # the failed item goes when disabled
    cluster_site.enable("sql01")      # the knob fired once; the next enable works
    assert lab.vm("HV02", "sql01").replication is not None


def test_latency_and_connection_reset(lab, clean_faults):
    lab.admin("POST", "/azure/faults", {"latency_ms": 300})
    started = time.monotonic()
    assert lab.raw("GET", f"/subscriptions/{lab.sub}", api_version="2022-12-01")[0] == 200
    assert time.monotonic() - started >= 0.3
    lab.admin("POST", "/azure/faults", {"latency_ms": 0, "reset_after_requests": 0})
    list(lab.asr.replication_fabrics.list(lab.rg, lab.vault))     # azure-core retries the reset connection
    assert lab.admin("GET", "/azure")["faults"]["reset_after_requests"] is None      # the reset happened
