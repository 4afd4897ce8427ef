"""The lab's Azure side: Entra ID, ARM (Resources, Recovery Services + Site Recovery, Compute,
Network, Storage) over HTTPS, and Azurite for blob storage, all tied to the world.

`start_azure(world, state_dir, ssl_context)` starts it inside the running event loop, attaches
its state to the world (`world.azure`) and returns its endpoints and a `stop` coroutine
function; `build_azure` is its first half (the state and services, nothing listening yet: what a
resumed lab restores into, lab/persist.py); `start(lab)` is the hook lab/runtime.py calls for
`python -m lab up` (it also registers the admin routes and the stop callback).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.azure import (
    admin_routes, azurite, compute, enable_replication, failover, job_routes, migrate, network, placement, policies,
    protected_items, recovery_services, replication, resources, site_recovery, storage,
)
from lab.azure.arm import Arm
from lab.azure.entra import Entra
from lab.azure.faults import AzureFaults
from lab.azure.jobs import tick_jobs
from lab.azure.state import AzureCloud, Principal, Tenant
from lab.azure.throttling import Throttle
from lab.http import serve
from lab.world import World

log = logging.getLogger(__name__)

IDENTITY_FILE = "azure-identity.json"
TICK_S = 0.2           # real seconds between world steps when no request comes in
SEED_GROUP = "rg-migrate"
SEED_VAULT = "vault-migrate"
SEED_PROJECT = "migrate-lab"      # the Migrate project whose Server Migration solution names SEED_VAULT
SEED_TARGET_GROUP = "rg-migrated"
# The cache (log) storage account an Azure Migrate project creates for Hyper-V replication to managed disks.
SEED_LOG_ACCOUNT = "stmigratelogs"
SEED_NETWORKS = {"vnet-migrated": ("10.10.0.0/16", "10.10.1.0/24"), "vnet-test": ("10.20.0.0/16", "10.20.1.0/24")}


def _identity(state_dir: Path) -> dict:
    """Tenant, principal and subscription ids: kept in the state dir so a restarted lab keeps them."""
    path = state_dir / IDENTITY_FILE
    if path.exists():
        return json.loads(path.read_text())
    from lab.azure.ids import new_guid
    identity = {"tenant_id": new_guid(), "client_id": new_guid(), "client_secret": secrets.token_urlsafe(30),
                "object_id": new_guid(), "subscription_id": new_guid()}
    state_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(identity, indent=2))
    return identity


def _seed(cloud: AzureCloud) -> None:
    """A Migrate project's vault and a landing zone, so the demo has somewhere to go."""
    resources.create_group(cloud, SEED_GROUP, cloud.location)
    vault = recovery_services.create_vault(cloud, SEED_GROUP, SEED_VAULT, cloud.location,
                                           {"Migrate Project": SEED_PROJECT})
    migrate.create_project(cloud, SEED_GROUP, SEED_PROJECT, cloud.location, vault.id)
    cloud.put({"id": _log_account_id(cloud), "name": SEED_LOG_ACCOUNT, "type": storage.ACCOUNT_TYPE,
               "location": cloud.location, "kind": "StorageV2", "sku": {"name": "Standard_LRS", "tier": "Standard"},
               "tags": {"Migrate Project": SEED_PROJECT},
               "properties": {"provisioningState": "Succeeded", "primaryLocation": cloud.location,
                              "statusOfPrimary": "available", "supportsHttpsTrafficOnly": True,
                              "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
                              "primaryEndpoints": {"blob": f"https://{SEED_LOG_ACCOUNT}.blob.lab.invalid/"}}})
    resources.create_group(cloud, SEED_TARGET_GROUP, cloud.location)
    for name, (space, subnet) in SEED_NETWORKS.items():
        vnet_id = f"/subscriptions/{cloud.subscription_id}/resourceGroups/{SEED_TARGET_GROUP}/providers/" \
                  f"{network.VNET_TYPE}/{name}"
        cloud.put({"name": name, "id": vnet_id, "type": network.VNET_TYPE, "location": cloud.location, "tags": {},
                   "properties": {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": [space]},
                                  "subnets": [network._subnet_doc(vnet_id, "default", {"addressPrefix": subnet})]}})


def _log_account_id(cloud: AzureCloud) -> str:
    return f"/subscriptions/{cloud.subscription_id}/resourceGroups/{SEED_GROUP}/providers/{storage.ACCOUNT_TYPE}/" \
           f"{SEED_LOG_ACCOUNT}"


def build_azure(world: World, state_dir: Path, host: str = "127.0.0.1",
                tls_files: tuple[Path, Path, Path] | None = None, resume: dict | None = None,
                restore: Callable[[], None] | None = None) -> AzureCloud:
    """The Azure side's state and services, attached to `world`, before anything listens.

    Azurite (when tls_files = (cert, key, ca) are given and npm installed it) is configured, not
    started. A resumed lab (lab/persist.py) passes `resume`, the snapshot header's "azure" part
    (ports, the tokens' signing key, Azurite's accounts), and `restore`, which puts the saved world in
    place once the cloud is built; the seed is then not planted again.
    """
    resume = resume or {}
    identity = _identity(Path(state_dir))
    tenant = Tenant(identity["tenant_id"])
    tenant.principals[identity["client_id"].lower()] = Principal(identity["client_id"], identity["client_secret"],
                                                                 identity["object_id"])
    faults = AzureFaults()
    cloud = AzureCloud(world, world.provider_registrations, world.clock, tenant, identity["subscription_id"], faults)
    world.attach_azure(cloud)
    entra = Entra(tenant, resume.get("entra_key"))
    arm = Arm(cloud, entra, Throttle())
    cloud.arm, cloud.entra = arm, entra
    for provider_module in (resources, recovery_services, site_recovery, policies, job_routes, protected_items,
                            enable_replication, failover, compute, placement, network, storage, migrate):
        provider_module.register(arm)
    arm.tickers += [lambda now: tick_jobs(cloud, now), lambda now: replication.tick(cloud, now)]
    if tls_files is not None and azurite.available():
        blob = azurite.Azurite(Path(state_dir), *tls_files, host=host)
        blob.port = resume.get("blob_port") or 0
        blob.accounts.update(resume.get("azurite_accounts") or {})
        cloud.azurite = blob
    elif tls_files is not None:
        log.warning("Azurite is not installed (npm ci --prefix lab): blob storage is not available")
    if restore is not None:
        restore()
    else:
        _seed(cloud)
    return cloud


async def start_azure(world: World, state_dir: Path, ssl_context: ssl.SSLContext, host: str = "127.0.0.1",
                      tls_files: tuple[Path, Path, Path] | None = None, resume: dict | None = None,
                      restore: Callable[[], None] | None = None) -> dict[str, Any]:
    """Start Entra, ARM and (when tls_files = (cert, key, ca) are given and npm installed it) Azurite.

    Returns the endpoints (JSON-ready, for lab.json) plus `stop`, a coroutine function that stops
    everything started here. The AzureCloud itself is `world.azure`. `resume` and `restore`: build_azure.
    """
    resume = resume or {}
    cloud = build_azure(world, state_dir, host, tls_files, resume, restore)
    arm, entra, blob = cloud.arm, cloud.entra, cloud.azurite
    tenant, faults = cloud.tenant, cloud.faults
    identity = _identity(Path(state_dir))

    login_server = await serve(host, resume.get("login_port") or 0, ssl_context, entra.handle)
    arm_server = await serve(host, resume.get("arm_port") or 0, ssl_context, arm.handle, faults=faults.connection)
    entra.base_url = f"https://{host}:{login_server.sockets[0].getsockname()[1]}"
    arm.base_url = f"https://{host}:{arm_server.sockets[0].getsockname()[1]}"
    if blob is not None:
        await blob.start()
    cloud.endpoints.update({"arm": arm.base_url, "authority": entra.base_url,
                            "storage_suffix": f"{host}:{blob.port}" if blob else ""})
    ticker = asyncio.get_running_loop().create_task(_tick_forever(arm))
    ticker.add_done_callback(_report_ticker_end)

    async def stop() -> None:
        ticker.cancel()
        for server in (arm_server, login_server):
            server.close()
            await server.wait_closed()
        if blob is not None:
            await blob.stop()

    return {
        "arm_url": arm.base_url, "cloud_environment": arm.base_url + "/",
        "metadata_url": f"{arm.base_url}/metadata/endpoints?api-version=2022-09-01",
        "authority_url": entra.base_url, "tenant_id": tenant.tenant_id, "client_id": identity["client_id"],
        "client_secret": identity["client_secret"], "subscription_id": cloud.subscription_id,
        "location": cloud.location, "blob_endpoint": blob.blob_base if blob else None,
        "resource_group": SEED_GROUP, "vault_name": SEED_VAULT, "migrate_project": SEED_PROJECT,
        "target_resource_group": SEED_TARGET_GROUP,
        "target_network": "vnet-migrated", "test_network": "vnet-test",
        "log_storage_account_id": _log_account_id(cloud),
        "stop": stop,
    }


async def _tick_forever(arm: Arm) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        arm.tick()


def _report_ticker_end(task: asyncio.Task) -> None:
    # A bug in a job hook or in replication stops the world from moving: say so at once.
    if not task.cancelled() and task.exception() is not None:
        log.error("the Azure world stopped moving", exc_info=task.exception())


async def start(lab) -> dict:
    """lab/runtime.py's hook: TLS from the lab CA, admin routes, stop on `lab down`."""
    from lab.certs import server_ssl_context
    cert, key = lab.ca.issue(lab.state_dir, "azure", ["localhost"], ["127.0.0.1"])
    resume = lab.snapshot.header.get("azure") if lab.snapshot is not None else None
    endpoints = await start_azure(lab.world, lab.state_dir, server_ssl_context(cert, key),
                                  tls_files=(cert, key, lab.ca.path), resume=resume,
                                  restore=lab.restore_world if lab.snapshot is not None else None)
    lab.on_stop(endpoints.pop("stop"))
    admin_routes.register(lab.admin, lab.world.azure)
    endpoints["ca_path"] = str(lab.ca.path.resolve())
    return endpoints
