#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: replication_policy
short_description: Manage a Hyper-V to Azure replication policy and its association with Hyper-V sites
version_added: 0.1.0
description:
  - Creates, updates or deletes a Site Recovery replication policy for Hyper-V to Azure (replication provider
    C(HyperVReplicaAzure)) in a Recovery Services vault, and associates it with Hyper-V sites (container
    mappings), which replicating a site's VMs needs.
  - Waits for the Site Recovery jobs of the changes, bounded by O(timeout).
  - Settings that are out of range and sites that do not exist are refused before anything changes.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  name:
    description:
      - Name of the replication policy, stored as given.
      - 1 to 64 letters, digits, V(-) and V(_), starting and ending with a letter or digit; names with characters
        that need URL encoding (spaces, V(%), V(/), ...) are refused before anything changes.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy and adds the associations with O(sites).
      - V(absent) removes the policy's associations with every site, then deletes the policy. Removing an
        association fails while VMs of the site replicate with the policy.
    type: str
    choices: [present, absent]
    default: present
  recovery_point_retention_hours:
    description:
      - How long recovery points are kept, in hours, from 0 to 24 (the limit for Hyper-V to Azure).
      - When not given, an existing policy keeps its value and a new one gets V(24).
    type: int
  app_consistent_snapshot_frequency_hours:
    description:
      - How often an application-consistent snapshot is taken, in hours, from 0 (never) to 12.
      - Must be 0 or at most O(recovery_point_retention_hours) (the policy's current value when that option is not
        given), else the snapshots would never be kept as recovery points.
      - When not given, an existing policy keeps its value and a new one gets V(4).
    type: int
  replication_interval:
    description:
      - How often changes are replicated, in seconds.
      - When not given, an existing policy keeps its value and a new one gets V(300).
    type: int
    choices: [30, 300, 900]
  sites:
    description:
      - Hyper-V sites (by name or friendly name) to associate the policy with.
      - Associations with sites not listed are left alone.
    type: list
    elements: str
    default: []
  wait:
    description:
      - Wait for the Site Recovery jobs to finish.
      - With V(false) the module returns once the jobs started; it still waits for the policy's job when an
        association must follow, since an association needs the policy.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for all the jobs together, at most; on expiry the task fails and the jobs go on.
    type: int
    default: 900
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
attributes:
  check_mode:
    description: Reports what would change, and changes nothing.
    support: full
  diff_mode:
    description: Shows the policy's settings and associated sites before and after.
    support: full
notes:
  - The rule for policy names is an assumption (Azure does not publish one for Site Recovery policies); it allows the
    names the Azure portal and Azure PowerShell create. Verify by creating a policy with the name on a test vault.
seealso:
  - module: azmigrate.hyperv.vault_info
  - name: Site Recovery replication policy limits for Hyper-V
    description: Retention of at most 24 hours for Hyper-V VMs.
    link: https://learn.microsoft.com/azure/site-recovery/hyper-v-azure-support-matrix
"""

EXAMPLES = r"""
- name: Replicate every 5 minutes and keep 24 hours of recovery points, for the site of the project
  azmigrate.hyperv.replication_policy:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: hyperv-migration
    recovery_point_retention_hours: 24
    app_consistent_snapshot_frequency_hours: 4
    replication_interval: 300
    sites: [contoso-hyperv]
  delegate_to: localhost
  run_once: true

- name: Remove the policy (and its associations) once the migration is over
  azmigrate.hyperv.replication_policy:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: hyperv-migration
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
policy:
  description: The policy after the task (in check mode, as it would be); V(null) when absent.
  returned: success
  type: dict
  sample:
    name: hyperv-migration
    id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/migrate-rg/providers\
      /Microsoft.RecoveryServices/vaults/migrate-vault/replicationPolicies/hyperv-migration"
    replication_provider: HyperVReplicaAzure
    recovery_point_retention_hours: 24
    app_consistent_snapshot_frequency_hours: 4
    replication_interval: 300
associations:
  description: The policy's associations with Hyper-V sites after the task (C(name), C(site), C(container), C(state)).
  returned: success
  type: list
  elements: dict
  sample:
    - name: hyperv-migration-contoso-hyperv
      site: contoso-hyperv
      container: cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358
      state: Paired
jobs:
  description: The Site Recovery jobs the task started (C(name), C(scenario), C(state), C(tasks), ...), in order.
  returned: changed
  type: list
  elements: dict
  sample:
    - name: 239137c0-578a-4cfc-bb8a-6bc48d0701d9
      scenario: AddProtectionProfile
      friendly_name: Create replication policy
      state: Succeeded
      state_description: Completed
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import policy_input
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import (
    normalize_mapping,
    normalize_policy,
    plan_policy,
    policy_settings,
    snapshot_problems,
    validate_policy_settings,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError, InvalidOptions
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import name_problem

SETTINGS = ("recovery_point_retention_hours", "app_consistent_snapshot_frequency_hours", "replication_interval")


def read(vault, params):
    """The policy (REST JSON or None), its settings (current), and the vault's fabrics, containers and mappings."""
    policy = asr_api.get_policy(*vault.args(), policy_name=params["name"])
    current = policy_settings(policy) if policy else None
    if policy is not None and current is None:
        raise AzureModuleError("manage replication policy '%s'" % params["name"], "the policy exists for another "
                               "replication provider than HyperVReplicaAzure", recommended_action="Choose another name.")
    return dict(policy=policy, current=current, fabrics=asr_api.list_fabrics(*vault.args()),
                containers=asr_api.list_containers(*vault.args()), mappings=asr_api.list_mappings(*vault.args()))


def apply(vault, params, plan, wait):
    """Dissociate, create/update/delete the policy, associate: in that order, each job waited for when needed."""
    name, settings = params["name"], plan["settings"]
    for association in plan["dissociate"]:
        vault.run(asr_api.remove_mapping(*vault.args(), fabric_name=association["site"],
                                         container_name=association["container"], mapping_name=association["mapping"]),
                  "remove policy association '%s'" % association["mapping"], True)
    if plan["policy"] in ("create", "update"):
        method = asr_api.create_policy if plan["policy"] == "create" else asr_api.update_policy
        vault.run(method(*vault.args(), policy_name=name, provider_input=policy_input(settings)),
                  "%s replication policy '%s'" % (plan["policy"], name), wait or bool(plan["associate"]))
    elif plan["policy"] == "delete":
        vault.run(asr_api.delete_policy(*vault.args(), policy_name=name), "delete replication policy '%s'" % name, wait)
    policy_id = None
    for association in plan["associate"]:
        policy_id = policy_id or asr_api.get_policy(*vault.args(), policy_name=name)["id"]
        vault.run(asr_api.create_mapping(*vault.args(), fabric_name=association["site"],
                                         container_name=association["container"], mapping_name=association["mapping"],
                                         policy_id=policy_id),
                  "associate policy '%s' with site '%s'" % (name, association["site"]), wait)


def associations_of(name, mappings):
    return [dict((key, m[key]) for key in ("name", "site", "container", "state"))
            for m in (normalize_mapping(raw) for raw in mappings) if (m["policy"] or "").lower() == name.lower()]


def report(name, plan, current, policy, before, after, check_mode):
    """policy, associations and diff for the result; in check mode, as they would be."""
    associations = after
    result_policy = normalize_policy(policy) if policy else None
    if check_mode:
        associations = [] if plan["settings"] is None else before + [
            dict(name=a["mapping"], site=a["site"], container=a["container"], state="Planned") for a in plan["associate"]]
        result_policy = None if plan["settings"] is None else dict(
            result_policy or {"name": name, "id": None, "replication_provider": "HyperVReplicaAzure"}, **plan["settings"])
    diff = {"before": {"policy": current, "sites": sorted(a["site"] for a in before)},
            "after": {"policy": plan["settings"], "sites": sorted(a["site"] for a in associations)}}
    return dict(policy=result_policy, associations=associations, diff=diff)


def main():
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str", required=True), state=dict(type="str", choices=["present", "absent"], default="present"),
            recovery_point_retention_hours=dict(type="int"), app_consistent_snapshot_frequency_hours=dict(type="int"),
            replication_interval=dict(type="int", choices=[30, 300, 900]),
            sites=dict(type="list", elements="str", default=[]),
            wait=dict(type="bool", default=True), timeout=dict(type="int", default=900),
        ),
        supports_check_mode=True,
    )
    params = module.params
    name = params["name"]
    desired = dict((option, params[option]) for option in SETTINGS)
    problems = validate_policy_settings(desired)
    if not problems and None not in (desired["recovery_point_retention_hours"],
                                     desired["app_consistent_snapshot_frequency_hours"]):   # else once the policy is read
        problems += snapshot_problems(desired, desired)
    problems += [name_problem("name", name, "policy")]
    problems += [name_problem("sites[%d]" % index, site, "site") for index, site in enumerate(params["sites"])]
    if params["timeout"] < 1:
        problems.append("timeout is %s; it must be at least 1" % params["timeout"])
    module.fail_invalid(problems)
    session = module.session("azure-mgmt-recoveryservicessiterecovery")
    vault = module.job_runner(session, list_failed_jobs=False)

    def plan(world):
        todo = plan_policy(params["state"], name, world["current"], desired, params["sites"], world["fabrics"],
                           world["containers"], world["mappings"])
        if todo["problems"]:
            raise InvalidOptions(*todo["problems"])
        return todo

    def apply_plan(world, todo):
        apply(vault, params, todo, params["wait"])
        return dict(policy=asr_api.get_policy(*vault.args(), policy_name=name),
                    mappings=asr_api.list_mappings(*vault.args()))

    def report_result(world, todo, after):
        before = associations_of(name, world["mappings"])
        now = after or world
        return dict(jobs=vault.jobs, **report(name, todo, world["current"], now["policy"], before,
                                              associations_of(name, now["mappings"]), module.check_mode))

    module.run(lambda: read(vault, params), plan, apply_plan, report_result,
               changes=lambda todo: bool(todo["policy"] or todo["associate"] or todo["dissociate"]), jobs=lambda: vault.jobs)


if __name__ == "__main__":
    main()
