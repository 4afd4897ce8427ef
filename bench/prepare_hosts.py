#!/usr/bin/env python
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a no-change re-run of playbooks/prepare_hosts.yml against a baseline written with ansible.windows.

Both run on the same lab estate (lab/estates/demo.yml: three hosts) with latency injected on every WinRM request,
and with the lab's cost model on (lab/winrm/costs.py): each command waits for a powershell.exe start and each module
payload also for its exec wrapper's compilation, as on a real host. Per host, from the lab's counters and command
log: WinRM requests, commands, bytes on the wire (both directions), the modelled host cost and wall time, and the
ratios baseline / collection; also the collection's commands per host on a first install and on a run that changes the
upload settings, and the machine and its load average (the machine may be shared). Also the bytes each approach sends over WinRM to install the setup file: the
collection's URL source (the host downloads it) and its controller-push fallback, against win_copy.

The lab answers ansible.windows modules other than win_copy/win_stat/slurp with {"changed": false} without
running them: the baseline's wire cost (the exec wrapper and module payloads) is real, its effect is not, so the
estate is prepared with the collection first and both are then compared on a no-change re-run.

Usage: python bench/prepare_hosts.py [--latency-ms 30] [--setup-mib 8] [--runs 3]
Writes bench/results/prepare_hosts.json. Needs the `ansible` package (ansible.windows) next to this Python.
"""

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

# pylint: disable=wrong-import-position
from labfixture import LabProcess  # noqa: E402

HOSTS = ("HV01", "HV02", "HV03")
ADDRESS_PREFIX = "127.0.5"
TIME_SCALE = 120.0
PROVIDER_VERSION, AGENT_VERSION = "5.24.0902.3", "2.0.9277.0"
THROTTLE = {"enabled": True, "work_hour_start": "08:00", "work_hour_end": "18:00",
            "work_hour_bandwidth": "100 Mbps", "non_work_hour_bandwidth": "1023 Mbps"}


def playbook(lab, path, extra_vars, work, *args):
    """Run ansible-playbook; returns (rc, wall seconds)."""
    vars_file = Path(work) / f"vars-{time.monotonic_ns()}.json"
    vars_file.write_text(json.dumps(extra_vars))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(path), "-i", str(lab.inventory), "-e", f"@{vars_file}", *args]
    started = time.monotonic()
    completed = subprocess.run(command, cwd=ROOT, env=lab.ansible_env(), capture_output=True, text=True, timeout=1800, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{path} failed ({completed.returncode}):\n{completed.stdout[-4000:]}{completed.stderr[-2000:]}")
    return elapsed


def totals(lab, hosts):
    counters = lab.admin.counters()
    return {name: {"requests": counters.get(name, {}).get("requests", 0),
                   "bytes": counters.get(name, {}).get("bytes_in", 0) + counters.get(name, {}).get("bytes_out", 0),
                   "bytes_to_host": counters.get(name, {}).get("bytes_in", 0)} for name in hosts}


def measured(lab, hosts, run):
    """Run `run()`; per-host averages of requests, bytes, commands and modelled host cost, and the wall time per host."""
    before = totals(lab, hosts)
    seq = lab.admin.last_seq()
    elapsed = run()
    after = totals(lab, hosts)
    entries = [entry for entry in lab.admin.log(since=seq) if entry["seq"] > seq]
    per_host = {key: statistics.mean(after[name][key] - before[name][key] for name in hosts) for key in ("requests", "bytes", "bytes_to_host")}
    per_host["commands"] = statistics.mean(sum(1 for entry in entries if entry["host"] == name) for name in hosts)
    per_host["host_cost_s"] = statistics.mean(sum(entry.get("cost_ms", 0) for entry in entries if entry["host"] == name) / 1000
                                              for name in hosts)
    return {**per_host, "wall_s_per_host": elapsed / len(hosts), "wall_s": elapsed}


def reset(lab, name):
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from provider_lab import reset_host  # pylint: disable=import-outside-toplevel
    reset_host(lab.admin, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--setup-mib", type=float, default=8.0, help="size of the lab's setup file")
    parser.add_argument("--runs", type=int, default=3, help="no-change runs measured per approach (median)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-prepare-")
    load_at_start = [round(value, 2) for value in os.getloadavg()]
    lab = LabProcess.start(Path(work) / "lab", address_prefix=ADDRESS_PREFIX, time_scale=TIME_SCALE)
    try:
        setup = lab.admin.post("/setup-files", {"name": "AzureSiteRecoveryProvider.exe", "provider_version": PROVIDER_VERSION,
                                                "agent_version": AGENT_VERSION, "size": int(args.setup_mib * 1024 * 1024)})
        local_setup = Path(work) / "AzureSiteRecoveryProvider.exe"
        local_setup.write_bytes(base64.b64decode(setup["content_b64"]))
        credentials = lab.admin.post("/vault-credentials", {"resource_group": "rg-migrate", "vault_name": "rsv-migrate",
                                                            "site_name": "hyperv-site"})["content"]
        collection_vars = {"hyperv_host_setup_file_url": setup["url"], "hyperv_host_setup_file_sha256": setup["sha256"],
                           "hyperv_host_vault_credentials_content": credentials, "hyperv_host_upload_threads": 8,
                           "hyperv_host_throttle": THROTTLE}
        baseline_vars = {"baseline_host_setup_src": str(local_setup), "baseline_host_vault_credentials_content": credentials}
        provider_playbook = ROOT / "tests" / "integration" / "playbooks" / "replication_provider.yml"
        baseline_playbook = HERE / "prepare_hosts_baseline" / "prepare_hosts.yml"

        # Bytes to get the setup file installed on one fresh host, per approach (no latency).
        install = {}
        install["collection_url"] = measured(lab, ["HV01"], lambda: playbook(lab, provider_playbook, {
            "target": "HV01", "setup_file_url": setup["url"], "setup_file_sha256": setup["sha256"], "vault_credentials_content": credentials}, work))
        reset(lab, "HV01")
        install["collection_push"] = measured(lab, ["HV01"], lambda: playbook(lab, provider_playbook, {
            "target": "HV01", "setup_file_src": str(local_setup), "vault_credentials_content": credentials}, work))
        install["baseline_win_copy"] = measured(
            lab, ["HV01"], lambda: playbook(lab, baseline_playbook, {**baseline_vars, "baseline_target": "HV01"}, work, "--tags", "copy"))

        # Prepare the estate from fresh hosts (commands per host of a first install: the P1 goal is two), then bring the
        # baseline to its no-change state (its copy of the file).
        reset(lab, "HV01")
        first_install = measured(lab, HOSTS, lambda: playbook(lab, ROOT / "playbooks" / "prepare_hosts.yml", collection_vars, work))
        playbook(lab, baseline_playbook, baseline_vars, work)
        lab.admin.post("/faults", {"host": "*", "latency_ms": args.latency_ms})
        costs = lab.admin.post("/costs", {"wait": True})
        runs = {"collection": [], "baseline": []}
        for dummy in range(args.runs):
            runs["collection"].append(measured(lab, HOSTS, lambda: playbook(lab, ROOT / "playbooks" / "prepare_hosts.yml", collection_vars, work)))
            runs["baseline"].append(measured(lab, HOSTS, lambda: playbook(lab, baseline_playbook, baseline_vars, work)))
        changed_vars = {**collection_vars, "hyperv_host_upload_threads": 12}
        settings_change = measured(lab, HOSTS, lambda: playbook(lab, ROOT / "playbooks" / "prepare_hosts.yml", changed_vars, work))
        lab.admin.delete("/faults")
    finally:
        lab.stop()

    keys = ("requests", "commands", "bytes", "host_cost_s", "wall_s_per_host")
    median = {name: {key: statistics.median(run[key] for run in values) for key in keys} for name, values in runs.items()}
    ratios = {key: round(median["baseline"][key] / median["collection"][key], 2) for key in keys}
    report = {
        "estate": "lab/estates/demo.yml (3 hosts)", "latency_ms_per_request": args.latency_ms, "runs": args.runs,
        "command_costs_ms": {key: value for key, value in costs.items() if key != "wait"},
        "setup_file_bytes": local_setup.stat().st_size,
        "no_change_rerun_per_host": {name: {key: round(value, 2) for key, value in values.items()} for name, values in median.items()},
        "ratio_baseline_over_collection": ratios,
        "install_setup_file_bytes_to_host": {name: int(values["bytes_to_host"]) for name, values in install.items()},
        "settings_change_commands_per_host": settings_change["commands"],
        "first_install_commands_per_host": first_install["commands"],
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "load_average_at_start": load_at_start, "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
                    "note": "a machine shared with other workloads: wall times stretch with its load"},
    }
    out = HERE / "results" / "prepare_hosts.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
