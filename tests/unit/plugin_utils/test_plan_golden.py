"""Whole plans of mid-size estates, pinned: a refactor of the planner must give them byte for byte.

The requests and plans are in tests/fixtures/planner/golden_*.json (make_golden.py wrote them; rerun it
only for a change of behaviour, and say why in the commit).
"""

import json
from pathlib import Path

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _planner as planner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "planner"
GOLDEN = sorted(path.stem.removeprefix("golden_") for path in FIXTURES.glob("golden_*.json"))


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"golden_{name}.json").read_text())


def as_json(plan: dict) -> str:
    return json.dumps(plan, indent=1, sort_keys=True)


def test_the_golden_estates_are_there():
    assert GOLDEN == ["no_start", "start_time", "target_window"]


@pytest.mark.parametrize("name", GOLDEN)
def test_plan_is_unchanged(name):
    golden = load(name)
    assert as_json(planner.plan_replication(golden["request"])) == as_json(golden["plan"])
