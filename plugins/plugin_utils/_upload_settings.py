# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Validation and planning for upload_threads and upload_throttle: pure functions, no I/O.

Both action plugins run the same way (_host_setting.py): options (already through ``validate_argument_spec``)
are checked here beyond the argument spec, the host's current state comes from a *read* host script,
``plan_*`` compares current with desired and says what the *set* host script must do, and ``*_mismatches``
checks the state the set script read back (success is judged by post-conditions).

The documents of the four host scripts are their contracts in _host_contracts.py; the read and set script
of a module print the same document. Facts
come from KB 3056159 (threads, throttle) and Microsoft Learn: Set-OBMachineSetting / Get-OBMachineSetting.
Units are plugins/module_utils/bandwidth.py's: 1 Kbps = 1,024 bytes/s.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.module_utils.bandwidth import (
    THROTTLE_MAX_BPS,
    THROTTLE_MIN_BPS,
    check_throttle_rate,
    format_throttle_rate,
    parse_throttle_rate,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import (
    DAY_NAMES,
    DEFAULT_UPLOAD_THREADS,
    DEFAULT_WORK_DAYS,
    MAX_UPLOAD_THREADS,
    MIN_UPLOAD_THREADS,
    ThrottleSchedule,
    day_names,
    find_time_of_day,
    format_time_of_day,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import parse_time_of_day as time_of_day_seconds
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import (
    bandwidth,
    normalise_throttle,
    threads,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_setting import HostSetting

# --- upload threads ------------------------------------------------------------------------------

# Option name -> REG_DWORD value name under HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication
# (KB 3056159).
THREAD_VALUE_NAMES = {"upload_threads": "UploadThreadsPerVM", "download_threads": "DownloadThreadsPerVM"}
DWORD_KIND = "DWord"

# --- throttle ------------------------------------------------------------------------------------

THROTTLE_FIELDS = ("work_days", "work_hour_start", "work_hour_end", "work_hour_bandwidth", "non_work_hour_bandwidth")
ALLOWED_RATES = f"512 Kbps to 1023 Mbps ({THROTTLE_MIN_BPS:,} to {THROTTLE_MAX_BPS:,} bytes/s)"


class InvalidOption(ValueError):
    """An option's value that the argument spec let through but the host would refuse or misread.

    The message names the option, the value given and what is allowed.
    """


class HostNotReady(Exception):
    """The host cannot take the setting yet (agent missing, service stopped); the message says what to do."""


@dataclasses.dataclass(frozen=True)
class ThreadsPlan:
    """What upload_threads changes: registry value name -> DWORD to write (empty: nothing)."""

    writes: dict[str, int]
    before: dict[str, t.Any]
    after: dict[str, t.Any]

    @property
    def changed(self) -> bool:
        return bool(self.writes)


@dataclasses.dataclass(frozen=True)
class ThrottlePlan:
    """What upload_throttle changes; ``set_params`` is upload_throttle_set/1's params when it changes."""

    changed: bool
    changed_fields: list[str]
    before: dict[str, t.Any]
    after: dict[str, t.Any]
    set_params: dict[str, t.Any] | None


# --- upload threads: validate, read, plan, confirm -----------------------------------------------


def validate_threads_options(options: t.Mapping[str, t.Any]) -> dict[str, int]:
    """The registry values upload_threads manages: value name -> DWORD, only for options given.

    Raises InvalidOption for a count outside 1-32 (the agent's supported range) or a boolean, which
    the argument spec's ``int`` lets through as 0 or 1.
    """
    desired = {}
    for option, value_name in THREAD_VALUE_NAMES.items():
        value = options.get(option)
        if value is None:
            continue
        if isinstance(value, bool) or not MIN_UPLOAD_THREADS <= value <= MAX_UPLOAD_THREADS:
            raise InvalidOption(
                f"{option} {value!r} is not allowed: give a whole number of threads per VM from {MIN_UPLOAD_THREADS} to {MAX_UPLOAD_THREADS} "
                f"(the Recovery Services agent's supported range; it uses {DEFAULT_UPLOAD_THREADS} when {value_name} is not set)"
            )
        desired[value_name] = value
    if not desired:
        raise InvalidOption(f"give at least one of {', '.join(THREAD_VALUE_NAMES)}: both are unset, so there is nothing to manage")
    return desired


def registry_value(document: t.Mapping[str, t.Any], value_name: str) -> tuple[t.Any, str | None]:
    """(data, registry type name) of one value of the Replication key; (None, None) when absent."""
    entry = (document.get("replication_registry") or {}).get(value_name)
    if not entry:
        return None, None
    return entry.get("data"), entry.get("kind")


def threads_view(document: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Both thread counts as host_info returns them: ``{"value": 4, "configured": false}`` each.

    A value of another registry type than REG_DWORD is shown as it is stored, with its type, since
    the agent does not read it as a count.
    """
    view = {}
    for option, value_name in THREAD_VALUE_NAMES.items():
        data, kind = registry_value(document, value_name)
        view[option] = threads(data)
        if data is not None and kind != DWORD_KIND:
            view[option]["registry_type"] = kind
    return view


def plan_threads(document: t.Mapping[str, t.Any], desired: t.Mapping[str, int]) -> ThreadsPlan:
    """The DWORDs to write so that every desired value is stored, as a REG_DWORD, with that number.

    An absent value is written even when 4 is asked for: the agent's default is documented, not
    promised, and the module manages the registry value it is asked to manage.
    """
    writes = {}
    for value_name, wanted in desired.items():
        data, kind = registry_value(document, value_name)
        if kind != DWORD_KIND or data != wanted:
            writes[value_name] = wanted
    after_document = {"replication_registry": dict(document.get("replication_registry") or {})}
    for value_name, wanted in writes.items():
        after_document["replication_registry"][value_name] = {"data": wanted, "kind": DWORD_KIND}
    return ThreadsPlan(writes=writes, before=threads_view(document), after=threads_view(after_document))


def threads_mismatches(document: t.Mapping[str, t.Any], desired: t.Mapping[str, int]) -> list[str]:
    """How the values read back after a write differ from the desired ones (empty: all as asked)."""
    problems = []
    for value_name, wanted in desired.items():
        data, kind = registry_value(document, value_name)
        if kind != DWORD_KIND or data != wanted:
            found = "absent" if kind is None else f"{data!r} ({kind})"
            problems.append(f"{value_name} is {found}, not {wanted} (DWord)")
    return problems


def threads_restart_recommended(document: t.Mapping[str, t.Any], changed: bool) -> bool:
    """Whether a restart of obengine is worth it: a value changed while the engine runs.

    Whether the engine rereads UploadThreadsPerVM without a restart is not documented (neither
    KB 3056159 nor Microsoft Learn says); a stopped engine reads it when it starts.
    """
    agent = document.get("agent") or {}
    return changed and agent.get("service_status") == "Running"


# --- throttle: validate, read, plan, confirm -----------------------------------------------------


def parse_work_days(value: t.Any) -> tuple[str, ...]:
    """DayOfWeek names in the enum's order from a list of day names (any case); duplicates merged."""
    if not value:
        raise InvalidOption(f"work_days {value!r} is empty: give at least one of {', '.join(DAY_NAMES)}")
    unknown = []
    for day in value:
        try:
            day_names([day])
        except ValueError:
            unknown.append(day)
    if unknown:
        raise InvalidOption(f"work_days has {', '.join(repr(day) for day in unknown)}, not day names: use {', '.join(DAY_NAMES)}")
    return day_names(value)


def given(value: t.Any) -> str:
    """A value as the user gave it, for messages: a string quoted, a number or list as written (8, 8.5, [...])."""
    return repr(value) if isinstance(value, str) else str(value)


def _base60_hint(number: int) -> str:
    """What an unquoted YAML 1.1 time became: H:MM and H:MM:SS are read as base-60 numbers (18:00 -> 1080)."""
    if 60 <= number < 24 * 60:
        return f"; an unquoted time like 18:00 in YAML is read as a number ({number} is {number // 60}:{number % 60:02d} in base 60): quote it"
    if 24 * 60 <= number < 24 * 3600:
        hours, rest = divmod(number, 3600)
        return (f"; an unquoted time like 8:00:00 in YAML is read as a number of seconds ({number} is {hours}:{rest // 60:02d}:{rest % 60:02d} "
                "in base 60): quote it")
    return ""


def parse_time_of_day(option: str, value: t.Any) -> str:
    """``HH:MM:SS`` from ``"8:00"``, ``"08:00"`` or ``"08:00:00"`` (24-hour clock).

    Only strings are times: a number (``8``, ``8.5``, or what YAML made of an unquoted ``18:00``) is refused, echoed
    as it was given.
    """
    if isinstance(value, str):
        try:
            seconds = time_of_day_seconds(value)
        except ValueError:
            seconds = None
        if seconds is not None and seconds < 24 * 3600:     # the agent's work hours end by 23:59
            return format_time_of_day(seconds)
    hint = ""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is not None and float(number).is_integer():
        whole = int(number)
        hint = _base60_hint(whole) or (f"; for {whole} o'clock write '{whole:02d}:00'" if 0 <= whole <= 23 else "")
    elif number is not None:
        hint = "; a number of hours is not a time of day: write the time as 'HH:MM'"
    raise InvalidOption(f"{option} {given(value)} is not a time of day: use HH:MM on a 24-hour clock, from 00:00 to 23:59{hint}")


def parse_rate(option: str, value: t.Any) -> int:
    """Bytes per second from a rate with units ("512 Kbps", "100 Mbps") or a number of Kbps, in range."""
    try:
        rate = parse_throttle_rate(value)
    except ValueError as error:
        raise InvalidOption(f"{option} {value!r} is not a throttle rate: {error}; allowed: {ALLOWED_RATES}") from None
    try:
        return check_throttle_rate(rate)
    except ValueError:
        raise InvalidOption(
            f"{option} {value!r} is {format_throttle_rate(rate)} ({rate:,} bytes/s), outside the allowed {ALLOWED_RATES}"
        ) from None


def validate_throttle_options(options: t.Mapping[str, t.Any]) -> ThrottleSchedule | None:
    """The throttle to apply, None for no throttle (``enabled: false``).

    Every option given is checked, also when ``enabled`` is false, so a vars file that only flips
    ``enabled`` is valid either way. Raises InvalidOption naming the option, value and what is allowed.
    """
    work_days = parse_work_days(options["work_days"]) if options.get("work_days") is not None else DEFAULT_WORK_DAYS
    hours = {option: parse_time_of_day(option, options[option]) for option in ("work_hour_start", "work_hour_end") if options.get(option) is not None}
    rates = {option: parse_rate(option, options[option]) for option in ("work_hour_bandwidth", "non_work_hour_bandwidth") if options.get(option) is not None}
    if len(hours) == 2 and hours["work_hour_end"] <= hours["work_hour_start"]:
        raise InvalidOption(
            f"work_hour_end {given(options['work_hour_end'])} is not after work_hour_start {given(options['work_hour_start'])}: "
            "work hours run from start to a later end on the same day"
        )
    if not options["enabled"]:
        return None
    missing = [option for option in THROTTLE_FIELDS[1:] if option not in hours and option not in rates]
    if missing:
        # Set-OBMachineSetting takes the five throttle parameters together or not at all (Microsoft Learn: Set-OBMachineSetting).
        verb = "is" if len(missing) == 1 else "are"
        raise InvalidOption(f"enabled is true but {', '.join(missing)} {verb} not set: a throttle needs work hours and both bandwidths")
    return ThrottleSchedule(work_days, hours["work_hour_start"], hours["work_hour_end"], rates["work_hour_bandwidth"], rates["non_work_hour_bandwidth"])


def check_agent(document: t.Mapping[str, t.Any], host: str) -> None:
    """Raise HostNotReady unless the agent is installed and its service runs (the throttle lives in the engine)."""
    agent = document.get("agent")
    if agent is None:
        raise HostNotReady(f"the Recovery Services agent is not installed on {host}; run replication_provider first")
    if agent.get("service_status") != "Running" or document.get("throttle") is None:
        status = agent.get("service_status") or "missing"
        raise HostNotReady(
            f"the Recovery Services agent's service obengine is {status} on {host}: start it (Start-Service obengine); "
            "the throttle is read and set through the running agent"
        )


def _as_int(value: t.Any) -> int | None:
    """A bandwidth as Get-OBMachineSetting may show it (number or numeric string), None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def read_throttle(raw_throttle: t.Mapping[str, t.Any]) -> ThrottleSchedule | None:
    """The throttle in force from what the script read; None when throttling is off.

    Get-OBMachineSetting's throttle properties are undocumented (Microsoft Learn: Get-OBMachineSetting), so the
    script reads them by pattern and any of them may be missing: that field is None, and compares
    unequal to every wanted value, so the module sets the throttle and then checks it can read it.
    """
    if not raw_throttle.get("enabled"):
        return None
    known = {name.lower() for name in DAY_NAMES}
    work_days = day_names(day for day in raw_throttle.get("work_days") or () if str(day).strip().lower() in known)
    return ThrottleSchedule(
        work_days=work_days or None,
        work_hour_start=find_time_of_day(raw_throttle.get("work_hour_start")),
        work_hour_end=find_time_of_day(raw_throttle.get("work_hour_end")),
        work_hour_bandwidth=_as_int(raw_throttle.get("work_hour_bandwidth")),
        non_work_hour_bandwidth=_as_int(raw_throttle.get("non_work_hour_bandwidth")),
    )


def throttle_view(schedule: ThrottleSchedule | None) -> dict[str, t.Any]:
    """A throttle as host_info returns it (bandwidths in bytes/s and Kbps).

    With throttling off the schedule is empty: whatever the agent keeps of an old one is not in force.
    """
    if schedule is None:
        return normalise_throttle({"enabled": False, "work_days": [], "work_hour_start": None, "work_hour_end": None,
                                   "work_hour_bandwidth": None, "non_work_hour_bandwidth": None})
    return {
        "enabled": True,
        "work_days": list(schedule.work_days or []),
        "work_hour_start": schedule.work_hour_start,
        "work_hour_end": schedule.work_hour_end,
        "work_hour_bandwidth": bandwidth(schedule.work_hour_bandwidth),
        "non_work_hour_bandwidth": bandwidth(schedule.non_work_hour_bandwidth),
    }


def throttle_differences(current: ThrottleSchedule | None, desired: ThrottleSchedule | None) -> list[str]:
    """Names of what differs: ``enabled`` and/or the schedule fields."""
    if current is None or desired is None:
        return [] if current is desired else ["enabled"]
    return [field for field in THROTTLE_FIELDS if getattr(current, field) != getattr(desired, field)]


def throttle_set_params(desired: ThrottleSchedule | None) -> dict[str, t.Any]:
    """upload_throttle_set's params: all five throttle parameters together, or null for -NoThrottle."""
    return {"throttle": None if desired is None else desired.set_params()}


def plan_throttle(current: ThrottleSchedule | None, desired: ThrottleSchedule | None) -> ThrottlePlan:
    """Set all five throttle parameters together when anything differs, or -NoThrottle to turn it off."""
    changed_fields = throttle_differences(current, desired)
    changed = bool(changed_fields)
    return ThrottlePlan(
        changed=changed,
        changed_fields=changed_fields,
        before=throttle_view(current),
        after=throttle_view(desired if changed else current),
        set_params=throttle_set_params(desired) if changed else None,
    )


def throttle_mismatches(read_back: ThrottleSchedule | None, desired: ThrottleSchedule | None) -> list[str]:
    """How the throttle read back after Set-OBMachineSetting differs from the one set (empty: as asked)."""
    shown_after, shown_wanted = throttle_view(read_back), throttle_view(desired)
    return [f"{field} is {shown_after.get(field)!r}, not {shown_wanted.get(field)!r}" for field in throttle_differences(read_back, desired)]


# --- the two settings, as _host_setting.py runs them ---------------------------------------------

THREADS_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"


def verify_threads(document: t.Mapping[str, t.Any], desired: t.Mapping[str, int], host: str) -> tuple[dict[str, t.Any], str | None]:
    """The thread counts read back after the write, and a failure message when they are not the ones written."""
    mismatches = threads_mismatches(document, desired)
    failure = f"wrote the Replication key's values on {host}, but reading them back shows {'; '.join(mismatches)}" if mismatches else None
    return threads_view(document), failure


def report_threads(result: dict[str, t.Any], document: t.Mapping[str, t.Any], plan: ThreadsPlan, host: str) -> list[str]:
    """upload_threads' last keys: both counts, ``agent_installed`` and ``restart_recommended``."""
    # The values are plain registry, so they are written whether or not the agent is installed: the
    # agent reads them once it is (KB 3056159 has them added by hand to an installed agent's key,
    # which its setup does not always create). Say so, since a host without the agent uploads nothing.
    result["agent_installed"] = document["agent"] is not None
    warnings = [] if result["agent_installed"] else [
        f"the Recovery Services agent is not installed on {host}: the thread counts are stored and take effect once it is"]
    result.update(result["after"])
    # Whether the engine rereads the values without a restart is not documented (KB 3056159 says nothing either way).
    result["restart_recommended"] = threads_restart_recommended(document, plan.changed)
    return warnings


def plan_throttle_on_host(document: t.Mapping[str, t.Any], desired: ThrottleSchedule | None, host: str) -> ThrottlePlan:
    """plan_throttle from upload_throttle_read/1's document, once the agent is there to take it (HostNotReady)."""
    check_agent(document, host)
    return plan_throttle(read_throttle(document["throttle"]), desired)


def verify_throttle(document: t.Mapping[str, t.Any], desired: ThrottleSchedule | None, host: str) -> tuple[dict[str, t.Any], str | None]:
    """The throttle read back after Set-OBMachineSetting, and a failure message when it is not the one set."""
    read_back = read_throttle(document["throttle"] or {})
    mismatches = throttle_mismatches(read_back, desired)
    # Get-OBMachineSetting's throttle properties are undocumented; if a real agent names them otherwise, this
    # is where it shows, instead of a change reported on every run.
    failure = (f"Set-OBMachineSetting ran on {host}, but Get-OBMachineSetting then reports {'; '.join(mismatches)}. "
               "Its throttle properties are not documented, so the read may have missed them: compare "
               "(Get-OBMachineSetting).ThrottleSetting | Format-List * with Get-ThrottleSetting in "
               "plugins/plugin_utils/host_scripts/prelude.ps1") if mismatches else None
    return throttle_view(read_back), failure


def report_throttle(result: dict[str, t.Any], document: t.Mapping[str, t.Any], plan: ThrottlePlan, host: str) -> list[str]:
    """upload_throttle's last keys: ``throttle`` (in force after the task) and ``restart_recommended``."""
    result["throttle"] = result["after"]
    # Set-OBMachineSetting hands the throttle to the running engine, as the agent's MMC does, so no
    # obengine restart is needed for it (an assumption: KB 3056159 documents none either way).
    result["restart_recommended"] = False
    return []


THREADS_SETTING = HostSetting(
    argument_spec={"upload_threads": {"type": "int"}, "download_threads": {"type": "int"}},
    required_one_of=[["upload_threads", "download_threads"]],
    errors=(InvalidOption,),
    validate=validate_threads_options,
    read_script="upload_threads_read",
    plan=lambda document, desired, host: plan_threads(document, desired),
    planned=lambda plan: {"changed_values": sorted(plan.writes)},
    apply_script="upload_threads_set",
    apply_params=lambda plan: {"writes": plan.writes},
    enforce_params=lambda desired: {"writes": dict(desired)},
    verify=verify_threads,
    report=report_threads,
    diff_headers=(THREADS_KEY, THREADS_KEY),
)

THROTTLE_SETTING = HostSetting(
    argument_spec={
        "enabled": {"type": "bool", "default": True},
        "work_days": {"type": "list", "elements": "str"},
        # Raw, so a message echoes a value as it was given (8, 1080, "25:00"); only strings are times of day.
        "work_hour_start": {"type": "raw"},
        "work_hour_end": {"type": "raw"},
        # Strings with units ("512 Kbps") or numbers of Kbps: parsed by module_utils/bandwidth.py.
        "work_hour_bandwidth": {"type": "raw"},
        "non_work_hour_bandwidth": {"type": "raw"},
    },
    required_one_of=[],
    errors=(InvalidOption, HostNotReady),
    validate=validate_throttle_options,
    read_script="upload_throttle_read",
    plan=plan_throttle_on_host,
    planned=lambda plan: {"changed_fields": plan.changed_fields},
    apply_script="upload_throttle_set",
    apply_params=lambda plan: plan.set_params,
    enforce_params=throttle_set_params,
    verify=verify_throttle,
    report=report_throttle,
    diff_headers=("throttle (Get-OBMachineSetting)", "throttle"),
)
