# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.migration_wave: the module in rounds, one progress line per VM between them.

Runs the module ``azmigrate.hyperv.migration_wave`` (on the task's host, usually the controller) in rounds of at most
``progress_seconds``: each round goes on with the VMs still running (a re-run continues each VM from where Azure says
it is and never starts a job twice), then prints each of those VMs' ``progress_line``. The rounds are one flat loop
bounded by ``timeout`` (and by ``round_seconds`` when given), so a wave of any length takes as many rounds as it needs.
The result is the module's, with each VM's rounds merged: steps, jobs and timeline add up.
"""

from __future__ import annotations

import time
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.azmigrate.hyperv.plugins.module_utils.asr_wave import VERDICTS
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._rounds import (
    RoundsFailed, module_rounds, progress_printer, round_budgets, whole_seconds, whole_seconds_problem,
)

MODULE = "azmigrate.hyperv.migration_wave"
DEFAULT_TIMEOUT = 3600
DEFAULT_PROGRESS_SECONDS = 60


def merge_row(before: dict | None, row: dict, offset: float) -> dict:
    """A VM's result over the rounds so far: ``row`` (this round's, which started ``offset`` seconds into the task)
    on top of ``before``. Steps, jobs and timeline add up; a round that only went on waiting for the job the previous
    round started adds no "wait" step; times count from the task's start."""
    timeline = [dict(entry, at=round(entry.get("at", 0) + offset, 1)) for entry in row.get("timeline") or []]
    if not before:
        return dict(row, timeline=timeline, elapsed_seconds=round(row.get("elapsed_seconds", 0) + offset, 1))
    steps = row.get("steps") or []
    if steps[:1] == ["wait"]:
        steps = steps[1:]
    return dict(row, steps=(before.get("steps") or []) + steps, jobs=(before.get("jobs") or []) + (row.get("jobs") or []),
                changed=bool(before.get("changed") or row.get("changed")),
                timeline=(before.get("timeline") or []) + timeline,
                elapsed_seconds=round(row.get("elapsed_seconds", 0) + offset, 1))


def wave_result(names: list[str], rows: dict[str, dict], rounds: int, throttled: int, elapsed: float) -> dict:
    """The task's result from each VM's merged row, in the order of the wave; fails as the module does when any VM
    failed or timed out."""
    vms = [rows[name] for name in names if name in rows]
    summary = {verdict: sum(1 for row in vms if row.get("verdict") == verdict) for verdict in VERDICTS}
    result = {"changed": any(row.get("changed") for row in vms), "vms": vms, "summary": summary,
              "finished": not summary["running"], "throttled": throttled, "rounds": rounds,
              "elapsed_seconds": round(elapsed, 1)}
    failed = [row for row in vms if row.get("failed")]
    if failed:
        result.update(failed=True, msg=f"{len(failed)} of {len(vms)} VM(s) failed: "
                                       + "; ".join(row.get("progress_line") or row["name"] for row in failed))
    return result


def vm_name(vm: t.Any) -> str:
    return vm.get("name") if isinstance(vm, dict) else vm


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        args = dict(self._task.args)
        progress_seconds = args.get("progress_seconds", DEFAULT_PROGRESS_SECONDS)
        problem = whole_seconds_problem("progress_seconds", progress_seconds)
        if problem:
            return {"failed": True, "changed": False, "msg": f"Invalid options: {problem}."}
        timeout, round_seconds = whole_seconds(args.get("timeout", DEFAULT_TIMEOUT)), whole_seconds(args.get("round_seconds"))
        if timeout is None or (args.get("round_seconds") is not None and (round_seconds is None or round_seconds < 1)):
            # The module names what is wrong with them, before any request.
            return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        names = [vm_name(vm) for vm in args.get("vms") or []]
        show = progress_printer((task_vars or {}).get("inventory_hostname", "localhost"), str(args.get("operation")))
        started = time.monotonic()
        rows: dict[str, dict] = {}
        pending = list(args.get("vms") or [])
        counts = {"rounds": 0, "throttled": 0}

        def execute(budget):
            counts["rounds"] += 1
            counts["offset"] = time.monotonic() - started
            round_args = dict(args, vms=pending, timeout=budget.timeout, round_seconds=budget.round_seconds)
            return self._execute_module(module_name=MODULE, module_args=round_args, task_vars=task_vars)

        # A round that answers without a summary could not read the vault (its VMs came back unread).
        rounds = module_rounds(execute, round_budgets(timeout, int(progress_seconds), round_seconds),
                               lambda outcome: "summary" in outcome, show)
        try:
            for outcome in rounds:
                counts["throttled"] += outcome.get("throttled", 0)
                for row in outcome["vms"]:
                    rows[row["name"]] = merge_row(rows.get(row["name"]), row, counts["offset"])
                    show(row["progress_line"])
                running = {row["name"] for row in outcome["vms"] if row.get("verdict") == "running"}
                pending = [vm for vm in pending if vm_name(vm) in running]
                if not pending:
                    break
        except RoundsFailed as exc:
            merged = {"vms": [rows[name] for name in names if name in rows]} if rows else {}
            return dict(exc.outcome, rounds=exc.rounds, **merged)
        return wave_result(names, rows, counts["rounds"], counts["throttled"], time.monotonic() - started)
