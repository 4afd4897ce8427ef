#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: hyperv_site
short_description: Create or remove a Hyper-V site in a Recovery Services vault, and remove hosts from it
version_added: 0.1.0
description:
  - Creates a Hyper-V site (a Site Recovery replication fabric of type C(HyperVSite)) in a Recovery Services vault,
    what the portal's "Prepare infrastructure" step does, and waits for its C(CreateSite) job. Hyper-V hosts register
    to the site with a registration key (M(azmigrate.hyperv.registration_key)).
  - Removes registered hosts from the site (O(remove_hosts)), so that the vault forgets the host's Site Recovery
    provider, the step Microsoft's documentation asks for before the provider is unregistered and uninstalled on the
    host.
  - Removes the site (O(state=absent)). A site that still has registered hosts is refused, naming them, before
    anything changes; remove them with O(remove_hosts) in the same task or first.
  - Waits for the Site Recovery jobs, bounded by O(timeout).
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  name:
    description: Name of the Hyper-V site.
    type: str
    required: true
  state:
    description:
      - V(present) creates the site when it is missing.
      - V(absent) removes the site (after the hosts of O(remove_hosts)).
    type: str
    choices: [present, absent]
    default: present
  remove_hosts:
    description:
      - Hosts (short or fully qualified names) to remove from the site. Hosts that are not registered are ignored.
      - A host with replicating VMs cannot be removed; the service refuses it.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the Site Recovery jobs, in all.
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
    description: Shows whether the site exists and its registered hosts, before and after.
    support: full
notes:
  - The site is created with C(customDetails.instanceType=HyperVSite), which the REST specification lacks as a creation
    type (Azure/azure-rest-api-specs#22016) but the service accepts, as Terraform's Hyper-V site resource sends it.
  - The C(CreateSite) job takes a minute or two on Azure.
seealso:
  - module: azmigrate.hyperv.registration_key
  - module: azmigrate.hyperv.discovery
  - module: azmigrate.hyperv.vault_info
"""

EXAMPLES = r"""
- name: Create the Hyper-V site
  azmigrate.hyperv.hyperv_site:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: hyperv-site

- name: Create the site in the vault of an Azure Migrate project
  azmigrate.hyperv.hyperv_site:
    resource_group: migrate-rg
    migrate_project: contoso-migration
    name: hyperv-site

- name: Remove a decommissioned host from the site (then unregister the provider on the host)
  azmigrate.hyperv.hyperv_site:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: hyperv-site
    remove_hosts: [HV07.contoso.local]

- name: Remove the site and its remaining hosts
  azmigrate.hyperv.hyperv_site:
    resource_group: migrate-rg
    vault_name: migrate-vault
    name: hyperv-site
    state: absent
    remove_hosts: [HV01, HV02]
"""

RETURN = r"""
site:
  description: The site after the task (as it would be, in check mode); V(null) when there is none.
  returned: success
  type: dict
  sample:
    name: hyperv-site
    id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/migrate-rg/providers\
      /Microsoft.RecoveryServices/vaults/migrate-vault/replicationFabrics/hyperv-site"
    friendly_name: hyperv-site
    internal_id: f3ce4b50-831d-5af4-9c48-dcbc41521358
    health: Normal
    health_errors: []
    hosts: []
hosts:
  description: The hosts registered to the site after the task (fully qualified names).
  returned: success
  type: list
  elements: str
  sample: [HV01.contoso.local]
removed_hosts:
  description: The hosts the task removed (or would remove, in check mode).
  returned: success
  type: list
  elements: str
  sample: [HV07.contoso.local]
vault_name:
  description: The vault the task worked on (the Migrate project's vault with O(migrate_project)).
  returned: success
  type: str
  sample: migrate-vault
jobs:
  description: The Site Recovery jobs the task ran, each as it ended.
  returned: success
  type: list
  elements: dict
  sample:
    - name: 1d7b9e5a-4b1c-4f5e-9d65-0f1f3c7a9a11
      scenario: CreateSite
      state: Succeeded
"""


from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.setup import match_host
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import is_hyperv_site, normalize_site
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import (
    name_problem,
    problems as option_problems,
    text_problem,
)


def host_names(providers):
    return sorted(((p.get("properties") or {}).get("friendlyName") or p.get("name")) for p in providers)


def plan(params, fabric, providers):
    """{"create": bool, "remove": [providers], "delete": bool, "problems": [...]} (pure)."""
    result = {"create": False, "remove": [], "delete": False, "problems": []}
    if fabric is not None and not is_hyperv_site(fabric):
        result["problems"].append("name %r is a site of another kind than Hyper-V in the vault" % params["name"])
        return result
    result["remove"] = [p for p in providers if any(match_host(name, p) for name in params["remove_hosts"])]
    remaining = [p for p in providers if p not in result["remove"]]
    if params["state"] == "present":
        result["create"] = fabric is None
    elif fabric is not None:
        if remaining:
            result["problems"].append(
                "site %r still has registered hosts: %s. Remove them first (remove_hosts), after disabling the "
                "replication of their VMs" % (params["name"], ", ".join(host_names(remaining))))
        result["delete"] = True
    return result


def main():
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            remove_hosts=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=900),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = option_problems(
        name_problem("name", params["name"], "site"),
        "timeout is %s; it must be at least 1" % params["timeout"] if params["timeout"] < 1 else None,
        *[text_problem("remove_hosts[%d]" % index, host) for index, host in enumerate(params["remove_hosts"])])
    module.fail_invalid(problems)
    session = module.session("azure-mgmt-recoveryservicessiterecovery")
    client = session.site_recovery()
    vault = (client, params["resource_group"], params["vault_name"])
    jobs = module.job_runner(session, list_failed_jobs=False)
    name = params["name"]
    try:
        fabric = asr_api.get_fabric(*vault, fabric_name=name)
        providers = asr_api.list_site_providers(*vault, fabric_name=name) if fabric else []
        todo = plan(params, fabric, providers)
        module.fail_invalid(todo["problems"])
        changed = bool(todo["create"] or todo["remove"] or todo["delete"])
        before = {"site": name if fabric else None, "hosts": host_names(providers)}
        after_hosts = host_names([p for p in providers if p not in todo["remove"]])
        after = {"site": None if todo["delete"] else name, "hosts": [] if todo["delete"] else after_hosts}
        site = None if todo["delete"] else (normalize_site(fabric) if fabric else
                                            {"name": name, "id": None, "friendly_name": name, "internal_id": None,
                                             "health": None, "health_errors": [], "hosts": []})
        if changed and not module.check_mode:
            if todo["create"]:
                jobs.run(asr_api.create_fabric(*vault, fabric_name=name), "create Hyper-V site '%s'" % name)
            for provider in todo["remove"]:
                host = (provider.get("properties") or {}).get("friendlyName")
                jobs.run(asr_api.remove_provider(*vault, fabric_name=name, provider_name=provider["name"]),
                         "remove host '%s' from Hyper-V site '%s'" % (host, name))
            if todo["delete"]:
                jobs.run(asr_api.remove_fabric(*vault, fabric_name=name), "remove Hyper-V site '%s'" % name)
            fabric = asr_api.get_fabric(*vault, fabric_name=name)
            site = normalize_site(fabric) if fabric else None
            after = {"site": name if fabric else None,
                     "hosts": host_names(asr_api.list_site_providers(*vault, fabric_name=name)) if fabric else []}
    except AzureModuleError as exc:
        module.fail_json(jobs=jobs.jobs, **exc.fail_kwargs())
    module.exit_json(changed=changed, site=site, hosts=after["hosts"], vault_name=params["vault_name"],
                     removed_hosts=host_names(todo["remove"]), jobs=jobs.jobs, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
