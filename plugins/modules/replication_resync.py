#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: replication_resync
short_description: Resynchronise replicated Hyper-V VMs whose replication needs it
version_added: 0.1.0
description:
  - Starts the resynchronisation (the service's C(repairReplication)) of each named replicated VM for which Azure
    allows it - a VM whose replication paused with a critical health error, for example after its host ran out of
    space for replication logs - and waits for the jobs.
  - A VM for which Azure does not allow a resynchronisation is left alone (RV(vms[].action) V(not_needed)); a VM
    whose resynchronisation already runs is not started again (V(running)), so a re-run converges and never starts a
    second job.
  - Reads the vault's VMs with one paged listing (as M(azmigrate.hyperv.replication_info)), then one request per VM
    to resynchronise.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  names:
    description:
      - The VMs, by Hyper-V VM name, VM id or replicated item name (case-insensitive).
      - The task fails before changing anything when a name matches no replicated VM of the vault.
    type: list
    elements: str
    required: true
  wait:
    description: Wait for the resynchronisation jobs to finish.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the jobs, in all.
    type: int
    default: 3600
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
attributes:
  check_mode:
    description: Reports which VMs would be resynchronised and starts nothing.
    support: full
  diff_mode:
    description: Shows each VM's action (before - its health; after - the action).
    support: full
notes:
  - A resynchronisation copies again the disk blocks that changed since replication paused; it can take hours for
    large disks, during which RV(azmigrate.hyperv.replication_info#module:vms[].current_operation) names it.
seealso:
  - module: azmigrate.hyperv.replication_info
"""

EXAMPLES = r"""
- name: Resynchronise the VMs whose replication is critical
  azmigrate.hyperv.replication_resync:
    resource_group: migrate-rg
    vault_name: migrate-vault
    names: "{{ groups['critical'] }}"
  delegate_to: localhost
  run_once: true

- name: Start the resynchronisation of one VM, without waiting
  azmigrate.hyperv.replication_resync:
    resource_group: migrate-rg
    vault_name: migrate-vault
    names: [sql01]
    wait: false
  delegate_to: localhost
"""

RETURN = r"""
vms:
  description: Each named VM and what was done.
  returned: success
  type: list
  elements: dict
  contains:
    vm_name:
      description: Name of the VM in Hyper-V.
      type: str
      sample: sql01
    name:
      description: Name of the replicated item.
      type: str
    health:
      description: Replication health when the task started.
      type: str
      sample: Critical
    action:
      description:
        - V(resync) - a resynchronisation was started (or would be, in check mode).
        - V(running) - one was already running; nothing was started.
        - V(not_needed) - Azure does not allow a resynchronisation of this VM now (its replication is not paused).
      type: str
      sample: resync
    job:
      description: The resynchronisation job (C(name), C(state), C(errors) ...) when one was started or found, else
        V(null).
      type: dict
"""


from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.fleet import read_fleet, resync_action, start_resync
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import current_operation
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import filter_items
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.waiters import job_summary, wait_for_job
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule


def named_vms(fleet, names):
    """The VMs ``names`` match, each once; and the names that match none."""
    found, unknown = [], []
    for name in names:
        matches = filter_items(fleet, names=[name])
        if not matches:
            unknown.append(name)
        for vm in matches:
            if vm not in found:
                found.append(vm)
    return found, unknown


def resync(module, client, resource_group, vault_name, vms):
    """Start what is needed, then wait (when asked); the per-VM report."""
    params = module.params
    report, jobs = [], []
    for vm in vms:
        action = resync_action(vm)
        entry = {"vm_name": vm["vm_name"], "name": vm["name"], "health": vm["health"], "action": action, "job": None}
        if action == "running":
            jobs.append((entry, vm["current_operation"]["job_name"], None))
        elif action == "resync" and not module.check_mode:
            started = start_resync(client, resource_group, vault_name, vm["site"], vm["container"], vm["name"],
                                   vm["vm_name"])
            job_name = started.job_name
            if job_name is None:   # answered without naming a job: the item's current scenario does
                item = asr_api.get_protected_item(client, resource_group, vault_name, vm["site"], vm["container"], vm["name"])
                job_name = (current_operation(item) or {}).get("job_name")
            if job_name:
                jobs.append((entry, job_name, started.retry_after))
        report.append(entry)
    for entry, job_name, first_delay in jobs:
        if params["wait"]:
            job = wait_for_job(client, resource_group, vault_name, job_name, params["timeout"],
                               "resynchronise replicated VM '%s'" % entry["vm_name"], first_delay)
        else:
            job = asr_api.get_job(client, resource_group, vault_name, job_name)
        entry["job"] = job_summary(job) if job else {"name": job_name}
    return report


def main():
    module = AzureModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=3600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params["names"]:
        module.fail_json(msg="names is empty; give the Hyper-V names (or VM ids) of the VMs to resynchronise")
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout is %d; it must be a positive number of seconds" % params["timeout"])
    session = module.session("azure-mgmt-recoveryservicessiterecovery")
    client = session.site_recovery()
    resource_group, vault_name = params["resource_group"], params["vault_name"]
    try:
        vms, unknown = named_vms(read_fleet(client, resource_group, vault_name), params["names"])
        if unknown:
            module.fail_json(msg="names has %s, which match(es) no replicated VM of vault '%s'; nothing was changed"
                                 % (", ".join(repr(name) for name in unknown), vault_name))
        report = resync(module, client, resource_group, vault_name, vms)
    except AzureModuleError as exc:
        module.fail_json(**exc.fail_kwargs())
    changed = any(entry["action"] == "resync" for entry in report)
    result = {"changed": changed, "vms": report}
    if module._diff:
        result["diff"] = {"before": dict((e["vm_name"], {"health": e["health"]}) for e in report),
                          "after": dict((e["vm_name"], {"health": e["health"], "action": e["action"]}) for e in report)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
