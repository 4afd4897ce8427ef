# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The planner's vocabulary: PlanError, the typed specs a plan is made of, and the parsers of single values."""

from __future__ import annotations

import calendar
import datetime
import functools
import typing as t
from dataclasses import dataclass

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _mars, bandwidth
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model

#: Replicate wizard limit of Azure Migrate: 10 VMs per replicate operation (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v).
DEFAULT_MAX_VMS_PER_WAVE = 10
DEFAULT_REPLICATION_INTERVAL = 300
DEFAULT_WORK_DAYS = _mars.DEFAULT_WORK_DAYS
#: Largest virtual disk Hyper-V has: a VHDX holds up to 64 TB (learn.microsoft.com, "Hyper-V Virtual Hard
#: Disk Format Overview"); a VHD holds less, so this bound lets no real disk through that cannot exist.
MAX_DISK_BYTES = 64 * bandwidth.TIB
#: A throttle's keys as upload_throttle names them, each with the planner's older name (accepted until 2.0.0).
THROTTLE_ALIASES = {"work_hour_start": "work_start", "work_hour_end": "work_end",
                    "work_hour_bandwidth": "work_rate", "non_work_hour_bandwidth": "non_work_rate"}
#: Model time of the default plan start: Monday 2024-01-01 00:00, so throttle work days line up.
DEFAULT_START = float(calendar.timegm((2024, 1, 1, 0, 0, 0)))


class PlanError(ValueError):
    """An input the planner cannot use; the message names the field, the value and what is allowed."""


@dataclass(frozen=True)
class Disk:
    """One virtual disk: bytes to replicate and the host volume its VHD (and .hrl log) is on."""

    size_bytes: int
    volume: str


@dataclass(frozen=True)
class VmSpec:
    """A VM to replicate; ``total_bytes`` and ``volume_bytes`` are derived once by ``make_vm``."""

    name: str
    host: str
    disks: tuple[Disk, ...]
    churn_bps: float
    total_bytes: int
    volume_bytes: tuple[tuple[str, int], ...]      # ((volume, bytes), ...) sorted by volume name
    churn_given: t.Any = None                       # the churn as the user wrote it, for messages


def make_vm(name: str, host: str, disks: t.Sequence[Disk], churn_bps: float, churn_given: t.Any = None) -> VmSpec:
    """A VmSpec with its totals computed (the planner reads them many times)."""
    totals: dict[str, int] = {}
    for disk in disks:
        totals[disk.volume] = totals.get(disk.volume, 0) + disk.size_bytes
    return VmSpec(name=name, host=host, disks=tuple(disks), churn_bps=churn_bps,
                  total_bytes=sum(disk.size_bytes for disk in disks), volume_bytes=tuple(sorted(totals.items())),
                  churn_given=churn_given)


@dataclass(frozen=True)
class HostSpec:
    """A host as the plan uses it; ``link`` carries the threads the plan assumes."""

    name: str
    link: model.HostLink
    volumes: tuple[tuple[str, int], ...]            # ((name, free_bytes), ...) sorted by name
    threads_given: bool
    recommended_threads: int
    max_vms_per_wave: int


@dataclass(frozen=True)
class PlanRequest:
    """Every input of a plan, read and checked."""

    start: float                                    # model time
    absolute: bool                                  # whether the start was given (the plan then shows date-times)
    window_end: float | None
    interval: int
    vms: list[VmSpec]                               # by name
    hosts: dict[str, HostSpec]                      # in name order
    vms_by_host: dict[str, list[VmSpec]]
    accounts: list[tuple[str, int]]                 # (name, capacity bytes) by name
    deprecated_keys: tuple[str, ...]                # older throttle keys the request used


# --- values ---------------------------------------------------------------------------------------

def parse(parser: t.Callable[[t.Any], t.Any], value: t.Any, field: str) -> t.Any:
    try:
        return parser(value)
    except ValueError as error:
        raise PlanError(f"{field}: {error}") from None


# Every size, churn and rate the planner reads needs its unit (zero excepted): a bare "100" could be
# bits or bytes, Kbps or bytes per second, and a wrong guess gives a plan that looks fine and is not.
# An estate repeats a few spellings ("127 GB") over thousands of disks: each is parsed once.
# typed=True keeps True apart from 1 (a bool is refused, 1 is not).
@functools.lru_cache(maxsize=4096, typed=True)
def _size_of_text(value: str) -> int:
    return bandwidth.parse_size(value, unit_required=True)


@functools.lru_cache(maxsize=4096, typed=True)
def _churn_of_text(value: str) -> float:
    return bandwidth.parse_churn(value, unit_required=True)


def read_size(value: t.Any, field: str) -> int:
    return parse(lambda given: _size_of_text(given) if isinstance(given, str) else bandwidth.parse_size(given, unit_required=True), value, field)


def read_churn(value: t.Any, field: str) -> float:
    return parse(lambda given: _churn_of_text(given) if isinstance(given, str) else bandwidth.parse_churn(given, unit_required=True), value, field)


def disk_size(value: t.Any, field: str) -> int:
    size = read_size(value, field)
    if size <= 0:
        raise PlanError(f"{field}: size {value!r} must be above zero; a disk of 0 bytes has nothing to replicate")
    if size > MAX_DISK_BYTES:
        raise PlanError(f"{field}: size {value!r} is above {bandwidth.format_size(MAX_DISK_BYTES)}, the largest virtual disk Hyper-V has (VHDX)")
    return size


def whole_number(value: t.Any, field: str, minimum: int, meaning: str = "") -> int:
    """An int of at least ``minimum`` (``None`` is the caller's default, not 0); bools are refused."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlanError(f"{field}: {value!r} is not allowed; give a whole number of at least {minimum}{meaning}")
    return value


def positive_int(value: t.Any, field: str) -> int:
    return whole_number(value, field, 1)


def mapping(value: t.Any, field: str, expected: str) -> dict:
    if not isinstance(value, dict):
        raise PlanError(f"{field}: expected a mapping with {expected}, got {value!r}")
    return value


def require(item: t.Mapping[str, t.Any], key: str, field: str) -> t.Any:
    value = item.get(key)
    if value is None or value == "":
        raise PlanError(f"{field}.{key} is required")
    return value


def parse_time(value: t.Any, field: str) -> float:
    """Model time from an ISO 8601 date-time, read as the hosts' wall-clock time (offsets ignored)."""
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PlanError(f"{field}: {value!r} is not an ISO 8601 date-time such as 2025-03-07T20:00:00") from None
    return float(calendar.timegm(moment.replace(tzinfo=None).timetuple()))
