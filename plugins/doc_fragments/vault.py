# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Recovery Services vault options that every Site Recovery module takes, documented once."""


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  resource_group:
    description:
      - Resource group of the Recovery Services vault, or of the Azure Migrate project when O(migrate_project) is given.
    type: str
    required: true
  vault_name:
    description:
      - Name of the Recovery Services vault (the Azure Migrate project's replication vault).
      - Exactly one of O(vault_name) and O(migrate_project) is required.
    type: str
  migrate_project:
    description:
      - Name of an Azure Migrate project in O(resource_group) whose replication vault the task works on, instead of
        naming the vault. The vault is the one the project's Server Migration solution
        (C(Servers-Migration-ServerMigration)) names in C(details.extendedDetails.vaultId); it may be in another
        resource group.
      - The task fails, naming the project, when the project has no such vault yet (its replication infrastructure
        has not been created).
    type: str
notes:
  - With O(migrate_project), the vault is read from C(details.extendedDetails.vaultId) of the project's Server Migration
    solution, where Az.Migrate reads it for agentless VMware migration. That Hyper-V projects name their vault in the
    same field is an assumption, not confirmed by Microsoft's documentation; give O(vault_name) when it does not hold.
"""
