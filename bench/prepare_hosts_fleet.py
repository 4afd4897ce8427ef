#!/usr/bin/env python
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a no-change re-run of playbooks/prepare_hosts.yml on a fleet (100 and 1,000 lab hosts), forks 50.

One lab process serves lab/estates/fleet.yml (1,000 alike hosts on 127.42.0.1 to 127.42.3.238) with the cost model
on (lab/winrm/costs.py: each command waits for a powershell.exe start, each ansible.windows module also for its
exec wrapper) and latency injected on every WinRM request. The first hosts (the smallest size) are prepared with the
collection, a first run that is measured too; the other hosts then get the state of a host so prepared through the
lab's admin API (registry, services, files, agent settings: what the hosts would hold after the same first run), and
every host the baseline's copy of the setup file (its no-change state), since preparing 1,000 hosts twice would
take a shared two-core machine most of an hour. For each size, the no-change re-run of the first N hosts is then
measured; with --baseline, also the ansible.windows baseline's (bench/prepare_hosts_baseline). Reported per run: wall time, controller CPU (ansible-playbook
and its forks) in total and per host, the lab's own CPU (so that the lab is shown not to be what is measured),
commands and WinRM requests per host, and the machine's load average before and after (the machine may be shared).

Usage: python bench/prepare_hosts_fleet.py [--sizes 100 1000] [--forks 50] [--latency-ms 30] [--baseline]
Writes bench/results/prepare_hosts_fleet.json (or --out). Needs the `ansible` package (ansible.windows).
"""

import argparse
import base64
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prepare_hosts import AGENT_VERSION, HERE, PROVIDER_VERSION, ROOT, THROTTLE, playbook

from labfixture import LabProcess  # pylint: disable=wrong-import-order

ESTATE = ROOT / "lab" / "estates" / "fleet.yml"
ADDRESS_PREFIX = "127.42.0"
TIME_SCALE = 120.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STAGING_PREFIX = "C:\\ProgramData\\azmigrate\\setup\\AzureSiteRecoveryProvider-"
BASELINE_SETUP_DEST = "C:\\ProgramData\\baseline\\AzureSiteRecoveryProvider.exe"


def prepared_state(host, setup_b64):
    """A PATCH /hosts body that gives another host what `host` (prepared by the collection) holds, and the baseline's
    copy of the setup file; the staged setup file with its content, so its SHA-256 reads as on `host`."""
    files = {}
    for path, entry in host["files"].items():
        staged = path.lower().startswith(STAGING_PREFIX.lower())
        files[path] = {"content_b64": setup_b64} if staged else {key: entry[key] for key in ("size", "file_version", "created_at")}
    files[BASELINE_SETUP_DEST] = {"content_b64": setup_b64}
    services = {name: {key: service[key] for key in ("display_name", "status", "start_type")} for name, service in host["services"].items()}
    return {"registry": host["registry"], "services": services, "files": files, "mars_settings": host["mars_settings"],
            "certificates": host["certificates"]}


def lab_cpu_s(pid):
    """User + system CPU seconds the lab process has used (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(lab, hosts, run):
    """Run `run()` (an ansible-playbook); wall, CPU and per-host commands and requests."""
    counters_before = lab.admin.counters()
    seq = lab.admin.last_seq()
    load_before = os.getloadavg()
    cpu_before, lab_before = children_cpu_s(), lab_cpu_s(lab.info["pid"])
    wall = run()
    cpu, lab_cpu = children_cpu_s() - cpu_before, lab_cpu_s(lab.info["pid"]) - lab_before
    counters = lab.admin.counters()
    entries = [entry for entry in lab.admin.log(since=seq) if entry["seq"] > seq]
    requests = [counters.get(name, {}).get("requests", 0) - counters_before.get(name, {}).get("requests", 0) for name in hosts]
    commands = {name: 0 for name in hosts}
    for entry in entries:
        if entry["host"] in commands:
            commands[entry["host"]] += 1
    return {
        "hosts": len(hosts), "wall_s": round(wall, 2), "controller_cpu_s": round(cpu, 2),
        "controller_cpu_s_per_host": round(cpu / len(hosts), 4), "lab_cpu_s": round(lab_cpu, 2),
        "lab_cpu_s_per_host": round(lab_cpu / len(hosts), 4),
        # The lab is one process: near 1.0 it would be what limits the run, not the collection or the baseline.
        "lab_busy_share_of_wall": round(lab_cpu / wall, 3),
        "commands_per_host": round(statistics.mean(commands.values()), 2), "max_commands_per_host": max(commands.values()),
        "requests_per_host": round(statistics.mean(requests), 2),
        "load_average_before": [round(value, 2) for value in load_before], "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--setup-kib", type=int, default=64, help="size of the lab's setup file (the baseline copies it to every host)")
    parser.add_argument("--baseline", action="store_true", help="also measure the ansible.windows baseline")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "prepare_hosts_fleet.json")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-fleet-")
    started = time.monotonic()
    lab = LabProcess.start(Path(work) / "lab", estate=ESTATE, address_prefix=ADDRESS_PREFIX, time_scale=TIME_SCALE)
    lab_start_s = time.monotonic() - started
    names = sorted(lab.info["hosts"])
    runs = {}
    try:
        setup = lab.admin.post("/setup-files", {"name": "AzureSiteRecoveryProvider.exe", "provider_version": PROVIDER_VERSION,
                                                "agent_version": AGENT_VERSION, "size": args.setup_kib * 1024})
        local_setup = Path(work) / "AzureSiteRecoveryProvider.exe"
        local_setup.write_bytes(base64.b64decode(setup["content_b64"]))
        credentials = lab.admin.post("/vault-credentials", {"resource_group": "rg-migrate", "vault_name": "rsv-migrate",
                                                            "site_name": "hyperv-site"})["content"]
        forks = ("-f", str(args.forks))
        prepare_playbook = ROOT / "playbooks" / "prepare_hosts.yml"
        baseline_playbook = HERE / "prepare_hosts_baseline" / "prepare_hosts.yml"

        def collection_vars(size):
            return {"prepare_hosts_target": f"hyperv_hosts[0:{size - 1}]", "hyperv_host_setup_file_url": setup["url"],
                    "hyperv_host_setup_file_sha256": setup["sha256"], "hyperv_host_vault_credentials_content": credentials,
                    "hyperv_host_upload_threads": 8, "hyperv_host_throttle": THROTTLE}

        def baseline_vars(size):
            return {"baseline_target": f"hyperv_hosts[0:{size - 1}]", "baseline_host_setup_src": str(local_setup),
                    "baseline_host_vault_credentials_content": credentials}

        sizes = sorted(args.sizes)
        lab.admin.post("/costs", {"wait": False})
        first_run = run_measured(lab, names[:sizes[0]], lambda: playbook(lab, prepare_playbook, collection_vars(sizes[0]), work, *forks))
        copy_started = time.monotonic()
        prepared = prepared_state(lab.admin.host(names[0]), setup["content_b64"])
        baseline_copy = {"files": {BASELINE_SETUP_DEST: {"content_b64": setup["content_b64"]}}}
        for name in names:
            lab.admin.patch(f"/hosts/{name}", prepared if name not in names[:sizes[0]] else baseline_copy)
        state_copy_s = time.monotonic() - copy_started
        lab.admin.post("/faults", {"host": "*", "latency_ms": args.latency_ms})
        lab.admin.post("/costs", {"wait": True})
        for size in sizes:
            hosts = names[:size]
            result = {"collection_first_run": first_run} if size == sizes[0] else {}
            result["collection_no_change"] = run_measured(lab, hosts, lambda: playbook(lab, prepare_playbook, collection_vars(size), work, *forks))
            if args.baseline:
                result["baseline_no_change"] = run_measured(lab, hosts, lambda: playbook(lab, baseline_playbook, baseline_vars(size), work, *forks))
                result["wall_baseline_over_collection"] = round(result["baseline_no_change"]["wall_s"] / result["collection_no_change"]["wall_s"], 2)
                result["controller_cpu_baseline_over_collection"] = round(
                    result["baseline_no_change"]["controller_cpu_s"] / result["collection_no_change"]["controller_cpu_s"], 2)
            runs[str(size)] = result
            print(json.dumps({size: result}, indent=2), flush=True)
        costs = lab.admin.get("/costs")
    finally:
        lab.stop()

    report = {
        "estate": "lab/estates/fleet.yml (1,000 hosts, one lab process)", "forks": args.forks,
        "latency_ms_per_request": args.latency_ms, "setup_file_bytes": args.setup_kib * 1024,
        "command_costs_ms": {key: value for key, value in costs.items() if key != "wait"},
        "lab_start_s": round(lab_start_s, 2), "state_copy_s": round(state_copy_s, 2), "runs": runs,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "note": "shared with other workloads: see each run's load_average_before/after"},
        "python": sys.version.split()[0],
    }
    if len(sizes) >= 2:
        small, large = runs[str(sizes[0])]["collection_no_change"], runs[str(sizes[-1])]["collection_no_change"]
        report["wall_ratio_largest_over_smallest"] = round(large["wall_s"] / small["wall_s"], 2)
        report["host_ratio_largest_over_smallest"] = sizes[-1] / sizes[0]
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
