"""The in-process lab Azure the lab_azure tests share: AzureLab, Site and wait_until.

The lab Azure runs in a thread with its own event loop (the lab's one loop), on the demo
estate, with its CA; tests reach it only over HTTPS through the real clients (azure-identity,
the azure-mgmt-* clients, azure-storage-blob) and the admin API over HTTP. World state is
changed only on the loop's thread (`AzureLab.on_loop`).

A module of its own rather than conftest.py: every suite has a conftest.py, and pytest keeps only
the last one it loaded as `conftest`, so `from conftest import …` breaks when suites run together.
tests/conftest.py's loopback guard keeps these tests (and every other) on loopback.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from lab.admin import AdminApi
from lab.azure import admin_routes, start_azure
from lab.certs import load_or_create_ca, server_ssl_context
from lab.estate import load_estate
from lab.hosts.state import REGISTRATION_KEY, Service

REPO = Path(__file__).resolve().parents[2]
DEMO_ESTATE = REPO / "lab" / "estates" / "demo.yml"
TIME_SCALE = 600.0          # 30 lab seconds of Retry-After are 50 ms
RECORDINGS = REPO / "tests" / "fixtures" / "asr-recordings"


class AzureLab:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab-azure", daemon=True)
        self.thread.start()
        self.endpoints: dict = self.on_loop(self._boot)
        self.ca = str(state_dir / "ca.pem")
        self.rg = self.endpoints["resource_group"]
        self.vault = self.endpoints["vault_name"]
        self.sub = self.endpoints["subscription_id"]
        self._credential = None

    async def _boot(self) -> dict:
        self.world = load_estate(DEMO_ESTATE, state_dir=self.state_dir, time_scale=TIME_SCALE)
        ca = load_or_create_ca(self.state_dir)
        cert, key = ca.issue(self.state_dir, "azure", ["localhost"], ["127.0.0.1"])
        endpoints = await start_azure(self.world, self.state_dir, server_ssl_context(cert, key),
                                      tls_files=(cert, key, ca.path))
        self.cloud = self.world.azure
        self._stop = endpoints.pop("stop")
        self.admin_api = AdminApi(self.world)
        admin_routes.register(self.admin_api, self.cloud)
        self.admin_server = await self.admin_api.start(0)
        self.admin_url = f"http://127.0.0.1:{self.admin_server.sockets[0].getsockname()[1]}"
        return endpoints

    def on_loop(self, function: Callable, *args) -> Any:
        """Run `function(*args)` (sync or async) on the lab's loop and return its result."""
        async def runner():
            result = function(*args)
            return await result if asyncio.iscoroutine(result) else result
        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout=60)

    def close(self) -> None:
        async def shutdown():
            self.admin_server.close()
            await self._stop()
            # Keep-alive connections the SDKs left open end with the loop; asyncio 3.11's stream
            # callback reports their cancellation as an error, which is expected here.
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(lambda lp, context: None if isinstance(
                context.get("exception"), asyncio.CancelledError) else lp.default_exception_handler(context))
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
        self.on_loop(shutdown)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    # --- clients ---

    @property
    def credential(self):
        if self._credential is None:
            self._credential = self.make_credential(self.endpoints["client_id"], self.endpoints["client_secret"])
        return self._credential

    def make_credential(self, client_id: str, secret: str):
        from azure.identity import ClientSecretCredential
        return ClientSecretCredential(self.endpoints["tenant_id"], client_id, secret,
                                      authority=self.endpoints["authority_url"], disable_instance_discovery=True,
                                      connection_verify=self.ca)

    def client(self, cls, credential=None, **kwargs):
        return cls(credential or self.credential, self.sub, base_url=self.endpoints["arm_url"],
                   connection_verify=self.ca, **kwargs)

    @property
    def asr(self):
        from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
        return self.client(SiteRecoveryManagementClient)

    @property
    def compute(self):
        from azure.mgmt.compute import ComputeManagementClient
        return self.client(ComputeManagementClient)

    @property
    def network(self):
        from azure.mgmt.network import NetworkManagementClient
        return self.client(NetworkManagementClient)

    @property
    def storage(self):
        from azure.mgmt.storage import StorageManagementClient
        return self.client(StorageManagementClient)

    # --- raw HTTPS and the admin API ---

    def token(self, credential=None) -> str:
        return (credential or self.credential).get_token("https://management.azure.com/.default").token

    def raw(self, method: str, path: str, body: Any = None, api_version: str | None = "2025-08-01",
            token: str | None = "default", base: str | None = None) -> tuple[int, dict, Any]:
        """One HTTPS request to ARM; returns (status, headers with lower-case names, JSON body or None)."""
        url = (base or self.endpoints["arm_url"]) + path
        if api_version:
            url += ("&" if "?" in url else "?") + f"api-version={api_version}"
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + (self.token() if token == "default" else token)
        request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                         method=method, headers=headers)
        context = ssl.create_default_context(cafile=self.ca)
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                status, raw_headers, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, raw_headers, data = exc.code, exc.headers, exc.read()
        return status, {k.lower(): v for k, v in raw_headers.items()}, json.loads(data) if data else None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(self.admin_url + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"admin {method} {path}: {exc.code} {exc.read()!r}") from None

    # --- the world ---

    def register_host(self, host_name: str, site: str, vault: str | None = None, rg: str | None = None,
                      discovered: bool = True) -> None:
        """What DRConfigurator /r leaves on a host (Windows Admin Center's registration test): provider service + Registration values.

        discovered: also let the discovery delay pass (lab/azure/discovery.py), so the vault lists the host's VMs.
        """
        def register():
            host = self.world.host(host_name)
            host.add_service(Service("dra", "Microsoft Azure Site Recovery Service", "Running", "Automatic"))
            for name, value in (("VaultLocation", "eastus"), ("SubscriptionId", self.sub),
                                ("ResourceName", vault or self.vault), ("ResourceGroupName", rg or self.rg),
                                ("SiteName", site), ("ContainerId", "")):
                host.registry.set_value(REGISTRATION_KEY, name, value)
        self.on_loop(register)
        if discovered:
            self.admin("GET", "/azure/sites")    # the vault sees the registration now ...
            self.advance(self.admin("GET", "/azure/discovery")["delay_s"] + 1)   # ... and the VMs once discovered

    def vm(self, host_name: str, vm_name: str):
        return self.on_loop(lambda: self.world.host(host_name).vm(vm_name))

    def advance(self, seconds: float) -> None:
        """Jump the lab clock (the admin API's POST /clock does the same)."""
        self.on_loop(lambda: self.world.clock.advance(seconds))


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


class Site:
    """A Hyper-V site with a policy and a mapping, and hosts registered to it."""

    def __init__(self, lab: AzureLab, name: str, hosts: list[str], policy: str = "policy-30s"):
        self.lab, self.name = lab, name
        asr = lab.asr
        asr.replication_fabrics.begin_create(lab.rg, lab.vault, name,
                                             {"properties": {"customDetails": {"instanceType": "HyperVSite"}}}).result()
        self.fabric = asr.replication_fabrics.get(lab.rg, lab.vault, name)
        self.container = f"cloud_{self.fabric.properties.internal_identifier}"
        if policy not in [p.name for p in asr.replication_policies.list(lab.rg, lab.vault)]:
            asr.replication_policies.begin_create(lab.rg, lab.vault, policy, {"properties": {"providerSpecificInput": {
                "instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": 4,
                "applicationConsistentSnapshotFrequencyInHours": 1, "replicationInterval": 30}}}).result()
        self.policy_id = asr.replication_policies.get(lab.rg, lab.vault, policy).id
        asr.replication_protection_container_mappings.begin_create(
            lab.rg, lab.vault, name, self.container, f"{name}-mapping",
            {"properties": {"targetProtectionContainerId": "Microsoft Azure", "policyId": self.policy_id,
                            "providerSpecificInput": {"instanceType": "ReplicationProviderSpecificContainerMappingInput"}}}
        ).result()
        for host in hosts:
            lab.register_host(host, name)
        self.target_rg_id = f"/subscriptions/{lab.sub}/resourceGroups/{lab.endpoints['target_resource_group']}"
        self.network_id = (f"{self.target_rg_id}/providers/Microsoft.Network/virtualNetworks/"
                           f"{lab.endpoints['target_network']}")
        self.test_network_id = (f"{self.target_rg_id}/providers/Microsoft.Network/virtualNetworks/"
                                f"{lab.endpoints['test_network']}")

    def args(self, item: str | None = None) -> tuple:
        base = (self.lab.rg, self.lab.vault, self.name, self.container)
        return base + (item,) if item else base

    def protectable(self, vm_name: str):
        items = self.lab.asr.replication_protectable_items.list_by_replication_protection_containers(*self.args())
        return next(i for i in items if i.properties.friendly_name == vm_name)

    def enable_input(self, vm_name: str, **overrides) -> dict:
        item = self.protectable(vm_name)
        details = item.properties.custom_details
        details = {"instanceType": "HyperVReplicaAzure", "hvHostVmId": details["sourceItemId"], "vmName": vm_name,
                   "osType": "Windows", "vhdId": details["diskDetails"][0]["vhdId"],
                   "targetAzureVmName": vm_name, "targetAzureV2ResourceGroupId": self.target_rg_id,
                   "targetAzureNetworkId": self.network_id, "targetAzureSubnetId": "default",
                   "useManagedDisksForReplication": "true", "diskType": "Standard_LRS",
                   "logStorageAccountId": self.lab.endpoints["log_storage_account_id"], **overrides}
        return {"properties": {"policyId": self.policy_id, "protectableItemId": item.id,
                               "providerSpecificDetails": {k: v for k, v in details.items() if v is not None}}}

    def enable(self, vm_name: str, **overrides):
        vm_id = self.protectable(vm_name).name
        self.lab.asr.replication_protected_items.begin_create(*self.args(vm_id), self.enable_input(vm_name, **overrides)
                                                              ).result()
        return vm_id

    def ensure(self, vm_name: str) -> str:
        """The item name of vm_name's protection, enabling it first when needed."""
        items = self.lab.asr.replication_protected_items.list_by_replication_protection_containers(*self.args())
        found = next((i.name for i in items if i.properties.friendly_name == vm_name), None)
        return found or self.enable(vm_name)

    def item(self, item_name: str):
        return self.lab.asr.replication_protected_items.get(*self.args(item_name))

    def wait_protected(self, item_name: str, step_s: float = 600.0, limit_s: float = 7 * 86400):
        """Advance the lab clock until initial replication finished (bounded)."""
        moved = 0.0
        while True:
            item = self.item(item_name)
            if item.properties.protection_state == "Protected":
                return item
            assert moved < limit_s, f"{item_name} not protected after {moved} lab seconds"
            self.lab.advance(step_s)
            moved += step_s
            time.sleep(0.05)
