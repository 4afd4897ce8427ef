"""Simulation of upload_throttle_read/1: the agent, and the throttle Get-OBMachineSetting shows.

Output keys: docs/host-scripts.md "upload_throttle_read/1". The throttle is host.mars_settings
["throttle"], stored as Set-OBMachineSetting leaves it (bandwidths in bytes/s, hours as the
TimeSpan's string "08:00:00", days as DayOfWeek names); the real script reads it only while
obengine runs (Get-OBMachineSetting asks the running engine), so otherwise it is null.
"""

from __future__ import annotations

from lab.hosts.scripts import ScriptContext
from lab.hosts.scripts.upload_threads_read import agent_document
from lab.hosts.state import HostState

VERSIONS = (1,)

THROTTLE_KEYS = ("enabled", "work_days", "work_hour_start", "work_hour_end",
                 "work_hour_bandwidth", "non_work_hour_bandwidth")


def run(ctx: ScriptContext) -> dict:
    agent = agent_document(ctx.host)
    running = agent is not None and agent["service_status"] == "Running"
    return {"agent": agent, "throttle": machine_setting_throttle(ctx.host) if running else None}


def machine_setting_throttle(host: HostState) -> dict:
    """The throttle part of Get-OBMachineSetting, as the scripts print it."""
    settings = host.mars_settings.get("throttle") or {}
    throttle = {key: settings.get(key) for key in THROTTLE_KEYS}
    throttle["enabled"] = bool(settings.get("enabled", False))
    throttle["work_days"] = list(settings.get("work_days") or [])
    return throttle
