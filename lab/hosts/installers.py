"""The provider's setup file, setupdr.exe, DRConfigurator.exe and msiexec /X, acting on a host's state.

Behaviour follows learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v (switches),
github.com/MicrosoftDocs/azure-docs/issues/42969 (prerequisite messages) and
learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection (cleanup, uninstall order);
each rule's source is in lab/FIDELITY.md. Everything takes lab time: setupdr's process runs, exits, and the installation
lands in the registry and services a little later, as the real setup does (Microsoft's own
PowerShell DR article for VMM to Azure polls the registry after `SetupDr.exe /i`). Exit codes are the lab's choice where the real ones are
undocumented: 0 for success, 1 for a refusal, and the injected 1603 / 1618 / 3010.

A lab setup file is small: a header that carries the provider and agent versions it installs. Hosts
download it from a URL the lab published, or for real from any HTTPS URL on loopback - Azurite's blob
endpoint with a SAS, as installer_blob hands it out (`download`).

As strict as Windows where the collection has to cope (lab/FIDELITY.md, "Windows hosts: host scripts,
installers and the agent"):
- Programs run as processes (`start_process`, listed by the admin API): a process still running when its
  caller gives up keeps running, and finishes its work, unless the caller stops it.
- setupdr.exe and DRConfigurator.exe refuse to run from any folder but their own (the working directory
  the host script gives them).
- DRConfigurator writes the provider's proxy only; the running `dra` service uses the proxy it read when
  it started, and the agent's proxy is the agent's own (Set-OBMachineSetting).
- A registration leaves `IdMgmtCloudContainerId` under the provider's key, and /r refuses to register over
  it ("already registered ... purge the provider"); the local cleanup leaves the vault's record alone.
- The provider's MSI uninstall removes its `Version`, never the `Azure Site Recovery` key itself.
- A host whose network forces a proxy (`outbound_proxy`) downloads only through it.
- The setup file and setupdr.exe run elevated: started from a folder a non-admin could write, they load the DLL
  a non-admin planted there (lab/hosts/folders.py records it in the host's `planted_code_ran`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import urllib.parse
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab import registrations, vault_credentials
from lab.certs import CA_FILE
from lab.hosts import downloads, folders
from lab.hosts.installer_state import InstallerError, InstallerProcess
from lab.hosts.state import (
    MARS_CONFIG_KEY, MARS_SETUP_KEY, PROVIDER_KEY, PROXY_KEY, REGISTRATION_KEY, UNINSTALL_KEY, FileEntry, HostState, Service,
)

if TYPE_CHECKING:
    from lab.world import World

SETUP_HEADER = b"AZMIGRATE-LAB-SETUP/1\n"
PROVIDER_DIR = r"C:\Program Files\Microsoft Azure Site Recovery Provider"
CONFIGURATOR = PROVIDER_DIR + r"\DRConfigurator.exe"
AGENT_DIR = r"C:\Program Files\Microsoft Azure Recovery Services Agent"
AGENT_ENGINE = AGENT_DIR + r"\bin\CBEngine.exe"
SETUP_LOG = r"C:\ProgramData\ASRLogs\DRASetupWizard.log"
CONFIGURATOR_LOG = r"C:\ProgramData\ASRLogs\DRConfigurator.log"
# The agent's ProductCode is public (public DSC and Windows Admin Center scripts use it); the provider's is not, so the lab
# makes one up.
AGENT_PRODUCT_CODE = "{FFE6D16C-3F87-4192-AF94-DDBEFF165106}"
PROVIDER_PRODUCT_CODE = "{2F4F7A1E-9C3B-4E57-A0D2-6B1C8E9F3A42}"
PROVIDER_NAME = "Microsoft Azure Site Recovery Provider"
AGENT_NAME = "Microsoft Azure Recovery Services Agent"
PENDING_REBOOT_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager"
ASR_CERTIFICATES = ("ASR_SRSAUTH_CERT_KEY_CONTAINER", "ASR_HYPER_V_HOST_CERT_KEY_CONTAINER")
# .NET Framework 4.6.2's Release value, the setup's own check (MicrosoftDocs/azure-stack-docs#2038 shows it in the setup log).
SETUP_MINIMUM_DOTNET_RELEASE = 394802
NO_COMPATIBLE_PRODUCT = ("Setup cannot proceed as no compatible product was found on this machine. To install on HyperV server, "
                         "ensure that Hyper-V role is enabled and server is not acting as Domain Controller.")


# --- the setup file ------------------------------------------------------------------------------

def make_setup_file(provider_version: str, agent_version: str, size: int = 4096) -> bytes:
    header = SETUP_HEADER + f"provider_version={provider_version}\nagent_version={agent_version}\n".encode()
    return header + b"\0" * max(0, size - len(header))


def setup_versions(content: bytes | None) -> dict[str, str] | None:
    """The versions a lab setup file (or its extracted setupdr.exe) carries; None for anything else."""
    if not content or not content.startswith(SETUP_HEADER):
        return None
    fields = {}
    for line in content[len(SETUP_HEADER):].split(b"\0", 1)[0].decode().splitlines():
        name, dummy, value = line.partition("=")
        fields[name] = value
    return fields if fields.get("provider_version") and fields.get("agent_version") else None


def sha256(content: bytes | None) -> str | None:
    return hashlib.sha256(content).hexdigest() if content is not None else None


async def download(world: World, url: str, host: HostState | None = None, proxy: dict | None = None) -> bytes:
    """What WebClient.DownloadFile(url) gets on a host: the file, or the WebException message the host would see.

    URLs the lab published (`publish`, https://downloads.lab.test/...) are served from the world. Any other URL
    is fetched for real over HTTPS from the lab process, trusting the lab CA (the state dir's ca.pem): in
    practice a blob in Azurite with its SAS, as installer_blob hands it out, so Azurite checks the SAS and
    answers 403/404 itself. The simulated hosts have no Internet: a name that is not on loopback does not
    resolve. The fetch runs in a worker thread so the lab's event loop never waits on it.
    """
    if host is not None and host.outbound_proxy:
        used = f"{proxy['address']}:{proxy['port']}".lower() if proxy else None
        if used != host.outbound_proxy.lower():
            # The host's network lets nothing out but through its proxy.
            raise downloads.download_error("Unable to connect to the remote server")
    if url.lower().startswith(downloads.PUBLISHED_BASE):
        return downloads.published(world.installers.downloads, url)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise downloads.download_error("The URI prefix is not recognized.")
    if not downloads.on_loopback(parts.hostname):
        raise downloads.download_error(f"The remote name could not be resolved: '{parts.hostname}'")
    cafile = Path(world.state_dir) / CA_FILE if world.state_dir is not None else None
    return await asyncio.to_thread(downloads.fetch, url, cafile)


# --- processes -----------------------------------------------------------------------------------

def start_process(host: HostState, world: World, image: str, command_line: str, working_directory: str,
                  program: Coroutine) -> InstallerProcess:
    """Run `program` (a coroutine returning the exit code) as a process of `host`; it is listed until it ends."""
    state = world.installers
    state.next_pid += 4
    process = InstallerProcess(state.next_pid, host.name, image, command_line, working_directory, world.clock.isoformat())
    process.task = asyncio.get_running_loop().create_task(program)
    state.processes[process.pid] = process
    process.task.add_done_callback(lambda _task: state.processes.pop(process.pid, None))
    return process


def stop_process(world: World, process: InstallerProcess) -> None:
    """Process.Kill(): the program ends where it is, nothing more of its work happens."""
    process.task.cancel()
    world.installers.processes.pop(process.pid, None)


def processes_of(world: World, host_name: str) -> list[InstallerProcess]:
    return [process for process in world.installers.processes.values() if process.host.lower() == host_name.lower()]


def _in_own_folder(program: str, working_directory: str | None) -> bool:
    """Whether a program started in `working_directory` runs in its own folder; None means it was started there."""
    if working_directory is None:
        return True
    folder = program.rsplit("\\", 1)[0]
    return working_directory.rstrip("\\").lower() == folder.rstrip("\\").lower()


# --- logs and helpers ----------------------------------------------------------------------------

def append_log(host: HostState, path: str, now: str, line: str) -> None:
    entry = host.file(path)
    previous = entry.content if entry is not None and entry.content is not None else b""
    host.write_file(path, previous + f"{now} {line}\r\n".encode(), now)


def _uninstall_entry(host: HostState, code: str, name: str, version: str) -> None:
    key = f"{UNINSTALL_KEY}\\{code}"
    host.registry.set_value(key, "DisplayName", name)
    host.registry.set_value(key, "DisplayVersion", version)
    host.registry.set_value(key, "UninstallString", f"MsiExec.exe /X{code}")


def _file_with_version(host: HostState, path: str, version: str, now: str) -> None:
    host.write_file(path, b"MZ lab binary\n", now).file_version = version


class MalformedValue(InstallerError):
    """Reading a registry value whose data does not fit its type (a REG_DWORD of the wrong size)."""


def read_value(host: HostState, key: str, name: str) -> Any:
    """A registry value as .NET's RegistryKey.GetValue reads it. The lab marks a malformed value as data
    {"malformed": "<why>"}: reading that value throws, as Windows does; other values of the key are fine."""
    data = host.registry.get_value(key, name)
    if isinstance(data, dict) and "malformed" in data:
        raise MalformedValue("Specified cast is not valid.")
    return data


def uninstall_entries(host: HostState, name_prefix: str) -> list[dict]:
    """Get-UninstallEntry of prelude.ps1: {name, uninstall_string, key} of every Uninstall entry whose DisplayName
    starts with the prefix and that has an UninstallString; a key whose values cannot be read is skipped."""
    entries = []
    for key in host.registry.subkeys(UNINSTALL_KEY):
        try:
            name, uninstall_string = read_value(host, key, "DisplayName"), read_value(host, key, "UninstallString")
        except MalformedValue:
            continue
        if str(name or "").lower().startswith(name_prefix.lower()) and uninstall_string:
            entries.append({"name": str(name), "uninstall_string": str(uninstall_string), "key": key})
    return entries


def file_version(entry: FileEntry | None) -> str | None:
    """Get-FileVersion of prelude.ps1: the leading dotted numbers of FileVersion (which may carry a suffix such as
    " (winmain.240902-1200)"); a lab setup file carries its version in its header."""
    if entry is None:
        return None
    if entry.file_version:
        match = re.match(r"\s*(\d+(?:\.\d+){1,3})", entry.file_version)
        return match.group(1) if match else None
    return (setup_versions(entry.content) or {}).get("provider_version")


def installed(host: HostState) -> bool:
    return bool(host.provider_version and host.agent_install_path and host.service("dra") and host.service("obengine"))


# --- AzureSiteRecoveryProvider.exe /x:<dir> /q ---------------------------------------------------

def extract(host: HostState, setup_path: str, directory: str, now: str) -> int:
    entry = host.file(setup_path)
    if entry is None:
        raise InstallerError(f"This command cannot be run due to the error: The system cannot find the file specified. ({setup_path})")
    folders.note_planted_code(host, entry.path, now)   # the self-extractor runs elevated from the setup file's folder
    if setup_versions(entry.content) is None:
        return 1   # not a setup file the lab knows: the self-extractor fails and extracts nothing
    host.write_file(directory.rstrip("\\") + r"\setupdr.exe", entry.content, now)
    return 0


# --- setupdr.exe /i ------------------------------------------------------------------------------

def _refusal(host: HostState) -> str | None:
    if host.domain_role in (4, 5) or not host.hyperv_role:
        return NO_COMPATIBLE_PRODUCT
    if (host.dotnet_release or 0) < SETUP_MINIMUM_DOTNET_RELEASE:
        return "Prerequisite check failed: .NET Framework 4.6.2 or higher is required. Install it and run setup again."
    return None


async def run_setupdr(host: HostState, world: World, directory: str, working_directory: str | None = None) -> int:
    """Run setupdr.exe /i from `directory`; returns its exit code when its process exits."""
    clock, state = world.clock, world.installers
    setupdr = host.file(directory.rstrip("\\") + r"\setupdr.exe")
    if setupdr is None:
        raise InstallerError(f"This command cannot be run due to the error: The system cannot find the file specified. ({directory}\\setupdr.exe)")
    folders.note_planted_code(host, setupdr.path, clock.isoformat())
    if not _in_own_folder(setupdr.path, working_directory):
        # The extracted setup finds its packages next to itself through the working directory (assumption).
        append_log(host, SETUP_LOG, clock.isoformat(), f"Setup cannot find its installation files in {working_directory}. "
                   "Run setupdr.exe from the folder it was extracted to.")
        return 1
    versions = setup_versions(setupdr.content) or {}
    faults = state.faults_for(host.name)
    exit_code, faults.setup_exit_code = faults.setup_exit_code, None
    if faults.setup_hangs:
        faults.setup_hangs = False
        append_log(host, SETUP_LOG, clock.isoformat(), "Setup is waiting for an answer to a message box.")
        while True:
            await clock.sleep(3600)
    if faults.reset_during_install:
        faults.reset_during_install = False
        world.faults[host.name].reset_after_requests = 0   # the next WinRM request of the client is reset
    append_log(host, SETUP_LOG, clock.isoformat(), f"Setup started: provider {versions.get('provider_version')}")
    if exit_code == 1618:
        append_log(host, SETUP_LOG, clock.isoformat(),
                   "Another installation is already in progress. Complete that installation before proceeding with this install. (1618)")
        return 1618
    refusal = _refusal(host)
    if refusal:
        await clock.sleep(5)
        append_log(host, SETUP_LOG, clock.isoformat(), refusal)
        return 1
    newer = (host.provider_version or "") and version_tuple(host.provider_version) > version_tuple(versions["provider_version"])
    if newer:
        append_log(host, SETUP_LOG, clock.isoformat(), f"A newer version of the provider ({host.provider_version}) is already installed.")
        return 1
    await clock.sleep(state.timing.setup_process_s)
    if exit_code == 1603:
        append_log(host, SETUP_LOG, clock.isoformat(), "Fatal error during installation. Installation of the provider failed and was rolled back. (1603)")
        return 1603
    if host.provider_version == versions["provider_version"] and installed(host):
        append_log(host, SETUP_LOG, clock.isoformat(), "The provider is already installed at this version.")
        return 0
    # The setup process has exited; the services and registry land a little later.
    task = asyncio.get_running_loop().create_task(_finish_install(host, world, versions, exit_code == 3010))
    state.pending.add(task)
    task.add_done_callback(state.pending.discard)
    return 3010 if exit_code == 3010 else 0


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


async def _finish_install(host: HostState, world: World, versions: dict[str, str], reboot: bool) -> None:
    await world.clock.sleep(world.installers.timing.setup_settle_s)
    now = world.clock.isoformat()
    provider, agent = versions["provider_version"], versions["agent_version"]
    host.registry.set_value(PROVIDER_KEY, "Version", provider)
    _file_with_version(host, CONFIGURATOR, provider, now)
    _uninstall_entry(host, PROVIDER_PRODUCT_CODE, PROVIDER_NAME, provider)
    host.add_service(Service("dra", "Microsoft Azure Site Recovery Service", "Running", "Automatic"))
    host.registry.set_value(MARS_SETUP_KEY, "InstallPath", AGENT_DIR + "\\")
    host.registry.set_value(MARS_CONFIG_KEY, "ScratchLocation", AGENT_DIR + r"\Scratch")
    _file_with_version(host, AGENT_ENGINE, agent, now)
    _uninstall_entry(host, AGENT_PRODUCT_CODE, AGENT_NAME, agent)
    faults = world.installers.faults_for(host.name)
    engine_status, faults.agent_service_stopped = ("Stopped" if faults.agent_service_stopped else "Running"), False
    host.add_service(Service("obengine", "Microsoft Azure Recovery Services Agent", engine_status, "Automatic"))
    host.add_service(Service("OBRecoveryServicesManagementAgent", "Microsoft Azure Recovery Services Management Agent", "Running", "Automatic"))
    # Get-OBMachineSetting on a fresh agent: no throttling, no proxy.
    host.mars_settings.setdefault("throttle", {"enabled": False})
    host.mars_settings.setdefault("proxy", {"enabled": False, "server": None, "port": None})
    if reboot:
        host.registry.set_value(PENDING_REBOOT_KEY, "PendingFileRenameOperations", [r"\??\C:\Program Files\Microsoft Azure Site Recovery Provider\dra.dll.new"])
    append_log(host, SETUP_LOG, now, f"Installation completed: provider {provider}, agent {agent}")


# --- msiexec /X{code} /qn --------------------------------------------------------------------------

async def uninstall(host: HostState, world: World, product_code: str) -> int:
    await world.clock.sleep(world.installers.timing.uninstall_s)
    code = product_code.upper()
    if not host.registry.key_exists(f"{UNINSTALL_KEY}\\{code}"):
        return 1605   # ERROR_UNKNOWN_PRODUCT
    host.registry.delete_key(f"{UNINSTALL_KEY}\\{code}")
    if code == PROVIDER_PRODUCT_CODE:
        # The MSI removes what it installed; the key, and the values the provider wrote while running, stay.
        host.registry.create_key(PROVIDER_KEY)
        host.registry.delete_value(PROVIDER_KEY, "Version")
        host.remove_path(PROVIDER_DIR)
        host.services.pop("dra", None)
    elif code == AGENT_PRODUCT_CODE:
        host.registry.delete_key(MARS_SETUP_KEY)
        host.registry.delete_key(MARS_CONFIG_KEY)
        host.remove_path(AGENT_DIR)
        for name in ("obengine", "obrecoveryservicesmanagementagent"):
            host.services.pop(name, None)
        host.mars_settings.clear()
    return 0


# --- DRConfigurator.exe ----------------------------------------------------------------------------

def _configurator_failure(host: HostState, now: str, message: str) -> int:
    append_log(host, CONFIGURATOR_LOG, now, message)
    return 1


def _configurator_start_refusal(host: HostState, now: str, working_directory: str | None) -> int | None:
    """DRConfigurator.exe starting: Start-Process throws when it is not installed; run from another folder than its
    own it fails (its exit code) before doing anything. None when it runs."""
    if host.file(CONFIGURATOR) is None:
        raise InstallerError(f"This command cannot be run due to the error: The system cannot find the file specified. ({CONFIGURATOR})")
    if not _in_own_folder(CONFIGURATOR, working_directory):
        return _configurator_failure(host, now, f"DRConfigurator could not load its configuration from {working_directory}. "
                                     "Run it from the provider's installation folder.")
    return None


def _proxy_refusal(proxy: dict | None, proxy_password: str | None) -> str | None:
    """What /r and /configure refuse in their proxy switches."""
    if proxy and str(proxy.get("address", "")).lower().startswith("https://"):
        # learn.microsoft.com/azure/site-recovery/hyper-v-azure-support-matrix: HTTPS proxies are not supported.
        return "HTTPS proxy is not supported. Specify the proxy address as http://<ip-or-fqdn>."
    if proxy and proxy.get("username") and not proxy_password:
        return "The proxy needs a password: /proxypassword is missing."
    return None


def _write_proxy(host: HostState, proxy: dict | None, add_bypass: bool = False) -> None:
    """The proxy switches into ProxySettings; with `add_bypass` (/configure), /AddBypassUrls adds to the URLs there."""
    kept = [url for url in str(host.registry.get_value(PROXY_KEY, "BypassUrls") or "").split(";") if url] if add_bypass else []
    host.registry.delete_key(PROXY_KEY)
    if not proxy:
        return
    proxy = {**proxy, "bypass_urls": kept + [url for url in proxy.get("bypass_urls") or [] if url.lower() not in {k.lower() for k in kept}]}
    host.registry.set_value(PROXY_KEY, "ProxyAddress", proxy["address"])
    host.registry.set_value(PROXY_KEY, "ProxyPort", int(proxy["port"]))
    if proxy.get("username"):
        host.registry.set_value(PROXY_KEY, "ProxyUserName", proxy["username"])
    if proxy.get("bypass_urls"):
        host.registry.set_value(PROXY_KEY, "BypassUrls", ";".join(proxy["bypass_urls"]))


def set_agent_proxy(host: HostState, proxy: dict) -> None:
    """Set-OBMachineSetting -ProxyServer -ProxyPort [-ProxyUsername -ProxyPassword], then restart obengine."""
    if not host.agent_install_path or host.service("obengine") is None:
        raise InstallerError("The specified module 'MSOnlineBackup' was not loaded because no valid module file was found in any module directory.")
    host.mars_settings["proxy"] = {"enabled": True, "server": proxy["address"], "port": int(proxy["port"]),
                                   "username": proxy.get("username")}
    host.start_service("obengine")


async def register(host: HostState, world: World, credentials_text: str, friendly_name: str, proxy: dict | None,
                   proxy_password: str | None, working_directory: str | None = None) -> int:
    """DRConfigurator.exe /r /Credentials <file> /Friendlyname <name> [proxy switches].

    The file is checked as lab/registrations.py's check() does: against the Azure side when the world has
    one (the vault and site must exist there), by the file alone in a host-only lab.
    """
    now = world.clock.isoformat()
    refusal = _configurator_start_refusal(host, now, working_directory)
    if refusal is not None:
        return refusal
    try:
        credentials = registrations.check(credentials_text, world.clock.now(), world.azure)
    except vault_credentials.CredentialsRejected as exc:
        return _configurator_failure(host, now, str(exc))
    current = host.registry.values(REGISTRATION_KEY)
    lowered = {name.lower(): value for name, value in current.items()}
    if lowered.get("resourcename") and str(lowered["resourcename"]).lower() != credentials.vault_name.lower():
        return _configurator_failure(host, now, f"The DRA server is already registered in vault {lowered['resourcename']}.")
    leftover = host.registry.get_value(PROVIDER_KEY, "IdMgmtCloudContainerId")
    if leftover and not lowered.get("resourcename"):
        # MicrosoftDocs/SupportArticles-docs#379: a stale identity from an earlier registration.
        return _configurator_failure(host, now, f"Provider is already registered with the following identity: {leftover}. "
                                     "Purge the provider and register again.")
    refusal = _proxy_refusal(proxy, proxy_password)
    if refusal:
        return _configurator_failure(host, now, refusal)
    await world.clock.sleep(world.installers.timing.register_s)
    dra_id = str(uuid.uuid4())
    for name, value in (("VaultLocation", credentials.vault_location), ("SubscriptionId", credentials.subscription_id),
                        ("ResourceName", credentials.vault_name), ("ResourceGroupName", credentials.resource_group),
                        ("SiteName", credentials.site_name), ("ContainerId", credentials.container_id)):
        host.registry.set_value(REGISTRATION_KEY, name, value)
    host.registry.set_value(PROVIDER_KEY, "DraID", dra_id)
    host.registry.set_value(PROVIDER_KEY, "IdMgmtCloudContainerId", credentials.container_id or f"cloud_{uuid.uuid4()}")
    host.certificates = [c for c in host.certificates if not str(c.get("friendly_name", "")).startswith(ASR_CERTIFICATES)]
    host.certificates += [{"friendly_name": f"{prefix}_{dra_id}", "thumbprint": secrets.token_hex(20).upper()} for prefix in ASR_CERTIFICATES]
    _write_proxy(host, proxy)
    host.add_service(Service("dra", "Microsoft Azure Site Recovery Service", "Running", "Automatic"))
    engine = host.file(AGENT_ENGINE)
    registrations.record_registration(world.provider_registrations, vault_credentials.ProviderRegistration(
        host=host.name, friendly_name=friendly_name, dra_id=dra_id, subscription_id=credentials.subscription_id,
        resource_group=credentials.resource_group, vault_name=credentials.vault_name, site_name=credentials.site_name,
        site_id=credentials.site_id, provider_version=host.provider_version,
        agent_version=engine.file_version if engine else None, registered_at=world.clock.isoformat()))
    append_log(host, CONFIGURATOR_LOG, world.clock.isoformat(), f"Registration succeeded: vault {credentials.vault_name}, site {credentials.site_name}")
    return 0


async def configure(host: HostState, world: World, proxy: dict | None, proxy_password: str | None,
                    working_directory: str | None = None) -> int:
    """DRConfigurator.exe /configure [proxy switches] [/AddBypassUrls]: only on a registered server. The running dra
    service keeps the proxy it read when it started."""
    now = world.clock.isoformat()
    refusal = _configurator_start_refusal(host, now, working_directory)
    if refusal is not None:
        return refusal
    if not host.registry.get_value(REGISTRATION_KEY, "ResourceName"):
        return _configurator_failure(host, now, "The server is not registered with a vault. Register it with /r first.")
    refusal = _proxy_refusal(proxy, proxy_password)
    if refusal:
        return _configurator_failure(host, now, refusal)
    await world.clock.sleep(5)
    _write_proxy(host, proxy, add_bypass=True)
    append_log(host, CONFIGURATOR_LOG, world.clock.isoformat(), "Proxy settings updated.")
    return 0


def cleanup_registration(host: HostState) -> None:
    """Microsoft's cleanup script for a disconnected Hyper-V host, IdMgmtCloudContainerId included
    (learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection).

    Local only: the vault keeps its record of the host (world.provider_registrations) until the host is removed
    there (admin API DELETE /provider-registrations/{host} stands for the portal or REST step).
    """
    service = host.service("dra")
    if service is not None:
        service.status = "Stopped"
    host.registry.delete_key(REGISTRATION_KEY)
    host.registry.delete_key(PROXY_KEY)
    host.registry.delete_value(PROVIDER_KEY, "DraID")
    host.registry.delete_value(PROVIDER_KEY, "IdMgmtCloudContainerId")
    host.certificates = [c for c in host.certificates if not str(c.get("friendly_name", "")).startswith(ASR_CERTIFICATES)]
