# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.replication_wait: the module in rounds, one progress line per VM between them.

Runs the module ``azmigrate.hyperv.replication_wait`` (on the task's host, usually the controller) in rounds of at
most ``progress_seconds`` (and at least one poll interval): each round reads the wave every ``poll_interval`` seconds,
then the action prints a line for each VM still waiting and for each VM whose line changed. The rounds are one flat
loop bounded by ``timeout``; the verdict - every failed VM with its error, the VMs still waiting, the VMs missing -
is made once, over the whole wait.
"""

from __future__ import annotations

import math
import time

from ansible.plugins.action import ActionBase

from ansible_collections.azmigrate.hyperv.plugins.module_utils._replication_wait import WAITING_STATES, verdict
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._rounds import (
    RoundsFailed, module_rounds, progress_printer, round_budgets, whole_seconds, whole_seconds_problem,
)

MODULE = "azmigrate.hyperv.replication_wait"
DEFAULT_TIMEOUT = 86400
DEFAULT_POLL_INTERVAL = 60
DEFAULT_PROGRESS_SECONDS = 60


def lines_to_show(vms: list[dict], shown: dict[str, str]) -> list[str]:
    """The progress lines of a round: every VM still waiting, and any other VM whose line changed since it was last
    shown (``shown``: VM name -> line, updated)."""
    lines = []
    for vm in vms:
        line = vm["progress_line"]
        if vm["state"] in WAITING_STATES or shown.get(vm["vm_name"]) != line:
            lines.append(line)
            shown[vm["vm_name"]] = line
    return lines


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        args = dict(self._task.args)
        progress_seconds = args.get("progress_seconds", DEFAULT_PROGRESS_SECONDS)
        timeout, round_seconds = whole_seconds(args.get("timeout", DEFAULT_TIMEOUT)), whole_seconds(args.get("round_seconds"))
        try:
            poll_interval = float(args.get("poll_interval", DEFAULT_POLL_INTERVAL))
        except (TypeError, ValueError):
            poll_interval = None
        if (whole_seconds_problem("progress_seconds", progress_seconds) or timeout is None or poll_interval is None
                or (args.get("round_seconds") is not None and round_seconds is None)):
            # The module names what is wrong with them, before any request.
            return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        names = list(args.get("vms") or [])
        show = progress_printer((task_vars or {}).get("inventory_hostname", "localhost"), "replication")
        started = time.monotonic()
        # A round holds at least one poll interval, so rounds never poll more often than the interval.
        round_length = max(int(progress_seconds), math.ceil(poll_interval))
        counts = {"rounds": 0, "polls": 0, "read_errors": 0}
        shown: dict[str, str] = {}

        def execute(budget):
            counts["rounds"] += 1
            return self._execute_module(module_name=MODULE, module_args=dict(
                args, timeout=budget.timeout, round_seconds=budget.round_seconds), task_vars=task_vars)

        last = None
        try:
            for last in module_rounds(execute, round_budgets(timeout, round_length, round_seconds),
                                      lambda outcome: "vms" in outcome, show):
                counts["polls"] += last.get("polls", 0)
                counts["read_errors"] += last.get("read_errors", 0)
                for line in lines_to_show(last["vms"], shown):
                    show(line)
                if last.get("finished") or last.get("failed"):   # no VM waits, or the module saw the time run out
                    break
        except RoundsFailed as exc:
            return dict(exc.outcome, rounds=exc.rounds, **counts)
        elapsed = time.monotonic() - started
        result = {key: value for key, value in last.items() if key not in ("failed", "msg", "invocation")}
        result.update(counts, elapsed_seconds=round(elapsed, 1))
        if result["finished"] or round_seconds is None or elapsed >= timeout:   # the wait is over: its verdict
            message = verdict(names, result["vms"], elapsed, result.get("last_error"))
            if message:
                result.update(failed=True, msg=message)
        return result
