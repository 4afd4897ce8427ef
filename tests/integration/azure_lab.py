"""A lab for the Azure-side modules: a vault with Hyper-V sites, registered hosts and replicated VMs.

    from azure_lab import azure_lab, azure_vault   # pytest fixtures (session scope)

``azure_lab`` is a lab of its own (LabProcess, tests/labfixture.py) on a generated estate: hosts
HVA01-HVA04 with 250 VMs each (1,000 VMs, for the paging budget and bench/replication_info_listing.py)
and HVB01 with two VMs; it does not share host state with the Hyper-V-side integration tests.
``azure_vault`` prepares vault ``vault-migrate``: site ``site-a`` (HVA01-04, every VM replicating
with policy ``pol-a``) and site ``site-b`` (HVB01, no policy), all through the real ARM API
with the collection's own module_utils, and the hosts' registration through the admin API.

The modules reach the lab only through the standard options: ``module_defaults`` from
``auth_defaults(lab)`` (cloud_environment = the lab's ARM URL, the lab CA as ca_cert).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
PROJECT_ROOT = TESTS.parent
for path in (str(TESTS), str(PROJECT_ROOT / ".collections")):
    if path not in sys.path:
        sys.path.insert(0, path)

# pylint: disable=wrong-import-position
from harness.playbook import playbook_command, playbook_env, run_playbook, write_vars  # noqa: E402
from labfixture import LabProcess  # noqa: E402

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api, waiters as asr_waiters  # noqa: E402
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import AzureSession  # noqa: E402

RESOURCE_GROUP = "rg-migrate"
VAULT = "vault-migrate"
TARGET_GROUP = "rg-migrated"
SCALE_HOSTS = ("HVA01", "HVA02", "HVA03", "HVA04")
VMS_PER_SCALE_HOST = 250
SMALL_HOST = "HVB01"
REGISTRATION_KEY = r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery\Registration"
SETUP_THREADS = 16
# Lab seconds per real second during set-up: fast for the site, policy and mapping jobs; slower while
# 1,000 VMs start replicating, since the lab's replication model slows down sharply when many initial
# replications start within one of its ticks (reported to the lab's owner).
SETUP_TIME_SCALE = 600
ENABLE_TIME_SCALE = 5


def scale_host_names(count: int) -> tuple[str, ...]:
    """HVA01, HVA02, ...: the hosts of a bigger estate (bench/replication_info_listing.py)."""
    return tuple(f"HVA{number:02d}" for number in range(1, count + 1))


def estate_document(scale_hosts: tuple[str, ...] = SCALE_HOSTS, vms_per_host: int = VMS_PER_SCALE_HOST) -> dict:
    def vm(host: str, number: int) -> dict:
        name = f"{host.lower()}-vm{number:03d}"
        return {"name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "azmigrate-azure-tests:" + name)),
                "generation": 2, "state": "Running", "memory_mb": 2048, "processor_count": 2,
                "switch": "vSwitch-External", "disks": [{"path": f"D:\\Hyper-V\\{name}\\{name}-os.vhdx", "size_gb": 1}]}

    hosts = [{"name": host, "volumes": [{"name": "C:\\", "label": "System", "size_gb": 127, "free_gb": 60},
                                        {"name": "D:\\", "label": "VMs", "size_gb": 4096, "free_gb": 3000}],
              "vms": [vm(host, n) for n in range(1, (vms_per_host if host != SMALL_HOST else 2) + 1)]}
             for host in scale_hosts + (SMALL_HOST,)]
    return {"clock": {"epoch": "2025-06-02T06:00:00Z"},
            "defaults": {"os": {"caption": "Microsoft Windows Server 2022 Datacenter", "version": "10.0.20348",
                                "build": 20348},
                         "domain": "contoso.local", "domain_role": 3, "hyperv_role": True, "dotnet_release": 528449,
                         "strong_crypto": {"x64": 1, "x86": 1}},
            "hosts": hosts}


def azure(lab: LabProcess) -> dict:
    return lab.info["azure"]


def auth_defaults(lab: LabProcess, ca_cert: bool = True) -> dict:
    """Module options that point the modules at the lab's Azure (what a user of a private cloud writes)."""
    info = azure(lab)
    options = {"subscription_id": info["subscription_id"], "client_id": info["client_id"],
               "secret": info["client_secret"], "tenant": info["tenant_id"],
               "cloud_environment": info["cloud_environment"], "disable_instance_discovery": True}
    if ca_cert:
        options["ca_cert"] = lab.ca_path
    return options


def session(lab: LabProcess) -> AzureSession:
    params = dict(auth_defaults(lab), auth_source="auto")
    return AzureSession.from_params(params, environ={})


def arm_requests(lab: LabProcess, since: int = 0) -> dict:
    """The lab's ARM request log since sequence number ``since``: total, by_route, by_status, last_seq."""
    return lab.admin.get(f"/azure/requests?since={since}")


def _wait(client, started, what: str, timeout: float = 300) -> dict:
    return asr_waiters.wait_for_job(client, RESOURCE_GROUP, VAULT, started.job_name, timeout, what, started.retry_after)


def create_site(lab: LabProcess, client, site: str, hosts: tuple[str, ...]) -> None:
    """A Hyper-V site (fabric PUT with customDetails HyperVSite, Azure/azure-rest-api-specs#22016) and its hosts registered."""
    started = asr_api.start_operation(client.replication_fabrics.begin_create, RESOURCE_GROUP, VAULT, site,
                                      {"properties": {"customDetails": {"instanceType": "HyperVSite"}}})
    _wait(client, started, f"create site {site}")
    for host in hosts:
        lab.admin.patch(f"/hosts/{host}", {
            "registry": {REGISTRATION_KEY: {"SubscriptionId": azure(lab)["subscription_id"],
                                            "ResourceGroupName": RESOURCE_GROUP, "ResourceName": VAULT, "SiteName": site}},
            "services": {"dra": {"status": "Running", "start_type": "Automatic"}}})
    discover(client, site)


def discover(client, site: str) -> None:
    """Ask the site's providers to refresh and wait for it: the vault lists the hosts' VMs only once a provider's
    inventory reached it (up to 15 minutes after registration, or a refresh; lab/azure/discovery.py)."""
    for provider in asr_api.list_site_providers(client, RESOURCE_GROUP, VAULT, fabric_name=site):
        started = asr_api.refresh_provider(client, RESOURCE_GROUP, VAULT, fabric_name=site,
                                           provider_name=provider["name"])
        _wait(client, started, f"refresh {provider['properties']['friendlyName']}")


def enable_all(lab: LabProcess, client, site: str, policy: str) -> int:
    """Enable replication (managed-disk replication into rg-migrated) for every discovered VM of ``site``."""
    container = next(c["name"] for c in asr_api.list_containers(client, RESOURCE_GROUP, VAULT) if f"/{site}/" in c["id"])
    policy_id = asr_api.get_policy(client, RESOURCE_GROUP, VAULT, policy)["id"]
    protectable = list(client.replication_protectable_items.list_by_replication_protection_containers(
        RESOURCE_GROUP, VAULT, site, container))
    target_group = f"/subscriptions/{azure(lab)['subscription_id']}/resourceGroups/{TARGET_GROUP}"

    def enable(raw: dict) -> str:
        details = raw["properties"]["customDetails"]
        # Many VMs report only "Data" disks (Azure PowerShell's recorded tests); each lab VM has one disk, its OS disk.
        os_disk = next((d for d in details["diskDetails"] if d["vhdType"] == "OperatingSystem"), details["diskDetails"][0])
        body = {"properties": {"policyId": policy_id, "protectableItemId": raw["id"], "providerSpecificDetails": {
            "instanceType": "HyperVReplicaAzure", "hvHostVmId": details["sourceItemId"],
            "vmName": raw["properties"]["friendlyName"], "osType": "Windows", "vhdId": os_disk["vhdId"],
            "targetAzureVmName": raw["properties"]["friendlyName"], "targetAzureV2ResourceGroupId": target_group,
            "useManagedDisksForReplication": "true", "logStorageAccountId": azure(lab)["log_storage_account_id"]}}}
        return asr_api.start_operation(client.replication_protected_items.begin_create, RESOURCE_GROUP, VAULT, site,
                                       container, raw["name"], body).job_name

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        jobs = list(pool.map(enable, protectable))
    return len(jobs)


def items_settled(lab: LabProcess, count: int, timeout: float = 300) -> list[dict]:
    """Wait until ``count`` items exist and none is still in its enable job."""
    deadline = time.monotonic() + timeout
    while True:
        items = lab.admin.get("/azure/items")
        if len(items) >= count and not any(item["busy"] for item in items):
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(items)} items, {sum(i['busy'] for i in items)} still busy")
        time.sleep(1)


def prepare_vault(lab: LabProcess, scale_hosts: tuple[str, ...] = SCALE_HOSTS, settle_timeout: float = 300,
                  frozen_enable: bool = False) -> dict:
    """site-a (``scale_hosts``) with every VM replicating (policy pol-a), site-b with its host registered and nothing else.

    ``frozen_enable`` (for 10,000 VMs): the lab clock nearly stops while replication is enabled, then jumps past the
    enable jobs, so that no VM replicates - and costs the lab's replication model a pass - while the others are
    being enabled."""
    client = session(lab).site_recovery()
    lab.admin.post("/clock", {"time_scale": SETUP_TIME_SCALE})
    for kind in ("reads", "writes"):   # set-up traffic is not what the tests measure
        lab.admin.post("/azure/throttle", {"kind": kind, "capacity": 100000, "refill_per_s": 100000})
    try:
        create_site(lab, client, "site-a", scale_hosts)
        create_site(lab, client, "site-b", (SMALL_HOST,))
        started = asr_api.create_policy(client, RESOURCE_GROUP, VAULT, "pol-a", {
            "instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": 4,
            "applicationConsistentSnapshotFrequencyInHours": 1, "replicationInterval": 300})
        _wait(client, started, "create pol-a")
        container = next(c["name"] for c in asr_api.list_containers(client, RESOURCE_GROUP, VAULT) if "/site-a/" in c["id"])
        policy_id = asr_api.get_policy(client, RESOURCE_GROUP, VAULT, "pol-a")["id"]
        _wait(client, asr_api.create_mapping(client, RESOURCE_GROUP, VAULT, "site-a", container, "pol-a-site-a", policy_id),
              "map pol-a")
        lab.admin.post("/clock", {"time_scale": 0.0001 if frozen_enable else ENABLE_TIME_SCALE})
        enabled = enable_all(lab, client, "site-a", "pol-a")
        if frozen_enable:
            lab.admin.post("/clock", {"time_scale": 1, "advance_seconds": 300})   # every enable job ends
        items = items_settled(lab, enabled, settle_timeout)
    finally:
        lab.admin.delete("/azure/throttle")
        lab.admin.post("/clock", {"time_scale": 1})
    return {"items": len(items), "site_a_container": container}


# Each test module imports the fixtures below, which makes each module's copy a fixture of its own;
# the lab and its vault are shared through this cache, so a session starts one lab.
_SHARED: dict = {}


@pytest.fixture(scope="session")
def azure_lab(tmp_path_factory):
    created = "lab" not in _SHARED
    if created:
        state = tmp_path_factory.mktemp("azure-lab")
        estate = state / "estate.json"   # JSON is YAML: lab/estate.py reads it as is
        estate.write_text(json.dumps(estate_document()))
        _SHARED["lab"] = LabProcess.start(state / "lab", estate=estate)
    yield _SHARED["lab"]
    if created:   # session fixtures end together, after every module's tests
        _SHARED.pop("lab").stop()
        _SHARED.pop("vault", None)


@pytest.fixture(scope="session")
def azure_vault(azure_lab):
    if "vault" not in _SHARED:
        _SHARED["vault"] = prepare_vault(azure_lab)
    return _SHARED["vault"]


# --------------------------------------------------------------------------------------------------
# Running a module through ansible-playbook
# --------------------------------------------------------------------------------------------------

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "azure_module.yml"
TASK_NAMES = {"vault_info": "Read the vault", "replication_info": "Report the replicated VMs",
              "replication_resync": "Resynchronise the replicated VMs",
              "replication_policy": "Manage the replication policy", "installer_blob": "Stage the installer",
              "hyperv_site": "Manage the Hyper-V site", "registration_key": "Write the registration key",
              "log_storage_account": "Check the log storage account", "discovery": "Wait for discovery"}
MUTATING_METHODS = ("PUT", "PATCH", "POST", "DELETE")


class ModuleRun:
    """One module run: rc, the task's result, the output, and the ARM requests it made."""

    def __init__(self, rc: int, status: str | None, result: dict, output: str, requests: dict):
        self.rc, self.status, self.result, self.output, self.requests = rc, status, result, output, requests

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def mutations(self) -> dict:
        """ARM requests that could change something (by route)."""
        return {route: count for route, count in self.requests["by_route"].items()
                if route.split(" ", 1)[0] in MUTATING_METHODS}


def run_module(lab: LabProcess, module: str, module_args: dict, check: bool = False, diff: bool = False,
               auth: dict | None = None, env: dict | None = None, tmp: Path | None = None) -> ModuleRun:
    """ansible-playbook with playbooks/azure_module.yml; auth defaults to auth_defaults(lab)."""
    import tempfile
    work = Path(tmp or tempfile.mkdtemp(prefix="azure-module-"))
    work.mkdir(parents=True, exist_ok=True)
    number = len(list(work.glob("vars-*.json"))) + 1
    results_path = work / f"results-{number}.json"
    variables = {"module": module, "module_args": module_args, "azure_auth": auth_defaults(lab) if auth is None else auth}
    vars_path = write_vars(work / f"vars-{number}.json", variables)
    command = playbook_command(PLAYBOOK, "localhost,", [vars_path], check, diff,
                               ["-e", "ansible_python_interpreter=" + sys.executable])
    lab_env = lab.ansible_env()
    given = env or {}
    # The Azure settings of the environment: only what the test gives.
    dropped = [name for name in lab_env if (name.startswith("AZURE_") or name == "REQUESTS_CA_BUNDLE") and name not in given]
    since = arm_requests(lab)["last_seq"]
    run = run_playbook(command, playbook_env(lab_env, results_path, drop=dropped, extra=given), results_path, 600)
    entries = [entry for entry in run.results if entry["task"] == TASK_NAMES[module]]
    entry = entries[0] if entries else {"status": None, "result": {}}
    return ModuleRun(run.rc, entry["status"], entry["result"], run.output, arm_requests(lab, since))
