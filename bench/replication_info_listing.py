#!/usr/bin/env python
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the status of 1,000 and 10,000 replicated VMs - replication_info's paged listing vs one GET per VM.

For each fleet size, starts a lab whose vault replicates that many Hyper-V VMs (tests/integration/azure_lab.py:
4 hosts x 250 VMs for 1,000, 10 hosts x 1,000 VMs for 10,000), then, against the same ARM with its real
throttle (reads: 250 tokens, 25 per second, per principal; asr-api.md section 12):

* listing - what replication_info does (``read_replication`` of plugins/modules/replication_info.py):
  the vault's providers, then the vault-wide item listing page by page. It runs in a fresh Python process
  so that its peak RSS (``ru_maxrss``) is the listing's alone; the process reports its RSS before the
  listing (imports and session done) and its peak after.
* per_vm (at the smallest size only: 10,000 GETs take ARM's throttle most of seven minutes) - what a
  playbook looping over its VMs does: the providers, then one GET per item.

Each approach starts with full token buckets. ARM request counts (by status, 429s included) come from
the lab's request log; wall times from the client. The target: at most ceil(VMs / 100) + 3 requests
(100 items per page of the service; the empty last page, the providers, the cloud metadata), and memory
that grows linearly (the per-VM growth of peak RSS about the same at both sizes). Writes
bench/results/replication_info.json.

Usage: python bench/replication_info_listing.py [--vms 1000 10000] [--keep-lab]
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "tests" / "integration", ROOT / "tests", ROOT / ".collections"):
    sys.path.insert(0, str(path))

# pylint: disable=wrong-import-position
import azure_lab  # noqa: E402
from labfixture import AdminClient, LabProcess, free_address_prefix  # noqa: E402

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api  # noqa: E402
from ansible_collections.azmigrate.hyperv.plugins.modules.replication_info import read_replication  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "replication_info.json"
NO_FILTERS = dict(names=None, hosts=None, health=None, states=None)
PAGE_SIZE = 100   # items per page of the service's listing (the lab serves ASR's page size)
VMS_PER_HOST = {1000: 250, 10000: 1000}

# The listing in a process of its own: reads the auth options on stdin, prints its RSS before and its peak after.
LISTING_CHILD = r"""
import json, resource, sys, time
sys.path[:0] = %(paths)r
import azure_lab
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import AzureSession
from ansible_collections.azmigrate.hyperv.plugins.modules.replication_info import read_replication
options = json.loads(sys.stdin.read())
client = AzureSession.from_params(dict(options, auth_source="auto"), environ={}).site_recovery()
before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
result = read_replication(client, azure_lab.RESOURCE_GROUP, azure_lab.VAULT,
                          dict(names=None, hosts=None, health=None, states=None))
wall = time.monotonic() - started
print(json.dumps({"total": result["summary"]["total"], "by_state": result["summary"]["by_state"],
                  "rss_before_listing_kb": before_kb,
                  "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "wall_s": round(wall, 3)}))
"""


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


def listing_in_child(lab):
    paths = [str(ROOT / "tests" / "integration"), str(ROOT / "tests"), str(ROOT / ".collections")]
    completed = subprocess.run([sys.executable, "-c", LISTING_CHILD % {"paths": paths}],
                               input=json.dumps(azure_lab.auth_defaults(lab)), capture_output=True, text=True,
                               timeout=1800, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def start_lab(state, timeout_s=600):
    """``python -m lab serve`` as ``python -m lab up`` starts it, but waiting up to ``timeout_s`` for it to listen:
    ``lab up`` gives a lab 20 s, and a loaded machine takes longer to start 11 hosts with 10,000 VMs."""
    lab_dir = state / "lab"
    lab_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "lab", "serve", "--estate", str(state / "estate.json"), "--state-dir", str(lab_dir),
               "--address-prefix", free_address_prefix(hosts=16), "--winrm-port", "5986", "--winrm-http-port", "5985",
               "--admin-port", "0"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with open(lab_dir / "lab.out", "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)
    deadline = time.monotonic() + timeout_s
    while not (lab_dir / "lab.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError("the lab did not start: %s" % (lab_dir / "lab.out").read_text(errors="replace")[-2000:])
        time.sleep(0.2)
    info = json.loads((lab_dir / "lab.json").read_text())
    return LabProcess(lab_dir, info, AdminClient(info["admin_url"]))


def one_size(vms, per_vm, keep_lab):
    """Start a lab of ``vms`` replicated VMs, measure; the size's report."""
    per_host = VMS_PER_HOST.get(vms, 250)
    hosts = azure_lab.scale_host_names(math.ceil(vms / per_host))
    state = Path(tempfile.mkdtemp(prefix="bench-replication-info-%d-" % vms))
    (state / "estate.json").write_text(json.dumps(azure_lab.estate_document(hosts, per_host)))
    lab = start_lab(state)
    try:
        setup_started = time.monotonic()
        prepared = azure_lab.prepare_vault(lab, hosts, settle_timeout=max(300, vms / 5), frozen_enable=vms > 1000)
        setup_s = time.monotonic() - setup_started
        child, listing_stats = measured(lab, lambda: listing_in_child(lab))
        assert child["total"] == prepared["items"] == vms, (child["total"], prepared["items"])
        listing_stats["client_wall_s"] = child["wall_s"]
        budget = math.ceil(vms / PAGE_SIZE) + 3
        report = {
            "vms": vms, "hosts": len(hosts), "listing": listing_stats,
            "listing_request_budget": {"ceil(vms / page size) + 3": budget, "within": listing_stats["requests"] <= budget},
            "memory": {"rss_before_listing_kb": child["rss_before_listing_kb"], "peak_rss_kb": child["peak_rss_kb"],
                       "growth_kb": child["peak_rss_kb"] - child["rss_before_listing_kb"],
                       "growth_kb_per_vm": round((child["peak_rss_kb"] - child["rss_before_listing_kb"]) / vms, 2)},
            "by_state": child["by_state"], "setup_s": round(setup_s, 1),
        }
        if per_vm:
            client = azure_lab.session(lab).site_recovery()
            rg, vault = azure_lab.RESOURCE_GROUP, azure_lab.VAULT
            # The item ids a per-VM loop would know beforehand (from its inventory); read outside the measurement.
            ids = [(vm["site"], vm["container"], vm["name"]) for vm in read_replication(client, rg, vault, NO_FILTERS)["vms"]]

            def every_vm():
                asr_api.list_providers(client, rg, vault)
                return [asr_api.get_protected_item(client, rg, vault, site, container, name)
                        for site, container, name in ids]
            items, per_vm_stats = measured(lab, every_vm)
            assert len(items) == vms
            report["per_vm"] = per_vm_stats
            report["ratios"] = {
                "requests_per_vm_over_listing": round(per_vm_stats["requests"] / listing_stats["requests"], 1),
                "wall_time_per_vm_over_listing": round(per_vm_stats["wall_s"] / listing_stats["wall_s"], 1),
            }
        print(json.dumps(report, indent=2), flush=True)
        return report
    finally:
        if keep_lab:
            print("lab left running: python -m lab down --state-dir %s" % lab.state_dir)
        else:
            lab.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, nargs="+", default=[1000, 10000], help="fleet sizes (default 1000 10000)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the labs running (prints their state dirs)")
    options = parser.parse_args()
    sizes = sorted(options.vms)
    measured_now = dict((vms, one_size(vms, per_vm=(vms == min(sizes + [1000])), keep_lab=options.keep_lab))
                        for vms in sizes)
    # Sizes measured by an earlier run and not now are kept, so that one size can be measured again alone.
    earlier = json.loads(RESULTS.read_text()).get("sizes", []) if RESULTS.exists() else []
    kept = dict((report["vms"], report) for report in earlier if isinstance(report, dict) and "vms" in report)
    kept.update(measured_now)
    reports = [kept[vms] for vms in sorted(kept)]
    growth = [report["memory"]["growth_kb_per_vm"] for report in reports]
    report = {
        "benchmark": "replication_info: status of every replicated VM of a vault, at several fleet sizes",
        "arm_read_limits": {"bucket": 250, "refill_per_s": 25},
        "sizes": reports,
        "all_within_request_budget": all(r["listing_request_budget"]["within"] for r in reports),
        # Linear: the per-VM growth of the largest size at most twice the smallest's (a quadratic listing would
        # multiply it by the size ratio).
        "memory_growth_kb_per_vm": growth,
        "memory_linear": len(growth) < 2 or growth[-1] <= 2 * max(growth[0], 1.0),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({key: report[key] for key in ("all_within_request_budget", "memory_growth_kb_per_vm",
                                                   "memory_linear")}, indent=2))
    return 0 if report["all_within_request_budget"] and report["memory_linear"] else 1


if __name__ == "__main__":
    sys.exit(main())
