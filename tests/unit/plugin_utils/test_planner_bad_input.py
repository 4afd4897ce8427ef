"""The replication planner refuses wrong input before planning, in the option's own words.

Each case is a small valid estate with one thing made wrong. The planner must raise PlanError naming
the option (its path in the request), echoing the value as it was given, and saying what is allowed;
it must never quietly replace the value by a default or guess a unit. The playbook side (the action
and playbooks/plan.yml writing no files) is tests/integration/test_replication_plan_bad_input.py.
"""

import re

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils import bandwidth
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _planner as planner


def estate(**overrides):
    request = {
        "vms": [
            {"name": "app01", "host": "HV01", "disks": [{"size": "100 GB", "volume": "D:\\"}], "churn": "1 MB/s"},
            {"name": "web01", "host": "HV02", "disks": ["50 GB"], "churn": "10 GB/day"},
        ],
        "hosts": [
            {"name": "HV01", "link_rate": "1 Gbit/s", "volumes": [{"name": "D:\\", "free": "2 TB"}]},
            {"name": "HV02", "link_rate": "500 Mbit/s",
             "throttle": {"work_rate": "10 Mbps", "non_work_rate": "50 Mbps"}},
        ],
        "storage_account_count": 1,
        "storage_account_capacity": "1 TB",
    }
    request.update(overrides)
    return request


def vm(request, index=0):
    return request["vms"][index]


def host(request, index=0):
    return request["hosts"][index]


# (id, change to the valid estate, the message the planner must give: option, value as given, what is allowed)
CASES = [
    ("wave size zero", lambda r: r.update(max_vms_per_wave=0),
     r"^max_vms_per_wave: 0 is not allowed; give a whole number of at least 1$"),
    ("wave size negative", lambda r: r.update(max_vms_per_wave=-3),
     r"^max_vms_per_wave: -3 is not allowed; give a whole number of at least 1$"),
    ("host wave size zero", lambda r: host(r).update(max_vms_per_wave=0),
     r"^hosts\[0\] \(HV01\)\.max_vms_per_wave: 0 is not allowed; give a whole number of at least 1$"),
    ("link efficiency zero", lambda r: r.update(link_efficiency=0),
     r"^link_efficiency: 0 is not allowed; give a share of the link above 0 and at most 1"),
    ("link efficiency negative", lambda r: r.update(link_efficiency=-0.5),
     r"^link_efficiency: -0\.5 is not allowed; give a share of the link above 0 and at most 1"),
    ("link efficiency above one", lambda r: r.update(link_efficiency=1.5),
     r"^link_efficiency: 1\.5 is not allowed"),
    ("default churn negative", lambda r: [vm(r).pop("churn"), r.update(default_churn="-2 MB/s")],
     r"^default_churn: churn '-2 MB/s' is negative; it must be zero or more$"),
    ("default churn without unit", lambda r: r.update(default_churn="5"),
     r"^default_churn: churn '5' has no unit; give one of a size per s, h or day"),
    ("vm churn override without unit", lambda r: r.update(vm_churn={"app01": "3"}),
     r"^vm_churn\.app01: churn '3' has no unit"),
    ("disk of zero bytes", lambda r: vm(r, 1).update(disks=["0 GB"]),
     r"^vms\[1\] \(web01\)\.disks\[0\]: size '0 GB' must be above zero; a disk of 0 bytes has nothing to replicate$"),
    ("disk larger than a VHDX", lambda r: vm(r).update(disks=[{"size": "65 TB", "volume": "D:\\"}]),
     r"^vms\[0\] \(app01\)\.disks\[0\]\.size: size '65 TB' is above 64 TB, the largest virtual disk Hyper-V has"),
    ("disk size without unit", lambda r: vm(r, 1).update(disks=["127"]),
     r"^vms\[1\] \(web01\)\.disks\[0\]: size '127' has no unit; give one of B, KB, MB, GB, TB or PB"),
    ("link rate without unit", lambda r: host(r).update(link_rate="100"),
     r"^hosts\[0\] \(HV01\)\.link_rate: link rate '100' has no unit; give one of bit/s, kbit/s, Mbit/s, Gbit/s or Tbit/s"),
    ("default link rate without unit", lambda r: [host(r).pop("link_rate"), r.update(default_link_rate="1000000000")],
     r"^default_link_rate: link rate '1000000000' has no unit"),
    ("link rate negative", lambda r: host(r).update(link_rate="-1 Gbit/s"),
     r"^hosts\[0\] \(HV01\)\.link_rate: link rate '-1 Gbit/s' must be above zero$"),
    ("link rate zero", lambda r: host(r).update(link_rate="0 Gbit/s"),
     r"^hosts\[0\] \(HV01\)\.link_rate: link rate '0 Gbit/s' must be above zero$"),
    ("link rate in the throttle's units", lambda r: host(r).update(link_rate="1 Gbps"),
     r"^hosts\[0\] \(HV01\)\.link_rate: link rate '1 Gbps' has unit 'gbps'.*link rates are bits per second"),
    ("throttle rate without unit", lambda r: host(r, 1)["throttle"].update(work_rate=512),
     r"^hosts\[1\] \(HV02\)\.throttle\.work_rate: throttle rate 512 has no unit; give one of Kbps, Mbps or Gbps"),
    ("throttle work hours backwards", lambda r: host(r, 1)["throttle"].update(work_start="18:00", work_end="08:00"),
     r"^hosts\[1\] \(HV02\)\.throttle: work_start '18:00' must be before work_end '08:00'$"),
    ("throttle hour not a time", lambda r: host(r, 1)["throttle"].update(work_end="25:00"),
     r"^hosts\[1\] \(HV02\)\.throttle\.work_end: time of day '25:00' is outside 00:00-24:00$"),
    ("throttle without work days", lambda r: host(r, 1)["throttle"].update(work_days=[]),
     r"^hosts\[1\] \(HV02\)\.throttle\.work_days: \[\]; give a list of days .* or omit it for Monday to Friday$"),
    ("per-thread rate without unit", lambda r: r.update(per_thread_rate="8"),
     r"^per_thread_rate: per-thread rate '8' has no unit"),
    ("per-thread rate zero", lambda r: r.update(per_thread_rate="0 MB/s"),
     r"^per_thread_rate: '0 MB/s' must be above zero"),
    ("replication interval zero", lambda r: r.update(replication_interval=0),
     r"^replication_interval: 0 is not one of 30, 300, 900 seconds$"),
    ("volume free space without unit", lambda r: host(r)["volumes"][0].update(free="2000"),
     r"^hosts\[0\] \(HV01\)\.volumes\[0\]\.free: size '2000' has no unit"),
    ("volume listed twice", lambda r: host(r)["volumes"].append({"name": "D:\\", "free": "1 TB"}),
     r"^hosts\[0\] \(HV01\)\.volumes\[1\]: volume 'D:\\\\' is listed twice for this host"),
    ("storage capacity zero", lambda r: r.update(storage_account_capacity="0 TB"),
     r"^storage_account_capacity: '0 TB' must be above zero"),
    ("storage account capacity without unit", lambda r: r.update(
        storage_account_count=None, storage_account_capacity=None, storage_accounts=[{"name": "log01", "capacity": "5000"}]),
     r"^storage_accounts\[0\]\.capacity: size '5000' has no unit"),
    ("storage account count not a number", lambda r: r.update(storage_account_count=True),
     r"^storage_account_count: True; the plan needs at least one log storage account"),
]


@pytest.mark.parametrize(("change", "message"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_before_planning_naming_the_option(change, message):
    request = estate()
    planner.plan_replication(request)          # the estate itself is valid
    change(request)
    with pytest.raises(planner.PlanError) as refused:
        planner.plan_replication(request)
    assert re.search(message, str(refused.value)), str(refused.value)


def test_zero_where_zero_means_something_is_planned():
    """Zero churn (a VM that does not write) and zero free space (a full volume) are real and documented."""
    request = estate(default_churn="0")
    vm(request).pop("churn")
    host(request)["volumes"][0]["free"] = "0"
    plan = planner.plan_replication(request)
    app01 = next(row for row in plan["vms"] if row["name"] == "app01")
    assert app01["delta"]["churn_bps"] == 0
    volume = plan["hosts"][0]["volumes"][0]
    assert volume["free_bytes"] == 0 and volume["ok"] is False
    assert any("HV01 volume D:\\: needs 100 GB free" in warning for warning in plan["warnings"])


def test_defaults_apply_only_where_the_option_is_absent():
    """None (the option left out) takes the default; the same option given as 0 is refused, never replaced."""
    plan = planner.plan_replication(estate(max_vms_per_wave=None, link_efficiency=None, replication_interval=None))
    assert plan["replication_interval"] == planner.DEFAULT_REPLICATION_INTERVAL
    assert plan["hosts"][0]["usable_bps"] == pytest.approx(125e6 * 0.9)
    for option in ("max_vms_per_wave", "link_efficiency", "replication_interval"):
        with pytest.raises(planner.PlanError, match="^%s: 0 " % option):
            planner.plan_replication(estate(**{option: 0}))


def test_a_csv_row_without_churn_takes_default_churn():
    rows = planner.vms_from_csv("name,host,disks,churn\napp01,HV01,100 GB,\nweb01,HV02,50 GB,1 MB/s\n")
    plan = planner.plan_replication(estate(vms=rows, default_churn="2 MB/s"))
    churn = {row["name"]: row["delta"]["churn_bps"] for row in plan["vms"]}
    assert churn == {"app01": 2 * bandwidth.MIB, "web01": 1 * bandwidth.MIB}


def test_host_info_byte_counts_need_no_unit_from_the_user():
    """host_info reports bytes as numbers; the adapter says so, so the unit rule does not refuse them."""
    facts = {"computer_name": "HV05", "vms": [{"name": "app05", "disks": [{"path": "D:\\app05.vhdx", "size_bytes": 136365211648}]}],
             "volumes": [{"name": "D:\\", "free_bytes": 1024 ** 4}]}
    plan = planner.plan_replication({"host_info": [facts], "default_link_rate": "1 Gbit/s",
                                     "storage_account_count": 1, "storage_account_capacity": "1 TB"})
    assert plan["vms"][0]["bytes"] == 136365211648 and plan["hosts"][0]["volumes"][0]["free_bytes"] == 1024 ** 4


def test_a_churn_too_high_is_echoed_as_given():
    request = estate()
    vm(request, 1)["churn"] = "4000 GB/day"
    with pytest.raises(planner.PlanError, match=r"^vms \(web01\): churn 4000 GB/day \(47\.41 MB/s\) is above"):
        planner.plan_replication(request)
