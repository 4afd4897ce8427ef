"""Option values on their real domain (module_utils/_azure_names.py) and the per-VM decisions built on them
(production test networks, a test VM in another network, failover targets, target ids in another subscription,
the app-consistent frequency against the retention): pure functions, each message naming the option and the value."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _azure_names as azure_names
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import (
    failover_target_problems,
    production_network_problem,
    running_test_vm_difference,
    subscription_problems,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import plan_policy, snapshot_problems
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import vault_option_problems

SUB = "7c943c1b-5122-4097-90c8-861411bdd574"
GROUP = "/subscriptions/%s/resourceGroups/rg-migrated" % SUB
VNET = GROUP + "/providers/Microsoft.Network/virtualNetworks/vnet-migrated"
TEST_VNET = GROUP + "/providers/Microsoft.Network/virtualNetworks/vnet-test"


@pytest.mark.parametrize("kind, good, bad", [
    ("resource_group", ["rg", "rg-migrate_(1).x", "a" * 90], ["", " ", "rg.", "rg migrate", "a" * 91, "rg/x"]),
    ("vault", ["vault-migrate", "v1"], ["v", "-vault", "1vault", "vault_x", "a" * 51]),
    ("storage_account", ["stlogs01", "abc"], ["ab", "StLogs", "st_logs", "a" * 25]),
    ("virtual_network", ["vnet-migrated", "v_", "a.b"], ["v", "-vnet", "vnet-", "vnet x", "a" * 65]),
    ("subnet", ["default", "s", "back_"], ["", "-s", "s.", "bad subnet!", "a" * 81]),
    ("vm", ["web01", "a", "a" * 63], ["web-", "-web", "web_01", "web.01", "a" * 64]),
    ("policy", ["pol-m", "pol_new-1", "p"], ["pol x", "pol%2Fx", "pol/x", "-pol", "pol.x", "a" * 65]),
    ("site", ["site-m", "site.a"], ["site m", "site/x", "-site", "site?"]),
])
def test_names_follow_azure_naming_rules_per_resource_type(kind, good, bad):
    assert [name for name in good if azure_names.name_problem("option", name, kind)] == []
    for name in bad:
        message = azure_names.name_problem("option", name, kind)
        assert message and message.startswith("option is "), name
        assert (repr(name) in message) or "empty" in message


def test_a_name_not_given_is_fine_and_an_empty_one_is_named_empty():
    assert azure_names.name_problem("vault_name", None, "vault") is None
    assert azure_names.name_problem("vault_name", "", "vault").startswith("vault_name is empty; it must be 2 to 50")
    assert azure_names.text_problem("tenant", "  ") == "tenant is empty; give a value or leave the option out"


def test_vault_options_shared_by_every_vault_module():
    assert vault_option_problems({"resource_group": "rg-migrate", "vault_name": "vault-migrate"}) == []
    assert vault_option_problems({"resource_group": "rg.", "vault_name": "", "migrate_project": " "}) == [
        "resource_group is 'rg.'; it must be 1 to 90 letters, digits, '-', '_', '.', '(' and ')', not ending with '.'",
        "vault_name is empty; it must be 2 to 50 letters, digits and hyphens, starting with a letter",
        "migrate_project is empty; give a value or leave the option out"]


@pytest.mark.parametrize("tenant, ok", [
    ("72f988bf-86f1-41af-91ab-2d7cd011db47", True), ("contoso.onmicrosoft.com", True), ("contoso.com", True),
    ("tenant-id", False), ("not a tenant!", False), ("https://login.microsoftonline.com/x", False), ("contoso", False)])
def test_tenant_is_a_guid_or_a_domain_name(tenant, ok):
    message = azure_names.tenant_problem(tenant)
    assert (message is None) is ok
    if not ok:
        assert message.startswith("tenant is %r" % tenant)


def test_cloud_endpoints_must_be_https_and_files_must_exist(tmp_path):
    assert azure_names.https_problem("cloud_environment", "AzureCloud") is None
    assert azure_names.https_problem("cloud_environment", "https://management.example/") is None
    assert "must be an https:// URL" in azure_names.https_problem("cloud_environment", "http://management.example/")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    assert azure_names.file_problem("ca_cert", str(bundle)) is None
    assert azure_names.file_problem("ca_cert", str(tmp_path / "nope.pem")) == "ca_cert is %r; no such file" % str(
        tmp_path / "nope.pem")


def test_numbers_have_bounds_and_zero_is_handled_the_same_everywhere():
    assert azure_names.int_problem("timeout", 0, 1) == "timeout is 0; it must be at least 1"
    assert azure_names.int_problem("hours", 25, 0, 24) == "hours is 25; it must be a whole number from 0 to 24"
    assert azure_names.int_problem("hours", 0, 0, 24) is None and azure_names.int_problem("hours", None, 0, 24) is None


def test_app_consistent_snapshots_at_most_the_retention_and_zero_means_none():
    settings = {"recovery_point_retention_hours": 4, "app_consistent_snapshot_frequency_hours": 6}
    message = snapshot_problems(settings, settings)[0]
    assert message.startswith("app_consistent_snapshot_frequency_hours is 6 but recovery_point_retention_hours is 4;")
    assert snapshot_problems({"recovery_point_retention_hours": 0, "app_consistent_snapshot_frequency_hours": 0}, {}) == []
    assert snapshot_problems({"recovery_point_retention_hours": 4, "app_consistent_snapshot_frequency_hours": 4}, {}) == []


def test_the_policy_plan_checks_the_merged_settings_of_an_existing_policy():
    current = {"recovery_point_retention_hours": 4, "app_consistent_snapshot_frequency_hours": 2,
               "replication_interval": 300}
    desired = {"recovery_point_retention_hours": 1, "app_consistent_snapshot_frequency_hours": None,
               "replication_interval": None}
    plan = plan_policy("present", "pol-m", current, desired, [], [], [], [])
    assert plan["problems"] == ["app_consistent_snapshot_frequency_hours is 2 (the policy's current or default value) "
                                "but recovery_point_retention_hours is 1; the snapshot frequency must be 0 (no "
                                "application-consistent snapshots) or at most the retention"]
    # A new policy given only a short retention would get the default frequency of 4 hours: refused the same way.
    plan = plan_policy("present", "pol-new", None, desired, [], [], [], [])
    assert plan["problems"] and plan["policy"] == "create"


def _item(network=VNET, group=GROUP, name="web01", subnet="default"):
    nic = {"nicId": "n1", "selectionType": "SelectedByUser",
           "ipConfigs": [{"isPrimary": True, "recoverySubnetName": subnet}]}
    return {"id": "/item", "properties": {"providerSpecificDetails": {
        "instanceType": "HyperVReplicaAzure", "recoveryAzureVmName": name, "recoveryAzureResourceGroupId": group,
        "selectedRecoveryAzureNetworkId": network, "selectedSourceNicId": "n1", "vmNics": [nic]}}}


def test_a_production_network_is_refused_as_test_network_unless_allowed():
    item = _item()
    message = production_network_problem(item, VNET.upper())
    assert message.startswith("network %r is the VM's own target network" % VNET.upper())
    assert "allow_production_network=true" in message
    assert production_network_problem(item, VNET, allow_production_network=True) is None
    assert production_network_problem(item, TEST_VNET) is None
    assert "production_networks" in production_network_problem(item, TEST_VNET, [TEST_VNET])


def test_a_running_test_vm_in_another_network_is_a_difference():
    summary = {"name": "web01-test", "nics": [{"subnet_id": VNET + "/subnets/default"}]}
    assert running_test_vm_difference(summary, VNET) is None
    assert running_test_vm_difference(summary, TEST_VNET) == (
        "test VM 'web01-test' runs in network 'vnet-migrated', not in network 'vnet-test' asked for")
    no_nics = running_test_vm_difference({"name": "web01-test", "nics": []}, TEST_VNET)
    assert no_nics.endswith("runs in network none, not in network 'vnet-test' asked for")
    assert running_test_vm_difference(None, TEST_VNET) is None


def test_failover_targets_are_checked_before_a_failover():
    vnet = {"name": "vnet-migrated", "properties": {"subnets": [{"name": "default"}]}}
    assert failover_target_problems(_item(), None, vnet) == []
    problems = failover_target_problems(_item(subnet="gone"), {"name": "web01"}, vnet)
    assert problems[0].startswith("an Azure VM 'web01' already exists in resource group 'rg-migrated'")
    assert problems[1] == ("its target subnet 'gone' is not a subnet of network 'vnet-migrated' any more (it has "
                           "default)")
    assert failover_target_problems(_item(), None, None) == ["its target network %r does not exist any more" % VNET]
    assert failover_target_problems(_item(network=None), None, None)[0].startswith("the VM has no target network")


def test_target_ids_in_another_subscription_are_refused_by_name():
    other = VNET.replace(SUB, "11111111-2222-3333-4444-555555555555")
    assert subscription_problems({"network": VNET, "resource_group": GROUP}, SUB) == []
    assert subscription_problems({"network": other}, SUB) == [
        "target_network %r is in subscription 11111111-2222-3333-4444-555555555555, but the vault replicates into "
        "subscription %s: give a resource of that subscription" % (other, SUB)]
