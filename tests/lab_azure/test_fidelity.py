"""Fidelity: replay every recording in tests/fixtures/asr-recordings against the lab, ids mapped, and
compare what comes back with what the live service answered: status codes, header names, body
field names and their casing, and enum values.

For each file the lab is first brought into the state the recording starts from (a vault of its
own, the resource groups, networks, site, policy, mapping and Hyper-V VMs it names, items already
protected where the recording reads them so), then the requests are sent in order with the lab
clock frozen; before each recorded job poll the clock moves until the lab's job is in the
recorded state. Differences that remain are listed, with reasons, in lab/FIDELITY.md; the test
fails on a difference not listed there and on a listed one that no longer happens.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from inprocess_azure import RECORDINGS, REPO
from lab.azure import discovery
from lab.hosts.state import HostState, VirtualDisk, VirtualMachine, Volume

pytestmark = pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"no recordings at {RECORDINGS}")

FIDELITY = REPO / "lab" / "FIDELITY.md"
FILES = sorted(p.name for p in RECORDINGS.glob("*.json")) if RECORDINGS.is_dir() else []
ENUM_KEYS = {
    "state", "stateDescription", "scenarioName", "protectionState", "protectionStateDescription", "activeLocation",
    "testFailoverState", "testFailoverStateDescription", "allowedOperations", "allowedActions", "instanceType",
    "pairingStatus", "role", "health", "replicationHealth", "failoverHealth", "connectionStatus", "protectionStatus",
    "fabricType", "targetInstanceType", "taskType", "vmProtectionState", "vmProtectionStateDescription", "vhdType",
    "protectedItemType", "bcdrState", "kekState", "status", "selectionType", "encryption", "useManagedDisks",
    "recoveryFabricId", "recoveryFabricFriendlyName", "recoveryProtectionContainerFriendlyName",
    "targetProtectionContainerId", "targetProtectionContainerFriendlyName", "targetFabricFriendlyName", "taskId",
    "code", "errorLevel", "supportedReplicationProviders", "hasPhysicalDisk", "hasFibreChannelAdapter",
    "hasSharedVhd", "testFailoverStatus", "networkType", "networkConnectionStatus", "initialReplicationType",
    "errorCategory", "errorSource", "provisioningState", "type"}
ID_SEGMENTS = {"subscriptions", "resourcegroups", "vaults", "replicationfabrics", "replicationprotectioncontainers",
               "replicationprotecteditems", "replicationprotectableitems", "replicationpolicies",
               "replicationprotectioncontainermappings", "replicationjobs", "replicationrecoveryservicesproviders",
               "replicationoperationstatus", "operationresults"}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def known_differences() -> set[str]:
    text = FIDELITY.read_text()
    block = text.split("```known-differences", 1)[1].split("```", 1)[0]
    return {line.split(" | ")[0].strip() for line in block.splitlines() if line.strip()}


def route(method: str, path: str) -> str:
    parts = path.split("?")[0].split("/")
    out = []
    for index, part in enumerate(parts):
        previous = parts[index - 1].lower() if index else ""
        out.append("{}" if previous in ID_SEGMENTS else part.lower() if part.lower() in ID_SEGMENTS else part)
    return f"{method} {'/'.join(out)}"


def ids_last(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def segments_after(path: str, name: str) -> list[str]:
    parts = path.split("?")[0].split("/")
    return [parts[i + 1] for i, p in enumerate(parts[:-1]) if p.lower() == name.lower()]


class Replay:
    def __init__(self, lab, file_name: str):
        self.lab = lab
        self.file = file_name
        self.stem = Path(file_name).stem.replace("_", "-")
        self.document = json.loads((RECORDINGS / file_name).read_text())
        self.entries = [e for e in self.document["entries"] if "method" in e]
        first = self.entries[0]["path"]
        self.subscription = segments_after(first, "subscriptions")[0]
        self.vault = next(v for e in self.entries for v in segments_after(e["path"], "vaults"))
        self.vault_group = next(g for e in self.entries if segments_after(e["path"], "vaults")
                                for g in segments_after(e["path"], "resourceGroups"))
        self.lab_vault = f"fid-{self.stem}"
        self.map = {self.subscription: lab.sub, f"/vaults/{self.vault}": f"/vaults/{self.lab_vault}"}
        self.differences: set[str] = set()

    # --- what the recording names ---

    def texts(self) -> list[str]:
        return [json.dumps(e) for e in self.entries]

    def names(self, segment: str) -> set[str]:
        """Names the recording's requests use (responses also name resources of the recorded
        vault the lab need not have; list answers are compared only where both have one)."""
        found = set()
        for entry in self.entries:
            found.update(segments_after(entry["path"], segment))
            found.update(re.findall(rf"/{segment}/([^/\"?]+)", json.dumps(entry.get("request_body")), re.I))
        return found

    def policies(self) -> set[str]:
        return self.names("replicationPolicies") | {ids_last(e["properties"]["policyId"]) for e in self._items_seen()}

    def created(self, segment: str) -> set[str]:
        return {segments_after(e["path"], segment)[-1] for e in self.entries
                if e["method"] == "PUT" and e["path"].split("?")[0].rstrip("/").lower().rsplit("/", 2)[-2] == segment.lower()}

    def apply(self, text: str) -> str:
        for recorded, lab_value in sorted(self.map.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(recorded, lab_value)
        return text

    # --- bring the lab to the recording's starting state ---

    def prepare(self) -> None:
        lab = self.lab
        groups = set(self.names("resourceGroups"))
        for item in self._items_seen():     # where the recorded items fail over to
            details = item["properties"]["providerSpecificDetails"]
            for target in (details.get("recoveryAzureResourceGroupId"), details.get("selectedRecoveryAzureNetworkId")):
                groups.update(segments_after(target or "", "resourceGroups"))
        for group in groups:
            lab.raw("PUT", f"/subscriptions/{lab.sub}/resourcegroups/{group}", {"location": "eastus"},
                    api_version="2021-04-01")
        lab.raw("PUT", f"/subscriptions/{lab.sub}/resourceGroups/{self.vault_group}/providers/"
                f"Microsoft.RecoveryServices/vaults/{self.lab_vault}", {"location": "eastus"}, api_version="2023-04-01")
        for network_id in set(re.findall(r'"(?:networkId|selectedRecoveryAzureNetworkId|recoveryVMNetworkId)": '
                                         r'"([^"]+virtualNetworks/[^"]+)"', "".join(self.texts()))):
            parts = network_id.split("/")
            lab.network.virtual_networks.begin_create_or_update(parts[4], parts[-1], {
                "location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.90.0.0/16"]},
                                                     "subnets": [{"name": "default", "properties": {
                                                         "addressPrefix": "10.90.1.0/24"}}]}}).result()
        asr = lab.asr
        for fabric in sorted(self.names("replicationFabrics") - self.created("replicationFabrics")):
            asr.replication_fabrics.begin_create(self.vault_group, self.lab_vault, fabric,
                                                 {"properties": {"customDetails": {"instanceType": "HyperVSite"}}}).result()
            internal = asr.replication_fabrics.get(self.vault_group, self.lab_vault, fabric).properties.internal_identifier
            for entry in self.entries:
                if segments_after(entry["path"], "replicationFabrics")[:1] == [fabric]:
                    for container in segments_after(entry["path"], "replicationProtectionContainers"):
                        self.map[container] = f"cloud_{internal}"
        for policy in sorted(self.policies() - self.created("replicationPolicies")):
            asr.replication_policies.begin_create(self.vault_group, self.lab_vault, policy, {"properties": {
                "providerSpecificInput": {"instanceType": "HyperVReplicaAzure", "replicationInterval": 300,
                                          "recoveryPointHistoryDuration": 1}}}).result()
        self._hosts_and_items()

    def _vms(self) -> dict[str, tuple[str, str]]:
        """VM GUID -> (name, fabric) for every VM the recording touches."""
        vms: dict[str, tuple[str, str]] = {}
        for entry in self.entries:
            fabrics = segments_after(entry["path"], "replicationFabrics")
            for body in (entry.get("request_body"), entry.get("response_body")):
                details = ((body or {}).get("properties") or {}).get("providerSpecificDetails") or {}
                if details.get("hvHostVmId"):
                    vms[details["hvHostVmId"]] = (details["vmName"], fabrics[0])
                values = (body or {}).get("value") if isinstance((body or {}).get("value"), list) else [body or {}]
                for element in values:
                    kind = str(element.get("type", ""))
                    if kind.endswith(("replicationProtectedItems", "replicationProtectableItems")):
                        touched = element["name"] in entry["path"] or kind.endswith("replicationProtectedItems")
                        if touched:
                            fabric = segments_after(element["id"], "replicationFabrics")[0]
                            vms[element["name"]] = (element["properties"]["friendlyName"], fabric)
        return vms

    def _hosts_and_items(self) -> None:
        lab, asr = self.lab, self.lab.asr
        vms = self._vms()
        by_fabric: dict[str, list[tuple[str, str]]] = {}
        for vm_id, (name, fabric) in vms.items():
            by_fabric.setdefault(fabric, []).append((vm_id, name))
        for number, (fabric, members) in enumerate(sorted(by_fabric.items())):
            host_name = f"FID-{self.stem[:8]}-{number}"

            def add_host(host_name=host_name, members=members):
                host = HostState(name=host_name, domain="contoso.local", features=["Hyper-V"],
                                 volumes=[Volume("D:\\", 2 * 1024 ** 4, 1024 ** 4)],
                                 vms=[VirtualMachine(name=n, id=i, generation=1, switch="External",
                                                     disks=[VirtualDisk(f"D:\\VMs\\{n}\\{n}.vhdx", 1024 ** 3)])
                                      for i, n in members])
                lab.world.add_host(host)
                return {i: discovery.vhd_id(vm, vm.disks[0].path) for i, vm in ((vm.id, vm) for vm in host.vms)}
            vhds = lab.on_loop(add_host)
            lab.register_host(host_name, fabric, vault=self.lab_vault, rg=self.vault_group)
            for entry in self.entries:
                details = ((entry.get("request_body") or {}).get("properties") or {}).get("providerSpecificDetails") or {}
                if details.get("hvHostVmId") in vhds and details.get("vhdId"):
                    self.map[details["vhdId"]] = vhds[details["hvHostVmId"]]
        needs_mapping = bool(vms) or self.names("replicationProtectionContainerMappings")
        if needs_mapping and not self.created("replicationProtectionContainerMappings"):
            policy = sorted(self.policies())[0]
            policy_id = (f"/subscriptions/{lab.sub}/resourceGroups/{self.vault_group}/providers/"
                         f"Microsoft.RecoveryServices/vaults/{self.lab_vault}/replicationPolicies/{policy}")
            mapping = sorted(self.names("replicationProtectionContainerMappings") or {"fid-mapping"})[0]
            for fabric in by_fabric:
                container = self._container(fabric)
                asr.replication_protection_container_mappings.begin_create(
                    self.vault_group, self.lab_vault, fabric, container, mapping,
                    {"properties": {"targetProtectionContainerId": "Microsoft Azure", "policyId": policy_id}}).result()
        self._protect_existing_items(vms)

    def _container(self, fabric: str) -> str:
        internal = self.lab.asr.replication_fabrics.get(self.vault_group, self.lab_vault, fabric).properties.internal_identifier
        return f"cloud_{internal}"

    def _items_seen(self) -> list[dict]:
        """Protected items as the recording first shows them."""
        first_seen: dict[str, dict] = {}
        for entry in self.entries:
            body = entry.get("response_body") or {}
            for element in body.get("value", []) if isinstance(body.get("value"), list) else [body]:
                if str(element.get("type", "")).endswith("replicationProtectedItems"):
                    first_seen.setdefault(element["name"], element)
        return list(first_seen.values())

    def _protect_existing_items(self, vms) -> None:
        lab, asr = self.lab, self.lab.asr
        put = self.created("replicationProtectedItems")
        for recorded in self._items_seen():
            vm_id = recorded["name"]
            if vm_id in put or vm_id not in vms:
                continue
            fabric = vms[vm_id][1]
            container = self._container(fabric)
            details = recorded["properties"]["providerSpecificDetails"]
            item_id = (f"/subscriptions/{lab.sub}/resourceGroups/{self.vault_group}/providers/Microsoft.RecoveryServices/"
                       f"vaults/{self.lab_vault}/replicationFabrics/{fabric}/replicationProtectionContainers/{container}")
            protectable = asr.replication_protectable_items.get(self.vault_group, self.lab_vault, fabric, container, vm_id)
            asr.replication_protected_items.begin_create(self.vault_group, self.lab_vault, fabric, container, vm_id, {
                "properties": {"policyId": self.apply(recorded["properties"]["policyId"]),
                               "protectableItemId": f"{item_id}/replicationProtectableItems/{vm_id}",
                               "providerSpecificDetails": {
                                   "instanceType": "HyperVReplicaAzure", "hvHostVmId": vm_id,
                                   "vmName": recorded["properties"]["friendlyName"], "osType": "Windows",
                                   "vhdId": protectable.properties.custom_details["diskDetails"][0]["vhdId"],
                                   "targetAzureVmName": details.get("recoveryAzureVMName") or details.get("recoveryAzureVmName"),
                                   "targetAzureVmSize": "Standard_B1s",
                                   "targetAzureV2ResourceGroupId": self.apply(details["recoveryAzureResourceGroupId"]),
                                   "targetAzureNetworkId": self.apply(details.get("selectedRecoveryAzureNetworkId") or "")
                                   or None,
                                   "targetStorageAccountId": self.apply(details.get("recoveryAzureStorageAccount") or "")
                                   or None,
                                   "useManagedDisksForReplication": None if details.get("recoveryAzureStorageAccount")
                                   else "true",
                                   # Managed-disk replication needs the cache account (the recorded item's, else the
                                   # lab's seeded one).
                                   "logStorageAccountId": None if details.get("recoveryAzureStorageAccount") else
                                   lab.endpoints["log_storage_account_id"],
                                   "useManagedDisks": details.get("useManagedDisks")}}}).result()
            args = (self.vault_group, self.lab_vault, fabric, container, vm_id)
            nics = details.get("vmNics") or []
            if nics:      # the recorded item's NIC settings, as a user's update sets them
                lab_nic = asr.replication_protected_items.get(*args).properties.provider_specific_details.vm_nics[0]
                asr.replication_protected_items.begin_update(*args, {"properties": {"vmNics": [{
                    "nicId": lab_nic.nic_id, "selectionType": nics[0].get("selectionType"),
                    "ipConfigs": [{"isPrimary": True, "recoverySubnetName": nics[0].get("recoveryVMSubnetName")
                                   or "default"}]}]}}).result()
            for dummy in range(100):
                if asr.replication_protected_items.get(*args).properties.protection_state == "Protected":
                    break
                lab.advance(600)
            if recorded["properties"].get("testFailoverState") == "MarkedForDeletion":
                network = self.apply(details["selectedRecoveryAzureNetworkId"])
                asr.replication_protected_items.begin_test_failover(*args, {"properties": {
                    "failoverDirection": "PrimaryToRecovery", "networkType": "VmNetworkAsInput", "networkId": network,
                    "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}}).result()
                asr.replication_protected_items.begin_test_failover_cleanup(*args, {"properties": {"comments": ""}}).result()

    # --- replay and compare ---

    def run(self) -> set[str]:
        lab = self.lab
        self.prepare()
        lab.on_loop(lambda: lab.world.clock.set_time_scale(0.001))
        try:
            for number, entry in enumerate(self.entries):
                self._replay(number, entry)
        finally:
            lab.on_loop(lambda: lab.world.clock.set_time_scale(600.0))
        return self.differences

    def _replay(self, number: int, entry: dict) -> None:
        lab = self.lab
        path = self.apply(entry["path"])
        job_names = segments_after(path, "replicationJobs")
        if entry["method"] == "GET" and job_names:
            self._align_job(job_names[0], (entry.get("response_body") or {}).get("properties", {}).get("state"))
        body = json.loads(self.apply(json.dumps(entry["request_body"]))) if entry.get("request_body") is not None else None
        status, headers, answer = lab.raw(entry["method"], path, body, api_version=None)
        where = f"{self.file} {route(entry['method'], entry['path'])}"
        if status != entry["status"]:
            self.differences.add(f"{where}: status {entry['status']} != {status}")
        for name in entry["headers"]:
            if name.lower() not in headers:
                self.differences.add(f"{where}: missing header {name}")
        if status == 202 and entry["status"] == 202:    # the job is named in Location (as recorded)
            recorded = entry["headers"]["Location"].split("/operationresults/")[1].split("?")[0]
            self.map[recorded] = headers["location"].split("/operationresults/")[1].split("?")[0]
        if entry.get("response_body") is not None or answer is not None:
            in_progress = ((entry.get("response_body") or {}).get("properties") or {}).get("state") in (
                "InProgress", "NotStarted")
            self._compare(entry.get("response_body"), answer, "", where, in_progress)

    def _align_job(self, lab_job: str, state: str | None) -> None:
        if state is None:
            return

        def step() -> str:
            for vault in self.lab.cloud.vaults.values():
                job = vault.jobs.get(lab_job.lower())
                if job is not None:
                    for dummy in range(5000):
                        self.lab.cloud.arm.tick()
                        if job.state == state or job.terminal:
                            break
                        self.lab.world.clock.advance(1)
                    return job.state
            return "missing"
        self.lab.on_loop(step)

    def _compare(self, recorded, actual, path: str, where: str, in_progress: bool) -> None:
        key = path.rsplit(".", 1)[-1].removesuffix("[]")
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for name in recorded.keys() - actual.keys():
                self.differences.add(f"{where}: missing field {path}.{name}")
            for name in actual.keys() - recorded.keys():
                self.differences.add(f"{where}: extra field {path}.{name}")
            for name in recorded.keys() & actual.keys():
                self._compare(recorded[name], actual[name], f"{path}.{name}", where, in_progress)
        elif isinstance(recorded, list) and isinstance(actual, list):
            if recorded and all(isinstance(x, dict) for x in recorded + actual):
                if path == ".value":          # list answers: compare the resources the lab also has
                    mine = {self.apply(str(x.get("name"))).lower(): x for x in actual}
                    pairs = [(x, mine[self.apply(str(x.get("name"))).lower()]) for x in recorded
                             if self.apply(str(x.get("name"))).lower() in mine]
                else:
                    pairs = list(zip(recorded, actual))
                for one, other in pairs:
                    self._compare(one, other, f"{path}[]", where, in_progress)
            elif key in ENUM_KEYS and recorded != actual and not (in_progress and ".tasks[]" in path):
                self.differences.add(f"{where}: value {path}: {recorded!r} != {actual!r}")
        elif recorded is not None and actual is not None:
            both_numbers = isinstance(recorded, (int, float)) and isinstance(actual, (int, float))
            if type(recorded) is not type(actual) and not both_numbers:
                self.differences.add(f"{where}: type {path}: {type(recorded).__name__} != {type(actual).__name__}")
            elif key in ENUM_KEYS and recorded != actual and not (in_progress and ".tasks[]" in path):
                if key == "type" and "/" not in str(recorded):
                    return
                self.differences.add(f"{where}: value {path}: {recorded!r} != {actual!r}")
            elif key in ("friendlyName", "name") and ".tasks[]" in path and recorded != actual:
                self.differences.add(f"{where}: value {path}: {recorded!r} != {actual!r}")


@pytest.mark.parametrize("file_name", FILES)
def test_replay_matches_recording(clean_faults, file_name):
    # Full throttle buckets: a recording's polls must not meet the 429s that the tests before it earned.
    differences = Replay(clean_faults, file_name).run()
    known = {k for k in known_differences() if k.startswith(file_name + " ")}
    new = sorted(differences - known)
    gone = sorted(known - differences)
    assert not new, "differences not listed in lab/FIDELITY.md:\n" + "\n".join(new)
    assert not gone, "listed in lab/FIDELITY.md but no longer different (remove them):\n" + "\n".join(gone)
