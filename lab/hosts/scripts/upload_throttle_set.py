"""Simulation of upload_throttle_set/2: Get-OBMachineSetting, Set-OBMachineSetting, then Get-OBMachineSetting.

Parameters {"throttle": null} -> -NoThrottle, which turns throttling off but keeps the last schedule and
bandwidths (the MMC shows them greyed out; upload_throttle_read.py); otherwise the five
throttle parameters, all of which the cmdlet requires together (Microsoft Learn: Set-OBMachineSetting).
The document carries the throttle found before setting under "replaced". Failures are the real script's: no
InstallPath -> its own message; obengine not running -> its own message, before any cmdlet; a value the cmdlet's
parameter binding refuses (day name, TimeSpan, UInt32) -> that step's error; a powershell.exe that cannot load the
agent's module (lab/hosts/scripts/_agent_module.py) -> the cmdlet is not recognised. The cmdlet's own bandwidth bounds are
not documented (Microsoft Learn: Set-OBMachineSetting gives none), so only the UInt32 binding is enforced here; the
512 Kbps - 1,023 Mbps range is the controller's check.
"""

from __future__ import annotations

import re

from lab.hosts.scripts import ScriptContext, ScriptFailed
from lab.hosts.scripts.upload_threads_read import agent_document
from lab.hosts.scripts.upload_throttle_read import MachineSettingError, read_throttle, throttle_document

VERSIONS = (2,)

# What the script changes on the host, as tests/pslint/contract.py reads it from the .ps1 (registry keys and
# values, services, programs with their arguments, state-changing cmdlets with their parameters; {} is a run-time
# value). This simulation performs these; tests/unit/test_twin_contracts.py fails when the script changes them.
SIDE_EFFECTS = {
    "cmdlets": {"Set-OBMachineSetting": ["Confirm", "EndWorkHour", "NoThrottle", "NonWorkHourBandwidth", "StartWorkHour", "WorkDay",
                                         "WorkHourBandwidth"]},
}

DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
# What [TimeSpan]::Parse accepts for a time of day: h:mm or h:mm:ss.
TIMESPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
FIVE = ("work_days", "work_hour_start", "work_hour_end", "work_hour_bandwidth", "non_work_hour_bandwidth")
REPLACED_STEP = "reading the throttle it replaces (Get-OBMachineSetting)"
SET_STEP = ("setting the throttle (Set-OBMachineSetting -WorkDay -StartWorkHour -EndWorkHour "
            "-WorkHourBandwidth -NonWorkHourBandwidth)")


def run(ctx: ScriptContext) -> dict:
    host = ctx.host
    if not host.agent_install_path:
        raise ScriptFailed("upload_throttle_set failed while reading the Recovery Services agent "
                           r"(HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup): the Recovery Services agent is not "
                           r"installed (no InstallPath under HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup)")
    wanted = ctx.params.get("throttle")
    try:
        replaced = throttle_document(ctx)
    except MachineSettingError as exc:
        raise ScriptFailed(f"upload_throttle_set failed while {REPLACED_STEP}: {exc}") from None
    if replaced["throttle"] is None:
        status = replaced["agent"]["service_status"] or "missing"
        raise ScriptFailed(f"upload_throttle_set failed while {REPLACED_STEP}: the Recovery Services agent's service obengine is "
                           f"{status}, not Running: start it (Start-Service obengine); the throttle is read and set through the running agent")
    step = "turning throttling off (Set-OBMachineSetting -NoThrottle)" if wanted is None else SET_STEP
    if wanted is None:
        host.mars_settings["throttle"] = {**(host.mars_settings.get("throttle") or {}), "enabled": False}
    else:
        host.mars_settings["throttle"] = {"enabled": True, **_bind(wanted, step)}
    try:
        throttle = read_throttle(host)
    except MachineSettingError as exc:
        raise ScriptFailed(f"upload_throttle_set failed while reading the throttle back (Get-OBMachineSetting): {exc}") from None
    return {"agent": agent_document(host), "throttle": throttle, "replaced": replaced}


def _bind(wanted: dict, step: str) -> dict:
    """The five parameters as the cmdlet binds them, or the binding error."""
    missing = [name for name in FIVE if wanted.get(name) is None]
    if missing:
        raise ScriptFailed(f"upload_throttle_set failed while {step}: Parameter set cannot be resolved using the "
                           f"specified named parameters (missing {', '.join(missing)})")
    by_lower = {day.lower(): day for day in DAY_NAMES}
    days = []
    for day in wanted["work_days"]:
        if str(day).lower() not in by_lower:
            raise ScriptFailed(f"upload_throttle_set failed while {step}: Cannot convert value \"{day}\" to type "
                               "\"System.DayOfWeek\"")
        days.append(by_lower[str(day).lower()])
    hours = {}
    for name in ("work_hour_start", "work_hour_end"):
        match = TIMESPAN.match(str(wanted[name]))
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59 or int(match.group(3) or 0) > 59:
            raise ScriptFailed(f"upload_throttle_set failed while {step}: String '{wanted[name]}' was not recognized "
                               "as a valid TimeSpan.")
        hours[name] = f"{int(match.group(1)):02d}:{match.group(2)}:{match.group(3) or '00'}"
    rates = {}
    for name in ("work_hour_bandwidth", "non_work_hour_bandwidth"):
        value = wanted[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 32:
            raise ScriptFailed(f"upload_throttle_set failed while {step}: Cannot convert value \"{value}\" to type "
                               "\"System.UInt32\"")
        rates[name] = value
    return {"work_days": days, **hours, **rates}
