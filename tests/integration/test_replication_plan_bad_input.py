"""replication_plan through ansible-playbook: wrong input fails the task, names the option and writes nothing.

The action runs on the controller and needs no host, so these tests run ansible-playbook against
localhost without the lab. The pure planner's cases are tests/unit/plugin_utils/test_planner_bad_input.py;
here the same kinds of mistake go through the module's argument spec and the action, and through
playbooks/plan.yml, which writes its files only after a plan succeeds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CALLBACK_PLUGINS = Path(__file__).resolve().parent / "callback_plugins"
CASES_PLAYBOOK = "tests/integration/playbooks/replication_plan_cases.yml"
PLAN_PLAYBOOK = "playbooks/plan.yml"

VMS = [{"name": "app01", "host": "HV01", "disks": ["100 GB"], "churn": "1 MB/s"},
       {"name": "web01", "host": "HV01", "disks": ["50 GB"]}]
HOSTS = [{"name": "HV01", "link_rate": "1 Gbit/s"}]
VALID = {"vms": VMS, "hosts": HOSTS, "storage_account_count": 1, "storage_account_capacity": "1 TB"}

# (case, options changed from VALID, the message's start: the option and the value as given)
REFUSED = [
    ("link rate without unit", {"hosts": [{"name": "HV01", "link_rate": "100"}]},
     "hosts[0] (HV01).link_rate: link rate '100' has no unit; give one of bit/s, kbit/s, Mbit/s, Gbit/s or Tbit/s"),
    ("negative link rate", {"hosts": [{"name": "HV01", "link_rate": "-1 Gbit/s"}]},
     "hosts[0] (HV01).link_rate: link rate '-1 Gbit/s' must be above zero"),
    ("wave size zero", {"max_vms_per_wave": 0}, "max_vms_per_wave: 0 is not allowed; give a whole number of at least 1"),
    ("link efficiency zero", {"link_efficiency": 0}, "link_efficiency: 0.0 is not allowed"),
    ("default churn negative", {"default_churn": "-1 MB/s"}, "default_churn: churn '-1 MB/s' is negative"),
    ("zero-byte disk", {"vms": [{"name": "app01", "host": "HV01", "disks": ["0 GB"]}]},
     "vms[0] (app01).disks[0]: size '0 GB' must be above zero"),
    ("per-thread rate without unit", {"per_thread_rate": "8"}, "per_thread_rate: per-thread rate '8' has no unit"),
]


def run_playbook(playbook: str, extra_vars: dict, work: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """ansible-playbook on localhost (no inventory needed); returns the run and every recorded task result."""
    results = work / "results.json"
    variables = work / "vars.json"
    variables.write_text(json.dumps(extra_vars))
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(work),
           "ANSIBLE_COLLECTIONS_PATH": str(PROJECT_ROOT / ".collections"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(work / "tmp"), "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
           "ANSIBLE_CALLBACKS_ENABLED": "integration_results", "AZMIGRATE_TEST_RESULTS": str(results),
           "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_LOCALHOST_WARNING": "False",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False", "ANSIBLE_PYTHON_INTERPRETER": sys.executable}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(PROJECT_ROOT / playbook), "-e", f"@{variables}"]
    completed = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    recorded = json.loads(results.read_text())["results"] if results.exists() else []
    return completed, recorded


def test_each_wrong_option_fails_its_item_naming_the_option_and_the_value(tmp_path):
    cases = [{"case": "valid", **VALID}] + [{"case": case, **{**VALID, **change}} for case, change, _message in REFUSED]
    completed, recorded = run_playbook(CASES_PLAYBOOK, {"plan_cases": cases}, tmp_path)
    output = completed.stdout + completed.stderr
    items = next(entry["result"]["results"] for entry in recorded if entry["task"] == "Plan the case")
    by_case = {item["item"]["case"]: item for item in items}
    assert not by_case["valid"].get("failed"), output
    assert by_case["valid"]["totals"]["vms"] == 2 and by_case["valid"]["waves"], output
    for case, _change, message in REFUSED:
        item = by_case[case]
        assert item.get("failed") is True, f"{case} was planned: {item}"
        assert item["msg"].startswith(message), f"{case}: {item['msg']!r}"
        assert "waves" not in item and "totals" not in item, f"{case} returned a plan"


@pytest.mark.parametrize(("plan_vars", "message"), [
    ({"plan_hosts": [{"name": "HV01", "link_rate": "100"}]}, "hosts[0] (HV01).link_rate: link rate '100' has no unit"),
    ({"plan_max_vms_per_wave": 0}, "max_vms_per_wave: 0 is not allowed"),
    ({"plan_vms": [{"name": "app01", "host": "HV01", "disks": ["0 GB"]}]}, "vms[0] (app01).disks[0]: size '0 GB' must be above zero"),
], ids=["link rate without unit", "wave size zero", "zero-byte disk"])
def test_plan_playbook_writes_no_file_when_the_plan_is_refused(tmp_path, plan_vars, message):
    output_dir = tmp_path / "plan-output"
    variables = {"plan_vms": VMS, "plan_hosts": HOSTS, "plan_storage_account_count": 1,
                 "plan_storage_account_capacity": "1 TB", "plan_output_dir": str(output_dir), **plan_vars}
    completed, recorded = run_playbook(PLAN_PLAYBOOK, variables, tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    failed = [entry for entry in recorded if entry["status"] == "failed"]
    assert [entry["task"] for entry in failed] == ["Plan waves, capacity, delta replication, log space and storage accounts"], output
    assert failed[0]["result"]["msg"].startswith(message), failed[0]["result"]["msg"]
    assert not output_dir.exists(), sorted(str(path) for path in output_dir.rglob("*"))


def test_plan_playbook_writes_its_files_for_a_valid_plan(tmp_path):
    """The same run with valid input writes the four files: the refusals above are not a playbook that never writes."""
    output_dir = tmp_path / "plan-output"
    variables = {"plan_vms": VMS, "plan_hosts": HOSTS, "plan_storage_account_count": 1,
                 "plan_storage_account_capacity": "1 TB", "plan_output_dir": str(output_dir)}
    completed, _recorded = run_playbook(PLAN_PLAYBOOK, variables, tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert sorted(path.name for path in output_dir.iterdir()) == ["plan-full.yml", "plan-report.md", "plan-timeline.svg", "plan.yml"]
