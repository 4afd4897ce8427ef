# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The wave search: each host's VMs into waves, timed on the replication model (docs/planning.md, "Waves").

Pure: a ``PlanRequest`` in, a ``Plan`` of typed ``HostPlan``s out. Hosts upload independently, so each is
planned on its own; every tie breaks by name, so the same request always gives the same plan.
"""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass

from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner import storage
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.hosts import peak_rate
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.values import HostSpec, PlanRequest, VmSpec


@dataclass(frozen=True)
class HostPlan:
    """One host's waves and what bounds them (times are model times, durations seconds)."""

    wave_size: int                                  # the most VMs a wave of this host holds
    waves: list[list[VmSpec]]
    timed: list[tuple[float, dict[str, float]]]     # per wave: (start, {VM: initial replication finish})
    finish: float
    deferred: list[str]                             # VMs left for a later window, by name
    lower_bound_s: float                            # link bound: initial replication + delta bytes at the usable rate
    cap_bound_s: float                              # the largest VM alone at its per-VM cap
    tail_bound_s: float                             # the largest VMs finishing one by one at their caps
    total_bytes: int                                # initial replication bytes of the planned (not deferred) VMs
    delta_bytes: float                              # delta bytes uploaded before the last VM finished
    volume_totals: dict[str, int]                   # disk bytes per volume, deferred VMs included

    @property
    def first_start(self) -> float:
        return self.timed[0][0] if self.timed else self.finish


@dataclass(frozen=True)
class Plan:
    """What ``plan`` returns: the request and, per host with VMs, its ``HostPlan``; the storage assignment."""

    request: PlanRequest
    hosts: dict[str, HostPlan]                      # in name order
    assignment: dict[str, str]                      # VM -> log storage account
    used: dict[str, int]                            # account -> bytes assigned


def plan(request: PlanRequest) -> Plan:
    """Storage accounts assigned, then each host's waves searched and timed."""
    assignment, used = storage.assign_storage_accounts(request.vms, request.accounts)
    hosts = {name: plan_host(request.hosts[name], request.vms_by_host[name], request.start, request.window_end)
             for name in request.hosts if request.vms_by_host[name]}
    return Plan(request=request, hosts=hosts, assignment=assignment, used=used)


def _volume_ir_budget(free_bytes: float, total_on_volume: float) -> float:
    """Disk bytes on a volume that one wave may put into initial replication.

    At a wave the volume holds IR space (100 %) for that wave's disks and delta space (50 %) for the
    disks of earlier waves, at most ``a * wave + b * (total - wave)`` with a = 1, b = 0.5; keeping
    that within the free space gives ``wave <= (free - b * total) / (a - b)`` for every wave.
    """
    ir_fraction, delta_fraction = model.IR_LOG_SPACE_FRACTION, model.DELTA_LOG_SPACE_FRACTION
    return (free_bytes - delta_fraction * total_on_volume) / (ir_fraction - delta_fraction)


def _build_waves(vms_in_order: t.Iterable[VmSpec], wave_size: int, budgets: t.Mapping[str, float]) -> list[list[VmSpec]]:
    """Cut the largest-first VMs into waves of at most ``wave_size`` within the volume budgets."""
    waves: list[list[VmSpec]] = []
    current: list[VmSpec] = []
    used: dict[str, int] = {}
    for vm in vms_in_order:
        demand = vm.volume_bytes
        fits = len(current) < wave_size and all(
            used.get(volume, 0) + nbytes <= budgets.get(volume, math.inf) for volume, nbytes in demand)
        if current and not fits:
            waves.append(current)
            current, used = [], {}
        current.append(vm)
        for volume, nbytes in demand:
            used[volume] = used.get(volume, 0) + nbytes
    if current:
        waves.append(current)
    return waves


def _time_waves(link: model.HostLink, waves: list[list[VmSpec]], start: float) -> model.WaveSchedule:
    """The model's ``WaveSchedule`` of consecutive waves on one host, with every VM's delta uploads."""
    return model.simulate_waves(link, [{vm.name: vm.total_bytes for vm in wave} for wave in waves], start,
                                {vm.name: vm.churn_bps for wave in waves for vm in wave if vm.churn_bps})


def _saturating_wave_size(host: HostSpec) -> int:
    """Fewest concurrent VMs whose caps fill the host's peak rate."""
    peak = peak_rate(host.link.usable_link_bps, host.link.schedule)
    return max(1, math.ceil(peak / host.link.vm_cap_bps - 1e-9))


_Searched = t.Tuple[int, t.List[t.List[VmSpec]], model.WaveSchedule]


def _plan_waves(host: HostSpec, ordered: list[VmSpec], start: float, budgets: t.Mapping[str, float]) -> _Searched:
    """(size, waves, schedule) with the shortest makespan; ties go to fewer waves (docs/planning.md, "Wave size")."""
    limit = max(1, min(host.max_vms_per_wave, len(ordered)))
    smallest = min(limit, _saturating_wave_size(host))
    if smallest > 1:
        sizes: t.Iterable[int] = range(limit, smallest - 1, -1)
    elif any(vm.churn_bps for vm in ordered):
        sizes = sorted({limit, 1}, reverse=True)
    else:
        sizes = [limit]
    best = None
    for size in sizes:
        waves = _build_waves(ordered, size, budgets)
        schedule = _time_waves(host.link, waves, start)
        if best is None or schedule.finish < best[2].finish - 1e-9 * max(1.0, abs(best[2].finish)):
            best = (size, waves, schedule)
    return best


def _fit_window(host: HostSpec, ordered: list[VmSpec], start: float, window_end: float,
                budgets: t.Mapping[str, float]) -> tuple[_Searched, list[VmSpec]]:
    """Split the VMs into those that finish within the window and those deferred to a later one.

    VMs are taken largest first while the host's capacity in the window (on its throttle schedule)
    still holds them; then, while the simulated plan overruns (per-VM caps, delta uploads), the
    smallest taken VM is deferred.
    """
    capacity = host.link.bytes_between(start, window_end)
    taken, deferred, used = [], [], 0
    for vm in ordered:
        if used + vm.total_bytes <= capacity:
            taken.append(vm)
            used += vm.total_bytes
        else:
            deferred.append(vm)
    while taken:
        planned = _plan_waves(host, taken, start, budgets)
        if planned[2].finish <= window_end:
            return planned, deferred
        deferred.append(taken.pop())
    return (0, [], model.simulate_waves(host.link, [], start)), deferred


def plan_host(host: HostSpec, vms: list[VmSpec], start: float, window_end: float | None) -> HostPlan:
    """Waves, timings, lower bounds and disk bytes per volume of one host."""
    ordered = sorted(vms, key=lambda vm: (-vm.total_bytes, vm.name))
    totals: dict[str, int] = {}
    for vm in ordered:
        for volume, nbytes in vm.volume_bytes:
            totals[volume] = totals.get(volume, 0) + nbytes
    free = dict(host.volumes)
    budgets = {volume: _volume_ir_budget(free[volume], total) for volume, total in totals.items() if volume in free}
    deferred: list[VmSpec] = []
    if window_end is None:
        size, waves, schedule = _plan_waves(host, ordered, start, budgets)
    else:
        (size, waves, schedule), deferred = _fit_window(host, ordered, start, window_end, budgets)
    deferred_names = {vm.name for vm in deferred}
    total_bytes = sum(vm.total_bytes for vm in ordered if vm.name not in deferred_names)
    # The bound counts the delta bytes uploaded before the last VM finishes (docs/planning.md, "Bounds"):
    # the agent uploads a VM's log as soon as its initial replication ends, so the link carries them.
    lower_bound = model.transfer_finish_time(host.link, start, total_bytes + schedule.delta_bytes, math.inf) - start
    largest = max([vm.total_bytes for vm in ordered if vm.name not in deferred_names] or [0])
    # No plan beats the largest VM replicating alone at its cap.
    cap_bound = model.transfer_finish_time(host.link, start, largest) - start
    sizes = sorted((vm.total_bytes for vm in ordered if vm.name not in deferred_names), reverse=True)
    tail_bound = max(cap_bound, _tail_bound(host.link, start, sizes, total_bytes))
    return HostPlan(wave_size=size, waves=waves, timed=list(schedule.waves), finish=schedule.finish,
                    deferred=sorted(vm.name for vm in deferred), lower_bound_s=lower_bound, cap_bound_s=cap_bound,
                    tail_bound_s=tail_bound, total_bytes=total_bytes, delta_bytes=schedule.delta_bytes, volume_totals=totals)


def _tail_bound(link: model.HostLink, start: float, sizes_descending: list[int], total_bytes: int) -> float:
    """Seconds no plan of barrier waves can beat while the host's rate stays as at ``start``, given the per-VM caps.

    Whatever the waves, the wave holding the largest VM ends with it alone for at least (largest - second)
    bytes at its cap, two left for (second - third) at two caps, and so on while k caps are below the
    host rate (docs/planning.md, "Bounds"). On a throttled host it is a bound only when the throttle does
    not change before it; otherwise it is not computed (0).
    """
    if not sizes_descending:
        return 0.0
    rate, cap = link.rate_at(start), link.vm_cap_bps
    idle = 0.0
    following = list(sizes_descending[1:]) + [0]
    for left, (size, next_size) in enumerate(zip(sizes_descending, following), start=1):
        if left * cap >= rate:
            break
        idle += (size - next_size) * (1.0 / cap - left / rate)
    bound = total_bytes / rate + idle
    return bound if link.next_change_after(start) - start >= bound else 0.0
