"""azmigrate.hyperv.replication_wait on a lab of its own, run as AWX runs a job (ansible-runner, whose events carry
the time they were made and reach the test as they are made): the wait prints each VM's progress while it runs, not
after, and a wait of more than 300 polls finishes as one flat loop whose polls do not slow down.

The host's WAN link is throttled to a crawl, so the wave stays in initial replication for as long as the test wants;
once the lab has answered more than 300 listings of the vault, the link is opened and the wave finishes."""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from migration_lab import make_runner, replicate_vars, start_lab, vm_name
from azure_lab import RESOURCE_GROUP, VAULT, auth_defaults

ansible_runner = pytest.importorskip("ansible_runner")

pytestmark = pytest.mark.lab
PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "replication_wait.yml"
HOST = "HVQ01"
WAVE = [vm_name(HOST, 1), vm_name(HOST, 2)]
POLLS_WANTED = 300
POLL_INTERVAL_S = 0.15      # about 20 ARM reads a second: under ARM's read refill (25 a second), so no 429 slows it
PROGRESS_S = 2
LINE = re.compile(r"^\[localhost\] replication (\d+):(\d\d):(\d\d) (\S+): (\w+) (\d+)% health (\w+)")


@pytest.fixture(scope="module")
def crawling_wave(tmp_path_factory):
    """A lab whose wave replicates at one byte a second until the test opens the link."""
    work = tmp_path_factory.mktemp("replication-wait")
    lab = start_lab(work / "lab", hosts={HOST: len(WAVE)}, time_scale=60)
    lab.admin.post(f"/azure/hosts/{HOST}/link", {"bps": 1})
    run = make_runner(lab, work)
    enabled = run("playbooks/replicate.yml", extra_vars={**replicate_vars(lab, WAVE), "replicate_wait": False})
    assert enabled.rc == 0, enabled.output[-3000:]
    yield lab, work
    lab.stop()


def vault_listings(lab) -> int:
    """How many times the vault's protected items were listed: ASR answers every listing in pages and ends it with
    an empty page (lab/azure/asr_common.py), so a listing of a small vault is two requests."""
    routes = lab.admin.get("/azure/requests?since=0")["by_route"]
    return sum(count for route, count in routes.items()
               if route.startswith("GET ") and route.endswith("/replicationProtectedItems")
               and "replicationProtectionContainers" not in route) // 2


def test_progress_lines_arrive_while_a_wait_of_over_300_polls_runs_and_polls_do_not_slow_down(crawling_wave):
    lab, work = crawling_wave
    private = work / "runner"
    (private / "project").mkdir(parents=True)
    shutil.copy(PLAYBOOK, private / "project" / "replication_wait.yml")
    arrivals: list[tuple[float, dict]] = []     # (when the test received it, the event)

    def received(event: dict) -> bool:
        arrivals.append((time.monotonic(), event))
        return True

    listings_before = vault_listings(lab)
    started = time.monotonic()
    thread, runner = ansible_runner.run_async(
        private_data_dir=str(private), playbook="replication_wait.yml", inventory="localhost ansible_connection=local",
        quiet=True, timeout=600, event_handler=received,
        extravars={"azure_auth": auth_defaults(lab), "module_args": {
            "resource_group": RESOURCE_GROUP, "vault_name": VAULT, "vms": WAVE, "timeout": 900,
            "poll_interval": POLL_INTERVAL_S, "progress_seconds": PROGRESS_S}},
        envvars={"ANSIBLE_COLLECTIONS_PATH": str(PROJECT_ROOT / ".collections"), "ANSIBLE_NOCOLOR": "1",
                 "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    # The lab's count of vault listings, sampled while the wave crawls: one listing per poll.
    samples: list[tuple[float, int]] = []
    try:
        while thread.is_alive() and time.monotonic() - started < 400:
            samples.append((time.monotonic(), vault_listings(lab) - listings_before))
            if samples[-1][1] > POLLS_WANTED + 10:
                break
            time.sleep(0.5)
    finally:
        lab.admin.post(f"/azure/hosts/{HOST}/link", {"bps": 10 ** 10})    # the wave may finish now
    opened = time.monotonic()
    thread.join(300)
    assert not thread.is_alive() and runner.status == "successful", runner.stdout.read()[-3000:]

    # (b) More than 300 polls, as one task that ended on its condition, well within its bound.
    ended = next((when, event) for when, event in arrivals if event.get("event") == "runner_on_ok")
    result = ended[1]["event_data"]["res"]
    assert result["finished"] and result["polls"] > POLLS_WANTED, result
    assert all(vm["state"] == "protected" for vm in result["vms"]) and len(result["vms"]) == len(WAVE)
    assert result["rounds"] >= 2 and result["elapsed_seconds"] < 400
    assert vault_listings(lab) - listings_before >= result["polls"]
    # The polls do not slow down: the listing rate over the last quarter of the crawl is about the first quarter's.
    quarter = len(samples) // 4
    assert quarter >= 3, samples

    def rate(window):
        return (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
    assert rate(samples[-quarter:]) >= 0.6 * rate(samples[:quarter]), samples

    # (a) Progress lines per VM arrived as verbose events while the task ran, long before it ended.
    lines = [(when, event) for when, event in arrivals if event.get("event") == "verbose"
             and LINE.match(event.get("stdout", "").strip())]
    for vm in WAVE:
        mine = [(when, event) for when, event in lines if LINE.match(event["stdout"].strip()).group(4) == vm]
        waiting = [(when, event) for when, event in mine if " initial_replication " in event["stdout"]
                   or " enabling " in event["stdout"]]
        # Lines of the rounds before the link opened: printed, and received, while the task still ran.
        early = [(when, event) for when, event in waiting if when < opened]
        assert len(early) >= 3, [event["stdout"] for when, event in mine]
        assert all(event["created"] < ended[1]["created"] for when, event in early) and opened < ended[0]
        assert " protected 100% " in mine[-1][1]["stdout"]
    # The lines carry nothing secret: no credential of the task's auth options.
    secret = auth_defaults(lab).get("secret")
    assert not secret or all(secret not in event.get("stdout", "") for when, event in arrivals)
