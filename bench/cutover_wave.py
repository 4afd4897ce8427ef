#!/usr/bin/env python
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the cutover of a 20-VM wave (playbooks/cutover.yml) against the slowest single-VM cutover.

One lab (tests/integration/migration_lab.py: a Hyper-V site, a policy, the lab's Azure) with 20 wave VMs and
SINGLES more, all replicating to managed disks. Each single VM is cut over alone with playbooks/cutover.yml
(planned failover, commit, complete, verification); then the 20-VM wave is cut over in one run of the same
playbook. Reported: the wall time of each run, the ratios wave / slowest single and wave / sum of the singles'
per-VM times x 20 / SINGLES (what one-at-a-time would take), the ARM requests and 429 answers of the wave run.

The lab clock runs TIME_SCALE lab seconds per real second, so a planned failover of the lab (about 450 lab seconds
of recorded task lengths, lab/azure/jobs.py) takes seconds; ARM throttling runs on real time (reads 250 / 25 per s).

Usage: python bench/cutover_wave.py [--wave 20] [--singles 3] [--time-scale 60]
Writes bench/results/cutover_wave.json.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (ROOT / "tests", ROOT / "tests" / "integration", ROOT / ".collections"):
    sys.path.insert(0, str(path))

# pylint: disable=wrong-import-position
from migration_lab import TARGET_GROUP, make_runner, start_lab, vm_name  # noqa: E402

RESULTS = HERE / "results" / "cutover_wave.json"


def replicate(run, vms, work):
    """Enable replication of every VM (playbooks/replicate.yml) and wait until all are protected."""
    extra = {"azmigrate_azure_auth": "{{ azure_auth }}", "replicate_resource_group": "rg-migrate",
             "replicate_vault_name": "vault-migrate", "replicate_target_resource_group": TARGET_GROUP,
             "replicate_target_network": "vnet-migrated", "replicate_target_subnet": "default",
             "replicate_poll_interval": 2, "replicate_timeout": 900, "replicate_vms": vms}
    outcome = run("playbooks/replicate.yml", extra_vars=extra, timeout=1800)
    if outcome.rc != 0:
        raise SystemExit("replication failed:\n" + outcome.output[-3000:])
    (work / "replicate.log").write_text(outcome.output)


def cutover(run, vms, wave_name, report_dir):
    extra = {"azmigrate_azure_auth": "{{ azure_auth }}", "cutover_resource_group": "rg-migrate",
             "cutover_vault_name": "vault-migrate", "cutover_target_resource_group": TARGET_GROUP,
             "cutover_poll_interval": 1, "cutover_report_dir": str(report_dir), "cutover_vms": vms,
             "cutover_wave_name": wave_name}
    started = time.monotonic()
    outcome = run("playbooks/cutover.yml", extra_vars=extra, timeout=3600)
    wall = time.monotonic() - started
    if outcome.rc != 0:
        raise SystemExit(f"cutover of {wave_name} failed:\n" + outcome.output[-3000:])
    report = json.loads((report_dir / f"cutover-{wave_name}.json").read_text())
    return wall, report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wave", type=int, default=20)
    parser.add_argument("--singles", type=int, default=3)
    parser.add_argument("--time-scale", type=float, default=60.0)
    args = parser.parse_args()
    hosts = {"HVW01": (args.wave + args.singles + 1) // 2, "HVW02": (args.wave + args.singles) // 2}
    names = [vm_name(host, number) for host, count in hosts.items() for number in range(1, count + 1)]
    singles, wave = names[:args.singles], names[args.singles:args.singles + args.wave]
    with tempfile.TemporaryDirectory(prefix="bench-cutover-") as scratch:
        work = Path(scratch)
        lab = start_lab(work / "lab", hosts=hosts, time_scale=args.time_scale)
        try:
            run = make_runner(lab, work)
            replicate(run, singles + wave, work)
            single_runs = []
            for name in singles:
                wall, report = cutover(run, [name], f"single-{name}", work)
                single_runs.append({"vm": name, "wall_s": round(wall, 2), "module_s": report["vms"][0]["seconds"]})
            since = lab.admin.get("/azure/requests?since=0")["last_seq"]
            wave_wall, wave_report = cutover(run, wave, "wave", work)
            requests = lab.admin.get(f"/azure/requests?since={since}")
        finally:
            lab.stop()
    slowest = max(single_runs, key=lambda entry: entry["wall_s"])
    per_vm = [row["seconds"] for row in wave_report["vms"]]
    one_at_a_time = sum(entry["wall_s"] for entry in single_runs) / len(single_runs) * len(wave)
    result = {
        "time_scale": args.time_scale, "wave_vms": len(wave), "singles": single_runs,
        "slowest_single_wall_s": slowest["wall_s"], "wave_wall_s": round(wave_wall, 2),
        "wave_per_vm_module_s": {"min": min(per_vm), "max": max(per_vm), "mean": round(sum(per_vm) / len(per_vm), 2)},
        "ratio_wave_to_slowest_single": round(wave_wall / slowest["wall_s"], 2),
        "estimated_one_at_a_time_s": round(one_at_a_time, 1),
        "ratio_one_at_a_time_to_wave": round(one_at_a_time / wave_wall, 2),
        "wave_arm_requests": requests["total"], "wave_arm_status": requests["by_status"],
        "every_vm_completed": all(row["state"] == "completed" and not row["failed"] for row in wave_report["vms"]),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
