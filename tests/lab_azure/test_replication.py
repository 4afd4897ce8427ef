"""The world link: initial replication at the rate the shared model allows (throttle schedule,
UploadThreadsPerVM, link, sharing between the VMs of a host), an RPO that follows churn, and a
full volume pausing replication until a resynchronisation."""

from __future__ import annotations

import pytest

from lab.azure import replication
from lab.hosts.state import MARS_REPLICATION_KEY

MIB = 1024 * 1024


@pytest.fixture()
def frozen_clock(lab):
    """Lab time stands (almost) still, so only explicit advances move it."""
    lab.on_loop(lambda: lab.world.clock.set_time_scale(0.001))
    yield
    lab.on_loop(lambda: lab.world.clock.set_time_scale(600.0))


def _snapshot(lab, names):
    def read():
        lab.cloud.arm.tick()
        items = {i.vm_name: i for v in lab.cloud.vaults.values() for f in v.fabrics.values() for i in f.items.values()}
        return lab.cloud.replication_t, {name: items[name].ir_remaining_bytes for name in names}
    return lab.on_loop(read)


def test_initial_replication_follows_throttle_threads_and_sharing(lab, cluster_site, request):
    def tune():
        host = lab.world.host("HV03")
        host.mars_settings["throttle"] = {
            "enabled": True, "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
            "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
            "work_hour_bandwidth": 4 * MIB, "non_work_hour_bandwidth": 20 * MIB}
        host.registry.set_value(MARS_REPLICATION_KEY, "UploadThreadsPerVM", 2)
    lab.on_loop(tune)
    for vm in ("app02", "web02"):
        cluster_site.enable(vm)
    request.getfixturevalue("frozen_clock")
    t0, before = _snapshot(lab, ["app02", "web02"])
    lab.advance(3 * 3600)           # neither VM finishes: both share the host all along
    t1, after = _snapshot(lab, ["app02", "web02"])
    link = lab.on_loop(lambda: replication.host_link(lab.cloud, lab.world.host("HV03")))
    assert link.vm_cap_bps == 2 * replication.model().PER_THREAD_BPS        # UploadThreadsPerVM = 2
    expected, finished = replication.model().advance_transfers(link, t0, t1, before)
    for name in ("app02", "web02"):
        assert after[name] == pytest.approx(expected.get(name, 0.0), rel=1e-6, abs=1.0)
    sent = {name: before[name] - after[name] for name in before}
    assert sent["app02"] == pytest.approx(sent["web02"], rel=1e-6)        # equal caps share equally
    assert sum(sent.values()) == pytest.approx(link.bytes_between(t0, t1), rel=1e-6)   # the host link is the limit
    assert sent["app02"] < link.vm_cap_bps * (t1 - t0)


def test_rpo_follows_churn(lab, cluster_site):
    items = {"app02": cluster_site.ensure("app02")}
    item = cluster_site.wait_protected(items["app02"], step_s=4 * 3600)
    assert item.properties.provider_specific_details.rpo_in_seconds is not None
    lab.admin("POST", "/azure/vms/app02/churn", {"bps": 1 * MIB})
    lab.advance(1800)
    calm = cluster_site.item(items["app02"]).properties.provider_specific_details.rpo_in_seconds
    assert calm <= 120                      # interval 30 s plus a little backlog
    lab.admin("POST", "/azure/vms/app02/churn", {"bps": 64 * MIB})    # more than the VM can upload
    lab.advance(1800)
    busy = cluster_site.item(items["app02"]).properties.provider_specific_details.rpo_in_seconds
    assert busy > 10 * calm
    lab.admin("POST", "/azure/vms/app02/churn", {"bps": 64 * 1024})


def test_full_volume_pauses_replication_and_resync_resumes(lab, site):
    vm_id = site.enable("file01")
    lab.admin("POST", "/azure/vms/file01/churn", {"bps": 300 * MIB})
    lab.advance(3 * 3600)
    item = site.item(vm_id)
    assert item.properties.replication_health == "Critical"
    assert "RepairReplication" in item.properties.allowed_operations
    assert any(e.error_code == replication.VOLUME_FULL_ERROR for e in item.properties.health_errors)
    host_vm = lab.vm("HV01", "file01")
    assert (host_vm.replication.state, host_vm.replication.health) == ("WaitingForStartResynchronize", "Critical")
    volume_e = lab.on_loop(lambda: lab.world.host("HV01").volume_for(r"E:\Hyper-V"))
    assert volume_e.free_bytes == 0
    log = lab.on_loop(lambda: lab.world.host("HV01").file(r"E:\Hyper-V\file01\file01-data.hrl"))
    assert log is not None and log.size > 100 * 1024 ** 3
    progress = lab.on_loop(lambda: next(i for v in lab.cloud.vaults.values() for f in v.fabrics.values()
                                        for i in f.items.values() if i.vm_name == "file01").ir_remaining_bytes)
    lab.advance(3600)
    assert lab.on_loop(lambda: next(i for v in lab.cloud.vaults.values() for f in v.fabrics.values()
                                    for i in f.items.values() if i.vm_name == "file01").ir_remaining_bytes) == progress

    lab.admin("POST", "/azure/vms/file01/churn", {"bps": 0})
    lab.asr.replication_protected_items.begin_repair_replication(*site.args(vm_id)).result()
    item = site.item(vm_id)
    assert item.properties.replication_health == "Normal"
    assert lab.vm("HV01", "file01").replication.health == "Normal"
    assert lab.on_loop(lambda: lab.world.host("HV01").volume_for(r"E:\Hyper-V").free_bytes) > 170 * 1024 ** 3
