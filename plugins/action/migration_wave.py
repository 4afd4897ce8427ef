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

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.wave_options import VERDICTS
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._rounds import RoundsAction


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


def wave_vms(vms: t.Any) -> list:
    """The task's ``vms`` as a list, as the module reads them (a string is a comma-separated list)."""
    if isinstance(vms, str):
        return [vm.strip() for vm in vms.split(",") if vm.strip()]
    return list(vms) if isinstance(vms, (list, tuple)) else []


class ActionModule(RoundsAction):
    MODULE = "azmigrate.hyperv.migration_wave"
    DEFAULT_TIMEOUT = 3600

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = time.monotonic()
        self.rows: dict[str, dict] = {}   # VM name -> its result merged over the rounds
        self.pending: list | None = None  # the VMs of the next round: every VM, then those still running
        self.offset = 0.0                 # when the last round started, in seconds since the task started

    def step(self, args):
        return str(args.get("operation"))

    def round_args(self, args, budget):
        self.offset = time.monotonic() - self.started
        if self.pending is None:
            self.pending = wave_vms(args.get("vms")) or args.get("vms")   # not a list: the module names the problem
        return dict(args, vms=self.pending, timeout=budget.timeout, round_seconds=budget.round_seconds)

    def read(self, outcome):
        # An answer without a summary could not read the vault (its VMs came back unread).
        return "summary" in outcome

    def follow(self, args, options, rounds, show):
        throttled = 0
        for outcome in rounds:
            throttled += outcome.get("throttled", 0)
            for row in outcome["vms"]:
                self.rows[row["name"]] = merge_row(self.rows.get(row["name"]), row, self.offset)
                show(row["progress_line"])
            running = {row["name"] for row in outcome["vms"] if row.get("verdict") == "running"}
            self.pending = [vm for vm in self.pending if vm_name(vm) in running]
            if not self.pending:
                break
        return wave_result(self.names(args), self.rows, self.rounds, throttled, time.monotonic() - self.started)

    def failed(self, args, exc):
        merged = {"vms": [self.rows[name] for name in self.names(args) if name in self.rows]} if self.rows else {}
        return dict(exc.outcome, rounds=exc.rounds, **merged)

    @staticmethod
    def names(args):
        return [vm_name(vm) for vm in wave_vms(args.get("vms"))]
