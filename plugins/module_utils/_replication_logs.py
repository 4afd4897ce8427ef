# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Delta replication cycles and the .hrl log space a host's volumes need (part of ``replication_model``).

``replication_model`` re-exports every public name here; import them from there. Rates are bytes per second,
amounts bytes; ``link`` is a ``replication_model.HostLink``.
"""

from __future__ import annotations

import math
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import SECONDS_PER_WEEK

#: Extra free space on a disk's volume while the VM is in initial replication, as a fraction of the
#: VHD size: the checkpoint (.avhdx) plus the .hrl log, worst case 100 %
#: (learn.microsoft.com/azure/site-recovery/site-recovery-hyper-v-deployment-planner-analyze-report).
IR_LOG_SPACE_FRACTION = 1.0
#: The same during delta replication when bandwidth cannot keep up: 50 % (the same Deployment Planner report page).
DELTA_LOG_SPACE_FRACTION = 0.5
#: A VM needs resynchronisation when its .hrl log reaches this fraction of the disk size (the same page).
RESYNC_LOG_FRACTION = 0.5

#: Replication intervals (seconds) that HyperVReplicaAzure policies accept (New-AzRecoveryServicesAsrPolicy's ValidateSet).
REPLICATION_INTERVALS = (30, 300, 900)


def delta_bytes_per_interval(churn_bps: float, interval_s: float) -> float:
    """Bytes one replication cycle carries: what the VM wrote during one interval."""
    return churn_bps * interval_s


def delta_required_bps(churn_bps: float, interval_s: float) -> float:
    """Upload rate a VM needs to keep up with delta replication (bytes/s).

    Each cycle's log must be uploaded before the next cycle closes, i.e. ``churn * interval`` bytes
    within ``interval`` seconds; the interval cancels out. It sets how much is at stake per cycle
    (``delta_bytes_per_interval``) and the recovery point lag, not the rate.
    """
    return delta_bytes_per_interval(churn_bps, interval_s) / interval_s


def delta_backlog_peak(link: t.Any, churn_bps: float, start: float = 0.0, cap_bps: float = math.inf) -> float:
    """Largest un-uploaded delta backlog (bytes) over two weeks of steady churn, starting empty.

    The backlog grows while ``churn_bps`` exceeds the upload rate ``min(link.rate_at(t), cap_bps)``
    (e.g. during throttled work hours) and drains otherwise. It lives in the .hrl logs, so it adds
    to the log space a volume needs. If the weekly capacity is below the weekly churn the backlog
    grows without bound and this returns ``math.inf``.
    """
    if churn_bps <= min(link.min_rate(), cap_bps):
        return 0.0                  # the upload rate never falls below the churn: no backlog ever builds
    if link.weekly_bytes(cap_bps) < churn_bps * SECONDS_PER_WEEK:
        return math.inf
    backlog = peak = 0.0
    moment = float(start)
    end = moment + 2 * SECONDS_PER_WEEK
    while moment < end:
        boundary = min(link.next_change_after(moment), end)
        net = churn_bps - min(link.rate_at(moment), cap_bps)
        backlog = max(0.0, backlog + net * (boundary - moment))
        peak = max(peak, backlog)
        moment = boundary
    return peak


def time_to_resync(disk_bytes: float, churn_bps: float, upload_bps: float) -> float:
    """Seconds until a VM falling behind needs resynchronisation (its .hrl reaches 50 % of the disk).

    ``math.inf`` when the upload rate keeps up with the churn.
    """
    deficit = churn_bps - upload_bps
    if deficit <= 0:
        return math.inf
    return RESYNC_LOG_FRACTION * disk_bytes / deficit


def ir_log_space_bytes(disk_bytes: float) -> float:
    """Worst-case extra free space a disk's volume needs during initial replication (snapshot + .hrl)."""
    return IR_LOG_SPACE_FRACTION * disk_bytes


def delta_log_space_bytes(disk_bytes: float) -> float:
    """Worst-case extra free space a disk's volume needs during delta replication."""
    return DELTA_LOG_SPACE_FRACTION * disk_bytes
