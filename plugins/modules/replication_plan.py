# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/replication_plan.py,
# which runs the pure planner plugins/plugin_utils/_planner on the controller. How it plans: docs/planning.md.

DOCUMENTATION = r"""
---
module: replication_plan
short_description: Plan capacity and waves for replicating a Hyper-V estate to Azure
version_added: 0.1.0
description:
  - Plans initial replication of Hyper-V VMs to Azure (Azure Migrate agentless Hyper-V, Site Recovery
    C(HyperVReplicaAzure)) the way the Site Recovery Deployment Planner for Hyper-V did, without any network
    access - pure computation on the controller.
  - Groups the VMs of each host into waves (which VMs replicate together), estimates when each VM and each
    wave finishes initial replication on the hosts' throttle schedules, checks that delta replication keeps up
    with churn at the replication interval, checks the log space on each volume (snapshot plus C(.hrl) logs,
    worst case), assigns VMs to log storage accounts within their capacity, and recommends
    C(UploadThreadsPerVM) and the throttle per host.
  - "Model: a host uploads at min(link rate x O(link_efficiency), throttle rate in force); each VM at most at
    C(UploadThreadsPerVM) x O(per_thread_rate); VMs replicating together share the host rate, and a VM that
    finished initial replication uploads its C(.hrl) log and its churn over the same link meanwhile."
  - "Waves: wave N is every host's N-th group of VMs; a host starts its part of wave N when its part of wave
    N-1 has finished, and hosts do not wait for each other. The model, the wave search and the bounds are
    described in the collection's docs/planning.md."
  - Deterministic - the same input gives the same plan, whatever the order of VMs, hosts or accounts, so the
    slices of a sliced AWX job agree.
  - "Every option is checked before anything is planned. Sizes, churn and rates need their unit (V(127 GB),
    V(5 MB/s), V(1 Gbit/s), V(10 Mbps)); only zero may be given without one. A bare number is refused naming the
    option, the value and the units it takes, never read as bits, bytes or Kbps by guess - write V(1024 B) or
    V(1024 B/s) for bytes. A value left out takes its documented default; a value given is never replaced by it,
    so V(0) or a negative number where it has no meaning is refused, not planned as the default."
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  vms:
    description:
      - The VMs to replicate. Added to those of O(vms_file) and O(host_info).
    type: list
    elements: dict
    suboptions:
      name:
        description: VM name, unique in the plan.
        type: str
        required: true
      host:
        description: Name of the host the VM runs on; must be in O(hosts) or O(host_info).
        type: str
        required: true
      disks:
        description:
          - The VM's disks, each a size (V(127 GB), V(2 TB), V(136365211648 B); B, KB, MB, GB, TB, PB are binary, as
            Hyper-V shows them) or a mapping with C(size) and C(volume) (the host volume holding the VHD, for example
            V(D:\\)) or C(path) (the VHD's path, matched to the host's volumes).
          - A size is above zero and at most 64 TB, the largest virtual disk (VHDX) Hyper-V has.
        type: list
        elements: raw
        required: true
      churn:
        description:
          - How fast the VM writes to its disks - V(5 MB/s), V(40 GB/day), V(2 GB/h) or V(1024 B/s); zero or more,
            V(0) for a VM that does not write. Defaults to O(default_churn).
        type: raw
  vms_file:
    description:
      - A file with VMs, looked up like other task files (the play's C(files/) directories, then as a path).
      - V(.csv) - a header row C(name,host,disks,churn[,volume]); C(disks) holds sizes separated by C(;); a row
        with an empty C(churn) takes O(default_churn).
      - V(.yml), V(.yaml) or V(.json) - a list of VMs as in O(vms), or a mapping with a C(vms) list.
    type: str
  host_info:
    description:
      - Results of M(azmigrate.hyperv.host_info), one per host. Their VMs (with disk sizes and paths), volumes
        (free space), throttle and upload threads are used; the host is named by C(host), C(inventory_hostname)
        or C(computer_name). Give link rates with O(hosts) or O(default_link_rate), churn with O(vm_churn) or
        O(default_churn).
    type: list
    elements: dict
  vm_churn:
    description:
      - Churn by VM name (V(5 MB/s), V(40 GB/day)), overriding the VMs' own C(churn); for VMs that come from
        O(host_info). Every name must be a VM of the plan.
    type: dict
  default_churn:
    description: Churn of VMs that give none, with its unit (V(1 MB/s), V(20 GB/day)); zero or more.
    type: raw
    default: "0"
  hosts:
    description:
      - The Hyper-V hosts (or cluster nodes). An entry with the name of a O(host_info) host adds to it.
    type: list
    elements: dict
    suboptions:
      name:
        description: Host name, as the VMs' C(host) gives it.
        type: str
        required: true
      link_rate:
        description:
          - The host's upload link to Azure (its share of the WAN) in bits per second - V(1 Gbit/s), V(500 Mbit/s);
            the unit (bit/s, kbit/s, Mbit/s, Gbit/s or Tbit/s) is required and the rate must be above zero.
          - Deliberately not the throttle's units - V(1 Gbps) is refused here, since the agent's Gbps are binary
            gigabytes per second; see O(hosts[].throttle). Defaults to O(default_link_rate).
        type: str
      upload_threads:
        description:
          - C(UploadThreadsPerVM) the host will have while replicating (1-32). Omit to plan with the
            recommended value (C(recommended_upload_threads) in RV(hosts)).
        type: int
      max_vms_per_wave:
        description: Most VMs of this host in one wave, at least 1; defaults to O(max_vms_per_wave).
        type: int
      throttle:
        description:
          - The MARS agent's throttle (C(Set-OBMachineSetting)), with M(azmigrate.hyperv.upload_throttle)'s option names.
            Omit, or set C(enabled=false), for no throttle.
          - Rates in the agent's units, V(512 Kbps) to V(1023 Mbps), where 1 Kbps is 1,024 bytes per second
            (Microsoft's examples set the 512 Kbps minimum as C(512*1024)). The unit is required - a bare number
            could be meant as the MMC's Kbps or as C(Set-OBMachineSetting)'s bytes per second.
        type: dict
        suboptions:
          enabled:
            description: Whether the throttle is on.
            type: bool
            default: true
          work_days:
            description: Work days (V(Monday) ... V(Sunday)); Monday to Friday when omitted. An empty list is refused.
            type: list
            elements: str
          work_hour_start:
            description:
              - Start of work hours, V(HH:MM); before O(hosts[].throttle.work_hour_end). V(08:00) when omitted.
              - C(work_start) is its older name, accepted until 2.0.0 (deprecated); giving both is refused.
            type: str
          work_hour_end:
            description:
              - End of work hours, V(HH:MM). V(18:00) when omitted.
              - C(work_end) is its older name, accepted until 2.0.0 (deprecated); giving both is refused.
            type: str
          work_hour_bandwidth:
            description:
              - Upload limit in work hours, for example V(4 Mbps). Required when the throttle is enabled.
              - C(work_rate) is its older name, accepted until 2.0.0 (deprecated); giving both is refused.
            type: raw
          non_work_hour_bandwidth:
            description:
              - Upload limit outside work hours, for example V(100 Mbps). Required when the throttle is enabled.
              - C(non_work_rate) is its older name, accepted until 2.0.0 (deprecated); giving both is refused.
            type: raw
          work_start:
            description: Deprecated older name of O(hosts[].throttle.work_hour_start), removed in 2.0.0.
            type: str
          work_end:
            description: Deprecated older name of O(hosts[].throttle.work_hour_end), removed in 2.0.0.
            type: str
          work_rate:
            description: Deprecated older name of O(hosts[].throttle.work_hour_bandwidth), removed in 2.0.0.
            type: raw
          non_work_rate:
            description: Deprecated older name of O(hosts[].throttle.non_work_hour_bandwidth), removed in 2.0.0.
            type: raw
      volumes:
        description: Free space of the volumes that hold the VMs' disks, for the log headroom check.
        type: list
        elements: dict
        suboptions:
          name:
            description: Volume name as disk paths start, for example V(D:\\) or V(C:\\ClusterStorage\\Volume1\\).
            type: str
            required: true
          free:
            description: Free space with its unit, for example V(2 TB); V(0) for a full volume. Each volume once per host.
            type: raw
            required: true
  default_link_rate:
    description: Link rate of hosts that give none, in bits per second with its unit (V(1 Gbit/s)); above zero.
    type: str
  storage_accounts:
    description:
      - The log (cache) storage accounts replication goes through, with the bytes each may hold. VMs are spread
        over them largest first into the account with most room left; each VM needs its disks' total.
    type: list
    elements: dict
    suboptions:
      name:
        description: Storage account name.
        type: str
        required: true
      capacity:
        description: What the account may hold, with its unit, for example V(5 TB); above zero.
        type: raw
        required: true
  storage_account_count:
    description:
      - Instead of O(storage_accounts) - how many accounts, named C(logstorage01), C(logstorage02) ..., each
        holding O(storage_account_capacity). Must be at least 1.
    type: int
  storage_account_capacity:
    description: Capacity of each of the O(storage_account_count) accounts, with its unit, for example V(5 TB); above zero.
    type: raw
  replication_interval:
    description:
      - Replication interval of the replication policy in seconds, for the delta replication check.
    type: int
    default: 300
    choices: [30, 300, 900]
  start_time:
    description:
      - When initial replication starts, ISO 8601 in the hosts' local time (V(2025-03-07T18:00:00)). Without it
        the plan starts on a Monday at 00:00 and gives times only as offsets (C(start_s), C(finish_s)).
    type: str
  target_window:
    description:
      - The window initial replication must finish in (host local time). VMs that cannot finish inside it are
        left out of the waves and listed in RV(deferred_vms).
    type: dict
    suboptions:
      start:
        description: Window start, ISO 8601; the plan starts here.
        type: str
        required: true
      end:
        description: Window end, ISO 8601.
        type: str
        required: true
  max_vms_per_wave:
    description:
      - Most VMs of one host in one wave, at least 1. The default is the replicate wizard's batch of 10.
    type: int
    default: 10
  link_efficiency:
    description:
      - Share of the link rate that replication payload gets (framing, TLS, HTTP, retransmissions); above 0 and
        at most 1.
    type: float
    default: 0.9
  per_thread_rate:
    description:
      - Upload rate of one MARS upload thread (each thread sends one block at a time and waits for Azure
        storage to acknowledge it), with its unit as churn is written (V(8 MB/s)); above zero. Measure it on a
        real host and set it here.
    type: str
    default: 8 MB/s
attributes:
  action:
    description: Runs on the controller as an action plugin.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a global task that does not run per host.
    support: none
  check_mode:
    description: Runs in check mode and plans as usual, since it changes nothing.
    support: full
  diff_mode:
    description: Returns no diff, since it changes nothing.
    support: none
  platform:
    description: Runs on the controller only and never connects to the host of the task.
    platforms: all
    support: full
notes:
  - Needs no network and no Azure credentials. Run it on C(localhost).
  - Two spellings of rates on purpose - throttle rates in the agent's Kbps/Mbps (bytes, binary), link rates in
    Mbit/s and Gbit/s (bits, decimal); each option refuses the other spelling.
  - Log space is checked at its worst case - 100 % of a disk's size during initial replication, 50 % during
    delta replication - with the peak over the waves.
  - The plan's estimates come from a model with documented assumptions (docs/planning.md); per-thread rate and
    link efficiency are the inputs to calibrate against a real host.
  - The throttle keys C(work_start), C(work_end), C(work_rate) and C(non_work_rate) are deprecated and will be
    removed in 2.0.0; use C(work_hour_start), C(work_hour_end), C(work_hour_bandwidth), C(non_work_hour_bandwidth).
  - The 64 TB disk limit is Hyper-V's VHDX maximum; Azure's own per-disk limit for replication is lower and is
    not checked here (unverified which applies to a given target; see the Site Recovery support matrix).
seealso:
  - module: azmigrate.hyperv.host_info
  - name: Hyper-V migration architecture
    description: How replication uses the host's disk space, bandwidth and throttle.
    link: https://learn.microsoft.com/azure/migrate/hyper-v-migration-architecture
"""

EXAMPLES = r"""
- name: Plan replication of a small estate
  azmigrate.hyperv.replication_plan:
    vms:
      - {name: app01, host: HV01, disks: ["127 GB", "500 GB"], churn: "2 MB/s"}
      - {name: db01, host: HV01, disks: [{size: "1 TB", volume: "E:\\"}], churn: "40 GB/day"}
      - {name: web01, host: HV02, disks: ["60 GB"], churn: "0.5 MB/s"}
    hosts:
      - name: HV01
        link_rate: 1 Gbit/s
        throttle: {work_hour_bandwidth: 10 Mbps, non_work_hour_bandwidth: 400 Mbps}
        volumes: [{name: "E:\\", free: 2 TB}]
      - name: HV02
        link_rate: 500 Mbit/s
        upload_threads: 8
    storage_account_count: 2
    storage_account_capacity: 4 TB
    start_time: "2025-03-07T18:00:00"
  delegate_to: localhost
  run_once: true
  register: plan

- name: Plan from host_info results and a churn file, inside a weekend window
  azmigrate.hyperv.replication_plan:
    host_info: "{{ groups['hyperv_hosts'] | map('extract', hostvars, 'host_facts') | list }}"
    vm_churn: "{{ lookup('ansible.builtin.file', 'churn.json') | from_json }}"
    default_link_rate: 1 Gbit/s
    storage_accounts:
      - {name: migratelog01, capacity: 20 TB}
      - {name: migratelog02, capacity: 20 TB}
    replication_interval: 300
    target_window: {start: "2025-03-07T20:00:00", end: "2025-03-10T06:00:00"}
  delegate_to: localhost
  run_once: true
  register: plan

- name: Plan from a CSV inventory (name,host,disks,churn)
  azmigrate.hyperv.replication_plan:
    vms_file: estate.csv
    default_link_rate: 10 Gbit/s
    storage_account_count: 4
    storage_account_capacity: 50 TB
  delegate_to: localhost
  run_once: true
  register: plan
"""

RETURN = r"""
start:
  description: Start of the plan (ISO 8601, hosts' local time); null when O(start_time) and O(target_window) are not given.
  returned: always
  type: str
  sample: "2025-03-07T18:00:00"
finish:
  description: When the last VM finishes initial replication; null without a start time.
  returned: always
  type: str
  sample: "2025-03-08T00:41:46"
replication_interval:
  description: The replication interval used for the delta checks, seconds.
  returned: always
  type: int
  sample: 300
makespan_s:
  description: Seconds from the start until the last VM finishes initial replication.
  returned: always
  type: float
  sample: 24106.24
makespan_lower_bound_s:
  description:
    - The largest, over hosts, of C(lower_bound_s) in RV(hosts).
  returned: always
  type: float
  sample: 24106.24
makespan_ratio:
  description: RV(makespan_s) / RV(makespan_lower_bound_s).
  returned: always
  type: float
  sample: 1.0
target_window:
  description: The window and whether the plan fits in it; null without O(target_window).
  returned: always
  type: dict
  sample: {start: "2025-03-07T20:00:00", end: "2025-03-10T06:00:00", fits: true}
totals:
  description: Counts and sums over the plan.
  returned: always
  type: dict
  sample: {vms: 3, hosts: 2, waves: 2, bytes: 1836760760320, churn_bps: 3118542.7}
waves:
  description:
    - The waves in order; wave N holds every host's N-th group of VMs.
    - Each has C(name), C(hosts), C(vms), C(start_s) and C(finish_s) (seconds after the plan start - the first host
      part's start, the last VM's finish), C(duration_s), C(start) and C(finish) (ISO 8601, null without a start
      time), C(bytes) (initial replication) and C(host_parts) (each host's part - C(host), C(vms), C(start_s),
      C(finish_s), C(bytes)).
  returned: always
  type: list
  elements: dict
  sample: [{name: wave-01, hosts: [HV01, HV02], vms: [db01, web01], start_s: 0.0, finish_s: 10485.76, duration_s: 10485.76,
            start: "2025-03-07T18:00:00", finish: "2025-03-07T20:54:45", bytes: 1163936137216,
            host_parts: [{host: HV01, vms: [db01], start_s: 0.0, finish_s: 10485.76, bytes: 1099511627776}]}]
replicate_waves:
  description: The waves in the short form playbooks/replicate.yml reads - C(name), C(vms), C(hosts), C(start), C(finish).
  returned: always
  type: list
  elements: dict
  sample: [{name: wave-01, vms: [db01, web01], hosts: [HV01, HV02], start: "2025-03-07T18:00:00", finish: "2025-03-07T20:54:45"}]
deferred_vms:
  description: VMs that cannot finish inside O(target_window) and are left out of the waves.
  returned: always
  type: list
  elements: str
  sample: []
hosts:
  description:
    - Per host - C(name), C(link_rate), C(usable_bps) (link rate x O(link_efficiency)), C(upload_threads) (what the plan
      assumes), C(upload_threads_given) (whether it came from the input), C(recommended_upload_threads) (4-32, so one VM
      alone fills the host's peak rate and carries its churn), C(vm_cap_bps) (threads x O(per_thread_rate)),
      C(max_vms_per_wave) (the wave size chosen), C(vm_count), C(bytes) (initial replication), C(waves),
      C(makespan_s) and C(finish) (the host's last VM; ISO 8601, null without a start time).
    - C(throttle) - the throttle the plan assumes (bandwidths in bytes per second, null when unlimited).
    - C(recommended_throttle) - the throttle to set, as M(azmigrate.hyperv.upload_throttle)'s options (bandwidths in the
      agent's units, ready to pass on), with the C(reason). Up to 0.1.0 it also held C(work_start), C(work_end),
      C(work_rate), C(non_work_rate) and the bandwidths in bytes per second.
    - C(delta_upload_bytes) - delta replication bytes (C(.hrl) logs and churn of the VMs that finished before) the host
      uploads until its last VM finishes initial replication, over the same link; 0 when no VM writes.
    - C(lower_bound_s), C(largest_vm_bound_s), C(largest_vms_bound_s) - seconds no plan can beat; the link bound (initial
      replication and delta bytes at the full usable rate), the largest VM alone at its cap, the largest VMs finishing
      one by one at their caps. C(lower_bound_reachable) - neither of the last two is longer than the first. See
      docs/planning.md, "Bounds".
    - C(delta) - delta replication of all the host's VMs - C(required_bps) (total churn), C(bytes_per_interval),
      C(available_min_bps) (at the most throttled time), C(available_average_bps), C(keeps_up) (V(always) or
      V(on_average)), C(backlog_peak_bytes) (largest .hrl backlog over a week).
    - C(volumes) - log space per volume - C(name), C(disk_bytes), C(required_bytes) (peak of snapshot + logs),
      C(peak_wave), C(free_bytes), C(headroom_bytes), C(ok) (null when the free space is unknown).
  returned: always
  type: list
  elements: dict
  sample:
    - name: HV01
      link_rate: 1 Gbit/s
      usable_bps: 112500000.0
      upload_threads: 14
      upload_threads_given: false
      recommended_upload_threads: 14
      vm_cap_bps: 117440512
      max_vms_per_wave: 2
      throttle: {enabled: true, work_days: [Monday, Tuesday, Wednesday, Thursday, Friday], work_hour_start: "08:00:00",
                 work_hour_end: "18:00:00", work_hour_bandwidth: 10485760, non_work_hour_bandwidth: 419430400}
      recommended_throttle: {enabled: true, work_days: [Monday, Tuesday, Wednesday, Thursday, Friday], work_hour_start: "08:00:00",
                             work_hour_end: "18:00:00", work_hour_bandwidth: 10 Mbps, non_work_hour_bandwidth: 400 Mbps,
                             reason: the current throttle already suits the plan}
      vm_count: 2
      bytes: 1772747751424
      delta_upload_bytes: 9175040000
      waves: 2
      makespan_s: 16906.24
      lower_bound_s: 16906.24
      largest_vm_bound_s: 10485.76
      largest_vms_bound_s: 10485.76
      lower_bound_reachable: true
      finish: "2025-03-07T22:41:46"
      delta: {required_bps: 2594254.7, bytes_per_interval: 778276409, available_min_bps: 10485760,
              available_average_bps: 76770742.9, keeps_up: always, backlog_peak_bytes: 0}
      volumes: [{name: "E:\\", disk_bytes: 1099511627776, required_bytes: 1099511627776, peak_wave: wave-01,
                 free_bytes: 2199023255552, headroom_bytes: 1099511627776, ok: true}]
vms:
  description:
    - Per VM, by name - C(name), C(host), C(wave) (null when deferred), C(deferred) (left out because it does not
      fit O(target_window)), C(bytes) (initial replication, all disks), C(disks) (sizes, bytes), C(start_s),
      C(finish_s) and C(duration_s) (seconds), C(start) and C(finish) (ISO 8601, null without a start time),
      C(storage_account) (the log storage account assigned).
    - C(delta) - C(churn_bps), C(required_bps), C(bytes_per_interval) at O(replication_interval), C(cap_bps) (the
      VM's upload cap), C(keeps_up) (V(always) or V(on_average)).
  returned: always
  type: list
  elements: dict
  sample: [{name: db01, host: HV01, wave: wave-01, deferred: false, bytes: 1099511627776, disks: [1099511627776],
            start_s: 0.0, finish_s: 10485.76, duration_s: 10485.76, start: "2025-03-07T18:00:00",
            finish: "2025-03-07T20:54:45", storage_account: logstorage01,
            delta: {churn_bps: 497102.7, required_bps: 497102.7, bytes_per_interval: 149130809, cap_bps: 117440512,
                    keeps_up: always}}]
storage_accounts:
  description: Per account - C(name), C(capacity_bytes), C(assigned_bytes), C(utilisation), C(vms).
  returned: always
  type: list
  elements: dict
  sample: [{name: logstorage01, capacity_bytes: 4398046511104, assigned_bytes: 1099511627776, utilisation: 0.25, vms: [db01]}]
plan_warnings:
  description: What may go wrong, each with its reason (log space, throttled delta replication, threads, window, storage).
  returned: always
  type: list
  elements: str
  sample: ["host HV02: UploadThreadsPerVM 4 caps each VM at 32 MB/s, below the host rate; set 7 so one VM can fill the link"]
"""
