#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: replication_info
short_description: Report every replicated Hyper-V VM of a vault - state, health, progress, RPO, next steps
version_added: 0.1.0
description:
  - Reads every replicated Hyper-V VM (replication protected item) of a Recovery Services vault in one paged
    listing - one request per page of items plus one for the registered hosts, whatever the number of VMs,
    instead of one request per VM - and, for each VM whose current scenario names a job, that job (one request
    each), since whether the job still runs, and why an enable failed, is in the job, not in the item.
  - Reports for each VM its lifecycle state, replication health and health errors, initial replication progress,
    RPO and last replication time, active location, test failover state, the operations Azure allows next, the
    running operation, disks and seed disks, and the target settings; plus a summary by state and health.
  - The lifecycle RV(vms[].state) is decided from the operations Azure allows, the active location, the current
    scenario's job and the replication health, never from the service's C(protectionState) text alone, which
    differs between API versions and from the documentation (RV(vms[].protection_state) carries it unchanged).
  - A VM is busy when the job of its current scenario is V(NotStarted) or V(InProgress), whatever operations Azure
    lists meanwhile.
  - Changes nothing.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  names:
    description:
      - Report only these VMs, by Hyper-V VM name, VM id or replicated item name (case-insensitive).
    type: list
    elements: str
  hosts:
    description:
      - Report only VMs on these Hyper-V hosts, by FQDN or short name (case-insensitive).
    type: list
    elements: str
  health:
    description: Report only VMs with this replication health.
    type: list
    elements: str
    choices: [Normal, Warning, Critical, None]
  states:
    description:
      - Report only VMs in these lifecycle states (see RV(vms[].state)).
    type: list
    elements: str
    choices: [enabling, initial_replication, failed, protected, test_failover, in_progress, failed_over, committed]
  query:
    description:
      - A JMESPath expression (U(https://jmespath.org/)) applied to the list RV(vms) after the other filters; its
        result is returned as RV(query_result).
      - For example V([?health=='Critical'].vm_name) (the names of the critical VMs), or
        V(length([?state=='protected'])).
      - The expression is checked before anything is read from Azure; the task fails, naming O(query) and the
        expression, when it is not valid JMESPath or fails on the list.
      - Needs the C(jmespath) Python library on the machine that runs the task.
    type: str
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
  - azmigrate.hyperv.azure_attributes.info_module
requirements:
  - jmespath (only with O(query))
notes:
  - The filters are applied after the listing; they reduce the output, not the requests.
seealso:
  - module: azmigrate.hyperv.vault_info
"""

EXAMPLES = r"""
- name: Report every replicated VM of the vault
  azmigrate.hyperv.replication_info:
    resource_group: migrate-rg
    vault_name: migrate-vault
  delegate_to: localhost
  run_once: true
  register: replication

- name: Show the fleet by state
  ansible.builtin.debug:
    var: replication.summary.by_state
  run_once: true

- name: Wait (bounded) until the wave's VMs finished their initial replication
  azmigrate.hyperv.replication_info:
    resource_group: migrate-rg
    vault_name: migrate-vault
    names: "{{ wave_vms }}"
  delegate_to: localhost
  run_once: true
  register: wave
  until: wave.vms | selectattr('state', 'in', ['enabling', 'initial_replication']) | list | length == 0
  retries: 120
  delay: 60

- name: Names of the critical VMs of a wave, by JMESPath
  azmigrate.hyperv.replication_info:
    resource_group: migrate-rg
    vault_name: migrate-vault
    names: "{{ wave_vms }}"
    query: "[?health=='Critical'].vm_name"
  delegate_to: localhost
  run_once: true
  register: critical

- name: List VMs of two hosts that need attention
  azmigrate.hyperv.replication_info:
    resource_group: migrate-rg
    vault_name: migrate-vault
    hosts: [hv01, hv02]
    health: [Warning, Critical]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
vms:
  description: The replicated VMs that match the filters, sorted by VM name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Name of the replicated item (the Hyper-V VM id).
      type: str
      sample: b1956159-f3d3-4317-86d4-94fb027c6d95
    id:
      description: ARM id of the replicated item.
      type: str
    vm_name:
      description: Name of the VM in Hyper-V.
      type: str
      sample: hyperV1
    vm_id:
      description: Hyper-V VM id.
      type: str
    host:
      description: FQDN of the Hyper-V host whose provider reports the VM.
      type: str
      sample: HV01.contoso.local
    site:
      description: Hyper-V site (replication fabric) name.
      type: str
    container:
      description: Protection container name.
      type: str
    policy:
      description: Replication policy name.
      type: str
      sample: B2APolicyTest1
    state:
      description:
        - Lifecycle state.
        - V(enabling) - the enable-replication job runs.
        - V(initial_replication) - the first copy runs; no failover is allowed yet.
        - V(failed) - the enable-replication job failed, or replication stopped with a critical health error before
          the first copy finished; RV(vms[].failure) says why and what to do. It stays so until someone acts (for
          example disables replication with M(azmigrate.hyperv.replication) O(azmigrate.hyperv.replication#module:state=absent)
          and enables it again).
        - V(protected) - replicating; test failover and migration are allowed.
        - V(test_failover) - a test VM exists, or a failed test failover awaits its clean-up; clean it up before
          migrating.
        - V(in_progress) - another operation runs (see RV(vms[].current_operation)).
        - V(failed_over) - the VM runs in Azure; the failover is not committed.
        - V(committed) - the failover is committed; complete the migration.
      type: str
      sample: protected
    protection_state:
      description: The service's protection state, unchanged.
      type: str
      sample: Protected
    protection_state_description:
      description: The service's description of the protection state.
      type: str
    health:
      description: Replication health (V(Normal), V(Warning), V(Critical), V(None)).
      type: str
      sample: Normal
    failover_health:
      description: Failover health.
      type: str
    errors:
      description: Health errors, each with C(code), C(category), C(severity), C(message), C(possible_causes),
        C(recommended_action), C(source) and C(created).
      type: list
      elements: dict
      sample: []
    initial_replication:
      description:
        - C(type), C(completed) and C(progress_percent) of the initial replication.
        - C(progress_percent) is 100 once the copy completed (the service goes on reporting 0 then).
      type: dict
      sample: {type: InitialReplication, completed: true, progress_percent: 100}
    rpo_seconds:
      description: Current recovery point objective in seconds, when the service computed it.
      type: int
      sample: 396
    last_replication_time:
      description: When the last changes were replicated.
      type: str
      sample: "2017-09-20T18:54:36Z"
    last_recovery_point_time:
      description: When the last recovery point was received.
      type: str
    active_location:
      description: Where the VM runs - V(Primary) (Hyper-V) or V(Recovery) (Azure).
      type: str
      sample: Primary
    test_failover:
      description: C(state), C(description) and C(last_success_time) of test failover.
      type: dict
      sample: {state: MarkedForDeletion, description: Cleaning up test environment, last_success_time: "2017-09-20T13:15:03.2896486Z"}
    last_failover_time:
      description: When the last failover succeeded.
      type: str
    current_operation:
      description:
        - The VM's current scenario (C(name), C(job_name), C(job_id), C(start_time)) and the state of its job
          (C(job_state), V(null) when the job could not be found), or V(null) when the scenario is V(None).
        - The scenario of a finished test failover stays until its clean-up, and that of a failed enable stays too.
      type: dict
    failure:
      description:
        - Why the VM is V(failed) (C(reason), C(code), C(message), C(possible_causes), C(recommended_action), C(job)),
          or V(null).
        - C(reason) is V(enable_job_failed) (the enable-replication job in C(job) failed; the error is the job's),
          V(protection_failed) (the service reports a failed protection state) or V(replication_critical)
          (critical replication health before the first copy finished; the error is the first health error).
      type: dict
      sample: {reason: enable_job_failed, code: "6001", message: Parameters are not correct., job: 2f2ae7d6-1f1b-4c2e-9f6a-1e0d5f0c9b7e,
               possible_causes: Only one of storageAccountId or useManagedDisksForReplication is expected.,
               recommended_action: Provide the correct input parameters and retry the last action.}
    allowed_operations:
      description: Operations Azure allows next.
      type: list
      elements: str
      sample: [PlannedFailover, UnplannedFailover, DisableProtection, TestFailover]
    disks:
      description: Replicated disks (C(vhd_id), C(name), C(type), C(size_mb), C(lun)).
      type: list
      elements: dict
    seed_disks:
      description:
        - Managed seed disks (C(disk_id), C(seed_managed_disk_id), C(replica_disk_type), C(target_disk_type)).
        - The service lists them only when it reads one item, so the listing usually returns V([]).
      type: list
      elements: dict
    target:
      description: Target settings (C(vm_name), C(vm_size), C(resource_group_id), C(network_id), C(storage_account_id),
        C(log_storage_account_id), C(use_managed_disks)) and C(tags), the tags the Azure VM gets.
      type: dict
query_result:
  description: The result of O(query) applied to RV(vms) - any JSON value the expression yields.
  returned: when O(query) is given
  type: raw
  sample: [hva01-vm007, hva02-vm113]
summary:
  description: Counts of the returned VMs by state (every state present) and by health, the number with errors,
    and the number of replicated VMs in the vault before filtering.
  returned: success
  type: dict
  sample:
    total: 3
    vault_total: 1000
    by_state: {enabling: 0, initial_replication: 1, failed: 0, protected: 2, test_failover: 0, in_progress: 0, failed_over: 0, committed: 0}
    by_health: {Normal: 2, Warning: 1}
    with_errors: 1
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import HEALTH_VALUES, STATES
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.fleet import read_fleet
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import filter_items, summarize
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._vm_query import (
    compile_query,
    HAS_JMESPATH,
    JMESPATH_IMPORT_ERROR,
    QueryError,
    run_query,
)


def read_replication(client, resource_group, vault_name, filters):
    """Two listings: the vault's providers (host names) and its protected items, page by page; plus the job of
    each item whose current scenario names one (_asr.fleet.read_fleet)."""
    vms = read_fleet(client, resource_group, vault_name)
    matching = filter_items(vms, **filters)
    summary = summarize(matching)
    summary["vault_total"] = len(vms)
    return {"vms": matching, "summary": summary}


def main():
    module = AzureModule(
        argument_spec=dict(
            names=dict(type="list", elements="str"),
            hosts=dict(type="list", elements="str"),
            health=dict(type="list", elements="str", choices=list(HEALTH_VALUES)),
            states=dict(type="list", elements="str", choices=list(STATES)),
            query=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    filters = dict(names=params["names"], hosts=params["hosts"], health=params["health"], states=params["states"])
    if params["query"] and not HAS_JMESPATH:
        module.fail_json(msg="query: " + missing_required_lib("jmespath"), exception=JMESPATH_IMPORT_ERROR)
    try:   # a bad expression fails the task before anything is read
        query = compile_query("query", params["query"])
    except QueryError as exc:
        module.fail_json(msg=str(exc))
    session = module.session("azure-mgmt-recoveryservicessiterecovery")
    try:
        result = read_replication(session.site_recovery(), params["resource_group"], params["vault_name"], filters)
    except AzureModuleError as exc:
        module.fail_json(**exc.fail_kwargs())
    if query is not None:
        try:
            result["query_result"] = run_query(query, "query", result["vms"])
        except QueryError as exc:
            module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
