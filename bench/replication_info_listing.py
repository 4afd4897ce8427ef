#!/usr/bin/env python
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the status of 1,000 replicated VMs - replication_info's paged listing vs one GET per VM.

Starts a lab whose vault replicates 1,000 Hyper-V VMs (tests/integration/azure_lab.py), then, in the
same run and against the same ARM with its real throttle (reads: 250 tokens, 25 per second, per
principal; asr-api.md section 12):

* listing - what replication_info does (``read_replication`` of plugins/modules/replication_info.py):
  the vault's providers, then the vault-wide item listing page by page;
* per_vm - what a playbook looping over its VMs does: the providers, then one GET per item.

Each approach starts with full token buckets. ARM request counts (by status, 429s included) come
from the lab's request log; wall times from the client. Writes bench/results/replication_info.json
with both and their ratios.

Usage: python bench/replication_info_listing.py [--keep-lab]
"""

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "tests" / "integration", ROOT / "tests", ROOT / ".collections"):
    sys.path.insert(0, str(path))

# pylint: disable=wrong-import-position
import azure_lab  # noqa: E402
from labfixture import LabProcess  # noqa: E402

from ansible_collections.azmigrate.hyperv.plugins.module_utils import asr_api  # noqa: E402
from ansible_collections.azmigrate.hyperv.plugins.modules.replication_info import read_replication  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "replication_info.json"
NO_FILTERS = dict(names=None, hosts=None, health=None, states=None)
PAGE_SIZE = 100   # items per page of the service's listing (the lab serves ASR's page size)


def measured(lab, work):
    """Run ``work()`` with full ARM token buckets; (result, {requests, by_status, by_route, wall_s})."""
    lab.admin.delete("/azure/throttle")   # buckets back to full
    since = azure_lab.arm_requests(lab)["last_seq"]
    started = time.monotonic()
    result = work()
    wall = time.monotonic() - started
    log = azure_lab.arm_requests(lab, since)
    return result, {"requests": log["total"], "by_status": log["by_status"], "by_route": log["by_route"],
                    "wall_s": round(wall, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running (prints its state dir)")
    options = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-replication-info-"))
    (state / "estate.json").write_text(json.dumps(azure_lab.estate_document()))
    lab = LabProcess.start(state / "lab", estate=state / "estate.json")
    try:
        setup_started = time.monotonic()
        prepared = azure_lab.prepare_vault(lab)
        setup_s = time.monotonic() - setup_started
        client = azure_lab.session(lab).site_recovery()
        rg, vault = azure_lab.RESOURCE_GROUP, azure_lab.VAULT
        # The item ids a per-VM loop would know beforehand (from its inventory); read outside the measurement.
        ids = [(vm["site"], vm["container"], vm["name"]) for vm in read_replication(client, rg, vault, NO_FILTERS)["vms"]]

        listing, listing_stats = measured(lab, lambda: read_replication(client, rg, vault, NO_FILTERS))

        def per_vm():
            asr_api.list_providers(client, rg, vault)
            return [asr_api.get_protected_item(client, rg, vault, site, container, name) for site, container, name in ids]
        items, per_vm_stats = measured(lab, per_vm)
        assert len(items) == len(ids) == listing["summary"]["total"] == prepared["items"]

        vms = len(ids)
        budget = math.ceil(vms / PAGE_SIZE) + 3
        report = {
            "benchmark": "replication_info: status of every replicated VM of a vault",
            "vms": vms,
            "arm_read_limits": {"bucket": 250, "refill_per_s": 25},
            "listing": listing_stats,
            "per_vm": per_vm_stats,
            "ratios": {
                "requests_per_vm_over_listing": round(per_vm_stats["requests"] / listing_stats["requests"], 1),
                "wall_time_per_vm_over_listing": round(per_vm_stats["wall_s"] / listing_stats["wall_s"], 1),
            },
            "listing_request_budget": {"ceil(vms / page size) + 3": budget,
                                       "within": listing_stats["requests"] <= budget},
            "by_state": listing["summary"]["by_state"],
            "setup_s": round(setup_s, 1),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
        return 0 if report["listing_request_budget"]["within"] else 1
    finally:
        if options.keep_lab:
            print("lab left running: python -m lab down --state-dir %s" % (state / "lab"))
        else:
            lab.stop()


if __name__ == "__main__":
    sys.exit(main())
