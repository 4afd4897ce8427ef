#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: vault_info
short_description: Read a Recovery Services vault's Hyper-V replication infrastructure
version_added: 0.1.0
description:
  - Reads, in five requests whatever the size of the vault, what a Recovery Services vault (the vault of an
    Azure Migrate project, or any Site Recovery vault) knows about Hyper-V to Azure replication - its Hyper-V
    sites, the hosts registered to them with their provider version, connection status and last heartbeat,
    the sites' protection containers, the replication policies and the policies' associations with the sites.
  - Sites of other kinds (VMM servers, VMware) and what belongs to them are left out.
  - Changes nothing.
author:
  - azmigrate.hyperv developers (@azmigrate)
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
  - azmigrate.hyperv.azure_attributes
  - azmigrate.hyperv.azure_attributes.info_module
seealso:
  - module: azmigrate.hyperv.replication_info
  - module: azmigrate.hyperv.replication_policy
"""

EXAMPLES = r"""
- name: Read the vault of the Azure Migrate project
  azmigrate.hyperv.vault_info:
    resource_group: migrate-rg
    vault_name: migrate-vault
  delegate_to: localhost
  run_once: true
  register: vault

- name: Stop when a registered host has lost its connection to the vault
  ansible.builtin.assert:
    that: vault.hosts | rejectattr('connection_status', 'equalto', 'Connected') | list | length == 0
    fail_msg: >-
      Disconnected: {{ vault.hosts | rejectattr('connection_status', 'equalto', 'Connected')
      | map(attribute='name') | join(', ') }}
  run_once: true

- name: Find and read the vault of an Azure Migrate project
  azmigrate.hyperv.vault_info:
    resource_group: migrate-rg
    migrate_project: contoso-migration
  delegate_to: localhost
  run_once: true
  register: project_vault

- name: Every Azure-side task of the play authenticates the same way
  module_defaults:
    group/azmigrate.hyperv.azure:
      auth_source: env
  azmigrate.hyperv.vault_info:
    resource_group: migrate-rg
    vault_name: migrate-vault
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
resource_group:
  description: Resource group of the vault read (with O(migrate_project), the vault's, found from the project).
  returned: success
  type: str
  sample: migrate-rg
vault_name:
  description: Name of the vault read (with O(migrate_project), found from the project).
  returned: success
  type: str
  sample: contoso-migration-MigrateVault-1527336043
sites:
  description: The vault's Hyper-V sites.
  returned: success
  type: list
  elements: dict
  sample:
    - name: ForPowershell
      id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/Arpita-air/providers\
        /Microsoft.RecoveryServices/vaults/h2atest/replicationFabrics/ForPowershell"
      friendly_name: ForPowershell
      internal_id: f3ce4b50-831d-5af4-9c48-dcbc41521358
      health: Normal
      health_errors: []
      hosts:
        - name: IDCLAB-A068.fareast.corp.microsoft.com
          mars_agent_version: 2.0.9202.0
hosts:
  description:
    - The Hyper-V hosts registered to the sites (one Site Recovery provider per host).
    - C(connection_status) is V(Connected) while the host's provider reports to the vault; C(last_heartbeat)
      stops moving when it does not.
  returned: success
  type: list
  elements: dict
  sample:
    - name: HV01.contoso.local
      site: ForPowershell
      provider_name: 3c9e5c1e-7c1f-5d0c-9a43-1f0e0f5d2a11
      provider_id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/Arpita-air/providers\
        /Microsoft.RecoveryServices/vaults/h2atest/replicationFabrics/ForPowershell\
        /replicationRecoveryServicesProviders/3c9e5c1e-7c1f-5d0c-9a43-1f0e0f5d2a11"
      provider_version: 5.24.0902.3
      provider_version_state: Latest
      mars_agent_version: 2.0.9277.0
      connection_status: Connected
      last_heartbeat: "2025-01-06T10:41:00.0000000Z"
      protected_item_count: 12
      health_errors: []
containers:
  description: The sites' protection containers (one per site, named C(cloud_<site internal id>)).
  returned: success
  type: list
  elements: dict
  sample:
    - name: cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358
      id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/Arpita-air/providers\
        /Microsoft.RecoveryServices/vaults/h2atest/replicationFabrics/ForPowershell\
        /replicationProtectionContainers/cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358"
      site: ForPowershell
      pairing_status: Paired
      role: Primary
      protected_item_count: 0
policies:
  description: The vault's replication policies; the three settings are V(null) for policies of other replication providers.
  returned: success
  type: list
  elements: dict
  sample:
    - name: B2APolicyTest1
      id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/Arpita-air/providers\
        /Microsoft.RecoveryServices/vaults/h2atest/replicationPolicies/B2APolicyTest1"
      replication_provider: HyperVReplicaAzure
      recovery_point_retention_hours: 1
      app_consistent_snapshot_frequency_hours: 0
      replication_interval: 30
mappings:
  description: The associations of policies with the sites' containers (container mappings).
  returned: success
  type: list
  elements: dict
  sample:
    - name: B2AClP26mapping
      id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/Arpita-air/providers\
        /Microsoft.RecoveryServices/vaults/h2atest/replicationFabrics/ForPowershell\
        /replicationProtectionContainers/cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358\
        /replicationProtectionContainerMappings/B2AClP26mapping"
      site: ForPowershell
      container: cloud_f3ce4b50-831d-5af4-9c48-dcbc41521358
      policy: B2APolicyTest1
      policy_id: "/Subscriptions/b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c/resourceGroups/Arpita-air/providers\
        /Microsoft.RecoveryServices/vaults/h2atest/replicationPolicies/B2APolicyTest1"
      state: Paired
      health: Normal
      target: Microsoft Azure
"""


from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import api as asr_api
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import vault_overview
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule


def read_vault(client, resource_group, vault_name):
    vault = (client, resource_group, vault_name)
    return vault_overview(asr_api.list_fabrics(*vault), asr_api.list_providers(*vault), asr_api.list_containers(*vault),
                          asr_api.list_policies(*vault), asr_api.list_mappings(*vault))


def main():
    module = AzureModule(
        argument_spec=dict(),
        supports_check_mode=True,
    )
    session = module.session("azure-mgmt-recoveryservicessiterecovery")
    try:
        result = read_vault(session.site_recovery(), module.params["resource_group"], module.params["vault_name"])
    except AzureModuleError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(changed=False, resource_group=module.params["resource_group"],
                     vault_name=module.params["vault_name"], **result)


if __name__ == "__main__":
    main()
