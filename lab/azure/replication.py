"""The world link of replication: bytes moving from a Hyper-V host to Azure on the lab clock.

Rates come from the collection's one model of bytes and rates,
plugins/module_utils/replication_model.py (imported from the collection, no second model here): the
host's usable rate at an instant is min(link x efficiency, its MARS throttle schedule for work
or non-work hours), each VM is capped at UploadThreadsPerVM x per-thread rate, and the VMs
replicating from one host share its rate by water-filling - those in initial replication and
those uploading their logs alike (`advance_replication`, which the planner's waves run on too).

What moves (Microsoft Learn: learn.microsoft.com/azure/migrate/hyper-v-migration-architecture and
learn.microsoft.com/azure/site-recovery/hyper-v-azure-troubleshoot):
- initial replication sends every disk once; the VM's writes meanwhile go to .hrl logs beside
  its disks; after IR the log is the delta backlog, uploaded continuously over the host's link
  while other VMs of the host may still be in initial replication;
- the RPO is the replication interval plus the time the backlog needs at the VM's share;
- the log takes space on the disk's volume: when a volume runs out, replication of the VMs
  whose logs live there pauses, the host shows WaitingForStartResynchronize ("Resynchronization
  required"; that this enum value is the UI's text is an assumption) with health Critical, and the
  item's replication health turns Critical until a resynchronisation (repairReplication).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from functools import lru_cache
from pathlib import PureWindowsPath

from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model

from lab.azure import ids
from lab.azure.state import AzureCloud, ProtectedItem, RecoveryPoint
from lab.hosts.state import MARS_REPLICATION_KEY, HostState, VirtualMachine

log = logging.getLogger(__name__)

DEFAULT_LINK_BPS = 1_000_000_000 / 8     # a 1 Gbit/s WAN link unless the world says otherwise
DEFAULT_CHURN_BPS = 64 * 1024            # 64 KiB/s of writes (about 5.4 GB a day) unless set
MAX_STEP_S = 60.0                        # lab seconds per step: churn and RPO are sampled this often
MAX_CATCH_UP_S = 14 * 86400              # a clock jump further than this is not replayed
# At most this many splits of one step where items start: each split costs a pass over every active item, so
# thousands of items starting within one step (a vault of 10,000 VMs being enabled) would make a step quadratic.
# An item starting between two kept splits gets its first bytes from the next one: late by less than a step,
# never early.
MAX_SPLITS_PER_STEP = 16
POINT_EVERY_S = 3600                     # one crash-consistent recovery point an hour (inference)
VOLUME_FULL_ERROR = "HyperVReplicationPausedLowDiskSpace"


def model():
    """The collection's replication model (one model of bytes and rates for the planner and the lab)."""
    return replication_model


# --- inputs read from the world ---

def host_link(cloud: AzureCloud, host: HostState):
    m = model()
    try:
        schedule = m.ThrottleSchedule.from_host_settings(host.mars_settings.get("throttle"))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("host %s: unreadable throttle settings %r (%s); treating as unthrottled",
                    host.name, host.mars_settings.get("throttle"), exc)
        schedule = m.ThrottleSchedule.unthrottled()
    threads = host.registry.get_value(MARS_REPLICATION_KEY, "UploadThreadsPerVM")
    if not isinstance(threads, int) or not m.MIN_UPLOAD_THREADS <= threads <= m.MAX_UPLOAD_THREADS:
        threads = m.DEFAULT_UPLOAD_THREADS      # absent or out of range: the agent's default (KB 3056159)
    link = getattr(host, "link_bps", None) or cloud.link_bps.get(host.name.lower(), DEFAULT_LINK_BPS)
    return m.HostLink(link_bps=float(link), schedule=schedule, threads_per_vm=threads)


def churn_bps(cloud: AzureCloud, vm: VirtualMachine) -> float:
    if vm.state != "Running":
        return 0.0                              # a VM that is off writes nothing
    return float(getattr(vm, "churn_bps", None) or cloud.churn_bps.get(vm.id.lower(), DEFAULT_CHURN_BPS))


def _interval(cloud: AzureCloud, item: ProtectedItem) -> int:
    for vault in cloud.vaults.values():
        policy = vault.policies.get(item.policy_name.lower())
        if policy is not None:
            return policy.interval_s
    return 300


def _policy(cloud: AzureCloud, item: ProtectedItem):
    return next((v.policies[item.policy_name.lower()] for v in cloud.vaults.values()
                 if item.policy_name.lower() in v.policies), None)


# --- what protected_items.py calls ---

def _start(item: ProtectedItem, at: dt.datetime) -> None:
    item.replicating = True
    item.replicating_since = at.timestamp()   # the job's event time: steps count bytes from here on


def start_initial(cloud: AzureCloud, item: ProtectedItem, vm: VirtualMachine, at: dt.datetime) -> None:
    item.ir_total_bytes = float(sum(disk.size_bytes for disk in vm.disks))
    item.ir_remaining_bytes = item.ir_total_bytes
    _start(item, at)


def resume(cloud: AzureCloud, item: ProtectedItem, vm: VirtualMachine | None, at: dt.datetime) -> None:
    if item.ir_done or item.ir_remaining_bytes > 0:
        _start(item, at)
    if vm is not None and vm.replication is not None:
        vm.replication.state = "Replicating" if item.ir_done else "InitialReplicationInProgress"


def stop(cloud: AzureCloud, item: ProtectedItem, vm: VirtualMachine | None, delete_seed: bool) -> None:
    """Replication ends: the logs go (their space comes back) and, when asked, the seed disks."""
    item.replicating = False
    host = _host(cloud, item)
    if host is not None and vm is not None:
        _set_log(host, vm, item, 0.0)
    if delete_seed:
        for disk_id in item.seed_disks.values():
            cloud.delete(disk_id)
        item.seed_disks.clear()


def forget(cloud: AzureCloud, item: ProtectedItem) -> None:
    """Purge: the service forgets the item; the host keeps its replication state and logs."""
    item.replicating = False


def final_sync_seconds(cloud: AzureCloud, item: ProtectedItem) -> float:
    host = _host(cloud, item)
    if host is None or item.backlog_bytes <= 0:
        return 0.0
    link = host_link(cloud, host)
    sharing = max(1, sum(1 for i in _active_items(cloud) if i[0].host.lower() == item.host.lower()))
    rate = min(link.vm_cap_bps, link.rate_at(cloud.now().timestamp()) / sharing)
    return item.backlog_bytes / rate if rate > 0 else math.inf


def final_sync(cloud: AzureCloud, item: ProtectedItem) -> RecoveryPoint:
    """The last delta after the source VM shut down: the backlog is sent, a point is taken."""
    host = _host(cloud, item)
    vm = host.vm(item.vm_name) if host else None
    item.backlog_bytes = 0.0
    if host is not None and vm is not None:
        _set_log(host, vm, item, 0.0)
    now = cloud.now()
    item.last_replicated = now
    return _add_point(item, now, "CrashConsistent")


def latest_point(cloud: AzureCloud, item: ProtectedItem) -> RecoveryPoint:
    return item.recovery_points[-1] if item.recovery_points else _add_point(item, cloud.now(), "CrashConsistent")


def resynchronize(cloud: AzureCloud, item: ProtectedItem, vm: VirtualMachine | None, at: dt.datetime) -> None:
    """repairReplication: drop the log, send the blocks that differ (the log's worth), resume."""
    host = _host(cloud, item)
    item.resync_bytes = item.log_bytes
    item.backlog_bytes = 0.0
    if host is not None and vm is not None:
        _set_log(host, vm, item, 0.0)
        if vm.replication is not None:
            vm.replication.state, vm.replication.health = "Resynchronizing", "Normal"
    item.paused_reason = None
    item.replication_health = "Normal"
    item.health_errors = [e for e in item.health_errors if e.get("errorCode") != VOLUME_FULL_ERROR]
    _start(item, at)


# --- the clock moves ---

def tick(cloud: AzureCloud, now: dt.datetime) -> None:
    t1 = now.timestamp()
    t0 = cloud.replication_t if cloud.replication_t is not None else t1
    cloud.replication_t = t1
    t0 = max(t0, t1 - MAX_CATCH_UP_S)
    while t0 < t1:
        step_end = min(t1, t0 + MAX_STEP_S)
        _step(cloud, t0, step_end)
        t0 = step_end


def _active_items(cloud: AzureCloud) -> list[tuple[ProtectedItem, HostState, VirtualMachine]]:
    out = []
    vms_by_host: dict[str, dict[str, VirtualMachine]] = {}   # one index per host, not one scan of its VMs per item
    for dummy, dummy, item in cloud.protected_items():
        if not item.replicating or not cloud.hosts.has_host(item.host):
            continue
        host = cloud.hosts.host(item.host)
        vms = vms_by_host.get(host.name.lower())
        if vms is None:
            vms = vms_by_host[host.name.lower()] = {}
            for candidate in host.vms:   # the first VM with an id wins, as a scan would find it
                vms.setdefault(candidate.id.lower(), candidate)
        vm = vms.get(item.vm_id.lower())
        if vm is not None:
            out.append((item, host, vm))
    return out


def _step(cloud: AzureCloud, t0: float, t1: float) -> None:
    """Move [t0, t1); split where an item starts, so no item gets bytes from before its start."""
    active = _active_items(cloud)
    cuts = sorted({entry[0].replicating_since for entry in active if t0 < entry[0].replicating_since < t1})
    if len(cuts) > MAX_SPLITS_PER_STEP:
        stride = math.ceil(len(cuts) / MAX_SPLITS_PER_STEP)
        cuts = cuts[stride - 1::stride]
    for start, end in zip([t0, *cuts], [*cuts, t1]):
        by_host: dict[str, list[tuple[ProtectedItem, HostState, VirtualMachine]]] = {}
        for entry in active:
            if entry[0].replicating_since <= start:
                by_host.setdefault(entry[1].name.lower(), []).append(entry)
        for entries in by_host.values():
            _step_host(cloud, entries, start, end)


def _step_host(cloud: AzureCloud, entries, t0: float, t1: float) -> None:
    """Move one host's items over [t0, t1) with the model's `advance_replication`: initial replication
    (or a resync) and the delta uploads of the items past it share the host; writes land in the .hrl
    logs meanwhile. A paused item neither sends nor tracks writes."""
    host = entries[0][1]
    link = host_link(cloud, host)
    initial: dict[str, float] = {}
    backlog: dict[str, float] = {}
    churn: dict[str, float] = {}
    sending: dict[str, tuple[ProtectedItem, VirtualMachine, str]] = {}
    for item, _host_, vm in entries:
        if item.paused_reason:
            continue
        if not item.ir_done:
            phase = "ir"
            initial[item.name] = item.ir_remaining_bytes
        elif item.resync_bytes > 0:
            phase = "resync"
            initial[item.name] = item.resync_bytes
        else:
            phase = "delta"
        backlog[item.name] = item.backlog_bytes
        churn[item.name] = churn_bps(cloud, vm)
        sending[item.name] = (item, vm, phase)
    if not sending:
        return
    step = model().advance_replication(link, t0, t1, initial, backlog, churn)
    for name, (item, vm, phase) in sending.items():
        left = step.initial.get(name, 0.0)
        item.backlog_bytes = step.backlog[name]
        if phase == "ir":
            item.ir_remaining_bytes = left
            if name in step.finished:
                _initial_replication_done(cloud, item, vm, step.finished[name])
        elif phase == "resync":
            item.resync_bytes = left
            if name in step.finished and vm.replication is not None:
                vm.replication.state = "Replicating"
        else:
            _delta_progress(cloud, item, vm, step.delta_sent[name], t0, t1)
    for item, _host_, vm in entries:
        if not item.paused_reason:
            _set_log(host, vm, item, item.backlog_bytes)


def _initial_replication_done(cloud: AzureCloud, item: ProtectedItem, vm: VirtualMachine, at: float) -> None:
    moment = dt.datetime.fromtimestamp(at, dt.timezone.utc)
    item.ir_done = True
    item.ir_remaining_bytes = 0.0
    item.protection_state, item.protection_description = "Protected", "Protected"
    item.last_replicated = item.last_rpo_calculated = moment
    item.rpo_seconds = _interval(cloud, item)
    if vm.replication is not None:
        vm.replication.state = "Replicating"
    _add_point(item, moment, "ApplicationConsistent")
    item.last_app_point_at = moment


def _delta_progress(cloud: AzureCloud, item: ProtectedItem, vm: VirtualMachine, sent: float, t0: float, t1: float) -> None:
    interval = _interval(cloud, item)
    churn = churn_bps(cloud, vm)
    moment = dt.datetime.fromtimestamp(t1, dt.timezone.utc)
    if item.backlog_bytes <= churn * interval + 1:
        item.last_replicated = moment      # the current cycle is uploaded: the replica is one interval behind
    rate = sent / (t1 - t0) if t1 > t0 else 0.0
    lag = item.backlog_bytes / rate if rate > 0 else (0.0 if item.backlog_bytes <= 0 else (t1 - item.last_replicated.timestamp()))
    item.rpo_seconds = int(interval + lag)
    item.last_rpo_calculated = moment
    policy = _policy(cloud, item)
    if item.last_point_at is None or (moment - item.last_point_at).total_seconds() >= POINT_EVERY_S:
        app_hours = policy.app_consistent_hours if policy else 0
        app_due = app_hours and (item.last_app_point_at is None or
                                 (moment - item.last_app_point_at).total_seconds() >= app_hours * 3600)
        _add_point(item, item.last_replicated, "ApplicationConsistent" if app_due else "CrashConsistent")
        if app_due:
            item.last_app_point_at = moment
    keep_s = (policy.history_hours if policy else 24) * 3600
    if len(item.recovery_points) > 1:
        item.recovery_points = [p for p in item.recovery_points[:-1] if (moment - p.time).total_seconds() <= keep_s] \
            + item.recovery_points[-1:]


def _add_point(item: ProtectedItem, moment: dt.datetime, kind: str) -> RecoveryPoint:
    point = RecoveryPoint(ids.new_guid(), moment, kind)
    item.recovery_points.append(point)
    item.last_point_at = moment
    return point


# --- logs on the host's volumes ---

def _host(cloud: AzureCloud, item: ProtectedItem) -> HostState | None:
    return cloud.hosts.host(item.host) if cloud.hosts.has_host(item.host) else None


@lru_cache(maxsize=None)
def _log_path(disk_path: str) -> str:
    path = PureWindowsPath(disk_path)
    return str(path.with_name(path.stem + ".hrl"))


def _set_log(host: HostState, vm: VirtualMachine, item: ProtectedItem, total: float) -> None:
    """Make the VM's .hrl files hold `total` bytes, split by disk size, taking the space from
    their volumes; a volume that runs out pauses the item (module docstring)."""
    disk_bytes = sum(d.size_bytes for d in vm.disks) or 1
    full_volume = None
    for disk in vm.disks:
        share = total * disk.size_bytes / disk_bytes
        path = _log_path(disk.path)
        entry = host.file(path)
        before = entry.size if entry else 0
        volume = host.volume_for(disk.path)
        grow = share - before
        if volume is not None and grow > volume.free_bytes:
            grow = volume.free_bytes
            full_volume = volume
        if volume is not None:
            volume.free_bytes -= int(grow)
        size = int(before + grow)
        if size > 0:
            if entry is None:
                entry = host.write_file(path, b"")
                entry.content = None
            entry.size = size
        elif entry is not None:
            host.remove_path(path)
    item.log_bytes = float(sum(f.size for f in (host.file(_log_path(d.path)) for d in vm.disks) if f))
    if full_volume is not None:
        _pause_for_full_volume(item, vm, full_volume.name)


def _pause_for_full_volume(item: ProtectedItem, vm: VirtualMachine, volume: str) -> None:
    if item.paused_reason:
        return
    item.paused_reason = "VolumeFull"
    item.replication_health = "Critical"
    if vm.replication is not None:
        vm.replication.state, vm.replication.health = "WaitingForStartResynchronize", "Critical"
    item.health_errors.append({
        "innerHealthErrors": [], "errorSource": "HyperVReplicaAzure", "errorType": None, "errorLevel": "Error",
        "errorCategory": "Replication", "errorCode": VOLUME_FULL_ERROR,
        "summaryMessage": "Replication is paused: the host is out of disk space for replication logs.",
        "errorMessage": f"Volume {volume} on the Hyper-V host has no free space left for the replication log of "
                        f"virtual machine '{vm.name}'. Replication is paused and resynchronization is required.",
        "possibleCauses": "Replication logs (.hrl) grow while upload can't keep up with the virtual machine's writes.",
        "recommendedAction": "Free space on the volume, then resynchronize the virtual machine.",
        "creationTimeUtc": None, "recoveryProviderErrorMessage": None, "entityId": item.vm_id,
        "errorId": ids.new_guid(), "customerResolvability": "Allowed"})
    # Writes are no longer tracked once the log cannot grow: that is why a resync is needed.
    item.backlog_bytes = item.log_bytes
