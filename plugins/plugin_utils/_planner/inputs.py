# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The planner's inputs: every adapter (CSV, YAML, host_info), the VMs, the accounts and the checks across them.

``read(request)`` turns the replication_plan module's options into a ``PlanRequest``, or raises ``PlanError``
naming the option, the value and what is allowed (hosts and throttles: ``hosts.py``; single values and the
specs: ``values.py``). Nothing is planned before every input has been read; the one check left to planning is
whether a VM fits a log storage account (``storage.py``).
"""

from __future__ import annotations

import csv
import io
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _mars, bandwidth
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.hosts import normalize_hosts
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.values import (
    DEFAULT_REPLICATION_INTERVAL,
    DEFAULT_START,
    Disk,
    HostSpec,
    PlanError,
    PlanRequest,
    VmSpec,
    disk_size,
    make_vm,
    mapping,
    parse_time,
    read_churn,
    read_size,
    require,
)


# --- adapters -------------------------------------------------------------------------------------

def vms_from_csv(text: str, source: str = "vms_file") -> list[dict[str, t.Any]]:
    """VM dicts from CSV with a header row: ``name,host,disks,churn[,volume]``.

    ``disks`` holds the disk sizes separated by ``;`` (e.g. ``127 GB;500 GB``); ``churn`` is a rate
    ("5 MB/s", "40 GB/day"); ``volume`` (optional) is the host volume of every disk of the VM.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in ("name", "host", "disks") if column not in (reader.fieldnames or [])]
    if missing:
        raise PlanError(f"{source}: CSV header lacks column(s) {', '.join(missing)}; expected name,host,disks,churn[,volume]")
    vms = []
    for row in reader:
        sizes = [size.strip() for size in (row.get("disks") or "").split(";") if size.strip()]
        # An empty churn cell is "not given": the VM takes default_churn, as a VM without churn does elsewhere.
        vm: dict[str, t.Any] = {"name": (row.get("name") or "").strip(), "host": (row.get("host") or "").strip(),
                                "churn": (row.get("churn") or "").strip() or None}
        volume = (row.get("volume") or "").strip()
        vm["disks"] = [{"size": size, "volume": volume} if volume else size for size in sizes]
        vms.append(vm)
    return vms


def vms_from_yaml_data(data: t.Any, source: str = "vms_file") -> list[t.Any]:
    """VM dicts from parsed YAML: a list of VMs, or a mapping with a ``vms`` list."""
    if isinstance(data, dict):
        data = data.get("vms")
    if not isinstance(data, list):
        raise PlanError(f'{source}: expected a list of VMs or a mapping with a "vms" list')
    return data


def hosts_from_host_info(results: t.Any) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
    """(hosts, vms) in the planner's input shape from host_info results.

    The one place that knows host_info's normalised return (``plugin_utils/host_facts.py``): each
    result has ``vms`` (``name``, ``disks`` with ``path`` and ``size_bytes``), ``volumes`` (``name``,
    ``free_bytes``), ``throttle`` (Get-OBMachineSetting values, each bandwidth as ``{bytes_per_second,
    kbps}``, or ``None``) and ``upload_threads``, and names its host in ``host`` or ``computer_name``.
    Churn is not measured by host_info; give it with ``vm_churn``/``default_churn``.
    """
    hosts, vms = [], []
    for index, result in enumerate(results or []):
        field = f"host_info[{index}]"
        if not isinstance(result, dict):
            raise PlanError(f"{field}: expected a host_info result (a mapping), got {type(result).__name__}")
        name = result.get("host") or result.get("inventory_hostname") or result.get("computer_name")
        if not name:
            raise PlanError(f"{field}: has none of host, inventory_hostname, computer_name")
        hosts.append({
            "name": name,
            "throttle_bytes": _host_info_throttle(result.get("throttle")),
            "upload_threads": _host_info_value(result.get("upload_threads")),
            "volumes": [{"name": volume.get("name"), "free": _bytes(volume.get("free_bytes"))}
                        for volume in result.get("volumes") or [] if volume.get("free_bytes") is not None],
        })
        for vm in result.get("vms") or []:
            vms.append({"name": vm.get("name"), "host": name,
                        "disks": [{"size": _bytes(disk.get("size_bytes")), "path": disk.get("path")} for disk in vm.get("disks") or []]})
    return hosts, vms


def _bytes(value: t.Any) -> t.Any:
    """host_info counts bytes; say so, since the planner reads a bare number as a missing unit."""
    return f"{value} B" if isinstance(value, int) and not isinstance(value, bool) else value


def _host_info_value(value: t.Any, key: str = "value") -> t.Any:
    """host_info wraps some numbers as {value: ..., configured: ...} or {bytes_per_second: ..., kbps: ...}."""
    return value.get(key) if isinstance(value, dict) else value


def _host_info_throttle(throttle: t.Any) -> dict[str, t.Any] | None:
    """host_info's throttle in the Get-OBMachineSetting shape ThrottleSchedule.from_host_settings reads."""
    if not throttle:
        return None
    settings = dict(throttle)
    for key in ("work_hour_bandwidth", "non_work_hour_bandwidth"):
        settings[key] = _host_info_value(throttle.get(key), "bytes_per_second")
    for key, default in (("work_hour_start", "08:00:00"), ("work_hour_end", "18:00:00")):
        settings[key] = throttle.get(key) or default
    return settings


# --- VMs ------------------------------------------------------------------------------------------

def _volume_of(path: str, volumes: t.Iterable[tuple[str, t.Any]]) -> str:
    """The host volume holding ``path`` (CSV volumes too); a path on a drive no volume names is on that drive's root."""
    holder = _mars.volume_for_path(path, [name for name, _free in volumes])
    folded = str(path)
    if holder is None and len(folded) >= 2 and folded[1] == ":":
        holder = folded[:2].upper() + "\\"
    return holder or ""


def _normalize_disks(raw_disks: t.Any, field: str, volumes: t.Iterable[tuple[str, t.Any]]) -> tuple[Disk, ...]:
    if not isinstance(raw_disks, list) or not raw_disks:
        raise PlanError(f'{field}: a VM needs a non-empty list of disks (sizes such as "127 GB")')
    disks = []
    for position, raw_disk in enumerate(raw_disks):
        disk_field = f"{field}[{position}]"
        if isinstance(raw_disk, dict):
            size = disk_size(require(raw_disk, "size", disk_field), disk_field + ".size")
            volume = raw_disk.get("volume") or (_volume_of(raw_disk["path"], volumes) if raw_disk.get("path") else "")
        else:
            size = disk_size(raw_disk, disk_field)
            volume = ""
        disks.append(Disk(size_bytes=size, volume=str(volume)))
    return tuple(disks)


def normalize_vms(raw_vms: t.Iterable[t.Any], host_volumes: t.Mapping[str, t.Any], vm_churn: t.Any = None, default_churn: t.Any = 0) -> list[VmSpec]:
    """VmSpecs sorted by name. ``host_volumes``: {host: ((volume, free), ...)} to place disks by path.

    ``vm_churn`` ({name: churn}) overrides a VM's own churn; ``default_churn`` is for VMs that give none.
    Each is read once and named in its own words when wrong.
    """
    churn_overrides = mapping(vm_churn, "vm_churn", "VM names and their churn") if vm_churn is not None else {}
    override_bps = {name: read_churn(value, f"vm_churn.{name}") for name, value in sorted(churn_overrides.items(), key=lambda item: str(item[0]))}
    default_given = 0 if default_churn is None else default_churn
    default_bps = read_churn(default_given, "default_churn")
    vms, seen = [], {}
    for index, raw_vm in enumerate(raw_vms):
        field = f"vms[{index}]"
        if not isinstance(raw_vm, dict):
            raise PlanError(f"{field}: expected a mapping with name, host, disks and churn")
        name = str(require(raw_vm, "name", field))
        field = f"{field} ({name})"
        if name in seen:
            raise PlanError(f"{field}: VM name is also used by {seen[name]}; VM names must be unique")
        seen[name] = field
        host = str(require(raw_vm, "host", field))
        if name in override_bps:
            churn, churn_given = override_bps[name], churn_overrides[name]
        elif raw_vm.get("churn") is not None:
            churn_given = raw_vm["churn"]
            churn = read_churn(churn_given, field + ".churn")
        else:
            churn, churn_given = default_bps, default_given
        disks = _normalize_disks(raw_vm.get("disks"), field + ".disks", host_volumes.get(host, ()))
        vms.append(make_vm(name, host, disks, churn, churn_given))
    unknown = sorted(set(churn_overrides) - set(seen))
    if unknown:
        raise PlanError(f"vm_churn: names VMs that are not in the plan: {', '.join(unknown)}")
    return sorted(vms, key=lambda vm: vm.name)


# --- storage accounts -----------------------------------------------------------------------------

def normalize_storage_accounts(accounts: t.Any, count: t.Any, capacity: t.Any) -> list[tuple[str, int]]:
    """[(name, capacity_bytes)] sorted by name, from a list of accounts or a count and a capacity."""
    if accounts:
        result = []
        for index, account in enumerate(accounts):
            field = f"storage_accounts[{index}]"
            mapping(account, field, "name and capacity")
            name = str(require(account, "name", field))
            result.append((name, _capacity(require(account, "capacity", field), field + ".capacity")))
        names = [name for name, _capacity_bytes in result]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise PlanError(f"storage_accounts: names must be unique; repeated: {', '.join(duplicates)}")
        return sorted(result)
    if count is None or isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise PlanError(f"storage_account_count: {count!r}; the plan needs at least one log storage account "
                        "(give storage_accounts, or storage_account_count >= 1 with storage_account_capacity)")
    if capacity is None:
        raise PlanError('storage_account_capacity is required with storage_account_count, e.g. "5 TB"')
    capacity_bytes = _capacity(capacity, "storage_account_capacity")
    return [(f"logstorage{number:02d}", capacity_bytes) for number in range(1, count + 1)]


def _capacity(value: t.Any, field: str) -> int:
    capacity = read_size(value, field)
    if capacity <= 0:
        raise PlanError(f"{field}: {value!r} must be above zero; an account that holds nothing takes no VM")
    return capacity


# --- checks across inputs -------------------------------------------------------------------------

def _check_vms_against_hosts(vms: t.Iterable[VmSpec], hosts: t.Mapping[str, HostSpec]) -> None:
    known = ", ".join(hosts) or "none"
    for vm in vms:
        if vm.host not in hosts:
            raise PlanError(f"vms ({vm.name}): host {vm.host!r} is not a known host; known hosts: {known}")


def _as_given(given: t.Any, computed: str) -> str:
    """A value as the user wrote it, with what the plan read when that differs ("40 GB/day (0.46 MB/s)")."""
    if given is None or str(given) == computed:
        return computed
    return f"{given} ({computed})"


def _check_churn(vms_by_host: t.Mapping[str, list[VmSpec]], hosts: t.Mapping[str, HostSpec]) -> None:
    """Fail when churn can never be uploaded: above a VM's cap or above the host's weekly average."""
    for name, vms in vms_by_host.items():
        link = hosts[name].link
        average = link.average_rate()
        for vm in vms:
            limit = min(link.vm_cap_bps, average)
            if vm.churn_bps > limit:
                reason = (f"the VM cap of {link.threads_per_vm} UploadThreadsPerVM x {bandwidth.format_churn(link.per_thread_bps)}"
                          if link.vm_cap_bps < average else f"the average usable upload bandwidth of host {name}")
                raise PlanError(f"vms ({vm.name}): churn {_as_given(vm.churn_given, bandwidth.format_churn(vm.churn_bps))} is above {reason} "
                                f"({bandwidth.format_churn(limit)}); delta replication could never keep up")
        total_churn = sum(vm.churn_bps for vm in vms)
        if total_churn > average:
            raise PlanError(f"hosts ({name}): the VMs on this host churn {bandwidth.format_churn(total_churn)} in total, above its average "
                            f"usable upload bandwidth {bandwidth.format_churn(average)} (link x efficiency, throttle schedule); "
                            "delta replication could never keep up")


# --- the request ----------------------------------------------------------------------------------

def _plan_start(request: t.Mapping[str, t.Any]) -> tuple[float, bool, float | None]:
    window = request.get("target_window")
    if window:
        start = parse_time(require(window, "start", "target_window"), "target_window.start")
        end = parse_time(require(window, "end", "target_window"), "target_window.end")
        if end <= start:
            raise PlanError(f"target_window: end {window['end']} must be after start {window['start']}")
        return start, True, end
    if request.get("start_time"):
        return parse_time(request["start_time"], "start_time"), True, None
    return DEFAULT_START, False, None


def _replication_interval(value: t.Any) -> int:
    interval = DEFAULT_REPLICATION_INTERVAL if value is None else value
    if isinstance(interval, bool) or interval not in model.REPLICATION_INTERVALS:
        raise PlanError(f"replication_interval: {interval!r} is not one of {', '.join(map(str, model.REPLICATION_INTERVALS))} seconds")
    return interval


def read(request: t.Mapping[str, t.Any]) -> PlanRequest:
    """Every input of a plan (the replication_plan module's options as a dict): vms/vms_file data and/or host_info, plus hosts."""
    interval = _replication_interval(request.get("replication_interval"))
    start, absolute, window_end = _plan_start(request)
    info_hosts, info_vms = hosts_from_host_info(request.get("host_info"))
    raw_hosts = info_hosts + list(request.get("hosts") or [])
    raw_vms = info_vms + list(request.get("vms") or [])
    if not raw_vms:
        raise PlanError("vms: no VMs to plan; give vms, vms_file or host_info")
    host_volumes = {}
    for raw_host in raw_hosts:
        if isinstance(raw_host, dict) and raw_host.get("name") and raw_host.get("volumes"):
            host_volumes[str(raw_host["name"])] = tuple((str(volume.get("name")), 0) for volume in raw_host["volumes"] if isinstance(volume, dict))
    vms = normalize_vms(raw_vms, host_volumes, request.get("vm_churn"), request.get("default_churn"))
    max_churn: dict[str, float] = {}
    for vm in vms:
        max_churn[vm.host] = max(max_churn.get(vm.host, 0.0), vm.churn_bps)
    used_aliases: list[str] = []
    hosts = normalize_hosts(raw_hosts, max_churn, request, used_aliases)
    accounts = normalize_storage_accounts(request.get("storage_accounts"), request.get("storage_account_count"),
                                          request.get("storage_account_capacity"))
    _check_vms_against_hosts(vms, hosts)
    vms_by_host: dict[str, list[VmSpec]] = {name: [] for name in hosts}
    for vm in vms:
        vms_by_host[vm.host].append(vm)
    _check_churn(vms_by_host, hosts)
    return PlanRequest(start=start, absolute=absolute, window_end=window_end, interval=interval, vms=vms, hosts=hosts,
                       vms_by_host=vms_by_host, accounts=accounts, deprecated_keys=tuple(sorted(set(used_aliases))))
