"""The admin API: read and set the world, the clock, faults, the log."""

from __future__ import annotations

import pytest
from labfixture import AdminError


def test_list_hosts(lab):
    hosts = lab.admin.get("/hosts")
    prefix = lab.host("HV01")["address"].rsplit(".", 1)[0]
    assert [(h["name"], h["cluster"], h["address"]) for h in hosts] == [
        ("HV01", None, f"{prefix}.1"), ("HV02", "HVCLU01", f"{prefix}.2"), ("HV03", "HVCLU01", f"{prefix}.3")]


def test_host_state_shows_derived_views_from_the_registry(lab):
    state = lab.admin.host("hv01")   # names are case-insensitive, as on Windows
    assert state["name"] == "HV01"
    assert state["dotnet_release"] == 528449
    assert state["registry"][r"HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full"] == {"Release": 528449}
    assert state["provider_version"] is None and state["agent_install_path"] is None
    assert "password" not in str(state).lower()


def test_patch_shorthands_write_the_registry(lab):
    try:
        state = lab.admin.patch("/hosts/HV03", {"dotnet_release": 394802, "strong_crypto": {"x64": 0}})
        assert state["dotnet_release"] == 394802
        assert state["strong_crypto"] == {"x64": 0, "x86": 1}
        assert state["registry"][r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319"] == {"SchUseStrongCrypto": 0}
    finally:
        lab.admin.patch("/hosts/HV03", {"dotnet_release": 528449, "strong_crypto": {"x64": 1}})


def test_patch_volumes(lab):
    original = lab.admin.host("HV03")["volumes"]
    try:
        volumes = [dict(v, free_bytes=1) for v in original]
        assert lab.admin.patch("/hosts/HV03", {"volumes": volumes})["volumes"] == volumes
    finally:
        lab.admin.patch("/hosts/HV03", {"volumes": original})


def test_patch_rejects_unknown_fields(lab):
    with pytest.raises(AdminError) as caught:
        lab.admin.patch("/hosts/HV01", {"colour": "blue"})
    assert caught.value.status == 400 and "patchable" in caught.value.body["error"]


def test_unknown_host_is_404(lab):
    with pytest.raises(AdminError) as caught:
        lab.admin.host("NOPE")
    assert caught.value.status == 404


def test_cluster_node_state(lab):
    try:
        cluster = lab.admin.patch("/clusters/HVCLU01", {"nodes": {"HV03": {"state": "Paused"}}})
        assert cluster["nodes"][1] == {"name": "HV03", "id": "2", "state": "Paused"}
    finally:
        lab.admin.patch("/clusters/HVCLU01", {"nodes": {"HV03": {"state": "Up"}}})


def test_clock_advances(lab):
    before = lab.admin.get("/clock")
    after = lab.admin.post("/clock", {"advance_seconds": 3600})
    assert after["elapsed_seconds"] - before["elapsed_seconds"] >= 3600
    with pytest.raises(AdminError):
        lab.admin.post("/clock", {"advance_seconds": -1})


def test_faults_are_listed_and_cleared(lab):
    lab.admin.post("/faults", {"host": "HV01", "latency_ms": 250})
    assert lab.admin.get("/faults")["HV01"]["latency_ms"] == 250
    assert lab.admin.delete("/faults")["HV01"]["latency_ms"] == 0
    with pytest.raises(AdminError):
        lab.admin.post("/faults", {"host": "HV01", "bandwidth": 1})


def test_log_filters_by_host_and_since(lab):
    entries = lab.admin.log()
    if entries:
        last = entries[-1]["seq"]
        assert lab.admin.log(since=last) == []
        assert all(e["host"] == "HV02" for e in lab.admin.log(host="HV02"))
