# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Long waits in rounds, with progress lines while they run.

A module prints nothing until it returns, so an action plugin that must show progress during a long wait runs its
module in rounds - each a module run that returns after at most a round's seconds - and prints one line per VM after
each round. The rounds are one flat loop bounded by the wait's timeout (no task includes another), so a wait of any
length adds no nesting and costs the same per round. ``Display().display`` in a worker process is sent to the main
process, which prints it at once (and ansible-runner turns it into a ``verbose`` event), so the lines appear while the
task still runs.

Everything here but ``progress_printer`` is a pure function of its arguments and the clock it is given, tested in
tests/unit/plugin_utils/test_rounds.py.
"""

from __future__ import annotations

import collections.abc
import math
import time
import typing as t

from ansible.utils.display import Display

# Rounds in a row whose module read no VM (Azure unreachable, credentials refused) that end the wait.
FAILED_ROUNDS_IN_A_ROW = 3


class RoundBudget(t.NamedTuple):
    """What one round may take: ``timeout`` (the wait's seconds left) and ``round_seconds`` (this round's), both
    whole seconds of at least 1, as the modules take them."""

    timeout: int
    round_seconds: int


def round_budgets(timeout: float, progress_seconds: int, round_seconds: int | None = None,
                  clock: collections.abc.Callable[[], float] = time.monotonic) -> collections.abc.Iterator[RoundBudget]:
    """Yield one budget per round, until the caller stops or the time is up.

    The wait lasts ``timeout`` seconds in all; with ``round_seconds`` the caller wants to get control back after
    that many seconds, even with VMs still waiting. Each round lasts at most ``progress_seconds``. At least one round
    is always yielded, so a wait whose time is up still reads where each VM is.
    """
    started = clock()
    deadline = started + timeout
    stop = min(deadline, started + round_seconds) if round_seconds else deadline
    first = True
    while True:
        now = clock()
        if not first and now >= stop:
            return
        first = False
        left_in_wait = deadline - now
        left_in_round = min(progress_seconds, stop - now)
        yield RoundBudget(timeout=max(1, math.ceil(left_in_wait)), round_seconds=max(1, math.ceil(left_in_round)))


class RoundsFailed(Exception):
    """The module read nothing in the first round, or in FAILED_ROUNDS_IN_A_ROW rounds in a row: ``outcome`` is its
    last answer, ``rounds`` how many rounds ran."""

    def __init__(self, outcome: dict, rounds: int) -> None:
        super().__init__(outcome.get("msg"))
        self.outcome = outcome
        self.rounds = rounds


def module_rounds(execute: collections.abc.Callable[[RoundBudget], dict], budgets: collections.abc.Iterable[RoundBudget],
                  read: collections.abc.Callable[[dict], bool],
                  show: collections.abc.Callable[[str], None]) -> collections.abc.Iterator[dict]:
    """Run the module once per budget (``execute``) and yield each answer that ``read`` the VMs.

    A round that read nothing is tried again in the next round - Azure may throttle or drop a connection for a while -
    except in the first round (bad input, refused credentials: nothing will change by trying again), and at most
    FAILED_ROUNDS_IN_A_ROW times in a row; then RoundsFailed ends the rounds.
    """
    in_a_row = 0
    for number, budget in enumerate(budgets, start=1):
        outcome = execute(budget)
        if read(outcome):
            in_a_row = 0
            yield outcome
            continue
        in_a_row += 1
        if number == 1 or in_a_row >= FAILED_ROUNDS_IN_A_ROW:
            raise RoundsFailed(outcome, number)
        show(f"reading the VMs failed, reading again in the next round: {outcome.get('msg', '')}")


def whole_seconds(value: t.Any) -> int | None:
    """``value`` as whole seconds (an int, or a string of digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def whole_seconds_problem(option: str, value: t.Any) -> str | None:
    """Why ``value`` of ``option`` is not a whole number of seconds of at least 1, or None."""
    seconds = whole_seconds(value)
    if seconds is None or seconds < 1:
        return f"{option} is {value!r}; it must be a whole number of seconds, at least 1"
    return None


def elapsed_text(seconds: float) -> str:
    """Seconds as H:MM:SS: 3725.2 -> "1:02:05"."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def progress_text(host: str, step: str, seconds: float, line: str) -> str:
    """One progress line: "[localhost] cutover 0:05:10 web01: planned_failover - Start failover (task 4 of 5)"."""
    return f"[{host}] {step} {elapsed_text(seconds)} {line}"


def progress_printer(host: str, step: str,
                     clock: collections.abc.Callable[[], float] = time.monotonic) -> collections.abc.Callable[[str], None]:
    """A function that prints one progress line of ``step`` on ``host`` now, with the time since it was made."""
    display = Display()
    started = clock()

    def show(line: str) -> None:
        display.display(progress_text(host, step, clock() - started, line))

    return show
