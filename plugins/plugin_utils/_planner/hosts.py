# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The planner's hosts: link, throttle (upload_throttle's keys, or the older ones), threads and volumes, read and checked."""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _mars, bandwidth
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.values import (
    DEFAULT_MAX_VMS_PER_WAVE,
    DEFAULT_WORK_DAYS,
    THROTTLE_ALIASES,
    HostSpec,
    PlanError,
    mapping,
    parse,
    positive_int,
    read_size,
    require,
)


def _throttle_rate(value: t.Any, field: str) -> int:
    rate = parse(lambda given: bandwidth.parse_throttle_rate(given, unit_required=True), value, field)
    try:
        return bandwidth.check_throttle_rate(rate)
    except ValueError:
        raise PlanError(f"{field}: throttle rate {value} is outside the allowed 512 Kbps to 1023 Mbps (the agent's range)") from None


def _throttle_key(throttle: t.Mapping[str, t.Any], key: str, field: str, used_aliases: list[str]) -> tuple[str, t.Any]:
    """(the name given, the value) of one throttle key, given by its upload_throttle name or its older one."""
    alias = THROTTLE_ALIASES[key]
    if throttle.get(key) is not None and throttle.get(alias) is not None:
        raise PlanError(f"{field}: gives both {key} {throttle[key]!r} and {alias} {throttle[alias]!r}, two names of one setting; "
                        f"give only {key} ({alias} is its older name)")
    if throttle.get(alias) is not None:
        used_aliases.append(alias)
        return alias, throttle[alias]
    return key, throttle.get(key)


def normalize_schedule(raw_host: t.Mapping[str, t.Any], field: str, used_aliases: list[str]) -> _mars.ThrottleSchedule:
    """ThrottleSchedule from a host's ``throttle`` (upload_throttle's keys, user units) or ``throttle_bytes`` (host_info)."""
    if raw_host.get("throttle_bytes") is not None:
        settings = raw_host["throttle_bytes"]
        for key in ("work_hour_bandwidth", "non_work_hour_bandwidth"):
            if settings.get("enabled") and settings.get(key) is not None:
                parse(bandwidth.check_throttle_rate, settings[key], f"{field}.throttle.{key}")
        return parse(_mars.ThrottleSchedule.from_host_settings, settings, field + ".throttle")
    throttle = raw_host.get("throttle")
    throttle_field = field + ".throttle"
    if throttle is None:
        return _mars.ThrottleSchedule.unthrottled()
    mapping(throttle, throttle_field, "enabled, work_hour_bandwidth, non_work_hour_bandwidth, work_days, work_hour_start, work_hour_end")
    if not throttle.get("enabled", True):
        return _mars.ThrottleSchedule.unthrottled()
    work_days = throttle.get("work_days")
    if work_days is not None and (not isinstance(work_days, (list, tuple)) or not work_days):
        raise PlanError(f"{throttle_field}.work_days: {work_days!r}; give a list of days (Monday ... Sunday), or omit it for Monday to Friday")
    hours = {}
    for key, default in (("work_hour_start", "08:00"), ("work_hour_end", "18:00")):
        name, given = _throttle_key(throttle, key, throttle_field, used_aliases)
        given = default if given is None else given
        hours[key] = (name, given, parse(_mars.parse_time_of_day, given, f"{throttle_field}.{name}"))
    (start_name, start_given, start_s), (end_name, end_given, end_s) = hours["work_hour_start"], hours["work_hour_end"]
    if start_s >= end_s:
        raise PlanError(f"{throttle_field}: {start_name} {start_given!r} must be before {end_name} {end_given!r}")
    rates = {}
    for key in ("work_hour_bandwidth", "non_work_hour_bandwidth"):
        name, given = _throttle_key(throttle, key, throttle_field, used_aliases)
        if given is None or given == "":
            raise PlanError(f"{throttle_field}.{key} is required")
        rates[key] = _throttle_rate(given, f"{throttle_field}.{name}")
    try:
        return _mars.ThrottleSchedule(work_days=tuple(work_days or DEFAULT_WORK_DAYS), work_hour_start=start_s, work_hour_end=end_s, **rates)
    except ValueError as error:
        raise PlanError(f"{throttle_field}: {error}") from None


def _check_threads(value: t.Any, field: str) -> int:
    allowed = f"{_mars.MIN_UPLOAD_THREADS}-{_mars.MAX_UPLOAD_THREADS}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(f"{field}: {value!r} is not a whole number of threads ({allowed})")
    if not _mars.MIN_UPLOAD_THREADS <= value <= _mars.MAX_UPLOAD_THREADS:
        raise PlanError(f"{field}: {value} is outside the allowed {allowed} UploadThreadsPerVM")
    return value


def recommend_threads(peak_bps: float, max_churn_bps: float, per_thread_bps: float) -> int:
    """Threads per VM so that one VM alone can fill the host's peak rate and carry its churn.

    A wave's last VM replicates alone; with fewer threads its cap would leave the link idle. Never
    below the agent's default (fewer threads save nothing worth the risk), never above 32.
    """
    needed = math.ceil(max(peak_bps, max_churn_bps) / per_thread_bps - 1e-9)
    return max(_mars.DEFAULT_UPLOAD_THREADS, min(_mars.MAX_UPLOAD_THREADS, needed))


def peak_rate(usable_link_bps: float, schedule: _mars.ThrottleSchedule) -> float:
    """Highest rate a host ever uploads at: its usable link, or its throttle's higher rate if below."""
    return min(usable_link_bps, schedule.peak_rate())


def _link_efficiency(value: t.Any) -> float:
    """The share of the link replication gets: above 0 (a link that carries nothing plans nothing), at most 1."""
    if value is None:
        return model.LINK_EFFICIENCY
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise PlanError(f"link_efficiency: {value!r} is not allowed; give a share of the link above 0 and at most 1 (e.g. 0.9)")
    return float(value)


def _per_thread_rate(value: t.Any) -> float:
    if value is None:
        return model.PER_THREAD_BPS
    rate = parse(lambda given: bandwidth.parse_churn(given, unit_required=True, what="per-thread rate"), value, "per_thread_rate")
    if rate <= 0:
        raise PlanError(f"per_thread_rate: {value!r} must be above zero; an upload thread that sends nothing never finishes")
    return rate


def _merge_host_entries(raw_hosts: t.Iterable[t.Any]) -> dict[str, tuple[str, dict[str, t.Any]]]:
    """{name: (field, dict)}: later entries for the same host add to earlier ones (host_info + hosts)."""
    merged: dict[str, tuple[str, dict[str, t.Any]]] = {}
    for index, raw_host in enumerate(raw_hosts):
        field = f"hosts[{index}]"
        if not isinstance(raw_host, dict):
            raise PlanError(f"{field}: expected a mapping with name, link_rate, throttle, upload_threads, volumes")
        name = str(require(raw_host, "name", field))
        earlier_field, earlier = merged.get(name, (None, {}))
        combined = dict(earlier)
        combined.update({key: value for key, value in raw_host.items() if value is not None})
        merged[name] = (f"{field} ({name})" if earlier_field is None else earlier_field, combined)
    return merged


@dataclass(frozen=True)
class _HostDefaults:
    link_rate: t.Any
    efficiency: float
    per_thread_bps: float
    max_vms_per_wave: int


def _normalize_host(name: str, field: str, raw_host: dict[str, t.Any], max_churn: float, defaults: _HostDefaults,
                    used_aliases: list[str]) -> HostSpec:
    link_value, link_field = raw_host.get("link_rate"), field + ".link_rate"
    if link_value is None:
        link_value, link_field = defaults.link_rate, "default_link_rate"
    if link_value is None:
        raise PlanError(f'{field}.link_rate is required (or set default_link_rate), e.g. "1 Gbit/s"')
    link_bps = parse(lambda value: bandwidth.parse_link_rate(value, unit_required=True), link_value, link_field)
    schedule = normalize_schedule(raw_host, field, used_aliases)
    recommended = recommend_threads(peak_rate(link_bps * defaults.efficiency, schedule), max_churn, defaults.per_thread_bps)
    threads_given = raw_host.get("upload_threads") is not None
    threads = _check_threads(raw_host["upload_threads"], field + ".upload_threads") if threads_given else recommended
    volumes: dict[str, int] = {}
    for position, raw_volume in enumerate(raw_host.get("volumes") or []):
        volume_field = f"{field}.volumes[{position}]"
        mapping(raw_volume, volume_field, "name and free")
        volume_name = str(require(raw_volume, "name", volume_field))
        if volume_name in volumes:
            raise PlanError(f"{volume_field}: volume {volume_name!r} is listed twice for this host; give each volume once")
        # Zero free space is a full volume: allowed, and the log space check says what it lacks.
        volumes[volume_name] = read_size(require(raw_volume, "free", volume_field), volume_field + ".free")
    host_limit = raw_host.get("max_vms_per_wave")
    link = model.HostLink(link_bps=link_bps, schedule=schedule, threads_per_vm=threads,
                          efficiency=defaults.efficiency, per_thread_bps=defaults.per_thread_bps)
    return HostSpec(name=name, link=link, volumes=tuple(sorted(volumes.items())), threads_given=threads_given,
                    recommended_threads=recommended,
                    max_vms_per_wave=defaults.max_vms_per_wave if host_limit is None else positive_int(host_limit, field + ".max_vms_per_wave"))


def normalize_hosts(raw_hosts: t.Iterable[t.Any], vms_max_churn: t.Mapping[str, float], options: t.Mapping[str, t.Any],
                    used_aliases: list[str] | None = None) -> dict[str, HostSpec]:
    """{name: HostSpec} (a dict built in name order) from host dicts.

    ``vms_max_churn``: {host: largest VM churn} for the thread recommendation. ``options``: the
    request (``default_link_rate``, ``link_efficiency``, ``per_thread_rate``, ``max_vms_per_wave``).
    ``used_aliases`` collects the older throttle keys the hosts use.
    """
    efficiency = _link_efficiency(options.get("link_efficiency"))
    per_thread = _per_thread_rate(options.get("per_thread_rate"))
    wave_limit = options.get("max_vms_per_wave")
    wave_limit = DEFAULT_MAX_VMS_PER_WAVE if wave_limit is None else positive_int(wave_limit, "max_vms_per_wave")
    defaults = _HostDefaults(options.get("default_link_rate"), efficiency, per_thread, wave_limit)
    merged = _merge_host_entries(raw_hosts)
    aliases = [] if used_aliases is None else used_aliases
    return {name: _normalize_host(name, merged[name][0], merged[name][1], vms_max_churn.get(name, 0.0), defaults, aliases)
            for name in sorted(merged)}
