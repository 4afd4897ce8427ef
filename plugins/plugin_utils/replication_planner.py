# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity and wave planning for replicating a Hyper-V estate to Azure (the replication_plan action).

Pure computation: no network, no clock, no randomness. The same request always gives the same plan
(VMs, hosts and accounts are sorted by name before anything else and every tie breaks by name), so
the slices of an AWX job that each plan the whole estate agree.

It lives in ``plugin_utils`` because only the controller runs it (the replication_plan action plugin
and the tests); the byte and rate model it builds on is ``module_utils/replication_model.py``, and
the units are ``module_utils/bandwidth.py``.

How a plan is made, per host (hosts upload independently, so each host is planned on its own):

1. VMs are ordered largest first (ties by name), the longest-processing-time order.
2. They are cut into waves of at most ``max_vms_per_wave`` VMs; a wave also closes when the next
   VM's disks would not fit the log space left on a volume (see ``_volume_ir_budget``). The wave
   size is the one with the shortest simulated makespan (ties: fewer waves) from the fewest VMs
   whose per-VM caps (UploadThreadsPerVM x per-thread rate) fill the host's peak rate up to the
   limit (``_plan_waves``). With a target window, the VMs that do not fit are deferred.
3. A host's wave k starts when its wave k-1 has finished; the VMs of a wave share the host rate by
   water-filling on the throttle schedule with the delta replication of the host's VMs that have
   finished initial replication, in this wave or an earlier one: each uploads the log it wrote
   during initial replication, then its churn (``replication_model.simulate_waves``).

Wave k of the plan is every host's k-th wave. Hosts do not wait for each other.
"""

import calendar
import csv
import datetime
import functools
import gc
import heapq
import io
import math
import time
from dataclasses import dataclass

from ansible_collections.azmigrate.hyperv.plugins.module_utils import bandwidth
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model

#: Replicate wizard limit of Azure Migrate: 10 VMs per replicate operation (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v).
DEFAULT_MAX_VMS_PER_WAVE = 10
DEFAULT_REPLICATION_INTERVAL = 300
DEFAULT_WORK_DAYS = ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday')
#: Work-hours throttle headroom over the host's total churn, so delta replication keeps up in
#: business hours with a margin for bursts.
DELTA_THROTTLE_MARGIN = 1.25
#: Share of a storage account's capacity above which the plan warns.
STORAGE_WARN_UTILISATION = 0.9
#: Largest virtual disk Hyper-V has: a VHDX holds up to 64 TB (learn.microsoft.com, "Hyper-V Virtual Hard
#: Disk Format Overview"); a VHD holds less, so this bound lets no real disk through that cannot exist.
MAX_DISK_BYTES = 64 * bandwidth.TIB


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
    disks: tuple
    churn_bps: float
    total_bytes: int
    volume_bytes: tuple       # ((volume, bytes), ...) sorted by volume name
    churn_given: object = None  # the churn as the user wrote it, for messages

    def bytes_by_volume(self):
        return self.volume_bytes


def make_vm(name, host, disks, churn_bps, churn_given=None):
    """A VmSpec with its totals computed (the planner reads them many times)."""
    totals = {}
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
    volumes: tuple            # ((name, free_bytes), ...) sorted by name
    threads_given: bool
    recommended_threads: int
    max_vms_per_wave: int


# --------------------------------------------------------------------------------------------------
# Reading inputs
# --------------------------------------------------------------------------------------------------

def _parse(parser, value, field):
    try:
        return parser(value)
    except ValueError as error:
        raise PlanError('%s: %s' % (field, error)) from None


# Every size, churn and rate the planner reads needs its unit (zero excepted): a bare "100" could be
# bits or bytes, Kbps or bytes per second, and a wrong guess gives a plan that looks fine and is not.

def _size(value, field):
    return _parse(_parse_size_once, value, field)


def _churn(value, field):
    return _parse(_parse_churn_once, value, field)


# An estate repeats a few spellings ("127 GB") over thousands of disks: each is parsed once.
# typed=True keeps True apart from 1 (a bool is refused, 1 is not).
@functools.lru_cache(maxsize=4096, typed=True)
def _parse_size_cached(value):
    return bandwidth.parse_size(value, unit_required=True)


@functools.lru_cache(maxsize=4096, typed=True)
def _parse_churn_cached(value):
    return bandwidth.parse_churn(value, unit_required=True)


def _parse_size_once(value):
    return _parse_size_cached(value) if isinstance(value, str) else bandwidth.parse_size(value, unit_required=True)


def _parse_churn_once(value):
    return _parse_churn_cached(value) if isinstance(value, str) else bandwidth.parse_churn(value, unit_required=True)


def _disk_size(value, field):
    size = _size(value, field)
    if size <= 0:
        raise PlanError('%s: size %r must be above zero; a disk of 0 bytes has nothing to replicate' % (field, value))
    if size > MAX_DISK_BYTES:
        raise PlanError('%s: size %r is above %s, the largest virtual disk Hyper-V has (VHDX)'
                        % (field, value, bandwidth.format_size(MAX_DISK_BYTES)))
    return size


def _whole_number(value, field, minimum, meaning=''):
    """An int of at least ``minimum`` (``None`` is the caller's default, not 0); bools are refused."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlanError('%s: %r is not allowed; give a whole number of at least %d%s' % (field, value, minimum, meaning))
    return value


def _mapping(value, field, expected):
    if not isinstance(value, dict):
        raise PlanError('%s: expected a mapping with %s, got %r' % (field, expected, value))
    return value


def _require(item, key, field):
    value = item.get(key)
    if value is None or value == '':
        raise PlanError('%s.%s is required' % (field, key))
    return value


def vms_from_csv(text, source='vms_file'):
    """VM dicts from CSV with a header row: ``name,host,disks,churn[,volume]``.

    ``disks`` holds the disk sizes separated by ``;`` (e.g. ``127 GB;500 GB``); ``churn`` is a rate
    ("5 MB/s", "40 GB/day"); ``volume`` (optional) is the host volume of every disk of the VM.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in ('name', 'host', 'disks') if column not in (reader.fieldnames or [])]
    if missing:
        raise PlanError('%s: CSV header lacks column(s) %s; expected name,host,disks,churn[,volume]'
                        % (source, ', '.join(missing)))
    vms = []
    for row in reader:
        sizes = [size.strip() for size in (row.get('disks') or '').split(';') if size.strip()]
        # An empty churn cell is "not given": the VM takes default_churn, as a VM without churn does elsewhere.
        vm = {'name': (row.get('name') or '').strip(), 'host': (row.get('host') or '').strip(),
              'churn': (row.get('churn') or '').strip() or None}
        volume = (row.get('volume') or '').strip()
        vm['disks'] = [{'size': size, 'volume': volume} if volume else size for size in sizes]
        vms.append(vm)
    return vms


def vms_from_yaml_data(data, source='vms_file'):
    """VM dicts from parsed YAML: a list of VMs, or a mapping with a ``vms`` list."""
    if isinstance(data, dict):
        data = data.get('vms')
    if not isinstance(data, list):
        raise PlanError('%s: expected a list of VMs or a mapping with a "vms" list' % source)
    return data


def hosts_from_host_info(results):
    """(hosts, vms) in the planner's input shape from host_info results.

    The one place that knows host_info's normalised return (``plugin_utils/host_facts.py``): each
    result has ``vms`` (``name``, ``disks`` with ``path`` and ``size_bytes``), ``volumes`` (``name``,
    ``free_bytes``), ``throttle`` (Get-OBMachineSetting values in bytes/s, or ``None``) and
    ``upload_threads``, and names its host in ``host`` or ``computer_name``. Churn is not measured
    by host_info; give it with ``vm_churn``/``default_churn``.
    """
    hosts, vms = [], []
    for index, result in enumerate(results or []):
        field = 'host_info[%d]' % index
        if not isinstance(result, dict):
            raise PlanError('%s: expected a host_info result (a mapping), got %s' % (field, type(result).__name__))
        name = result.get('host') or result.get('inventory_hostname') or result.get('computer_name')
        if not name:
            raise PlanError('%s: has none of host, inventory_hostname, computer_name' % field)
        hosts.append({
            'name': name,
            'throttle_bytes': _host_info_throttle(result.get('throttle')),
            'upload_threads': _host_info_value(result.get('upload_threads')),
            'volumes': [{'name': volume.get('name'), 'free': _bytes(volume.get('free_bytes'))}
                        for volume in result.get('volumes') or [] if volume.get('free_bytes') is not None],
        })
        for vm in result.get('vms') or []:
            vms.append({'name': vm.get('name'), 'host': name,
                        'disks': [{'size': _bytes(disk.get('size_bytes')), 'path': disk.get('path')} for disk in vm.get('disks') or []]})
    return hosts, vms


def _bytes(value):
    """host_info counts bytes; say so, since the planner reads a bare number as a missing unit."""
    return '%d B' % value if isinstance(value, int) and not isinstance(value, bool) else value


def _host_info_value(value, key='value'):
    """host_info wraps some numbers as {value: ..., configured: ...} or {bytes_per_second: ..., kbps: ...}."""
    return value.get(key) if isinstance(value, dict) else value


def _host_info_throttle(throttle):
    """host_info's throttle in the Get-OBMachineSetting shape ThrottleSchedule.from_host_settings reads."""
    if not throttle:
        return None
    settings = dict(throttle)
    for key in ('work_hour_bandwidth', 'non_work_hour_bandwidth'):
        settings[key] = _host_info_value(throttle.get(key), 'bytes_per_second')
    for key, default in (('work_hour_start', '08:00:00'), ('work_hour_end', '18:00:00')):
        settings[key] = throttle.get(key) or default
    return settings


def _volume_of(path, volumes):
    """The host volume holding ``path``: the longest volume name that prefixes it (CSV volumes too)."""
    folded = str(path).lower().replace('/', '\\')
    best = None
    for volume, _free in volumes:
        prefix = volume.lower().replace('/', '\\')
        if folded.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = volume
    if best is None and len(folded) >= 2 and folded[1] == ':':
        best = folded[:2].upper() + '\\'
    return best or ''


def _normalize_disks(raw_disks, field, volumes):
    if not isinstance(raw_disks, list) or not raw_disks:
        raise PlanError('%s: a VM needs a non-empty list of disks (sizes such as "127 GB")' % field)
    disks = []
    for position, raw_disk in enumerate(raw_disks):
        disk_field = '%s[%d]' % (field, position)
        if isinstance(raw_disk, dict):
            size = _disk_size(_require(raw_disk, 'size', disk_field), disk_field + '.size')
            volume = raw_disk.get('volume') or (_volume_of(raw_disk['path'], volumes) if raw_disk.get('path') else '')
        else:
            size = _disk_size(raw_disk, disk_field)
            volume = ''
        disks.append(Disk(size_bytes=size, volume=str(volume)))
    return tuple(disks)


def normalize_vms(raw_vms, host_volumes, vm_churn=None, default_churn=0):
    """VmSpecs sorted by name. ``host_volumes``: {host: ((volume, free), ...)} to place disks by path.

    ``vm_churn`` ({name: churn}) overrides a VM's own churn; ``default_churn`` is for VMs that give none.
    Each is read once and named in its own words when wrong.
    """
    churn_overrides = _mapping(vm_churn, 'vm_churn', 'VM names and their churn') if vm_churn is not None else {}
    override_bps = {name: _churn(value, 'vm_churn.%s' % name) for name, value in sorted(churn_overrides.items(), key=lambda item: str(item[0]))}
    default_given = 0 if default_churn is None else default_churn
    default_bps = _churn(default_given, 'default_churn')
    vms, seen = [], {}
    for index, raw_vm in enumerate(raw_vms):
        field = 'vms[%d]' % index
        if not isinstance(raw_vm, dict):
            raise PlanError('%s: expected a mapping with name, host, disks and churn' % field)
        name = str(_require(raw_vm, 'name', field))
        field = '%s (%s)' % (field, name)
        if name in seen:
            raise PlanError('%s: VM name is also used by %s; VM names must be unique' % (field, seen[name]))
        seen[name] = field
        host = str(_require(raw_vm, 'host', field))
        if name in override_bps:
            churn, churn_given = override_bps[name], churn_overrides[name]
        elif raw_vm.get('churn') is not None:
            churn_given = raw_vm['churn']
            churn = _churn(churn_given, field + '.churn')
        else:
            churn, churn_given = default_bps, default_given
        disks = _normalize_disks(raw_vm.get('disks'), field + '.disks', host_volumes.get(host, ()))
        vms.append(make_vm(name, host, disks, churn, churn_given))
    unknown = sorted(set(churn_overrides) - set(seen))
    if unknown:
        raise PlanError('vm_churn: names VMs that are not in the plan: %s' % ', '.join(unknown))
    return sorted(vms, key=lambda vm: vm.name)


def _throttle_rate(value, field):
    rate = _parse(lambda given: bandwidth.parse_throttle_rate(given, unit_required=True), value, field)
    try:
        return bandwidth.check_throttle_rate(rate)
    except ValueError:
        raise PlanError('%s: throttle rate %s is outside the allowed 512 Kbps to 1023 Mbps (the agent\'s range)'
                        % (field, value)) from None


def _normalize_schedule(raw_host, field):
    """ThrottleSchedule from a host's ``throttle`` (user units) or ``throttle_bytes`` (host_info)."""
    if raw_host.get('throttle_bytes') is not None:
        settings = raw_host['throttle_bytes']
        for key in ('work_hour_bandwidth', 'non_work_hour_bandwidth'):
            if settings.get('enabled') and settings.get(key) is not None:
                _parse(bandwidth.check_throttle_rate, settings[key], '%s.throttle.%s' % (field, key))
        return _parse(model.ThrottleSchedule.from_host_settings, settings, field + '.throttle')
    throttle = raw_host.get('throttle')
    throttle_field = field + '.throttle'
    if throttle is None:
        return model.ThrottleSchedule.unthrottled()
    _mapping(throttle, throttle_field, 'enabled, work_rate, non_work_rate, work_days, work_start, work_end')
    if not throttle.get('enabled', True):
        return model.ThrottleSchedule.unthrottled()
    work_days = throttle.get('work_days')
    if work_days is not None and (not isinstance(work_days, (list, tuple)) or not work_days):
        raise PlanError('%s.work_days: %r; give a list of days (Monday ... Sunday), or omit it for Monday to Friday'
                        % (throttle_field, work_days))
    hours = {}
    for key, default in (('work_start', '08:00'), ('work_end', '18:00')):
        given = throttle.get(key) if throttle.get(key) is not None else default
        try:
            hours[key] = model.parse_time_of_day(given)
        except ValueError as error:
            raise PlanError('%s.%s: %s' % (throttle_field, key, error)) from None
        hours[key + '_given'] = given
    if hours['work_start'] >= hours['work_end']:
        raise PlanError('%s: work_start %r must be before work_end %r' % (throttle_field, hours['work_start_given'], hours['work_end_given']))
    work_bps = _throttle_rate(_require(throttle, 'work_rate', throttle_field), throttle_field + '.work_rate')
    non_work_bps = _throttle_rate(_require(throttle, 'non_work_rate', throttle_field), throttle_field + '.non_work_rate')
    try:
        return model.ThrottleSchedule(
            enabled=True,
            work_days=tuple(work_days or DEFAULT_WORK_DAYS),
            work_hour_start=throttle.get('work_start') or '08:00',
            work_hour_end=throttle.get('work_end') or '18:00',
            work_hour_bandwidth=work_bps,
            non_work_hour_bandwidth=non_work_bps,
        )
    except ValueError as error:
        raise PlanError('%s: %s' % (throttle_field, error)) from None


def _check_threads(value, field):
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError('%s: %r is not a whole number of threads (%d-%d)'
                        % (field, value, model.MIN_UPLOAD_THREADS, model.MAX_UPLOAD_THREADS))
    if not model.MIN_UPLOAD_THREADS <= value <= model.MAX_UPLOAD_THREADS:
        raise PlanError('%s: %d is outside the allowed %d-%d UploadThreadsPerVM'
                        % (field, value, model.MIN_UPLOAD_THREADS, model.MAX_UPLOAD_THREADS))
    return value


def recommend_threads(peak_bps, max_churn_bps, per_thread_bps):
    """Threads per VM so that one VM alone can fill the host's peak rate and carry its churn.

    A wave's last VM replicates alone; with fewer threads its cap would leave the link idle. Never
    below the agent's default (fewer threads save nothing worth the risk), never above 32.
    """
    needed = math.ceil(max(peak_bps, max_churn_bps) / per_thread_bps - 1e-9)
    return max(model.DEFAULT_UPLOAD_THREADS, min(model.MAX_UPLOAD_THREADS, needed))


def _peak_rate(usable_link_bps, schedule):
    if not schedule.enabled:
        return usable_link_bps
    return min(usable_link_bps, max(schedule.work_bps, schedule.non_work_bps))


def normalize_hosts(raw_hosts, vms_max_churn, options):
    """{name: HostSpec} (a dict built in name order) from host dicts.

    ``vms_max_churn``: {host: largest VM churn} for the thread recommendation. ``options``: the
    request (``default_link_rate``, ``link_efficiency``, ``per_thread_rate``, ``max_vms_per_wave``).
    """
    efficiency = _link_efficiency(options.get('link_efficiency'))
    per_thread = model.PER_THREAD_BPS
    if options.get('per_thread_rate') is not None:
        given = options['per_thread_rate']
        per_thread = _parse(lambda value: bandwidth.parse_churn(value, unit_required=True, what='per-thread rate'), given, 'per_thread_rate')
        if per_thread <= 0:
            raise PlanError('per_thread_rate: %r must be above zero; an upload thread that sends nothing never finishes' % (given,))
    wave_limit = options.get('max_vms_per_wave')
    wave_limit = DEFAULT_MAX_VMS_PER_WAVE if wave_limit is None else _positive_int(wave_limit, 'max_vms_per_wave')
    merged = _merge_host_entries(raw_hosts)
    hosts = {}
    for name in sorted(merged):
        field, raw_host = merged[name]
        hosts[name] = _normalize_host(name, field, raw_host, vms_max_churn.get(name, 0.0),
                                      (options.get('default_link_rate'), efficiency, per_thread, wave_limit))
    return hosts


def _positive_int(value, field):
    return _whole_number(value, field, 1)


def _link_efficiency(value):
    """The share of the link replication gets: above 0 (a link that carries nothing plans nothing), at most 1."""
    if value is None:
        return model.LINK_EFFICIENCY
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise PlanError('link_efficiency: %r is not allowed; give a share of the link above 0 and at most 1 (e.g. 0.9)' % (value,))
    return float(value)


def _merge_host_entries(raw_hosts):
    """{name: (field, dict)}: later entries for the same host add to earlier ones (host_info + hosts)."""
    merged = {}
    for index, raw_host in enumerate(raw_hosts):
        field = 'hosts[%d]' % index
        if not isinstance(raw_host, dict):
            raise PlanError('%s: expected a mapping with name, link_rate, throttle, upload_threads, volumes' % field)
        name = str(_require(raw_host, 'name', field))
        earlier_field, earlier = merged.get(name, (None, {}))
        combined = dict(earlier)
        combined.update({key: value for key, value in raw_host.items() if value is not None})
        merged[name] = ('%s (%s)' % (field, name) if earlier_field is None else earlier_field, combined)
    return merged


def _normalize_host(name, field, raw_host, max_churn, defaults):
    default_link_rate, efficiency, per_thread, wave_limit = defaults
    link_value = raw_host.get('link_rate')
    link_field = field + '.link_rate'
    if link_value is None:
        link_value, link_field = default_link_rate, 'default_link_rate'
    if link_value is None:
        raise PlanError('%s.link_rate is required (or set default_link_rate), e.g. "1 Gbit/s"' % field)
    link_bps = _parse(lambda value: bandwidth.parse_link_rate(value, unit_required=True), link_value, link_field)
    schedule = _normalize_schedule(raw_host, field)
    recommended = recommend_threads(_peak_rate(link_bps * efficiency, schedule), max_churn, per_thread)
    threads_given = raw_host.get('upload_threads') is not None
    threads = _check_threads(raw_host['upload_threads'], field + '.upload_threads') if threads_given else recommended
    volumes = {}
    for position, raw_volume in enumerate(raw_host.get('volumes') or []):
        volume_field = '%s.volumes[%d]' % (field, position)
        _mapping(raw_volume, volume_field, 'name and free')
        volume_name = str(_require(raw_volume, 'name', volume_field))
        if volume_name in volumes:
            raise PlanError('%s: volume %r is listed twice for this host; give each volume once' % (volume_field, volume_name))
        # Zero free space is a full volume: allowed, and the log space check says what it lacks.
        volumes[volume_name] = _size(_require(raw_volume, 'free', volume_field), volume_field + '.free')
    host_limit = raw_host.get('max_vms_per_wave')
    link = model.HostLink(link_bps=link_bps, schedule=schedule, threads_per_vm=threads,
                          efficiency=efficiency, per_thread_bps=per_thread)
    return HostSpec(name=name, link=link, volumes=tuple(sorted(volumes.items())), threads_given=threads_given,
                    recommended_threads=recommended,
                    max_vms_per_wave=wave_limit if host_limit is None else _positive_int(host_limit, field + '.max_vms_per_wave'))


def normalize_storage_accounts(accounts, count, capacity):
    """[(name, capacity_bytes)] sorted by name, from a list of accounts or a count and a capacity."""
    if accounts:
        result = []
        for index, account in enumerate(accounts):
            field = 'storage_accounts[%d]' % index
            _mapping(account, field, 'name and capacity')
            name = str(_require(account, 'name', field))
            result.append((name, _capacity(_require(account, 'capacity', field), field + '.capacity')))
        names = [name for name, _capacity in result]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise PlanError('storage_accounts: names must be unique; repeated: %s' % ', '.join(duplicates))
        return sorted(result)
    if count is None or isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise PlanError('storage_account_count: %r; the plan needs at least one log storage account '
                        '(give storage_accounts, or storage_account_count >= 1 with storage_account_capacity)' % (count,))
    if capacity is None:
        raise PlanError('storage_account_capacity is required with storage_account_count, e.g. "5 TB"')
    capacity_bytes = _capacity(capacity, 'storage_account_capacity')
    return [('logstorage%02d' % number, capacity_bytes) for number in range(1, count + 1)]


def _capacity(value, field):
    capacity = _size(value, field)
    if capacity <= 0:
        raise PlanError('%s: %r must be above zero; an account that holds nothing takes no VM' % (field, value))
    return capacity


def parse_time(value, field):
    """Model time from an ISO 8601 date-time, read as the hosts' wall-clock time (offsets ignored)."""
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace('Z', '+00:00'))
    except ValueError:
        raise PlanError('%s: %r is not an ISO 8601 date-time such as 2025-03-07T20:00:00' % (field, value)) from None
    return float(calendar.timegm(moment.replace(tzinfo=None).timetuple()))


def format_time(model_time):
    """ISO 8601 to the second, as datetime's isoformat(timespec='seconds') gives it (microseconds rounded, then cut).

    time.gmtime is several times faster than building a datetime, which counts with a row per VM.
    """
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(math.floor(round(model_time, 6))))


# --------------------------------------------------------------------------------------------------
# Checks across inputs
# --------------------------------------------------------------------------------------------------

def _check_vms_against_hosts(vms, hosts):
    known = ', '.join(hosts) or 'none'
    for vm in vms:
        if vm.host not in hosts:
            raise PlanError('vms (%s): host %r is not a known host; known hosts: %s' % (vm.name, vm.host, known))


def _check_churn(vms_by_host, hosts):
    """Fail when churn can never be uploaded: above a VM's cap or above the host's weekly average."""
    for name, vms in vms_by_host.items():
        link = hosts[name].link
        average = link.average_rate()
        for vm in vms:
            limit = min(link.vm_cap_bps, average)
            if vm.churn_bps > limit:
                reason = ('the VM cap of %d UploadThreadsPerVM x %s' % (link.threads_per_vm, bandwidth.format_churn(link.per_thread_bps))
                          if link.vm_cap_bps < average else 'the average usable upload bandwidth of host %s' % name)
                raise PlanError('vms (%s): churn %s is above %s (%s); delta replication could never keep up'
                                % (vm.name, _as_given(vm.churn_given, bandwidth.format_churn(vm.churn_bps)), reason, bandwidth.format_churn(limit)))
        total_churn = sum(vm.churn_bps for vm in vms)
        if total_churn > average:
            raise PlanError('hosts (%s): the VMs on this host churn %s in total, above its average usable upload bandwidth %s '
                            '(link x efficiency, throttle schedule); delta replication could never keep up'
                            % (name, bandwidth.format_churn(total_churn), bandwidth.format_churn(average)))


def _as_given(given, computed):
    """A value as the user wrote it, with what the plan read when that differs ("40 GB/day (0.46 MB/s)")."""
    if given is None or str(given) == computed:
        return computed
    return '%s (%s)' % (given, computed)


# --------------------------------------------------------------------------------------------------
# Planning one host
# --------------------------------------------------------------------------------------------------

def _volume_ir_budget(free_bytes, total_on_volume):
    """Disk bytes on a volume that one wave may put into initial replication.

    At a wave the volume holds IR space (100 %) for that wave's disks and delta space (50 %) for the
    disks of earlier waves, at most ``a * wave + b * (total - wave)`` with a = 1, b = 0.5; keeping
    that within the free space gives ``wave <= (free - b * total) / (a - b)`` for every wave.
    """
    ir_fraction, delta_fraction = model.IR_LOG_SPACE_FRACTION, model.DELTA_LOG_SPACE_FRACTION
    return (free_bytes - delta_fraction * total_on_volume) / (ir_fraction - delta_fraction)


def _build_waves(vms_in_order, wave_size, budgets):
    """Cut the LPT-ordered VMs into waves of at most ``wave_size`` within the volume budgets."""
    waves, current, used = [], [], {}
    for vm in vms_in_order:
        demand = vm.bytes_by_volume()
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


def _time_waves(link, waves, start):
    """The model's ``WaveSchedule`` of consecutive waves on one host.

    VMs that finished initial replication, in the wave or an earlier one, upload their logs and churn
    meanwhile over the same link (``replication_model.simulate_waves``), as on a real host.
    """
    return model.simulate_waves(link, [{vm.name: vm.total_bytes for vm in wave} for wave in waves], start,
                                {vm.name: vm.churn_bps for wave in waves for vm in wave if vm.churn_bps})


def _saturating_wave_size(host):
    """Fewest concurrent VMs whose caps fill the host's peak rate."""
    peak = _peak_rate(host.link.usable_link_bps, host.link.schedule)
    return max(1, math.ceil(peak / host.link.vm_cap_bps - 1e-9))


def _plan_waves(host, ordered, start, budgets):
    """(size, waves, schedule) with the shortest makespan; ties go to fewer waves.

    Each size from the saturating one up to the limit is simulated, unless one VM can fill the host (its
    cap reaches the peak rate): then the link never idles whatever the wave size, and the sizes differ
    only in the delta bytes uploaded before the last VM finishes. Without churn there are none, so the
    largest size (fewest waves) is taken straight away. With churn the two ends are simulated: one VM at
    a time keeps the fewest VMs writing to logs that are uploaded meanwhile, since a VM's writes are
    tracked from the start of its own initial replication; the largest size runs the fewest waves. The
    sizes in between are not simulated, for speed (on bench/plan_scale.py's estate one of the two ends
    was the best size on 796 of the 797 such hosts).
    """
    limit = max(1, min(host.max_vms_per_wave, len(ordered)))
    smallest = min(limit, _saturating_wave_size(host))
    if smallest > 1:
        sizes = range(limit, smallest - 1, -1)
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


def _fit_window(host, ordered, start, window_end, budgets):
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


def plan_host(host, vms, start, window_end):
    """Waves, timings, lower bound and log space of one host."""
    ordered = sorted(vms, key=lambda vm: (-vm.total_bytes, vm.name))
    totals = {}
    for vm in ordered:
        for volume, nbytes in vm.volume_bytes:
            totals[volume] = totals.get(volume, 0) + nbytes
    free = dict(host.volumes)
    budgets = {volume: _volume_ir_budget(free[volume], total) for volume, total in totals.items() if volume in free}
    deferred = []
    if window_end is None:
        size, waves, schedule = _plan_waves(host, ordered, start, budgets)
    else:
        (size, waves, schedule), deferred = _fit_window(host, ordered, start, window_end, budgets)
    deferred_names = {vm.name for vm in deferred}
    total_bytes = sum(vm.total_bytes for vm in ordered if vm.name not in deferred_names)
    # The bound counts the delta bytes the host uploads before its last VM finishes, next to the
    # initial replication bytes. They are not the plan's to drop: the agent uploads a VM's log as soon
    # as its initial replication ends, so whenever VMs finish at different times the link carries
    # them. Without them the ratio would grow with churn and blame the waves (and the per-VM caps, in
    # the warning) for link time that is in fact busy. With them the makespan still cannot beat the
    # bound (the link moves at most its usable rate, and these are bytes it moved), and the ratio is
    # exactly the link time the plan leaves idle. The bound is of this plan's traffic: another wave
    # order uploads other delta bytes (delta_upload_bytes reports them; without them the bound is the
    # initial replication bytes alone, which no plan can beat).
    lower_bound = model.transfer_finish_time(host.link, start, total_bytes + schedule.delta_bytes, math.inf) - start
    largest = max([vm.total_bytes for vm in ordered if vm.name not in deferred_names] or [0])
    # No plan beats the largest VM replicating alone at its cap: past that point the host's
    # bound cannot be reached, whatever the waves.
    cap_bound = model.transfer_finish_time(host.link, start, largest) - start
    sizes = sorted((vm.total_bytes for vm in ordered if vm.name not in deferred_names), reverse=True)
    tail_bound = max(cap_bound, _tail_bound(host.link, start, sizes, total_bytes))
    return {'cap_bound_s': cap_bound, 'tail_bound_s': tail_bound, 'wave_size': size, 'waves': waves, 'timed': list(schedule.waves), 'finish': schedule.finish,
            'deferred': sorted(vm.name for vm in deferred), 'lower_bound_s': lower_bound, 'total_bytes': total_bytes,
            'delta_bytes': schedule.delta_bytes, 'volume_totals': totals}


def _tail_bound(link, start, sizes_descending, total_bytes):
    """Seconds no plan of barrier waves can beat while the host's rate stays as at ``start``, given the per-VM caps.

    VMs replicating together share the host rate equally, so the VMs of a wave that are left move
    the same bytes until the next one finishes. Whatever the waves, the wave holding the host's
    largest VM ends with it alone for at least (largest - second largest) bytes at its cap, with two
    left for at least (second - third) at two caps, and so on while k caps are below the host rate:
    the link then carries only k caps. Its best case is the next largest VMs in that wave, so the
    initial replication bytes take at least bytes / rate plus that idle link time. Delta uploads
    may use the idle link, so the bound counts the initial replication bytes alone.

    It holds while the rate is the one at ``start``: a plan finishing sooner ran at that rate all
    along, and one finishing later took longer anyway. So on a throttled host it is a bound when the
    throttle does not change before it (a weekend, a night); otherwise it is not computed (0).
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


def _volume_report(host, host_plan):
    """Peak log space per volume: IR space of the wave in flight plus delta space of earlier waves."""
    free = dict(host.volumes)
    report = []
    for volume in sorted(host_plan['volume_totals']):
        done = 0
        peak, peak_wave = 0.0, 0
        for index, wave in enumerate(host_plan['waves'], start=1):
            in_ir = sum(nbytes for vm in wave for vol, nbytes in vm.bytes_by_volume() if vol == volume)
            need = model.ir_log_space_bytes(in_ir) + model.delta_log_space_bytes(done)
            if need > peak:
                peak, peak_wave = need, index
            done += in_ir
        # After the last wave every disk is in delta replication.
        steady = model.delta_log_space_bytes(done)
        if steady > peak:
            peak, peak_wave = steady, None
        entry = {'name': volume or '(unknown)', 'disk_bytes': host_plan['volume_totals'][volume],
                 'required_bytes': int(math.ceil(peak)), 'peak_wave': _wave_name(peak_wave) if peak_wave else 'delta'}
        if volume in free:
            entry.update({'free_bytes': free[volume], 'headroom_bytes': int(free[volume] - math.ceil(peak)),
                          'ok': peak <= free[volume]})
        else:
            entry.update({'free_bytes': None, 'headroom_bytes': None, 'ok': None})
        report.append(entry)
    return report


def _delta_report(host, vms, interval):
    link = host.link
    total_churn = sum(vm.churn_bps for vm in vms)
    caps_total = link.vm_cap_bps * max(1, len(vms))
    backlog = model.delta_backlog_peak(link, total_churn, 0.0, caps_total) if vms else 0.0
    min_rate = min(link.min_rate(), caps_total)
    return {
        'required_bps': round(model.delta_required_bps(total_churn, interval), 3),
        'bytes_per_interval': int(round(model.delta_bytes_per_interval(total_churn, interval))),
        'available_min_bps': round(min_rate, 3),
        'available_average_bps': round(link.average_rate(caps_total), 3),
        'keeps_up': 'always' if total_churn <= min_rate else 'on_average',
        'backlog_peak_bytes': int(math.ceil(backlog)),
    }


def _recommended_throttle(host, total_churn):
    schedule = host.link.schedule
    if not schedule.enabled:
        return {'enabled': False, 'reason': 'no throttle: replication uses the link as needed'}
    delta_need = min(bandwidth.THROTTLE_MAX_BPS, max(bandwidth.THROTTLE_MIN_BPS, _round_up_mbps(total_churn * DELTA_THROTTLE_MARGIN)))
    work = max(schedule.work_bps, delta_need)
    link_rate = min(bandwidth.THROTTLE_MAX_BPS, _round_up_mbps(host.link.usable_link_bps))
    non_work = max(schedule.non_work_bps, link_rate)
    reasons = []
    if work > schedule.work_bps:
        reasons.append('work hours raised to %s so delta replication keeps up (churn %s + %d %%)'
                       % (bandwidth.format_throttle_rate(work), bandwidth.format_churn(total_churn), round((DELTA_THROTTLE_MARGIN - 1) * 100)))
    if non_work > schedule.non_work_bps:
        reasons.append('non-work hours opened to %s (the usable link) so initial replication runs at full speed at night'
                       % bandwidth.format_throttle_rate(non_work))
    return {
        'enabled': True,
        'work_days': schedule.as_dict()['work_days'],
        'work_start': schedule.as_dict()['work_hour_start'],
        'work_end': schedule.as_dict()['work_hour_end'],
        'work_rate': bandwidth.format_throttle_rate(work),
        'non_work_rate': bandwidth.format_throttle_rate(non_work),
        'work_hour_bandwidth': int(work),
        'non_work_hour_bandwidth': int(non_work),
        'reason': '; '.join(reasons) or 'the current throttle already suits the plan',
    }


def _round_up_mbps(bytes_per_s):
    return int(math.ceil(bytes_per_s / bandwidth.MIB - 1e-9)) * bandwidth.MIB


# --------------------------------------------------------------------------------------------------
# Storage accounts
# --------------------------------------------------------------------------------------------------

def assign_storage_accounts(vms, accounts):
    """{vm: account} and per-account totals: largest VM first into the account with most room left.

    Worst-fit decreasing spreads bytes evenly over the accounts (what the architecture asks: spread
    replication over storage accounts by capacity); ties break by account name, then VM name.
    """
    total_needed = sum(vm.total_bytes for vm in vms)
    total_capacity = sum(capacity for _name, capacity in accounts)
    if total_needed > total_capacity:
        raise PlanError('storage_accounts: the VMs need %s in total, above the %s the %d account(s) hold; add accounts or capacity'
                        % (bandwidth.format_size(total_needed), bandwidth.format_size(total_capacity), len(accounts)))
    room = [(-capacity, name) for name, capacity in accounts]
    heapq.heapify(room)
    assignment, used = {}, {name: 0 for name, _capacity in accounts}
    for vm in sorted(vms, key=lambda item: (-item.total_bytes, item.name)):
        negative_free, name = room[0]
        if vm.total_bytes > -negative_free:
            raise PlanError('storage_accounts: VM %s needs %s but the account with most room left (%s) has %s; '
                            'add accounts or capacity' % (vm.name, bandwidth.format_size(vm.total_bytes), name,
                                                          bandwidth.format_size(-negative_free)))
        heapq.heapreplace(room, (negative_free + vm.total_bytes, name))
        assignment[vm.name] = name
        used[name] += vm.total_bytes
    return assignment, used


# --------------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------------

def _wave_name(index):
    return 'wave-%02d' % index


def _seconds(value):
    return None if value is None or math.isinf(value) else round(value, 3)


class _Clock:
    """Turns model times into plan offsets and, when the start is known, ISO date-times."""

    def __init__(self, start, absolute):
        self.start = start
        self.absolute = absolute

    def offset(self, model_time):
        return _seconds(model_time - self.start)

    def iso(self, model_time):
        return format_time(model_time) if self.absolute else None


#: Model time of the default plan start: Monday 2024-01-01 00:00, so throttle work days line up.
_DEFAULT_START = float(calendar.timegm((2024, 1, 1, 0, 0, 0)))


def _plan_start(request):
    window = request.get('target_window')
    if window:
        start = parse_time(_require(window, 'start', 'target_window'), 'target_window.start')
        end = parse_time(_require(window, 'end', 'target_window'), 'target_window.end')
        if end <= start:
            raise PlanError('target_window: end %s must be after start %s' % (window['end'], window['start']))
        return start, True, end
    if request.get('start_time'):
        return parse_time(request['start_time'], 'start_time'), True, None
    return _DEFAULT_START, False, None


def collect_inputs(request):
    """(vms, hosts, accounts) from the request: vms/vms_file data and/or host_info, plus hosts."""
    info_hosts, info_vms = hosts_from_host_info(request.get('host_info'))
    raw_hosts = info_hosts + list(request.get('hosts') or [])
    raw_vms = info_vms + list(request.get('vms') or [])
    if not raw_vms:
        raise PlanError('vms: no VMs to plan; give vms, vms_file or host_info')
    host_volumes = {}
    for raw_host in raw_hosts:
        if isinstance(raw_host, dict) and raw_host.get('name') and raw_host.get('volumes'):
            host_volumes[str(raw_host['name'])] = tuple((str(volume.get('name')), 0) for volume in raw_host['volumes'] if isinstance(volume, dict))
    vms = normalize_vms(raw_vms, host_volumes, request.get('vm_churn'), request.get('default_churn'))
    max_churn = {}
    for vm in vms:
        max_churn[vm.host] = max(max_churn.get(vm.host, 0.0), vm.churn_bps)
    hosts = normalize_hosts(raw_hosts, max_churn, request)
    accounts = normalize_storage_accounts(request.get('storage_accounts'), request.get('storage_account_count'),
                                          request.get('storage_account_capacity'))
    return vms, hosts, accounts


def plan_replication(request):
    """The replication plan for a request (the replication_plan module's options as a dict).

    The plan builds hundreds of thousands of small objects and no reference cycles, so the cyclic
    garbage collector only re-scans them (a fifth of the time at 100,000 VMs); it is paused while
    planning and restored as it was.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _plan_replication(request)
    finally:
        if collecting:
            gc.enable()


def _plan_replication(request):
    interval = request.get('replication_interval')
    interval = DEFAULT_REPLICATION_INTERVAL if interval is None else interval
    if isinstance(interval, bool) or interval not in model.REPLICATION_INTERVALS:
        raise PlanError('replication_interval: %r is not one of %s seconds' % (interval, ', '.join(map(str, model.REPLICATION_INTERVALS))))
    start, absolute, window_end = _plan_start(request)
    vms, hosts, accounts = collect_inputs(request)
    _check_vms_against_hosts(vms, hosts)
    vms_by_host = {name: [] for name in hosts}
    for vm in vms:
        vms_by_host[vm.host].append(vm)
    _check_churn(vms_by_host, hosts)
    assignment, used = assign_storage_accounts(vms, accounts)
    clock = _Clock(start, absolute)
    warnings = []
    host_plans = {name: plan_host(hosts[name], vms_by_host[name], start, window_end) for name in hosts if vms_by_host[name]}
    vm_rows, host_rows = _vm_and_host_rows(hosts, vms_by_host, host_plans, assignment, clock, interval, warnings)
    waves = _global_waves(host_plans, clock)
    makespan = max([plan['finish'] - start for plan in host_plans.values()] or [0.0])
    lower_bound = max([plan['lower_bound_s'] for plan in host_plans.values()] or [0.0])
    if window_end is not None and start + makespan > window_end:
        warnings.append('the plan ends at %s, after the target window ends at %s'
                        % (format_time(start + makespan), format_time(window_end)))
    deferred = sorted(name for plan in host_plans.values() for name in plan['deferred'])
    if deferred:
        warnings.append('%d VM(s) do not fit the target window and are left for a later one: %s'
                        % (len(deferred), ', '.join(deferred[:20]) + (' ...' if len(deferred) > 20 else '')))
    storage_rows = _storage_rows(accounts, used, assignment, warnings)
    return {
        'start': clock.iso(start),
        'finish': clock.iso(start + makespan),
        'replication_interval': interval,
        'makespan_s': _seconds(makespan),
        'makespan_lower_bound_s': _seconds(lower_bound),
        'makespan_ratio': round(makespan / lower_bound, 4) if lower_bound > 0 else 1.0,
        'target_window': None if window_end is None else {
            'start': format_time(start), 'end': format_time(window_end), 'fits': start + makespan <= window_end},
        'totals': {'vms': len(vms), 'hosts': len(host_plans), 'waves': len(waves),
                   'bytes': sum(vm.total_bytes for vm in vms), 'churn_bps': round(sum(vm.churn_bps for vm in vms), 3)},
        'waves': waves,
        'deferred_vms': deferred,
        'hosts': host_rows,
        'vms': vm_rows,
        'storage_accounts': storage_rows,
        'warnings': warnings,
    }


def _global_waves(host_plans, clock):
    waves = []
    count = max([len(plan['waves']) for plan in host_plans.values()] or [0])
    names = sorted(host_plans)
    for index in range(count):
        parts = []
        # Hosts with fewer waves drop out, so later waves walk fewer hosts.
        names = [host for host in names if index < len(host_plans[host]['waves'])]
        for host in names:
            plan = host_plans[host]
            wave_start, finishes = plan['timed'][index]
            parts.append({'host': host, 'vms': sorted(finishes), 'start_s': clock.offset(wave_start),
                          'finish_s': clock.offset(max(finishes.values())),
                          'bytes': sum(vm.total_bytes for vm in plan['waves'][index])})
        start = min(part['start_s'] for part in parts)
        finish = max(part['finish_s'] for part in parts)
        waves.append({
            'name': _wave_name(index + 1),
            'hosts': [part['host'] for part in parts],
            'vms': sorted(vm for part in parts for vm in part['vms']),
            'start_s': start, 'finish_s': finish, 'duration_s': _seconds(finish - start),
            'start': clock.iso(clock.start + start), 'finish': clock.iso(clock.start + finish),
            'bytes': sum(part['bytes'] for part in parts),
            'host_parts': parts,
        })
    return waves


def _vm_and_host_rows(hosts, vms_by_host, host_plans, assignment, clock, interval, warnings):
    vm_rows, host_rows = [], []
    for name in sorted(host_plans):
        host, plan, vms = hosts[name], host_plans[name], vms_by_host[name]
        for index, (wave_start, finishes) in enumerate(plan['timed'], start=1):
            # What every VM of the wave shares is worked out once (a row per VM counts at 100,000 VMs).
            wave = (_wave_name(index), wave_start, clock.offset(wave_start), clock.iso(wave_start))
            for vm in plan['waves'][index - 1]:
                vm_rows.append(_vm_row(vm, host, wave, finishes[vm.name], assignment, clock, interval, warnings))
        deferred = set(plan['deferred'])
        for vm in vms:
            if vm.name in deferred:
                vm_rows.append(_vm_row(vm, host, None, None, assignment, clock, interval, warnings))
        host_rows.append(_host_row(host, plan, vms, clock, interval, warnings))
    vm_rows.sort(key=lambda row: row['name'])
    return vm_rows, host_rows


def _vm_row(vm, host, wave, finish, assignment, clock, interval, warnings):
    """A VM's row; ``wave`` is (name, start, start offset, start ISO) of its wave, None when deferred."""
    link = host.link
    floor = min(link.vm_cap_bps, link.min_rate())
    keeps_up = 'always' if vm.churn_bps <= floor else 'on_average'
    if keeps_up != 'always':
        warnings.append('vm %s: churn %s is above the upload rate host %s allows at its most throttled (%s); '
                        'delta replication falls behind in work hours and catches up later'
                        % (vm.name, bandwidth.format_churn(vm.churn_bps), host.name, bandwidth.format_churn(floor)))
    wave_name, start, start_s, start_iso = wave or (None, None, None, None)
    planned = wave is not None
    return {
        'name': vm.name, 'host': vm.host, 'wave': wave_name,
        'deferred': not planned,
        'bytes': vm.total_bytes, 'disks': [disk.size_bytes for disk in vm.disks],
        'start_s': start_s, 'finish_s': clock.offset(finish) if planned else None,
        'duration_s': _seconds(finish - start) if planned else None,
        'start': start_iso, 'finish': clock.iso(finish) if planned else None,
        'storage_account': assignment[vm.name],
        'delta': {
            'churn_bps': round(vm.churn_bps, 3),
            'required_bps': round(model.delta_required_bps(vm.churn_bps, interval), 3),
            'bytes_per_interval': int(round(model.delta_bytes_per_interval(vm.churn_bps, interval))),
            'cap_bps': round(link.vm_cap_bps, 3),
            'keeps_up': keeps_up,
        },
    }


def _host_row(host, plan, vms, clock, interval, warnings):
    link = host.link
    volumes = _volume_report(host, plan)
    _host_warnings(host, plan, volumes, warnings)
    delta = _delta_report(host, vms, interval)
    if delta['keeps_up'] != 'always':
        warnings.append('host %s: delta replication needs %s but the throttle allows %s at its lowest; the backlog peaks at %s of .hrl logs'
                        % (host.name, bandwidth.format_churn(delta['required_bps']), bandwidth.format_churn(delta['available_min_bps']),
                           bandwidth.format_size(delta['backlog_peak_bytes'])))
    makespan = plan['finish'] - clock.start
    return {
        'name': host.name,
        'link_rate': bandwidth.format_link_rate(link.link_bps),
        'usable_bps': round(link.usable_link_bps, 3),
        'upload_threads': link.threads_per_vm,
        'upload_threads_given': host.threads_given,
        'recommended_upload_threads': host.recommended_threads,
        'vm_cap_bps': round(link.vm_cap_bps, 3),
        'max_vms_per_wave': plan['wave_size'],
        'throttle': link.schedule.as_dict(),
        'recommended_throttle': _recommended_throttle(host, sum(vm.churn_bps for vm in vms)),
        'vm_count': len(vms),
        'bytes': plan['total_bytes'],
        'delta_upload_bytes': int(round(plan['delta_bytes'])),
        'waves': len(plan['waves']),
        'makespan_s': _seconds(makespan),
        'lower_bound_s': _seconds(plan['lower_bound_s']),
        'largest_vm_bound_s': _seconds(plan['cap_bound_s']),
        'largest_vms_bound_s': _seconds(plan['tail_bound_s']),
        'lower_bound_reachable': plan['tail_bound_s'] <= plan['lower_bound_s'] * (1 + 1e-9),
        'finish': clock.iso(plan['finish']),
        'delta': delta,
        'volumes': volumes,
    }


def _host_warnings(host, plan, volumes, warnings):
    if host.threads_given and host.link.threads_per_vm < host.recommended_threads:
        warnings.append('host %s: UploadThreadsPerVM %d caps each VM at %s, below the host rate; set %d so one VM can fill the link'
                        % (host.name, host.link.threads_per_vm, bandwidth.format_churn(host.link.vm_cap_bps), host.recommended_threads))
    for volume in volumes:
        if volume['ok'] is False:
            warnings.append('host %s volume %s: needs %s free at peak (%s; snapshot + logs of VMs in initial replication, '
                            '50 %% of disks in delta replication) but has %s'
                            % (host.name, volume['name'], bandwidth.format_size(volume['required_bytes']), volume['peak_wave'],
                               bandwidth.format_size(volume['free_bytes'])))
        elif volume['ok'] is None:
            warnings.append('host %s volume %s: free space unknown; log headroom not checked (needs %s at peak)'
                            % (host.name, volume['name'], bandwidth.format_size(volume['required_bytes'])))
    ratio = (plan['finish'] - _first_start(plan)) / plan['lower_bound_s'] if plan['lower_bound_s'] > 0 else 1.0
    if ratio <= 1.1:
        return
    if plan['cap_bound_s'] > plan['lower_bound_s']:
        warnings.append('host %s: its largest VM alone takes %.1f h at the per-VM cap (%d UploadThreadsPerVM x %s), longer than '
                        'the link needs for all its VMs and the delta uploads meanwhile (%.1f h); the waves take %.1f h'
                        % (host.name, plan['cap_bound_s'] / 3600, host.link.threads_per_vm, bandwidth.format_churn(host.link.per_thread_bps),
                           plan['lower_bound_s'] / 3600, (plan['finish'] - _first_start(plan)) / 3600))
    elif plan['tail_bound_s'] > plan['lower_bound_s'] * (1 + 1e-9):
        warnings.append('host %s: the waves take %.0f %% longer than its link allows: its largest VMs differ in size, so whatever '
                        'the waves they finish one by one at the per-VM cap (%d UploadThreadsPerVM x %s) with the link part idle '
                        '(no plan can take less than %.1f h); the waves take %.1f h'
                        % (host.name, (ratio - 1) * 100, host.link.threads_per_vm, bandwidth.format_churn(host.link.per_thread_bps),
                           plan['tail_bound_s'] / 3600, (plan['finish'] - _first_start(plan)) / 3600))
    else:
        warnings.append('host %s: the waves take %.0f %% longer than its link allows, since the VMs left at the end of a wave '
                        'are capped by UploadThreadsPerVM' % (host.name, (ratio - 1) * 100))


def _first_start(plan):
    return plan['timed'][0][0] if plan['timed'] else plan['finish']


def _storage_rows(accounts, used, assignment, warnings):
    vms_by_account = {name: [] for name, _capacity in accounts}
    for vm in sorted(assignment):
        vms_by_account[assignment[vm]].append(vm)
    rows = []
    for name, capacity in accounts:
        utilisation = used[name] / capacity if capacity else 0.0
        if utilisation > STORAGE_WARN_UTILISATION:
            warnings.append('storage account %s: %.0f %% of its capacity is used' % (name, utilisation * 100))
        rows.append({'name': name, 'capacity_bytes': capacity, 'assigned_bytes': used[name],
                     'utilisation': round(utilisation, 4), 'vms': vms_by_account[name]})
    return rows


def waves_for_replicate(plan):
    """The plan's waves as replicate.yml reads them: [{name, vms, hosts, start, finish}]."""
    return [{'name': wave['name'], 'vms': wave['vms'], 'hosts': wave['hosts'],
             'start': wave['start'], 'finish': wave['finish']} for wave in plan['waves']]
