# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The Recovery Services (MARS) agent's upload settings, each defined once.

* UploadThreadsPerVM: its range and the value the agent uses when the registry value is absent.
* Days of the week and times of day, as Set-OBMachineSetting takes them and Get-OBMachineSetting prints them.
* ``ThrottleSchedule``: the agent's bandwidth throttle of one host, Set-OBMachineSetting's five parameters,
  with the rate it allows at any instant (what the replication model and the planner read).
* ``volume_for_path``: the host volume that holds a file (a VHD, and so its .hrl log).
* ``HostLink``: what the agent on one host can upload (its link, throttle and upload threads), and
  ``transfer_finish_time``, one upload alone on it (the replication model shares a link among VMs).

Rates are bytes per second, as ``bandwidth.py`` parses them (the agent's "Kbps" is 1,024 bytes/s). Model
time is a float count of seconds since 1970-01-01T00:00:00 UTC; a schedule is read in the host's wall-clock
time, model time plus ``utc_offset_s`` (daylight saving time is not modelled).
"""

from __future__ import annotations

import functools
import math
import re
import typing as t
from dataclasses import dataclass, field

# --- UploadThreadsPerVM ---------------------------------------------------------------------------

# "Default 4, max supported 32" (KB 3056159; learn.microsoft.com/azure/migrate/hyper-v-migration-architecture).
MIN_UPLOAD_THREADS = 1
MAX_UPLOAD_THREADS = 32
DEFAULT_UPLOAD_THREADS = 4

# --- days and times -------------------------------------------------------------------------------

# System.DayOfWeek names in the enum's order (Set-OBMachineSetting -WorkDay takes DayOfWeek[]).
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
DEFAULT_WORK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
SECONDS_PER_DAY = 86400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
# 1970-01-01 (model time 0) was a Thursday: DayOfWeek 4.
_EPOCH_DAY_OF_WEEK = 4

_DAY_BY_LOWER = {name.lower(): number for number, name in enumerate(DAY_NAMES)}
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# What Get-OBMachineSetting prints for a work hour: a TimeSpan ("08:00:00") or a date and time.
_TIME_OF_DAY_IN_TEXT = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?")


def day_number(value: t.Any) -> int:
    """DayOfWeek number (Sunday = 0) of a day name in any case; ValueError naming the value otherwise."""
    number = _DAY_BY_LOWER.get(str(value).strip().lower())
    if number is None:
        raise ValueError(f"{value!r} is not a day of the week ({', '.join(DAY_NAMES)})")
    return number


def day_names(values: t.Iterable[t.Any]) -> tuple[str, ...]:
    """Day names in the enum's order, duplicates merged (an empty list stays empty)."""
    return tuple(DAY_NAMES[number] for number in sorted({day_number(value) for value in values}))


def parse_time_of_day(value: t.Any) -> float:
    """Seconds after midnight from "H:MM" or "HH:MM:SS" (24:00 is the end of the day) or a number of seconds.

    ValueError naming the value otherwise.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _TIME_OF_DAY.match(str(value).strip())
        if not match or int(match.group(2)) > 59 or int(match.group(3) or 0) > 59:
            raise ValueError(f"time of day {value!r} is not HH:MM or HH:MM:SS")
        seconds = float(int(match.group(1)) * 3600 + int(match.group(2)) * 60 + int(match.group(3) or 0))
    if not 0 <= seconds <= SECONDS_PER_DAY:
        raise ValueError(f"time of day {value!r} is outside 00:00-24:00")
    return seconds


def format_time_of_day(seconds: float) -> str:
    """ "HH:MM:SS", as Get-OBMachineSetting prints a TimeSpan."""
    whole = int(round(seconds))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def find_time_of_day(text: str | None) -> str | None:
    """ "HH:MM:SS" of the first time of day in what a host printed (a TimeSpan, or a date and time); None if none."""
    match = _TIME_OF_DAY_IN_TEXT.search(text or "")
    if not match:
        return None
    return f"{int(match.group(1)):02d}:{match.group(2)}:{match.group(3) or '00'}"


# --- volumes --------------------------------------------------------------------------------------


def volume_for_path(path: str, volume_names: t.Iterable[str]) -> str | None:
    """The volume holding ``path``: the longest volume root that starts it, ignoring case and slash direction.

    Roots keep their trailing backslash (``D:\\``, ``C:\\ClusterStorage\\Volume1\\``), so a volume never matches
    a sibling folder that merely shares its prefix. None when no volume holds it (a share, say).
    """
    folded = str(path).lower().replace("/", "\\")
    holder = None
    for name in volume_names:
        if folded.startswith(name.lower().replace("/", "\\")) and (holder is None or len(name) > len(holder)):
            holder = name
    return holder


# --- the throttle ---------------------------------------------------------------------------------

#: The throttle as the host scripts print it (host_info/1, upload_throttle_read/1 and upload_throttle_set/1):
#: Get-OBMachineSetting's values, each null when unknown. A document schema as plugin_utils/_document_schema.py reads it.
THROTTLE_FIELDS_SCHEMA: dict[str, t.Any] = {
    "enabled": None,
    "work_days": [None],
    "work_hour_start": None,
    "work_hour_end": None,
    "work_hour_bandwidth": None,
    "non_work_hour_bandwidth": None,
}


def _as_time_of_day(value: t.Any) -> str | None:
    return None if value is None else format_time_of_day(parse_time_of_day(value))


@dataclass(frozen=True)
class ThrottleSchedule:
    """The MARS agent's bandwidth throttle of one host: Set-OBMachineSetting's five parameters.

    ``work_hour_bandwidth`` (bytes/s) applies on ``work_days`` from ``work_hour_start`` to ``work_hour_end``
    (host wall-clock time, start before end); ``non_work_hour_bandwidth`` at every other time. Days are
    DayOfWeek names in the enum's order, hours "HH:MM:SS" (either is normalised from any accepted spelling).
    ``enabled=False`` is ``-NoThrottle``: the throttle never limits (rate ``math.inf``).

    A schedule read back from a host may lack a field its Get-OBMachineSetting did not show (``None``); the
    rate methods need all five.
    """

    work_days: tuple[str, ...] | None = DEFAULT_WORK_DAYS
    work_hour_start: str | None = "08:00:00"
    work_hour_end: str | None = "18:00:00"
    work_hour_bandwidth: float | None = None
    non_work_hour_bandwidth: float | None = None
    enabled: bool = True
    utc_offset_s: float = 0.0

    def __post_init__(self) -> None:
        if self.work_days is not None:
            object.__setattr__(self, "work_days", day_names(self.work_days))
        object.__setattr__(self, "work_hour_start", _as_time_of_day(self.work_hour_start))
        object.__setattr__(self, "work_hour_end", _as_time_of_day(self.work_hour_end))
        # What the rate methods read, worked out once (they run for every event of a replication walk).
        object.__setattr__(self, "_days", frozenset(day_number(day) for day in self.work_days or ()))
        object.__setattr__(self, "work_start_s", parse_time_of_day(self.work_hour_start or 0))
        object.__setattr__(self, "work_end_s", parse_time_of_day(self.work_hour_end or SECONDS_PER_DAY))
        object.__setattr__(self, "work_bps", math.inf if self.work_hour_bandwidth is None else self.work_hour_bandwidth)
        object.__setattr__(self, "non_work_bps", math.inf if self.non_work_hour_bandwidth is None else self.non_work_hour_bandwidth)
        if self.enabled and None not in self.set_params().values():
            self._check()

    def _check(self) -> None:
        if self.work_start_s >= self.work_end_s:
            raise ValueError(f"throttle work hours must start before they end (start {self.work_hour_start}, end {self.work_hour_end})")
        for label, rate in (("work_hour_bandwidth", self.work_bps), ("non_work_hour_bandwidth", self.non_work_bps)):
            if math.isnan(rate) or rate <= 0:
                raise ValueError(f"throttle {label} must be a positive rate in bytes/s, got {rate!r}")

    @classmethod
    def unthrottled(cls, utc_offset_s: float = 0.0) -> ThrottleSchedule:
        """The schedule of a host with ``-NoThrottle`` (or no agent settings)."""
        return cls(work_days=(), enabled=False, utc_offset_s=utc_offset_s)

    @classmethod
    def from_host_settings(cls, settings: t.Mapping[str, t.Any] | None, utc_offset_s: float = 0.0) -> ThrottleSchedule:
        """From Get-OBMachineSetting's values (host_info's ``throttle`` with plain bytes per second).

        Keys: ``enabled``, ``work_days`` (names), ``work_hour_start``/``work_hour_end`` ("08:00:00"),
        ``work_hour_bandwidth``/``non_work_hour_bandwidth`` (bytes/s). ``None`` or ``enabled: false``
        gives the unthrottled schedule.
        """
        if not settings or not settings.get("enabled"):
            return cls.unthrottled(utc_offset_s)
        return cls(
            work_days=tuple(settings.get("work_days") or ()),
            work_hour_start=settings.get("work_hour_start", "08:00:00"),
            work_hour_end=settings.get("work_hour_end", "18:00:00"),
            work_hour_bandwidth=float(settings["work_hour_bandwidth"]),
            non_work_hour_bandwidth=float(settings["non_work_hour_bandwidth"]),
            utc_offset_s=utc_offset_s,
        )

    def set_params(self) -> dict[str, t.Any]:
        """The five parameters as upload_throttle_set/1 takes them (``throttle``)."""
        return {
            "work_days": None if self.work_days is None else list(self.work_days),
            "work_hour_start": self.work_hour_start,
            "work_hour_end": self.work_hour_end,
            "work_hour_bandwidth": self.work_hour_bandwidth,
            "non_work_hour_bandwidth": self.non_work_hour_bandwidth,
        }

    def as_dict(self) -> dict[str, t.Any]:
        """Plain data (day names, "HH:MM:SS", whole bytes/s; ``None`` for unlimited), as a plan reports it."""
        return {
            "enabled": self.enabled,
            "work_days": list(self.work_days or ()),
            "work_hour_start": self.work_hour_start,
            "work_hour_end": self.work_hour_end,
            "work_hour_bandwidth": _finite_or_none(self.work_bps),
            "non_work_hour_bandwidth": _finite_or_none(self.non_work_bps),
        }

    @property
    def is_constant(self) -> bool:
        """True when the rate never changes (disabled, no work days, or equal work/non-work rates)."""
        return not self.enabled or not self._days or self.work_bps == self.non_work_bps

    def is_work_time(self, moment: float) -> bool:
        """True when model time ``moment`` falls within work hours of a work day."""
        local = moment + self.utc_offset_s
        day = math.floor(local / SECONDS_PER_DAY)
        second_of_day = local - day * SECONDS_PER_DAY
        return (day + _EPOCH_DAY_OF_WEEK) % 7 in self._days and self.work_start_s <= second_of_day < self.work_end_s

    def rate_at(self, moment: float) -> float:
        """Throttle rate (bytes/s) in force at model time ``moment``; ``math.inf`` when not throttled."""
        if not self.enabled:
            return math.inf
        return self.work_bps if self.is_work_time(moment) else self.non_work_bps

    def next_change_after(self, moment: float) -> float:
        """The first model time after ``moment`` at which work hours start or end; ``math.inf`` if never."""
        if self.is_constant:
            return math.inf
        local = moment + self.utc_offset_s
        day = math.floor(local / SECONDS_PER_DAY)
        # Within 8 days there is always a boundary, since there is at least one work day.
        for offset in range(8):
            if (day + offset + _EPOCH_DAY_OF_WEEK) % 7 not in self._days:
                continue
            day_start = (day + offset) * SECONDS_PER_DAY
            for boundary in (day_start + self.work_start_s, day_start + self.work_end_s):
                # Compare in model time: with an offset, rounding could otherwise return ``moment`` itself.
                if boundary - self.utc_offset_s > moment:
                    return boundary - self.utc_offset_s
        raise AssertionError("no throttle boundary within 8 days")  # unreachable: there is a work day

    def min_rate(self) -> float:
        """Lowest rate the schedule ever allows (bytes/s)."""
        if not self.enabled:
            return math.inf
        if not self._days:
            return self.non_work_bps
        return min(self.work_bps, self.non_work_bps)

    def peak_rate(self) -> float:
        """Highest rate the schedule ever allows (bytes/s)."""
        return max(self.work_bps, self.non_work_bps) if self.enabled else math.inf


def _finite_or_none(value: float) -> int | None:
    return None if math.isinf(value) else int(round(value))


# --- what one host can upload --------------------------------------------------------------------

#: Fraction of a host's link bit rate that replication payload can use. Ethernet, IPv4 and TCP
#: framing leave 1,460 payload bytes of every 1,538 bytes on the wire at a 1,500-byte MTU (94.9 %);
#: TLS records and the HTTPS requests of each uploaded block take about another 1-2 %; the rest is
#: margin for retransmissions and the host's own management traffic. Override per host when measured.
LINK_EFFICIENCY = 0.9

#: Upload throughput of one MARS upload thread, bytes/s (8 MiB/s, about 67 Mbit/s). Each thread is
#: one HTTPS stream that sends one block, waits for Azure storage to acknowledge it, then sends the
#: next, so a thread is latency bound rather than link bound: a 4 MiB block per ~0.5 s round trip
#: (WAN round trip plus storage write and acknowledgement) is 8 MiB/s. With the default 4 threads a
#: VM tops out at 32 MiB/s (about 270 Mbit/s), which is why Microsoft advises raising
#: UploadThreadsPerVM "if you have spare bandwidth". Override per host when measured.
PER_THREAD_BPS = 8 * 1024 * 1024


@dataclass(frozen=True)
class HostLink:
    """What one host can upload: link rate (bytes/s), throttle schedule and per-VM upload threads."""

    link_bps: float
    schedule: ThrottleSchedule = field(default_factory=ThrottleSchedule.unthrottled)
    threads_per_vm: int = DEFAULT_UPLOAD_THREADS
    efficiency: float = LINK_EFFICIENCY
    per_thread_bps: float = PER_THREAD_BPS

    def __post_init__(self) -> None:
        if not math.isfinite(self.link_bps) or self.link_bps <= 0:
            raise ValueError(f"link rate must be a positive finite number of bytes/s, got {self.link_bps!r}")
        if not 0 < self.efficiency <= 1:
            raise ValueError(f"link efficiency must be in (0, 1], got {self.efficiency!r}")
        if not MIN_UPLOAD_THREADS <= self.threads_per_vm <= MAX_UPLOAD_THREADS:
            raise ValueError(f"UploadThreadsPerVM must be {MIN_UPLOAD_THREADS}-{MAX_UPLOAD_THREADS}, got {self.threads_per_vm!r}")
        if math.isnan(self.per_thread_bps) or self.per_thread_bps <= 0:
            raise ValueError(f"per-thread rate must be positive, got {self.per_thread_bps!r}")

    @property
    def usable_link_bps(self) -> float:
        """Link rate available to replication payload (bytes/s)."""
        return self.link_bps * self.efficiency

    @property
    def vm_cap_bps(self) -> float:
        """Fastest one VM can upload: UploadThreadsPerVM x per-thread throughput (bytes/s)."""
        return self.threads_per_vm * self.per_thread_bps

    def rate_at(self, moment: float) -> float:
        """Host upload rate (bytes/s) at model time ``moment``: min(usable link, throttle)."""
        return min(self.usable_link_bps, self.schedule.rate_at(moment))

    def next_change_after(self, moment: float) -> float:
        """Next model time after ``moment`` at which ``rate_at`` may change."""
        return self.schedule.next_change_after(moment)

    def min_rate(self) -> float:
        """Lowest host rate over the week (bytes/s)."""
        return min(self.usable_link_bps, self.schedule.min_rate())

    def bytes_between(self, start: float, end: float, cap_bps: float = math.inf) -> float:
        """Bytes one stream capped at ``cap_bps`` (or the whole host) can move in [start, end)."""
        total = 0.0
        moment = start
        while moment < end:
            boundary = min(self.next_change_after(moment), end)
            total += min(self.rate_at(moment), cap_bps) * (boundary - moment)
            moment = boundary
        return total

    def weekly_bytes(self, cap_bps: float = math.inf) -> float:
        """Bytes moved in any one week (the schedule repeats weekly, so the start does not matter)."""
        return _weekly_bytes(self, cap_bps)

    def average_rate(self, cap_bps: float = math.inf) -> float:
        """Average rate over a week (bytes/s)."""
        return self.weekly_bytes(cap_bps) / SECONDS_PER_WEEK


# A plan asks each host's week several times, and an estate has few distinct links (rate, throttle,
# threads): walking each week once saves a twentieth of the planning time at 100,000 VMs.
@functools.lru_cache(maxsize=4096)
def _weekly_bytes(link: HostLink, cap_bps: float) -> float:
    return link.bytes_between(0.0, float(SECONDS_PER_WEEK), cap_bps)


def host_rate_at(link: HostLink, moment: float) -> float:
    """Host upload rate (bytes/s) of ``link`` at model time ``moment`` (same as ``link.rate_at(moment)``)."""
    return link.rate_at(moment)


def transfer_finish_time(link: HostLink, start: float, nbytes: float, cap_bps: float | None = None) -> float:
    """Model time at which one transfer of ``nbytes`` started at ``start`` finishes, alone on the host.

    The stream's rate is ``min(link.rate_at(t), cap_bps)`` (``cap_bps`` defaults to the VM cap;
    pass ``math.inf`` for the whole host). Exact across throttle boundaries; whole weeks are skipped
    in one step because the schedule repeats weekly. ``math.inf`` if the rate is zero.
    """
    cap = link.vm_cap_bps if cap_bps is None else cap_bps
    remaining = float(nbytes)
    if remaining <= 0:
        return float(start)
    week_bytes = link.weekly_bytes(cap)
    if week_bytes <= 0:
        return math.inf
    whole_weeks = math.floor(remaining / week_bytes)
    if whole_weeks * week_bytes >= remaining:
        whole_weeks -= 1          # finish inside the last week, found by the walk below
    moment = float(start) + whole_weeks * SECONDS_PER_WEEK
    remaining -= whole_weeks * week_bytes
    while True:
        rate = min(link.rate_at(moment), cap)
        boundary = link.next_change_after(moment)
        if rate > 0 and rate * (boundary - moment) >= remaining:
            return moment + remaining / rate
        remaining -= rate * (boundary - moment)
        moment = boundary
