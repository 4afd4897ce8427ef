"""Simulation of replication_provider_apply/1: run the planned steps against the host, taking lab time.

Mirrors plugins/plugin_utils/host_scripts/replication_provider_apply.ps1 step by step: exit codes are
recorded, success is judged by post-conditions polled every 5 lab seconds up to the step's timeout, and
a failure names the step, the steps completed before it and the reason (the setup log's last lines).
"""

from __future__ import annotations

import re

from lab.hosts import installers
from lab.hosts.logon import share_denied
from lab.hosts.scripts import ScriptContext, ScriptFailed
from lab.hosts.state import PROVIDER_KEY, PROXY_KEY, REGISTRATION_KEY, HostState, windows_path

VERSIONS = (1,)

POLL_S = 5.0
PRODUCT_CODE = re.compile(r"\{[0-9A-Fa-f-]{36}\}")


class StepFailed(Exception):
    pass


async def run(ctx: ScriptContext) -> dict:
    done: list[dict] = []
    state = {"reboot_required": False, "setup_file_version": None}
    step = "reading the parameters from stdin"
    try:
        for item in ctx.params.get("steps") or []:
            step = item["action"]
            handler = STEPS.get(step)
            if handler is None:
                raise StepFailed(f"unknown step {step}")
            exit_code = await handler(ctx, item, state)
            done.append({"action": step, "exit_code": exit_code})
    except (StepFailed, installers.InstallerError) as exc:
        completed = ", ".join(entry["action"] for entry in done)
        raise ScriptFailed(f"replication_provider_apply failed at step {step} (completed before it: {completed}): {exc}") from None
    host = ctx.host
    engine = host.file(installers.AGENT_ENGINE) if host.agent_install_path else None
    return {"steps": done, "reboot_required": state["reboot_required"], "setup_file_version": state["setup_file_version"],
            "provider_version": host.provider_version, "agent_version": engine.file_version if engine else None}


async def _wait(ctx: ScriptContext, condition, timeout: float) -> bool:
    waited = 0.0
    while not condition():
        if waited >= timeout:
            return False
        await ctx.world.clock.sleep(POLL_S)
        waited += POLL_S
    return True


def _log_tail(host: HostState) -> str:
    logs = [host.file(path) for path in (installers.SETUP_LOG, installers.CONFIGURATOR_LOG)]
    logs = [entry for entry in logs if entry is not None and entry.content]
    if not logs:
        return r"no log in C:\ProgramData\ASRLogs"
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


def _version_of(host: HostState, path: str) -> str | None:
    entry = host.file(path)
    return (installers.setup_versions(entry.content) or {}).get("provider_version") if entry else None


async def _download(ctx: ScriptContext, item: dict, state: dict) -> None:
    url = str(ctx.secrets.get("setup_file_url") or "")
    content = await installers.download(ctx.world, url)
    partial = item["path"] + ".partial"
    ctx.host.write_file(partial, content, ctx.world.clock.isoformat())
    _verify_hash(ctx.host, partial, item["sha256"])
    ctx.host.remove_path(partial)
    ctx.host.write_file(item["path"], content, ctx.world.clock.isoformat())
    state["setup_file_version"] = _version_of(ctx.host, item["path"])


async def _verify(ctx: ScriptContext, item: dict, state: dict) -> None:
    source = ctx.host.file(item["source"])
    if source is None:
        raise StepFailed(f"Cannot find path '{item['source']}' because it does not exist.")
    ctx.host.remove_path(item["source"])
    ctx.host.write_file(item["path"], source.content or b"", ctx.world.clock.isoformat())
    _verify_hash(ctx.host, item["path"], item["sha256"])
    state["setup_file_version"] = _version_of(ctx.host, item["path"])


async def _extract(ctx: ScriptContext, item: dict, state: dict) -> int:
    ctx.host.remove_path(item["dir"])
    if share_denied(ctx.logon, item["setup_file"]):
        # Start-Process on a share the session cannot authenticate to (double hop).
        raise StepFailed("This command cannot be run due to the error: Access is denied.")
    await ctx.world.clock.sleep(ctx.world.installers.timing.extract_s)
    exit_code = installers.extract(ctx.host, item["setup_file"], item["dir"], ctx.world.clock.isoformat())
    if ctx.host.file(windows_path(item["dir"]).rstrip("\\") + r"\setupdr.exe") is None:
        raise StepFailed(f"{item['setup_file']} /x /q exited with {exit_code} and left no setupdr.exe in {item['dir']}")
    return exit_code


def _installed_at(host: HostState, expected: str | None) -> bool:
    if not installers.installed(host):
        return False
    return expected is None or installers.version_tuple(host.provider_version) >= installers.version_tuple(expected)


async def _install(ctx: ScriptContext, item: dict, state: dict) -> int:
    exit_code = await installers.run_setupdr(ctx.host, ctx.world, item["dir"])
    if exit_code == 1618:
        raise StepFailed("setupdr.exe /i exited with 1618: another installation is in progress; run again once it has finished")
    if exit_code in (3010, 1641):
        state["reboot_required"] = True
    if not await _wait(ctx, lambda: _installed_at(ctx.host, item.get("expected_version")), float(item["timeout"])):
        raise StepFailed(f"setupdr.exe /i exited with {exit_code} and the provider and agent were not in place within "
                         f"{item['timeout']} s; {_log_tail(ctx.host)}")
    return exit_code


async def _remove_extracted(ctx: ScriptContext, item: dict, state: dict) -> None:
    ctx.host.remove_path(item["dir"])


def _registered(host: HostState) -> bool:
    values = {name.lower(): value for name, value in host.registry.values(REGISTRATION_KEY).items()}
    return all(values.get(name) for name in ("vaultlocation", "subscriptionid", "resourcename", "resourcegroupname"))


async def _register(ctx: ScriptContext, item: dict, state: dict) -> int:
    # The real script writes the key file to a folder only SYSTEM and Administrators read, and deletes it
    # in `finally`; the simulation hands the content straight to DRConfigurator and keeps no copy.
    exit_code = await installers.register(ctx.host, ctx.world, str(ctx.secrets.get("vault_credentials") or ""),
                                          item["friendly_name"], item.get("proxy"), ctx.secrets.get("proxy_password"))
    if not await _wait(ctx, lambda: _registered(ctx.host), float(item["timeout"]) if exit_code == 0 else 0.0):
        raise StepFailed(f"DRConfigurator.exe /r exited with {exit_code} and the host is not registered; {_log_tail(ctx.host)}")
    ctx.host.service("dra").status = "Running"
    return exit_code


async def _configure_proxy(ctx: ScriptContext, item: dict, state: dict) -> int:
    exit_code = await installers.configure(ctx.host, ctx.world, item.get("proxy"), ctx.secrets.get("proxy_password"))
    wanted = (item.get("proxy") or {}).get("address")

    def applied() -> bool:
        return ctx.host.registry.get_value(PROXY_KEY, "ProxyAddress") == wanted
    if not await _wait(ctx, applied, 120.0 if exit_code == 0 else 0.0):
        raise StepFailed(f"DRConfigurator.exe /configure exited with {exit_code} and the proxy is not {wanted}; {_log_tail(ctx.host)}")
    return exit_code


async def _unregister(ctx: ScriptContext, item: dict, state: dict) -> None:
    installers.cleanup_registration(ctx.host, ctx.world)


async def _uninstall(ctx: ScriptContext, item: dict, state: dict) -> int | None:
    host = ctx.host
    name = installers.PROVIDER_NAME if item["component"] == "provider" else installers.AGENT_NAME
    exit_code = None
    for product in host.installed_products():
        if not product["name"].startswith(name):
            continue
        uninstall_string = host.registry.get_value(f"{installers.UNINSTALL_KEY}\\{product['product_code']}", "UninstallString")
        if not uninstall_string:
            continue
        match = PRODUCT_CODE.search(uninstall_string)
        if match is None:
            raise StepFailed(f"cannot uninstall {product['name']}: its UninstallString names no MSI product code")
        exit_code = await installers.uninstall(host, ctx.world, match.group(0))
        if exit_code in (3010, 1641):
            state["reboot_required"] = True
        elif exit_code != 0:
            raise StepFailed(f"msiexec /X for {product['name']} exited with {exit_code}")

    def removed() -> bool:
        if item["component"] == "provider":
            return not host.registry.key_exists(PROVIDER_KEY) or not host.provider_version
        return not host.agent_install_path
    if not await _wait(ctx, removed, float(item["timeout"])):
        raise StepFailed(f"the {item['component']} is still installed {item['timeout']} s after msiexec /X")
    return exit_code


STEPS = {
    "download": _download, "verify": _verify, "extract": _extract, "install": _install,
    "remove_extracted": _remove_extracted, "register": _register, "configure_proxy": _configure_proxy,
    "unregister": _unregister, "uninstall": _uninstall,
}
