"""The host state model and the estate loader, in process (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.estate import EstateError, build_world, load_estate
from lab.hosts.patch import PatchError, patch_host
from lab.hosts.state import PROVIDER_KEY, Registry

ESTATES = Path(__file__).resolve().parents[2] / "lab" / "estates"


def test_registry_is_case_insensitive_and_keeps_spelling():
    registry = Registry()
    registry.set_value(r"HKLM:\SOFTWARE\Microsoft\Azure Site Recovery", "Version", "5.1.8095.0")
    assert registry.get_value(r"hklm\software\microsoft\azure site recovery", "version") == "5.1.8095.0"
    assert registry.to_dict() == {r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery": {"Version": "5.1.8095.0"}}
    registry.delete_key(r"HKLM\SOFTWARE\Microsoft")
    assert not registry.key_exists(PROVIDER_KEY)


def test_demo_estate():
    world = load_estate(ESTATES / "demo.yml")
    assert [h.name for h in world.hosts] == ["HV01", "HV02", "HV03"]
    assert [h.name for h in world.standalone_hosts()] == ["HV01"]
    for host in world.hosts:
        assert host.hyperv_role and host.dotnet_release == 528449 and host.strong_crypto == (1, 1)
        assert host.provider_version is None and host.agent_install_path is None
        assert 2 <= len(host.vms) <= 4
        assert all(vm.switch and vm.disks for vm in host.vms)
    ids = [vm.id for host in world.hosts for vm in host.vms]
    assert len(set(ids)) == len(ids)


def test_edge_estate():
    world = load_estate(ESTATES / "edge.yml")
    assert world.host("DC01").domain_role == 5
    assert not world.host("NOHV01").hyperv_role and world.host("NOHV01").service("vmms") is None
    old = world.host("OLD01")
    assert (old.dotnet_release, old.strong_crypto) == (394802, (0, 0))


def test_estate_errors_name_the_problem():
    with pytest.raises(EstateError, match="cluster C1 names unknown hosts"):
        build_world({"hosts": [{"name": "A"}], "clusters": [{"name": "C1", "nodes": ["A", "B"]}]})
    with pytest.raises(EstateError, match="no hosts"):
        build_world({})


def test_installed_products_come_from_uninstall_keys():
    world = build_world({"hosts": [{"name": "A", "products": [
        {"name": "Microsoft Azure Recovery Services Agent", "version": "2.0.9262.0",
         "product_code": "{FFE6D16C-3F87-4192-AF94-DDBEFF165106}"}]}]})
    assert world.host("a").installed_products() == [{
        "product_code": "{FFE6D16C-3F87-4192-AF94-DDBEFF165106}",
        "name": "Microsoft Azure Recovery Services Agent", "version": "2.0.9262.0"}]


def test_patch_vm_fields_and_errors():
    host = load_estate(ESTATES / "demo.yml").host("HV01")
    patch_host(host, {"vms": {"web01": {"state": "Off"}}})
    assert host.vm("web01").state == "Off"
    with pytest.raises(PatchError, match="no VM"):
        patch_host(host, {"vms": {"nope": {"state": "Off"}}})
