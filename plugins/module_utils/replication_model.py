# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one model of bytes and rates for Hyper-V to Azure replication.

The replication planner (``plugin_utils/replication_planner.py``) uses this file, and so may any
simulation of a host's uploads, so that a planned wave and a simulated run of it agree by
construction. It has no Ansible imports and no imports from the collection, so it can be loaded by
file path (``importlib.util.spec_from_file_location``). Standard library only; Python 3.8 syntax,
since ansible-test compiles ``module_utils`` for the target Pythons.

Units: every rate is **bytes per second** (float) and every amount **bytes**. Parsing "512 Kbps" or
"1 Gbit/s" is ``module_utils/bandwidth.py``'s job, not this file's.

Time: a float count of seconds since 1970-01-01T00:00:00 UTC ("model time"; ``time.time()`` uses
the same scale). A throttle schedule is read in the host's wall-clock time, which
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
* A VM's writes during initial replication go to its .hrl log. When its initial replication
  finishes it is in delta replication: it uploads that log, then its writes as they come (its
  churn), over the same host link, so it keeps a share while other VMs are still in initial
  replication. A VM with a backlog competes like a transfer (up to its cap); a VM that has caught
  up takes just its churn. ``advance_replication`` is that one definition; a simulation steps it and
  the planner's waves (``simulate_waves``) run on it.
* Rates are piecewise constant: they change only at throttle schedule boundaries (work hours
  start/end), when a transfer finishes and when a backlog is drained. Every function below walks
  those events exactly; none steps through time in fixed increments.
"""

import functools
import math
from dataclasses import dataclass, field

from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import (  # noqa: F401  (public names of this model)
    DEFAULT_UPLOAD_THREADS,
    MAX_UPLOAD_THREADS,
    MIN_UPLOAD_THREADS,
    SECONDS_PER_DAY,
    SECONDS_PER_WEEK,
    ThrottleSchedule,
    parse_time_of_day,
)

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

#: Extra free space on a disk's volume while the VM is in initial replication, as a fraction of the
#: VHD size: the checkpoint (.avhdx) plus the .hrl log, worst case 100 %
#: (learn.microsoft.com/azure/site-recovery/site-recovery-hyper-v-deployment-planner-analyze-report).
IR_LOG_SPACE_FRACTION = 1.0
#: The same during delta replication when bandwidth cannot keep up: 50 % (the same Deployment Planner report page).
DELTA_LOG_SPACE_FRACTION = 0.5
#: A VM needs resynchronisation when its .hrl log reaches this fraction of the disk size (6.1).
RESYNC_LOG_FRACTION = 0.5

#: Replication intervals (seconds) that HyperVReplicaAzure policies accept (New-AzRecoveryServicesAsrPolicy's ValidateSet).
REPLICATION_INTERVALS = (30, 300, 900)

# Relative tolerance for "this transfer has finished", so float rounding cannot leave a few bytes
# that would cost one more event.
_BYTES_EPSILON = 1e-6


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
        return _weekly_bytes(self, cap_bps)

    def average_rate(self, cap_bps=math.inf):
        """Average rate over a week (bytes/s)."""
        return self.weekly_bytes(cap_bps) / SECONDS_PER_WEEK


# A plan asks each host's week several times, and an estate has few distinct links (rate, throttle,
# threads): walking each week once saves a twentieth of the planning time at 100,000 VMs.
@functools.lru_cache(maxsize=4096)
def _weekly_bytes(link, cap_bps):
    return link.bytes_between(0.0, float(SECONDS_PER_WEEK), cap_bps)


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
    level = total_bps / count
    if level <= min(caps_bps):
        return [level] * count          # the common case: no stream is capped
    # Raise the water level: the streams whose cap is at or below it get their cap, the rest share
    # what is left equally; repeat until no further stream is capped (a few rounds, no sort).
    capped = [False] * count
    remaining, free = total_bps, count
    while True:
        newly = [index for index in range(count) if not capped[index] and caps_bps[index] <= level]
        if not newly:
            return [caps_bps[index] if capped[index] else level for index in range(count)]
        for index in newly:
            capped[index] = True
            remaining -= caps_bps[index]
        free -= len(newly)
        if not free:
            return list(caps_bps)
        level = remaining / free


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


class _Stream(object):
    """One VM replicating on a host, as ``_Host`` moves it (mutable, internal)."""

    __slots__ = ('name', 'initial', 'backlog', 'churn', 'cap', 'sent', 'since')

    def __init__(self, name, initial, backlog, churn, cap):
        self.name = name
        self.initial = initial      # bytes of initial replication (or resync) left; None once in delta replication
        self.backlog = backlog      # .hrl log bytes written and not yet uploaded
        self.churn = churn          # write rate, bytes/s
        self.cap = cap              # UploadThreadsPerVM x per-thread rate
        self.sent = 0.0             # delta bytes uploaded (up to ``since`` while caught up)
        self.since = None           # while caught up (see _Host): since when

    def delta_sent(self, t):
        """Delta bytes uploaded up to ``t``: a caught-up VM uploads its churn as it comes."""
        return self.sent if self.since is None else self.sent + self.churn * (t - self.since)


# What ``_Host.run`` runs to: a time, the first initial replication finishing, or all of them.
_UNTIL_TIME, _UNTIL_FIRST, _UNTIL_ALL = 0, 1, 2


class _Host(object):
    """The VMs replicating on one host and the event walk that moves them: the one definition of sharing.

    A VM in initial replication, or in delta replication with a backlog, is "busy": a stream capped at its
    VM cap. A VM in delta replication without a backlog is "caught up": a stream capped at its churn (it
    uploads what it writes, no more). ``share_rate`` splits the host rate between them. Between events the
    rates are constant; the events are a throttle boundary, an initial replication finishing (recorded in
    ``finished``; from then on the VM is in delta replication and uploads its log) and a backlog draining to
    zero. A VM in delta replication that neither writes nor has a backlog takes no share.

    For speed, caught-up VMs are not moved event by event: while the water level is at or above their
    churn they get exactly their churn, so their backlog stays 0 and what they upload is churn x time
    (``_Stream.delta_sent``). When the level falls below a caught-up VM's churn the general water-filling
    gives it less, its log grows and it is busy again.
    """

    def __init__(self, link, t):
        self.link = link
        self.t = float(t)
        self.streams = []
        self.finished = {}
        self.in_initial = 0
        self.host_rate = link.rate_at(self.t)
        self.boundary = link.next_change_after(self.t)
        self.busy = self.caught_up = ()
        self.groups = None

    def add(self, streams):
        """VMs join at the current time (``_Stream``s; a VM with initial bytes starts initial replication now)."""
        for stream in streams:
            if stream.initial is not None and stream.initial <= 0:
                stream.initial = None                   # nothing to send: finished at once
                self.finished[stream.name] = self.t
            if stream.initial is not None:
                self.in_initial += 1
            elif stream.backlog <= 0.0 and stream.churn > 0.0:
                stream.since = self.t
            self.streams.append(stream)
        self.groups = None

    def _regroup(self):
        self.busy = [stream for stream in self.streams if stream.initial is not None or stream.backlog > 0.0]
        self.caught_up = [stream for stream in self.streams if stream.since is not None]
        busy_cap, busy_uniform = _cap_of(self.busy)
        self.groups = [busy_cap, busy_uniform, sum(stream.churn for stream in self.caught_up),
                       max([stream.churn for stream in self.caught_up] or [0.0]),
                       all(stream.churn <= stream.cap for stream in self.caught_up)]

    def run(self, t_end, until=_UNTIL_TIME):
        """Move the host's VMs from the current time to ``t_end``, or until the first or the last initial
        replication finishes (``until``); ``t_end`` may be ``math.inf`` only with ``_UNTIL_FIRST`` or
        ``_UNTIL_ALL``. Returns the time reached."""
        link, t, finished = self.link, self.t, self.finished
        host_rate, boundary, in_initial = self.host_rate, self.boundary, self.in_initial
        if self.groups is None:
            self._regroup()
        busy, caught_up = self.busy, self.caught_up
        busy_cap, busy_uniform, churn_total, churn_max, churn_fits = self.groups
        regroup = False
        while t < t_end:
            if regroup:                     # a caught-up VM fell behind: rebuild the groups in the VMs' order
                self._regroup()
                busy, caught_up = self.busy, self.caught_up
                busy_cap, busy_uniform, churn_total, churn_max, churn_fits = self.groups
                regroup = False
            if until != _UNTIL_TIME and not in_initial or not busy and not caught_up:
                break
            if t >= boundary:
                host_rate = link.rate_at(t)
                boundary = link.next_change_after(t)
            count = len(busy)
            level = (host_rate - churn_total) / count if count else math.inf
            general = None
            if churn_fits and churn_max <= level and (count or churn_total <= host_rate) and (level <= busy_cap or busy_uniform):
                # The common cases: each caught-up VM gets its churn, the busy ones share the rest or are at their cap.
                rates = [level if level < busy_cap else busy_cap] * count
            else:
                general = share_rate(host_rate, [stream.cap for stream in busy] + [min(stream.churn, stream.cap) for stream in caught_up])
                rates = general[:count]
            event = boundary if boundary < t_end else t_end
            for stream, rate in zip(busy, rates):
                if stream.initial is not None:
                    if rate > 0 and t + stream.initial / rate < event:
                        event = t + stream.initial / rate
                elif rate > stream.churn and t + stream.backlog / (rate - stream.churn) < event:
                    event = t + stream.backlog / (rate - stream.churn)
            if math.isinf(event):
                raise ValueError('transfers %s can never finish: their upload rate is zero'
                                 % ', '.join(stream.name for stream in busy if stream.initial is not None))
            step = event - t
            first_done = done = False
            for stream, rate in zip(caught_up, general[count:] if general else ()):
                if rate < stream.churn:         # below its churn: its log grows, it is busy again
                    stream.sent += stream.churn * (t - stream.since) + rate * step
                    stream.backlog += (stream.churn - rate) * step
                    stream.since = None if stream.backlog > 0.0 else event
                    regroup = True
            for stream, rate in zip(busy, rates):
                if stream.initial is not None:
                    stream.initial -= rate * step
                    stream.backlog += stream.churn * step           # writes during IR go to the .hrl log
                    if stream.initial <= _BYTES_EPSILON * (rate if rate > 1.0 else 1.0):
                        stream.initial = None
                        finished[stream.name] = event
                        in_initial -= 1
                        first_done = True
                else:
                    stream.backlog += (stream.churn - rate) * step
                    stream.sent += rate * step
                    if rate >= stream.churn and stream.backlog <= _BYTES_EPSILON * (rate if rate > 1.0 else 1.0):
                        stream.sent += min(stream.backlog, 0.0)     # do not count an overshoot of float rounding as sent
                        stream.backlog = 0.0
                if stream.initial is None and stream.backlog <= 0.0:
                    done = True                 # caught up (or idle, without churn): no longer busy
                    if stream.churn > 0.0:
                        stream.since = event
                        caught_up.append(stream)
                        churn_total += stream.churn
                        churn_max = stream.churn if stream.churn > churn_max else churn_max
                        churn_fits = churn_fits and stream.churn <= stream.cap
            if done and not regroup:
                busy = [stream for stream in busy if stream.initial is not None or stream.backlog > 0.0]
                if not busy_uniform:            # (fewer VMs with one cap still have that cap)
                    busy_cap, busy_uniform = _cap_of(busy)
            t = event
            if first_done and until == _UNTIL_FIRST:
                break
        if until == _UNTIL_TIME and t < t_end:
            t = t_end                   # every VM idled: nothing changes until t_end
        self.t, self.host_rate, self.boundary, self.in_initial = t, host_rate, boundary, in_initial
        if regroup:
            self.groups = None
        else:
            self.busy, self.caught_up = busy, caught_up
            self.groups = [busy_cap, busy_uniform, churn_total, churn_max, churn_fits]
        if t >= boundary:
            self.host_rate, self.boundary = link.rate_at(t), link.next_change_after(t)
        return t


def _cap_of(streams):
    """(lowest cap, whether every cap is the same) of a group of streams."""
    caps = [stream.cap for stream in streams]
    if not caps:
        return math.inf, True
    low = min(caps)
    return low, low == max(caps)


def _make_streams(link, initial_bytes, backlog_bytes, churn_bps, caps_bps):
    """``_Stream``s in name order: a VM is in initial replication while it is in ``initial_bytes``."""
    initial_bytes = initial_bytes or {}
    backlog_bytes = backlog_bytes or {}
    churn_bps = churn_bps or {}
    caps = caps_bps or {}
    streams = []
    for name in sorted(set(initial_bytes) | set(backlog_bytes) | set(churn_bps)):
        initial = initial_bytes.get(name)
        streams.append(_Stream(name, None if initial is None else float(initial), float(backlog_bytes.get(name, 0.0)),
                               float(churn_bps.get(name, 0.0)), caps.get(name, link.vm_cap_bps)))
    return streams


@dataclass(frozen=True)
class ReplicationStep:
    """What ``advance_replication`` returns.

    ``initial``: ``{name: bytes}`` of initial replication left, for the VMs still in it at the end of the
    step. ``backlog``: ``{name: bytes}`` of log written but not uploaded, for every VM. ``finished``:
    ``{name: model time}`` at which initial replication finished, for the VMs that finished within the
    step. ``delta_sent``: ``{name: bytes}`` of delta (log) uploaded within the step, for every VM.
    """

    initial: dict
    backlog: dict
    finished: dict
    delta_sent: dict


def advance_replication(link, t0, t1, initial_bytes, backlog_bytes=None, churn_bps=None, caps_bps=None):
    """Move a host's replicating VMs forward from ``t0`` to ``t1``: initial replication and delta uploads share the host.

    A simulation moves bytes with it step by step; the planner's waves run on the same walk (``simulate_waves``).

    * ``initial_bytes``: ``{name: bytes}`` still to send by the VMs in initial replication (or
      resynchronisation, which moves the same way). A VM listed with nothing left finishes at ``t0``.
    * ``backlog_bytes``: ``{name: bytes}`` of .hrl log not yet uploaded. Every other VM named here or in
      ``churn_bps`` and not in ``initial_bytes`` is in delta replication (0 when it has caught up).
    * ``churn_bps``: ``{name: write rate}``; missing names write nothing. While a VM is in initial
      replication its writes go to its log; once it finishes, it uploads that log and then its writes
      as they come, sharing the host with the VMs still in initial replication: a VM with a backlog
      competes like a transfer (capped at its VM cap), a VM that has caught up takes just its churn.
    * ``caps_bps``: ``{name: cap}``; missing names use ``link.vm_cap_bps``.

    ``t1`` may be ``math.inf``: the step then ends when the last initial replication does. Returns a
    ``ReplicationStep``. Stepping from t0 to t1 and then t1 to t2 gives the same result as one step from
    t0 to t2 (up to float rounding): the state is the bytes left and the backlogs.
    """
    host = _Host(link, t0)
    host.add(_make_streams(link, initial_bytes, backlog_bytes, churn_bps, caps_bps))
    end = host.run(t1, _UNTIL_ALL if math.isinf(t1) else _UNTIL_TIME)
    return ReplicationStep(
        initial={stream.name: stream.initial for stream in host.streams if stream.initial is not None},
        backlog={stream.name: stream.backlog for stream in host.streams},
        finished=host.finished,
        delta_sent={stream.name: stream.delta_sent(end) for stream in host.streams},
    )


def advance_transfers(link, t0, t1, remaining_bytes, caps_bps=None):
    """Move the host's concurrent transfers forward from ``t0`` to ``t1``, without delta replication.

    ``advance_replication`` with no churn and no backlogs: ``remaining_bytes`` is ``{name: bytes still to
    send}``, ``caps_bps`` ``{name: cap}`` (missing names use ``link.vm_cap_bps``). Returns ``(remaining,
    finished)``: the new ``{name: bytes}`` for transfers still running at ``t1``, and ``{name: finish
    time}`` for those that finished within the step.
    """
    step = advance_replication(link, t0, t1, remaining_bytes, caps_bps=caps_bps)
    return step.initial, step.finished


@dataclass(frozen=True)
class WaveSchedule:
    """What ``simulate_waves`` returns.

    ``waves``: ``((wave start, {name: initial replication finish}), ...)`` in wave order. ``finish``:
    when the last initial replication finished (the start without VMs). ``delta_bytes``: delta (log)
    bytes the host uploaded from the start to ``finish``, next to the initial replication bytes.
    ``backlog``: ``{name: bytes}`` of log not yet uploaded at ``finish``.
    """

    waves: tuple
    finish: float
    delta_bytes: float
    backlog: dict


def simulate_waves(link, waves, start, churn_bps=None, caps_bps=None):
    """Consecutive waves on one host, each starting when every VM of the one before finished initial replication.

    ``waves``: a sequence of ``{name: bytes to upload}``; the first starts at ``start``. VMs that finished
    initial replication, in the wave or in an earlier one, upload their logs and churn meanwhile
    (``churn_bps``, ``{name: write rate}``), as ``advance_replication`` moves them; a VM writes to its
    log from the start of its own initial replication. Returns a ``WaveSchedule``.
    """
    churn = churn_bps or {}
    caps = caps_bps or {}
    default_cap = link.vm_cap_bps
    host = _Host(link, start)
    timed = []
    for wave in waves:
        wave_start = host.t
        host.finished = {}
        host.add([_Stream(name, float(nbytes), 0.0, float(churn.get(name, 0.0)), caps.get(name, default_cap))
                  for name, nbytes in sorted(wave.items())])
        host.run(math.inf, _UNTIL_ALL)
        timed.append((wave_start, host.finished))
    return WaveSchedule(waves=tuple(timed), finish=host.t, delta_bytes=sum(stream.delta_sent(host.t) for stream in host.streams),
                        backlog={stream.name: stream.backlog for stream in host.streams})


def simulate_wave(link, vm_bytes, start, caps_bps=None, churn_bps=None):
    """Finish time of each VM of a wave that starts replicating together at ``start`` on one host.

    ``vm_bytes``: ``{name: bytes to upload}``; with ``churn_bps`` the VMs that finish first upload their
    logs while the others replicate (``simulate_waves`` with one wave). Returns ``{name: finish model time}``.
    """
    return simulate_waves(link, [vm_bytes], start, churn_bps, caps_bps).waves[0][1]


def simulate_queue(link, vm_bytes_in_order, start, max_concurrent, caps_bps=None, churn_bps=None):
    """Start and finish of each VM when VMs start in the given order, at most ``max_concurrent`` at once.

    ``vm_bytes_in_order``: sequence of ``(name, bytes)``. A VM starts as soon as a slot frees up
    (list scheduling, no wave barrier); VMs in delta replication do not hold a slot but upload their logs
    and churn (``churn_bps``) as in ``advance_replication``. Returns ``{name: (start, finish)}``.
    """
    if max_concurrent < 1:
        raise ValueError('max_concurrent must be at least 1, got %r' % (max_concurrent,))
    churn = churn_bps or {}
    caps = caps_bps or {}
    pending = list(reversed(vm_bytes_in_order))
    host = _Host(link, start)
    started = {}
    while pending or host.in_initial:
        new = []
        while pending and host.in_initial + len(new) < max_concurrent:
            name, nbytes = pending.pop()
            new.append(_Stream(name, float(nbytes), 0.0, float(churn.get(name, 0.0)), caps.get(name, link.vm_cap_bps)))
            started[name] = host.t
        host.add(new)
        if host.in_initial:
            host.run(math.inf, _UNTIL_FIRST)
    return {name: (started[name], host.finished[name]) for name in sorted(host.finished)}


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
    if churn_bps <= min(link.min_rate(), cap_bps):
        return 0.0                  # the upload rate never falls below the churn: no backlog ever builds
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
