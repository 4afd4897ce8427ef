"""The replication planner: waves, timings, checks, storage assignment, determinism and bad inputs."""

import copy
import json
import random
import xml.dom.minidom

import pytest

from ansible_collections.azmigrate.hyperv.plugins.filter.plan_timeline_svg import render_timeline
from ansible_collections.azmigrate.hyperv.plugins.module_utils import replication_model as model
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _planner as planner

GIB = 1024 ** 3
MIB = 1024 ** 2


def estate(**overrides):
    request = {
        "vms": [
            {"name": "app01", "host": "HV01", "disks": [{"size": "100 GB", "volume": "D:\\"}, {"size": "200 GB", "volume": "D:\\"}], "churn": "1 MB/s"},
            {"name": "db01", "host": "HV01", "disks": [{"size": "600 GB", "volume": "D:\\"}], "churn": "2 MB/s"},
            {"name": "web01", "host": "HV02", "disks": ["50 GB"], "churn": "10 GB/day"},
            {"name": "web02", "host": "HV02", "disks": ["70 GB"], "churn": 0},
        ],
        "hosts": [
            {"name": "HV01", "link_rate": "1 Gbit/s", "volumes": [{"name": "D:\\", "free": "2 TB"}]},
            {"name": "HV02", "link_rate": "500 Mbit/s", "upload_threads": 4,
             "throttle": {"work_rate": "10 Mbps", "non_work_rate": "50 Mbps"}},
        ],
        "storage_account_count": 2,
        "storage_account_capacity": "1 TB",
        "start_time": "2025-03-03T00:00:00",          # a Monday
    }
    request.update(overrides)
    return request


def test_unthrottled_host_meets_its_lower_bound_exactly():
    plan = planner.plan_replication(estate())
    hv01 = next(host for host in plan["hosts"] if host["name"] == "HV01")
    # 900 GiB at 1 Gbit/s x 0.9 = 112.5 MB/s; 14 threads x 8 MiB/s lets one VM fill the link.
    assert hv01["recommended_upload_threads"] == 14
    # app01 (300 GiB) and db01 (600 GiB) share the link; app01 finishes first, then uploads its log and its
    # 1 MiB/s churn; db01 gets the rest (below its cap). The link never idles, so the makespan is the time for
    # the initial replication bytes and app01's deltas: 112.5 MB/s x T = 900 GiB + 1 MiB/s x T.
    makespan = 900 * GIB / (112.5e6 - MIB)
    assert hv01["makespan_s"] == pytest.approx(makespan, abs=1e-3)
    assert hv01["delta_upload_bytes"] == pytest.approx(MIB * makespan, abs=1)
    assert hv01["lower_bound_s"] == pytest.approx(makespan, abs=1e-3)      # the bound counts the delta bytes
    assert 900 * GIB / 112.5e6 < makespan                                  # the initial replication bytes alone
    app01 = next(vm for vm in plan["vms"] if vm["name"] == "app01")
    assert app01["finish_s"] == pytest.approx(300 * GIB / 56.25e6, abs=1e-3)
    db01 = next(vm for vm in plan["vms"] if vm["name"] == "db01")
    assert db01["start"] == "2025-03-03T00:00:00" and db01["wave"] == "wave-01"


def test_throttled_host_times_follow_the_schedule():
    plan = planner.plan_replication(estate())
    hv02 = next(host for host in plan["hosts"] if host["name"] == "HV02")
    # 120 GiB from Monday 00:00: 8 h at 50 MiB/s = 1,440,000 MiB > 122,880 MiB, all before 08:00,
    # but 4 threads cap each VM at 32 MiB/s: two VMs share 50 MiB/s (25 each) until web01 (50 GiB) is done.
    web01 = next(vm for vm in plan["vms"] if vm["name"] == "web01")
    web02 = next(vm for vm in plan["vms"] if vm["name"] == "web02")
    assert web01["finish_s"] == pytest.approx(50 * 1024 / 25, abs=1e-3)
    # web02 then has 20 GiB left. web01 (10 GB/day) first uploads the log of its 2,048 s at its 25 MiB/s share
    # (web02 keeps 25 MiB/s meanwhile), then only its churn, leaving web02 more than its 32 MiB/s cap.
    churn = 10 * GIB / 86400
    upload_log = churn * 2048 / (25 * MIB - churn)
    assert web02["finish_s"] == pytest.approx(2048 + upload_log + (20 * GIB - 25 * MIB * upload_log) / (32 * MIB), abs=1e-3)
    assert web02["finish_s"] == pytest.approx(2048 + 640 + upload_log * 7 / 32, abs=1e-3)     # 2.13 s later than without
    assert hv02["throttle"]["work_hour_bandwidth"] == 10 * MIB
    assert any("HV02: UploadThreadsPerVM 4" in warning for warning in plan["warnings"])


def test_same_input_in_any_order_gives_the_same_plan():
    request = estate(storage_accounts=[{"name": "sa1", "capacity": "600 GB"}, {"name": "sa2", "capacity": "500 GB"},
                                       {"name": "sa3", "capacity": "400 GB"}],
                     storage_account_count=None, storage_account_capacity=None)
    expected = json.dumps(planner.plan_replication(request), sort_keys=True)
    rng = random.Random(7)
    for _attempt in range(5):
        shuffled = copy.deepcopy(request)
        for key in ("vms", "hosts", "storage_accounts"):
            rng.shuffle(shuffled[key])
        assert json.dumps(planner.plan_replication(shuffled), sort_keys=True) == expected


def test_storage_assignment_stays_within_capacity_and_spreads():
    vms = [{"name": "vm%02d" % number, "host": "HV01", "disks": ["%d GB" % (10 + number * 7)]} for number in range(30)]
    plan = planner.plan_replication(estate(vms=vms, storage_account_count=3, storage_account_capacity="1500 GB"))
    accounts = plan["storage_accounts"]
    assert sum(len(account["vms"]) for account in accounts) == 30
    for account in accounts:
        assert account["assigned_bytes"] <= account["capacity_bytes"]
    used = [account["assigned_bytes"] for account in accounts]
    assert max(used) - min(used) <= 220 * GIB           # at most the largest VM apart
    by_vm = {vm["name"]: vm["storage_account"] for vm in plan["vms"]}
    assert all(by_vm[name] == account["name"] for account in accounts for name in account["vms"])


def test_makespan_within_ten_percent_of_lower_bound_on_a_reachable_case():
    rng = random.Random(11)
    vms = [{"name": "vm%03d" % number, "host": "HV%d" % (number % 4), "disks": ["%d GB" % rng.randint(20, 900)],
            "churn": "%.1f MB/s" % rng.uniform(0, 1)} for number in range(80)]
    hosts = [{"name": "HV%d" % number, "link_rate": "1 Gbit/s",
              "throttle": {"work_rate": "20 Mbps", "non_work_rate": "200 Mbps"}} for number in range(4)]
    plan = planner.plan_replication(estate(vms=vms, hosts=hosts, storage_account_count=4, storage_account_capacity="20 TB"))
    assert all(host["lower_bound_reachable"] for host in plan["hosts"])
    assert plan["makespan_s"] <= 1.1 * plan["makespan_lower_bound_s"]
    for host in plan["hosts"]:
        assert host["makespan_s"] <= 1.1 * host["lower_bound_s"]


def test_earlier_waves_upload_their_deltas_while_later_ones_replicate():
    # One VM per wave on a 10 MB/s host (link efficiency 1), one 8 MB/s thread per VM; b (16 GB, writes 1 MB/s)
    # goes first, largest first, then a (10 GB, 0.5 MB/s). All in decimal bytes.
    request = estate(vms=[{"name": "a", "host": "HV09", "disks": ["10,000,000,000 B"], "churn": "500,000 B/s"},
                          {"name": "b", "host": "HV09", "disks": ["16,000,000,000 B"], "churn": "1,000,000 B/s"}],
                     hosts=[{"name": "HV09", "link_rate": "80 Mbit/s", "upload_threads": 1, "max_vms_per_wave": 1}],
                     link_efficiency=1.0, per_thread_rate="8,000,000 B/s")
    plan = planner.plan_replication(request)
    rows = {vm["name"]: vm for vm in plan["vms"]}
    # Wave 1: b alone at its cap, 2,000 s; its log then holds 2 GB. Wave 2: b's log and a share 5 + 5 MB/s
    # until the log is up (net 4 MB/s: 500 s; a sends 2.5 GB), then b takes its 1 MB/s and a its 8 MB/s cap
    # for the last 7.5 GB: 937.5 s. Without b's deltas a would take 1,250 s.
    assert (rows["b"]["wave"], rows["b"]["start_s"], rows["b"]["finish_s"]) == ("wave-01", 0.0, 2000.0)
    assert (rows["a"]["wave"], rows["a"]["start_s"], rows["a"]["duration_s"]) == ("wave-02", 2000.0, 500 + 937.5)
    host = plan["hosts"][0]
    assert host["makespan_s"] == 3437.5
    # b uploaded all it wrote up to the end (3.4375 GB); a's log waits for after its initial replication.
    assert host["delta_upload_bytes"] == 3_437_500_000
    # The bound: 26 GB of initial replication and 3.4375 GB of deltas at 10 MB/s; the rest is link time the
    # one-VM waves leave idle at the 8 MB/s cap.
    assert host["lower_bound_s"] == 2943.75
    assert plan["makespan_ratio"] == round(3437.5 / 2943.75, 4)
    assert any("HV09: the waves take 17 % longer than its link allows" in warning for warning in plan["warnings"])


def test_without_churn_the_bound_is_the_initial_replication_bytes():
    request = estate(vms=[{"name": "a", "host": "HV01", "disks": ["300 GB"]}, {"name": "b", "host": "HV01", "disks": ["600 GB"]}])
    hv01 = next(host for host in planner.plan_replication(request)["hosts"] if host["name"] == "HV01")
    assert hv01["delta_upload_bytes"] == 0
    assert hv01["lower_bound_s"] == pytest.approx(900 * GIB / 112.5e6, abs=1e-3)
    assert hv01["makespan_s"] == pytest.approx(hv01["lower_bound_s"], abs=1e-3)


def test_log_space_splits_waves_and_warns_when_short():
    request = estate(hosts=[{"name": "HV01", "link_rate": "1 Gbit/s", "volumes": [{"name": "D:\\", "free": "900 GB"}]},
                            {"name": "HV02", "link_rate": "1 Gbit/s"}])
    plan = planner.plan_replication(request)
    hv01 = next(host for host in plan["hosts"] if host["name"] == "HV01")
    # 900 GiB of disks on D: with 900 GiB free: a wave may hold (900 - 450) / 0.5 = 900 GiB... all of it.
    assert hv01["volumes"][0]["required_bytes"] == 900 * GIB and hv01["volumes"][0]["ok"] is True
    request["hosts"][0]["volumes"][0]["free"] = "700 GB"
    plan = planner.plan_replication(request)
    hv01 = next(host for host in plan["hosts"] if host["name"] == "HV01")
    # Budget (700 - 450) / 0.5 = 500 GiB per wave: db01 (600) alone, then app01 (300).
    assert hv01["waves"] == 2
    volume = hv01["volumes"][0]
    assert volume["required_bytes"] == 600 * GIB and volume["peak_wave"] == "wave-01" and volume["ok"] is True
    request["hosts"][0]["volumes"][0]["free"] = "500 GB"
    plan = planner.plan_replication(request)
    assert any("HV01 volume D:\\: needs 600 GB free at peak" in warning for warning in plan["warnings"])


def test_delta_reports_backlog_when_work_hours_throttle_is_below_churn():
    request = estate(vms=[{"name": "busy", "host": "HV01", "disks": ["100 GB"], "churn": "2 MB/s"}],
                     hosts=[{"name": "HV01", "link_rate": "1 Gbit/s", "throttle": {"work_rate": "1 Mbps", "non_work_rate": "100 Mbps"}}])
    plan = planner.plan_replication(request)
    host = plan["hosts"][0]
    assert host["delta"]["keeps_up"] == "on_average"
    assert host["delta"]["backlog_peak_bytes"] == 10 * 3600 * MIB
    assert host["delta"]["bytes_per_interval"] == 300 * 2 * MIB
    assert host["recommended_throttle"]["work_hour_bandwidth"] == "3 Mbps"
    assert plan["vms"][0]["delta"]["keeps_up"] == "on_average"
    assert any("delta replication falls behind in work hours" in warning for warning in plan["warnings"])


def test_target_window_defers_what_does_not_fit():
    request = estate(start_time=None, target_window={"start": "2025-03-03T00:00:00", "end": "2025-03-03T01:00:00"})
    plan = planner.plan_replication(request)
    assert plan["target_window"]["fits"] is True
    assert "db01" in plan["deferred_vms"]
    deferred = next(vm for vm in plan["vms"] if vm["name"] == "db01")
    assert deferred["wave"] is None and deferred["deferred"] is True
    for vm in plan["vms"]:
        if not vm["deferred"]:
            assert vm["finish_s"] <= 3600


def test_waves_for_replicate_lists_names_vms_and_hosts():
    waves = planner.waves_for_replicate(planner.plan_replication(estate()))
    assert waves[0]["name"] == "wave-01"
    assert set(waves[0]) == {"name", "vms", "hosts", "start", "finish"}
    assert sorted(vm for wave in waves for vm in wave["vms"]) == ["app01", "db01", "web01", "web02"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["vms"][0]["disks"].append("-5 GB"), r"vms\[0\] \(app01\)\.disks\[2\]: size '-5 GB' is negative"),
    (lambda r: r["vms"][0].update(churn="500 MB/s"), r"vms \(app01\): churn 500 MB/s is above"),
    (lambda r: r["vms"][2].update(churn="40 MB/s"), r"vms \(web01\): churn 40 MB/s is above the VM cap of 4 UploadThreadsPerVM"),
    (lambda r: r["vms"].extend([{"name": "x%d" % n, "host": "HV02", "disks": ["1 GB"], "churn": "20 MB/s"} for n in range(2)]),
     r"hosts \(HV02\): the VMs on this host churn .* above its average usable upload bandwidth"),
    (lambda r: r["vms"][1].update(host="HV09"), r"vms \(db01\): host 'HV09' is not a known host; known hosts: HV01, HV02"),
    (lambda r: r.update(storage_account_count=0), r"storage_account_count: 0; the plan needs at least one log storage account"),
    (lambda r: r.update(storage_account_count=None, storage_accounts=[]), r"needs at least one log storage account"),
    (lambda r: r.update(storage_account_capacity="400 GB"), r"storage_accounts: the VMs need 1020 GB in total, above the 800 GB"),
    (lambda r: r.update(storage_account_capacity="550 GB"), r"storage_accounts: VM db01 needs 600 GB but the account with most room"),
    (lambda r: r["hosts"][1]["throttle"].update(work_rate="256 Kbps"),
     r"hosts\[1\] \(HV02\)\.throttle\.work_rate: throttle rate 256 Kbps .* outside the allowed 512 Kbps to 1023 Mbps"),
    (lambda r: r["hosts"][1]["throttle"].update(non_work_rate="2 Gbps"), r"non_work_rate: .* outside the allowed 512 Kbps to 1023 Mbps"),
    (lambda r: r["hosts"][1].update(upload_threads=64), r"hosts\[1\] \(HV02\)\.upload_threads: 64 is outside the allowed 1-32"),
    (lambda r: r["hosts"][1].update(upload_threads=0), r"upload_threads: 0 is outside the allowed 1-32"),
    (lambda r: r["hosts"][0].update(link_rate="1 Gbps"), r"hosts\[0\] \(HV01\)\.link_rate: .*link rates are bits per second"),
    (lambda r: r["hosts"][0].pop("link_rate"), r"hosts\[0\] \(HV01\)\.link_rate is required \(or set default_link_rate\)"),
    (lambda r: r["vms"].append(dict(r["vms"][0])), r"vms\[4\] \(app01\): VM name is also used by vms\[0\] \(app01\)"),
    (lambda r: r.update(replication_interval=60), r"replication_interval: 60 is not one of 30, 300, 900 seconds"),
    (lambda r: r.update(start_time="next friday"), r"start_time: 'next friday' is not an ISO 8601 date-time"),
    (lambda r: r["vms"][0].update(disks=[]), r"vms\[0\] \(app01\)\.disks: a VM needs a non-empty list of disks"),
])
def test_bad_inputs_fail_with_clear_messages(change, message):
    request = estate()
    change(request)
    with pytest.raises(planner.PlanError, match=message):
        planner.plan_replication(request)


def test_host_info_results_are_adapted():
    facts = {  # the shape of host_info's normalised return (plugin_utils/host_facts.py)
        "computer_name": "HV05",
        "throttle": {"enabled": True, "work_days": ["Monday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
                     "work_hour_bandwidth": {"bytes_per_second": 524288, "kbps": 512},
                     "non_work_hour_bandwidth": {"bytes_per_second": 2097152, "kbps": 2048}},
        "upload_threads": {"value": 8, "configured": True},
        "vms": [{"name": "app05", "disks": [{"path": "D:\\VMs\\app05.vhdx", "size_bytes": 136365211648}], "disk_total_bytes": 136365211648}],
        "volumes": [{"name": "D:\\", "size_bytes": 2 * 1024 ** 4, "free_bytes": 1024 ** 4}],
    }
    plan = planner.plan_replication({"host_info": [facts], "default_link_rate": "1 Gbit/s", "vm_churn": {"app05": "0.1 MB/s"},
                                     "storage_account_count": 1, "storage_account_capacity": "1 TB"})
    host = plan["hosts"][0]
    assert host["name"] == "HV05" and host["upload_threads"] == 8
    assert host["throttle"]["work_hour_bandwidth"] == 524288 and host["throttle"]["work_days"] == ["Monday"]
    assert host["volumes"][0]["name"] == "D:\\" and host["volumes"][0]["free_bytes"] == 1024 ** 4
    assert plan["vms"][0]["bytes"] == 136365211648


def test_vms_from_csv():
    text = "name,host,disks,churn,volume\napp01,HV01,127 GB;500 GB,5 MB/s,D:\\\nweb01,HV02,60 GB,,\n"
    vms = planner.vms_from_csv(text)
    assert vms[0] == {"name": "app01", "host": "HV01", "churn": "5 MB/s",
                      "disks": [{"size": "127 GB", "volume": "D:\\"}, {"size": "500 GB", "volume": "D:\\"}]}
    assert vms[1]["disks"] == ["60 GB"] and vms[1]["churn"] is None       # not given: default_churn applies
    with pytest.raises(planner.PlanError, match="CSV header lacks column"):
        planner.vms_from_csv("vm,host\na,b\n")


def test_planned_wave_matches_the_shared_model():
    """The plan's VM finish times are the model's simulate_wave on the same link, with the VMs' churn (what the lab runs)."""
    plan = planner.plan_replication(estate())
    link = model.HostLink(link_bps=62_500_000.0, threads_per_vm=4,
                          schedule=model.ThrottleSchedule(enabled=True, work_days=planner.DEFAULT_WORK_DAYS,
                                                          work_hour_bandwidth=10 * MIB, non_work_hour_bandwidth=50 * MIB))
    start = planner.parse_time("2025-03-03T00:00:00", "start")
    finishes = model.simulate_wave(link, {"web01": 50 * GIB, "web02": 70 * GIB}, start, churn_bps={"web01": 10 * GIB / 86400})
    planned = {vm["name"]: vm["finish_s"] for vm in plan["vms"] if vm["host"] == "HV02"}
    assert planned == pytest.approx({name: finish - start for name, finish in finishes.items()}, abs=1e-3)


def test_timeline_svg_is_well_formed():
    svg = render_timeline(planner.plan_replication(estate()))
    document = xml.dom.minidom.parseString(svg)
    assert document.documentElement.tagName == "svg"
    assert len(document.getElementsByTagName("rect")) == 3     # background + one bar per host part (one wave each)
    assert "wave-01 on HV01" in svg


def test_the_largest_vms_bound_is_met_by_one_wave_and_beaten_by_no_plan():
    """On a 10 Gbit/s host the largest VMs finish one by one at their caps: the bound counts that idle link time."""
    sizes = [1000, 700, 600, 550, 500, 480, 450]
    request = estate(vms=[{"name": "vm%d" % index, "host": "HV10", "disks": ["%d GB" % size], "churn": "0"}
                          for index, size in enumerate(sizes)],
                     hosts=[{"name": "HV10", "link_rate": "10 Gbit/s"}], storage_account_capacity="10 TB")
    host = planner.plan_replication(request)["hosts"][0]
    rate, cap = 10e9 / 8 * 0.9, 32 * 8 * MIB
    assert host["upload_threads"] == 32 and host["waves"] == 1
    # 4,280 GiB at the link rate, plus the link time left idle while 1 to 4 VMs are left at their caps (four
    # caps, 1,074 MB/s, are still below the 1,125 MB/s of the link).
    idle = sum((sizes[k - 1] - sizes[k]) * GIB * (1 / cap - k / rate) for k in (1, 2, 3, 4))
    assert host["largest_vms_bound_s"] == pytest.approx(sum(sizes) * GIB / rate + idle, abs=1e-3)
    assert host["makespan_s"] == pytest.approx(host["largest_vms_bound_s"], abs=1e-3)     # one wave meets it
    assert host["largest_vm_bound_s"] < host["lower_bound_s"] < host["largest_vms_bound_s"]
    assert host["lower_bound_reachable"] is False


def test_no_plan_beats_the_largest_vms_bound():
    rng = random.Random(20250307)
    for _case in range(40):
        vms = [{"name": "vm%02d" % number, "host": "HV10", "disks": ["%d GB" % rng.randint(20, 2000)],
                "churn": "%.2f MB/s" % rng.choice((0, 0, 0.5, 2))} for number in range(rng.randint(1, 16))]
        host_entry = {"name": "HV10", "link_rate": rng.choice(("2 Gbit/s", "10 Gbit/s", "40 Gbit/s")),
                      "upload_threads": rng.choice((4, 16, 32)), "max_vms_per_wave": rng.randint(1, 10)}
        if rng.random() < 0.3:
            host_entry["throttle"] = {"work_rate": "50 Mbps", "non_work_rate": "1023 Mbps"}
        plan = planner.plan_replication(estate(vms=vms, hosts=[host_entry], storage_account_capacity="100 TB",
                                               start_time=rng.choice(("2025-03-07T18:00:00", "2025-03-03T09:00:00"))))
        host = plan["hosts"][0]
        assert host["makespan_s"] >= host["largest_vms_bound_s"] * (1 - 1e-9), host
        assert host["largest_vms_bound_s"] >= host["largest_vm_bound_s"]
