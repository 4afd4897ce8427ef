# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Log storage accounts: which VM replicates into which account, and how full each gets."""

from __future__ import annotations

import heapq
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.module_utils import bandwidth
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._planner.values import PlanError, VmSpec

#: Share of a storage account's capacity above which the plan warns.
STORAGE_WARN_UTILISATION = 0.9


def assign_storage_accounts(vms: t.Iterable[VmSpec], accounts: list[tuple[str, int]]) -> tuple[dict[str, str], dict[str, int]]:
    """{vm: account} and per-account totals: largest VM first into the account with most room left.

    Worst-fit decreasing spreads bytes evenly over the accounts (what the architecture asks: spread
    replication over storage accounts by capacity); ties break by account name, then VM name.
    """
    vms = list(vms)
    total_needed = sum(vm.total_bytes for vm in vms)
    total_capacity = sum(capacity for _name, capacity in accounts)
    if total_needed > total_capacity:
        raise PlanError(f"storage_accounts: the VMs need {bandwidth.format_size(total_needed)} in total, above the "
                        f"{bandwidth.format_size(total_capacity)} the {len(accounts)} account(s) hold; add accounts or capacity")
    room = [(-capacity, name) for name, capacity in accounts]
    heapq.heapify(room)
    assignment: dict[str, str] = {}
    used = {name: 0 for name, _capacity in accounts}
    for vm in sorted(vms, key=lambda item: (-item.total_bytes, item.name)):
        negative_free, name = room[0]
        if vm.total_bytes > -negative_free:
            raise PlanError(f"storage_accounts: VM {vm.name} needs {bandwidth.format_size(vm.total_bytes)} but the account with most room "
                            f"left ({name}) has {bandwidth.format_size(-negative_free)}; add accounts or capacity")
        heapq.heapreplace(room, (negative_free + vm.total_bytes, name))
        assignment[vm.name] = name
        used[name] += vm.total_bytes
    return assignment, used


def storage_rows(accounts: list[tuple[str, int]], used: t.Mapping[str, int], assignment: t.Mapping[str, str]) -> tuple[list[dict[str, t.Any]], list[str]]:
    """(one row per account, the warnings about accounts filled above STORAGE_WARN_UTILISATION)."""
    vms_by_account: dict[str, list[str]] = {name: [] for name, _capacity in accounts}
    for vm in sorted(assignment):
        vms_by_account[assignment[vm]].append(vm)
    rows, warnings = [], []
    for name, capacity in accounts:
        utilisation = used[name] / capacity if capacity else 0.0
        if utilisation > STORAGE_WARN_UTILISATION:
            warnings.append(f"storage account {name}: {utilisation * 100:.0f} % of its capacity is used")
        rows.append({"name": name, "capacity_bytes": capacity, "assigned_bytes": used[name],
                     "utilisation": round(utilisation, 4), "vms": vms_by_account[name]})
    return rows, warnings
