# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Recovery Services vault options that every Site Recovery module takes, documented once."""


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  resource_group:
    description: Resource group of the Recovery Services vault.
    type: str
    required: true
  vault_name:
    description: Name of the Recovery Services vault (the Azure Migrate project's replication vault).
    type: str
    required: true
"""
