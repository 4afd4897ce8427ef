"""An item action whose answer was lost after the job started (a 5xx, or azure-core's replay refused): the job the
item names is taken for the action's only when it is of the action's scenario and did not fail; else the service's
answer stands. SDK calls are faked at the client, the collection's code runs as it is."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError

from asr_recordings import FakeResponse

exceptions = pytest.importorskip("azure.core.exceptions")

JOBS = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationJobs/"
REFUSAL = {"error": {"code": "BadRequest", "message": "The operation can't be performed in the item's current state.",
                     "details": [{"code": "ProtectionEntityOperationNotAllowed", "message": "busy"}]}}


class _Answer(object):
    def __init__(self, status):
        self.http_response = FakeResponse(status, REFUSAL if status == 400 else {"error": {"code": "x", "message": "x"}})


class _FakeSiteRecovery(object):
    """replication_protected_items.{get, begin_test_failover} and replication_jobs.get over plain dicts."""

    def __init__(self, statuses, scenario, job_state):
        self.statuses, self.posts = statuses, 0
        self.item = {"id": "/x/replicationFabrics/site/replicationProtectionContainers/c/replicationProtectedItems/vm1",
                     "name": "vm1", "properties": {"currentScenario": {"scenarioName": scenario,
                                                                       "jobId": JOBS + "job-1"}}}
        self.job = {"name": "job-1", "properties": {"scenarioName": scenario, "state": job_state}}
        self.replication_protected_items = self
        self.replication_jobs = _Jobs(self)

    def get(self, *_args, **_kwargs):
        return self.item

    def begin_test_failover(self, *_args, **kwargs):
        """azure-core's retry policy: every attempt's answer goes to the hook; the last one is raised."""
        self.posts += 1
        for status in self.statuses:
            kwargs["raw_response_hook"](_Answer(status))
        raise exceptions.HttpResponseError(response=FakeResponse(self.statuses[-1], REFUSAL))


class _Jobs(object):
    def __init__(self, client):
        self.client = client

    def get(self, *_args, **_kwargs):
        return self.client.job


def _test_failover(client):
    return asr_api.test_failover(asr_api.ItemRef(client, "rg", "v", "site", "c", "vm1"), "/net")


@pytest.mark.parametrize("statuses", [[503, 400], [500, 400], [502], [504, 504, 504]])
@pytest.mark.parametrize("job_state", ["NotStarted", "InProgress", "Succeeded"])
def test_a_lost_answer_is_the_job_the_item_names_for_that_scenario(statuses, job_state):
    client = _FakeSiteRecovery(statuses, "TestFailover", job_state)
    started = _test_failover(client)
    assert started.job_name == "job-1" and started.replayed and client.posts == 1


@pytest.mark.parametrize("scenario, job_state", [
    ("PlannedFailover", "InProgress"),      # busy with another action: not this one's job
    ("TestFailover", "Failed"),             # an earlier attempt's failed job
    ("None", "Succeeded"),                  # idle: the first attempt started nothing
])
@pytest.mark.parametrize("statuses", [[503, 400], [502]])
def test_without_a_job_of_the_action_the_service_answer_stands(scenario, job_state, statuses):
    client = _FakeSiteRecovery(statuses, scenario, job_state)
    with pytest.raises(AzureModuleError) as failed:
        _test_failover(client)
    assert failed.value.status == statuses[-1] and client.posts == 1


def test_a_refusal_without_a_5xx_before_it_stands_even_when_the_item_names_such_a_job():
    """A 400 at once means the service refused this request: the job the item names is someone else's."""
    client = _FakeSiteRecovery([400], "TestFailover", "InProgress")
    with pytest.raises(AzureModuleError) as failed:
        _test_failover(client)
    assert failed.value.status == 400 and "ProtectionEntityOperationNotAllowed" in str(failed.value)
