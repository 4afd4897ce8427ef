#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: migration_wave
short_description: Test-migrate or cut over a wave of replicating Hyper-V VMs at once, as long as the slowest VM takes
version_added: 0.2.0
description:
  - Runs the test migration (O(operation=test_migration)) or the cutover (O(operation=cutover)) of every VM of O(vms)
    in one task - starts every VM's Site Recovery job, then waits for the jobs together - so a wave takes about as
    long as its slowest VM, not the sum of its VMs.
  - Each VM takes the same steps as with M(azmigrate.hyperv.test_migration) (test failover with O(state=present),
    cleanup with O(state=absent)) or M(azmigrate.hyperv.migration) (planned or unplanned failover, commit, complete,
    then the Azure VM's verification and optional disk SKU and tag changes), decided by the same functions from
    where Azure says the VM is. So a re-run continues each VM from where it is, waits for a job still running, and
    never starts a second test failover or a second failover (no second test VM, no second Azure VM).
  - Before anything starts, each VM gets the checks of the per-VM modules, with their messages - a VM's C(site) the
    vault does not have, a test network that is the VM's own target network or one of O(production_networks), a test
    VM running in another network than O(network) (see O(restart_if_different)) - and, before each failover (in check
    mode too), a target VM name already taken in the target resource group, or a target network or subnet that does
    not exist any more. Such a VM fails with that message; the other VMs go on.
  - Every VM gets its own verdict - V(done), V(failed) with the job's or Azure's error, V(timed_out) - and one VM's
    failure does not stop the others. The task fails when any VM failed or timed out, and returns every VM's result.
  - While the wave runs, the task prints one progress line per VM every O(progress_seconds) - RV(vms[].progress_line),
    its step, the job's current task and its number - on the controller's output, and as C(verbose) events under
    ansible-runner and AWX. It runs the module in rounds of that length - one flat loop bounded by O(timeout), however
    many rounds the wave takes - and returns each VM's rounds merged (steps, jobs and timeline add up).
  - With O(round_seconds), the task returns after that many seconds with the VMs whose jobs still run reported as
    V(running) and their progress (current job, task and its number); running the task again goes on from there.
  - Waiting honours Azure's pacing - each job is read again only once the Retry-After (or retry-after-ms) of its
    last answer has passed, else after O(poll_interval) - and Azure Resource Manager's throttling - requests go one
    at a time, a 429 answer's Retry-After is waited before any further request (azure-core retries up to 10 times),
    and a 429 that outlives those retries holds every request of the wave for its Retry-After and counts as one
    skipped poll.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  vms:
    description:
      - The wave's VMs, each by name or by VM id (GUID), or a dict with C(name) and optionally C(site) (Hyper-V site of
        the VM, a site of the vault) and C(target_vm_name) (the Azure VM's name, to find a migration that completed
        already; 1 to 63 letters, digits and hyphens).
    type: list
    elements: raw
    required: true
  operation:
    description: V(test_migration) - test failover or its cleanup; V(cutover) - failover, commit and completion.
    type: str
    choices: [test_migration, cutover]
    required: true
  state:
    description:
      - With O(operation=test_migration) - V(present) (a test VM exists, the default) or V(absent) (cleaned up).
      - With O(operation=cutover) - V(failed_over), V(committed) or V(completed) (the default), as
        M(azmigrate.hyperv.migration)'s O(azmigrate.hyperv.migration#module:state).
    type: str
  network:
    description:
      - Virtual network of the test VMs, by ARM id, or by name in O(network_resource_group). Required with
        O(operation=test_migration) and O(state=present). Keep it isolated from production.
    type: str
  network_resource_group:
    description: Resource group of O(network) when it is given by name; by default each VM's target resource group.
    type: str
  comments:
    description: Notes recorded with the cleanup of the test migrations (for example the tests' outcome).
    type: str
    default: ""
  production_networks:
    description:
      - With O(operation=test_migration), virtual networks (names in O(network_resource_group) or each VM's target
        resource group, or ARM ids) where a test VM must never run. A VM whose O(network) is one of them, or is the VM's
        own target network, is refused (verdict V(failed)) before anything starts, unless O(allow_production_network).
    type: list
    elements: str
    default: []
  allow_production_network:
    description:
      - With O(operation=test_migration), allow O(network) to be a VM's target network or one of O(production_networks).
        A test VM there runs beside the source VM with the same name and addresses.
    type: bool
    default: false
  restart_if_different:
    description:
      - With O(operation=test_migration) and O(state=present), a VM whose test VM already runs in another network than
        O(network) has its test failover cleaned up and run again in O(network). Without it such a VM fails, naming
        both networks; it is never reported as unchanged.
    type: bool
    default: false
  failover_type:
    description: V(planned) (the source VM is shut down and synced once more; no data loss) or V(unplanned).
    type: str
    choices: [planned, unplanned]
    default: planned
  shutdown_source:
    description: With O(failover_type=unplanned), try to shut the source VMs down first.
    type: bool
    default: false
  target_resource_group:
    description: Resource group of the migrated VMs, to find a VM whose migration completed (its replication is gone).
    type: str
  verify:
    description: Verify each migrated Azure VM (provisioning and power state, managed disks, network interfaces).
    type: bool
    default: true
  disk_sku:
    description: After the cutover, change the disks of each Azure VM to this SKU (the VM is deallocated meanwhile).
    type: str
    choices: [Standard_LRS, Premium_LRS, StandardSSD_LRS, Premium_ZRS, StandardSSD_ZRS]
  tags:
    description: After the cutover, add these tags to each Azure VM.
    type: dict
  timeout:
    description: Seconds the wave may take in all; a VM whose job still runs then is V(timed_out).
    type: int
    default: 3600
  round_seconds:
    description:
      - Return after at most this many seconds, with the VMs still running reported as V(running); by default the
        task waits until every VM ended or O(timeout) passed.
    type: int
  progress_seconds:
    description:
      - Seconds between two progress reports (one line per VM still running, and one when it ends) while the task
        waits. Whole seconds, at least 1.
    type: int
    default: 60
  poll_interval:
    description: Seconds between two reads of a running job when Azure's answer gives no Retry-After.
    type: int
    default: 30
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
attributes:
  check_mode:
    description: Reads every VM and returns the steps each would take (RV(vms[].steps), verdict V(planned)); changes nothing.
    support: full
  diff_mode:
    description: Returns each VM's state before and after (and the disk SKUs and tags of a cutover) in RV(vms[].diff).
    support: full
  platform:
    description: Runs where the task runs (the controller); talks to Azure Resource Manager over HTTPS.
    platforms: posix
    support: full
notes:
  - The network a running test VM is in is read from its network interfaces' subnets, as
    M(azmigrate.hyperv.test_migration) does.
  - The name rule of a Hyper-V site (C(site) of a VM) is an assumption (Site Recovery does not publish it); the other
    names follow Azure Resource Manager's naming rules.
  - The requests of the wave go one at a time from one process, so the wave stays within Azure Resource Manager's
    per-principal limits (reads 250 refilling 25 per second, writes 200 refilling 10 per second) more easily than one
    task per VM, and no request follows a 429 before its Retry-After has passed.
  - A job's poll answer may carry retry-after-ms only; Site Recovery's recorded job reads carry no Retry-After at all,
    so then O(poll_interval) paces the reads (Azure PowerShell waits 30 seconds).
  - Completing a migration disables replication with the reason C(MigrationComplete) (see M(azmigrate.hyperv.migration)
    for what rests on an assumption there).
seealso:
  - module: azmigrate.hyperv.migration
  - module: azmigrate.hyperv.test_migration
  - name: Test migration and cutover of a wave (rounds, progress lines, speed)
    description: docs/waves.md; ansible-doc -t role azmigrate.hyperv.cutover
    link: https://github.com/azmigrate/hyperv/blob/main/docs/waves.md
"""

EXAMPLES = r"""
- name: Test-migrate the wave into the isolated test network
  azmigrate.hyperv.migration_wave:
    resource_group: migrate-rg
    vault_name: migrate-vault
    operation: test_migration
    vms: [web01, web02, {name: db01, site: site-hq}]
    network: vnet-test
    network_resource_group: rg-migrated
    production_networks: [vnet-prod]
    restart_if_different: true
  delegate_to: localhost
  register: wave_test

- name: Show each VM's outcome
  ansible.builtin.debug:
    msg: "{{ wave_test.vms | map(attribute='progress_line') | list }}"

- name: Clean the test migrations up
  azmigrate.hyperv.migration_wave:
    resource_group: migrate-rg
    vault_name: migrate-vault
    operation: test_migration
    state: absent
    vms: [web01, web02, db01]
    comments: smoke tests passed
  delegate_to: localhost

- name: Cut the wave over, printing each VM's progress every two minutes
  azmigrate.hyperv.migration_wave:
    resource_group: migrate-rg
    vault_name: migrate-vault
    operation: cutover
    vms: [web01, web02, db01]
    target_resource_group: rg-migrated
    progress_seconds: 120
    timeout: 7200
  delegate_to: localhost
  register: wave_cutover

- name: Go on with the wave for at most 10 minutes, then hand control back (the VMs still running are reported as running)
  azmigrate.hyperv.migration_wave:
    resource_group: migrate-rg
    vault_name: migrate-vault
    operation: cutover
    vms: [web01, web02, db01]
    target_resource_group: rg-migrated
    round_seconds: 600
  delegate_to: localhost
  register: wave_part
"""

RETURN = r"""
finished:
  description: Whether every VM ended (V(done), V(failed) or V(timed_out)); V(false) when O(round_seconds) ended the run first.
  returned: always
  type: bool
  sample: true
rounds:
  description: How many times the task ran the module (one round per progress report).
  returned: always
  type: int
  sample: 11
elapsed_seconds:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 611.2
summary:
  description: How many VMs have each verdict.
  returned: always
  type: dict
  sample: {done: 19, failed: 1, timed_out: 0, running: 0, planned: 0}
throttled:
  description: How many 429 answers outlived the SDK's retries and held the wave's requests.
  returned: always
  type: int
  sample: 0
vms:
  description:
    - One result per VM, in the order of O(vms), with the fields of M(azmigrate.hyperv.migration) (C(state), C(steps),
      C(jobs), C(azure_vm), C(verification), C(diff), C(elapsed_seconds)) or M(azmigrate.hyperv.test_migration)
      (C(state), C(test_vm), C(jobs), C(diff), C(elapsed_seconds)), and C(name), C(verdict), C(failed), C(changed),
      C(msg), C(error), C(progress), C(progress_line), C(timeline).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM as given in O(vms).
      type: str
    verdict:
      description: V(done), V(failed), V(timed_out), V(running) (O(round_seconds) ended the run) or V(planned) (check mode).
      type: str
    failed:
      description: Whether the verdict is V(failed) or V(timed_out).
      type: bool
    changed:
      description: Whether the VM took a step (or would, in check mode).
      type: bool
    msg:
      description: Why the VM failed or timed out (the job's error code, message, possible causes and recommended action).
      type: str
    steps:
      description: The steps taken (or planned) - C(wait), C(planned_failover), C(unplanned_failover), C(commit), C(complete),
        C(disk_sku), C(tags), C(test_failover), C(cleanup).
      type: list
      elements: str
    state:
      description: Where the VM is, as the per-VM module reports it (V(completed), V(test_failover), V(protected), ...).
      type: str
    progress:
      description: The job the VM waits for or waited for last (C(step), C(job), C(job_state), C(task), C(task_number), C(tasks)).
      type: dict
    progress_line:
      description: The VM's progress or outcome in one line, for a playbook to print.
      type: str
      sample: "web01: planned_failover - Start failover (task 4 of 5, InProgress)"
    timeline:
      description: What happened to the VM, each entry with C(at) (seconds since the task started) and C(event)
        (V(start), V(job), V(progress), V(poll_error), V(done), V(failed), V(timed_out), V(running)).
      type: list
      elements: dict
    jobs:
      description: The Site Recovery jobs the task started or waited for, as M(azmigrate.hyperv.migration) returns them.
      type: list
      elements: dict
    diff:
      description: The VM's C(state) before and after (a cutover also its C(disk_skus) and C(tags)); a test migration's
        whether a test VM exists (C(test_vm)).
      type: dict
    elapsed_seconds:
      description: Seconds from the task's start until the VM ended (or the task returned).
      type: float
    verification:
      description: O(operation=cutover) - what the verification found wrong with the Azure VM.
      type: list
      elements: str
    error:
      description: The error as data (C(operation), C(code), C(status), C(message), C(possible_causes), C(recommended_action)).
      type: dict
    azure_vm:
      description: O(operation=cutover) - the migrated Azure VM, as M(azmigrate.hyperv.migration)'s RV(azmigrate.hyperv.migration#module:azure_vm).
      type: dict
    test_vm:
      description: O(operation=test_migration) - the test VM, as M(azmigrate.hyperv.test_migration)'s RV(azmigrate.hyperv.test_migration#module:test_vm).
      type: dict
  sample:
    - name: web01
      verdict: done
      failed: false
      changed: true
      state: completed
      steps: [planned_failover, commit, complete]
      progress_line: "web01: completed (planned_failover, commit, complete)"
"""

import time


from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import DISK_SKUS
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.wave import WaveRun
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.wave_options import (
    default_state,
    OPERATIONS,
    VERDICTS,
    wave_problems,
    wave_specs,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule


def main():
    module = AzureModule(
        argument_spec=dict(
            vms=dict(type="list", elements="raw", required=True),
            operation=dict(type="str", choices=list(OPERATIONS), required=True), state=dict(type="str"),
            network=dict(type="str"), network_resource_group=dict(type="str"), comments=dict(type="str", default=""),
            production_networks=dict(type="list", elements="str", default=[]),
            allow_production_network=dict(type="bool", default=False), restart_if_different=dict(type="bool", default=False),
            failover_type=dict(type="str", choices=["planned", "unplanned"], default="planned"),
            shutdown_source=dict(type="bool", default=False), target_resource_group=dict(type="str"),
            verify=dict(type="bool", default=True), disk_sku=dict(type="str", choices=DISK_SKUS), tags=dict(type="dict"),
            timeout=dict(type="int", default=3600), round_seconds=dict(type="int"), poll_interval=dict(type="int", default=30),
            progress_seconds=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    started = time.monotonic()
    params = module.params
    specs, problems = wave_specs(params["vms"])
    problems += wave_problems(params)
    module.fail_invalid(problems, changed=False)
    params["state"] = params["state"] or default_state(params["operation"])
    session = module.session("azure-mgmt-recoveryservicessiterecovery", "azure-mgmt-compute",
                             "azure-mgmt-network")
    wave = WaveRun(session.site_recovery(), session.compute(), session.network(), params, session.subscription_id, specs)
    try:
        wave.find()
        if module.check_mode:
            wave.plan()
        else:
            wave.run()
    except AzureModuleError as exc:    # the vault's listing failed: no VM could be read
        module.fail_json(changed=False, vms=wave.results(module.check_mode), **exc.fail_kwargs())
    results = wave.results(module.check_mode)
    summary = dict((verdict, sum(1 for row in results if row["verdict"] == verdict)) for verdict in VERDICTS)
    outcome = dict(changed=any(row["changed"] for row in results), vms=results, summary=summary,
                   finished=not summary["running"], throttled=wave.gate.throttled,
                   elapsed_seconds=round(time.monotonic() - started, 1))
    failed = [row for row in results if row["failed"]]
    if failed:
        module.fail_json(msg="%d of %d VM(s) failed: %s" % (len(failed), len(results), "; ".join(
            row["progress_line"] for row in failed)), **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
