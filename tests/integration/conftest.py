"""Fixtures for the integration tests: one lab per session, and ansible-playbook run against it.

    def test_something(lab, ansible_playbook):
        run = ansible_playbook("playbooks/throttle.yml", extra_vars={...}, check=True, diff=True, limit="HV01")
        assert run.rc == 0, run.output
        run.stats["HV01"]["changed"], run.result("HV01", "Set the throttle")["after"]

ansible-playbook runs as a subprocess with the collection from .collections, the lab's inventory and
the real winrm connection; a small callback (callback_plugins/integration_results.py) records every
task result and the recap as JSON next to the usual output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
PROJECT_ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

# pylint: disable=wrong-import-position
from harness.playbook import PlaybookRun, playbook_command, playbook_env, run_playbook, write_vars  # noqa: E402
from labfixture import LabProcess  # noqa: E402

PLAYBOOK_TIMEOUT_S = 300


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    # No fixed addresses: labfixture picks a free 127.0.N prefix, so test sessions can run side by side.
    process = LabProcess.start(tmp_path_factory.mktemp("integration-lab"))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def ansible_playbook(lab, tmp_path_factory):
    """run(playbook, extra_vars=None, check=False, diff=False, limit=None, verbosity=0, *args) -> PlaybookRun."""
    work = tmp_path_factory.mktemp("ansible-playbook")
    counter = iter(range(1, 1_000_000))

    def run(playbook, *args, extra_vars=None, check=False, diff=False, limit=None, verbosity=0) -> PlaybookRun:
        number = next(counter)
        results_path = work / f"results-{number}.json"
        vars_paths = [write_vars(work / f"vars-{number}.json", extra_vars)] if extra_vars is not None else []
        options = (["--limit", limit] if limit else []) + (["-" + "v" * verbosity] if verbosity else []) + list(args)
        command = playbook_command(playbook, str(lab.inventory), vars_paths, check, diff, options)
        return run_playbook(command, playbook_env(lab.ansible_env(), results_path), results_path, PLAYBOOK_TIMEOUT_S)

    return run
