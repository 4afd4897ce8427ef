"""Bad input through the Azure-side modules, as a user writes it from the module docs: every case fails, its message
names the option and the value, and the lab's Azure is exactly as it was (GET /azure/world before and after, and no
ARM request that could change anything). Then the world checks that need a replicating VM: a test VM running in
another network than asked, a production network as test network, a cutover whose target VM name is taken, and a
policy the module creates, finds and removes again, each with check mode predicting the real run.

A lab of its own (host HVX01 with four VMs on site-m of vault-migrate, policy pol-m), so that these cases never meet
the VMs the other Azure tests replicate.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

# pylint: disable=wrong-import-position
from migration_lab import (  # noqa: F401
    RESOURCE_GROUP, SITE, TARGET_GROUP, TIME_SCALE, VAULT, another_vm, enable_args, estate_document, last_seq,
    make_runner, prepare_site, run_module, writes_since,
)
from azure_lab import session  # noqa: E402
from labfixture import LabProcess  # noqa: E402

pytestmark = pytest.mark.lab
HOSTS = {"HVX01": 4}
VAULT_ARGS = {"resource_group": RESOURCE_GROUP, "vault_name": VAULT}
BAD_INPUT_PLAYBOOK = "tests/integration/playbooks/azure_bad_inputs.yml"
TASKS = {"replication_policy": "Replication policy", "hyperv_site": "Hyper-V site", "registration_key": "Registration key",
         "log_storage_account": "Log storage account", "discovery": "Discovery", "vault_info": "Vault info",
         "installer_blob": "Installer blob", "replication": "Replication", "test_migration": "Test migration",
         "migration": "Migration"}
REPLICATING = "hvx01-vm02"      # two disks, replicating and protected (fixture)
CUTOVER = "hvx01-vm01"          # replicating and protected, target name taken in one test
IDLE = "hvx01-vm03"             # never replicated


@pytest.fixture(scope="module")
def bad_lab(tmp_path_factory):
    state = tmp_path_factory.mktemp("bad-input-lab")
    estate = estate_document(HOSTS)
    # The lab clock starts at the controller's time: registration_key judges a key's validity by the controller's
    # clock, as it must on Azure (tests/integration/test_azure_setup.py does the same).
    estate["clock"]["epoch"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    (state / "estate.json").write_text(json.dumps(estate))
    lab = LabProcess.start(state / "lab", estate=state / "estate.json", time_scale=TIME_SCALE)
    prepare_site(lab, tuple(HOSTS))
    run = make_runner(lab, tmp_path_factory.mktemp("bad-input-playbooks"))
    for name in (REPLICATING, CUTOVER):
        playbook_run, result = run_module(run, "replication", name=name, wait_for="protected", poll_interval=1,
                                          **enable_args(lab, name))
        assert playbook_run.rc == 0 and result["state"] == "protected", playbook_run.output
    yield lab, run
    lab.stop()


def world(lab) -> dict:
    return lab.admin.get("/azure/world")


def bad_inputs(lab, work) -> list[tuple[str, str, dict, list[str]]]:
    """(case, module, args, words the message must hold: the option, the value, what is allowed)."""
    azure = lab.info["azure"]
    target = enable_args(lab, IDLE)
    other_subscription = azure["log_storage_account_id"].replace(azure["subscription_id"], "11111111-2222-3333-4444-555555555555")
    key = str(work / "site-m.VaultCredentials")
    policy = dict(VAULT_ARGS, name="pol-new")
    return [
        # replication_policy
        ("policy name with a space", "replication_policy", dict(policy, name="pol x"), ["name is 'pol x'", "letters, digits"]),
        ("policy name with an encoded character", "replication_policy", dict(policy, name="pol%2Fx"),
         ["name is 'pol%2Fx'", "letters, digits"]),
        ("empty policy name", "replication_policy", dict(policy, name=""), ["name is empty"]),
        ("app-consistent frequency over the retention", "replication_policy",
         dict(policy, recovery_point_retention_hours=4, app_consistent_snapshot_frequency_hours=6),
         ["app_consistent_snapshot_frequency_hours is 6", "recovery_point_retention_hours is 4", "at most the retention"]),
        ("app-consistent frequency over the existing policy's retention", "replication_policy",
         dict(VAULT_ARGS, name="pol-m", app_consistent_snapshot_frequency_hours=6),
         ["app_consistent_snapshot_frequency_hours is 6", "recovery_point_retention_hours is 4 (the policy's current"]),
        ("retention below zero", "replication_policy", dict(policy, recovery_point_retention_hours=-1),
         ["recovery_point_retention_hours is -1", "from 0 to 24"]),
        ("site name with a space", "replication_policy", dict(policy, sites=["site m"]), ["sites[0] is 'site m'"]),
        ("site that does not exist", "replication_policy", dict(policy, sites=["site-nope"]),
         ["site 'site-nope'", "site-m"]),
        ("empty vault name", "replication_policy", dict(policy, vault_name=""), ["vault_name is empty"]),
        ("vault name starting with a hyphen", "replication_policy", dict(policy, vault_name="-vault"),
         ["vault_name is '-vault'", "starting with a letter"]),
        ("resource group ending with a period", "replication_policy", dict(policy, resource_group="rg-migrate."),
         ["resource_group is 'rg-migrate.'", "not ending with '.'"]),
        # hyperv_site
        ("site name with a slash", "hyperv_site", dict(VAULT_ARGS, name="site/x"), ["name is 'site/x'"]),
        ("empty site name", "hyperv_site", dict(VAULT_ARGS, name=""), ["name is empty"]),
        ("empty host to remove", "hyperv_site", dict(VAULT_ARGS, name=SITE, remove_hosts=[""]), ["remove_hosts[0] is empty"]),
        ("site timeout of zero", "hyperv_site", dict(VAULT_ARGS, name="site-new", timeout=0), ["timeout is 0"]),
        # registration_key
        ("key for a site the vault does not have", "registration_key", dict(VAULT_ARGS, site="site-nope", dest=key),
         ["site 'site-nope'", "not a Hyper-V site"]),
        ("key for a site name Azure refuses", "registration_key", dict(VAULT_ARGS, site="site m", dest=key),
         ["site is 'site m'"]),
        ("key valid for no hour", "registration_key", dict(VAULT_ARGS, site=SITE, dest=key, validity_hours=0),
         ["validity_hours is 0", "from 1 to 240"]),
        ("key in a directory that does not exist", "registration_key",
         dict(VAULT_ARGS, site=SITE, dest="/nonexistent/keys/site.VaultCredentials"), ["dest is /nonexistent/keys/"]),
        # log_storage_account
        ("storage account name with upper case and underscore", "log_storage_account",
         {"resource_group": RESOURCE_GROUP, "name": "Logs_1", "location": "eastus"}, ["name is 'Logs_1'", "3 to 24"]),
        ("empty location", "log_storage_account", {"resource_group": RESOURCE_GROUP, "name": "stlogsnew", "location": ""},
         ["location is ''", "region"]),
        ("resource group with forbidden characters", "log_storage_account",
         {"resource_group": "rg migrate!", "name": "stlogsnew", "location": "eastus"}, ["resource_group is 'rg migrate!'"]),
        # discovery
        ("discovery of a site the vault does not have", "discovery", dict(VAULT_ARGS, site="site-nope", refresh=False, timeout=5),
         ["site 'site-nope'", "not a Hyper-V site"]),
        ("discovery of an empty VM name", "discovery", dict(VAULT_ARGS, vms=[""]), ["vms[0] is empty"]),
        ("discovery poll interval of zero", "discovery", dict(VAULT_ARGS, poll_interval=0), ["poll_interval is 0"]),
        # vault_info and authentication
        ("vault name of one character", "vault_info", dict(VAULT_ARGS, vault_name="v"), ["vault_name is 'v'", "2 to 50"]),
        ("empty Migrate project", "vault_info", {"resource_group": RESOURCE_GROUP, "migrate_project": ""},
         ["migrate_project is empty"]),
        ("malformed tenant", "vault_info", dict(VAULT_ARGS, tenant="not a tenant!"),
         ["tenant is '", "GUID", "domain name"]),   # the value itself is masked: tenant is no_log, as in azure.azcollection
        ("empty tenant", "vault_info", dict(VAULT_ARGS, tenant=""), ["tenant is empty"]),
        ("ca_cert that does not exist", "vault_info", dict(VAULT_ARGS, ca_cert="/nonexistent/lab-ca.pem"),
         ["ca_cert is '/nonexistent/lab-ca.pem'", "no such file"]),
        ("plain-http cloud endpoint", "vault_info", dict(VAULT_ARGS, cloud_environment=azure["cloud_environment"].replace(
            "https://", "http://")), ["cloud_environment is 'http://", "https://"]),
        ("plain-http authority", "vault_info", dict(VAULT_ARGS, adfs_authority_url=azure["authority_url"].replace(
            "https://", "http://")), ["adfs_authority_url is 'http://", "https://"]),
        ("empty subscription", "vault_info", dict(VAULT_ARGS, subscription_id=""), ["subscription_id is empty"]),
        # installer_blob
        ("staging account name with upper case", "installer_blob",
         {"resource_group": RESOURCE_GROUP, "storage_account": "Staging01", "src": key + ".missing"},
         ["storage_account is 'Staging01'", "lowercase"]),
        # replication
        ("replication in a site the vault does not have", "replication", dict(VAULT_ARGS, name=IDLE, site="site-nope", **target),
         ["site 'site-nope' not found in vault 'vault-migrate'", SITE]),
        ("replication site name Azure refuses", "replication", dict(VAULT_ARGS, name=IDLE, site="bad/site", **target),
         ["site is 'bad/site'"]),
        ("subnet the target network does not have", "replication", dict(VAULT_ARGS, name=IDLE, **dict(target, target_subnet="nope")),
         ["target_subnet 'nope'", "default"]),
        ("subnet name Azure refuses", "replication", dict(VAULT_ARGS, name=IDLE, **dict(target, target_subnet="bad subnet!")),
         ["target_subnet is 'bad subnet!'"]),
        ("target network that does not exist", "replication",
         dict(VAULT_ARGS, name=IDLE, **dict(target, target_network="vnet-nope")), ["target_network", "vnet-nope"]),
        ("target resource group that does not exist", "replication",
         dict(VAULT_ARGS, name=IDLE, **dict(target, target_resource_group="rg-nope")),
         ["target_resource_group 'rg-nope' does not exist"]),
        ("target VM name ending with a hyphen", "replication", dict(VAULT_ARGS, name=IDLE, target_vm_name="web-", **target),
         ["target_vm_name is 'web-'", "ending with a letter or digit"]),
        ("target VM name of another replicating VM", "replication",
         dict(VAULT_ARGS, name=IDLE, target_vm_name=REPLICATING, **target),
         [f"'{REPLICATING}'", "already the target name of replicated VM"]),
        ("log storage account in another subscription", "replication",
         dict(VAULT_ARGS, name=IDLE, **dict(target, log_storage_account_id=other_subscription)),
         ["log_storage_account_id", "is in subscription 11111111-2222-3333-4444-555555555555", "vault replicates into"]),
        ("availability set in another subscription", "replication",
         dict(VAULT_ARGS, name=IDLE, availability_set_id=other_subscription.replace(
             "Microsoft.Storage/storageAccounts", "Microsoft.Compute/availabilitySets"), **target),
         ["availability_set_id", "is in subscription 11111111-2222-3333-4444-555555555555"]),
        ("policy name Azure refuses", "replication", dict(VAULT_ARGS, name=IDLE, policy="pol m", **target),
         ["policy is 'pol m'"]),
        ("disk the replicating VM does not have", "replication",
         dict(VAULT_ARGS, name=REPLICATING, disks=["no-such-disk"]), ["disks names 'no-such-disk'", f"{REPLICATING}-os"]),
        ("empty VM name", "replication", dict(VAULT_ARGS, name="", **target), ["name is empty"]),
        ("network by name without a target resource group", "replication",
         dict(VAULT_ARGS, name=IDLE, **{k: v for k, v in target.items() if k != "target_resource_group"}),
         ["target_resource_group is required"]),
        ("log storage account id of another resource type", "replication",
         dict(VAULT_ARGS, name=IDLE, **dict(target, log_storage_account_id=azure["log_storage_account_id"].replace(
             "Microsoft.Storage/storageAccounts", "Microsoft.Compute/disks"))),
         ["log_storage_account_id is '", "Microsoft.Storage/storageAccounts"]),
        # test_migration
        ("test VM in the VM's own target network", "test_migration",
         dict(VAULT_ARGS, name=REPLICATING, network=azure["target_network"]),
         ["network", azure["target_network"], "allow_production_network"]),
        ("test VM in a network listed as production", "test_migration",
         dict(VAULT_ARGS, name=REPLICATING, network="vnet-test", production_networks=["vnet-test"]),
         ["production_networks", "vnet-test", "allow_production_network"]),
        ("test migration in a site the vault does not have", "test_migration",
         dict(VAULT_ARGS, name=REPLICATING, site="site-nope", network="vnet-test"), ["site 'site-nope' not found", SITE]),
        ("test network that does not exist", "test_migration", dict(VAULT_ARGS, name=REPLICATING, network="vnet-nope"),
         ["'vnet-nope'", "not a virtual network"]),
        ("test network name Azure refuses", "test_migration", dict(VAULT_ARGS, name=REPLICATING, network="bad net!"),
         ["network is 'bad net!'"]),
        # migration
        ("migration in a site the vault does not have", "migration", dict(VAULT_ARGS, name=REPLICATING, site="site-nope"),
         ["site 'site-nope' not found", SITE]),
        ("migrated VM name Azure refuses", "migration", dict(VAULT_ARGS, name=IDLE, target_vm_name="bad_name"),
         ["target_vm_name is 'bad_name'"]),
        ("migrated VM in a resource group that does not exist", "migration",
         dict(VAULT_ARGS, name=IDLE, target_resource_group="rg-nope"), ["target_resource_group 'rg-nope' does not exist"]),
    ]


def run_cases(run, cases, auth=None):
    """One ansible-playbook for all ``cases``; {case: the module's result}."""
    extra = {"cases": [{"case": case, "module": module, "args": args} for case, module, args, _words in cases]}
    if auth is not None:
        extra["azure_auth"] = auth
    playbook_run = run(BAD_INPUT_PLAYBOOK, extra_vars=extra)
    results = {}
    for module, task in TASKS.items():
        if not any(module == case_module for _case, case_module, _args, _words in cases):
            continue
        for entry in playbook_run.result("localhost", task).get("results", []):
            results[entry["item"]["case"]] = entry
    return playbook_run, results


def test_every_bad_input_is_refused_naming_the_option_and_value_and_azure_is_unchanged(bad_lab, tmp_path):
    lab, run = bad_lab
    cases = bad_inputs(lab, tmp_path)
    before, since = world(lab), last_seq(lab)
    playbook_run, results = run_cases(run, cases)
    failures = []
    for case, _module, _args, words in cases:
        result = results.get(case)
        if result is None:
            failures.append(f"{case}: no result")
            continue
        message = result.get("msg", "")
        missing = [word for word in words if word not in message]
        # failed_when in the playbook: the task result is not failed exactly when the module failed, as expected.
        if result.get("failed") or result.get("failed_when_result") is not False or missing or result.get("changed"):
            failures.append(f"{case}: failed={result.get('failed')} changed={result.get('changed')} missing={missing} "
                            f"msg={message!r}")
    assert not failures, "\n".join(failures) + "\n" + playbook_run.output[-3000:]
    assert len(cases) >= 40 and len({module for _c, module, _a, _w in cases}) == len(TASKS)
    assert writes_since(lab, since) == {}
    assert world(lab) == before


def test_a_test_vm_in_another_network_is_a_difference_never_ok_unchanged(bad_lab):
    lab, run = bad_lab
    network = session(lab).network()
    network.virtual_networks.begin_create_or_update(TARGET_GROUP, "vnet-isolated", {
        "location": lab.info["azure"]["location"], "properties": {
            "addressSpace": {"addressPrefixes": ["10.77.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.77.1.0/24"}}]}}).result()
    playbook_run, result = run_module(run, "test_migration", name=REPLICATING, network="vnet-test")
    assert playbook_run.rc == 0 and result["state"] == "test_failover", playbook_run.output
    try:
        # Asked for another network while the test VM runs in vnet-test: a failure naming both, nothing changes.
        before, since = world(lab), last_seq(lab)
        playbook_run, result = run_module(run, "test_migration", name=REPLICATING, network="vnet-isolated")
        assert playbook_run.rc != 0 and not result.get("changed"), playbook_run.output
        assert "runs in network 'vnet-test'" in result["msg"] and "'vnet-isolated'" in result["msg"]
        assert "restart_if_different" in result["msg"]
        assert world(lab) == before and writes_since(lab, since) == {}

        # Check mode predicts the restart and changes nothing; the real run restarts it in the network asked for.
        playbook_run, result = run_module(run, "test_migration", check=True, name=REPLICATING, network="vnet-isolated",
                                          restart_if_different=True)
        assert playbook_run.rc == 0 and result["changed"], playbook_run.output
        assert world(lab) == before and writes_since(lab, since) == {}
        playbook_run, result = run_module(run, "test_migration", name=REPLICATING, network="vnet-isolated",
                                          restart_if_different=True)
        assert playbook_run.rc == 0 and result["changed"], playbook_run.output
        assert [job["scenario"] for job in result["jobs"]] == ["TestFailoverCleanup", "TestFailover"]
        assert result["test_vm"]["nics"][0]["subnet_id"].endswith("/virtualNetworks/vnet-isolated/subnets/default")

        # A re-run asking the same changes nothing.
        since = last_seq(lab)
        playbook_run, result = run_module(run, "test_migration", name=REPLICATING, network="vnet-isolated",
                                          restart_if_different=True)
        assert playbook_run.rc == 0 and not result["changed"] and writes_since(lab, since) == {}, playbook_run.output
    finally:
        playbook_run, result = run_module(run, "test_migration", name=REPLICATING, state="absent")
        assert playbook_run.rc == 0, playbook_run.output


def test_a_production_network_is_allowed_only_when_asked(bad_lab):
    lab, run = bad_lab
    target_network = lab.info["azure"]["target_network"]
    playbook_run, result = run_module(run, "test_migration", check=True, name=REPLICATING, network=target_network,
                                      allow_production_network=True)
    assert playbook_run.rc == 0 and result["changed"], playbook_run.output


def test_a_cutover_whose_target_vm_name_is_taken_is_refused_before_the_failover_in_check_mode_too(bad_lab):
    lab, run = bad_lab
    compute = session(lab).compute()
    blocker = another_vm(lab, CUTOVER)
    try:
        before, since = world(lab), last_seq(lab)
        for check in (True, False):
            playbook_run, result = run_module(run, "migration", check=check, name=CUTOVER)
            assert playbook_run.rc != 0 and not result.get("changed"), playbook_run.output
            assert f"an Azure VM '{CUTOVER}' already exists in resource group '{TARGET_GROUP}'" in result["msg"]
            assert "target_vm_name" in result["msg"]
        assert world(lab) == before and writes_since(lab, since) == {}
        assert lab.admin.host("HVX01")["vms"][0]["state"] == "Running"
    finally:
        compute.virtual_machines.begin_delete(TARGET_GROUP, blocker).result()


def test_a_policy_is_stored_under_its_name_and_the_module_removes_it_again(bad_lab, tmp_path):
    lab, run = bad_lab
    policy = {**VAULT_ARGS, "name": "pol_new-1", "recovery_point_retention_hours": 2,
              "app_consistent_snapshot_frequency_hours": 2, "timeout": 300}
    absent = {**VAULT_ARGS, "name": "pol_new-1", "state": "absent", "timeout": 300}
    for args, exists in ((policy, True), (absent, False)):
        before = world(lab)
        playbook_run, checked = _policy(run, args, check=True)
        assert playbook_run.rc == 0 and checked["changed"] and world(lab) == before, playbook_run.output
        playbook_run, real = _policy(run, args)
        assert playbook_run.rc == 0 and real["changed"] == checked["changed"], playbook_run.output
        assert ("pol_new-1" in world(lab)["vaults"][VAULT]["policies"]) is exists
        since = last_seq(lab)
        playbook_run, again = _policy(run, args)
        assert playbook_run.rc == 0 and not again["changed"] and writes_since(lab, since) == {}, playbook_run.output


def _policy(run, args, check=False):
    playbook_run = run(BAD_INPUT_PLAYBOOK, extra_vars={"cases": [{"case": "policy", "module": "replication_policy",
                                                                  "args": args, "fails": False}]}, check=check)
    result = playbook_run.result("localhost", TASKS["replication_policy"])["results"][0]
    assert not result.get("failed"), result.get("msg")
    return playbook_run, result


def test_a_key_whose_site_name_is_not_the_sites_is_replaced_and_the_site_reported_as_the_vault_names_it(bad_lab, tmp_path):
    lab, run = bad_lab
    dest = tmp_path / "site.VaultCredentials"
    args = {**VAULT_ARGS, "site": SITE.upper(), "dest": str(dest)}
    key = _module(run, "registration_key", args)
    assert key["changed"] and key["site"] == SITE and f"<SiteName>{SITE}</SiteName>" in dest.read_text()
    assert not _module(run, "registration_key", args)["changed"]
    # The same vault and site id, another SiteName: the provider would register under that name; never kept.
    dest.write_text(dest.read_text().replace(f"<SiteName>{SITE}</SiteName>", "<SiteName>site-other</SiteName>"))
    before = world(lab)
    checked = _module(run, "registration_key", args, check=True)
    assert checked["changed"] and "SiteName 'site-other'" in checked["reason"] and world(lab) == before
    replaced = _module(run, "registration_key", args)
    assert replaced["changed"] and replaced["site"] == SITE and f"<SiteName>{SITE}</SiteName>" in dest.read_text()


def _module(run, module, args, check=False):
    playbook_run = run(BAD_INPUT_PLAYBOOK, extra_vars={"cases": [{"case": module, "module": module, "args": args,
                                                                  "fails": False}]}, check=check)
    result = playbook_run.result("localhost", TASKS[module])["results"][0]
    assert not result.get("failed"), result.get("msg")
    return result
