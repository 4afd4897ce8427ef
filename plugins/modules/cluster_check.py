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
  - From what M(azmigrate.hyperv.host_info) read on the hosts of the play, compares the provider and agent versions of the
    nodes of each failover cluster, and lists the nodes this run did not check.
  - The members of a cluster come from the cluster itself (host_info reads them with C(Get-ClusterNode) on each node), not
    from the play's host list. A node that is not a host of this run (left out by C(--limit) or the inventory, or in another
    slice of an AWX sliced job) is reported as not checked in this run (C(not_checked) in RV(clusters)), never as prepared and
    never as known to be unprepared; so is a node that failed earlier in the play.
  - Every node needs the provider and agent, registered with the same vault at the same version; a VM that moves to a node
    without them stops replicating.
  - Findings are warnings, or a failure with O(strict_cluster=true).
  - Its inputs are checked first. The task fails, naming the option, the host and what it holds, when no host of the
    current batch has the variable O(host_info_var) names, when one host of the batch lacks it, when a value is not a
    host_info result (a string, a skipped or failed task's result, a result passed instead of a variable name), or when
    O(provider_var) is given and holds something other than a M(azmigrate.hyperv.replication_provider) result. It never
    passes having checked nothing.
  - Changes nothing and sends no command to any host; run it once (C(run_once)) after the hosts were read and prepared.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  host_info_var:
    description:
      - Name of the variable that holds each host's M(azmigrate.hyperv.host_info) result (C(register)), not the result
        itself.
      - Every host of the current batch must hold it.
    type: str
    default: hyperv_host_info
  provider_var:
    description:
      - Name of the variable that holds each host's M(azmigrate.hyperv.replication_provider) result; its versions, when
        present, are the ones compared. A skipped or failed result counts as absent, and the versions host_info read are
        compared.
      - When it names another variable than the default, at least one host read by this run must hold it.
    type: str
    default: hyperv_host_provider
  strict_cluster:
    description:
      - Fail instead of warning when a node was not checked in this run or the versions differ.
      - With AWX job slicing, a slice holds only some nodes of a cluster, so this fails in every slice that does not hold
        them all; run the check in a job that holds every node of each cluster, or leave this false and read the warnings.
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
  - With C(serial) batches, a node in a later batch is C(pending) in RV(clusters) rather than not checked; its versions are
    compared once its batch was read.
  - The cluster's node list is only as complete as C(Get-ClusterNode) on the nodes read; a node whose cluster service does
    not run reports no cluster.
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
checked_hosts:
  description: The inventory names of the hosts whose host_info result was compared.
  returned: success
  type: list
  elements: str
  sample: [HV02]
clusters:
  description:
    - Per cluster, its nodes (from C(Get-ClusterNode)); C(checked), the nodes compared; C(pending), nodes of a later
      serial batch; C(not_checked), the nodes this run did not check, each with its state and why; C(missing), the names
      of the not-checked nodes that are not hosts of this run; C(versions), the versions of the nodes checked.
  returned: success
  type: dict
  sample:
    HVCLU01:
      nodes: [{name: HV02, state: Up}, {name: HV03, state: Up}]
      checked: [HV02]
      pending: []
      not_checked: [{name: HV03, state: Up, reason: "not a host of this run (left out by --limit or the inventory, ...)"}]
      missing: [HV03]
      versions: {HV02: {provider: 5.24.0902.3, agent: 2.0.9277.0}}
findings:
  description: What is wrong, one sentence each; also returned as warnings, or as the failure message with O(strict_cluster).
  returned: success
  type: list
  elements: str
  sample: ["cluster HVCLU01: node HV03 (state Up) was not checked in this run: it is not a host of this run ..."]
"""
