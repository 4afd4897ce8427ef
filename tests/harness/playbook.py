"""ansible-playbook against a lab, the one way the suites run it.

ansible-playbook runs as a subprocess with the collection from .collections, the lab's environment
(LabProcess.ansible_env: inventory, CA, Azure endpoints) and a small callback
(tests/integration/callback_plugins/integration_results.py) that records every task result and the recap
as JSON next to the usual output; `run_playbook` returns them as a PlaybookRun.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
PROJECT_ROOT = TESTS.parent
CALLBACK_PLUGINS = TESTS / "integration" / "callback_plugins"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


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


def write_vars(path: Path, variables: dict[str, Any]) -> Path:
    """Extra vars as a file: it keeps values typed (JSON) and out of shell quoting."""
    path.write_text(json.dumps(variables))
    return path


def recorded_results(results_path: Path) -> dict:
    """What the callback recorded: {"results": [{host, task, status, result}, ...], "stats": {...}}."""
    return json.loads(results_path.read_text()) if results_path.exists() else {"results": [], "stats": {}}


def playbook_env(lab_env: dict[str, str], results_path: Path, drop: Iterable[str] = (),
                 extra: dict[str, str] | None = None) -> dict[str, str]:
    """The lab's ansible environment with the recording callback on, less the names in `drop`, plus `extra`."""
    env = {**lab_env, "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS), "ANSIBLE_CALLBACKS_ENABLED": "integration_results",
           "AZMIGRATE_TEST_RESULTS": str(results_path), "ANSIBLE_RETRY_FILES_ENABLED": "False"}
    for name in drop:
        env.pop(name, None)
    return {**env, **(extra or {})}


def playbook_command(playbook: str | Path, inventory: str, vars_paths: Iterable[Path] = (), check: bool = False,
                     diff: bool = False, args: Iterable[str] = ()) -> list[str]:
    command = [str(ANSIBLE_PLAYBOOK), str(PROJECT_ROOT / playbook), "-i", inventory]
    for vars_path in vars_paths:
        command += ["-e", f"@{vars_path}"]
    return command + ["--check"] * check + ["--diff"] * diff + list(args)


def run_playbook(command: list[str], env: dict[str, str], results_path: Path, timeout: float) -> PlaybookRun:
    """Run `command` (playbook_command) with `env` (playbook_env) from the project root; its PlaybookRun."""
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                               check=False)
    recorded = recorded_results(results_path)
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, recorded["results"], recorded["stats"])
