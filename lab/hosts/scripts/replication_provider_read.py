"""Simulation of replication_provider_read/1: provider, agent, registration, proxy, setup file, reboot.

Output keys: the replication_provider_read contract in plugins/plugin_utils/_host_contracts.py. Like the real script it
only reads the registry, services, files and certificates.
"""

from __future__ import annotations

from lab.hosts import folders, installers
from lab.hosts.logon import Logon, share_denied
from lab.hosts.scripts import ScriptContext
from lab.hosts.state import MARS_SETUP_KEY, PROVIDER_KEY, PROXY_KEY, REGISTRATION_KEY, HostState, windows_path

VERSIONS = (1,)

# What the script changes on the host (tests/pslint/contract.py, tests/unit/test_twin_contracts.py): nothing.
SIDE_EFFECTS: dict = {}

REQUIRED_REGISTRATION = ("VaultLocation", "SubscriptionId", "ResourceName", "ResourceGroupName")


def run(ctx: ScriptContext) -> dict:
    host = ctx.host
    return {
        "computer_name": host.name,
        "utc_now": ctx.world.clock.isoformat(),
        "provider": _provider(host),
        "agent": _agent(host),
        "services": {name: (host.service(name).status if host.service(name) else None) for name in ("dra", "obengine")},
        "registration": registration_of(host),
        "registration_leftovers": _leftovers(host),
        "proxy": _proxy(host),
        "uninstall": {"provider": bool(installers.uninstall_entries(host, installers.PROVIDER_NAME)),
                      "agent": bool(installers.uninstall_entries(host, installers.AGENT_NAME))},
        "setup_file": _setup_file(host, ctx.params.get("setup_file"), ctx.logon),
        "reboot_pending": bool(host.registry.get_value(installers.PENDING_REBOOT_KEY, "PendingFileRenameOperations")),
    }


def _provider(host: HostState) -> dict | None:
    if not host.provider_version:
        return None
    return {"version": host.provider_version, "configurator": host.file(installers.CONFIGURATOR) is not None}


def _agent(host: HostState) -> dict | None:
    install_path = host.registry.get_value(MARS_SETUP_KEY, "InstallPath")
    if not install_path:
        return None
    engine = host.file(install_path.rstrip("\\") + r"\bin\CBEngine.exe")
    return {"version": engine.file_version if engine else None, "path": install_path}


def registration_of(host: HostState) -> dict | None:
    """Get-ProviderRegistration (the prelude): the registration the host holds; replication_provider_apply prints it too."""
    values = {name.lower(): value for name, value in host.registry.values(REGISTRATION_KEY).items()}
    if not all(values.get(name.lower()) for name in REQUIRED_REGISTRATION):
        return None
    return {"vault_location": values.get("vaultlocation"), "subscription_id": values.get("subscriptionid"),
            "vault_name": values.get("resourcename"), "resource_group": values.get("resourcegroupname"),
            "site_name": values.get("sitename"), "container_id": values.get("containerid"),
            "dra_id": host.registry.get_value(PROVIDER_KEY, "DraID")}


def _leftovers(host: HostState) -> bool:
    """What the cleanup removes that belongs to a registration; ProxySettings alone is not one."""
    certificates = [c for c in host.certificates if str(c.get("friendly_name", "")).startswith(installers.ASR_CERTIFICATES)]
    return bool(host.registry.get_value(PROVIDER_KEY, "DraID") or host.registry.get_value(PROVIDER_KEY, "IdMgmtCloudContainerId")
                or host.registry.key_exists(REGISTRATION_KEY) or certificates)


def _proxy(host: HostState) -> dict | None:
    values = {name.lower(): value for name, value in host.registry.values(PROXY_KEY).items()}
    if not values.get("proxyaddress"):
        return None
    bypass = [url for url in str(values.get("bypassurls") or "").split(";") if url]
    port = values.get("proxyport")
    return {"address": values["proxyaddress"], "port": int(port) if port else None,
            "username": values.get("proxyusername"), "bypass_urls": bypass}


def _setup_file(host: HostState, request: dict | None, logon: Logon | None) -> dict | None:
    if not request:
        return None
    # On a share the session cannot authenticate to (double hop), Get-Item fails with "Access is
    # denied", which -ErrorAction Ignore swallows: the file reads as absent.
    entry = None if share_denied(logon, request["path"]) else host.file(request["path"])
    if entry is not None and request.get("staged") and not folders.admins_only(host, windows_path(request["path"]).rsplit("\\", 1)[0]):
        entry = None     # a staged copy outside the admins-only staging folder is not trusted (Test-AdminsOnlyFolder)
    if entry is None:
        return {"path": request["path"], "exists": False, "sha256": None, "version": None}
    return {"path": request["path"], "exists": True,
            "sha256": installers.sha256(entry.content) if request.get("sha256") else None,
            "version": installers.file_version(entry)}
