"""The planner takes a throttle in upload_throttle's option names; the older names stay accepted for one release."""

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _planner as planner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "planner"
PLAYBOOK_VARS = Path(__file__).resolve().parents[3] / "playbooks" / "vars" / "plan_example.yml"


def golden(name):
    return json.loads((FIXTURES / f"golden_{name}.json").read_text())


def renamed(request, names):
    """The request with every host throttle's keys renamed (``names``: old -> new)."""
    request = copy.deepcopy(request)
    for host in request["hosts"]:
        if "throttle" in host:
            host["throttle"] = {names.get(key, key): value for key, value in host["throttle"].items()}
    return request


TO_NEW = {old: new for new, old in planner.THROTTLE_ALIASES.items()}


@pytest.mark.parametrize("name", ["start_time", "target_window"])
def test_upload_throttle_names_plan_as_the_older_ones(name):
    fixture = golden(name)
    old_spelling = fixture["request"]
    assert any("work_rate" in host.get("throttle", {}) for host in old_spelling["hosts"])
    new_spelling = renamed(old_spelling, TO_NEW)
    assert planner.plan_replication(new_spelling) == planner.plan_replication(old_spelling)
    assert planner.read(new_spelling).deprecated_keys == ()
    assert planner.read(old_spelling).deprecated_keys == ("non_work_rate", "work_end", "work_rate", "work_start")


@pytest.mark.parametrize("key", sorted(planner.THROTTLE_ALIASES))
def test_both_names_of_one_throttle_key_are_refused_naming_both(key):
    request = renamed(golden("start_time")["request"], TO_NEW)
    host = next(host for host in request["hosts"] if "throttle" in host)
    alias = planner.THROTTLE_ALIASES[key]
    host["throttle"][alias] = host["throttle"][key]
    with pytest.raises(planner.PlanError, match=rf"^hosts\[\d+\] \({host['name']}\)\.throttle: gives both {key} .* and {alias} .*; give only {key}"):
        planner.plan_replication(request)


def test_recommended_throttle_is_upload_throttle_options():
    """What recommended_throttle holds can be passed to upload_throttle (and back to the planner) as it is."""
    plan = planner.plan_replication(golden("start_time")["request"])
    throttled = [host["recommended_throttle"] for host in plan["hosts"] if host["recommended_throttle"]["enabled"]]
    assert throttled
    for recommended in throttled:
        assert set(recommended) == {"enabled", "work_days", "work_hour_start", "work_hour_end", "work_hour_bandwidth",
                                    "non_work_hour_bandwidth", "reason"}
        assert recommended["work_hour_bandwidth"].endswith("bps")      # the agent's units, never a bare number (Kbps to upload_throttle)


def test_the_example_vars_use_upload_throttle_names():
    text = PLAYBOOK_VARS.read_text()
    assert "work_hour_bandwidth:" in text and "work_rate:" not in text


def throttled_request(**throttle):
    request = renamed(golden("no_start")["request"], TO_NEW)
    request["hosts"][0]["throttle"] = {"work_hour_bandwidth": "20 Mbps", "non_work_hour_bandwidth": "400 Mbps", **throttle}
    return request


@pytest.mark.parametrize(("throttle", "message"), [
    ({"work_hour_start": "12:75"}, r"\.throttle\.work_hour_start: time of day '12:75' is not HH:MM or HH:MM:SS$"),
    ({"work_start": "8:5"}, r"\.throttle\.work_start: time of day '8:5' is not HH:MM or HH:MM:SS$"),
    ({"work_days": ["Mon", "Tuesday"]}, r"\.throttle: 'Mon' is not a day of the week \(Sunday, Monday, .*Saturday\)$"),
])
def test_work_hours_and_days_are_what_set_obmachinesetting_takes(throttle, message):
    """-StartWorkHour/-EndWorkHour are TimeSpans (minutes and seconds 00-59) and -WorkDay DayOfWeek names, not abbreviations."""
    with pytest.raises(planner.PlanError, match=message):
        planner.plan_replication(throttled_request(**throttle))


def test_a_week_starting_on_sunday_is_reported_in_dayofweek_order():
    plan = planner.plan_replication(throttled_request(work_days=["Saturday", "Sunday", "monday"]))
    host = next(host for host in plan["hosts"] if host["throttle"]["enabled"])
    assert host["throttle"]["work_days"] == ["Sunday", "Monday", "Saturday"]
    assert host["recommended_throttle"]["work_days"] == ["Sunday", "Monday", "Saturday"]
