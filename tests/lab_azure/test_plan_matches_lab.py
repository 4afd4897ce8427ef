"""The planner's estimate of initial replication against the lab's run of the planned waves.

The replication planner (plugins/plugin_utils/_planner/) and the lab's Azure side
(lab/azure/replication.py) share one model of bytes and rates (plugins/module_utils/replication_model.py).
This test plans four VMs of one host from the host's own settings (link, MARS throttle with a work/non-work
boundary the run crosses, UploadThreadsPerVM) and the lab clock's start time, then enables replication of the
plan's waves through the real SiteRecoveryManagementClient, one wave when the one before is Protected, moves
the lab clock in steps and records when each VM's initial replication completes. Every VM's time, every
wave's and the whole run's must be within 10 % of the plan; and a plan that ignored the throttle or the
UploadThreadsPerVM value would miss by more than that.

It runs twice. At low churn (64 KiB/s per VM, the lab's default) the plan is one wave of the four VMs. At high
churn (1.5 MiB/s per VM, an eighth of the work-hours throttle each) a VM that finished initial replication
keeps uploading its changed data over the host link - the .hrl log of its initial replication, then its
churn - and slows the VMs still in initial replication, in its wave and in later ones. The plan counts that
(replication_model.simulate_waves, the walk the lab steps), and it leads the planner to put the smallest VM
in a second wave: in the first it would log and upload 1.5 MiB/s for the whole wave. A plan that counted
initial replication bytes alone (the planner before it modelled delta uploads) plans one wave of four, which
on this host runs 14 % longer for web01 than that plan says.

The hosts, HVPLAN01 and HVPLAN02 (one per churn), are added to the session's lab for this test only (the demo
hosts belong to the other tests), with the demo estate's defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
import yaml

from ansible_collections.azmigrate.hyperv.plugins.module_utils import bandwidth
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _planner as planner
from inprocess_azure import DEMO_ESTATE, Site
from lab.estate import build_host
from lab.hosts.state import MARS_REPLICATION_KEY
# The fixture that stops the lab clock between explicit advances, reused from test_replication.py.
from test_replication import frozen_clock  # noqa: F401  pylint: disable=unused-import

GIB = 1024 ** 3
MIB = 1024 ** 2
#: Disk sizes (GiB) of the wave's VMs by role: different sizes, so they finish in non-work hours (util), in
#: work hours (web) and after work hours, the last one alone (app, db).
ROLE_DISKS = {"db01": (400, 200), "app01": (250, 100), "web01": (160,), "util01": (40,)}
LINK_RATE = "400 Mbit/s"            # x 0.9 efficiency = 42.9 MiB/s: the limit outside work hours
WORK_RATE, NON_WORK_RATE = "12 Mbps", "48 Mbps"     # MARS throttle (binary megabytes per second)
THROTTLE = {"enabled": True, "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
            "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
            "work_hour_bandwidth": bandwidth.parse_throttle_rate(WORK_RATE),
            "non_work_hour_bandwidth": bandwidth.parse_throttle_rate(NON_WORK_RATE)}
UPLOAD_THREADS = 2                  # 16 MiB/s per VM caps the wave's last VMs (the default 4: 32 MiB/s)
WAVE_START_HOUR = 6                 # the wave is enabled at 06:00 host time on a work day
STEP_S = 1800.0                     # the test moves the lab clock 30 minutes at a time
TOLERANCE = 0.10


@dataclasses.dataclass(frozen=True)
class Case:
    """One run: its own host, site and VM names (a VM is enabled once), every VM's churn, and the waves the
    plan should make of the roles."""

    host: str
    site: str
    prefix: str
    churn_bps: float
    waves: tuple
    #: Whether the plan of initial replication bytes alone misses some VM by more than 10 % (see _ir_only_error).
    ir_only_misses: bool

    def name(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    @property
    def vm_disks(self) -> dict[str, tuple]:
        return {self.name(role): sizes for role, sizes in ROLE_DISKS.items()}


CASES = [
    # 64 KiB/s, the lab's default made explicit: one wave; delta uploads move the VMs' times by 0.5 % at most.
    Case("HVPLAN01", "site-plan", "wave", 64 * 1024, (("app01", "db01", "util01", "web01"),), ir_only_misses=False),
    # 1.5 MiB/s a VM, 6 MiB/s for the host (half the work-hours throttle): util01 goes to a second wave, which
    # replicates while the first wave's VMs upload their logs and churn.
    Case("HVPLAN02", "site-plan-churn", "churn", 1.5 * MIB, (("app01", "db01", "web01"), ("util01",)), ir_only_misses=True),
]


def _host_document(case: Case) -> dict:
    defaults = yaml.safe_load(DEMO_ESTATE.read_text(encoding="utf-8"))["defaults"]
    vms = [{"name": name, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "azmigrate-plan-matches-lab:" + name)), "generation": 2,
            "state": "Running", "memory_mb": 4096, "processor_count": 2, "switch": "vSwitch-External",
            "disks": [{"path": f"D:\\Hyper-V\\{name}\\{name}-{index}.vhdx", "size_gb": size} for index, size in enumerate(sizes)]}
           for name, sizes in case.vm_disks.items()]
    return {**defaults, "name": case.host, "vms": vms,
            "volumes": [{"name": "C:\\", "label": "System", "size_gb": 127, "free_gb": 60},
                        {"name": "D:\\", "label": "VMs", "size_gb": 4096, "free_gb": 3500}]}


@pytest.fixture(scope="module", params=CASES, ids=lambda case: f"churn-{case.churn_bps / 1024:g}KiBps")
def wave_site(lab, request) -> tuple[Case, Site]:
    """The case's host with its link, throttle and UploadThreadsPerVM set, registered to the case's site."""
    case = request.param

    def add_host():
        host = build_host(_host_document(case), None)
        host.mars_settings["throttle"] = dict(THROTTLE)
        host.registry.set_value(MARS_REPLICATION_KEY, "UploadThreadsPerVM", UPLOAD_THREADS)
        lab.world.add_host(host)
    lab.on_loop(add_host)
    lab.admin("POST", f"/azure/hosts/{case.host}/link", {"bps": bandwidth.parse_link_rate(LINK_RATE)})
    for name in case.vm_disks:
        lab.admin("POST", f"/azure/vms/{name}/churn", {"bps": case.churn_bps})
    return case, Site(lab, case.site, [case.host])


def _host_info(lab, case: Case) -> dict:
    """The host's settings as the lab holds them, in host_info's shape (what the plan reads in production)."""
    def read():
        host = lab.world.host(case.host)
        return {"host": case.host, "throttle": dict(host.mars_settings["throttle"]),
                "upload_threads": host.registry.get_value(MARS_REPLICATION_KEY, "UploadThreadsPerVM"),
                "volumes": [{"name": volume.name, "free_bytes": volume.free_bytes} for volume in host.volumes],
                "vms": [{"name": vm.name, "disks": [{"path": disk.path, "size_bytes": disk.size_bytes} for disk in vm.disks]}
                        for vm in host.vms]}
    return lab.on_loop(read)


def _next_work_day_morning(now: dt.datetime) -> dt.datetime:
    moment = now.replace(hour=WAVE_START_HOUR, minute=0, second=0, microsecond=0)
    while moment <= now or moment.weekday() >= 5:
        moment += dt.timedelta(days=1)
    return moment


def _lab_now(lab) -> dt.datetime:
    return lab.on_loop(lab.world.clock.now)


def _ir_starts(asr, lab, names) -> dict[str, dt.datetime]:
    """When the EnableDr job of each VM ran its VmStartInitialReplication task (the lab starts IR then)."""
    starts = {}
    for job in asr.replication_jobs.list(lab.rg, lab.vault, filter="jobName eq 'EnableDr'"):
        name = job.properties.target_object_name
        if name in names and name not in starts:      # newest first: the wave's own jobs
            task = next(t for t in job.properties.tasks if t.name == "VmStartInitialReplication")
            assert task.state == "Succeeded", f"{name}: {task.state}"
            starts[name] = task.end_time
    assert sorted(starts) == sorted(names)
    return starts


def _plan(lab, case: Case, start: dt.datetime, churn_bps: float | None = None) -> dict:
    request = {
        "host_info": [_host_info(lab, case)],
        "hosts": [{"name": case.host, "link_rate": LINK_RATE}],
        "default_churn": f"{case.churn_bps if churn_bps is None else churn_bps} B/s",      # the planner needs the unit
        "storage_account_count": 1, "storage_account_capacity": "10 TB",
        "start_time": start.replace(tzinfo=None).isoformat(),
    }
    return planner.plan_replication(request)


def _enable(asr, lab, site: Site, names) -> dict[str, dt.datetime]:
    """Enable replication of a wave - one PUT per VM, all at the same lab time (the clock all but stands still
    meanwhile) - and return when each VM's initial replication started."""
    for name in names:
        body = site.enable_input(name)
        item_name = body["properties"]["protectableItemId"].rsplit("/", 1)[-1]
        asr.replication_protected_items.begin_create(*site.args(item_name), body, polling=False)
    lab.advance(120)                     # the EnableDr jobs reach VmStartInitialReplication
    starts = _ir_starts(asr, lab, names)
    assert max(starts.values()) - min(starts.values()) < dt.timedelta(seconds=1)
    return starts


@dataclasses.dataclass
class Record:
    """The lab's items of the case's site after one step of the clock (admin /azure/items)."""

    time: dt.datetime
    ir_done: dict          # {vm: initial replication complete}
    ir_progress: dict      # {vm: initial replication bytes sent}
    backlog: dict          # {vm: .hrl log bytes not uploaded}


def _record(lab, site: Site, now: dt.datetime) -> Record:
    items = [entry for entry in lab.admin("GET", "/azure/items") if entry["site"] == site.name]
    return Record(now, {entry["vm"]: entry["ir_progress_bytes"] >= entry["ir_total_bytes"] for entry in items},
                  {entry["vm"]: entry["ir_progress_bytes"] for entry in items},
                  {entry["vm"]: entry["backlog_bytes"] for entry in items})


def _run_waves(asr, lab, site: Site, plan: dict, starts: dict, limit_s: float) -> tuple[dict[str, dt.datetime], list[Record]]:
    """Move the lab clock until every VM is Protected, enabling each wave of the plan when the one before is done.

    The clock moves STEP_S at a time, but not past a wave's planned finish by more than a minute, so the next
    wave starts about when the plan starts it. Returns each VM's initial replication finish (its first recovery
    point, taken when IR completes) and the site's items after every step.
    """
    finished: dict[str, dt.datetime] = {}
    records = []
    moved = 0.0
    waves = [wave["vms"] for wave in plan["waves"]]
    plan_start = min(starts.values())
    for index, names in enumerate(waves):
        planned_finish = plan_start + dt.timedelta(seconds=plan["waves"][index]["finish_s"] + 60)
        if index:
            starts.update(_enable(asr, lab, site, names))
        while not set(names) <= set(finished):
            assert moved < limit_s, f"initial replication of {sorted(set(names) - set(finished))} not done after {moved} lab s"
            now = _lab_now(lab)
            step = STEP_S if now >= planned_finish else min(STEP_S, (planned_finish - now).total_seconds())
            lab.advance(step)
            moved += step
            # An ARM request moves the lab's world to the clock's time before it answers.
            protected = [item for item in asr.replication_protected_items.list_by_replication_protection_containers(*site.args())
                         if item.properties.friendly_name in names and item.properties.friendly_name not in finished
                         and item.properties.protection_state == "Protected"]
            now = _lab_now(lab)
            for item in protected:
                points = asr.recovery_points.list_by_replication_protected_items(*site.args(item.name))
                finish = min(point.properties.recovery_point_time for point in points)
                assert now - dt.timedelta(seconds=step + 1) < finish <= now, (item.properties.friendly_name, finish, now)
                finished[item.properties.friendly_name] = finish
            records.append(_record(lab, site, now))
    return finished, records


def _percent(measured: float, planned: float) -> float:
    return 100.0 * (measured - planned) / planned


def _ir_only_error(lab, case: Case, link, start: dt.datetime) -> tuple[float, str]:
    """How far off the plan of initial replication bytes alone is, for the run its own waves would have.

    That plan is the planner's with churn 0 (what the planner said before it modelled delta uploads). Its waves
    are run on the model with the VMs' churn: advance_replication, which the lab steps and this test shows it
    agrees with. Returns the worst VM's error (%) and a report line.
    """
    blind = _plan(lab, case, start, churn_bps=0)
    waves = [{name: sum(case.vm_disks[name]) * GIB for name in wave["vms"]} for wave in blind["waves"]]
    churn = {name: case.churn_bps for name in case.vm_disks}
    actual = {name: finish - wave_start for wave_start, finishes in model.simulate_waves(link, waves, start.timestamp(), churn).waves
              for name, finish in finishes.items()}
    errors = {row["name"]: _percent(actual[row["name"]], row["duration_s"]) for row in blind["vms"]}
    worst = max(errors, key=lambda name: abs(errors[name]))
    return errors[worst], (f"planned on initial replication bytes alone: {len(waves)} wave(s), {worst} would take "
                           f"{errors[worst]:+.1f} % longer than that plan says")


@pytest.mark.usefixtures("frozen_clock")
def test_planned_waves_match_the_lab_run(lab, wave_site):
    case, site = wave_site
    vm_disks = case.vm_disks
    asr = lab.asr
    now = _lab_now(lab)
    lab.advance((_next_work_day_morning(now) - now).total_seconds())

    # Plan from the host's settings, enable the first wave, and plan again from the lab's start time.
    first = _plan(lab, case, _lab_now(lab))["waves"][0]["vms"]
    starts = _enable(asr, lab, site, first)
    run_start = min(starts.values())
    plan = _plan(lab, case, run_start)
    assert [wave["vms"] for wave in plan["waves"]] == [sorted(case.name(role) for role in wave) for wave in case.waves], plan["waves"]
    planned = {row["name"]: row["duration_s"] for row in plan["vms"]}

    finished, records = _run_waves(asr, lab, site, plan, starts, limit_s=2 * plan["makespan_s"] + 86400)
    measured = {name: (finished[name] - starts[name]).total_seconds() for name in vm_disks}
    measured_waves = [(max(finished[name] for name in wave["vms"]) - min(starts[name] for name in wave["vms"])).total_seconds()
                      for wave in plan["waves"]]
    measured_run = (max(finished.values()) - run_start).total_seconds()

    # What a plan that ignored the throttle or the UploadThreadsPerVM value would have said for the run.
    schedule = model.ThrottleSchedule.from_host_settings(THROTTLE)
    link = model.HostLink(link_bps=bandwidth.parse_link_rate(LINK_RATE), schedule=schedule, threads_per_vm=UPLOAD_THREADS)
    wave_bytes = [{name: sum(vm_disks[name]) * GIB for name in wave["vms"]} for wave in plan["waves"]]
    churn = {name: case.churn_bps for name in vm_disks}
    bypassed = {}
    for label, other in (("no throttle", dataclasses.replace(link, schedule=model.ThrottleSchedule.unthrottled())),
                         ("default UploadThreadsPerVM", dataclasses.replace(link, threads_per_vm=model.DEFAULT_UPLOAD_THREADS))):
        bypassed[label] = model.simulate_waves(other, wave_bytes, run_start.timestamp(), churn).finish - run_start.timestamp()
    ir_only_error, ir_only_line = _ir_only_error(lab, case, link, run_start)

    report = [f"churn {case.churn_bps / MIB:g} MiB/s per VM"]
    report += [f"{name:13} plan {planned[name] / 3600:7.3f} h  lab {measured[name] / 3600:7.3f} h  "
               f"{_percent(measured[name], planned[name]):+6.2f} %" for name in sorted(vm_disks)]
    report += [f"{wave['name']:13} plan {wave['duration_s'] / 3600:7.3f} h  lab {seconds / 3600:7.3f} h  "
               f"{_percent(seconds, wave['duration_s']):+6.2f} %" for wave, seconds in zip(plan["waves"], measured_waves)]
    report.append(f"{'run':13} plan {plan['makespan_s'] / 3600:7.3f} h  lab {measured_run / 3600:7.3f} h  "
                  f"{_percent(measured_run, plan['makespan_s']):+6.2f} %")
    report += [f"run, planned with {label}: {seconds / 3600:.3f} h, the lab is {_percent(measured_run, seconds):+.1f} % off"
               for label, seconds in bypassed.items()]
    report.append(ir_only_line)
    print("\n" + "\n".join(report))
    for name in vm_disks:
        assert measured[name] == pytest.approx(planned[name], rel=TOLERANCE), "\n".join(report)
    for wave, seconds in zip(plan["waves"], measured_waves):
        assert seconds == pytest.approx(wave["duration_s"], rel=TOLERANCE), "\n".join(report)
    assert measured_run == pytest.approx(plan["makespan_s"], rel=TOLERANCE), "\n".join(report)
    for label, seconds in bypassed.items():
        assert abs(_percent(measured_run, seconds)) > 100 * TOLERANCE, (label, "\n".join(report))
    assert (abs(ir_only_error) > 100 * TOLERANCE) == case.ir_only_misses, "\n".join(report)

    # The run crossed a throttle boundary: some VM finished in work hours, some outside.
    in_work = {name: schedule.is_work_time(moment.timestamp()) for name, moment in finished.items()}
    assert any(in_work.values()) and not all(in_work.values()), in_work

    # In work hours, while the same VMs were in initial replication and the others had uploaded their logs, the
    # lab moved initial replication bytes at the work-hours throttle (the link allows 3.6 x that) less the churn
    # of the VMs in delta replication: they upload their writes as they come.
    windows = []
    for before, after in zip(records, records[1:]):
        t0, t1 = before.time.timestamp(), after.time.timestamp()
        replicating = sorted(name for name, done in before.ir_done.items() if not done)
        delta = sorted(name for name, done in before.ir_done.items() if done)
        if not schedule.is_work_time(t0) or t1 > schedule.next_change_after(t0) or set(before.ir_done) != set(after.ir_done):
            continue            # out of work hours, or a wave started
        if not replicating or replicating != sorted(name for name, done in after.ir_done.items() if not done):
            continue            # a VM finished initial replication
        if any(before.backlog[name] or after.backlog[name] for name in delta):
            continue            # a VM in delta replication was still uploading its log
        sent = sum(after.ir_progress[name] - before.ir_progress[name] for name in replicating)
        windows.append((after.time, len(delta), sent / (t1 - t0)))
    assert len(windows) >= 6 and any(count for _moment, count, _rate in windows), windows
    for moment, count, rate in windows:
        assert rate == pytest.approx(THROTTLE["work_hour_bandwidth"] - count * case.churn_bps, rel=1e-3), moment
