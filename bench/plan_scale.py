#!/usr/bin/env python
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: plan 10,000 VMs on 1,000 Hyper-V hosts with azmigrate.hyperv's replication planner.

Prints the planning time (one process, one core: the planner is single-threaded pure Python) and
how close the plan's makespan comes to its lower bound (per host: the initial replication bytes plus
the delta bytes uploaded meanwhile - the logs and churn of VMs that finished first - over the host's
usable bandwidth on its throttle schedule; the estate's bound is the largest host's), and writes
both to bench/results/plan_scale.json (plan_scale_<vms>.json for other sizes). The estate is generated from a fixed seed, so every run
plans the same estate; the plan is also computed twice and compared, to show it is deterministic.
Every VM writes 0-2 MB/s, so the plan's timings include the delta uploads sharing each host's link.

Which hosts count: a host's bound is "reachable" when no plan is known to be unable to meet it
(hosts[].lower_bound_reachable): neither its largest VM alone at its cap, nor its largest VMs finishing
one by one at their caps (hosts[].largest_vms_bound_s, unthrottled hosts), take longer than the link
bound. The result also gives the count under the older test (largest VM alone only), and every host's
makespan against the larger of its two bounds.

Usage: python bench/plan_scale.py [--vms 10000] [--hosts 1000] [--seed 20250307] [--repeat 3] [--limit-s 2]
       python bench/plan_scale.py --vms 100000 --hosts 10000 --repeat 1      (limit 10 s; plan_scale_100000.json)
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, '.collections'))

# pylint: disable=wrong-import-position
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _planner as replication_planner  # noqa: E402

LINK_RATES = ('500 Mbit/s', '1 Gbit/s', '1 Gbit/s', '2 Gbit/s', '10 Gbit/s')
GIB = 1024 ** 3


def generate_estate(vm_count, host_count, seed):
    """A seeded estate: hosts with mixed links, a third throttled, VMs with 1-4 disks each."""
    rng = random.Random(seed)
    hosts = []
    for number in range(1, host_count + 1):
        host = {'name': 'HV%04d' % number, 'link_rate': rng.choice(LINK_RATES),
                'volumes': [{'name': 'D:\\', 'free': '%d GB' % rng.randint(8000, 40000)}]}
        if rng.random() < 1 / 3:
            host['throttle'] = {'work_rate': '%d Mbps' % rng.choice((20, 50, 100)),
                                'non_work_rate': '%d Mbps' % rng.choice((400, 800, 1023))}
        hosts.append(host)
    vms = []
    for number in range(1, vm_count + 1):
        disks = [{'size': '%d GB' % max(20, int(rng.lognormvariate(5.0, 0.9))), 'volume': 'D:\\'}
                 for _disk in range(rng.choice((1, 1, 2, 2, 3, 4)))]
        vms.append({'name': 'vm%05d' % number, 'host': hosts[rng.randrange(host_count)]['name'],
                    'disks': disks, 'churn': '%.2f MB/s' % rng.uniform(0.0, 2.0)})
    total_bytes = sum(int(disk['size'].split()[0]) * GIB for vm in vms for disk in vm['disks'])
    account_count = 20
    return {
        'vms': vms, 'hosts': hosts, 'replication_interval': 300, 'start_time': '2025-03-07T18:00:00',
        'storage_account_count': account_count,
        'storage_account_capacity': '%d GB' % (total_bytes * 1.25 / account_count / GIB),
    }


def host_ratios(plan, reachable_only=False):
    """Per-host makespan / lower bound (hosts with a positive bound; optionally only where it is reachable)."""
    return sorted(host['makespan_s'] / host['lower_bound_s'] for host in plan['hosts']
                  if host['lower_bound_s'] and (host['lower_bound_reachable'] or not reachable_only))


def largest_vm_only_ratios(plan):
    """The same for the hosts whose largest VM alone at its cap fits within the link bound (the older test)."""
    return sorted(host['makespan_s'] / host['lower_bound_s'] for host in plan['hosts']
                  if host['lower_bound_s'] and host['largest_vm_bound_s'] <= host['lower_bound_s'])


def tightest_bound_ratios(plan):
    """Every host's makespan / the larger of its link bound and its largest-VMs bound."""
    return sorted(host['makespan_s'] / max(host['lower_bound_s'], host['largest_vms_bound_s']) for host in plan['hosts']
                  if host['lower_bound_s'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--vms', type=int, default=10000)
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=20250307)
    parser.add_argument('--repeat', type=int, default=3, help='plan this many times; the best time is reported')
    parser.add_argument('--limit-s', type=float, help='planning time to stay under (default 2 s up to 10,000 VMs, else 10 s)')
    parser.add_argument('--output', help='default bench/results/plan_scale.json for 10,000 VMs, else plan_scale_<vms>.json')
    args = parser.parse_args()
    limit = args.limit_s if args.limit_s is not None else (2.0 if args.vms <= 10000 else 10.0)
    output = args.output or os.path.join(HERE, 'results', 'plan_scale.json' if args.vms == 10000 else 'plan_scale_%d.json' % args.vms)

    request = generate_estate(args.vms, args.hosts, args.seed)
    timings, plans = [], []
    for _run in range(args.repeat):
        started = time.process_time()
        plans.append(replication_planner.plan_replication(request))
        timings.append(time.process_time() - started)
    plan = plans[0]
    deterministic = all(json.dumps(other, sort_keys=True) == json.dumps(plan, sort_keys=True) for other in plans[1:])
    ratios = host_ratios(plan)
    reachable = host_ratios(plan, reachable_only=True)
    older = largest_vm_only_ratios(plan)
    tightest = tightest_bound_ratios(plan)
    result = {
        'vms': args.vms, 'hosts': args.hosts, 'seed': args.seed, 'repeat': args.repeat,
        'python': platform.python_version(), 'python_implementation': platform.python_implementation(),
        'machine': platform.machine(), 'processor': _processor(), 'cpu_count': os.cpu_count(), 'system': platform.platform(),
        'timer': 'time.process_time (CPU seconds of this process: one core)',
        'plan_cpu_seconds_best': round(min(timings), 3),
        'plan_cpu_seconds_all': [round(value, 3) for value in timings],
        'limit_s': limit,
        'within_limit': min(timings) < limit,
        'waves': plan['totals']['waves'],
        'initial_replication_bytes': plan['totals']['bytes'],
        'delta_upload_bytes': sum(host['delta_upload_bytes'] for host in plan['hosts']),
        'makespan_s': plan['makespan_s'],
        'makespan_lower_bound_s': plan['makespan_lower_bound_s'],
        'makespan_ratio': plan['makespan_ratio'],
        'host_ratio_mean': round(statistics.fmean(ratios), 4),
        'host_ratio_p99': round(ratios[int(0.99 * (len(ratios) - 1))], 4),
        'host_ratio_max': round(ratios[-1], 4),
        'hosts_within_10_percent': sum(1 for ratio in ratios if ratio <= 1.1),
        'hosts_bound_reachable': len(reachable),
        'reachable_hosts_within_10_percent': sum(1 for ratio in reachable if ratio <= 1.1),
        'reachable_host_ratio_p90': round(reachable[int(0.9 * (len(reachable) - 1))], 4) if reachable else None,
        'reachable_host_ratio_max': round(reachable[-1], 4) if reachable else None,
        'reachable_share_within_10_percent': round(sum(1 for ratio in reachable if ratio <= 1.1) / len(reachable), 4) if reachable else None,
        'largest_vm_only_reachable_hosts': len(older),
        'largest_vm_only_reachable_within_10_percent': sum(1 for ratio in older if ratio <= 1.1),
        'hosts_within_10_percent_of_tightest_bound': sum(1 for ratio in tightest if ratio <= 1.1),
        'tightest_bound_ratio_max': round(tightest[-1], 4),
        'deterministic': deterministic,
        'warnings': len(plan['warnings']),
    }
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, 'w', encoding='utf-8') as handle:
        json.dump(result, handle, indent=2, sort_keys=True)
        handle.write('\n')
    print('planned %(vms)d VMs on %(hosts)d hosts in %(plan_cpu_seconds_best).3f s CPU (best of %(runs)d; limit %(limit_s)g s)'
          % dict(result, runs=args.repeat))
    print('makespan %.0f s, lower bound %.0f s, ratio %.4f; per host: mean %.4f, p99 %.4f, max %.4f; %d/%d hosts within 10 %%'
          % (result['makespan_s'], result['makespan_lower_bound_s'], result['makespan_ratio'], result['host_ratio_mean'],
             result['host_ratio_p99'], result['host_ratio_max'], result['hosts_within_10_percent'], len(ratios)))
    print('hosts whose bound is reachable: %d, of which %d (%.1f %%) within 10 %%, p90 %.4f, max %.4f'
          % (result['hosts_bound_reachable'], result['reachable_hosts_within_10_percent'], 100 * result['reachable_share_within_10_percent'],
             result['reachable_host_ratio_p90'], result['reachable_host_ratio_max']))
    print('older test (largest VM alone at its cap only): %d hosts, %d within 10 %%; all hosts against their tightest bound: %d of %d within 10 %%'
          % (result['largest_vm_only_reachable_hosts'], result['largest_vm_only_reachable_within_10_percent'],
             result['hosts_within_10_percent_of_tightest_bound'], len(tightest)))
    print('delta uploads while initial replication runs: %.1f TB next to %.1f TB of initial replication'
          % (result['delta_upload_bytes'] / 1024 ** 4, result['initial_replication_bytes'] / 1024 ** 4))
    print('deterministic across runs: %s; results in %s' % (deterministic, os.path.relpath(output, ROOT)))
    return 0 if result['within_limit'] and deterministic else 1


def _processor():
    """The CPU model (Linux /proc/cpuinfo), else what platform knows."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


if __name__ == '__main__':
    sys.exit(main())
