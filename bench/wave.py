#!/usr/bin/env python
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: test migration and cutover of a 20-VM wave through the cutover role, against the slowest VM alone.

One lab (tests/integration/migration_lab.py: a Hyper-V site, a policy, the lab's Azure) with WAVE + 1 VMs, all
replicating to managed disks. The lab stretches the jobs of two VMs by SLOW_FACTOR (POST /azure/faults/slow-vm):
one of the wave, which makes it the wave's slowest VM, and a probe VM outside the wave with the same jobs. In one
run:

1. test migration (playbooks/test_migration.yml: test failover, check, cleanup) of the probe alone, then of the wave;
2. cutover (playbooks/cutover.yml: planned failover, commit, complete, verification) of the probe alone, then of
   the wave.

Reported per operation: the playbook's wall time alone and for the wave, their ratio (goal: at most 1.3), the ARM
requests, 429 answers and requests sent before a 429's Retry-After passed (the lab counts them; must be 0).
bench/results/cutover_wave.json holds the measurement before the wave module (one async task per VM): 2.72.

The lab clock runs TIME_SCALE lab seconds per real second, so a planned failover (about 450 lab seconds of
recorded task lengths, lab/azure/jobs.py) takes seconds; ARM throttling runs on real time (reads 250 / 25 per s).

Usage: python bench/wave.py [--wave 20] [--time-scale 60] [--slow-factor 2] [--progress-seconds 10]
Writes bench/results/wave.json.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (ROOT / "tests", ROOT / "tests" / "integration", ROOT / ".collections"):
    sys.path.insert(0, str(path))

# pylint: disable=wrong-import-position
from migration_lab import TARGET_GROUP, make_runner, replicate_vars, start_lab, vm_name  # noqa: E402

RESULTS = HERE / "results" / "wave.json"
TIMEOUT_S = 900     # the role's rounds last at least 1/100 of it: 9 s, under --progress-seconds' default
PLAYBOOKS = {"test_migration": "playbooks/test_migration.yml", "cutover": "playbooks/cutover.yml"}


def run_wave(run, lab, operation, vms, wave_name, report_dir, progress_seconds):
    extra = {"azmigrate_azure_auth": "{{ azure_auth }}", "cutover_resource_group": "rg-migrate",
             "cutover_vault_name": "vault-migrate", "cutover_target_resource_group": TARGET_GROUP,
             "cutover_test_network": "vnet-test", "cutover_poll_interval": 1,
             "cutover_progress_seconds": progress_seconds, "cutover_timeout": TIMEOUT_S, "cutover_report_dir": str(report_dir), "cutover_vms": vms,
             "cutover_wave_name": wave_name}
    if operation == "test_migration":
        extra.pop("cutover_target_resource_group")
    since = lab.admin.get("/azure/requests?since=0")["last_seq"]
    started = time.monotonic()
    outcome = run(PLAYBOOKS[operation], extra_vars=extra, timeout=3600)
    wall = time.monotonic() - started
    if outcome.rc != 0:
        raise SystemExit(f"{operation} of {wave_name} failed:\n" + outcome.output[-3000:])
    report = json.loads((report_dir / f"{operation}-{wave_name}.json").read_text())
    requests = lab.admin.get(f"/azure/requests?since={since}")
    return {"wall_s": round(wall, 2), "vms": len(vms), "rounds": outcome.output.count("Run a round of the wave"),
            "slowest_vm_module_s": max(row["seconds"] for row in report["vms"]),
            "every_vm_passed": report["failed"] == 0 and report["passed"] == len(vms),
            "arm_requests": requests["total"], "arm_429": requests["by_status"].get("429", 0),
            "retry_after_violations": requests["retry_after_violations"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wave", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--slow-factor", type=float, default=2.0)
    parser.add_argument("--progress-seconds", type=int, default=10)
    args = parser.parse_args()
    hosts = {"HVW01": (args.wave + 2) // 2, "HVW02": (args.wave + 1) // 2}
    names = [vm_name(host, number) for host, count in hosts.items() for number in range(1, count + 1)]
    probe, wave = names[0], names[1:args.wave + 1]
    slowest_in_wave = wave[len(wave) // 2]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-wave-") as scratch:
        work = Path(scratch)
        lab = start_lab(work / "lab", hosts=hosts, time_scale=args.time_scale)
        try:
            run = make_runner(lab, work)
            outcome = run("playbooks/replicate.yml", extra_vars=replicate_vars(lab, [probe] + wave), timeout=1800)
            if outcome.rc != 0:
                raise SystemExit("replication failed:\n" + outcome.output[-3000:])
            for vm in (probe, slowest_in_wave):
                lab.admin.post("/azure/faults/slow-vm", {"vm": vm, "factor": args.slow_factor})
            for operation in ("test_migration", "cutover"):
                alone = run_wave(run, lab, operation, [probe], f"alone-{operation}", work, args.progress_seconds)
                together = run_wave(run, lab, operation, wave, f"wave-{operation}", work, args.progress_seconds)
                results[operation] = {"slowest_vm_alone": alone, "wave": together,
                                      "ratio_wave_to_slowest_alone": round(together["wall_s"] / alone["wall_s"], 2)}
        finally:
            lab.stop()
    result = {
        "what": "wall time of the cutover role's playbook for a wave vs for its slowest VM alone (same jobs)",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "lab": {"time_scale": args.time_scale, "slow_factor": args.slow_factor, "slowest_in_wave": slowest_in_wave,
                "probe": probe, "arm_throttle": "reads 250 / 25 per s, writes 200 / 10 per s (ARM's defaults)"},
        "role": {"cutover_progress_seconds": args.progress_seconds, "cutover_timeout": TIMEOUT_S,
                 "cutover_poll_interval": 1},
        "goal": "ratio_wave_to_slowest_alone <= 1.3",
        "baseline_before": "bench/results/cutover_wave.json (one async migration task per VM): cutover ratio 2.72",
        **results,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
