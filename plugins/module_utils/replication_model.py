# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one model of bytes and rates for Hyper-V to Azure replication.

The replication planner (``plugin_utils/replication_planner.py``) and the lab's simulated Azure side
(``lab/azure/``) both use this file, so a planned wave and the lab's run of that wave agree by
construction. It has no Ansible imports and no imports from the collection: the lab may load it by
file path (``importlib.util.spec_from_file_location``). Standard library only; Python 3.8 syntax,
since ansible-test compiles ``module_utils`` for the target Pythons.

Units: every rate is **bytes per second** (float) and every amount **bytes**. Parsing "512 Kbps" or
"1 Gbit/s" is ``module_utils/bandwidth.py``'s job, not this file's.

Time: a float count of seconds since 1970-01-01T00:00:00 UTC ("model time"; the lab's clock and
``time.time()`` use the same scale). A throttle schedule is read in the host's wall-clock time, which
is model time plus ``ThrottleSchedule.utc_offset_s`` (daylight saving time is not modelled). The
planner uses ``utc_offset_s=0`` and treats its start time as host wall-clock time.

What moves how fast:

* A host uploads through one link. Its usable rate at an instant is
  ``min(link_bps * efficiency, throttle rate at that instant)`` (``HostLink.rate_at``). The
  throttle belongs to the MARS agent and is per host; the link is the host's share of the WAN.
* Each replicating VM uploads with ``UploadThreadsPerVM`` threads, so it can never go faster than
  ``threads * per_thread_bps`` (``HostLink.vm_cap_bps``).
* VMs replicating at the same time on one host share the host rate by water-filling
  (``share_rate``): equal shares, but no VM gets more than its cap and what a capped VM cannot use
  goes to the others.
* Rates are piecewise constant: they change only at throttle schedule boundaries (work hours
  start/end) and when a transfer finishes. Every function below walks those events exactly; none
  steps through time in fixed increments.
"""

import math
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------------
# Constants (each is a model assumption; the reasoning is next to it)
# --------------------------------------------------------------------------------------------------

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

#: UploadThreadsPerVM: value the agent uses when the registry value is absent, and its valid range
#: (KB 3056159; windows-host.md section 5).
DEFAULT_UPLOAD_THREADS = 4
MIN_UPLOAD_THREADS = 1
MAX_UPLOAD_THREADS = 32

#: Extra free space on a disk's volume while the VM is in initial replication, as a fraction of the
#: VHD size: the checkpoint (.avhdx) plus the .hrl log, worst case 100 % (windows-host.md 6.2).
IR_LOG_SPACE_FRACTION = 1.0
#: The same during delta replication when bandwidth cannot keep up: 50 % (windows-host.md 6.2).
DELTA_LOG_SPACE_FRACTION = 0.5
#: A VM needs resynchronisation when its .hrl log reaches this fraction of the disk size (6.1).
RESYNC_LOG_FRACTION = 0.5

#: Replication intervals (seconds) that HyperVReplicaAzure policies accept (asr-api.md 3.5).
REPLICATION_INTERVALS = (30, 300, 900)

SECONDS_PER_DAY = 86400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
WEEKDAY_NAMES = ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday')
#: 1970-01-01 (model time 0) was a Thursday; weekday numbers follow datetime: Monday = 0.
_EPOCH_WEEKDAY = 3

# Relative tolerance for "this transfer has finished", so float rounding cannot leave a few bytes
# that would cost one more event.
_BYTES_EPSILON = 1e-6


# --------------------------------------------------------------------------------------------------
# Throttle schedule
# --------------------------------------------------------------------------------------------------

def _parse_time_of_day(value):
    """Seconds after midnight from "HH:MM[:SS]" (what Get-OBMachineSetting's TimeSpans print) or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        parts = str(value).strip().split(':')
        if len(parts) not in (2, 3) or not all(part.strip().isdigit() for part in parts):
            raise ValueError('time of day %r is not HH:MM or HH:MM:SS' % (value,))
        numbers = [int(part) for part in parts] + [0]
        seconds = float(numbers[0] * 3600 + numbers[1] * 60 + numbers[2])
    if not 0 <= seconds <= SECONDS_PER_DAY:
        raise ValueError('time of day %r is outside 00:00-24:00' % (value,))
    return seconds


def _parse_weekday(value):
    """Weekday number (Monday = 0) from a DayOfWeek name ("Monday", "mon") or a number 0-6."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 6:
            return value
        raise ValueError('weekday number %r is outside 0 (Monday) to 6 (Sunday)' % (value,))
    text = str(value).strip().lower()
    for number, name in enumerate(WEEKDAY_NAMES):
        if len(text) >= 3 and name.lower().startswith(text):
            return number
    raise ValueError('%r is not a day of the week (Monday ... Sunday)' % (value,))


@dataclass(frozen=True)
class ThrottleSchedule:
    """The MARS agent's bandwidth throttle of one host (Set-OBMachineSetting's five parameters).

    ``work_bps`` applies on ``work_days`` from ``work_start_s`` to ``work_end_s`` (seconds after local
    midnight, start < end); ``non_work_bps`` applies at every other time. ``enabled=False`` means
    ``-NoThrottle``: the throttle never limits (rate ``math.inf``).
    """

    enabled: bool = False
    work_days: tuple = ()
    work_start_s: float = 8 * 3600.0
    work_end_s: float = 18 * 3600.0
    work_bps: float = math.inf
    non_work_bps: float = math.inf
    utc_offset_s: float = 0.0

    def __post_init__(self):
        days = tuple(sorted({_parse_weekday(day) for day in self.work_days}))
        object.__setattr__(self, 'work_days', days)
        object.__setattr__(self, 'work_start_s', _parse_time_of_day(self.work_start_s))
        object.__setattr__(self, 'work_end_s', _parse_time_of_day(self.work_end_s))
        if not self.enabled:
            return
        if self.work_start_s >= self.work_end_s:
            raise ValueError('throttle work hours must start before they end (start %s, end %s)'
                             % (self.work_start_s, self.work_end_s))
        for label, rate in (('work_bps', self.work_bps), ('non_work_bps', self.non_work_bps)):
            if math.isnan(rate) or rate <= 0:
                raise ValueError('throttle %s must be a positive rate in bytes/s, got %r' % (label, rate))

    @classmethod
    def unthrottled(cls):
        """The schedule of a host with ``-NoThrottle`` (or no agent settings)."""
        return cls(enabled=False)

    @classmethod
    def from_host_settings(cls, settings, utc_offset_s=0.0):
        """Build from host_info's ``throttle`` dict (Get-OBMachineSetting values, bytes per second).

        Keys: ``enabled``, ``work_days`` (names), ``work_hour_start``/``work_hour_end`` ("08:00:00"),
        ``work_hour_bandwidth``/``non_work_hour_bandwidth`` (bytes/s). ``None`` or ``enabled: false``
        gives the unthrottled schedule.
        """
        if not settings or not settings.get('enabled'):
            return cls(enabled=False, utc_offset_s=utc_offset_s)
        return cls(
            enabled=True,
            work_days=tuple(settings.get('work_days') or ()),
            work_start_s=settings.get('work_hour_start', '08:00:00'),
            work_end_s=settings.get('work_hour_end', '18:00:00'),
            work_bps=float(settings['work_hour_bandwidth']),
            non_work_bps=float(settings['non_work_hour_bandwidth']),
            utc_offset_s=utc_offset_s,
        )

    @property
    def is_constant(self):
        """True when the rate never changes (disabled, no work days, or equal work/non-work rates)."""
        return not self.enabled or not self.work_days or self.work_bps == self.non_work_bps

    def is_work_time(self, t):
        """True when model time ``t`` falls within work hours of a work day."""
        local = t + self.utc_offset_s
        day = math.floor(local / SECONDS_PER_DAY)
        weekday = (day + _EPOCH_WEEKDAY) % 7
        second_of_day = local - day * SECONDS_PER_DAY
        return weekday in self.work_days and self.work_start_s <= second_of_day < self.work_end_s

    def rate_at(self, t):
        """Throttle rate (bytes/s) in force at model time ``t``; ``math.inf`` when not throttled."""
        if not self.enabled:
            return math.inf
        return self.work_bps if self.is_work_time(t) else self.non_work_bps

    def next_change_after(self, t):
        """The first model time after ``t`` at which work hours start or end; ``math.inf`` if never."""
        if self.is_constant:
            return math.inf
        local = t + self.utc_offset_s
        day = math.floor(local / SECONDS_PER_DAY)
        # Within 8 days there is always a boundary, since there is at least one work day.
        for offset in range(8):
            weekday = (day + offset + _EPOCH_WEEKDAY) % 7
            if weekday not in self.work_days:
                continue
            day_start = (day + offset) * SECONDS_PER_DAY
            for boundary in (day_start + self.work_start_s, day_start + self.work_end_s):
                # Compare in model time: with an offset, rounding could otherwise return t itself.
                if boundary - self.utc_offset_s > t:
                    return boundary - self.utc_offset_s
        raise AssertionError('no throttle boundary within 8 days')  # unreachable: work_days is not empty

    def min_rate(self):
        """Lowest rate the schedule ever allows (bytes/s)."""
        if not self.enabled:
            return math.inf
        if not self.work_days:
            return self.non_work_bps
        return min(self.work_bps, self.non_work_bps)

    def as_dict(self):
        """Plain-data form (weekday names, "HH:MM:SS", bytes/s; ``None`` for unlimited)."""
        return {
            'enabled': self.enabled,
            'work_days': [WEEKDAY_NAMES[day] for day in self.work_days],
            'work_hour_start': _format_time_of_day(self.work_start_s),
            'work_hour_end': _format_time_of_day(self.work_end_s),
            'work_hour_bandwidth': _finite_or_none(self.work_bps),
            'non_work_hour_bandwidth': _finite_or_none(self.non_work_bps),
        }


def _format_time_of_day(seconds):
    whole = int(round(seconds))
    return '%02d:%02d:%02d' % (whole // 3600, whole // 60 % 60, whole % 60)


def _finite_or_none(value):
    return None if math.isinf(value) else int(round(value))


# --------------------------------------------------------------------------------------------------
# Host link
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostLink:
    """What one host can upload: link rate (bytes/s), throttle schedule and per-VM upload threads."""

    link_bps: float
    schedule: ThrottleSchedule = field(default_factory=ThrottleSchedule.unthrottled)
    threads_per_vm: int = DEFAULT_UPLOAD_THREADS
    efficiency: float = LINK_EFFICIENCY
    per_thread_bps: float = PER_THREAD_BPS

    def __post_init__(self):
        if not math.isfinite(self.link_bps) or self.link_bps <= 0:
            raise ValueError('link rate must be a positive finite number of bytes/s, got %r' % (self.link_bps,))
        if not 0 < self.efficiency <= 1:
            raise ValueError('link efficiency must be in (0, 1], got %r' % (self.efficiency,))
        if not MIN_UPLOAD_THREADS <= self.threads_per_vm <= MAX_UPLOAD_THREADS:
            raise ValueError('UploadThreadsPerVM must be %d-%d, got %r'
                             % (MIN_UPLOAD_THREADS, MAX_UPLOAD_THREADS, self.threads_per_vm))
        if math.isnan(self.per_thread_bps) or self.per_thread_bps <= 0:
            raise ValueError('per-thread rate must be positive, got %r' % (self.per_thread_bps,))

    @property
    def usable_link_bps(self):
        """Link rate available to replication payload (bytes/s)."""
        return self.link_bps * self.efficiency

    @property
    def vm_cap_bps(self):
        """Fastest one VM can upload: UploadThreadsPerVM x per-thread throughput (bytes/s)."""
        return self.threads_per_vm * self.per_thread_bps

    def rate_at(self, t):
        """Host upload rate (bytes/s) at model time ``t``: min(usable link, throttle)."""
        return min(self.usable_link_bps, self.schedule.rate_at(t))

    def next_change_after(self, t):
        """Next model time after ``t`` at which ``rate_at`` may change."""
        return self.schedule.next_change_after(t)

    def min_rate(self):
        """Lowest host rate over the week (bytes/s)."""
        return min(self.usable_link_bps, self.schedule.min_rate())

    def bytes_between(self, start, end, cap_bps=math.inf):
        """Bytes one stream capped at ``cap_bps`` (or the whole host) can move in [start, end)."""
        total = 0.0
        t = start
        while t < end:
            boundary = min(self.next_change_after(t), end)
            total += min(self.rate_at(t), cap_bps) * (boundary - t)
            t = boundary
        return total

    def weekly_bytes(self, cap_bps=math.inf):
        """Bytes moved in any one week (the schedule repeats weekly, so the start does not matter)."""
        return self.bytes_between(0.0, float(SECONDS_PER_WEEK), cap_bps)

    def average_rate(self, cap_bps=math.inf):
        """Average rate over a week (bytes/s)."""
        return self.weekly_bytes(cap_bps) / SECONDS_PER_WEEK


def host_rate_at(link, t):
    """Host upload rate (bytes/s) of ``link`` at model time ``t`` (same as ``link.rate_at(t)``)."""
    return link.rate_at(t)


# --------------------------------------------------------------------------------------------------
# Sharing and transfers
# --------------------------------------------------------------------------------------------------

def share_rate(total_bps, caps_bps):
    """Split ``total_bps`` among streams with the given caps by water-filling.

    Returns the rates in the order of ``caps_bps``. No stream gets more than its cap; the capacity a
    capped stream cannot use is shared equally by the rest. The sum is ``min(total, sum(caps))``.
    """
    count = len(caps_bps)
    if not count:
        return []
    fair = total_bps / count
    if fair <= min(caps_bps):
        return [fair] * count           # the common case: no stream is capped
    rates = [0.0] * count
    remaining = total_bps
    order = sorted(range(len(caps_bps)), key=lambda index: (caps_bps[index], index))
    for position, index in enumerate(order):
        fair = remaining / (len(order) - position)
        rates[index] = min(caps_bps[index], fair)
        remaining -= rates[index]
    return rates


def transfer_finish_time(link, start, nbytes, cap_bps=None):
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
    t = float(start) + whole_weeks * SECONDS_PER_WEEK
    remaining -= whole_weeks * week_bytes
    while True:
        rate = min(link.rate_at(t), cap)
        boundary = link.next_change_after(t)
        if rate > 0 and rate * (boundary - t) >= remaining:
            return t + remaining / rate
        remaining -= rate * (boundary - t)
        t = boundary


def advance_transfers(link, t0, t1, remaining_bytes, caps_bps=None):
    """Move the host's concurrent transfers forward from ``t0`` to ``t1`` (the lab's step function).

    ``remaining_bytes``: ``{name: bytes still to send}`` for every VM replicating on the host during
    the step. ``caps_bps``: ``{name: cap}``; missing names use ``link.vm_cap_bps``. Between events
    (a throttle boundary or a transfer finishing) the host rate is shared by ``share_rate``.

    Returns ``(remaining, finished)``: the new ``{name: bytes}`` for transfers still running at
    ``t1``, and ``{name: finish time}`` for those that finished within the step. Stepping from t0 to
    t1 and then t1 to t2 gives the same result as one step from t0 to t2.
    """
    caps = caps_bps or {}
    remaining = {name: float(nbytes) for name, nbytes in remaining_bytes.items()}
    finished = {}
    for name in sorted(remaining):
        if remaining[name] <= 0:
            finished[name] = float(t0)
            del remaining[name]
    t = float(t0)
    while remaining and t < t1:
        names = sorted(remaining)
        rates = share_rate(link.rate_at(t), [caps.get(name, link.vm_cap_bps) for name in names])
        event = min(link.next_change_after(t), t1)
        for name, rate in zip(names, rates):
            if rate > 0:
                event = min(event, t + remaining[name] / rate)
        for name, rate in zip(names, rates):
            remaining[name] -= rate * (event - t)
            if remaining[name] <= _BYTES_EPSILON * max(1.0, rate):
                finished[name] = event
                del remaining[name]
        t = event
    return remaining, finished


def simulate_wave(link, vm_bytes, start, caps_bps=None):
    """Finish time of each VM of a wave that starts replicating together at ``start`` on one host.

    ``vm_bytes``: ``{name: bytes to upload}``. Returns ``{name: finish model time}``. Equivalent to
    calling ``advance_transfers`` until every transfer has finished.
    """
    remaining, finished = advance_transfers(link, start, math.inf, vm_bytes, caps_bps)
    if remaining:
        raise ValueError('transfers %s can never finish: their upload rate is zero' % ', '.join(sorted(remaining)))
    return finished


def simulate_queue(link, vm_bytes_in_order, start, max_concurrent, caps_bps=None):
    """Start and finish of each VM when VMs start in the given order, at most ``max_concurrent`` at once.

    ``vm_bytes_in_order``: sequence of ``(name, bytes)``. A VM starts as soon as a slot frees up
    (list scheduling, no wave barrier). Returns ``{name: (start, finish)}``.
    """
    if max_concurrent < 1:
        raise ValueError('max_concurrent must be at least 1, got %r' % (max_concurrent,))
    caps = caps_bps or {}
    pending = list(reversed(vm_bytes_in_order))
    running = {}
    started = {}
    result = {}
    t = float(start)
    while pending or running:
        while pending and len(running) < max_concurrent:
            name, nbytes = pending.pop()
            running[name] = float(nbytes)
            started[name] = t
        running, finished, t = _advance_to_first_finish(link, t, running, caps)
        for name in sorted(finished):
            result[name] = (started[name], finished[name])
    return result


def _advance_to_first_finish(link, t, running, caps):
    """Advance ``running`` until at least one transfer finishes; returns (remaining, finished, time)."""
    remaining, finished = running, {}
    while not finished:
        names = sorted(remaining)
        rates = share_rate(link.rate_at(t), [caps.get(name, link.vm_cap_bps) for name in names])
        step_end = link.next_change_after(t)
        for name, rate in zip(names, rates):
            if rate > 0:
                step_end = min(step_end, t + remaining[name] / rate)
        if math.isinf(step_end):
            raise ValueError('transfers %s can never finish: their upload rate is zero' % ', '.join(names))
        remaining, finished = advance_transfers(link, t, step_end, remaining, caps)
        t = step_end
    return remaining, finished, t


# --------------------------------------------------------------------------------------------------
# Delta replication and log space
# --------------------------------------------------------------------------------------------------

def delta_bytes_per_interval(churn_bps, interval_s):
    """Bytes one replication cycle carries: what the VM wrote during one interval."""
    return churn_bps * interval_s


def delta_required_bps(churn_bps, interval_s):
    """Upload rate a VM needs to keep up with delta replication (bytes/s).

    Each cycle's log must be uploaded before the next cycle closes, i.e. ``churn * interval`` bytes
    within ``interval`` seconds; the interval cancels out. It sets how much is at stake per cycle
    (``delta_bytes_per_interval``) and the recovery point lag, not the rate.
    """
    return delta_bytes_per_interval(churn_bps, interval_s) / interval_s


def delta_backlog_peak(link, churn_bps, start=0.0, cap_bps=math.inf):
    """Largest un-uploaded delta backlog (bytes) over two weeks of steady churn, starting empty.

    The backlog grows while ``churn_bps`` exceeds the upload rate ``min(link.rate_at(t), cap_bps)``
    (e.g. during throttled work hours) and drains otherwise. It lives in the .hrl logs, so it adds
    to the log space a volume needs. If the weekly capacity is below the weekly churn the backlog
    grows without bound and this returns ``math.inf``.
    """
    if link.weekly_bytes(cap_bps) < churn_bps * SECONDS_PER_WEEK:
        return math.inf
    backlog = peak = 0.0
    t = float(start)
    end = t + 2 * SECONDS_PER_WEEK
    while t < end:
        boundary = min(link.next_change_after(t), end)
        net = churn_bps - min(link.rate_at(t), cap_bps)
        backlog = max(0.0, backlog + net * (boundary - t))
        peak = max(peak, backlog)
        t = boundary
    return peak


def time_to_resync(disk_bytes, churn_bps, upload_bps):
    """Seconds until a VM falling behind needs resynchronisation (its .hrl reaches 50 % of the disk).

    ``math.inf`` when the upload rate keeps up with the churn.
    """
    deficit = churn_bps - upload_bps
    if deficit <= 0:
        return math.inf
    return RESYNC_LOG_FRACTION * disk_bytes / deficit


def ir_log_space_bytes(disk_bytes):
    """Worst-case extra free space a disk's volume needs during initial replication (snapshot + .hrl)."""
    return IR_LOG_SPACE_FRACTION * disk_bytes


def delta_log_space_bytes(disk_bytes):
    """Worst-case extra free space a disk's volume needs during delta replication."""
    return DELTA_LOG_SPACE_FRACTION * disk_bytes
