"""A vault's sites, hosts, containers, policies and mappings, and replication-policy planning."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import same_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import policy_input
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import (
    hosts_by_provider,
    is_hyperv_site,
    normalize_container,
    normalize_host,
    normalize_mapping,
    normalize_policy,
    normalize_site,
    policy_changes,
    policy_settings,
    validate_policy_settings,
)

from asr_recordings import entry, needs_recordings


@needs_recordings
def test_recorded_sites_skip_vmm_fabrics():
    fabrics = entry("enable_dr.json", 4)["response_body"]["value"]
    sites = [normalize_site(f) for f in fabrics if is_hyperv_site(f)]
    assert [s["name"] for s in sites] == ["SiteRecoveryTestSite1", "ForPowershell"]
    site = normalize_site(entry("enable_dr.json", 5)["response_body"])
    assert site["internal_id"] == "f3ce4b50-831d-5af4-9c48-dcbc41521358" and site["health"] == "Normal"
    assert site["hosts"] == [{"name": "IDCLAB-A068.fareast.corp.microsoft.com", "mars_agent_version": "2.0.9202.0"}]


@needs_recordings
def test_recorded_container_mapping_and_policies():
    container = normalize_container(entry("enable_dr.json", 6)["response_body"]["value"][0])
    assert container == {"name": "cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358", "id": container["id"],
                         "site": "ForPowershell", "pairing_status": "Paired", "role": "Primary", "protected_item_count": 0}
    mapping = normalize_mapping(entry("enable_dr.json", 7)["response_body"]["value"][0])
    assert (mapping["name"], mapping["site"], mapping["policy"], mapping["state"], mapping["target"]) == (
        "B2AClP26mapping", "ForPowershell", "B2APolicyTest1", "Paired", "Microsoft Azure")
    assert mapping["container"] == "cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358"
    policies = [normalize_policy(p) for p in entry("enable_dr.json", 8)["response_body"]["value"]]
    assert policies[0] == {"name": "protectionprofile1", "id": policies[0]["id"], "replication_provider": "HyperVReplicaAzure",
                           "recovery_point_retention_hours": 4, "app_consistent_snapshot_frequency_hours": 2,
                           "replication_interval": 300}
    created = entry("create_policy.json", 6)["response_body"]
    assert policy_settings(created) == {"recovery_point_retention_hours": 1, "app_consistent_snapshot_frequency_hours": 0,
                                        "replication_interval": 30}


def test_unrecorded_container_role_and_other_providers():
    # An unpaired container has role "" (create_container_mapping.json entry 4).
    assert normalize_container({"name": "c", "properties": {"role": "", "pairingStatus": "NotPaired"}})["role"] is None
    assert policy_settings({"properties": {"providerSpecificDetails": {"instanceType": "A2A"}}}) is None


def test_host_normalisation_and_provider_map():
    provider = {"id": "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/replicationFabrics/"
                      "site1/replicationRecoveryServicesProviders/p1", "name": "p1",
                "properties": {"friendlyName": "HV01.contoso.local", "providerVersion": "5.24.0902.3",
                               "providerVersionState": "Latest", "connectionStatus": "Connected",
                               "lastHeartBeat": "2025-01-01T00:00:00Z", "protectedItemCount": 3, "healthErrorDetails": []}}
    host = normalize_host(provider)
    assert (host["name"], host["site"], host["provider_version"], host["connection_status"]) == (
        "HV01.contoso.local", "site1", "5.24.0902.3", "Connected")
    assert hosts_by_provider([provider]) == {provider["id"]: "HV01.contoso.local"}
    assert same_id(provider["id"], provider["id"].replace("/Subscriptions/", "/subscriptions/") + "/")


@pytest.mark.parametrize("desired, problems", [
    (dict(recovery_point_retention_hours=24, app_consistent_snapshot_frequency_hours=12, replication_interval=900), []),
    (dict(recovery_point_retention_hours=None, app_consistent_snapshot_frequency_hours=None, replication_interval=None), []),
    (dict(recovery_point_retention_hours=25), ["recovery_point_retention_hours is 25; it must be a whole number from 0 to 24"]),
    (dict(app_consistent_snapshot_frequency_hours=13),
     ["app_consistent_snapshot_frequency_hours is 13; it must be a whole number from 0 to 12"]),
    (dict(replication_interval=60), ["replication_interval is 60; it must be one of 30, 300, 900"]),
    (dict(recovery_point_retention_hours=-1, replication_interval=5), [
        "recovery_point_retention_hours is -1; it must be a whole number from 0 to 24",
        "replication_interval is 5; it must be one of 30, 300, 900"]),
])
def test_validate_policy_settings(desired, problems):
    assert validate_policy_settings(desired) == problems


def test_policy_changes_only_for_given_settings():
    current = {"recovery_point_retention_hours": 4, "app_consistent_snapshot_frequency_hours": 2, "replication_interval": 300}
    assert policy_changes(current, {"recovery_point_retention_hours": 4, "replication_interval": None}) == {}
    assert policy_changes(current, {"replication_interval": 30}) == {"replication_interval": (300, 30)}
    assert policy_changes(None, {"replication_interval": 30}) == {"replication_interval": (None, 30)}


def test_policy_input_uses_the_input_field_names():
    body = policy_input({"recovery_point_retention_hours": 1, "app_consistent_snapshot_frequency_hours": 0,
                         "replication_interval": 30})
    # create_policy.json entry 1's request body uses these names.
    assert body == {"instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": 1,
                    "applicationConsistentSnapshotFrequencyInHours": 0, "replicationInterval": 30}
