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

from ansible_collections.azmigrate.hyperv.plugins.module_utils._replication_wait import (
    MIN_POLL_INTERVAL, WAITING_STATES, verdict,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._rounds import RoundsAction

DEFAULT_POLL_INTERVAL = 60


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


class ActionModule(RoundsAction):
    MODULE = "azmigrate.hyperv.replication_wait"
    STEP = "replication"
    DEFAULT_TIMEOUT = 86400

    def option_problems(self, args):
        value = args.get("poll_interval", DEFAULT_POLL_INTERVAL)
        if poll_seconds(value) is None:
            return [f"poll_interval is {value!r}; it must be a number of seconds, at least {MIN_POLL_INTERVAL}"]
        return []

    def round_length(self, args, options):
        # A round holds at least one poll interval, so rounds never read more often than the interval.
        return max(options.progress_seconds, math.ceil(poll_seconds(args.get("poll_interval", DEFAULT_POLL_INTERVAL))))

    def round_args(self, args, budget):
        return dict(args, timeout=budget.timeout, round_seconds=budget.round_seconds)

    def read(self, outcome):
        return "vms" in outcome

    def follow(self, args, options, rounds, show):
        started = time.monotonic()
        counts = {"polls": 0, "read_errors": 0}
        shown: dict[str, str] = {}
        last = {}
        for last in rounds:
            counts["polls"] += last.get("polls", 0)
            counts["read_errors"] += last.get("read_errors", 0)
            for line in lines_to_show(last["vms"], shown):
                show(line)
            if last.get("finished") or last.get("failed"):   # no VM waits, or the module saw the time run out
                break
        elapsed = time.monotonic() - started
        result = {key: value for key, value in last.items() if key not in ("failed", "msg", "invocation")}
        result.update(counts, rounds=self.rounds, elapsed_seconds=round(elapsed, 1))
        if result.get("finished") or options.round_seconds is None or elapsed >= options.timeout:   # the wait is over
            message = verdict(list(args.get("vms") or []), result.get("vms") or [], elapsed, result.get("last_error"))
            if message:
                result.update(failed=True, msg=message)
        return result


def poll_seconds(value) -> float | None:
    """``value`` as seconds between two reads, or None when it is not a number of at least MIN_POLL_INTERVAL."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= MIN_POLL_INTERVAL else None
