"""ASR job handling: job names from recorded 202 headers, Retry-After, the bounded poll loop, job errors."""

import re

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.api import (
    job_name_from_headers,
    retry_after_seconds,
    start_operation,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.waiters import error_from_job, job_summary, poll_job
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError

from asr_recordings import FakeResponse, entries, needs_recordings

RECORDED_202 = ["create_container_mapping.json", "create_fabric.json", "create_policy.json", "enable_dr.json",
                "enable_managed_disks.json", "planned_failover.json", "test_failover.json"]


@needs_recordings
@pytest.mark.parametrize("name", RECORDED_202)
def test_job_name_from_every_recorded_202(name):
    accepted = [e for e in entries(name) if e["status"] == 202]
    assert accepted
    for answer in accepted:
        job = job_name_from_headers(answer["headers"])
        # The job that the recording polls next is the one named by the headers.
        polled = [e["path"] for e in entries(name) if "/replicationJobs/" in e["path"]]
        assert any(re.search("/replicationJobs/%s\\?" % job, path) for path in polled), (name, job)


def test_job_name_header_order_and_joined_request_ids():
    headers = {"x-ms-request-id": "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/"
                                  "replicationJobs/aaaa, client-request-id"}
    assert job_name_from_headers(headers) == "aaaa"
    headers["Azure-AsyncOperation"] = "https://arm/Subscriptions/s/.../replicationOperationStatus/bbbb?api-version=x&t=1"
    assert job_name_from_headers(headers) == "bbbb"
    assert job_name_from_headers({"Location": "https://arm/x/replicationPolicies/p/operationresults/cccc?api-version=1"}) == "cccc"
    # The 2021 policy PUT's x-ms-request-id is a plain request id, not a job id.
    assert job_name_from_headers({"x-ms-request-id": "28092310-7041-448e-b985-0cbbc68ccd31 3/24/2021 2:00:25 PM"}) is None
    assert job_name_from_headers({}) is None


@pytest.mark.parametrize("headers, seconds", [
    ({"Retry-After": "30"}, 30.0), ({"retry-after": "0.25"}, 0.25), ({"retry-after-ms": "20"}, 0.02),
    ({"x-ms-retry-after-ms": "1500"}, 1.5), ({"Retry-After": "0"}, None), ({"Retry-After": "0", "retry-after-ms": "40"}, 0.04),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None), ({}, None), (None, None),
])
def test_retry_after_seconds(headers, seconds):
    assert retry_after_seconds(headers) == seconds


@needs_recordings
def test_recorded_failed_job_gives_code_causes_and_action():
    failed = [e["response_body"] for e in entries("enable_managed_disks.json")
              if "/replicationJobs/" in e["path"] and e["response_body"]["properties"]["state"] == "Failed"][0]
    error = error_from_job(failed, "enable replication for VM 'PowershellVm1'")
    assert error.code == "6001"
    assert str(error).startswith("Failed to enable replication for VM 'PowershellVm1' (6001): job aefbfbaa-bf89-40a3-"
                                 "88fb-887b7b34a4ad (EnableDr) ended Failed: Parameters are not correct. Possible causes: "
                                 "Only one of the following input parameters are expected not both a) either "
                                 "storageAccountId b) or useManagedDisksForReplication. Recommended action: Provide")
    summary = error.details["job"]
    assert summary["allowed_actions"] == ["Restart"]
    assert [task["state_description"] for task in summary["tasks"]] == ["Failed", "Skipped", "Skipped", "Skipped", "Completed"]


def test_provider_error_is_used_when_service_gives_none():
    job = {"name": "j", "properties": {"state": "Failed", "scenarioName": "EnableDr", "errors": [
        {"serviceErrorDetails": {"code": "70094", "message": "Protection couldn't be enabled."},
         "providerErrorDetails": {"errorCode": 31389, "errorMessage": "WMI job error 32768."}}]}}
    error = error_from_job(job, "enable replication")
    assert error.code == "70094" and "provider error 31389: WMI job error 32768." in str(error)
    bare = error_from_job({"name": "j", "properties": {"state": "Cancelled"}}, "x")
    assert bare.code == "JobCancelled"


class FakeTime(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def job(state, name="j1"):
    return {"name": name, "properties": {"state": state, "scenarioName": "AddProtectionProfile", "tasks": []}}


def scripted(answers, time):
    calls = []

    def fetch(name, remaining):
        calls.append((time.now, remaining))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    return fetch, calls


def test_poll_honours_retry_after_of_the_202_then_of_each_answer():
    time = FakeTime()
    fetch, calls = scripted([(job("NotStarted"), {}), (job("InProgress"), {"retry-after-ms": "500"}),
                             (job("Succeeded"), {})], time)
    result = poll_job(fetch, "j1", timeout=600, operation="create policy", first_delay=30,
                      clock=time.clock, sleep=time.sleep)
    assert result["properties"]["state"] == "Succeeded"
    assert time.sleeps == [30, 30, 0.5]
    assert [round(c[0], 1) for c in calls] == [30, 60, 60.5]


@needs_recordings
def test_poll_walks_the_recorded_policy_job():
    jobs = [e["response_body"] for e in entries("create_policy.json") if "/replicationJobs/" in e["path"]]
    assert [j["properties"]["state"] for j in jobs] == ["InProgress", "InProgress", "InProgress", "Succeeded"]
    time = FakeTime()
    fetch, calls = scripted([(j, {}) for j in jobs], time)
    result = poll_job(fetch, jobs[0]["name"], 3600, "create policy", first_delay=30, clock=time.clock, sleep=time.sleep)
    assert result is jobs[-1] and len(calls) == 4


def test_transient_errors_skip_a_poll_and_other_errors_stop():
    exceptions = pytest.importorskip("azure.core.exceptions")
    time = FakeTime()
    unavailable = exceptions.HttpResponseError(response=FakeResponse(
        503, {"error": {"code": "ServiceUnavailable", "message": "try later"}}, {"Retry-After": "5"}))
    fetch, calls = scripted([unavailable, exceptions.ServiceResponseError("reset"), (job("Succeeded"), {})], time)
    assert poll_job(fetch, "j1", 600, "x", first_delay=2, clock=time.clock, sleep=time.sleep)
    assert time.sleeps == [2, 5, 2]
    forbidden = exceptions.HttpResponseError(response=FakeResponse(403, {"error": {"code": "AuthorizationFailed", "message": "no"}}))
    fetch, calls = scripted([forbidden], time)
    with pytest.raises(AzureModuleError, match="AuthorizationFailed") as caught:
        poll_job(fetch, "j1", 600, "create policy", first_delay=1, clock=time.clock, sleep=time.sleep)
    assert caught.value.operation == "read the state of job j1 for: create policy"


def test_a_credential_that_gives_no_token_stops_the_poll_at_once():
    """azure-identity raises ClientAuthenticationError with no HTTP status: not a transient error."""
    exceptions = pytest.importorskip("azure.core.exceptions")
    time = FakeTime()
    expired = exceptions.ClientAuthenticationError("AADSTS7000222: The provided client secret keys are expired.")
    fetch, calls = scripted([expired, (job("Succeeded"), {})], time)
    with pytest.raises(AzureModuleError, match="AADSTS7000222"):
        poll_job(fetch, "j1", 3600, "create policy", first_delay=1, clock=time.clock, sleep=time.sleep)
    assert len(calls) == 1 and time.now == 1


def test_failed_job_raises_and_timeout_is_bounded():
    time = FakeTime()
    fetch, _calls = scripted([(job("InProgress"), {}), (job("Failed"), {})], time)
    with pytest.raises(AzureModuleError, match="ended Failed"):
        poll_job(fetch, "j1", 600, "x", first_delay=1, clock=time.clock, sleep=time.sleep)
    time = FakeTime()
    fetch, calls = scripted([(job("InProgress"), {})] * 100, time)
    with pytest.raises(AzureModuleError) as caught:
        poll_job(fetch, "j1", timeout=100, operation="x", first_delay=30, clock=time.clock, sleep=time.sleep)
    assert caught.value.code == "Timeout" and "still InProgress after 100 s" in str(caught.value)
    assert time.now == 100 and len(calls) == 3   # polls at 30, 60, 90; the last sleep is cut to the deadline
    assert caught.value.details["job"]["state"] == "InProgress"


def test_no_retry_after_anywhere_uses_the_default_interval():
    time = FakeTime()
    fetch, _calls = scripted([(job("InProgress"), {}), (job("Succeeded"), {})], time)
    poll_job(fetch, "j1", 600, "x", clock=time.clock, sleep=time.sleep, default_interval=30)
    assert time.sleeps == [0.0, 30]


def test_job_summary_of_a_first_poll():
    # The first poll after a POST: NotStarted, scenarioName null, no tasks (test_failover.json entry 20).
    summary = job_summary({"name": "n", "id": "/x/replicationJobs/n", "properties": {
        "state": "NotStarted", "scenarioName": None, "friendlyName": None, "tasks": [], "errors": []}})
    assert summary["state"] == "NotStarted" and summary["scenario"] is None and summary["tasks"] == []


class _Answer(object):
    def __init__(self, status):
        self.http_response = FakeResponse(status, {"error": {"code": "x", "message": "x"}})


def test_a_post_replayed_after_a_5xx_and_then_refused_is_reported_for_a_re_read_not_failed():
    """azure-core replays a POST answered 503; if the first attempt started the job, the replay gets 400."""
    exceptions = pytest.importorskip("azure.core.exceptions")
    refusal = exceptions.HttpResponseError(response=FakeResponse(400, {"error": {
        "code": "ProtectionEntityOperationNotAllowed", "message": "Another operation is in progress."}}))

    def begin(*_args, **kwargs):
        for status in statuses:
            kwargs["raw_response_hook"](_Answer(status))
        raise refusal

    statuses = [503, 400]
    started = start_operation(begin, "rg", "vault", {"properties": {}})
    assert started.replayed and started.job_name is None
    statuses = [400]          # refused at once: the service's answer stands
    with pytest.raises(exceptions.HttpResponseError):
        start_operation(begin, "rg", "vault", {"properties": {}})
