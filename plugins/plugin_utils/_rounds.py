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

``RoundsAction`` is the base of such actions; the rest are pure functions of their arguments and the clock they are
given (but ``progress_printer``, which prints), tested in tests/unit/plugin_utils/test_rounds.py.
"""

from __future__ import annotations

import collections.abc
import math
import time
import typing as t

from ansible.plugins.action import ActionBase
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
    FAILED_ROUNDS_IN_A_ROW times in a row; then RoundsFailed ends the rounds. So does a last round that read nothing.
    """
    in_a_row, number, outcome = 0, 0, {}
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
    if in_a_row:   # the time ran out while the VMs could not be read: their last state is unknown
        raise RoundsFailed(outcome, number)


def whole_seconds(value: t.Any) -> int | None:
    """``value`` as whole seconds (an int, or a string of digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


class RoundOptions(t.NamedTuple):
    """The options every waiting action takes: ``timeout`` (the wait in all), ``progress_seconds`` (a round at most),
    ``round_seconds`` (hand control back after that many seconds; None: wait to the end)."""

    timeout: int
    progress_seconds: int
    round_seconds: int | None


def round_options(args: dict, default_timeout: int, default_progress_seconds: int) -> tuple[RoundOptions | None, list[str]]:
    """The task's round options, or the problems with them (each naming the option, its value and what it takes)."""
    given = {"timeout": (args.get("timeout", default_timeout), 1),
             "progress_seconds": (args.get("progress_seconds", default_progress_seconds), 1),
             "round_seconds": (args.get("round_seconds"), 1)}
    values, problems = {}, []
    for option, (value, least) in given.items():
        seconds = whole_seconds(value)
        if value is None and option == "round_seconds":
            values[option] = None
        elif seconds is None or seconds < least:
            problems.append(f"{option} is {value!r}; it must be a whole number of seconds, at least {least}")
        else:
            values[option] = seconds
    return (None if problems else RoundOptions(**values)), problems


class RoundsAction(ActionBase):
    """An action that runs its module (MODULE) in rounds and prints each round's progress lines.

    A subclass says what a round's module arguments are (``round_args``), whether an answer read the VMs
    (``read``), and follows the rounds to the task's result (``follow``); ``failed`` makes the result of rounds that
    read nothing (RoundsFailed).
    """

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    MODULE = ""
    STEP = ""
    DEFAULT_TIMEOUT = 3600
    DEFAULT_PROGRESS_SECONDS = 60

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.rounds = 0

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        args = dict(self._task.args)
        options, problems = round_options(args, self.DEFAULT_TIMEOUT, self.DEFAULT_PROGRESS_SECONDS)
        problems += self.option_problems(args)
        if problems:
            return {"failed": True, "changed": False, "msg": f"Invalid options: {'; '.join(problems)}."}
        show = progress_printer((task_vars or {}).get("inventory_hostname", "localhost"), self.step(args))

        def execute(budget: RoundBudget) -> dict:
            self.rounds += 1
            return self._execute_module(module_name=self.MODULE, module_args=self.round_args(args, budget),
                                        task_vars=task_vars)

        budgets = round_budgets(options.timeout, self.round_length(args, options), options.round_seconds)
        try:
            return self.follow(args, options, module_rounds(execute, budgets, self.read, show), show)
        except RoundsFailed as exc:
            return self.failed(args, exc)

    def step(self, args: dict) -> str:
        """What the progress lines say the task does."""
        return self.STEP

    def option_problems(self, args: dict) -> list[str]:
        return []

    def round_length(self, args: dict, options: RoundOptions) -> int:
        return options.progress_seconds

    def round_args(self, args: dict, budget: RoundBudget) -> dict:
        raise NotImplementedError

    def read(self, outcome: dict) -> bool:
        raise NotImplementedError

    def follow(self, args: dict, options: RoundOptions, rounds: collections.abc.Iterator[dict],
               show: collections.abc.Callable[[str], None]) -> dict:
        raise NotImplementedError

    def failed(self, args: dict, exc: RoundsFailed) -> dict:
        return dict(exc.outcome, rounds=exc.rounds)


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
