"""The lab's enable refuses a VM its protectable item reports not ready (lab/FIDELITY.md, "Azure: enable and update
replication"), whatever the client checked before: readiness errors, or a replication provider the item does not
support. Nothing is created: no item, no job, no Hyper-V replication on the host.

app01 (HV01) is used; each test leaves it not replicating and without readiness knobs.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from lab.hosts.state import VMReplication


def _world_jobs(lab) -> int:
    return lab.admin("GET", "/azure/world")["vaults"][lab.vault]["jobs"]


def _items(lab, site) -> list[str]:
    return [i.name for i in lab.asr.replication_protected_items.list_by_replication_protection_containers(*site.args())]


def _refused(lab, site, vm_name: str) -> HttpResponseError:
    """Enable vm_name with the body the replication module sends; the refusal, after checking nothing was made."""
    jobs, items = _world_jobs(lab), _items(lab, site)
    with pytest.raises(HttpResponseError) as caught:
        site.enable(vm_name)
    assert caught.value.status_code == 400
    assert _world_jobs(lab) == jobs and _items(lab, site) == items
    return caught.value


def test_an_enable_of_a_vm_with_readiness_errors_is_refused_and_creates_nothing(lab, site):
    error = "The virtual machine has a shared virtual hard disk, which is not supported."
    lab.admin("POST", "/azure/vms/app01/readiness", {"errors": [error]})
    try:
        assert site.protectable("app01").properties.protection_readiness_errors == [error]
        refusal = _refused(lab, site, "app01")
        assert "ProtectableItemNotReady" in str(refusal) and "shared virtual hard disk" in str(refusal)
        assert lab.vm("HV01", "app01").replication is None
    finally:
        lab.admin("POST", "/azure/vms/app01/readiness", {})
    assert site.protectable("app01").properties.protection_readiness_errors == []


def test_an_enable_of_a_vm_that_replicates_with_hyper_v_replica_is_refused(lab, site):
    def set_replica(replication):
        lab.world.host("HV01").vm("app01").replication = replication

    lab.on_loop(set_replica, VMReplication(state="Replicating", replica_server="hvdr01.contoso.local"))
    try:
        errors = site.protectable("app01").properties.protection_readiness_errors
        assert errors == ["The virtual machine is already replicating with Hyper-V Replica."]
        refusal = _refused(lab, site, "app01")
        assert "ProtectableItemNotReady" in str(refusal) and "Hyper-V Replica" in str(refusal)
        assert lab.vm("HV01", "app01").replication.replica_server == "hvdr01.contoso.local"
    finally:
        lab.on_loop(set_replica, None)


def test_an_enable_with_a_provider_the_vm_does_not_support_is_refused(lab, site):
    lab.admin("POST", "/azure/vms/app01/readiness", {"supported_providers": ["HyperVReplica2012R2"]})
    try:
        assert site.protectable("app01").properties.supported_replication_providers == ["HyperVReplica2012R2"]
        refusal = _refused(lab, site, "app01")
        assert "ReplicationProviderNotSupported" in str(refusal) and "HyperVReplicaAzure" in str(refusal)
    finally:
        lab.admin("POST", "/azure/vms/app01/readiness", {})
    assert site.protectable("app01").properties.supported_replication_providers == ["HyperVReplicaAzure"]
