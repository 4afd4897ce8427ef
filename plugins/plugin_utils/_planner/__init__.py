# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Capacity and wave planning for replicating a Hyper-V estate to Azure (the replication_plan action).

Pure computation: no network, no clock, no randomness; the same request always gives the same plan. How a
plan is made is docs/planning.md. By job:

* ``inputs``: ``read(request)``, every adapter and check (``PlanError``), into typed specs (``values``, ``hosts``);
* ``waves``: ``plan(request)``, the wave search on the replication model (``module_utils/replication_model.py``),
  per host a ``HostPlan``; ``storage``: the log storage accounts;
* ``report``: ``render(plan)``, the module's return values and warnings.
"""

from __future__ import annotations

import contextlib
import gc
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.inputs import read, vms_from_csv, vms_from_yaml_data
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.report import render, waves_for_replicate
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.values import (
    DEFAULT_MAX_VMS_PER_WAVE,
    DEFAULT_REPLICATION_INTERVAL,
    DEFAULT_WORK_DAYS,
    THROTTLE_ALIASES,
    PlanError,
    parse_time,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.waves import plan

__all__ = ["DEFAULT_MAX_VMS_PER_WAVE", "DEFAULT_REPLICATION_INTERVAL", "DEFAULT_WORK_DAYS", "THROTTLE_ALIASES", "PlanError",
           "cyclic_gc_paused", "parse_time", "plan", "plan_replication", "read", "render", "vms_from_csv", "vms_from_yaml_data",
           "waves_for_replicate"]


@contextlib.contextmanager
def cyclic_gc_paused() -> t.Iterator[None]:
    """Pause the cyclic garbage collector, then restore it as it was.

    A plan builds hundreds of thousands of small objects and no reference cycles, so the collector would only
    re-scan them (a fifth of the time at 100,000 VMs).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def plan_replication(request: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The replication plan for a request (the replication_plan module's options as a dict)."""
    with cyclic_gc_paused():
        return render(plan(read(request)))
