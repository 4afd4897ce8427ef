# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options naming the one Hyper-V VM a per-VM Site Recovery module works on, documented once."""


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  name:
    description:
      - The Hyper-V VM, by name or by its VM id (GUID). Names are matched case-insensitively; a name that several
        hosts use must be given as the VM id.
    type: str
    required: true
  site:
    description: Hyper-V site (replication fabric) of the VM; by default every site of the vault is searched.
    type: str
"""
