#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: test_migration
short_description: Test-migrate a replicating Hyper-V VM into an isolated Azure network, and clean the test up
version_added: 0.1.0
description:
  - With O(state=present), runs a test failover of a replicating Hyper-V VM into the virtual network O(network) (keep it
    isolated from production), waits for it, and returns the test VM (name, power and provisioning state, disks,
    network interfaces) as the Compute and Network APIs report it. The source VM keeps running and replicating.
  - With O(state=absent), cleans the test failover up - Azure deletes the test VM, its disks and network interfaces.
  - A second run changes nothing; a test failover or cleanup still running from an earlier run is waited for (a job is
    running while its state is V(NotStarted) or V(InProgress), read from the job itself).
  - After a failed test failover (its job failed, and Azure asks for a clean-up), a run with O(state=present) cleans
    the failed attempt up and starts a new test failover, rather than reporting a test VM that does not exist.
  - The task plans every step from the VM's state first - wait for a running job, clean up, test failover - and
    returns them in RV(steps); check mode returns that plan. The real run reads the VM again before each step and
    fails, asking for a re-run, when Azure then lists another step next than planned (another task changed the VM
    meanwhile).
  - A VM whose replication failed (see M(azmigrate.hyperv.replication_info) state V(failed)) is refused with the
    replication error.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  state:
    description: V(present) - a test VM exists; V(absent) - no test VM exists.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - Virtual network of the test VM, by ARM id, or by name in O(network_resource_group). Required with
        O(state=present). Checked to exist before anything changes.
      - Keep it isolated from production; see O(production_networks) and O(allow_production_network).
    type: str
  network_resource_group:
    description: Resource group of O(network) when it is given by name; by default the VM's target resource group.
    type: str
  comments:
    description: Notes recorded with the cleanup (for example the test's outcome).
    type: str
    default: ""
  production_networks:
    description:
      - Virtual networks (ARM ids, or names in O(network_resource_group)) where a test VM must not run, besides the
        VM's own target network, which is always one.
      - O(network) naming one of them (or the VM's target network) is refused unless O(allow_production_network=true).
    type: list
    elements: str
    default: []
  allow_production_network:
    description:
      - Allow O(network) to be the VM's target network or one of O(production_networks). The test VM then runs beside
        the source VM, with the same computer name and, unless Azure assigns others, the same addresses.
    type: bool
    default: false
  restart_if_different:
    description:
      - What to do when a test VM already runs in another network than O(network).
      - V(false) fails the task naming both networks (the test VM is left alone).
      - V(true) cleans that test failover up and runs a new one into O(network).
    type: bool
    default: false
  wait:
    description:
      - Wait for the test failover or cleanup job; with V(false), return once Azure accepted the request of the last
        step.
      - A clean-up before a new test failover (after a failed one, or with O(restart_if_different=true)) and a job
        still running from an earlier run are waited for in any case, since the next step needs them finished.
    type: bool
    default: true
  timeout:
    description: Seconds to wait in all.
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
    description: Returns whether a test VM exists before and after.
    support: full
notes:
  - Test migration needs initial replication to have finished (the VM allows C(TestFailover)).
  - The network a running test VM is in is read from its network interfaces' subnets; a test VM in another network
    than O(network) is never reported as unchanged.
  - The per-VM decisions (production network, a test VM in another network) are functions of
    C(module_utils/_asr/validation.py) that wave-level tasks share.
seealso:
  - module: azmigrate.hyperv.migration
"""

EXAMPLES = r"""
- name: Test-migrate into an isolated network, never into production ones
  azmigrate.hyperv.test_migration:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    network: vnet-test
    production_networks: [vnet-prod, vnet-shared]
    restart_if_different: true
  delegate_to: localhost

- name: Test-migrate web01 into the isolated test network
  azmigrate.hyperv.test_migration:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    network: vnet-test
    network_resource_group: rg-migrated
  delegate_to: localhost
  register: test

- name: Check that the test VM runs
  ansible.builtin.assert:
    that: test.test_vm.power_state == 'running'

- name: Clean the test up
  azmigrate.hyperv.test_migration:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: web01
    state: absent
    comments: "smoke tests passed"
  delegate_to: localhost
"""

RETURN = r"""
elapsed_seconds:
  description: Seconds the task took.
  returned: success
  type: float
  sample: 412.5
test_vm:
  description:
    - The test VM (C(id), C(name), C(resource_group), C(size), C(provisioning_state), C(power_state), C(tags), C(disks),
      C(nics); as azmigrate.hyperv.migration's RV(azmigrate.hyperv.migration#module:azure_vm)), or V(null) when there is
      none (O(state=absent), check mode, O(wait=false)).
  returned: always
  type: dict
  sample:
    name: hyperV1-test
    resource_group: rg-migrated
    power_state: running
    provisioning_state: Succeeded
    nics: [{name: nic-hyperv1-test-00, primary: true, private_ip: 10.20.1.4}]
state:
  description:
    - Lifecycle state of the replicated VM after the task, as M(azmigrate.hyperv.replication_info) reports it in
      RV(azmigrate.hyperv.replication_info#module:vms[].state).
    - V(test_failover) while a test VM exists (or a failed test failover awaits its clean-up), V(protected) after the
      clean-up, V(in_progress) while a job runs (O(wait=false)), V(failed) when the VM's replication failed.
  returned: always
  type: str
  sample: test_failover
steps:
  description:
    - The steps the task took (in check mode, would take), in order - V(wait) (for a job an earlier run started),
      V(cleanup) (for O(state=absent), after a failed test failover, or of a test VM in another network with
      O(restart_if_different=true)), V(test_failover). Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: [cleanup, test_failover]
jobs:
  description: The Site Recovery jobs the task started or waited for.
  returned: always
  type: list
  elements: dict
  sample:
    - name: 7a1d5a5e-4dc0-4cd2-8a8b-1d4e2fb2f8a5
      scenario: TestFailover
      friendly_name: Test failover
      state: Succeeded
"""


from ansible_collections.azmigrate.hyperv.plugins.module_utils import _compute as azure_compute
from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import arm_id, name_in_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api, lookup as asr_lookup
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.cutover import read_test_vm
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.lifecycle import (
    lifecycle_state,
    test_failover_plan,
    test_failover_step,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import target_settings
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.validation import (
    production_network_problem,
    running_test_vm_difference,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError, Blocked
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import (
    name_problem,
    problems as option_problems,
    text_problem,
)


def network_id_of(subscription_id: str, group: str, network: str) -> str:
    if network.startswith("/"):
        return network
    return arm_id(subscription_id, group, "Microsoft.Network/virtualNetworks", network)


def test_vm(task, item: dict) -> dict | None:
    return read_test_vm(task.client, task.resource_group, task.vault_name, task.compute, task.network, item)


def test_vm_elsewhere(task, item: dict, network_id: str | None) -> str | None:
    """Why the test VM that runs is not where ``network_id`` asks (``running_test_vm_difference``), or None: no such
    test VM, or no network asked (state=absent)."""
    if not network_id or lifecycle_state(item) != "test_failover" or test_failover_step(item, "present")[0] != "done":
        return None
    return running_test_vm_difference(test_vm(task, item), network_id)


def plan_test_migration(item: dict, params: dict, elsewhere: str | None) -> list[tuple[str, str | None]]:
    """The steps to params["state"] (``test_failover_plan``). Raises Blocked when the VM can't get there."""
    plan = test_failover_plan(item, params["state"], elsewhere, params["restart_if_different"])
    if plan and plan[0][0] == "blocked":
        raise Blocked(plan[0][1])
    return plan


def take_steps(task, ref, item: dict, params: dict, plan: list, network_id: str | None, elsewhere: str | None,
               steps: list[str]) -> dict:
    """Take the steps of ``plan`` (what check mode reports) one by one, appending each to ``steps``; return the item
    after.

    Before each step the item, read again, must still need it (the first step of its own plan): a test failover never
    starts on an item that is no longer where the plan found it. With wait=false only the last step's job is left
    running, since the steps before it must have ended for the next to start."""
    name = params["name"]
    for index, (planned, _detail) in enumerate(plan):
        step, detail = (plan_test_migration(item, params, elsewhere) or [("done", None)])[0]
        if step != planned:
            raise Blocked(f"Azure lists {step.replace('_', ' ')} next, not the {planned.replace('_', ' ')} step this run "
                          "planned; re-run the task")
        wait = params["wait"] or index < len(plan) - 1
        if step == "wait":
            task.wait(detail, f"wait for the running job of VM '{name}'")
        elif step == "test_failover":
            task.run(asr_api.test_failover(ref, network_id), f"test failover of VM '{name}'", wait)
        else:
            restarting = elsewhere is not None and detail == elsewhere
            comments = params["comments"] or ("test network changed" if restarting else "")
            task.run(asr_api.test_failover_cleanup(ref, comments),
                     f"clean up the test failover of VM '{name}'" + (f" ({detail})" if detail else ""), wait)
        steps.append(step)
        item = asr_api.get_item(ref)
    return item


def main():
    module = AzureModule(
        vm=True,
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            network=dict(type="str"), network_resource_group=dict(type="str"), comments=dict(type="str", default=""),
            production_networks=dict(type="list", elements="str", default=[]),
            allow_production_network=dict(type="bool", default=False),
            restart_if_different=dict(type="bool", default=False),
            wait=dict(type="bool", default=True), timeout=dict(type="int", default=3600),
        ),
        required_if=[("state", "present", ("network",))],
        supports_check_mode=True,
    )
    params = module.params
    problems = []
    if params["timeout"] < 1:
        problems.append("timeout is %s; it must be at least 1 (seconds)" % params["timeout"])
    network = params["network"] or ""
    if network.startswith("/") and "/providers/microsoft.network/virtualnetworks/" not in network.lower():
        problems.append("network is %r; it must be a virtual network name or its ARM id (/subscriptions/<id>/resourceGroups/"
                        "<group>/providers/Microsoft.Network/virtualNetworks/<name>)" % network)
    problems += option_problems(
        text_problem("name", params["name"]), name_problem("site", params["site"], "site"),
        name_problem("network", params["network"], "virtual_network") if not network.startswith("/") else None,
        name_problem("network_resource_group", params["network_resource_group"], "resource_group"),
        *[name_problem("production_networks[%d]" % index, value, "virtual_network") if not value.startswith("/") else None
          for index, value in enumerate(params["production_networks"])])
    if params["state"] == "absent" and (params["network"] or params["network_resource_group"]):
        problems.append("network and network_resource_group apply to state=present, not to the cleanup (state=absent)")
    module.fail_invalid(problems, changed=False)
    session = module.session("azure-mgmt-recoveryservicessiterecovery", "azure-mgmt-compute",
                             "azure-mgmt-network")
    task = module.job_runner(session)
    task.compute, task.network = session.compute(), session.network()
    steps = []
    try:
        problem = asr_lookup.site_problem(task.client, task.resource_group, task.vault_name, params["site"])
        module.fail_invalid([problem], changed=False)
        item = asr_lookup.find_item(task.client, task.resource_group, task.vault_name, params["name"], params["site"])
        if item is None:
            raise Blocked("it does not replicate in vault %r (azmigrate.hyperv.replication enables it)" % params["vault_name"])
        before = lifecycle_state(item) == "test_failover"
        network_id = None
        if params["network"]:
            group = params["network_resource_group"] or target_settings(item)["target_resource_group"]
            network_id = network_id_of(session.subscription_id, group, network)
            if azure_compute.get_vnet(task.network, network_id) is None:
                raise Blocked("network %r is not a virtual network of resource group %r" % (
                    params["network"], name_in_id(network_id, "resourceGroups")))
            production = [network_id_of(session.subscription_id, group, value) for value in params["production_networks"]]
            problem = production_network_problem(item, network_id, production, params["allow_production_network"])
            module.fail_invalid([problem], changed=False)
        ref = asr_api.ref_of(task.client, task.resource_group, task.vault_name, item)
        elsewhere = test_vm_elsewhere(task, item, network_id)
        plan = plan_test_migration(item, params, elsewhere)
        if module.check_mode:
            steps = [step for step, _detail in plan]
        else:
            item = take_steps(task, ref, item, params, plan, network_id, elsewhere, steps)
        state = lifecycle_state(item)
        found = test_vm(task, item) if state == "test_failover" else None
    except Blocked as exc:
        module.fail_error(exc, blocked="Can't test-migrate %r" % params["name"], changed=bool(steps), steps=steps,
                          jobs=task.jobs)
    except AzureModuleError as exc:
        module.fail_json(changed=bool(steps or task.jobs), steps=steps, jobs=task.jobs, **exc.fail_kwargs())
    after = (params["state"] == "present") if module.check_mode else state == "test_failover"
    module.exit_json(elapsed_seconds=module.elapsed(), changed=bool(steps), steps=steps, test_vm=found, state=state,
                     jobs=task.jobs, diff={"before": {"test_vm": before}, "after": {"test_vm": after}})


if __name__ == "__main__":
    main()
