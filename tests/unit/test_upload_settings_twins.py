"""The lab's upload_threads_* and upload_throttle_* simulations behave as the scripts and the agent do.

The documents' shape is tests/unit/test_host_script_contracts.py's; here what the simulations store and
refuse, and that what they return reads back through the controller's planning as applied.
"""

import copy
import importlib
import re
from pathlib import Path

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import CONTRACTS
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import (
    plan_threads,
    plan_throttle,
    read_throttle,
    validate_throttle_options,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_ESTATE = REPO_ROOT / "lab" / "estates" / "demo.yml"

AGENT_PATH = "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"
# An installed, running agent (lab.hosts.patch format).
AGENT_INSTALLED = {
    "registry": {"HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Setup": {"InstallPath": AGENT_PATH}},
    "services": {"obengine": {"status": "Running", "start_type": "Automatic"}},
}


@pytest.fixture(name="lab")
def fixture_lab():
    """(scripts package, world, a demo host with the agent installed, run(name, params) -> document)."""
    if not DEMO_ESTATE.is_file():
        pytest.skip("the lab's demo estate does not exist yet")
    estate = importlib.import_module("lab.estate")
    scripts = importlib.import_module("lab.hosts.scripts")
    patch = importlib.import_module("lab.hosts.patch")
    world = estate.load_estate(DEMO_ESTATE)
    host = world.host("HV01")
    patch.patch_host(host, AGENT_INSTALLED)

    def run(name, params, on=host, agent_module_importable=True):
        version = CONTRACTS[name].version
        simulation = scripts.load(name, version)
        return simulation.run(scripts.ScriptContext(host=on, world=world, params=params, secrets={}, version=version,
                                                    agent_module_importable=agent_module_importable))

    return scripts, world, host, run


def test_threads_written_by_the_lab_read_back_as_planned(lab):
    _scripts, _world, host, run = lab
    before = run("upload_threads_read", {})
    assert before["replication_registry"] == {"UploadThreadsPerVM": None, "DownloadThreadsPerVM": None}
    plan = plan_threads(before, {"UploadThreadsPerVM": 16, "DownloadThreadsPerVM": 6})
    after = run("upload_threads_set", {"writes": plan.writes})
    assert after["replication_registry"]["UploadThreadsPerVM"] == {"data": 16, "kind": "DWord"}
    # What the write replaced is the read before it, so a write sent without that read still tells what it changed.
    assert after["replaced"] == before and plan_threads(after["replaced"], plan.writes).changed
    assert not plan_threads(run("upload_threads_read", {}), {"UploadThreadsPerVM": 16, "DownloadThreadsPerVM": 6}).changed
    assert host.registry.get_value("HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication", "DownloadThreadsPerVM") == 6


def test_the_lab_replaces_a_string_value_with_a_dword(lab):
    _scripts, _world, host, run = lab
    host.registry.set_value("HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication", "UploadThreadsPerVM", "8")
    assert run("upload_threads_read", {})["replication_registry"]["UploadThreadsPerVM"] == {"data": "8", "kind": "String"}
    assert run("upload_threads_set", {"writes": {"UploadThreadsPerVM": 8}})["replication_registry"]["UploadThreadsPerVM"] == {"data": 8, "kind": "DWord"}


@pytest.mark.parametrize("writes", [{"UploadThreadsPerVM": 33}, {"UploadThreadsPerVM": True}, {"Other": 4}])
def test_the_lab_refuses_what_the_threads_script_refuses(lab, writes):
    scripts, _world, _host, run = lab
    with pytest.raises(scripts.ScriptFailed, match="refusing to write"):
        run("upload_threads_set", {"writes": writes})


def test_a_throttle_set_in_the_lab_reads_back_as_planned(lab):
    _scripts, _world, host, run = lab
    desired = validate_throttle_options({"enabled": True, "work_days": ["Monday", "Friday"], "work_hour_start": "08:00",
                                         "work_hour_end": "18:00", "work_hour_bandwidth": "512 Kbps", "non_work_hour_bandwidth": "2 Mbps"})
    current = read_throttle(run("upload_throttle_read", {})["throttle"])
    assert current is None
    plan = plan_throttle(current, desired)
    after = run("upload_throttle_set", plan.set_params)
    assert read_throttle(after["replaced"]["throttle"]) is None and after["replaced"]["agent"] == after["agent"]
    # Stored as Set-OBMachineSetting takes it: bytes per second.
    assert host.mars_settings["throttle"]["work_hour_bandwidth"] == 524288
    assert read_throttle(after["throttle"]) == desired
    assert not plan_throttle(read_throttle(run("upload_throttle_read", {})["throttle"]), desired).changed

    off = plan_throttle(desired, None)
    assert read_throttle(run("upload_throttle_set", off.set_params)["replaced"]["throttle"]) == desired
    # -NoThrottle: the agent keeps the last schedule (greyed out in its console), and the read says "off".
    assert host.mars_settings["throttle"]["enabled"] is False and host.mars_settings["throttle"]["work_hour_bandwidth"] == 524288
    assert read_throttle(run("upload_throttle_read", {})["throttle"]) is None


def get_throttle_setting_text():
    prelude = (REPO_ROOT / "plugins" / "plugin_utils" / "host_scripts" / "prelude.ps1").read_text(encoding="utf-8")
    start = prelude.index("function Get-ThrottleSetting {")
    return prelude[start:prelude.index("\n}\n", start)]


def test_the_script_reads_the_throttle_by_the_names_the_lab_agent_exposes_and_guesses_nothing():
    from lab.hosts.scripts.upload_throttle_read import THROTTLE_PROPERTIES

    body = get_throttle_setting_text()
    expected = re.search(r"\$expected = (.+)", body).group(1)
    assert re.findall(r"'([A-Za-z]+)'", expected) == list(THROTTLE_PROPERTIES)
    assert "$machineSetting.ThrottleSetting" in body
    # No wildcard matching of property names, and no "enabled" guessed from a bandwidth.
    assert "-like" not in body and "[bool]$" not in body
    assert "Get-PropertyNameList $machineSetting" in body and "Get-PropertyNameList $setting" in body


def test_an_agent_without_the_assumed_names_fails_the_read_listing_what_it_exposes(lab):
    scripts, _world, host, run = lab
    host.mars_settings["throttle_properties"] = ["WorkDay", "WorkHourBandwidth"]
    with pytest.raises(scripts.ScriptFailed) as failure:
        run("upload_throttle_read", {})
    assert "ThrottleSetting's are WorkDay, WorkHourBandwidth" in str(failure.value)


def test_the_lab_reads_no_throttle_without_the_agent_or_its_service(lab):
    _scripts, world, host, run = lab
    assert run("upload_throttle_read", {}, world.host("HV02")) == {"agent": None, "throttle": None}
    host.service("obengine").status = "Stopped"
    assert run("upload_throttle_read", {})["throttle"] is None


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"throttle": {"work_days": ["Monday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00", "work_hour_bandwidth": 524288}},
         "Parameter set cannot be resolved"),
        ({"throttle": {"work_days": ["Funday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
                       "work_hour_bandwidth": 524288, "non_work_hour_bandwidth": 524288}}, 'Cannot convert value "Funday"'),
        ({"throttle": {"work_days": ["Monday"], "work_hour_start": "8 am", "work_hour_end": "18:00:00",
                       "work_hour_bandwidth": 524288, "non_work_hour_bandwidth": 524288}}, "not recognized as a valid TimeSpan"),
        ({"throttle": {"work_days": ["Monday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
                       "work_hour_bandwidth": -1, "non_work_hour_bandwidth": 524288}}, 'to type "System.UInt32"'),
    ],
)
def test_the_lab_binds_set_obmachinesetting_parameters_as_the_cmdlet_does(lab, params, expected):
    scripts, _world, _host, run = lab
    with pytest.raises(scripts.ScriptFailed, match=expected):
        run("upload_throttle_set", params)


def test_the_lab_throttle_set_fails_as_the_script_does_without_the_agent(lab):
    scripts, world, _host, run = lab
    with pytest.raises(scripts.ScriptFailed, match="the Recovery Services agent is not installed"):
        run("upload_throttle_set", {"throttle": None}, world.host("HV02"))


def test_the_lab_throttle_set_changes_nothing_while_obengine_is_stopped(lab):
    scripts, _world, host, run = lab
    host.service("obengine").status = "Stopped"
    before = copy.deepcopy(host.mars_settings)
    throttle = {"work_days": ["Monday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
                "work_hour_bandwidth": 524288, "non_work_hour_bandwidth": 524288}
    with pytest.raises(scripts.ScriptFailed, match="service obengine is Stopped, not Running: start it"):
        run("upload_throttle_set", {"throttle": throttle})
    assert host.mars_settings == before


@pytest.mark.parametrize("name", ["upload_throttle_read", "upload_throttle_set"])
def test_the_agent_cmdlets_are_missing_where_powershell_cannot_load_its_module(lab, name):
    scripts, _world, host, run = lab
    params = {"throttle": None} if name == "upload_throttle_set" else {}
    before = copy.deepcopy(host.mars_settings)
    with pytest.raises(scripts.ScriptFailed, match="The term 'Get-OBMachineSetting' is not recognized"):
        run(name, params, agent_module_importable=False)
    assert host.mars_settings == before
