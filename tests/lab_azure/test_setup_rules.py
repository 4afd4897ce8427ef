"""The lab refuses what Azure refuses while a vault is set up: the vault-certificate request's shape, and the
time discovery takes (a VM appears after the discovery delay; a VM created later only after a refresh).
Also the Migrate project that names the vault."""

from __future__ import annotations

import uuid

from azure.core.exceptions import HttpResponseError

from inprocess_azure import wait_until
from lab.hosts.state import HostState, VirtualDisk, VirtualMachine, Volume

CERT_API = "2023-04-01"
MIGRATE_API = "2018-09-01-preview"


def _vault_path(lab) -> str:
    return f"/subscriptions/{lab.sub}/resourceGroups/{lab.rg}/providers/Microsoft.RecoveryServices/vaults/{lab.vault}"


def _vm(name: str) -> VirtualMachine:
    return VirtualMachine(name=name, id=str(uuid.uuid5(uuid.NAMESPACE_URL, "setup-rules:" + name)),
                          disks=[VirtualDisk(f"D:\\VMs\\{name}\\{name}.vhdx", 1024 ** 3)])


def _add_host(lab, name: str, vm_names: list[str]) -> None:
    def add():
        lab.world.add_host(HostState(name=name, domain="contoso.local", features=["Hyper-V"],
                                     volumes=[Volume("D:\\", 2 * 1024 ** 4, 1024 ** 4)],
                                     vms=[_vm(n) for n in vm_names]))
    lab.on_loop(add)


def _site(lab, name: str) -> str:
    lab.asr.replication_fabrics.begin_create(lab.rg, lab.vault, name,
                                             {"properties": {"customDetails": {"instanceType": "HyperVSite"}}}).result()
    return f"cloud_{lab.asr.replication_fabrics.get(lab.rg, lab.vault, name).properties.internal_identifier}"


def _protectable_names(lab, site: str, container: str) -> set[str]:
    items = lab.asr.replication_protectable_items.list_by_replication_protection_containers(
        lab.rg, lab.vault, site, container)
    return {item.properties.friendly_name for item in items}


def test_vault_certificate_request_must_put_create_options_at_the_top_level(lab):
    path = f"{_vault_path(lab)}/certificates/CN=CB_{lab.vault}-6-12-2026-vaultcredentials"
    status, dummy, body = lab.raw("PUT", path, {"properties": {"certificateCreateOptions": {"validityInHours": 120}}},
                                  api_version=CERT_API)
    assert status == 400 and body["error"]["code"] == "BadRequest"
    assert "top level" in body["error"]["message"]
    status, dummy, body = lab.raw("PUT", path, {}, api_version=CERT_API)
    assert status == 400
    status, dummy, body = lab.raw("PUT", path, {"certificateCreateOptions": {"validityInHours": 120}},
                                  api_version=CERT_API)
    assert status == 200 and body["properties"]["certificate"] and body["properties"]["validTo"]


def test_vms_appear_only_after_the_discovery_delay(lab):
    _add_host(lab, "HVDISC01", ["disc-a", "disc-b"])
    container = _site(lab, "site-discovery")
    # Lab time moves only when the test moves it: the session's fast clock would otherwise pass the delay on its own.
    lab.on_loop(lambda: lab.world.clock.set_time_scale(1.0))
    try:
        _discovery_after_the_delay(lab, container)
    finally:
        lab.on_loop(lambda: lab.world.clock.set_time_scale(600.0))


def _discovery_after_the_delay(lab, container):
    lab.register_host("HVDISC01", "site-discovery", discovered=False)
    providers = list(lab.asr.replication_recovery_services_providers.list_by_replication_fabrics(
        lab.rg, lab.vault, "site-discovery"))
    assert [p.properties.connection_status for p in providers] == ["Connected"]
    assert _protectable_names(lab, "site-discovery", container) == set()
    delay = lab.admin("GET", "/azure/discovery")["delay_s"]
    assert delay == 15 * 60
    lab.advance(delay - 60)
    assert _protectable_names(lab, "site-discovery", container) == set()
    lab.advance(61)
    assert _protectable_names(lab, "site-discovery", container) == {"disc-a", "disc-b"}
    site = next(s for s in lab.admin("GET", "/azure/sites") if s["site"] == "site-discovery")
    assert site["providers"][0]["discovered_vms"] == ["disc-a", "disc-b"]


def test_a_vm_created_after_registration_appears_only_after_a_refresh(lab):
    _add_host(lab, "HVDISC02", ["late-a"])
    container = _site(lab, "site-refresh")
    lab.register_host("HVDISC02", "site-refresh")
    assert _protectable_names(lab, "site-refresh", container) == {"late-a"}
    lab.on_loop(lambda: lab.world.host("HVDISC02").vms.append(_vm("late-b")))
    lab.advance(3600)
    assert _protectable_names(lab, "site-refresh", container) == {"late-a"}
    late_b = str(uuid.uuid5(uuid.NAMESPACE_URL, "setup-rules:late-b"))
    try:
        lab.asr.replication_protectable_items.get(lab.rg, lab.vault, "site-refresh", container, late_b)
        raise AssertionError("an undiscovered VM was served")
    except HttpResponseError as exc:
        assert exc.status_code == 404
    provider = next(iter(lab.asr.replication_recovery_services_providers.list_by_replication_fabrics(
        lab.rg, lab.vault, "site-refresh")))
    lab.asr.replication_recovery_services_providers.begin_refresh_provider(lab.rg, lab.vault, "site-refresh",
                                                                           provider.name).result()
    wait_until(lambda: _protectable_names(lab, "site-refresh", container) == {"late-a", "late-b"},
               what="late-b discovered after the refresh")


def test_the_periodic_refresh_also_discovers_a_late_vm(lab):
    _add_host(lab, "HVDISC03", ["tick-a"])
    container = _site(lab, "site-periodic")
    lab.register_host("HVDISC03", "site-periodic")
    lab.on_loop(lambda: lab.world.host("HVDISC03").vms.append(_vm("tick-b")))
    interval = lab.admin("GET", "/azure/discovery")["refresh_interval_s"]
    lab.advance(interval + 1)
    assert _protectable_names(lab, "site-periodic", container) == {"tick-a", "tick-b"}


def test_discovery_knobs_refuse_bad_values(lab):
    before = lab.admin("GET", "/azure/discovery")
    try:
        lab.admin("POST", "/azure/discovery", {"delay_s": -1})
        raise AssertionError("a negative delay was accepted")
    except AssertionError as exc:
        assert "400" in str(exc)
    assert lab.admin("GET", "/azure/discovery") == before


def test_migrate_project_names_its_vault_in_the_server_migration_solution(lab):
    project = lab.endpoints["migrate_project"]
    base = f"/subscriptions/{lab.sub}/resourceGroups/{lab.rg}/providers/Microsoft.Migrate/migrateProjects/{project}"
    status, dummy, body = lab.raw("GET", base, api_version=MIGRATE_API)
    assert status == 200 and body["type"] == "Microsoft.Migrate/migrateProjects"
    status, dummy, solution = lab.raw("GET", base + "/solutions/Servers-Migration-ServerMigration",
                                      api_version=MIGRATE_API)
    assert status == 200
    assert solution["properties"]["details"]["extendedDetails"]["vaultId"].lower() == _vault_path(lab).lower()
    status, dummy, body = lab.raw("GET", base + "/solutions/Nope", api_version=MIGRATE_API)
    assert status == 404
