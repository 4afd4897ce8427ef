"""The shared byte-and-rate model: throttle schedule, host rate, water-filling, exact transfer times, and the
delta uploads of VMs past initial replication sharing the host with those still in it."""

import importlib.util
import math
import random
from pathlib import Path

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils import _mars
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model

MIB = 1048576
HOUR = 3600.0
# 1970-01-05 00:00 UTC, a Monday (model time is seconds since the epoch).
MONDAY = 4 * 86400.0
FRIDAY = MONDAY + 4 * 86400.0


def office_schedule(work_bps=1 * MIB, non_work_bps=4 * MIB):
    return model.ThrottleSchedule(enabled=True, work_days=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
                                  work_hour_start="08:00", work_hour_end="18:00", work_hour_bandwidth=work_bps, non_work_hour_bandwidth=non_work_bps)


def fast_link(schedule):
    """A link much faster than the throttle and one VM cap above it, so the throttle alone decides."""
    return model.HostLink(link_bps=1e12, schedule=schedule, threads_per_vm=32, per_thread_bps=1e9)


def test_loads_by_file_path_with_the_collection_importable():
    """The model imports its neighbours (the throttle is _mars's) as module_utils do; loaded by path it still works."""
    path = Path(model.__file__)
    spec = importlib.util.spec_from_file_location("lab_replication_model", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    assert loaded.share_rate(10.0, [1.0, 100.0]) == [1.0, 9.0]
    assert loaded.ThrottleSchedule is _mars.ThrottleSchedule


def test_schedule_rate_and_boundaries():
    schedule = office_schedule()
    assert schedule.rate_at(MONDAY + 7 * HOUR) == 4 * MIB
    assert schedule.rate_at(MONDAY + 8 * HOUR) == 1 * MIB
    assert schedule.rate_at(MONDAY + 18 * HOUR) == 4 * MIB
    assert schedule.rate_at(FRIDAY + 86400 + 12 * HOUR) == 4 * MIB       # Saturday noon
    assert schedule.next_change_after(MONDAY) == MONDAY + 8 * HOUR
    assert schedule.next_change_after(MONDAY + 8 * HOUR) == MONDAY + 18 * HOUR
    # Friday 18:00 -> next change is Monday 08:00.
    assert schedule.next_change_after(FRIDAY + 18 * HOUR) == MONDAY + 7 * 86400 + 8 * HOUR


def test_utc_offset_shifts_the_work_hours():
    schedule = model.ThrottleSchedule(enabled=True, work_days=("Monday",), work_hour_start="08:00", work_hour_end="18:00",
                                      work_hour_bandwidth=MIB, non_work_hour_bandwidth=2 * MIB, utc_offset_s=3600)
    assert schedule.rate_at(MONDAY + 7 * HOUR) == MIB          # 08:00 local
    assert schedule.next_change_after(MONDAY) == MONDAY + 7 * HOUR


def test_from_host_settings_reads_get_obmachinesetting_values():
    schedule = model.ThrottleSchedule.from_host_settings({
        "enabled": True, "work_days": ["Monday", "Tuesday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
        "work_hour_bandwidth": 524288, "non_work_hour_bandwidth": 2097152})
    assert schedule.work_days == ("Monday", "Tuesday")
    assert schedule.work_bps == 524288 and schedule.non_work_bps == 2097152
    assert not model.ThrottleSchedule.from_host_settings(None).enabled
    assert model.ThrottleSchedule.from_host_settings({"enabled": False}).rate_at(0) == math.inf


def test_host_rate_is_min_of_link_times_efficiency_and_throttle():
    link = model.HostLink(link_bps=125_000_000.0, schedule=office_schedule(work_bps=10 * MIB, non_work_bps=1000 * MIB))
    assert link.usable_link_bps == pytest.approx(112_500_000.0)
    assert model.host_rate_at(link, MONDAY + 9 * HOUR) == 10 * MIB
    assert model.host_rate_at(link, MONDAY + 20 * HOUR) == pytest.approx(112_500_000.0)
    assert link.vm_cap_bps == 4 * model.PER_THREAD_BPS


def test_water_filling():
    assert model.share_rate(100.0, [50.0, 50.0]) == [50.0, 50.0]
    assert model.share_rate(100.0, [10.0, 100.0, 100.0]) == [10.0, 45.0, 45.0]
    assert model.share_rate(100.0, [10.0, 20.0, 1000.0]) == [10.0, 20.0, 70.0]
    assert model.share_rate(100.0, [10.0, 20.0]) == [10.0, 20.0]          # caps below the host rate
    assert model.share_rate(math.inf, [5.0, 7.0]) == [5.0, 7.0]           # unthrottled, link-free test case
    assert model.share_rate(90.0, []) == []
    # Several rounds: level 20 caps 1, 2 and 3; the other two share the 94 left.
    assert model.share_rate(100.0, [1.0, 50.0, 2.0, 50.0, 3.0]) == [1.0, 47.0, 2.0, 47.0, 3.0]
    assert model.share_rate(100.0, [30.0, 40.0, 50.0]) == [30.0, 35.0, 35.0]


def test_transfer_crosses_work_hours_exactly():
    link = fast_link(office_schedule())
    # Monday 00:00: 8 h at 4 MiB/s = 115,200 MiB, then 1 MiB/s from 08:00.
    nbytes = 8 * 3600 * 4 * MIB + 3600 * MIB                              # one more hour of work-hours traffic
    assert model.transfer_finish_time(link, MONDAY, nbytes) == MONDAY + 9 * HOUR


def test_transfer_over_the_weekend_and_whole_weeks():
    link = fast_link(office_schedule())
    # Friday 17:00: 1 h at 1 MiB/s, then 4 MiB/s for the weekend.
    nbytes = 3600 * MIB + 10 * 3600 * 4 * MIB
    assert model.transfer_finish_time(link, FRIDAY + 17 * HOUR, nbytes) == FRIDAY + 28 * HOUR
    week_bytes = link.weekly_bytes()
    assert week_bytes == (5 * 10 * 3600 * 1 + (7 * 24 - 50) * 3600 * 4) * MIB
    # Exactly three weeks of bytes from Monday 00:00 finish three weeks later; one MiB more a quarter second later.
    assert model.transfer_finish_time(link, MONDAY, 3 * week_bytes) == pytest.approx(MONDAY + 3 * 7 * 86400)
    assert model.transfer_finish_time(link, MONDAY, 3 * week_bytes + MIB) == pytest.approx(MONDAY + 3 * 7 * 86400 + 0.25)


def test_transfer_is_capped_by_threads():
    link = model.HostLink(link_bps=1e10, threads_per_vm=2, per_thread_bps=MIB, efficiency=1.0)
    assert model.transfer_finish_time(link, 0.0, 3600 * 2 * MIB) == 3600.0
    assert model.transfer_finish_time(link, 0.0, 3600 * 2 * MIB, math.inf) == pytest.approx(3600 * 2 * MIB / 1e10)


def test_simulate_wave_shares_and_redistributes():
    # Host 10 MiB/s, cap 8 MiB/s: a (10 MiB) and b (30 MiB) share 5 + 5 -> a done at 2 s; b then alone at its cap.
    link = model.HostLink(link_bps=10 * MIB, efficiency=1.0, threads_per_vm=1, per_thread_bps=8 * MIB)
    finishes = model.simulate_wave(link, {"a": 10 * MIB, "b": 30 * MIB}, 100.0)
    assert finishes["a"] == pytest.approx(102.0)
    assert finishes["b"] == pytest.approx(102.0 + 20 / 8)


def test_advance_in_steps_equals_one_simulation():
    link = model.HostLink(link_bps=100 * MIB, schedule=office_schedule(work_bps=MIB, non_work_bps=6 * MIB), threads_per_vm=1,
                          per_thread_bps=2 * MIB)
    sizes = {"a": 20_000 * MIB, "b": 60_000 * MIB, "c": 90_000 * MIB}
    whole = model.simulate_wave(link, sizes, MONDAY + 6 * HOUR)
    remaining, finished, t = dict(sizes), {}, MONDAY + 6 * HOUR
    while remaining:
        remaining, done = model.advance_transfers(link, t, t + 1234.5, remaining)
        finished.update(done)
        t += 1234.5
    assert finished == pytest.approx(whole)


def test_simulate_queue_starts_when_a_slot_frees():
    link = model.HostLink(link_bps=4 * MIB, efficiency=1.0, threads_per_vm=1, per_thread_bps=4 * MIB)
    result = model.simulate_queue(link, [("a", 4 * MIB), ("b", 8 * MIB)], 0.0, max_concurrent=1)
    assert result == {"a": (0.0, 1.0), "b": (1.0, 3.0)}
    # With churn, a's delta replication does not hold the slot but shares the host: a (1 MiB/s) ends initial
    # replication at 1 s with a 1 MiB log; a and b share 4 MiB/s 2 + 2 until a's log is uploaded (2 s, net
    # 1 MiB/s), then a takes its 1 MiB/s and b the other 3 for its last 6 MiB.
    result = model.simulate_queue(link, [("a", 4 * MIB), ("b", 8 * MIB)], 0.0, max_concurrent=1, churn_bps={"a": MIB})
    assert result == {"a": (0.0, 1.0), "b": (1.0, 4.0)}


def test_a_vm_past_initial_replication_uploads_its_log_then_its_churn():
    # Host 10 MiB/s, cap 8 MiB/s; a (10 MiB, writes 1 MiB/s) and b (30 MiB) share 5 + 5 until a is done at 2 s.
    link = model.HostLink(link_bps=10 * MIB, efficiency=1.0, threads_per_vm=1, per_thread_bps=8 * MIB)
    finishes = model.simulate_wave(link, {"a": 10 * MIB, "b": 30 * MIB}, 100.0, churn_bps={"a": MIB})
    assert finishes["a"] == 102.0
    # a's log holds 2 MiB; a keeps its 5 MiB/s share until it is uploaded (net 4 MiB/s: 0.5 s; b sends 2.5 MiB),
    # then takes its 1 MiB/s, and b has 17.5 MiB left at its 8 MiB/s cap: 2.1875 s. Without churn: 102 + 20 / 8.
    assert finishes["b"] == 102.0 + 0.5 + 17.5 / 8
    assert model.simulate_wave(link, {"a": 10 * MIB, "b": 30 * MIB}, 100.0)["b"] == 102.0 + 20 / 8


def test_earlier_waves_upload_their_deltas_while_later_ones_replicate():
    link = model.HostLink(link_bps=10 * MIB, efficiency=1.0, threads_per_vm=1, per_thread_bps=8 * MIB)
    schedule = model.simulate_waves(link, [{"a": 10 * MIB}, {"b": 16 * MIB}], 100.0, {"a": MIB, "b": MIB / 2})
    # Wave 1: a alone at its 8 MiB/s cap, done at 1.25 s with 1.25 MiB of log. Wave 2: a's log and b share 5 + 5
    # (a's log is up after 1.25 / 4 = 0.3125 s, b has sent 1.5625 MiB), then a takes 1 MiB/s and b its cap.
    assert schedule.waves == ((100.0, {"a": 101.25}), (101.25, {"b": 101.25 + 0.3125 + (16 - 1.5625) / 8}))
    assert schedule.finish == 101.25 + 0.3125 + (16 - 1.5625) / 8
    # a uploaded everything it wrote (it caught up); b's log is what it wrote during its initial replication.
    assert schedule.delta_bytes == pytest.approx(MIB * (schedule.finish - 100.0))
    assert schedule.backlog == {"a": 0.0, "b": pytest.approx(MIB / 2 * (schedule.finish - 101.25))}


def test_a_vm_in_delta_replication_that_cannot_keep_up_builds_a_backlog():
    # Host 3 MiB/s: x in initial replication and y writing 2 MiB/s share 1.5 + 1.5, so y's log grows 0.5 MiB/s.
    # z is in delta replication and writes nothing: it takes no share.
    link = model.HostLink(link_bps=3 * MIB, efficiency=1.0, threads_per_vm=1, per_thread_bps=8 * MIB)
    step = model.advance_replication(link, 0.0, 10.0, {"x": 100 * MIB}, {"y": 0.0, "z": 0.0}, {"y": 2 * MIB})
    assert step.initial == {"x": 85 * MIB}
    assert step.backlog == {"x": 0.0, "y": 5 * MIB, "z": 0.0}
    assert step.delta_sent == {"x": 0.0, "y": 15 * MIB, "z": 0.0}
    assert step.finished == {}
    # Alone, y uploads its 2 MiB/s and drains the 5 MiB log at the other 1 MiB/s.
    alone = model.advance_replication(link, 10.0, 20.0, {}, step.backlog, {"y": 2 * MIB})
    assert alone.backlog == {"x": 0.0, "y": 0.0, "z": 0.0}
    assert alone.delta_sent["y"] == pytest.approx(25 * MIB)


def test_advance_replication_in_steps_equals_one_simulation_with_churn():
    link = model.HostLink(link_bps=100 * MIB, schedule=office_schedule(work_bps=MIB, non_work_bps=6 * MIB), threads_per_vm=1,
                          per_thread_bps=2 * MIB)
    sizes = {"a": 20_000 * MIB, "b": 60_000 * MIB, "c": 90_000 * MIB}
    churn = {"a": 0.3 * MIB, "b": 0.2 * MIB, "c": 0.1 * MIB}
    whole = model.simulate_waves(link, [sizes], MONDAY + 6 * HOUR, churn)
    initial, backlog, finished, t = dict(sizes), {}, {}, MONDAY + 6 * HOUR
    while initial:
        step = model.advance_replication(link, t, t + 1234.5, initial, backlog, churn)
        initial, backlog = step.initial, step.backlog
        finished.update(step.finished)
        t += 1234.5
    assert finished == pytest.approx(whole.waves[0][1])
    # Writes during initial replication count: c, the last, finishes later than without churn.
    assert whole.finish > max(model.simulate_wave(link, sizes, MONDAY + 6 * HOUR).values())


def test_delta_and_log_space():
    assert model.delta_bytes_per_interval(MIB, 300) == 300 * MIB
    assert model.delta_required_bps(MIB, 30) == MIB
    link = fast_link(office_schedule(work_bps=MIB, non_work_bps=4 * MIB))
    # 2 MiB/s churn against 1 MiB/s in work hours: 10 h x 1 MiB/s backlog, drained at night.
    assert model.delta_backlog_peak(link, 2 * MIB) == 36000 * MIB
    assert model.delta_backlog_peak(link, 10 * MIB) == math.inf
    assert model.time_to_resync(100 * MIB, 2 * MIB, MIB) == 50.0
    assert model.ir_log_space_bytes(1000) == 1000
    assert model.delta_log_space_bytes(1000) == 500


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"link_bps": 0}, "link rate must be a positive"),
    ({"link_bps": 1e6, "threads_per_vm": 33}, "UploadThreadsPerVM must be 1-32"),
    ({"link_bps": 1e6, "efficiency": 1.5}, "efficiency"),
])
def test_bad_links_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.HostLink(**kwargs)


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="start before they end"):
        model.ThrottleSchedule(enabled=True, work_days=("Monday",), work_hour_start="18:00", work_hour_end="08:00",
                               work_hour_bandwidth=1, non_work_hour_bandwidth=1)
    with pytest.raises(ValueError, match="not a day of the week"):
        model.ThrottleSchedule(enabled=True, work_days=("Someday",), work_hour_bandwidth=1, non_work_hour_bandwidth=1)


def _plain_walk(link, t, t_end, initial, backlog, churn, caps):
    """advance_replication written plainly: every VM with something to send in share_rate at every event."""
    names = sorted(set(initial) | set(backlog) | set(churn))
    left = {name: initial.get(name) for name in names}
    log = {name: float(backlog.get(name, 0.0)) for name in names}
    sent = {name: 0.0 for name in names}
    finished = {}
    while t < t_end:
        active = [name for name in names if left[name] is not None or log[name] > 0 or churn.get(name, 0.0) > 0]
        if not active:
            break
        rates = model.share_rate(link.rate_at(t), [caps[name] if left[name] is not None or log[name] > 0
                                                   else min(churn[name], caps[name]) for name in active])
        event = min(link.next_change_after(t), t_end)
        for name, rate in zip(active, rates):
            if left[name] is not None:
                event = min(event, t + left[name] / rate)
            elif log[name] > 0 and rate > churn.get(name, 0.0):
                event = min(event, t + log[name] / (rate - churn.get(name, 0.0)))
        for name, rate in zip(active, rates):
            if left[name] is not None:
                left[name] -= rate * (event - t)
                log[name] += churn.get(name, 0.0) * (event - t)
                if left[name] <= 1e-6 * rate:
                    left[name], finished[name] = None, event
            else:
                log[name] += (churn.get(name, 0.0) - rate) * (event - t)
                sent[name] += rate * (event - t)
                if rate >= churn.get(name, 0.0) and log[name] <= 1e-6 * rate:
                    sent[name] += min(log[name], 0.0)
                    log[name] = 0.0
        t = event
    return {name: value for name, value in left.items() if value is not None}, log, finished, sent


def test_the_walk_gives_what_plain_water_filling_gives():
    """The walk's shortcuts (caught-up VMs moved in bulk, one cap for all busy VMs) change nothing."""
    rng = random.Random(20250307)
    for _case in range(60):
        schedule = office_schedule(work_bps=rng.choice((2, 5, 12)) * MIB, non_work_bps=48 * MIB) if rng.random() < 0.6 \
            else model.ThrottleSchedule.unthrottled()
        link = model.HostLink(link_bps=rng.choice((10, 40, 100)) * MIB, schedule=schedule, threads_per_vm=rng.choice((1, 2, 4)),
                              per_thread_bps=4 * MIB, efficiency=1.0)
        names = ["vm%d" % number for number in range(rng.randint(1, 8))]
        initial = {name: rng.uniform(1, 2000) * MIB for name in names if rng.random() < 0.6}
        backlog = {name: rng.choice((0.0, rng.uniform(0, 500) * MIB)) for name in names}
        churn = {name: rng.choice((0, 0.1, 0.5, 1, 3, 20)) * MIB for name in names}      # 20 MiB/s: above some caps
        caps = {name: rng.choice((2, 4, 8)) * MIB for name in names} if rng.random() < 0.3 else None
        t0 = MONDAY + rng.uniform(0, 7 * 86400)
        t1 = t0 + rng.uniform(100, 200000)
        step = model.advance_replication(link, t0, t1, initial, backlog, churn, caps)
        left, log, finished, sent = _plain_walk(link, t0, t1, initial, backlog, churn, caps or dict.fromkeys(names, link.vm_cap_bps))
        assert step.initial == pytest.approx(left, rel=1e-9)
        assert step.finished == pytest.approx(finished, rel=1e-12)
        assert step.backlog == pytest.approx(log, rel=1e-6, abs=1e3)
        assert step.delta_sent == pytest.approx(sent, rel=1e-6, abs=1e3)


def _plain_backlog_peak(link, churn_bps, start, cap_bps):
    """delta_backlog_peak without its shortcuts: two weeks walked boundary by boundary."""
    if sum(min(link.rate_at(t), cap_bps) * (min(link.next_change_after(t), start + model.SECONDS_PER_WEEK) - t)
           for t in _boundaries(link, start, start + model.SECONDS_PER_WEEK)) < churn_bps * model.SECONDS_PER_WEEK:
        return math.inf
    backlog = peak = 0.0
    for t in _boundaries(link, start, start + 2 * model.SECONDS_PER_WEEK):
        end = min(link.next_change_after(t), start + 2 * model.SECONDS_PER_WEEK)
        backlog = max(0.0, backlog + (churn_bps - min(link.rate_at(t), cap_bps)) * (end - t))
        peak = max(peak, backlog)
    return peak


def _boundaries(link, start, end):
    t = start
    while t < end:
        yield t
        t = min(link.next_change_after(t), end)


def test_the_cached_week_and_the_backlog_shortcut_give_what_the_plain_walk_gives():
    """Each distinct link's week is walked once and a churn below every rate skips the walk: neither changes a number."""
    rng = random.Random(20251206)
    for _case in range(80):
        schedule = office_schedule(work_bps=rng.choice((1, 2, 5, 12)) * MIB, non_work_bps=rng.choice((12, 48)) * MIB) \
            if rng.random() < 0.7 else model.ThrottleSchedule.unthrottled()
        link = model.HostLink(link_bps=rng.choice((10, 40, 100)) * MIB, schedule=schedule, threads_per_vm=rng.choice((1, 2, 4)),
                              per_thread_bps=4 * MIB, efficiency=1.0)
        cap = rng.choice((math.inf, 2 * MIB, 8 * MIB, 64 * MIB))
        assert link.weekly_bytes(cap) == link.bytes_between(0.0, float(model.SECONDS_PER_WEEK), cap)
        churn = rng.choice((0.1, 0.5, 1, 3, 6, 20)) * MIB
        start = MONDAY + rng.uniform(0, 7 * 86400)
        assert model.delta_backlog_peak(link, churn, start, cap) == pytest.approx(_plain_backlog_peak(link, churn, start, cap), rel=1e-12)


def test_fast_water_filling_gives_the_general_rates():
    """_Host.run's fast branch (caught-up VMs get their churn, busy VMs one level or one cap) is exact: wherever it
    is taken, share_rate over every VM gives the same rates. Random hosts with uniform and mixed caps and churns."""
    rng = random.Random(20261206)
    fast_taken = 0
    for _case in range(4000):
        uniform_cap = rng.choice((8.0, 32.0)) * MIB
        busy = [model._Stream(f"b{index}", 1.0, 0.0, 0.0, uniform_cap if rng.random() < 0.7 else rng.choice((4.0, 16.0, 64.0)) * MIB)
                for index in range(rng.randint(0, 6))]
        caught_up = [model._Stream(f"c{index}", None, 0.0, rng.uniform(0.0, 20.0) * MIB, rng.choice((8.0, 32.0)) * MIB)
                     for index in range(rng.randint(0, 5))]
        if not busy and not caught_up:
            continue
        host_rate = rng.choice((10.0, 50.0, 120.0, 400.0)) * MIB
        rates, caught_up_rates = model._water_fill(host_rate, busy, caught_up, model._groups(busy, caught_up))
        general_busy, general_caught_up = model._general_rates(host_rate, busy, caught_up)
        assert rates == pytest.approx(general_busy, rel=1e-9, abs=1e-6)
        if caught_up_rates is None:
            fast_taken += 1
            assert [stream.churn for stream in caught_up] == pytest.approx(general_caught_up, rel=1e-9, abs=1e-6)
        else:
            assert caught_up_rates == pytest.approx(general_caught_up, rel=1e-9, abs=1e-6)
    assert 400 < fast_taken < 3600           # both branches ran many times
