"""readiness_problems: a discovered VM that Azure reports not ready is refused before an enable, with the VM and each
reason Azure gives; a ready VM (the recorded protectable item) and a VM already protected pass."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import readiness_problems

from asr_recordings import entry, needs_recordings


@pytest.fixture
def discovered():
    """A ready, unprotected discovered VM, vmdum1 (enable_managed_disks.json entry 9, the protectable-items list)."""
    return copy.deepcopy(entry("enable_managed_disks.json", 9)["response_body"]["value"][0])


@needs_recordings
def test_the_recorded_discovered_vm_is_ready(discovered):
    assert discovered["properties"]["protectionStatus"] == "Unprotected"
    assert readiness_problems(discovered) == []


@needs_recordings
def test_each_readiness_error_is_named_with_the_vm_and_what_to_do(discovered):
    errors = ["The virtual machine is already replicating with Hyper-V Replica.",
              "The virtual machine has a shared virtual hard disk."]
    discovered["properties"]["protectionReadinessErrors"] = errors
    problems = readiness_problems(discovered)
    assert len(problems) == 2
    for problem, error in zip(problems, errors):
        assert "'vmdum1'" in problem and repr(error) in problem
        assert "fix that on the Hyper-V host" in problem


@needs_recordings
def test_a_vm_whose_providers_lack_hyper_v_replica_azure_is_refused(discovered):
    discovered["properties"]["supportedReplicationProviders"] = ["HyperVReplica2012R2"]
    (problem,) = readiness_problems(discovered)
    assert "'vmdum1'" in problem and "HyperVReplica2012R2" in problem and "not HyperVReplicaAzure" in problem
    discovered["properties"]["supportedReplicationProviders"] = []
    (problem,) = readiness_problems(discovered)
    assert "no provider" in problem
    # Compared without case, as the service's names are.
    discovered["properties"]["supportedReplicationProviders"] = ["hypervreplicaazure"]
    assert readiness_problems(discovered) == []


@needs_recordings
def test_a_protected_vm_is_not_checked_again(discovered):
    discovered["properties"].update(protectionStatus="Protected", protectionReadinessErrors=["Anything."],
                                    supportedReplicationProviders=[])
    assert readiness_problems(discovered) == []


def test_absent_readiness_fields_are_no_problem():
    assert readiness_problems({"name": "0e34", "properties": {"friendlyName": "web01"}}) == []
    unset = {"protectionReadinessErrors": None, "supportedReplicationProviders": None}
    assert readiness_problems({"name": "0e34", "properties": unset}) == []
