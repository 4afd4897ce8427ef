# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/cluster_check.py,
# which runs on the controller from the play's host variables.

DOCUMENTATION = r"""
---
module: cluster_check
short_description: Check that every node of a Hyper-V failover cluster is prepared alike
version_added: 0.1.0
description:
  - From what M(azmigrate.hyperv.host_info) read on the hosts of the play, lists the nodes of each failover cluster that are
    not in the play (so not prepared), and provider or agent versions that differ between the nodes.
  - Every node needs the provider and agent, registered with the same vault at the same version; a VM that moves to a node
    without them stops replicating.
  - Findings are warnings, or a failure with O(strict_cluster=true).
  - Changes nothing and sends no command to any host; run it once (C(run_once)) after the hosts were read and prepared.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  host_info_var:
    description:
      - Name of the variable that holds each host's M(azmigrate.hyperv.host_info) result (C(register)).
    type: str
    default: hyperv_host_info
  provider_var:
    description:
      - Name of the variable that holds each host's M(azmigrate.hyperv.replication_provider) result; its versions, when
        present, are the ones compared.
    type: str
    default: hyperv_host_provider
  strict_cluster:
    description:
      - Fail instead of warning when a node is missing from the play or the versions differ.
    type: bool
    default: false
extends_documentation_fragment:
  - azmigrate.hyperv.host_action
attributes:
  action:
    description: Runs on the controller only.
    support: full
  check_mode:
    description: Runs in check mode as usual, since it changes nothing.
    support: full
  diff_mode:
    description: Returns no diff, since it changes nothing.
    support: none
notes:
  - With C(serial) batches, a node in a later batch counts as in the play; its versions are compared once it was read.
seealso:
  - module: azmigrate.hyperv.host_info
  - module: azmigrate.hyperv.replication_provider
"""

EXAMPLES = r"""
- name: Read the host
  azmigrate.hyperv.host_info:
  register: hyperv_host_info

- name: Check the clusters of the play
  azmigrate.hyperv.cluster_check:
    strict_cluster: true
  run_once: true
"""

RETURN = r"""
clusters:
  description: Per cluster, its nodes, the nodes missing from the play and the versions of the nodes read.
  returned: always
  type: dict
  sample:
    HVCLU01:
      nodes: [{name: HV02, state: Up}, {name: HV03, state: Up}]
      missing: [HV03]
      versions: {HV02: {provider: 5.24.0902.3, agent: 2.0.9277.0}}
findings:
  description: What is wrong, one sentence each; also returned as warnings, or as the failure message with O(strict_cluster).
  returned: always
  type: list
  elements: str
  sample: ["cluster HVCLU01: node HV03 (state Up) is not in the play, so it is not prepared; ..."]
"""
