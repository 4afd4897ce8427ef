"""Site Recovery infrastructure: fabrics, providers, containers, policies, mappings, protectable
items, jobs and the 202 answers, vault certificates and the vault credentials check."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from inprocess_azure import Site, wait_until
from lab import registrations, vault_credentials
from lab.estate import build_host
from lab.hosts import installers
from lab.hosts.state import REGISTRATION_KEY

ASR_API = "2025-08-01"


def _vault_path(lab) -> str:
    return f"/subscriptions/{lab.sub}/resourceGroups/{lab.rg}/providers/Microsoft.RecoveryServices/vaults/{lab.vault}"


def test_mutation_answers_202_with_job_headers_and_the_job_runs(lab):
    status, headers, body = lab.raw("PUT", _vault_path(lab) + "/replicationFabrics/site-headers",
                                    {"properties": {"customDetails": {"instanceType": "HyperVSite"}}})
    assert status == 202 and body is None
    job_id = headers["x-ms-request-id"]
    job_name = job_id.rsplit("/", 1)[1]
    assert job_id.startswith("/Subscriptions/") and "/replicationJobs/" in job_id
    assert headers["location"].endswith(f"/replicationFabrics/site-headers/operationresults/{job_name}?api-version={ASR_API}")
    assert f"/replicationOperationStatus/{job_name}?" in headers["azure-asyncoperation"]
    assert int(headers["retry-after"]) >= 1 and int(headers["retry-after-ms"]) == 50   # 30 lab s at 600x

    def finished():
        job = lab.asr.replication_jobs.get(lab.rg, lab.vault, job_name)
        return job.properties.state in ("Succeeded", "Failed") and job

    job = wait_until(finished, what="CreateSite job")
    assert job.properties.state == "Succeeded" and job.properties.state_description == "Completed"
    assert job.properties.scenario_name == "CreateSite"
    assert [t.name for t in job.properties.tasks] == ["RegisterVmmTask"]
    status, dummy, operation = lab.raw("GET", _vault_path(lab) + f"/replicationOperationStatus/{job_name}")
    assert status == 200 and operation["status"] == "Succeeded"
    status, dummy, fabric = lab.raw("GET", _vault_path(lab) + f"/replicationFabrics/site-headers/operationresults/{job_name}")
    assert status == 200 and fabric["name"] == "site-headers"


def test_fresh_job_is_not_started_with_null_scenario(lab):
    lab.on_loop(lambda: lab.world.clock.set_time_scale(1.0))
    try:
        status, headers, dummy = lab.raw("PUT", _vault_path(lab) + "/replicationFabrics/site-slow",
                                         {"properties": {"customDetails": {"instanceType": "HyperVSite"}}})
        job = lab.asr.replication_jobs.get(lab.rg, lab.vault, headers["x-ms-request-id"].rsplit("/", 1)[1])
        assert job.properties.state == "NotStarted"      # test_failover.json entry 20
        assert job.properties.scenario_name is None and job.properties.tasks == []
    finally:
        lab.on_loop(lambda: lab.world.clock.set_time_scale(600.0))


def test_policy_create_update_validate_delete(lab):
    asr = lab.asr
    asr.replication_policies.begin_create(lab.rg, lab.vault, "policy-scratch", {"properties": {"providerSpecificInput": {
        "instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": 2,
        "applicationConsistentSnapshotFrequencyInHours": 1, "replicationInterval": 300}}}).result()
    policy = asr.replication_policies.get(lab.rg, lab.vault, "policy-scratch")
    assert policy.properties.provider_specific_details.recovery_point_history_duration_in_hours == 2
    asr.replication_policies.begin_update(lab.rg, lab.vault, "policy-scratch", {"properties": {
        "replicationProviderSettings": {"instanceType": "HyperVReplicaAzure", "replicationInterval": 30}}}).result()
    assert asr.replication_policies.get(lab.rg, lab.vault, "policy-scratch").properties \
        .provider_specific_details.replication_interval == 30
    with pytest.raises(HttpResponseError) as caught:
        asr.replication_policies.begin_create(lab.rg, lab.vault, "policy-bad", {"properties": {"providerSpecificInput": {
            "instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": 48}}})
    assert caught.value.status_code == 400 and "recoveryPointHistoryDuration" in caught.value.error.message
    asr.replication_policies.begin_delete(lab.rg, lab.vault, "policy-scratch").result()
    assert "policy-scratch" not in [p.name for p in asr.replication_policies.list(lab.rg, lab.vault)]


def test_site_container_mapping_and_registered_host(lab, site):
    asr = lab.asr
    fabric = asr.replication_fabrics.get(lab.rg, lab.vault, site.name)
    assert fabric.properties.custom_details.hyper_v_hosts[0].name == "HV01.contoso.local"
    containers = list(asr.replication_protection_containers.list_by_replication_fabrics(lab.rg, lab.vault, site.name))
    assert [c.name for c in containers] == [site.container]
    assert containers[0].properties.pairing_status == "Paired" and containers[0].properties.role == "Primary"
    mapping = asr.replication_protection_container_mappings.get(*site.args(f"{site.name}-mapping"))
    assert mapping.properties.state == "Paired" and mapping.properties.target_protection_container_id == "Microsoft Azure"
    provider = next(iter(asr.replication_recovery_services_providers.list(lab.rg, lab.vault)))
    assert provider.properties.connection_status == "Connected" and provider.properties.last_heart_beat
    asr.replication_recovery_services_providers.begin_refresh_provider(lab.rg, lab.vault, site.name, provider.name).result()


def test_protectable_items_are_the_hosts_vms_and_page(lab, site):
    pager = lab.asr.replication_protectable_items.list_by_replication_protection_containers(*site.args(), take="2")
    names = [i.properties.friendly_name for i in pager]
    assert sorted(names) == ["Prüf-VM", "app01", "file01", "web01"]   # the demo estate names one VM in German
    web01 = site.protectable("web01")
    assert web01.name == lab.vm("HV01", "web01").id
    details = web01.properties.custom_details
    assert details["instanceType"] == "HyperVVirtualMachine" and details["generation"] == "2"
    assert {d["vhdType"] for d in details["diskDetails"]} == {"Data"}     # the caller names the OS disk
    got = lab.asr.replication_protectable_items.get(*site.args(web01.name))
    assert got.properties.friendly_name == "web01"


def test_unregistered_host_vms_are_not_protectable(lab):
    other = Site(lab, "site-empty", [])
    assert list(lab.asr.replication_protectable_items.list_by_replication_protection_containers(*other.args())) == []


def test_provider_disconnected_knob(lab, site, clean_faults):
    lab.admin("POST", "/azure/providers/HV01", {"connected": False})
    provider = next(iter(lab.asr.replication_recovery_services_providers.list_by_replication_fabrics(
        lab.rg, lab.vault, site.name)))
    assert provider.properties.connection_status == "NotConnected"
    heartbeat = provider.properties.last_heart_beat
    lab.advance(3600)
    fabric = lab.asr.replication_fabrics.get(lab.rg, lab.vault, site.name)
    assert fabric.properties.health_error_details[0].error_code == "708"
    assert lab.asr.replication_recovery_services_providers.get(
        lab.rg, lab.vault, site.name, provider.name).properties.last_heart_beat == heartbeat
    lab.admin("POST", "/azure/providers/HV01", {"connected": True})
    assert lab.asr.replication_recovery_services_providers.get(
        lab.rg, lab.vault, site.name, provider.name).properties.connection_status == "Connected"


def _credentials(lab, site, hours: int) -> str:
    vault_path = _vault_path(lab)
    status, dummy, certificate = lab.raw("PUT", f"{vault_path}/certificates/CN=CB_{lab.vault}-1-06-2025-vaultcredentials",
                                         {"certificateCreateOptions": {"validityInHours": hours}}, api_version="2023-04-01")
    assert status == 200 and certificate["properties"]["validTo"]
    dummy, dummy, vault = lab.raw("GET", vault_path, api_version="2023-04-01")
    dummy, dummy, fabric = lab.raw("GET", f"{vault_path}/replicationFabrics/{site.name}")
    return vault_credentials.from_certificate_answer(vault, certificate, fabric)


def test_vault_credentials_file_is_valid_until_it_expires(lab, site):
    xml = _credentials(lab, site, hours=2)
    # What DRConfigurator's simulation calls; it raises CredentialsRejected for a file it refuses.
    direct = lab.on_loop(lambda: registrations.check(xml, lab.world.clock.now(), lab.world.azure))
    assert direct.vault_location == "eastus" and direct.resource_group == lab.rg
    check = lab.admin("POST", "/azure/credentials/check", {"xml": xml})
    assert check["valid"] and check["vault_name"] == lab.vault and check["site_name"] == site.name
    assert check["container_id"] == site.container
    lab.advance(3 * 3600)
    check = lab.admin("POST", "/azure/credentials/check", {"xml": xml})
    assert not check["valid"] and "expired" in check["reason"]
    forged = xml.replace("<ResourceName>" + lab.vault, "<ResourceName>other-vault")
    assert "does not exist" in lab.admin("POST", "/azure/credentials/check", {"xml": forged})["reason"]


def test_drconfigurator_checks_the_key_against_the_vault(lab):
    """DRConfigurator /r (lab/hosts/installers.py) checks the file through lab/vault_credentials.py with the Azure
    side: a vault and site it holds, a key that vault issued; the vault then lists the host as a provider."""
    keys_site = Site(lab, "site-keys", [])

    def new_host():
        host = build_host({"name": "HVKEY01", "domain": "contoso.local", "domain_role": 3}, None)
        host.write_file(installers.CONFIGURATOR, b"MZ lab binary\n", lab.world.clock.isoformat())
        lab.world.add_host(host)
        return host

    host = lab.on_loop(new_host)
    vault = lab.on_loop(lambda: lab.world.azure.vault(lab.rg, lab.vault))

    def register(vault_name: str, issuer) -> int:
        key = vault_credentials.issue(lab.sub, lab.rg, vault_name, "eastus", keys_site.name,
                                      keys_site.container.removeprefix("cloud_"), now=lab.world.clock.now(), issuer=issuer)
        return lab.on_loop(installers.register, host, lab.world, key, "HVKEY01", None, None)

    assert register("vault-elsewhere", None) == 1
    assert register(lab.vault, None) == 1
    log = host.file(installers.CONFIGURATOR_LOG).content.decode()
    assert "The vault 'vault-elsewhere' named in the vault credentials file does not exist." in log
    assert "was not issued by the vault" in log
    assert register(lab.vault, vault) == 0
    assert host.registry.get_value(REGISTRATION_KEY, "ContainerId") == keys_site.container
    providers = lab.asr.replication_recovery_services_providers.list_by_replication_fabrics(lab.rg, lab.vault, keys_site.name)
    assert [p.properties.friendly_name for p in providers] == ["HVKEY01.contoso.local"]


def test_jobs_list_filters(lab, site):
    jobs = list(lab.asr.replication_jobs.list(lab.rg, lab.vault, filter="jobName eq 'AssociateProtectionProfile'"))
    assert jobs and {j.properties.scenario_name for j in jobs} == {"AssociateProtectionProfile"}
    assert [t.name for t in jobs[0].properties.tasks] == ["CloudPairingPrerequisitesCheck", "CloudPairingPrepareSite",
                                                          "CloudPairingPrepareCloud", "CloudPairingPairClouds"]
