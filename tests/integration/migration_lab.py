"""A lab for the replication, test_migration and migration modules, and ansible-playbook run against it.

    from migration_lab import migration_lab, migration_playbook   # pytest fixtures (session scope)

``migration_lab`` is a lab of its own (tests/labfixture.py) on a small estate: hosts HVM01 and HVM02
with small VMs (1-2 GiB disks, so initial replication takes lab seconds), registered to site
``site-m`` of the seeded vault ``vault-migrate`` with policy ``pol-m`` associated, all through the
real ARM API with the collection's module_utils and the hosts' registration through the admin API
(as tests/integration/azure_lab.py does for its estate). Nothing is replicated yet.

``migration_playbook(playbook, extra_vars=None, check=False, diff=False)`` runs ansible-playbook on
localhost with the lab's Azure reached only through the modules' standard options (``azure_auth``
extra var: cloud_environment = the lab's ARM URL, the lab CA as ca_cert), and returns tests/harness/playbook.py's
PlaybookRun (rc, output, per-task results, recap).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

INTEGRATION = Path(__file__).resolve().parent
TESTS = INTEGRATION.parent
PROJECT_ROOT = TESTS.parent
for path in (str(TESTS), str(INTEGRATION), str(PROJECT_ROOT / ".collections")):
    if path not in sys.path:
        sys.path.insert(0, path)

# pylint: disable=wrong-import-position
from harness.playbook import playbook_command, playbook_env, run_playbook, write_vars  # noqa: E402
from labfixture import LabProcess  # noqa: E402
from azure_lab import RESOURCE_GROUP, VAULT, TARGET_GROUP, auth_defaults, create_site, session, _wait  # noqa: E402

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api  # noqa: E402


SITE = "site-m"
POLICY = "pol-m"
HOSTS = {"HVM01": 10, "HVM02": 6}
TIME_SCALE = 600      # lab seconds per real second while the tests run: a planned failover takes about a second
PLAYBOOK_TIMEOUT_S = 600


def vm_name(host: str, number: int) -> str:
    return f"{host.lower()}-vm{number:02d}"


def estate_document(hosts: dict[str, int] | None = None) -> dict:
    hosts = HOSTS if hosts is None else hosts

    def vm(host: str, number: int) -> dict:
        name = vm_name(host, number)
        os_disk = f"D:\\Hyper-V\\{name}\\{name}-os.vhdx"
        disks = [{"path": os_disk, "size_gb": 1}]
        if number % 2 == 0:
            disks.append({"path": f"D:\\Hyper-V\\{name}\\{name}-data.vhdx", "size_gb": 2})
        document = {"name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "azmigrate-migration-tests:" + name)),
                    "generation": 2, "state": "Running", "memory_mb": 2048, "processor_count": 2,
                    "switch": "vSwitch-External", "disks": disks}
        if number == 8:   # two NICs, and the data disk listed first (the firmware boots from the OS disk)
            document.update(more_adapters=["vSwitch-External"], boot_order=[os_disk], disks=disks[::-1])
        return document

    return {"clock": {"epoch": "2025-06-02T06:00:00Z"},
            "defaults": {"os": {"caption": "Microsoft Windows Server 2022 Datacenter", "version": "10.0.20348",
                                "build": 20348},
                         "domain": "contoso.local", "domain_role": 3, "hyperv_role": True, "dotnet_release": 528449,
                         "strong_crypto": {"x64": 1, "x86": 1}},
            "hosts": [{"name": host, "volumes": [{"name": "C:\\", "label": "System", "size_gb": 127, "free_gb": 60},
                                                 {"name": "D:\\", "label": "VMs", "size_gb": 4096, "free_gb": 3000}],
                       "vms": [vm(host, n) for n in range(1, count + 1)]} for host, count in hosts.items()]}


def prepare_site(lab: LabProcess, hosts: tuple[str, ...], site: str = SITE, policy: str = POLICY) -> None:
    """Site ``site`` with ``hosts`` registered and ``policy`` associated (what prepare_hosts and
    replication_policy do on a real estate)."""
    client = session(lab).site_recovery()
    create_site(lab, client, site, hosts)
    started = asr_api.create_policy(client, RESOURCE_GROUP, VAULT, policy, {
        "instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": 4,
        "applicationConsistentSnapshotFrequencyInHours": 1, "replicationInterval": 300})
    _wait(client, started, f"create {policy}")
    container = next(c["name"] for c in asr_api.list_containers(client, RESOURCE_GROUP, VAULT) if f"/{site}/" in c["id"])
    policy_id = asr_api.get_policy(client, RESOURCE_GROUP, VAULT, policy)["id"]
    _wait(client, asr_api.create_mapping(client, RESOURCE_GROUP, VAULT, site, container, f"{policy}-{site}", policy_id),
          f"map {policy}")


def start_lab(state_dir: Path, hosts: dict[str, int] | None = None, time_scale: float = TIME_SCALE) -> LabProcess:
    hosts = HOSTS if hosts is None else hosts
    estate = state_dir / "estate.json"   # JSON is YAML: lab/estate.py reads it as is
    state_dir.mkdir(parents=True, exist_ok=True)
    estate.write_text(json.dumps(estate_document(hosts)))
    lab = LabProcess.start(state_dir / "lab", estate=estate, time_scale=time_scale)
    prepare_site(lab, tuple(hosts))
    return lab


def azure_vars(lab: LabProcess) -> dict:
    """Extra vars every test playbook takes: the auth options, the vault and the landing zone."""
    info = lab.info["azure"]
    return {"azure_auth": auth_defaults(lab), "vault_resource_group": RESOURCE_GROUP, "vault_name": VAULT,
            "target_resource_group": TARGET_GROUP, "target_network": info["target_network"],
            "test_network": info["test_network"]}


def enable_args(lab: LabProcess, name: str | None = None) -> dict:
    """What enabling replication needs besides the VM: the landing zone, the cache (log) storage account the lab's
    Migrate project has, the OS type and the OS disk (``<name>-os``), which Azure's discovery does not report."""
    args = {"target_resource_group": TARGET_GROUP, "target_network": lab.info["azure"]["target_network"],
            "target_subnet": "default", "log_storage_account_id": lab.info["azure"]["log_storage_account_id"],
            "os_type": "Windows"}
    if name:
        args["os_disk"] = f"{name}-os"
    return args


def replicate_vars(lab: LabProcess, vms: list[str]) -> dict:
    """Extra vars of playbooks/replicate.yml that replicate ``vms`` into the landing zone and wait until all are
    protected."""
    return {"azmigrate_azure_auth": "{{ azure_auth }}", "replicate_resource_group": RESOURCE_GROUP,
            "replicate_vault_name": VAULT, "replicate_site": SITE, "replicate_policy": POLICY,
            "replicate_target_resource_group": TARGET_GROUP, "replicate_target_network": lab.info["azure"]["target_network"],
            "replicate_target_subnet": "default", "replicate_os_type": "Windows",
            "replicate_log_storage_account_id": lab.info["azure"]["log_storage_account_id"],
            "replicate_vms": [{"name": vm, "os_disk": f"{vm}-os"} for vm in vms],
            "replicate_poll_interval": 1, "replicate_timeout": 900}


def make_runner(lab: LabProcess, work: Path):
    """run(playbook, extra_vars=None, check=False, diff=False, timeout=PLAYBOOK_TIMEOUT_S) -> PlaybookRun."""
    counter = iter(range(1, 1_000_000))

    def run(playbook, *args, extra_vars=None, check=False, diff=False, timeout=PLAYBOOK_TIMEOUT_S, popen=False):
        number = next(counter)
        results_path = work / f"results-{number}.json"
        vars_path = write_vars(work / f"vars-{number}.json", {**azure_vars(lab), **(extra_vars or {})})
        command = playbook_command(playbook, "localhost,", [vars_path], check, diff, args)
        env = playbook_env(lab.ansible_env(), results_path, drop=("ANSIBLE_INVENTORY",),
                           extra={"ANSIBLE_PYTHON_INTERPRETER": sys.executable})
        if popen:   # for tests that interrupt a run: the caller kills it
            return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), results_path
        return run_playbook(command, env, results_path, timeout)

    run.lab = lab
    return run


@pytest.fixture(scope="session")
def migration_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory.mktemp("migration-lab"))
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def migration_playbook(migration_lab, tmp_path_factory):
    return make_runner(migration_lab, tmp_path_factory.mktemp("migration-playbooks"))


MODULE_PLAYBOOK = "tests/integration/playbooks/azure_migration_module.yml"
TASKS = {"replication": "Replication", "replication_info": "Replication info", "test_migration": "Test migration",
         "migration": "Migration"}
WRITE_METHODS = ("PUT", "PATCH", "POST", "DELETE")


def run_module(run, module: str, check: bool = False, diff: bool = False, **module_args):
    """(PlaybookRun, the task's result) of one module run through ansible-playbook."""
    args = {"resource_group": RESOURCE_GROUP, "vault_name": VAULT, **module_args}
    playbook_run = run(MODULE_PLAYBOOK, extra_vars={"module": module, "module_args": args}, check=check, diff=diff)
    return playbook_run, playbook_run.result("localhost", TASKS[module])


def last_seq(lab: LabProcess) -> int:
    return lab.admin.get("/azure/requests?since=0")["last_seq"]


def writes_since(lab: LabProcess, since: int) -> dict:
    """ARM requests that could change something (PUT, PATCH, POST, DELETE) since ``since``, by route.

    Token requests go to Entra, not ARM; reads of list keys (POST .../listKeys) do not occur here."""
    counts = lab.admin.get(f"/azure/requests?since={since}")["by_route"]
    return {route: n for route, n in counts.items() if route.split(" ", 1)[0] in WRITE_METHODS}


def item_of(lab: LabProcess, vm: str) -> dict | None:
    return next((item for item in lab.admin.get("/azure/items") if item["vm"] == vm), None)


def azure_vms_named(lab: LabProcess, name: str) -> list[dict]:
    compute = session(lab).compute()
    return [vm.as_dict() for vm in compute.virtual_machines.list(TARGET_GROUP) if vm.name.lower() == name.lower()]


def another_vm(lab, name):
    """A VM ``name`` in the target group that has nothing to do with replication (a disk, a NIC, the VM)."""
    azure, location = session(lab), lab.info["azure"]["location"]
    disk = azure.compute().disks.begin_create_or_update(TARGET_GROUP, name + "-other-os", {
        "location": location, "sku": {"name": "Standard_LRS"},
        "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 4, "osType": "Windows"}}).result()
    subnet = azure.network().subnets.get(TARGET_GROUP, lab.info["azure"]["target_network"], "default")
    nic = azure.network().network_interfaces.begin_create_or_update(TARGET_GROUP, name + "-other-nic", {
        "location": location, "properties": {"ipConfigurations": [
            {"name": "ipconfig1", "properties": {"subnet": {"id": subnet.id}}}]}}).result()
    azure.compute().virtual_machines.begin_create_or_update(TARGET_GROUP, name, {
        "location": location, "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {"osDisk": {"createOption": "Attach", "osType": "Windows", "managedDisk": {"id": disk.id}}},
            "networkProfile": {"networkInterfaces": [{"id": nic.id}]}}}).result()
    return name
