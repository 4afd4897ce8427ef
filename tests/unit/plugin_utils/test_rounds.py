"""The rounds of a long wait (plugin_utils/_rounds.py): each round's budget, bounded by the wait's timeout and the
caller's round_seconds; rounds that read nothing; the progress line. A wait of any number of rounds is one flat loop."""

from __future__ import annotations

import sys

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._rounds import (
    FAILED_ROUNDS_IN_A_ROW, RoundBudget, RoundOptions, RoundsFailed, elapsed_text, module_rounds, progress_text,
    round_budgets, round_options, whole_seconds,
)


class FakeClock:
    """A clock that each round moves on by the round's seconds (the module took that long)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def take_rounds(budgets, clock, seconds_per_round=None, limit=100_000):
    taken = []
    for budget in budgets:
        taken.append(budget)
        clock.now += budget.round_seconds if seconds_per_round is None else seconds_per_round
        assert len(taken) < limit
    return taken


def test_rounds_last_progress_seconds_and_the_last_one_what_is_left_of_the_timeout():
    clock = FakeClock()
    taken = take_rounds(round_budgets(125, 60, clock=clock), clock)
    assert taken == [RoundBudget(125, 60), RoundBudget(65, 60), RoundBudget(5, 5)]


def test_round_seconds_hands_control_back_early_and_the_timeout_still_counts():
    clock = FakeClock()
    assert take_rounds(round_budgets(3600, 60, round_seconds=90, clock=clock), clock) == [
        RoundBudget(3600, 60), RoundBudget(3540, 30)]
    clock = FakeClock()
    assert take_rounds(round_budgets(50, 60, round_seconds=90, clock=clock), clock) == [RoundBudget(50, 50)]


def test_a_wait_whose_time_is_up_still_reads_once_and_budgets_are_whole_seconds_of_at_least_one():
    clock = FakeClock()
    assert take_rounds(round_budgets(0, 60, clock=clock), clock) == [RoundBudget(1, 1)]
    clock = FakeClock()
    taken = take_rounds(round_budgets(2.5, 1, clock=clock), clock, seconds_per_round=0.7)
    assert [budget.timeout for budget in taken] == [3, 2, 2, 1] and {budget.round_seconds for budget in taken} == {1}


def test_a_wait_of_thousands_of_rounds_is_one_flat_loop_with_no_cap():
    """The cutover role's rounds once included each other (at most 110 rounds, each include slower than the last):
    a wave of 5,000 one-second rounds runs here at the same stack depth as its first round."""
    clock = FakeClock()
    depths = []

    def execute(budget):
        depths.append(len(_stack()))
        return {"vms": [], "summary": {}}

    budgets = round_budgets(5000, 1, clock=clock)
    outcomes = 0
    for _outcome in module_rounds(execute, budgets, lambda outcome: "summary" in outcome, print):
        outcomes += 1
        clock.now += 1
    assert outcomes == 5000 and len(set(depths)) == 1


def _stack():
    frame, frames = sys._getframe(), []   # pylint: disable=protected-access
    while frame:
        frames.append(frame)
        frame = frame.f_back
    return frames


def test_a_round_that_read_nothing_is_tried_again_a_few_times_in_a_row_but_never_the_first():
    shown = []
    answers = iter([{"summary": 1}, {"msg": "throttled"}, {"summary": 2}] + [{"msg": "gone"}] * FAILED_ROUNDS_IN_A_ROW)
    read = []
    with pytest.raises(RoundsFailed) as failed:
        for outcome in module_rounds(lambda budget: next(answers), iter([RoundBudget(9, 1)] * 99),
                                     lambda outcome: "summary" in outcome, shown.append):
            read.append(outcome["summary"])
    assert read == [1, 2] and failed.value.rounds == 3 + FAILED_ROUNDS_IN_A_ROW
    assert failed.value.outcome == {"msg": "gone"} and len(shown) == FAILED_ROUNDS_IN_A_ROW
    assert shown[0] == "reading the VMs failed, reading again in the next round: throttled"

    with pytest.raises(RoundsFailed) as failed:
        list(module_rounds(lambda budget: {"msg": "Invalid options: x."}, iter([RoundBudget(9, 1)] * 9),
                           lambda outcome: "summary" in outcome, shown.append))
    assert failed.value.rounds == 1 and failed.value.outcome["msg"] == "Invalid options: x."

    answers = iter([{"summary": 1}, {"msg": "unreachable"}])
    with pytest.raises(RoundsFailed) as failed:    # the time ran out on a round that read nothing
        list(module_rounds(lambda budget: next(answers), iter([RoundBudget(9, 1)] * 2),
                           lambda outcome: "summary" in outcome, shown.append))
    assert failed.value.rounds == 2 and failed.value.outcome == {"msg": "unreachable"}


def test_round_options_are_whole_seconds_and_each_problem_names_the_option_and_value():
    assert [whole_seconds(value) for value in (5, "12", " 3 ", True, 1.5, "x", None)] == [5, 12, 3, None, None, None, None]
    assert round_options({}, 3600, 60) == (RoundOptions(3600, 60, None), [])
    assert round_options({"timeout": "90", "progress_seconds": 5, "round_seconds": 30}, 3600, 60) == \
        (RoundOptions(90, 5, 30), [])
    assert round_options({"timeout": 0, "progress_seconds": "soon", "round_seconds": 0}, 3600, 60) == (None, [
        "timeout is 0; it must be a whole number of seconds, at least 1",
        "progress_seconds is 'soon'; it must be a whole number of seconds, at least 1",
        "round_seconds is 0; it must be a whole number of seconds, at least 1"])


def test_a_progress_line_names_the_host_the_step_and_the_time_waited():
    assert elapsed_text(3725.9) == "1:02:05" and elapsed_text(0) == "0:00:00"
    assert progress_text("localhost", "cutover", 310, "web01: planned_failover - Start failover (task 4 of 5, InProgress)") \
        == "[localhost] cutover 0:05:10 web01: planned_failover - Start failover (task 4 of 5, InProgress)"
