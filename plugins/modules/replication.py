#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: replication
short_description: Enable, update or disable the replication of a Hyper-V VM to Azure
version_added: 0.1.0
description:
  - Enables replication of a Hyper-V VM to Azure (Azure Site Recovery's C(HyperVReplicaAzure), which Azure Migrate runs
    for Hyper-V) with its target settings - resource group, virtual network and subnet, VM name and size, availability
    zone or set, licence types and tags - replicating to managed disks (a disk type per disk) or to a storage account.
  - On a VM that already replicates, changes the target settings that differ from the task's (one update job), and
    refuses, before any change, settings that can't change once replication runs (disks, disk types, storage target,
    policy).
  - With O(state=absent), disables replication (the VM stays on Hyper-V; nothing is created in Azure).
  - A VM whose earlier enable failed keeps a failed item in the vault (the enable job's error as its health error);
    a run with O(state=present) disables that item, then enables replication again.
  - Waits, bounded by O(timeout), for the enable job (O(wait_for=enabled)) or for the end of initial replication
    (O(wait_for=protected)).
  - Every option value and combination the service would refuse is refused before any request that changes anything,
    with a message naming the option, the value and what is allowed. Names follow Azure's naming rules per
    resource type, and the target resources (network, log storage account, availability set, proximity placement
    group, disk encryption set) must be in the vault's subscription, where Site Recovery creates the VM.
  - A O(site) the vault does not have is reported as such, with the vault's Hyper-V sites.
  - Before enabling, the VM's readiness as Azure reports it for the discovered VM is checked, in check mode too - each
    of its protection readiness errors (for example a VM that already replicates with Hyper-V Replica), and that Azure
    supports replicating it to Azure (C(HyperVReplicaAzure) among its supported replication providers). A VM that is
    not ready fails the task before any change, naming the VM and each reason Azure gives. A VM that already
    replicates is not checked again.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  state:
    description: V(present) replicates the VM with the given settings; V(absent) disables its replication.
    type: str
    choices: [present, absent]
    default: present
  policy:
    description:
      - Replication policy to replicate with. By default the one policy associated with the VM's site.
      - Can't change once replication runs.
    type: str
  os_type:
    description:
      - Operating system of the VM. Needed to enable replication unless Azure reports the VM's operating system
        (discovery usually does not); azmigrate.hyperv.host_info reports it as C(guest_os.type) when Hyper-V knows
        it. Never guessed.
    type: str
    choices: [Windows, Linux]
  os_disk:
    description:
      - The VM's OS (boot) disk, by disk name (the VHD's name without extension), disk id or path.
      - Needed to enable replication of a VM with several disks. Azure discovery reports every disk as a data disk,
        and the order it lists them in says nothing about which disk boots; azmigrate.hyperv.host_info reports the
        boot disk as C(boot_disk). A VM with one disk boots from it.
    type: str
  disks:
    description:
      - Disks to replicate, by name or id. By default every disk. The OS disk is always replicated.
      - Can't change once replication runs.
    type: list
    elements: str
  managed_disk_replication:
    description:
      - V(true) replicates to managed (seed) disks in the target resource group; V(false) replicates to
        O(target_storage_account_id).
      - Exactly one of the two is used; the service fails the enable job with error 6001 when given both.
    type: bool
    default: true
  disk_type:
    description: Type of the managed disks created for the VM, for every disk not named in O(disk_types).
    type: str
    choices: [Standard_LRS, Premium_LRS, StandardSSD_LRS, PremiumV2_LRS, UltraSSD_LRS, StandardSSD_ZRS, Premium_ZRS]
    default: Standard_LRS
  disk_types:
    description:
      - Disk type per disk (name or id of the disk -> type) with managed-disk replication.
      - V(PremiumV2_LRS) and V(UltraSSD_LRS) (here and in O(disk_type)) are refused, since they need IOPS and
        throughput per disk, which the module cannot set yet.
    type: dict
  target_storage_account_id:
    description: ARM id of the storage account to replicate to, with O(managed_disk_replication=false).
    type: str
  log_storage_account_id:
    description:
      - ARM id of the cache (log) storage account, required to enable managed-disk replication (the default). The
        host uploads the replication logs there before Azure applies them to the managed disks.
      - Checked before any change to exist, to be in the target region (that of O(target_network)) and to be a
        standard general-purpose account (kind V(StorageV2) or V(Storage)).
    type: str
  target_resource_group:
    description:
      - Resource group (name or ARM id) of the migrated VM; needed to enable replication, and checked to exist.
      - When updating, by default the VM's current target resource group.
    type: str
  target_network:
    description:
      - Virtual network (name in O(target_resource_group), or ARM id) of the migrated VM. Migration needs one. Checked
        to exist.
    type: str
  target_subnet:
    description:
      - Subnet of O(target_network) for the VM's primary network interface (the one Azure reports as selected),
        checked to exist in the network. The VM's other network interfaces keep their settings.
    type: str
  target_vm_name:
    description:
      - Name of the migrated VM (1 to 63 letters, digits and hyphens); by default the Hyper-V VM's name, which must
        then be a valid name too.
      - Refused when another replicated VM of the vault has it as its target name, or a VM of that name exists in
        O(target_resource_group).
    type: str
  target_vm_size:
    description: Size of the migrated VM, for example V(Standard_D2s_v3); by default the service chooses one.
    type: str
  availability_zone:
    description: Availability zone (V(1), V(2) or V(3)) of the migrated VM; not with O(availability_set_id).
    type: str
  availability_set_id:
    description: ARM id of the availability set of the migrated VM; not with O(availability_zone).
    type: str
  license_type:
    description: Windows Server licence of the migrated VM (V(WindowsServer) = Azure Hybrid Benefit).
    type: str
    choices: [NotSpecified, NoLicenseType, WindowsServer]
  sql_server_license_type:
    description: SQL Server licence of the migrated VM (V(AHUB) = Azure Hybrid Benefit).
    type: str
    choices: [NotSpecified, NoLicenseType, PAYG, AHUB]
  tags:
    description: Tags of the migrated VM; also of its disks, NICs and seed disks unless O(disk_tags), O(nic_tags) or
      O(seed_disk_tags) say otherwise.
    type: dict
  seed_disk_tags:
    description: Tags of the seed managed disks that enabling creates in O(target_resource_group); by default O(tags).
    type: dict
  disk_tags:
    description: Tags of the managed disks of the migrated VM; by default O(tags).
    type: dict
  nic_tags:
    description: Tags of the network interfaces of the migrated VM; by default O(tags).
    type: dict
  disk_encryption_set_id:
    description:
      - ARM id of the disk encryption set (customer-managed keys) of the seed and migrated managed disks. Checked to
        exist and to be in the target region. Can't change once replication runs.
    type: str
  proximity_placement_group_id:
    description: ARM id of the proximity placement group of the migrated VM; checked to exist and to be in the target
      region.
    type: str
  wait_for:
    description:
      - V(none) returns once Azure accepted the request; V(enabled) waits for the enable (or update, or disable)
        job; V(protected) also waits until initial replication finished and migration is possible.
    type: str
    choices: [none, enabled, protected]
    default: enabled
  timeout:
    description: Seconds to wait in all, for every job of the task and for O(wait_for=protected).
    type: int
    default: 3600
  poll_interval:
    description: Seconds between two reads of the VM's state with O(wait_for=protected).
    type: int
    default: 60
requirements:
  - azure-mgmt-compute >= 33.0.0
  - azure-mgmt-network >= 28.0.0
  - azure-mgmt-storage >= 21.2.1
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.replicated_vm
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
attributes:
  check_mode:
    description: Reads the vault and reports what would change; changes nothing.
    support: full
  diff_mode:
    description: Returns the target settings before and after.
    support: full
notes:
  - Before enabling, the target resource group, network and subnet, availability set, proximity placement group,
    disk encryption set and log storage account are read from Azure, and the target VM name is checked against the
    vault's other replicated VMs and the VMs of the target resource group; any that does not exist, or is taken, is
    refused before any change, naming what exists.
  - The target region is taken as the region of O(target_network); without a network the region of the other
    resources is not compared.
  - The availability zone is checked to be 1, 2 or 3 only, not against the zones the target region and VM size
    offer.
  - An update sends every network interface of the VM with its own selection type, and repeats every setting Azure
    reports for the VM (as Azure PowerShell does); whether the service keeps or resets a setting that a request
    omits is not documented.
  - An update is sent in any state before failover, initial replication included (Terraform's provider waits for the
    VM to be protected first); that the service accepts a network change during initial replication is assumed, not
    verified.
  - Reads are one listing of the vault's replicated VMs and one GET of the VM's item; enabling adds one listing of the
    discovered VMs per container of the site.
  - The next step is decided from the operations Azure allows and the job running on the VM, never from the
    service's protection-state text, which differs between API versions.
  - The readiness check relies on Azure refusing to enable a VM with protection readiness errors, or one whose
    supported replication providers lack C(HyperVReplicaAzure); the code and text of that refusal are not documented,
    and the readiness errors are quoted as Azure gives them.
seealso:
  - module: azmigrate.hyperv.replication_info
  - module: azmigrate.hyperv.test_migration
  - module: azmigrate.hyperv.migration
"""

EXAMPLES = r"""
- name: Replicate web01 to managed disks, OS disk on Premium SSD
  azmigrate.hyperv.replication:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    os_type: Windows
    os_disk: web01-os
    log_storage_account_id: /subscriptions/0000/resourceGroups/migrate-rg/providers/Microsoft.Storage/storageAccounts/stmigratelogs
    target_resource_group: rg-migrated
    target_network: vnet-migrated
    target_subnet: default
    target_vm_size: Standard_D2s_v3
    license_type: WindowsServer
    disk_type: StandardSSD_LRS
    disk_types:
      web01-os: Premium_LRS
    tags:
      wave: "1"
  delegate_to: localhost

- name: Replicate to a storage account, and wait until migration is possible
  azmigrate.hyperv.replication:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: 3f2b8c1e-5d4a-4c7e-9a61-0b1d2e3f4a51
    os_type: Linux
    os_disk: 'D:\Hyper-V\app02\app02-boot.vhdx'
    managed_disk_replication: false
    target_storage_account_id: /subscriptions/0000/resourceGroups/rg-migrated/providers/Microsoft.Storage/storageAccounts/stmigrate
    target_resource_group: rg-migrated
    target_network: vnet-migrated
    wait_for: protected
    timeout: 86400
  delegate_to: localhost

- name: Change the target size of a replicating VM (one update job)
  azmigrate.hyperv.replication:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    target_vm_size: Standard_D4s_v3
  delegate_to: localhost

- name: Stop replicating web01
  azmigrate.hyperv.replication:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
state:
  description:
    - Lifecycle state of the VM after the task (see azmigrate.hyperv.replication_info), or V(absent).
    - In check mode, the state before the task.
  returned: always
  type: str
  sample: initial_replication
vm:
  description: The replicated VM as azmigrate.hyperv.replication_info reports it, or V(null) when it does not replicate.
  returned: always
  type: dict
  sample:
    name: b1956159-f3d3-4317-86d4-94fb027c6d95
    vm_name: hyperV1
    state: protected
    health: Normal
    allowed_operations: [PlannedFailover, UnplannedFailover, DisableProtection, TestFailover]
changes:
  description: The settings the task changed (or would change), each as C(before) and C(after).
  returned: always
  type: dict
  sample: {target_vm_size: {before: Standard_B1s, after: Standard_D2s_v3}}
jobs:
  description: The Site Recovery jobs the task started or waited for (C(name), C(scenario), C(state), C(tasks), ...).
  returned: always
  type: list
  elements: dict
  sample:
    - name: 0664b4bf-1d1e-4d8d-a1f6-2e0f7b7d6a51
      scenario: EnableDr
      friendly_name: Enable replication
      state: Succeeded
      state_description: Completed
"""


from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import (
    api as asr_api,
    lookup as asr_lookup,
    waiters as asr_waiters,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import update_input
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import (
    DISK_TYPES,
    LICENSE_TYPES,
    SQL_LICENSE_TYPES,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import (
    failure,
    lifecycle_state,
    running_job,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.replication_plans import (
    plan_disable,
    plan_enable,
    plan_update,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import normalize_item, target_settings
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import validate_enable_options
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError, Blocked, InvalidOptions
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import (
    name_problem,
    problems as option_problems,
    text_problem,
)

# Past initial replication: a failover (test or real) is possible, or already happened.
READY_STATES = ("protected", "test_failover", "failed_over", "committed")


def apply(task, params, todo, item):
    """Carry out the plan (never in check mode); return the item after it. A job running on the item is waited for
    first: the service refuses an update or a disable while a job runs (an assumption: one operation at a time on an
    item)."""
    ref, name, wait = todo["ref"], params["name"], params["wait_for"] != "none"
    if todo["action"] == "enable":
        task.run(asr_api.enable(ref, todo["body"]), "enable replication of VM '%s'" % name, wait)
        return asr_api.get_item(ref)
    busy = running_job(item)
    if busy:
        what = "updating it" if todo["action"] == "update" else "disabling its replication"
        task.wait(busy, "wait for the running job of VM '%s' before %s" % (name, what))
        item = asr_api.get_item(ref)
    if todo["action"] == "update":
        task.run(asr_api.update(ref, update_input(item, todo["settings"])), "update the target settings of VM '%s'" % name,
                 wait)
        return asr_api.get_item(ref)
    allowed = ((item or {}).get("properties") or {}).get("allowedOperations") or []
    if item is not None and "DisableProtection" not in allowed:
        raise InvalidOptions("Azure does not allow disabling replication of %r now (allowed operations: %s)" % (
            name, ", ".join(allowed) or "none"))
    if item is not None:
        task.run(asr_api.remove(ref), "disable replication of VM '%s'" % name, wait)
    return asr_api.get_item(ref)


def clear_failed_enable(module, task, params, item):
    """A failed enable leaves its item behind, failed (the EnableDr job failed; replication_info state failed):
    disable it, so that the enable runs again. Returns the item left (None once it is gone, and in check mode)."""
    problem = failure(item)
    if not problem or problem["reason"] != "enable_job_failed":
        return item
    if module.check_mode:
        return None
    ref = asr_api.ref_of(task.client, task.resource_group, task.vault_name, item)
    task.run(asr_api.remove(ref), "remove the failed replication of VM '%s' (%s) before enabling it again" % (
        params["name"], problem.get("code") or problem.get("message")))
    return asr_api.get_item(ref)


def report(item, check_mode, before):
    vm = normalize_item(item) if item else None
    return {"vm": vm, "state": vm["state"] if vm else ("absent" if not check_mode or before is None else lifecycle_state(before))}


def main():
    module = AzureModule(
        vm=True,
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            policy=dict(type="str"), os_type=dict(type="str", choices=["Windows", "Linux"]),
            os_disk=dict(type="str"), disks=dict(type="list", elements="str"),
            managed_disk_replication=dict(type="bool", default=True),
            disk_type=dict(type="str", choices=list(DISK_TYPES), default="Standard_LRS"), disk_types=dict(type="dict"),
            target_storage_account_id=dict(type="str"), log_storage_account_id=dict(type="str"),
            target_resource_group=dict(type="str"), target_network=dict(type="str"), target_subnet=dict(type="str"),
            target_vm_name=dict(type="str"), target_vm_size=dict(type="str"), availability_zone=dict(type="str"),
            availability_set_id=dict(type="str"), license_type=dict(type="str", choices=list(LICENSE_TYPES)),
            sql_server_license_type=dict(type="str", choices=list(SQL_LICENSE_TYPES)), tags=dict(type="dict"),
            seed_disk_tags=dict(type="dict"), disk_tags=dict(type="dict"), nic_tags=dict(type="dict"),
            disk_encryption_set_id=dict(type="str"), proximity_placement_group_id=dict(type="str"),
            wait_for=dict(type="str", choices=["none", "enabled", "protected"], default="enabled"),
            timeout=dict(type="int", default=3600), poll_interval=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = validate_enable_options(params) + option_problems(
        text_problem("name", params["name"]), name_problem("site", params["site"], "site"),
        name_problem("policy", params["policy"], "policy"), text_problem("os_disk", params["os_disk"]),
        name_problem("target_network", params["target_network"], "virtual_network")
        if not (params["target_network"] or "").startswith("/") else None,
        name_problem("target_subnet", params["target_subnet"], "subnet"),
        text_problem("target_vm_size", params["target_vm_size"]),
        *[text_problem("disks[%d]" % index, disk) for index, disk in enumerate(params["disks"] or [])])
    if params["poll_interval"] < 1:
        problems.append("poll_interval is %s; it must be at least 1 (seconds)" % params["poll_interval"])
    module.fail_invalid(problems, changed=False)
    session = module.session("azure-mgmt-recoveryservicessiterecovery", "azure-mgmt-compute",
                             "azure-mgmt-network", "azure-mgmt-storage")
    task = module.job_runner(session)
    item = None
    try:
        problem = asr_lookup.site_problem(task.client, task.resource_group, task.vault_name, params["site"])
        if problem:
            raise InvalidOptions(problem)
        before = item = asr_lookup.find_item(task.client, task.resource_group, task.vault_name, params["name"], params["site"])
        if params["state"] == "present" and item is not None:
            item = clear_failed_enable(module, task, params, item)
        if params["state"] == "absent":
            todo = plan_disable(task, item) if item else {"action": None, "changes": {}}
        elif item is None:
            todo = plan_enable(task, session, params)
        else:
            todo = plan_update(task, session, params, item)
        if todo["action"] and not module.check_mode:
            item = apply(task, params, todo, item)
        elif todo["action"] == "enable":   # check mode: nothing replicates yet
            item = None
        changes = todo["changes"]
        busy = running_job(item) if item is not None and params["state"] == "present" else None
        if busy and params["wait_for"] != "none" and not module.check_mode:   # e.g. the enable job of an interrupted run
            task.wait(busy, "wait for the running job of VM '%s'" % params["name"])
            item = asr_api.get_item(asr_api.ref_of(task.client, task.resource_group, task.vault_name, item))
        if params["state"] == "present" and params["wait_for"] == "protected" and item is not None and not module.check_mode:
            ref = asr_api.ref_of(task.client, task.resource_group, task.vault_name, item)
            what = "wait for the initial replication of VM '%s'" % params["name"]
            item = asr_waiters.wait_for_item(ref, task, lambda current: lifecycle_state(current) in READY_STATES + ("failed",),
                                             what, params["poll_interval"])
            problem = failure(item) if item is not None else None
            if problem:   # no use waiting on: it stays failed until someone acts
                raise AzureModuleError(what, "replication failed: %s" % (problem.get("message") or problem["reason"]),
                                       code=problem.get("code"), possible_causes=problem.get("possible_causes"),
                                       recommended_action=problem.get("recommended_action"))
    except (InvalidOptions, Blocked) as exc:
        module.fail_error(exc, "Can't enable replication of %r" % params["name"], changed=False, jobs=task.jobs)
    except AzureModuleError as exc:
        module.fail_json(jobs=task.jobs, changed=bool(task.jobs), **exc.fail_kwargs())
    after = target_settings(item) if item else {}
    if module.check_mode:   # what the task would make of the settings
        after = {} if params["state"] == "absent" else dict(target_settings(before) if before else {}, **dict(
            (key, change["after"]) for key, change in changes.items() if key != "replication"))
    diff = {"before": target_settings(before) if before else {}, "after": after}
    module.exit_json(changed=bool(changes), changes=changes, jobs=task.jobs, diff=diff,
                     **report(item if not module.check_mode else before, module.check_mode, before))


if __name__ == "__main__":
    main()
