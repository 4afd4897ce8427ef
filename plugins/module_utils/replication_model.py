# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one model of bytes and rates for Hyper-V to Azure replication (docs/planning.md, "The model").

The replication planner (``plugin_utils/_planner``) plans on it, and a simulation of replication built on
it (it is public API) agrees with a plan by construction. Units: rates are bytes per
second (float), amounts bytes, times model time (seconds since 1970-01-01T00:00:00 UTC); parsing
"512 Kbps" or "1 Gbit/s" is ``bandwidth.py``'s job, the throttle is ``_mars.ThrottleSchedule`` and the
delta replication cycle and log space are ``_replication_logs`` (re-exported here).

Rates are piecewise constant: they change only at throttle boundaries, when a transfer finishes and
when a backlog is drained. Every function below walks those events exactly; none steps through time
in fixed increments.
"""

import math
from dataclasses import dataclass

from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import (
    DEFAULT_UPLOAD_THREADS,
    MAX_UPLOAD_THREADS,
    MIN_UPLOAD_THREADS,
    SECONDS_PER_DAY,
    SECONDS_PER_WEEK,
    LINK_EFFICIENCY,
    PER_THREAD_BPS,
    HostLink,
    ThrottleSchedule,
    host_rate_at,
    parse_time_of_day,
    transfer_finish_time,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._replication_logs import (
    DELTA_LOG_SPACE_FRACTION,
    IR_LOG_SPACE_FRACTION,
    REPLICATION_INTERVALS,
    RESYNC_LOG_FRACTION,
    delta_backlog_peak,
    delta_bytes_per_interval,
    delta_required_bps,
    delta_log_space_bytes,
    ir_log_space_bytes,
    time_to_resync,
)

# The model's public names, those of _mars and _replication_logs among them (they were defined here first).
__all__ = [
    "DEFAULT_UPLOAD_THREADS", "DELTA_LOG_SPACE_FRACTION", "IR_LOG_SPACE_FRACTION", "LINK_EFFICIENCY", "MAX_UPLOAD_THREADS",
    "MIN_UPLOAD_THREADS", "PER_THREAD_BPS", "REPLICATION_INTERVALS", "RESYNC_LOG_FRACTION", "SECONDS_PER_DAY", "SECONDS_PER_WEEK",
    "HostLink", "ReplicationStep", "ThrottleSchedule", "WaveSchedule",
    "advance_replication", "advance_transfers", "delta_backlog_peak", "delta_bytes_per_interval", "delta_log_space_bytes",
    "delta_required_bps", "host_rate_at", "ir_log_space_bytes", "parse_time_of_day", "share_rate", "simulate_queue",
    "simulate_wave", "simulate_waves", "time_to_resync", "transfer_finish_time",
]

# Relative tolerance for "this transfer has finished", so float rounding cannot leave a few bytes
# that would cost one more event.
_BYTES_EPSILON = 1e-6


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
        self.groups = _groups(self.busy, self.caught_up)

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
            rates, caught_up_rates = _water_fill(host_rate, busy, caught_up, (busy_cap, busy_uniform, churn_total, churn_max, churn_fits))
            event = _next_event(t, boundary if boundary < t_end else t_end, busy, rates)
            step = event - t
            first_done = done = False
            for stream, rate in zip(caught_up, caught_up_rates or ()):
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


def _groups(busy, caught_up):
    """What the fast branch of ``_water_fill`` reads, kept up to date by ``_Host.run`` between regroupings:
    (lowest busy cap, whether every busy cap is the same, total churn of the caught-up VMs, their largest churn,
    whether every caught-up VM's churn is within its cap)."""
    busy_cap, busy_uniform = _cap_of(busy)
    return [busy_cap, busy_uniform, sum(stream.churn for stream in caught_up),
            max([stream.churn for stream in caught_up] or [0.0]), all(stream.churn <= stream.cap for stream in caught_up)]


def _water_fill(host_rate, busy, caught_up, groups):
    """(rates of the busy VMs, rates of the caught-up VMs or None when each gets exactly its churn).

    The fast branch is exact in the common cases: when every caught-up VM's churn fits under the water level
    and its cap, each gets its churn, and the busy VMs share the rest equally, or all sit at one common cap.
    Otherwise the general water-filling (``share_rate``) decides. A randomised unit test checks that both
    branches agree wherever the fast one is taken.
    """
    busy_cap, busy_uniform, churn_total, churn_max, churn_fits = groups
    count = len(busy)
    level = (host_rate - churn_total) / count if count else math.inf
    if churn_fits and churn_max <= level and (count or churn_total <= host_rate) and (level <= busy_cap or busy_uniform):
        return [level if level < busy_cap else busy_cap] * count, None
    return _general_rates(host_rate, busy, caught_up)


def _general_rates(host_rate, busy, caught_up):
    """``_water_fill`` without the fast branch: every VM in ``share_rate``, a caught-up one capped at its churn."""
    rates = share_rate(host_rate, [stream.cap for stream in busy] + [min(stream.churn, stream.cap) for stream in caught_up])
    return rates[:len(busy)], rates[len(busy):]


def _next_event(t, horizon, busy, rates):
    """The next time a busy VM finishes initial replication or drains its backlog, if before ``horizon``."""
    event = horizon
    for stream, rate in zip(busy, rates):
        if stream.initial is not None:
            if rate > 0 and t + stream.initial / rate < event:
                event = t + stream.initial / rate
        elif rate > stream.churn and t + stream.backlog / (rate - stream.churn) < event:
            event = t + stream.backlog / (rate - stream.churn)
    if math.isinf(event):
        raise ValueError('transfers %s can never finish: their upload rate is zero'
                         % ', '.join(stream.name for stream in busy if stream.initial is not None))
    return event


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
