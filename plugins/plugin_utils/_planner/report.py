# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The plan as the replication_plan module returns it: rows per wave, VM, host and account, and the warnings.

Every function returns its rows together with the warnings they raise; ``render`` puts them in the order the
module documents (per host in name order: its VMs, then the host; then the window, deferrals and accounts).
"""

from __future__ import annotations

import math
import time
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.module_utils import bandwidth
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.storage import storage_rows
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.values import HostSpec, VmSpec
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.waves import HostPlan, Plan

#: Work-hours throttle headroom over the host's total churn, so delta replication keeps up in
#: business hours with a margin for bursts.
DELTA_THROTTLE_MARGIN = 1.25

_Row = t.Dict[str, t.Any]


def format_time(model_time: float) -> str:
    """ISO 8601 to the second, as datetime's isoformat(timespec='seconds') gives it (microseconds rounded, then cut).

    time.gmtime is several times faster than building a datetime, which counts with a row per VM.
    """
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(math.floor(round(model_time, 6))))


def _wave_name(index: int) -> str:
    return f"wave-{index:02d}"


def _seconds(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else round(value, 3)


class _Clock:
    """Turns model times into plan offsets and, when the start is known, ISO date-times."""

    def __init__(self, start: float, absolute: bool) -> None:
        self.start = start
        self.absolute = absolute

    def offset(self, model_time: float) -> float | None:
        return _seconds(model_time - self.start)

    def iso(self, model_time: float) -> str | None:
        return format_time(model_time) if self.absolute else None


def render(planned: Plan) -> dict[str, t.Any]:
    """The plan's return values (``warnings`` among them) from the searched waves."""
    request, host_plans = planned.request, planned.hosts
    start, window_end = request.start, request.window_end
    clock = _Clock(start, request.absolute)
    vm_rows, host_rows, warnings = [], [], []
    for name in host_plans:
        rows, host_row, host_warnings = _host_rows(request.hosts[name], host_plans[name], request.vms_by_host[name],
                                                   planned.assignment, clock, request.interval)
        vm_rows.extend(rows)
        host_rows.append(host_row)
        warnings.extend(host_warnings)
    vm_rows.sort(key=lambda row: row["name"])
    waves = _global_waves(host_plans, clock)
    makespan = max([plan.finish - start for plan in host_plans.values()] or [0.0])
    lower_bound = max([plan.lower_bound_s for plan in host_plans.values()] or [0.0])
    if window_end is not None and start + makespan > window_end:
        warnings.append(f"the plan ends at {format_time(start + makespan)}, after the target window ends at {format_time(window_end)}")
    deferred = sorted(name for plan in host_plans.values() for name in plan.deferred)
    if deferred:
        warnings.append(f"{len(deferred)} VM(s) do not fit the target window and are left for a later one: "
                        + ", ".join(deferred[:20]) + (" ..." if len(deferred) > 20 else ""))
    account_rows, account_warnings = storage_rows(request.accounts, planned.used, planned.assignment)
    warnings.extend(account_warnings)
    return {
        "start": clock.iso(start),
        "finish": clock.iso(start + makespan),
        "replication_interval": request.interval,
        "makespan_s": _seconds(makespan),
        "makespan_lower_bound_s": _seconds(lower_bound),
        "makespan_ratio": round(makespan / lower_bound, 4) if lower_bound > 0 else 1.0,
        "target_window": None if window_end is None else {
            "start": format_time(start), "end": format_time(window_end), "fits": start + makespan <= window_end},
        "totals": {"vms": len(request.vms), "hosts": len(host_plans), "waves": len(waves),
                   "bytes": sum(vm.total_bytes for vm in request.vms), "churn_bps": round(sum(vm.churn_bps for vm in request.vms), 3)},
        "waves": waves,
        "deferred_vms": deferred,
        "hosts": host_rows,
        "vms": vm_rows,
        "storage_accounts": account_rows,
        "warnings": warnings,
    }


def waves_for_replicate(plan: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The plan's waves as replicate.yml reads them: [{name, vms, hosts, start, finish}]."""
    return [{"name": wave["name"], "vms": wave["vms"], "hosts": wave["hosts"],
             "start": wave["start"], "finish": wave["finish"]} for wave in plan["waves"]]


def _global_waves(host_plans: t.Mapping[str, HostPlan], clock: _Clock) -> list[_Row]:
    """Wave k of the plan is every host's k-th wave."""
    waves = []
    count = max([len(plan.waves) for plan in host_plans.values()] or [0])
    names = sorted(host_plans)
    for index in range(count):
        parts = []
        # Hosts with fewer waves drop out, so later waves walk fewer hosts.
        names = [host for host in names if index < len(host_plans[host].waves)]
        for host in names:
            plan = host_plans[host]
            wave_start, finishes = plan.timed[index]
            parts.append({"host": host, "vms": sorted(finishes), "start_s": clock.offset(wave_start),
                          "finish_s": clock.offset(max(finishes.values())),
                          "bytes": sum(vm.total_bytes for vm in plan.waves[index])})
        start = min(part["start_s"] for part in parts)
        finish = max(part["finish_s"] for part in parts)
        waves.append({
            "name": _wave_name(index + 1),
            "hosts": [part["host"] for part in parts],
            "vms": sorted(vm for part in parts for vm in part["vms"]),
            "start_s": start, "finish_s": finish, "duration_s": _seconds(finish - start),
            "start": clock.iso(clock.start + start), "finish": clock.iso(clock.start + finish),
            "bytes": sum(part["bytes"] for part in parts),
            "host_parts": parts,
        })
    return waves


def _host_rows(host: HostSpec, plan: HostPlan, vms: list[VmSpec], assignment: t.Mapping[str, str], clock: _Clock,
               interval: int) -> tuple[list[_Row], _Row, list[str]]:
    """(the rows of the host's VMs, the host's row, their warnings in that order)."""
    rows, warnings = [], []
    for index, (wave_start, finishes) in enumerate(plan.timed, start=1):
        # What every VM of the wave shares is worked out once (a row per VM counts at 100,000 VMs).
        wave = (_wave_name(index), wave_start, clock.offset(wave_start), clock.iso(wave_start))
        for vm in plan.waves[index - 1]:
            rows.append(_vm_row(vm, host, wave, finishes[vm.name], assignment, clock, interval, warnings))
    deferred = set(plan.deferred)
    for vm in vms:
        if vm.name in deferred:
            rows.append(_vm_row(vm, host, None, None, assignment, clock, interval, warnings))
    host_row, host_warnings = _host_row(host, plan, vms, clock, interval)
    return rows, host_row, warnings + host_warnings


def _vm_row(vm: VmSpec, host: HostSpec, wave: tuple | None, finish: float | None, assignment: t.Mapping[str, str], clock: _Clock,
            interval: int, warnings: list[str]) -> _Row:
    """A VM's row (its warning, if any, added to ``warnings``, the list of this host's rows); ``wave`` is (name, start,
    start offset, start ISO) of its wave, None when deferred."""
    link = host.link
    floor = min(link.vm_cap_bps, link.min_rate())
    keeps_up = "always" if vm.churn_bps <= floor else "on_average"
    if keeps_up != "always":
        warnings.append(f"vm {vm.name}: churn {bandwidth.format_churn(vm.churn_bps)} is above the upload rate host {host.name} allows at its "
                        f"most throttled ({bandwidth.format_churn(floor)}); delta replication falls behind in work hours and catches up later")
    wave_name, start, start_s, start_iso = wave or (None, None, None, None)
    planned = wave is not None
    return {
        "name": vm.name, "host": vm.host, "wave": wave_name,
        "deferred": not planned,
        "bytes": vm.total_bytes, "disks": [disk.size_bytes for disk in vm.disks],
        "start_s": start_s, "finish_s": clock.offset(finish) if planned else None,
        "duration_s": _seconds(finish - start) if planned else None,
        "start": start_iso, "finish": clock.iso(finish) if planned else None,
        "storage_account": assignment[vm.name],
        "delta": {
            "churn_bps": round(vm.churn_bps, 3),
            "required_bps": round(model.delta_required_bps(vm.churn_bps, interval), 3),
            "bytes_per_interval": int(round(model.delta_bytes_per_interval(vm.churn_bps, interval))),
            "cap_bps": round(link.vm_cap_bps, 3),
            "keeps_up": keeps_up,
        },
    }


def _host_row(host: HostSpec, plan: HostPlan, vms: list[VmSpec], clock: _Clock, interval: int) -> tuple[_Row, list[str]]:
    link = host.link
    volumes = _volume_report(host, plan)
    warnings = _host_warnings(host, plan, volumes)
    delta = _delta_report(host, vms, interval)
    if delta["keeps_up"] != "always":
        warnings.append(f"host {host.name}: delta replication needs {bandwidth.format_churn(delta['required_bps'])} but the throttle allows "
                        f"{bandwidth.format_churn(delta['available_min_bps'])} at its lowest; the backlog peaks at "
                        f"{bandwidth.format_size(delta['backlog_peak_bytes'])} of .hrl logs")
    return {
        "name": host.name,
        "link_rate": bandwidth.format_link_rate(link.link_bps),
        "usable_bps": round(link.usable_link_bps, 3),
        "upload_threads": link.threads_per_vm,
        "upload_threads_given": host.threads_given,
        "recommended_upload_threads": host.recommended_threads,
        "vm_cap_bps": round(link.vm_cap_bps, 3),
        "max_vms_per_wave": plan.wave_size,
        "throttle": link.schedule.as_dict(),
        "recommended_throttle": _recommended_throttle(host, sum(vm.churn_bps for vm in vms)),
        "vm_count": len(vms),
        "bytes": plan.total_bytes,
        "delta_upload_bytes": int(round(plan.delta_bytes)),
        "waves": len(plan.waves),
        "makespan_s": _seconds(plan.finish - clock.start),
        "lower_bound_s": _seconds(plan.lower_bound_s),
        "largest_vm_bound_s": _seconds(plan.cap_bound_s),
        "largest_vms_bound_s": _seconds(plan.tail_bound_s),
        "lower_bound_reachable": plan.tail_bound_s <= plan.lower_bound_s * (1 + 1e-9),
        "finish": clock.iso(plan.finish),
        "delta": delta,
        "volumes": volumes,
    }, warnings


def _host_warnings(host: HostSpec, plan: HostPlan, volumes: list[_Row]) -> list[str]:
    link, warnings = host.link, []
    per_vm_cap = f"{link.threads_per_vm} UploadThreadsPerVM x {bandwidth.format_churn(link.per_thread_bps)}"
    if host.threads_given and link.threads_per_vm < host.recommended_threads:
        warnings.append(f"host {host.name}: UploadThreadsPerVM {link.threads_per_vm} caps each VM at {bandwidth.format_churn(link.vm_cap_bps)}, "
                        f"below the host rate; set {host.recommended_threads} so one VM can fill the link")
    for volume in volumes:
        if volume["ok"] is False:
            warnings.append(f"host {host.name} volume {volume['name']}: needs {bandwidth.format_size(volume['required_bytes'])} free at peak "
                            f"({volume['peak_wave']}; snapshot + logs of VMs in initial replication, 50 % of disks in delta replication) "
                            f"but has {bandwidth.format_size(volume['free_bytes'])}")
        elif volume["ok"] is None:
            warnings.append(f"host {host.name} volume {volume['name']}: free space unknown; log headroom not checked "
                            f"(needs {bandwidth.format_size(volume['required_bytes'])} at peak)")
    took = plan.finish - plan.first_start
    ratio = took / plan.lower_bound_s if plan.lower_bound_s > 0 else 1.0
    if ratio <= 1.1:
        return warnings
    if plan.cap_bound_s > plan.lower_bound_s:
        warnings.append(f"host {host.name}: its largest VM alone takes {plan.cap_bound_s / 3600:.1f} h at the per-VM cap ({per_vm_cap}), "
                        f"longer than the link needs for all its VMs and the delta uploads meanwhile ({plan.lower_bound_s / 3600:.1f} h); "
                        f"the waves take {took / 3600:.1f} h")
    elif plan.tail_bound_s > plan.lower_bound_s * (1 + 1e-9):
        warnings.append(f"host {host.name}: the waves take {(ratio - 1) * 100:.0f} % longer than its link allows: its largest VMs differ in "
                        f"size, so whatever the waves they finish one by one at the per-VM cap ({per_vm_cap}) with the link part idle "
                        f"(no plan can take less than {plan.tail_bound_s / 3600:.1f} h); the waves take {took / 3600:.1f} h")
    else:
        warnings.append(f"host {host.name}: the waves take {(ratio - 1) * 100:.0f} % longer than its link allows, since the VMs left at "
                        "the end of a wave are capped by UploadThreadsPerVM")
    return warnings


def _volume_report(host: HostSpec, plan: HostPlan) -> list[_Row]:
    """Peak log space per volume: IR space of the wave in flight plus delta space of earlier waves."""
    free = dict(host.volumes)
    report = []
    for volume in sorted(plan.volume_totals):
        done = 0
        peak, peak_wave = 0.0, 0
        for index, wave in enumerate(plan.waves, start=1):
            in_ir = sum(nbytes for vm in wave for vol, nbytes in vm.volume_bytes if vol == volume)
            need = model.ir_log_space_bytes(in_ir) + model.delta_log_space_bytes(done)
            if need > peak:
                peak, peak_wave = need, index
            done += in_ir
        # After the last wave every disk is in delta replication.
        steady = model.delta_log_space_bytes(done)
        if steady > peak:
            peak, peak_wave = steady, None
        entry = {"name": volume or "(unknown)", "disk_bytes": plan.volume_totals[volume],
                 "required_bytes": int(math.ceil(peak)), "peak_wave": _wave_name(peak_wave) if peak_wave else "delta"}
        if volume in free:
            entry.update({"free_bytes": free[volume], "headroom_bytes": int(free[volume] - math.ceil(peak)), "ok": peak <= free[volume]})
        else:
            entry.update({"free_bytes": None, "headroom_bytes": None, "ok": None})
        report.append(entry)
    return report


def _delta_report(host: HostSpec, vms: list[VmSpec], interval: int) -> _Row:
    link = host.link
    total_churn = sum(vm.churn_bps for vm in vms)
    caps_total = link.vm_cap_bps * max(1, len(vms))
    backlog = model.delta_backlog_peak(link, total_churn, 0.0, caps_total) if vms else 0.0
    min_rate = min(link.min_rate(), caps_total)
    return {
        "required_bps": round(model.delta_required_bps(total_churn, interval), 3),
        "bytes_per_interval": int(round(model.delta_bytes_per_interval(total_churn, interval))),
        "available_min_bps": round(min_rate, 3),
        "available_average_bps": round(link.average_rate(caps_total), 3),
        "keeps_up": "always" if total_churn <= min_rate else "on_average",
        "backlog_peak_bytes": int(math.ceil(backlog)),
    }


def _recommended_throttle(host: HostSpec, total_churn: float) -> _Row:
    """The throttle to set, in upload_throttle's options (rates in the agent's units), with the reason."""
    schedule = host.link.schedule
    if not schedule.enabled:
        return {"enabled": False, "reason": "no throttle: replication uses the link as needed"}
    delta_need = min(bandwidth.THROTTLE_MAX_BPS, max(bandwidth.THROTTLE_MIN_BPS, _round_up_mbps(total_churn * DELTA_THROTTLE_MARGIN)))
    work = max(schedule.work_bps, delta_need)
    link_rate = min(bandwidth.THROTTLE_MAX_BPS, _round_up_mbps(host.link.usable_link_bps))
    non_work = max(schedule.non_work_bps, link_rate)
    reasons = []
    if work > schedule.work_bps:
        reasons.append(f"work hours raised to {bandwidth.format_throttle_rate(work)} so delta replication keeps up "
                       f"(churn {bandwidth.format_churn(total_churn)} + {round((DELTA_THROTTLE_MARGIN - 1) * 100)} %)")
    if non_work > schedule.non_work_bps:
        reasons.append(f"non-work hours opened to {bandwidth.format_throttle_rate(non_work)} (the usable link) so initial replication "
                       "runs at full speed at night")
    return {
        "enabled": True,
        "work_days": list(schedule.work_days or ()),
        "work_hour_start": schedule.work_hour_start,
        "work_hour_end": schedule.work_hour_end,
        "work_hour_bandwidth": bandwidth.format_throttle_rate(work),
        "non_work_hour_bandwidth": bandwidth.format_throttle_rate(non_work),
        "reason": "; ".join(reasons) or "the current throttle already suits the plan",
    }


def _round_up_mbps(bytes_per_s: float) -> int:
    return int(math.ceil(bytes_per_s / bandwidth.MIB - 1e-9)) * bandwidth.MIB
