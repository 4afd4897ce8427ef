"""ARM's 429 carries Retry-After, and a client must not send its next request before it passed: the lab counts such
requests (retry_after_violations in GET /azure/requests), per principal and kind of request. And the lab's knob that
stretches one VM's jobs (a wave's slowest VM)."""

from __future__ import annotations

import time


def _since(lab) -> int:
    return lab.admin("GET", "/azure/requests")["last_seq"]


def test_a_request_before_retry_after_is_a_violation_and_one_after_it_is_not(lab, clean_faults):
    path = f"/subscriptions/{lab.sub}/resourcegroups"
    token = lab.token()
    since = _since(lab)
    lab.admin("POST", "/azure/faults", {"storm_429": 1, "storm_retry_after_s": 2})
    status, headers, dummy = lab.raw("GET", path, api_version="2021-04-01", token=token)
    assert status == 429 and headers["retry-after"] == "2"
    # At once: too early, whatever the answer.
    assert lab.raw("GET", path, api_version="2021-04-01", token=token)[0] == 200
    assert lab.admin("GET", f"/azure/requests?since={since}")["retry_after_violations"] == 1
    # A write is another kind: its own budget, no Retry-After pending.
    lab.raw("PUT", f"/subscriptions/{lab.sub}/resourcegroups/rg-retry-after", {"location": "eastus"}, api_version="2021-04-01",
            token=token)
    assert lab.admin("GET", f"/azure/requests?since={since}")["retry_after_violations"] == 1
    time.sleep(2.05)
    assert lab.raw("GET", path, api_version="2021-04-01", token=token)[0] == 200
    assert lab.admin("GET", f"/azure/requests?since={since}")["retry_after_violations"] == 1


def test_the_sdk_waits_retry_after_so_a_throttled_list_has_no_violation(lab, clean_faults):
    since = _since(lab)
    lab.admin("POST", "/azure/faults", {"storm_429": 2, "storm_retry_after_s": 1})
    assert isinstance(list(lab.asr.replication_policies.list(lab.rg, lab.vault)), list)
    counts = lab.admin("GET", f"/azure/requests?since={since}")
    assert counts["by_status"].get("429") == 2 and counts["retry_after_violations"] == 0


def test_slow_vm_knob_is_listed_in_the_faults_and_cleared_with_them(lab, clean_faults):
    faults = lab.admin("POST", "/azure/faults/slow-vm", {"vm": "web01", "factor": 3})
    assert faults["job_seconds_factor"] == {"web01": 3.0}
    lab.admin("DELETE", "/azure/faults")
    assert lab.admin("GET", "/azure")["faults"]["job_seconds_factor"] == {}
