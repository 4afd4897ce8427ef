"""Simulation of upload_throttle_read/1: the agent, and the throttle Get-OBMachineSetting shows.

Output keys: docs/host-scripts.md "upload_throttle_read/1". The throttle in effect is
host.mars_settings["throttle"] (bandwidths in bytes/s, hours as the TimeSpan's string "08:00:00",
days as DayOfWeek names). The real script reads it only while obengine runs (Get-OBMachineSetting
asks the running engine), so otherwise it is null.

The agent is modelled as strictly as the script has to cope with on a real host:
- Get-OBMachineSetting returns an object (`machine_setting_object`) whose property names are not
  documented. The lab exposes a ThrottleSetting sub-object with the names the collection assumes;
  `mars_settings["throttle_properties"]` narrows them to any other set, so a test can show an agent
  whose names differ.
- After -NoThrottle the agent keeps the last schedule and bandwidths, as the MMC shows them greyed out;
  only Enabled goes false.
- `mars_settings["machine_setting_error"]` makes Get-OBMachineSetting throw that message (agent not
  registered, engine busy).
The read mirrors Get-ThrottleSetting in prelude.ps1: exact names, no guessing, and a failure that
lists the names the agent exposes.
"""

from __future__ import annotations

from lab.hosts.scripts import ScriptContext, ScriptFailed
from lab.hosts.scripts._agent_module import cmdlet_missing
from lab.hosts.scripts.upload_threads_read import agent_document
from lab.hosts.state import HostState

VERSIONS = (1,)

# What the script changes on the host (tests/pslint/contract.py, tests/unit/test_twin_contracts.py): nothing.
SIDE_EFFECTS: dict = {}

THROTTLE_KEYS = ("enabled", "work_days", "work_hour_start", "work_hour_end",
                 "work_hour_bandwidth", "non_work_hour_bandwidth")
# The names the collection assumes (prelude.ps1 Get-ThrottleSetting), each with the throttle key it holds.
THROTTLE_PROPERTIES = {"Enabled": "enabled", "WorkDay": "work_days", "StartWorkHour": "work_hour_start",
                       "EndWorkHour": "work_hour_end", "WorkHourBandwidth": "work_hour_bandwidth",
                       "NonWorkHourBandwidth": "non_work_hour_bandwidth"}
MACHINE_SETTING_PROPERTIES = ("EncryptionSetting", "ProxySetting", "ThrottleSetting")


class MachineSettingError(Exception):
    """Get-OBMachineSetting throws, or its object lacks what the script reads."""


def machine_setting_object(host: HostState) -> dict:
    """What Get-OBMachineSetting returns: property name -> value; sub-objects are dicts."""
    error = host.mars_settings.get("machine_setting_error")
    if error:
        raise MachineSettingError(str(error))
    settings = host.mars_settings.get("throttle") or {}
    proxy = host.mars_settings.get("proxy") or {}
    exposed = host.mars_settings.get("throttle_properties") or list(THROTTLE_PROPERTIES)
    throttle = {name: (bool(settings.get("enabled", False)) if name == "Enabled" else settings.get(THROTTLE_PROPERTIES.get(name, "")))
                for name in exposed}
    return {"EncryptionSetting": {"EncryptionKeyStatus": "Set"},
            "ProxySetting": {"Enabled": bool(proxy.get("enabled")), "ProxyServer": proxy.get("server"),
                             "ProxyPort": proxy.get("port")},
            "ThrottleSetting": throttle}


def _names(obj: dict | None) -> str:
    return ", ".join(obj) if obj is not None else "(none)"


def read_throttle(host: HostState) -> dict:
    """Get-ThrottleSetting of prelude.ps1 against the agent object; raises MachineSettingError as it throws."""
    machine = machine_setting_object(host)
    throttle = machine.get("ThrottleSetting")
    missing = [name for name in THROTTLE_PROPERTIES if throttle is None or name not in throttle]
    if missing or not isinstance(throttle.get("Enabled"), bool):
        raise MachineSettingError(
            f"Get-OBMachineSetting does not expose the throttle as expected (ThrottleSetting with a bool {', '.join(THROTTLE_PROPERTIES)}): "
            f"its properties are {_names(machine)}; ThrottleSetting's are {_names(throttle)}")
    result = {key: None for key in THROTTLE_KEYS}
    result.update(enabled=throttle["Enabled"], work_days=[])
    if throttle["Enabled"]:
        result.update(work_days=list(throttle["WorkDay"] or []), work_hour_start=throttle["StartWorkHour"],
                      work_hour_end=throttle["EndWorkHour"], work_hour_bandwidth=throttle["WorkHourBandwidth"],
                      non_work_hour_bandwidth=throttle["NonWorkHourBandwidth"])
    return result


def run(ctx: ScriptContext) -> dict:
    try:
        return throttle_document(ctx)
    except MachineSettingError as exc:
        raise ScriptFailed(f"upload_throttle_read failed while reading the throttle (Get-OBMachineSetting): {exc}") from None


def throttle_document(ctx: ScriptContext) -> dict:
    """Get-ThrottleDocument of prelude.ps1: the agent, and its throttle while obengine runs (MachineSettingError)."""
    agent = agent_document(ctx.host)
    running = agent is not None and agent["service_status"] == "Running"
    throttle = None
    if running:
        missing = cmdlet_missing(ctx.agent_module_importable, "Get-OBMachineSetting")
        if missing:
            raise MachineSettingError(missing)
        throttle = read_throttle(ctx.host)
    return {"agent": agent, "throttle": throttle}


def machine_setting_throttle(host: HostState) -> dict:
    """The throttle part of Get-OBMachineSetting, as the scripts print it (raises MachineSettingError)."""
    return read_throttle(host)
