#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: migration
short_description: Migrate a replicating Hyper-V VM to Azure - fail over, commit, complete - and verify the Azure VM
version_added: 0.1.0
description:
  - Takes a replicating Hyper-V VM to O(state) - V(failed_over) (the Azure VM runs), V(committed) (the failover is
    final) or V(completed) (replication removed, the Azure VM stays) - by a planned failover that shuts the source VM
    down and replicates once more (the default), or an unplanned one.
  - Continues from wherever the VM is - a job still running from an interrupted run is waited for, a failed-over VM
    is committed, a committed one completed - and never starts a failover for a VM that already failed over, so it
    never creates a second Azure VM. Before a failover, in check mode too, it checks that no VM of the target name
    exists in the target resource group and that the target network and the subnet of the VM's network interface
    still exist; a failover that would fail or land elsewhere is refused before the source VM is shut down.
  - A VM is busy while the job of its current scenario is V(NotStarted) or V(InProgress) (the job is read, since
    Azure may keep operations such as C(DisableProtection) listed during a job); a re-run waits for that job.
  - Completing disables replication with the reason C(MigrationComplete) when Azure lists C(CompleteMigration)
    after the commit, as the service's examples show. If it lists only C(DisableProtection), the module disables
    replication with the reason C(NotSpecified), which also keeps the Azure VM; that the portal's "Complete
    migration" sends C(MigrationComplete) is an inference from the API's enumerations, not a recorded request.
  - On a completed migration (the replicated item is gone) it changes nothing and reports the Azure VM it finds
    by O(target_vm_name) (in O(target_resource_group) when given).
  - Verifies the Azure VM with the Compute and Network APIs - provisioning and power state, managed disks and their
    SKUs, network interfaces - and returns it. Optionally changes the SKU of its disks and adds tags afterwards.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  state:
    description:
      - V(failed_over) - the VM runs in Azure and the failover can still be cancelled in the vault.
      - V(committed) - the failover is committed.
      - V(completed) - the migration is completed; replication and its Azure resources are cleaned up, the VM stays.
    type: str
    choices: [failed_over, committed, completed]
    default: completed
  failover_type:
    description:
      - V(planned) shuts the source VM down, replicates the last changes and fails over with no data loss (Azure
        Migrate's "shut down virtual machines" choice).
      - V(unplanned) fails over to the latest recovery point without waiting for the source (for a source that is
        down); O(shutdown_source) decides whether Azure tries to shut it down.
    type: str
    choices: [planned, unplanned]
    default: planned
  shutdown_source:
    description: With O(failover_type=unplanned), ask Azure to shut the source VM down first.
    type: bool
    default: false
  target_resource_group:
    description:
      - Resource group (name or ARM id) where the Azure VM is looked for once the migration completed (the
        replicated item, which names it, is gone then). By default the whole subscription is searched.
    type: str
  target_vm_name:
    description: Name of the Azure VM once the migration completed; by default O(name).
    type: str
  verify:
    description:
      - Check the Azure VM - provisioning succeeded, running, every disk managed, at least one network interface - and
        fail when it is not so.
    type: bool
    default: true
  disk_sku:
    description:
      - After the migration, change every disk of the Azure VM to this SKU. A running VM is deallocated, its disks
        changed and the VM started again (Azure changes the type of an attached disk only while the VM is deallocated).
    type: str
    choices: [Standard_LRS, Premium_LRS, StandardSSD_LRS, Premium_ZRS, StandardSSD_ZRS]
  tags:
    description: After the migration, add these tags to the Azure VM (existing tags are kept).
    type: dict
  timeout:
    description: Seconds to wait in all, for every job of the task and every Azure operation.
    type: int
    default: 3600
requirements:
  - azure-mgmt-compute >= 33.0.0
  - azure-mgmt-network >= 28.0.0
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.replicated_vm
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
attributes:
  check_mode:
    description: Reads the VM's state and returns the steps that would run (RV(steps)); changes nothing.
    support: full
  diff_mode:
    description: Returns the migration state and the Azure VM's disk SKUs and tags before and after.
    support: full
notes:
  - The next step is decided from the operations Azure allows, the side the VM is active on and the job running on it,
    never from the service's protection-state text.
  - A test migration must be cleaned up first (azmigrate.hyperv.test_migration O(state=absent)).
  - Completing the migration sends C(remove) with C(disableProtectionReason=MigrationComplete), inferred from the REST
    API (C(CompleteMigration) among the allowed operations, the C(DisableProtectionReason) values); what the Azure
    portal sends for "Complete migration" has not been observed.
  - Whether VMs replicated through this collection show in the Azure Migrate hub's "Replicating servers" is not
    verified.
seealso:
  - module: azmigrate.hyperv.replication
  - module: azmigrate.hyperv.test_migration
"""

EXAMPLES = r"""
- name: Migrate web01 (planned failover, commit, complete) and move its disks to Premium SSD
  azmigrate.hyperv.migration:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    target_resource_group: rg-migrated
    disk_sku: Premium_LRS
    tags:
      migrated-by: ansible
  delegate_to: localhost
  register: cutover

- name: Show the Azure VM
  ansible.builtin.debug:
    msg: "{{ cutover.azure_vm.name }} is {{ cutover.azure_vm.power_state }} with {{ cutover.azure_vm.disks | map(attribute='sku') | list }}"

- name: Fail over only, keep the option to cancel in the vault
  azmigrate.hyperv.migration:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: app01
    state: failed_over
  delegate_to: localhost

- name: The source host is gone - fail over without it
  azmigrate.hyperv.migration:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: file01
    failover_type: unplanned
  delegate_to: localhost
"""

RETURN = r"""
elapsed_seconds:
  description: Seconds the task took.
  returned: success
  type: float
  sample: 412.5
state:
  description: Where the migration is after the task (in check mode, where it would be) - V(failed_over), V(committed)
    or V(completed).
  returned: success
  type: str
  sample: completed
steps:
  description:
    - The steps the task took (in check mode, would take), in order - V(wait) (for a job an earlier run started),
      V(planned_failover), V(unplanned_failover), V(commit), V(complete), V(disk_sku), V(tags). Empty when nothing
      changed.
  returned: always
  type: list
  elements: str
  sample: [planned_failover, commit, complete]
jobs:
  description: The Site Recovery jobs the task started or waited for (C(name), C(scenario), C(state), C(tasks), ...).
  returned: always
  type: list
  elements: dict
  sample:
    - name: c1197e2e-20dd-4c26-b9b4-12b1f14c6205
      scenario: PlannedFailover
      friendly_name: Planned failover
      state: Succeeded
      state_description: Completed
azure_vm:
  description: The Azure VM, as read after the task (V(null) in check mode before the failover).
  returned: success
  type: dict
  contains:
    id:
      description: ARM id of the VM.
      type: str
    name:
      description: Name of the VM.
      type: str
      sample: web01
    resource_group:
      description: Resource group of the VM.
      type: str
      sample: rg-migrated
    size:
      description: VM size.
      type: str
      sample: Standard_D2s_v3
    provisioning_state:
      description: Provisioning state.
      type: str
      sample: Succeeded
    power_state:
      description: Power state from the instance view (V(running), V(stopped), V(deallocated), ...).
      type: str
      sample: running
    tags:
      description: Tags of the VM.
      type: dict
    disks:
      description: The VM's disks (C(name), C(id), C(lun), C(os_disk), C(managed), C(sku), C(size_gb), C(state)).
      type: list
      elements: dict
      sample:
        - {name: web01-OSdisk-00, lun: null, os_disk: true, managed: true, sku: Premium_LRS, size_gb: 127, state: Attached}
    nics:
      description: The VM's network interfaces (C(name), C(id), C(primary), C(private_ip), C(subnet_id)).
      type: list
      elements: dict
      sample:
        - {name: nic-web01-00, primary: true, private_ip: 10.10.1.4}
verification:
  description: What the verification found wrong with the Azure VM (empty when it is fine, or when O(verify=false)).
  returned: success
  type: list
  elements: str
  sample: []
"""


from ansible_collections.azmigrate.hyperv.plugins.module_utils import _compute as azure_compute
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api, lookup as asr_lookup
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import DISK_SKUS, MIGRATION_STATES
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.cutover import (
    change_after_cutover,
    failover_target_check,
    find_migrated_vm,
    not_migrated_message,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import (
    migration_plan,
    migration_position,
    migration_step,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import azure_vm_id, vm_problems
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError, Blocked
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import (
    name_problem,
    problems as option_problems,
    text_problem,
)


def take_steps(task, ref, item, params, plan):
    """Take the steps of ``plan`` (what check mode reports) one by one; return (steps taken, the item after).

    Before each step the item, read again, must allow it (``migration_step``): a failover never starts on an item
    that is no longer where the plan found it. The failover target is checked again right before a failover (also
    after a job the plan waited for first)."""
    steps = []
    for planned, _detail in plan:
        step, detail = migration_step(item, params["state"], params["failover_type"])
        if step == "blocked":
            raise Blocked(detail)
        if step != planned:
            raise Blocked("Azure lists %s next, not the %s step this run planned; re-run the task" % (
                step.replace("_", " "), planned.replace("_", " ")))
        what = "%s of VM '%s'" % (step.replace("_", " "), params["name"])
        if step == "wait":
            task.wait(detail, "wait for the running job (%s) of VM '%s'" % (detail, params["name"]))
        elif step in ("planned_failover", "unplanned_failover"):
            problems = failover_target_check(task.compute, task.network, item, task.vnets)
            if problems:
                raise Blocked("; ".join(problems))
            started = asr_api.planned_failover(ref) if step == "planned_failover" else \
                asr_api.unplanned_failover(ref, params["shutdown_source"])
            task.run(started, what)
        elif step == "commit":
            task.run(asr_api.commit(ref), what)
        elif step == "complete":
            task.run(asr_api.remove(ref, detail or "MigrationComplete"), what)
        steps.append(step)
        item = asr_api.get_item(ref)
    return steps, item


def plan_migration(task, item, params):
    """The steps to params["state"] (``migration_plan``), the failover target checked first when the plan fails over
    (in check mode too). Raises Blocked when the item can't go there."""
    plan = migration_plan(item, params["state"], params["failover_type"])
    if plan and plan[0][0] == "blocked":
        raise Blocked(plan[0][1])
    if plan and plan[0][0] in ("planned_failover", "unplanned_failover"):   # a running job may be that failover
        problems = failover_target_check(task.compute, task.network, item, task.vnets)
        if problems:
            raise Blocked("; ".join(problems))
    return plan


def main():
    module = AzureModule(
        vm=True,
        argument_spec=dict(
            state=dict(type="str", choices=list(MIGRATION_STATES), default="completed"),
            failover_type=dict(type="str", choices=["planned", "unplanned"], default="planned"),
            shutdown_source=dict(type="bool", default=False), target_resource_group=dict(type="str"),
            target_vm_name=dict(type="str"), verify=dict(type="bool", default=True),
            disk_sku=dict(type="str", choices=DISK_SKUS), tags=dict(type="dict"), timeout=dict(type="int", default=3600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = []
    if params["timeout"] < 1:
        problems.append("timeout is %s; it must be at least 1 (seconds)" % params["timeout"])
    if params["shutdown_source"] and params["failover_type"] == "planned":
        problems.append("shutdown_source applies to failover_type=unplanned; a planned failover always shuts the source down")
    if (params["disk_sku"] or params["tags"]) and params["state"] == "failed_over":
        problems.append("disk_sku and tags apply after the failover is committed (state=committed or completed), not to "
                        "state=failed_over, which may still be cancelled")
    problems += option_problems(
        text_problem("name", params["name"]), name_problem("site", params["site"], "site"),
        name_problem("target_resource_group", params["target_resource_group"], "resource_group"),
        name_problem("target_vm_name", params["target_vm_name"], "vm"))
    module.fail_invalid(problems, changed=False)
    session = module.session("azure-mgmt-recoveryservicessiterecovery", "azure-mgmt-compute",
                             "azure-mgmt-network")
    task = module.job_runner(session)
    task.compute, task.network = session.compute(), session.network()
    task.vnets = {}   # the target network, read once for the checks before a failover
    steps, result = [], {}
    try:
        problem = asr_lookup.site_problem(task.client, task.resource_group, task.vault_name, params["site"])
        module.fail_invalid([problem], changed=False)
        item = asr_lookup.find_item(task.client, task.resource_group, task.vault_name, params["name"], params["site"])
        before_state = migration_position(item)
        if item is None:
            vm_id, problem = find_migrated_vm(task.compute, session.subscription_id, params["target_resource_group"],
                                              params["target_vm_name"] or params["name"])
            state = "completed"
            if problem or vm_id is None:
                raise Blocked(problem or not_migrated_message(params["name"], params["vault_name"], params["target_vm_name"],
                                                              params["target_resource_group"]))
        else:
            plan, vm_id = plan_migration(task, item, params), azure_vm_id(item)
            if module.check_mode:
                steps = [step for step, _detail in plan]
                state = params["state"] if steps else before_state
            else:
                ref = asr_api.ref_of(task.client, task.resource_group, task.vault_name, item)
                steps, final = take_steps(task, ref, item, params, plan)
                state = migration_position(final)
        extra_steps, vm_before, vm_after = change_after_cutover(
            task.compute, task.network, vm_id, params["disk_sku"], params["tags"], module.check_mode, task.remaining) \
            if params["state"] != "failed_over" else ([], {}, {})
        steps += extra_steps
        vm, summary = azure_compute.describe_vm(task.compute, task.network, vm_id)
        problems = vm_problems(summary) if summary and params["verify"] and not module.check_mode else []
        if params["verify"] and summary is None and not module.check_mode:
            problems = ["the Azure VM %s does not exist" % vm_id]
        result = dict(state=state, azure_vm=summary, verification=problems,
                      diff={"before": dict(vm_before, state=before_state), "after": dict(vm_after, state=state)})
        if problems:
            module.fail_json(msg="The migrated VM %s is not as expected: %s." % (vm_id, "; ".join(problems)),
                             changed=bool(steps), steps=steps, jobs=task.jobs, **result)
    except Blocked as exc:
        module.fail_error(exc, blocked="Can't migrate %r" % params["name"], changed=bool(steps), steps=steps, jobs=task.jobs)
    except AzureModuleError as exc:
        module.fail_json(changed=bool(steps or task.jobs), steps=steps, jobs=task.jobs, **exc.fail_kwargs())
    module.exit_json(elapsed_seconds=module.elapsed(), changed=bool(steps), steps=steps, jobs=task.jobs, **result)


if __name__ == "__main__":
    main()
