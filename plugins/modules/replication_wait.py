#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: replication_wait
short_description: Wait, bounded, until a wave's Hyper-V VMs finished their initial replication, printing progress
version_added: 0.2.0
description:
  - Reads the wave's VMs in one listing of the vault (as M(azmigrate.hyperv.replication_info) does) every
    O(poll_interval) seconds until no VM of O(vms) is still enabling or in initial replication, or O(timeout) seconds
    passed.
  - While it waits, the task prints one progress line per VM every O(progress_seconds) - state, initial replication
    progress, health, RPO - on the controller's output, and as C(verbose) events under ansible-runner and AWX. It runs
    in rounds of that length, one flat loop bounded by O(timeout), whatever the number of polls.
  - A VM whose replication failed (its enable job failed, or replication stopped with a critical error) is not waited
    for. The task fails at the end naming each failed VM with its error and the recommended action, and the VMs the
    timeout left in initial replication or that the vault does not replicate.
  - A read that fails (Azure throttles or cannot be reached) is one more poll, not the end of the wait; a progress
    report with no read that succeeded is tried again at the next one, at most three times in a row.
  - Changes nothing.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  vms:
    description: The wave's VMs, by Hyper-V VM name, VM id or replicated item name (case-insensitive).
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds to wait in all (at least 1). Replication goes on in Azure after it; a re-run waits again.
    type: int
    default: 86400
  poll_interval:
    description: Seconds between the starts of two reads of the vault (fractions allowed, at least 0.05).
    type: float
    default: 60
  progress_seconds:
    description: Seconds between two progress reports (one line per VM still waiting, and one when it ends); at least 1.
    type: int
    default: 60
  round_seconds:
    description:
      - Return after this many seconds (once the next read is due) with RV(finished=false) when VMs are still in
        initial replication; by default the task waits until no VM is, or O(timeout) passed.
    type: int
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - azmigrate.hyperv.vault
  - azmigrate.hyperv.azure_auth.action_group
attributes:
  check_mode:
    description: Runs in check mode, and reads and waits as usual since it changes nothing.
    support: full
  diff_mode:
    description: Returns no diff, since it changes nothing.
    support: none
  platform:
    description: Runs where the task runs (the controller); talks to Azure Resource Manager over HTTPS.
    platforms: posix
    support: full
notes:
  - Each read is one listing of the vault's protected items and one of its providers (each paged), plus one request
    per VM whose current operation names a job, whatever the number of VMs.
seealso:
  - module: azmigrate.hyperv.replication_info
  - name: Long waits and their progress lines
    description: docs/waves.md
    link: https://github.com/azmigrate/hyperv/blob/main/docs/waves.md
"""

EXAMPLES = r"""
- name: Wait up to a day for the wave's initial replication, reading every minute, reporting every 10 minutes
  azmigrate.hyperv.replication_wait:
    resource_group: migrate-rg
    vault_name: migrate-vault
    vms: [web01, web02, db01]
    timeout: 86400
    poll_interval: 60
    progress_seconds: 600
  delegate_to: localhost
  run_once: true
  register: wave_replication
"""

RETURN = r"""
finished:
  description: Whether no VM is still enabling or in initial replication (each is protected, failed or gone further).
  returned: success
  type: bool
  sample: true
vms:
  description:
    - The wave's VMs as M(azmigrate.hyperv.replication_info) reports them (RV(azmigrate.hyperv.replication_info#module:vms)),
      each with C(progress_line), at the last read.
  returned: success
  type: list
  elements: dict
  sample:
    - vm_name: web01
      state: protected
      health: Normal
      progress_line: "web01: protected 100% health Normal, RPO 300 s"
missing:
  description: VMs of O(vms) that the vault does not replicate.
  returned: success
  type: list
  elements: str
  sample: []
polls:
  description: How many times the vault was read.
  returned: success
  type: int
  sample: 1440
rounds:
  description: How many progress reports the task made (the times it ran its module).
  returned: success
  type: int
  sample: 144
read_errors:
  description: How many reads failed (and were retried at the next poll).
  returned: success
  type: int
  sample: 0
last_error:
  description: Why the last read failed, when it did (Azure's error); V(null) when it succeeded.
  returned: success
  type: str
  sample: null
elapsed_seconds:
  description: Seconds the task waited.
  returned: success
  type: float
  sample: 5403.2
"""

import time

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.fleet import read_fleet
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import filter_items
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_module import AzureModule
from ansible_collections.azmigrate.hyperv.plugins.module_utils._replication_wait import (
    MIN_POLL_INTERVAL, missing_names, progress_line, settled, verdict,
)


def main():
    module = AzureModule(
        argument_spec=dict(
            vms=dict(type="list", elements="str", required=True),
            timeout=dict(type="int", default=86400), poll_interval=dict(type="float", default=60),
            progress_seconds=dict(type="int", default=60), round_seconds=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = [f"{option} is {params[option]}; it must be at least {least}"
                for option, least in (("timeout", 1), ("poll_interval", MIN_POLL_INTERVAL), ("progress_seconds", 1),
                                      ("round_seconds", 1))
                if params[option] is not None and params[option] < least]
    if not params["vms"]:
        problems.append("vms is empty; it must name at least one VM")
    module.fail_invalid(problems)
    started = time.monotonic()
    deadline = started + params["timeout"]
    round_end = min(deadline, started + params["round_seconds"]) if params["round_seconds"] else deadline
    client = module.session("azure-mgmt-recoveryservicessiterecovery").site_recovery()
    vms, polls, read_errors, last_error, time_up = None, 0, 0, None, False
    while True:
        poll_started = time.monotonic()
        polls += 1
        try:
            vms = filter_items(read_fleet(client, params["resource_group"], params["vault_name"]), names=params["vms"])
            last_error = None
        except AzureModuleError as exc:   # a throttled or unreachable Azure is one more poll
            read_errors += 1
            last_error = exc.fail_kwargs().get("msg") or str(exc)
        if vms is not None and settled(params["vms"], vms):
            break
        next_poll = poll_started + params["poll_interval"]
        time_up = next_poll > deadline
        if time_up:
            break
        time.sleep(max(0.0, next_poll - time.monotonic()))
        if next_poll >= round_end:   # the round is over when its next read is due: the next round reads at once
            break
    elapsed = time.monotonic() - started
    if vms is None:   # no read of this run succeeded: nothing is known of the wave
        module.fail_json(msg=f"Reading the vault failed at each of {polls} read(s): {last_error}", polls=polls,
                         read_errors=read_errors, last_error=last_error, elapsed_seconds=round(elapsed, 1))
    for vm in vms:
        vm["progress_line"] = progress_line(vm)
    finished = bool(vms) and settled(params["vms"], vms)
    result = dict(changed=False, finished=finished, vms=vms, missing=missing_names(params["vms"], vms), polls=polls,
                  rounds=1, read_errors=read_errors, last_error=last_error, elapsed_seconds=round(elapsed, 1))
    if finished or time_up:   # the wait is over: its verdict
        message = verdict(params["vms"], vms, elapsed, last_error)
        if message:
            module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
