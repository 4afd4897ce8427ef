"""Simulation of replication_provider_remove/1: unregister (the local cleanup) and uninstall, taking lab time.

Mirrors plugins/plugin_utils/host_scripts/replication_provider_remove.ps1, with the step loop, process
model and waits of replication_provider_apply.py. The cleanup is local only: the vault's record of the
host stays (installers.cleanup_registration). Uninstalled means what the read script sees: no Version
(provider) or InstallPath (agent) and no Uninstall entry; the provider's key itself may stay.
"""

from __future__ import annotations

import re

from lab.hosts import installers
from lab.hosts.scripts import ScriptContext
from lab.hosts.scripts.replication_provider_apply import StepFailed, run_steps, start_installer, wait

VERSIONS = (1,)

# What the script changes on the host, as tests/pslint/contract.py reads it from the .ps1 (registry keys and
# values, services, programs with their arguments, state-changing cmdlets with their parameters; {} is a run-time
# value). This simulation performs these; tests/unit/test_twin_contracts.py fails when the script changes them.
SIDE_EFFECTS = {
    "registry_values_removed": {r"HKLM:\SOFTWARE\Microsoft\Azure Site Recovery": ["DraID", "IdMgmtCloudContainerId"]},
    "registry_keys_removed": [r"HKLM:\SOFTWARE\Microsoft\Azure Site Recovery\ProxySettings",
                              r"HKLM:\SOFTWARE\Microsoft\Azure Site Recovery\Registration"],
    "services": {"stop": ["dra"]},
    "processes": ["msiexec.exe /X{} /qn /norestart"],
    "cmdlets": {
        "Stop-Service": ["ErrorAction", "Force", "Name"],
        "Remove-Item": ["ErrorAction", "Force", "LiteralPath", "Recurse"],
        "Remove-ItemProperty": ["ErrorAction", "LiteralPath", "Name"],
    },
}

PRODUCT_CODE = re.compile(r"\{[0-9A-Fa-f-]{36}\}")
SYSTEM_DIRECTORY = r"C:\Windows\system32"


async def run(ctx: ScriptContext) -> dict:
    return await run_steps(ctx, "replication_provider_remove", STEPS)


async def _unregister(ctx: ScriptContext, item: dict, state: dict) -> None:
    installers.cleanup_registration(ctx.host)


def _installed(ctx: ScriptContext, component: str, name: str) -> bool:
    present = ctx.host.provider_version if component == "provider" else ctx.host.agent_install_path
    return bool(present or installers.uninstall_entries(ctx.host, name))


async def _uninstall(ctx: ScriptContext, item: dict, state: dict) -> int | None:
    component = item["component"]
    name = installers.PROVIDER_NAME if component == "provider" else installers.AGENT_NAME
    exit_code = None
    for entry in installers.uninstall_entries(ctx.host, name):
        match = PRODUCT_CODE.search(entry["uninstall_string"])
        if match is None:
            raise StepFailed(f"cannot uninstall {entry['name']}: its UninstallString names no MSI product code")
        code = match.group(0)
        exit_code = await start_installer(ctx, state, "msiexec", "msiexec.exe", f"/X{code} /qn /norestart", SYSTEM_DIRECTORY,
                                          lambda _cwd, code=code: installers.uninstall(ctx.host, ctx.world, code), float(item["timeout"]))
        if exit_code in (3010, 1641):
            state["reboot_required"] = True
        elif exit_code != 0:
            shown = "" if exit_code is None else exit_code
            raise StepFailed(f"msiexec /X{code} for {entry['name']} exited with {shown}")
    if not await wait(ctx, lambda: not _installed(ctx, component, name), float(item["timeout"])):
        raise StepFailed(f"the {component} is still installed (version or Uninstall entry present) {item['timeout']} s after msiexec /X")
    return exit_code


STEPS = {"unregister": _unregister, "uninstall": _uninstall}
