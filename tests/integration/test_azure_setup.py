"""From an empty vault to replicable VMs with the collection's modules only, on a lab of its own.

The vault is found from the lab's Azure Migrate project; hyperv_site, registration_key, replication_provider
(over WinRM), discovery, log_storage_account and replication_policy run as a user's playbook would
(tests/integration/playbooks/azure_setup.yml), and the world is checked through the lab's admin API.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from azure_lab import auth_defaults, run_module, session
from labfixture import LabProcess

pytestmark = pytest.mark.lab
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
CALLBACK_PLUGINS = Path(__file__).resolve().parent / "callback_plugins"
HOSTS = {"HVS01": 2, "HVS02": 1}
SITE = "site-setup"
TIME_SCALE = 120.0


def estate_document() -> dict:
    def vm(name: str) -> dict:
        return {"name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "azmigrate-setup-tests:" + name)),
                "generation": 2, "state": "Running", "memory_mb": 2048, "processor_count": 2,
                "switch": "vSwitch-External", "disks": [{"path": f"D:\\Hyper-V\\{name}\\{name}-os.vhdx", "size_gb": 1}]}

    # The lab clock starts at the controller's time: registration_key judges a key's validity by the controller's
    # clock, as it must on Azure, and the lab's DRConfigurator by the lab clock.
    epoch = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"clock": {"epoch": epoch},
            "defaults": {"os": {"caption": "Microsoft Windows Server 2022 Datacenter", "version": "10.0.20348",
                                "build": 20348},
                         "domain": "contoso.local", "domain_role": 3, "hyperv_role": True, "dotnet_release": 528449,
                         "strong_crypto": {"x64": 1, "x86": 1}},
            "hosts": [{"name": host, "volumes": [{"name": "C:\\", "label": "System", "size_gb": 127, "free_gb": 60},
                                                 {"name": "D:\\", "label": "VMs", "size_gb": 4096, "free_gb": 3000}],
                       "vms": [vm(f"{host.lower()}-vm{n}") for n in range(1, count + 1)]} for host, count in HOSTS.items()]}


VMS = sorted(f"{host.lower()}-vm{n}" for host, count in HOSTS.items() for n in range(1, count + 1))


@pytest.fixture(scope="module")
def setup_lab(tmp_path_factory):
    state = tmp_path_factory.mktemp("setup-lab")
    estate = state / "estate.json"
    estate.write_text(json.dumps(estate_document()))
    lab = LabProcess.start(state / "lab", estate=estate, time_scale=TIME_SCALE)
    yield lab
    lab.stop()


def run_setup(lab: LabProcess, work: Path, check: bool = False):
    """ansible-playbook azure_setup.yml against the lab; (rc, output, {task: [results]})."""
    work.mkdir(parents=True, exist_ok=True)
    number = len(list(work.glob("vars-*.json"))) + 1
    setup = lab.admin.post("/setup-files", {"name": "AzureSiteRecoveryProvider.exe", "provider_version": "5.24.0902.3",
                                            "agent_version": "2.0.9277.0"})
    info = lab.info["azure"]
    variables = {"azure_auth": auth_defaults(lab), "project_resource_group": info["resource_group"],
                 "migrate_project": info["migrate_project"], "site": SITE, "key_path": str(work / "site.VaultCredentials"),
                 "setup_file_url": setup["url"], "setup_file_sha256": setup["sha256"], "vms": VMS,
                 "log_storage_account": "stmigratelogsetup", "location": info["location"], "policy": "pol-setup"}
    vars_path, results_path = work / f"vars-{number}.json", work / f"results-{number}.json"
    vars_path.write_text(json.dumps(variables))
    command = [str(Path(sys.executable).parent / "ansible-playbook"),
               str(PROJECT_ROOT / "tests/integration/playbooks/azure_setup.yml"), "-i", str(lab.inventory),
               "-e", f"@{vars_path}", "-e", "ansible_python_interpreter=" + sys.executable] + ["--check", "--diff"] * check
    env = {**lab.ansible_env(), "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
           "ANSIBLE_CALLBACKS_ENABLED": "integration_results", "AZMIGRATE_TEST_RESULTS": str(results_path),
           "ANSIBLE_RETRY_FILES_ENABLED": "False"}
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
                               check=False)
    recorded = json.loads(results_path.read_text()) if results_path.exists() else {"results": []}
    by_task: dict[str, list[dict]] = {}
    for entry in recorded["results"]:
        by_task.setdefault(entry["task"], []).append(entry["result"])
    return completed.returncode, completed.stdout + completed.stderr, by_task


def site_of(lab: LabProcess) -> dict | None:
    return next((s for s in lab.admin.get("/azure/sites") if s["site"] == SITE), None)


def test_check_mode_on_an_empty_vault_creates_nothing(setup_lab, tmp_path):
    rc, output, results = run_setup(setup_lab, tmp_path, check=True)
    # The hosts cannot register to a site that check mode did not create, so the play stops there.
    site = results["Create the Hyper-V site"][0]
    assert site["changed"] is True and site["diff"] == {"before": {"site": None, "hosts": []},
                                                        "after": {"site": SITE, "hosts": []}}
    assert site["vault_name"] == setup_lab.info["azure"]["vault_name"]   # found from the Migrate project
    assert site_of(setup_lab) is None, output
    assert not (tmp_path / "site.VaultCredentials").exists()
    assert rc != 0


def test_empty_vault_to_replicable_vms_with_modules_only_and_a_second_run_changes_nothing(setup_lab, tmp_path):
    lab = setup_lab
    rc, output, results = run_setup(lab, tmp_path)
    assert rc == 0, output
    site = site_of(lab)
    assert site is not None and site["created"] and site["vault"] == lab.info["azure"]["vault_name"]
    assert sorted(p["host"] for p in site["providers"]) == sorted(HOSTS)
    assert all(p["connected"] for p in site["providers"])
    assert sorted(vm for p in site["providers"] for vm in p["discovered_vms"]) == VMS
    assert len(site["certificates"]) == 1

    key = tmp_path / "site.VaultCredentials"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    check = lab.admin.post("/azure/credentials/check", {"xml": key.read_text()})
    assert check["valid"] and check["site_name"] == SITE and check["vault_name"] == lab.info["azure"]["vault_name"]
    key_result = results["Write the registration key"][0]
    assert key_result["changed"] is True and "VaultDetails" not in json.dumps(key_result)   # content never returned

    discovery = results["Wait for the hosts and their VMs"][0]
    assert sorted(v["name"] for v in discovery["vms"]) == VMS and discovery["missing_vms"] == []
    assert discovery["changed"] is False
    ready = results["Check that the site is ready to replicate"][0]
    assert ready["unpaired_sites"] == [] and ready["missing_vms"] == []

    storage = results["Make sure the target region has a log storage account"][0]
    assert storage["changed"] is True and storage["id"].endswith("/storageAccounts/stmigratelogsetup")
    account = session(lab).storage().storage_accounts.get_properties(lab.info["azure"]["resource_group"],
                                                                     "stmigratelogsetup")
    assert account.kind == "StorageV2" and account.sku.name == "Standard_LRS" and account.minimum_tls_version == "TLS1_2"
    assert account.location == lab.info["azure"]["location"]

    # The VMs are replicable: discovered in a site whose container is paired with the policy.
    containers = {c["site"]: c for c in lab.admin.get("/azure/sites")}
    assert containers[SITE]["providers"]

    rc, output, again = run_setup(lab, tmp_path)
    assert rc == 0, output
    changed = {task: [r.get("changed") for r in entries] for task, entries in again.items()}
    assert all(not any(flags) for flags in changed.values()), changed
    assert len(site_of(lab)["certificates"]) == 1      # the key on disk was kept, no new certificate


def test_a_site_with_registered_hosts_is_not_removed(setup_lab, tmp_path):
    lab = setup_lab
    if site_of(lab) is None or not site_of(lab)["providers"]:
        pytest.skip("needs the site of the previous test")
    info = lab.info["azure"]
    run = run_module(lab, "hyperv_site", {"resource_group": info["resource_group"], "vault_name": info["vault_name"],
                                          "name": SITE, "state": "absent"}, tmp=tmp_path)
    assert run.rc != 0
    assert "still has registered hosts" in run.result["msg"] and "HVS01" in run.result["msg"]
    assert run.mutations() == {} and site_of(lab) is not None


def test_discovery_times_out_naming_what_is_missing(setup_lab, tmp_path):
    info = setup_lab.info["azure"]
    run = run_module(setup_lab, "discovery", {"resource_group": info["resource_group"],
                                              "migrate_project": info["migrate_project"], "site": SITE,
                                              "hosts": ["HVS01", "HVS09"], "vms": [VMS[0], "no-such-vm"],
                                              "timeout": 3, "poll_interval": 1}, tmp=tmp_path)
    assert run.rc != 0
    message = run.result["msg"]
    assert "Timed out after 3 s" in message and "HVS09" in message and "no-such-vm" in message
    assert run.result["missing_vms"] == ["no-such-vm"] and run.result["missing_hosts"] == ["HVS09"]
    assert [vm["name"] for vm in run.result["vms"]] == [VMS[0]]


def test_log_storage_account_refuses_a_premium_account_and_changes_nothing(setup_lab, tmp_path):
    info = setup_lab.info["azure"]
    storage = session(setup_lab).storage()
    storage.storage_accounts.begin_create(info["resource_group"], "stpremiumlog", {
        "location": info["location"], "sku": {"name": "Premium_LRS"}, "kind": "StorageV2"}).result()
    run = run_module(setup_lab, "log_storage_account", {"resource_group": info["resource_group"], "name": "stpremiumlog",
                                                        "location": info["location"]}, tmp=tmp_path)
    assert run.rc != 0 and "SKU is Premium_LRS" in run.result["msg"] and run.mutations() == {}
    run = run_module(setup_lab, "log_storage_account", {"resource_group": info["resource_group"], "name": "Bad_Name",
                                                        "location": info["location"]}, tmp=tmp_path)
    assert run.rc != 0 and "name is 'Bad_Name'" in run.result["msg"] and run.requests["total"] == 0


def test_registration_key_refuses_bad_options_before_any_request(setup_lab, tmp_path):
    info = setup_lab.info["azure"]
    run = run_module(setup_lab, "registration_key", {"resource_group": info["resource_group"],
                                                     "vault_name": info["vault_name"], "site": SITE,
                                                     "dest": str(tmp_path / "key.VaultCredentials"),
                                                     "validity_hours": 0}, tmp=tmp_path)
    assert run.rc != 0 and "validity_hours is 0" in run.result["msg"] and run.requests["total"] == 0
    run = run_module(setup_lab, "registration_key", {"resource_group": info["resource_group"],
                                                     "vault_name": info["vault_name"], "site": "no-such-site",
                                                     "dest": str(tmp_path / "key.VaultCredentials")}, tmp=tmp_path)
    assert run.rc != 0 and "'no-such-site' is not a Hyper-V site" in run.result["msg"] and run.mutations() == {}
    assert not (tmp_path / "key.VaultCredentials").exists()
