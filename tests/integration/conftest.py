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

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
PROJECT_ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from labfixture import LabProcess  # noqa: E402  pylint: disable=wrong-import-position

CALLBACK_PLUGINS = Path(__file__).resolve().parent / "callback_plugins"
PLAYBOOK_TIMEOUT_S = 300


@dataclass
class PlaybookRun:
    """One ansible-playbook run: exit code, output, task results and recap."""

    rc: int
    stdout: str
    stderr: str
    results: list[dict]
    stats: dict[str, dict]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def result(self, host: str, task: str | None = None) -> dict:
        """The result of ``task`` (default: the only task) on ``host``."""
        matches = [entry["result"] for entry in self.results if entry["host"] == host and (task is None or entry["task"] == task)]
        assert len(matches) == 1, f"{len(matches)} results for {host}/{task}:\n{self.output}"
        return matches[0]


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
    binary = Path(sys.executable).parent / "ansible-playbook"
    counter = iter(range(1, 1_000_000))

    def run(playbook, *args, extra_vars=None, check=False, diff=False, limit=None, verbosity=0) -> PlaybookRun:
        number = next(counter)
        results_path = work / f"results-{number}.json"
        command = [str(binary), str(PROJECT_ROOT / playbook), "-i", str(lab.inventory)]
        if extra_vars is not None:
            # A file keeps values typed (JSON) and out of shell quoting.
            vars_path = work / f"vars-{number}.json"
            vars_path.write_text(json.dumps(extra_vars))
            command += ["-e", f"@{vars_path}"]
        command += ["--check"] * check + ["--diff"] * diff + (["--limit", limit] if limit else [])
        command += ["-" + "v" * verbosity] if verbosity else []
        command += list(args)
        env = {**lab.ansible_env(), "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
               "ANSIBLE_CALLBACKS_ENABLED": "integration_results", "AZMIGRATE_TEST_RESULTS": str(results_path),
               "ANSIBLE_RETRY_FILES_ENABLED": "False"}
        completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT_S, check=False)
        recorded = json.loads(results_path.read_text()) if results_path.exists() else {"results": [], "stats": {}}
        return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, recorded["results"], recorded["stats"])

    return run
