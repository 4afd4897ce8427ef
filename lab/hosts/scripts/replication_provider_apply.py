"""Simulation of replication_provider_apply/1: run the planned steps against the host, taking lab time.

Mirrors plugins/plugin_utils/host_scripts/replication_provider_apply.ps1 step by step: exit codes are
recorded, success is judged by post-conditions polled every 5 lab seconds up to the step's timeout (the
full timeout, whatever the exit code, as the script waits), and a failure names the step, the steps
completed before it and the reason (the setup log's last lines). The removing steps (unregister,
uninstall) are replication_provider_remove/1's: here they are unknown steps, as in the script.

Installers are started as the script starts them (`start_installer`): as processes of the host, in the
folder the script's Start-Installer calls give (lab/hosts/scripts/_launching.py reads them from the
script), with an exit code only when the script's way of starting them yields one, and stopped at their
timeout only when the script stops them.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path

from lab.hosts import folders, installers
from lab.hosts.logon import share_denied
from lab.hosts.scripts._agent_module import cmdlet_missing
from lab.hosts.scripts import ScriptContext, ScriptFailed
from lab.hosts.scripts._launching import Launching, launching
from lab.hosts.scripts.replication_provider_read import registration_of
from lab.hosts.state import PROXY_KEY, REGISTRATION_KEY, HostState, windows_path

VERSIONS = (1,)

# What the script changes on the host, as tests/pslint/contract.py reads it from the .ps1 (registry keys and
# values, services, programs with their arguments, state-changing cmdlets with their parameters; {} is a run-time
# value). This simulation performs these; tests/unit/test_twin_contracts.py fails when the script changes them.
SIDE_EFFECTS = {
    "services": {"restart": ["dra", "obengine"], "start": ["dra"]},
    "processes": [
        "DRConfigurator.exe /configure{Get-ProxyArgument}",
        r'DRConfigurator.exe /r /Credentials "{}\host.VaultCredentials" /Friendlyname "{}"{Get-ProxyArgument}',
        "setupdr.exe /i",
        '{} /x:"{}" /q',
    ],
    "cmdlets": {
        "Set-OBMachineSetting": ["Confirm", "ProxyPassword", "ProxyPort", "ProxyServer", "ProxyUsername"],
        "Restart-Service": ["Name"],
        "Remove-Item": ["ErrorAction", "Force", "LiteralPath", "Recurse"],
        "New-Item": ["ItemType", "Path"],
        "Move-Item": ["Destination", "Force", "LiteralPath"],
        "Start-Service": ["Name"],
    },
}

POLL_S = 5.0
SCRIPT = Path(__file__).resolve().parents[3] / "plugins" / "plugin_utils" / "host_scripts" / "replication_provider_apply.ps1"
# A call of the script's Initialize-StagingFolder (a step's line, not the function's definition), and the function
# creating the folder with its admins-only ACL in the same call.
STAGING_CALL = re.compile(r"^\s*Initialize-StagingFolder\s+-Path\b", re.MULTILINE | re.IGNORECASE)
ATOMIC_CREATE = re.compile(r"\[IO\.Directory\]::CreateDirectory\(\$Path,\s*\(New-AdminsOnlyDirectorySecurity\)\)", re.IGNORECASE)
# What the script itself puts in the staging folder: staged setup files and extraction folders.
OURS = ("azuresiterecoveryprovider-*", "extracted-*")


class StepFailed(Exception):
    pass


async def run(ctx: ScriptContext) -> dict:
    return await run_steps(ctx, "replication_provider_apply", STEPS)


async def run_steps(ctx: ScriptContext, script: str, handlers: dict) -> dict:
    """The loop both apply and remove scripts share: each step in order, one document or one failure."""
    done: list[dict] = []
    state = {"reboot_required": False, "setup_file_version": None, "launching": launching(script)}
    step = "reading the parameters from stdin"
    try:
        for item in ctx.params.get("steps") or []:
            step = item["action"]
            handler = handlers.get(step)
            if handler is None:
                raise StepFailed(f"unknown step {step}")
            exit_code = await handler(ctx, item, state)
            done.append({"action": step, "exit_code": exit_code})
    except (StepFailed, installers.InstallerError) as exc:
        completed = ", ".join(entry["action"] for entry in done)
        raise ScriptFailed(f"{script} failed at step {step} (completed before it: {completed}): {exc}") from None
    host = ctx.host
    engine = host.file(installers.AGENT_ENGINE) if host.agent_install_path else None
    return {"steps": done, "reboot_required": state["reboot_required"], "setup_file_version": state["setup_file_version"],
            "provider_version": host.provider_version, "agent_version": engine.file_version if engine else None,
            "registration": registration_of(host)}


async def wait(ctx: ScriptContext, condition, timeout: float) -> bool:
    waited = 0.0
    while not condition():
        if waited >= timeout:
            return False
        await ctx.world.clock.sleep(POLL_S)
        waited += POLL_S
    return True


def _exit_text(exit_code: int | None) -> str:
    return "" if exit_code is None else str(exit_code)


async def start_installer(ctx: ScriptContext, state: dict, program: str, file_path: str, arguments: str, folder: str,
                          body: Callable[[str], Coroutine], timeout: float) -> int | None:
    """Start-Installer of prelude.ps1: `body(working_directory)` runs as a process of the host; `arguments` are as
    the script would show them (never a secret)."""
    launch: Launching = state["launching"]
    working_directory = launch.working_directory(program, folder)
    process = installers.start_process(ctx.host, ctx.world, file_path, arguments, working_directory, body(working_directory))
    waited = 0.0
    while not process.task.done():
        if waited >= timeout:
            if launch.stops_on_timeout:
                installers.stop_process(ctx.world, process)
                raise StepFailed(f"{file_path} {arguments} (process {process.pid}, started in {working_directory}) was still running "
                                 f"after {int(timeout)} s and was stopped")
            raise StepFailed(f"{file_path.rsplit(chr(92), 1)[-1]} is still running after {int(timeout)} s")
        await ctx.world.clock.sleep(POLL_S)
        waited += POLL_S
    exit_code = process.task.result()
    return exit_code if launch.exit_code_reliable else None


def log_tail(host: HostState, pattern: str) -> str:
    """Get-LogTail -Filter: the last lines of the newest log in ASRLogs whose name matches `pattern` (the failing
    program's own log)."""
    folder = windows_path(installers.SETUP_LOG).rsplit("\\", 1)[0]
    logs = [entry for key, entry in host.files.items()
            if key.rsplit("\\", 1)[0] == folder.lower() and fnmatch.fnmatch(key.rsplit("\\", 1)[-1], pattern.lower()) and entry.content]
    if not logs:
        return f"no log {pattern} in {folder}"
    newest = max(logs, key=lambda entry: entry.created_at or "")
    lines = newest.content.decode(errors="replace").splitlines()[-4:]
    return f"{newest.path.rsplit(chr(92), 1)[-1]}: " + " | ".join(lines)


def _verify_hash(host: HostState, path: str, expected: str) -> None:
    entry = host.file(path)
    if entry is None:
        raise StepFailed(f"Cannot find path '{path}' because it does not exist.")
    actual = installers.sha256(entry.content)
    if actual != expected:
        host.remove_path(path)
        raise StepFailed(f"{path} has SHA-256 {actual}, not the expected {expected}; removed it")


def _protects_staging(ctx: ScriptContext) -> bool:
    """Whether the script as sent makes the staging folder admins-only before using it (Initialize-StagingFolder);
    as the earlier versions did, New-Item -Force leaves it inheriting its parent's ACL."""
    text = ctx.script_text or SCRIPT.read_text(encoding="utf-8")
    return bool(STAGING_CALL.search(text) and ATOMIC_CREATE.search(text))


def _initialize_staging(ctx: ScriptContext, path: str) -> None:
    """Initialize-StagingFolder: an admins-only folder, kept; an open one holding only what the script puts there,
    deleted and created again; an open one holding anything else, refused."""
    host = ctx.host
    if not _protects_staging(ctx):
        if not folders.exists(host, path):
            folders.create(host, path)
        return
    if folders.exists(host, path):
        if folders.admins_only(host, path):
            return
        foreign = [name for name in folders.children(host, path) if not any(fnmatch.fnmatch(name.lower(), pattern) for pattern in OURS)]
        if foreign:
            raise StepFailed(f"staging_dir {path} exists and non-administrators may write to it, and it holds {', '.join(foreign)}, "
                             "which this module did not put there; remove the folder (it is created again for SYSTEM and "
                             "Administrators only) or choose another staging_dir")
        host.remove_path(path)
    folders.create(host, path, admins_only=True)


async def _download(ctx: ScriptContext, item: dict, state: dict) -> None:
    _initialize_staging(ctx, windows_path(item["path"]).rsplit("\\", 1)[0])
    url = str(ctx.secrets.get("setup_file_url") or "")
    content = await installers.download(ctx.world, url, ctx.host, item.get("proxy"))
    partial = item["path"] + ".partial"
    ctx.host.write_file(partial, content, ctx.world.clock.isoformat())
    _verify_hash(ctx.host, partial, item["sha256"])
    ctx.host.remove_path(partial)
    ctx.host.write_file(item["path"], content, ctx.world.clock.isoformat())
    state["setup_file_version"] = installers.file_version(ctx.host.file(item["path"]))


async def _verify(ctx: ScriptContext, item: dict, state: dict) -> None:
    source = ctx.host.file(item["source"])
    if source is None:
        raise StepFailed(f"Cannot find path '{item['source']}' because it does not exist.")
    _initialize_staging(ctx, windows_path(item["path"]).rsplit("\\", 1)[0])
    ctx.host.remove_path(item["source"])
    ctx.host.write_file(item["path"], source.content or b"", ctx.world.clock.isoformat())
    _verify_hash(ctx.host, item["path"], item["sha256"])
    state["setup_file_version"] = installers.file_version(ctx.host.file(item["path"]))


async def _extract(ctx: ScriptContext, item: dict, state: dict) -> int | None:
    staging_dir = windows_path(item.get("staging_dir") or r"C:\ProgramData\azmigrate\setup").rstrip("\\")
    _initialize_staging(ctx, staging_dir)
    in_staging = windows_path(item["setup_file"]).rsplit("\\", 1)[0].lower() == staging_dir.lower()
    if in_staging and ctx.host.file(item["setup_file"]) is None:
        raise StepFailed(f"{item['setup_file']} is not there: a staged setup file in a folder non-administrators could write is "
                         "removed with that folder; run again to stage it in the protected folder")
    if share_denied(ctx.logon, item["setup_file"]):
        # Start-Process on a share the session cannot authenticate to (double hop).
        raise StepFailed("This command cannot be run due to the error: Access is denied.")
    # New-Item of a folder named by a new GUID: it inherits the staging folder's ACL.
    extract_dir = folders.create(ctx.host, f"{staging_dir}\\extracted-{uuid.uuid4().hex}").path
    state["extract_dir"] = extract_dir

    async def self_extract(_working_directory: str) -> int:
        await ctx.world.clock.sleep(ctx.world.installers.timing.extract_s)
        return installers.extract(ctx.host, item["setup_file"], extract_dir, ctx.world.clock.isoformat())
    folder = windows_path(item["setup_file"]).rsplit("\\", 1)[0]
    exit_code = await start_installer(ctx, state, "setup_file", item["setup_file"], f'/x:"{extract_dir}" /q', folder, self_extract, 600)
    setupdr = extract_dir + r"\setupdr.exe"
    if not await wait(ctx, lambda: ctx.host.file(setupdr) is not None, 60):
        raise StepFailed(f"{item['setup_file']} /x /q exited with {_exit_text(exit_code)} and left no setupdr.exe in {extract_dir}")
    return exit_code


def _installed_at(host: HostState, expected: str | None) -> bool:
    if not installers.installed(host):
        return False
    return expected is None or installers.version_tuple(host.provider_version) >= installers.version_tuple(expected)


async def _install(ctx: ScriptContext, item: dict, state: dict) -> int | None:
    directory = state["extract_dir"]
    exit_code = await start_installer(ctx, state, "setupdr", directory + r"\setupdr.exe", "/i", directory,
                                      lambda cwd: installers.run_setupdr(ctx.host, ctx.world, directory, cwd), float(item["timeout"]))
    if exit_code == 1618:
        raise StepFailed("setupdr.exe /i exited with 1618: another installation is in progress; run again once it has finished")
    if exit_code in (3010, 1641):
        state["reboot_required"] = True
    if not await wait(ctx, lambda: _installed_at(ctx.host, item.get("expected_version")), float(item["timeout"])):
        raise StepFailed(f"setupdr.exe /i exited with {_exit_text(exit_code)} and the provider and agent were not in place within "
                         f"{item['timeout']} s; {log_tail(ctx.host, 'DRASetupWizard*.log')}")
    return exit_code


async def _remove_extracted(ctx: ScriptContext, item: dict, state: dict) -> None:
    ctx.host.remove_path(state["extract_dir"])


def _registered(host: HostState) -> bool:
    values = {name.lower(): value for name, value in host.registry.values(REGISTRATION_KEY).items()}
    return all(values.get(name) for name in ("vaultlocation", "subscriptionid", "resourcename", "resourcegroupname"))


def _proxy_arguments(proxy: dict | None) -> str:
    """Get-ProxyArgument as shown in a message: the password hidden."""
    if not proxy:
        return ""
    text = f' /proxyaddress "{proxy["address"]}" /proxyport {proxy["port"]}'
    if proxy.get("username"):
        text += f' /proxyusername "{proxy["username"]}" /proxypassword "(hidden)"'
    if proxy.get("bypass_urls"):
        text += f' /AddBypassUrls "{";".join(proxy["bypass_urls"])}"'
    return text


async def _register(ctx: ScriptContext, item: dict, state: dict) -> int | None:
    # The real script writes the key file to a folder only SYSTEM and Administrators read, and deletes it
    # in `finally`; the simulation hands the content straight to DRConfigurator and keeps no copy.
    credentials = str(ctx.secrets.get("vault_credentials") or "")
    arguments = f'/r /Credentials "(key file)" /Friendlyname "{item["friendly_name"]}"' + _proxy_arguments(item.get("proxy"))
    exit_code = await start_installer(
        ctx, state, "configurator", installers.CONFIGURATOR, arguments, installers.PROVIDER_DIR,
        lambda cwd: installers.register(ctx.host, ctx.world, credentials, item["friendly_name"], item.get("proxy"),
                                        ctx.secrets.get("proxy_password"), cwd), float(item["timeout"]))
    if not await wait(ctx, lambda: _registered(ctx.host), float(item["timeout"])):
        reason = log_tail(ctx.host, "DRConfigurator*.log")
        raise StepFailed(f"DRConfigurator.exe /r exited with {_exit_text(exit_code)} and the host is not registered; {reason}")
    if ctx.host.service("dra") is not None and ctx.host.service("dra").status != "Running":
        ctx.host.start_service("dra")   # Start-Service: a running service is left as it is
    if item.get("proxy"):
        _set_agent_proxy(ctx, item["proxy"])
    return exit_code


async def _configure_proxy(ctx: ScriptContext, item: dict, state: dict) -> int | None:
    proxy = item.get("proxy")
    exit_code = await start_installer(
        ctx, state, "configurator", installers.CONFIGURATOR, "/configure" + _proxy_arguments(proxy), installers.PROVIDER_DIR,
        lambda cwd: installers.configure(ctx.host, ctx.world, proxy, ctx.secrets.get("proxy_password"), cwd), 300)
    wanted = (proxy or {}).get("address")

    def applied() -> bool:
        return ctx.host.registry.get_value(PROXY_KEY, "ProxyAddress") == wanted
    if not await wait(ctx, applied, 120.0):
        reason = log_tail(ctx.host, "DRConfigurator*.log")
        raise StepFailed(f"DRConfigurator.exe /configure exited with {_exit_text(exit_code)} and the proxy is not {wanted}; {reason}")
    # Restart-Service dra: the provider reads its proxy when it starts. Then the agent's proxy.
    ctx.host.start_service("dra")
    _set_agent_proxy(ctx, proxy)
    return exit_code


def _set_agent_proxy(ctx: ScriptContext, proxy: dict | None) -> None:
    """Set-AgentProxy: Set-OBMachineSetting from the agent's module, which this powershell.exe must be able to load."""
    missing = cmdlet_missing(ctx.agent_module_importable, "Set-OBMachineSetting")
    if missing:
        raise StepFailed(missing)
    installers.set_agent_proxy(ctx.host, proxy)


STEPS = {
    "download": _download, "verify": _verify, "extract": _extract, "install": _install,
    "remove_extracted": _remove_extracted, "register": _register, "configure_proxy": _configure_proxy,
}
