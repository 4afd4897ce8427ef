#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: discovery
short_description: Wait until Hyper-V hosts are connected to the vault and their VMs are discovered
version_added: 0.1.0
description:
  - After a Hyper-V host registers with a vault, its VMs appear in the vault (as protectable items) only once the
    host's Site Recovery provider has sent its inventory, up to 15 minutes later; a VM created after the
    registration appears only after the provider refreshes. Replicating a VM before that fails.
  - This module waits, bounded by O(timeout), until every host of O(hosts) has a provider in the site with connection
    status C(Connected) and every VM of O(vms) is a protectable item of the site. When VMs are still missing while
    every host is connected, it asks each connected provider of the site to refresh once (O(refresh)).
  - With O(require_paired), it also waits until the site's protection container is associated with a replication
    policy (a container mapping in state C(Paired)), which enabling replication needs.
  - Fails at the timeout, naming the hosts and VMs still missing.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  site:
    description: Hyper-V site to look in; by default every Hyper-V site of the vault.
    type: str
  hosts:
    description: Hosts (short or fully qualified names) that must be registered and C(Connected).
    type: list
    elements: str
    default: []
  vms:
    description: VMs (names, or Hyper-V VM ids) that must be discovered.
    type: list
    elements: str
    default: []
  refresh:
    description:
      - Ask the site's connected providers to refresh once when VMs are missing (C(refreshProvider)).
      - Not done in check mode.
    type: bool
    default: true
  require_paired:
    description:
    - Also wait until the sites of the VMs of O(vms) (every site searched, when O(vms) is empty) have a container
      mapping in state C(Paired).
    type: bool
    default: false
  timeout:
    description: Seconds to wait in all. The default leaves room for Microsoft's "up to 15 minutes".
    type: int
    default: 1200
  poll_interval:
    description: Seconds between two reads.
    type: int
    default: 30
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
attributes:
  check_mode:
    description: Waits as usual, without asking providers to refresh.
    support: full
  diff_mode:
    description: Returns no diff; the only action, a provider refresh, changes no setting.
    support: none
notes:
  - The task reports no change, since a provider refresh changes no setting of the vault.
seealso:
  - module: azmigrate.hyperv.hyperv_site
  - module: azmigrate.hyperv.replication
  - module: azmigrate.hyperv.vault_info
"""

EXAMPLES = r"""
- name: Wait until the hosts are connected and the wave's VMs are discovered
  azmigrate.hyperv.discovery:
    resource_group: migrate-rg
    vault_name: migrate-vault
    site: hyperv-site
    hosts: "{{ groups['hyperv_hosts'] }}"
    vms: [web01, app01]
    require_paired: true
"""

RETURN = r"""
hosts:
  description: The hosts waited for, with their provider and connection status.
  returned: always
  type: list
  elements: dict
  sample:
    - name: HV01
      provider_name: 3c9e5c1e-7c1f-5d0c-9a43-1f0e0f5d2a11
      connection_status: Connected
vms:
  description: The VMs waited for that the vault has discovered.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web01
      id: 119e72d6-bb8c-4089-91d0-ff4d7a9a4e27
      item_id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/migrate-rg/providers\
        /Microsoft.RecoveryServices/vaults/migrate-vault/replicationFabrics/hyperv-site\
        /replicationProtectionContainers/cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358\
        /replicationProtectableItems/119e72d6-bb8c-4089-91d0-ff4d7a9a4e27"
      protection_status: Unprotected
missing_hosts:
  description: Hosts not registered to the site(s) when the task ended.
  returned: always
  type: list
  elements: str
  sample: []
disconnected_hosts:
  description: Hosts registered but not C(Connected) when the task ended.
  returned: always
  type: list
  elements: str
  sample: []
missing_vms:
  description: VMs not discovered when the task ended.
  returned: always
  type: list
  elements: str
  sample: []
unpaired_sites:
  description:
    - Sites without a C(Paired) container mapping when the task ended (with O(require_paired)); only the sites of the
      VMs of O(vms) count, or every site searched when O(vms) is empty.
  returned: always
  type: list
  elements: str
  sample: []
refreshed:
  description: The hosts whose provider the task asked to refresh.
  returned: always
  type: list
  elements: str
  sample: [HV01.contoso.local]
"""

import time


from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import name_in_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.setup import (
    describe_missing,
    discovery_done,
    discovery_status,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import is_hyperv_site
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import (
    name_problem,
    problems as option_problems,
    text_problem,
)


def sites_of(client, resource_group, vault_name, site):
    fabrics = [f for f in asr_api.list_fabrics(client, resource_group, vault_name) if is_hyperv_site(f)]
    if site is None:
        return fabrics
    return [f for f in fabrics if site.lower() in ((f.get("name") or "").lower(),
                                                   ((f.get("properties") or {}).get("friendlyName") or "").lower())]


def read(client, resource_group, vault_name, fabrics):
    """The sites' providers, their protectable items, and the sites whose container has no Paired mapping."""
    providers, protectables, unpaired = [], [], []
    containers = asr_api.list_containers(client, resource_group, vault_name)
    mappings = asr_api.list_mappings(client, resource_group, vault_name)
    for fabric in fabrics:
        name = fabric["name"]
        providers.extend(asr_api.list_site_providers(client, resource_group, vault_name, fabric_name=name))
        for container in containers:
            if (name_in_id(container.get("id"), "replicationFabrics") or "").lower() == name.lower():
                protectables.extend(asr_api.list_protectable_items(client, resource_group, vault_name,
                                                                   fabric_name=name,
                                                                   container_name=container["name"]))
        if not any((name_in_id(m.get("id"), "replicationFabrics") or "").lower() == name.lower()
                   and (m.get("properties") or {}).get("state") == "Paired" for m in mappings):
            unpaired.append(name)
    return providers, protectables, unpaired


def refresh_all(task, providers):
    """Ask every connected provider to refresh, and wait for the refresh jobs within the task's deadline; the hosts
    refreshed."""
    refreshed = []
    for provider in providers:
        properties = provider.get("properties") or {}
        if properties.get("connectionStatus") != "Connected":
            continue
        fabric_name = name_in_id(provider.get("id"), "replicationFabrics")
        host = properties.get("friendlyName") or provider.get("name")
        started = asr_api.refresh_provider(*task.args(), fabric_name=fabric_name, provider_name=provider["name"])
        if started.job_name:
            task.wait(started.job_name, "refresh the provider of host '%s'" % host, started.retry_after)
        refreshed.append(host)
    return refreshed


def main():
    module = AzureModule(
        argument_spec=dict(
            site=dict(type="str"),
            hosts=dict(type="list", elements="str", default=[]),
            vms=dict(type="list", elements="str", default=[]),
            refresh=dict(type="bool", default=True),
            require_paired=dict(type="bool", default=False),
            timeout=dict(type="int", default=1200),
            poll_interval=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = []
    for option, least in (("timeout", 1), ("poll_interval", 1)):
        if params[option] < least:
            problems.append("%s is %s; it must be at least %d" % (option, params[option], least))
    problems += option_problems(name_problem("site", params["site"], "site"),
                                *[text_problem("%s[%d]" % (option, index), value) for option in ("hosts", "vms")
                                  for index, value in enumerate(params[option])])
    module.fail_invalid(problems)
    session = module.session("azure-mgmt-recoveryservicessiterecovery")
    client = session.site_recovery()
    resource_group, vault_name = params["resource_group"], params["vault_name"]
    task = module.job_runner(session)
    refreshed, may_refresh = [], params["refresh"] and not module.check_mode
    try:
        fabrics = sites_of(client, resource_group, vault_name, params["site"])
        if not fabrics:
            module.fail_invalid(["site %r is not a Hyper-V site of vault %r" % (params["site"], vault_name)
                                 if params["site"] else "vault %r has no Hyper-V site" % vault_name])
        while True:
            providers, protectables, unpaired = read(client, resource_group, vault_name, fabrics)
            status = discovery_status(params["hosts"], params["vms"], providers, protectables)
            # Only the sites that hold the VMs waited for need a policy (all searched sites when no VM is named).
            needed = set((name_in_id(vm["item_id"], "replicationFabrics") or "").lower() for vm in status["vms"]) \
                if params["vms"] else set(name.lower() for name in unpaired)
            status["unpaired_sites"] = [name for name in unpaired if name.lower() in needed] \
                if params["require_paired"] else []
            status["refreshed"] = refreshed
            if discovery_done(status) and not status["unpaired_sites"]:
                module.exit_json(changed=False, **status)
            if task.clock() >= task.deadline:
                missing = describe_missing(status)
                if status["unpaired_sites"]:
                    missing = "; ".join(filter(None, [missing, "sites without a Paired policy association: %s"
                                                      % ", ".join(status["unpaired_sites"])]))
                module.fail_json(msg="Timed out after %s s waiting for vault %r: %s."
                                     % (params["timeout"], vault_name, missing), **status)
            if may_refresh and status["missing_vms"] and not status["missing_hosts"] \
                    and not status["disconnected_hosts"]:
                refreshed = refresh_all(task, providers)
                may_refresh = False
                continue
            time.sleep(max(0.0, min(params["poll_interval"], task.deadline - task.clock())))
    except AzureModuleError as exc:
        module.fail_json(refreshed=refreshed, **exc.fail_kwargs())


if __name__ == "__main__":
    main()
