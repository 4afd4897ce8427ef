"""The azmigrate.hyperv.replicated_vms inventory plugin under ansible-inventory, against the lab's ARM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import azure_lab
from fleet_lab import FAILED_VM, fleet_lab, vm_names  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.lab
BIN = Path(sys.executable).parent
ITEMS_ROUTE = ("GET /subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/"
               "{vault}/replicationProtectedItems")
ONE_ITEM_ROUTE = ITEMS_ROUTE.replace("/replicationProtectedItems", "/replicationFabrics/{fabric}/"
                                     "replicationProtectionContainers/{container}/replicationProtectedItems/{item}")


def auth_env(lab) -> dict:
    """The credentials as the modules read them from the environment (AZURE_*), not in the inventory file."""
    info = azure_lab.azure(lab)
    return {"AZURE_SUBSCRIPTION_ID": info["subscription_id"], "AZURE_CLIENT_ID": info["client_id"],
            "AZURE_SECRET": info["client_secret"], "AZURE_TENANT": info["tenant_id"],
            "AZURE_CLOUD_ENVIRONMENT": info["cloud_environment"], "AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
            "REQUESTS_CA_BUNDLE": lab.ca_path}


def inventory_file(tmp_path: Path, name: str = "vaults.azmigrate.yml", **options) -> Path:
    document = {"plugin": "azmigrate.hyperv.replicated_vms",
                "vaults": [{"resource_group": azure_lab.RESOURCE_GROUP, "vault_name": azure_lab.VAULT}], **options}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def ansible_inventory(lab, path: Path, *arguments: str, env: dict | None = None):
    """ansible-inventory -i path arguments; (completed process, the lab's ARM requests it made)."""
    run_env = {**lab.ansible_env(), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", **auth_env(lab), **(env or {})}
    run_env.pop("ANSIBLE_INVENTORY", None)
    since = azure_lab.arm_requests(lab)["last_seq"]
    completed = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), *arguments], env=run_env,
                               cwd=path.parent, capture_output=True, text=True, timeout=300, check=False)
    return completed, azure_lab.arm_requests(lab, since)


def plain(value):
    """ansible-inventory's JSON without its markers: values read from Azure are untrusted (never templated), which
    --list shows as {"__ansible_unsafe": value}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return plain(value["__ansible_unsafe"])
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def listed(lab, path: Path, env: dict | None = None) -> tuple[dict, dict]:
    completed, requests = ansible_inventory(lab, path, "--list", env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return plain(json.loads(completed.stdout)), requests


def members(inventory: dict, group: str) -> set[str]:
    return set(inventory.get(group, {}).get("hosts", []))


def test_graph_groups_by_state_health_host_and_wave(fleet_lab, tmp_path):
    plan = tmp_path / "plan.yml"
    plan.write_text(yaml.safe_dump({"waves": [{"name": "wave-01", "vms": vm_names("HVA01")},
                                              {"name": "wave-02", "vms": vm_names("HVA02")[:2]}]}))
    path = inventory_file(tmp_path, plan_file=str(plan))
    completed, requests = ansible_inventory(fleet_lab, path, "--graph")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for group in ("@ready_for_cutover:", "@critical:", "@wave_01:", "@wave_02:", "@state_initial_replication:",
                  "@host_hva01:", "@site_site_a:"):
        assert group in completed.stdout, completed.stdout
    # One paged listing (the lab's one page of 8 items and the empty last page), the providers, the
    # cloud metadata and the failed VM's enable job: nothing per VM.
    assert requests["by_route"][ITEMS_ROUTE] == 2
    assert ONE_ITEM_ROUTE not in requests["by_route"]
    assert requests["total"] <= 2 + 3, requests

    inventory, _requests = listed(fleet_lab, path)
    assert members(inventory, "ready_for_cutover") == members(inventory, "state_protected") == set(vm_names("HVA01"))
    assert members(inventory, "critical") == members(inventory, "state_failed") == {FAILED_VM}
    assert members(inventory, "state_initial_replication") == set(vm_names("HVA02")) - {FAILED_VM}
    assert members(inventory, "wave_01") == set(vm_names("HVA01"))
    assert members(inventory, "wave_02") == set(vm_names("HVA02")[:2])
    assert members(inventory, "host_hva02") == set(vm_names("HVA02"))
    assert members(inventory, "vault_vault_migrate") == set(vm_names("HVA01") + vm_names("HVA02"))


def test_host_variables_are_replication_info_fields(fleet_lab, tmp_path):
    inventory, _requests = listed(fleet_lab, inventory_file(tmp_path))
    protected = inventory["_meta"]["hostvars"]["hva01-vm001"]
    assert protected["azmigrate_state"] == "protected" and protected["azmigrate_ready_for_cutover"] is True
    assert protected["azmigrate_host"] == "HVA01.contoso.local" and protected["azmigrate_site"] == "site-a"
    assert protected["azmigrate_progress_percent"] == 100 and protected["azmigrate_initial_replication"]["completed"]
    assert protected["azmigrate_rpo_seconds"] is not None
    assert "PlannedFailover" in protected["azmigrate_allowed_operations"] or \
        "TestFailover" in protected["azmigrate_allowed_operations"]
    assert protected["azmigrate_target"]["vm_name"] == "hva01-vm001"
    assert protected["azmigrate_target"]["resource_group_id"].endswith("/resourceGroups/" + azure_lab.TARGET_GROUP)
    assert protected["azmigrate_vault"] == azure_lab.VAULT and protected["azmigrate_wave"] is None
    failed = inventory["_meta"]["hostvars"][FAILED_VM]
    assert failed["azmigrate_health"] == "Critical" and failed["azmigrate_failure"]["code"] == "70094"
    assert failed["azmigrate_ready_for_cutover"] is False


def test_constructed_options_and_filters(fleet_lab, tmp_path):
    path = inventory_file(
        tmp_path, vars_prefix="asr_",
        filters={"hosts": ["hva01", "hva02.contoso.local"], "query": "[?state != 'failed']"},
        clusters={"hvclu01": ["HVA01.contoso.local", "hva02"]},
        compose={"ansible_host": "asr_vm_name ~ '.contoso.local'"},
        keyed_groups=[{"key": "asr_policy", "prefix": "policy"}],
        groups={"copying": "asr_state == 'initial_replication'"})
    inventory, _requests = listed(fleet_lab, path)
    hostvars = inventory["_meta"]["hostvars"]
    expected = set(vm_names("HVA01") + vm_names("HVA02")) - {FAILED_VM}
    assert set(hostvars) == expected
    assert hostvars["hva01-vm002"]["ansible_host"] == "hva01-vm002.contoso.local"
    assert hostvars["hva01-vm002"]["asr_cluster"] == "hvclu01" and "azmigrate_state" not in hostvars["hva01-vm002"]
    assert members(inventory, "policy_pol_a") == expected == members(inventory, "cluster_hvclu01")
    assert members(inventory, "copying") == expected - set(vm_names("HVA01"))


def test_wave_from_the_target_vm_tag_when_the_plan_does_not_place_the_vm(fleet_lab, tmp_path):
    plan = tmp_path / "plan-full.yml"   # the whole plan's waves have more keys; only name and vms are read
    plan.write_text(yaml.safe_dump({"waves": [{"name": "pilot", "vms": ["HVA01-VM003"], "hosts": ["HVA01"],
                                               "start_s": 0.0}], "totals": {"vms": 1}}))
    inventory, _requests = listed(fleet_lab, inventory_file(tmp_path, plan_file=str(plan), wave_tag=""))
    assert members(inventory, "wave_pilot") == {"hva01-vm003"}
    assert inventory["_meta"]["hostvars"]["hva01-vm003"]["azmigrate_wave"] == "pilot"


@pytest.mark.parametrize("options, words", [
    ({"filters": {"query": "[?health=='Critical'"}}, ["filters.query", "[?health=='Critical'", "JMESPath"]),
    ({"filters": {"query": "[].vm_name"}}, ["filters.query", "[].vm_name", "must select VMs"]),
    ({"filters": {"states": ["migrated"]}}, ["filters.states", "migrated", "protected"]),
    ({"filters": {"colour": ["red"]}}, ["filters", "colour", "query"]),
    ({"vaults": [{"resource_group": "rg-migrate"}]}, ["vaults[0]", "vault_name", "migrate_project"]),
    ({"plan_file": "/nonexistent/plan.yml"}, ["plan_file", "/nonexistent/plan.yml"]),
])
def test_bad_options_are_refused_naming_them(fleet_lab, tmp_path, options, words):
    completed, requests = ansible_inventory(fleet_lab, inventory_file(tmp_path, **options), "--list")
    assert completed.returncode != 0
    message = " ".join((completed.stdout + completed.stderr).split())
    for word in words:
        assert word in message, message
    if "[].vm_name" not in str(options):   # refused before anything is read from Azure
        assert requests["total"] == 0, requests


def test_wrong_secret_fails_with_azure_message_and_no_secret_in_output(fleet_lab, tmp_path):
    completed, _requests = ansible_inventory(fleet_lab, inventory_file(tmp_path), "--list",
                                             env={"AZURE_SECRET": "not-the-secret-123"})
    assert completed.returncode != 0
    assert "not-the-secret-123" not in completed.stdout + completed.stderr
    message = " ".join(completed.stderr.split())
    assert "Failed to list the registered Hyper-V hosts" in message and "vault-migrate" in message, message


def test_cache_serves_the_second_run_and_flush_reads_again(fleet_lab, tmp_path):
    path = inventory_file(tmp_path, cache=True, cache_plugin="ansible.builtin.jsonfile",
                          cache_connection=str(tmp_path / "cache"), cache_timeout=600)
    first, first_requests = listed(fleet_lab, path)
    second, second_requests = listed(fleet_lab, path)
    assert first_requests["by_route"][ITEMS_ROUTE] == 2
    assert second_requests["total"] == 0 and second == first
    completed, flushed = ansible_inventory(fleet_lab, path, "--list", "--flush-cache")
    assert completed.returncode == 0, completed.stderr
    assert flushed["by_route"][ITEMS_ROUTE] == 2


def test_ansible_doc_renders_with_examples(fleet_lab):
    completed = subprocess.run([str(BIN / "ansible-doc"), "-t", "inventory", "azmigrate.hyperv.replicated_vms"],
                               env=fleet_lab.ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    for text in ("vaults", "plan_file", "filters", "keyed_groups", "cache_plugin", "AZURE_CLIENT_ID", "EXAMPLES",
                 "plugin: azmigrate.hyperv.replicated_vms"):
        assert text in completed.stdout, text


def test_vault_of_a_migrate_project(fleet_lab, tmp_path):
    """The lab's Migrate project names the vault in its Server Migration solution (lab/azure/migrate.py)."""
    project = azure_lab.azure(fleet_lab)["migrate_project"]
    path = inventory_file(tmp_path, vaults=[{"resource_group": azure_lab.RESOURCE_GROUP, "migrate_project": project}])
    inventory, _requests = listed(fleet_lab, path)
    assert set(inventory["_meta"]["hostvars"]) == set(vm_names("HVA01") + vm_names("HVA02"))
    assert inventory["_meta"]["hostvars"]["hva01-vm001"]["azmigrate_vault"] == azure_lab.VAULT

    missing = inventory_file(tmp_path, name="missing.azmigrate.yml",
                             vaults=[{"resource_group": azure_lab.RESOURCE_GROUP, "migrate_project": "no-such-project"}])
    completed, _requests = ansible_inventory(fleet_lab, missing, "--list")
    message = " ".join(completed.stderr.split())
    assert completed.returncode != 0 and "no-such-project" in message and "vault_name" in message, message
