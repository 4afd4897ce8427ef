# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event-Driven Ansible source: changes of the replicated Hyper-V VMs of a Recovery Services vault.

Polls the vault's replicated VMs - one paged listing per interval, as azmigrate.hyperv.replication_info reads them -
and puts an event on the queue when a VM's state, health or health errors change, when its initial replication
finishes, and when every VM of a wave is ready for cutover.
"""

DOCUMENTATION = r"""
---
short_description: Changes of the replicated Hyper-V VMs of a Recovery Services vault
description:
  - Reads every replicated VM of the vault each O(interval) seconds with one paged listing of its replicated VMs (one
    request per 100 VMs) and one of its registered hosts, plus one request per VM whose current operation names a job,
    as the module azmigrate.hyperv.replication_info does.
  - "Puts one event on the queue per change, each as C({azmigrate: {type, vault, resource_group, vm, previous}}):
    C(state_changed) (also for a VM that starts replicating, with C(previous.state) null), C(health_changed),
    C(errors_changed) (the set of health error codes changed), C(initial_replication_finished), C(vm_removed);
    and C(wave_ready_for_cutover) (with C(wave) and C(vms)) when every VM of a wave became ready for cutover
    (state C(protected)). C(vm) carries the VM's name, host, site, state, health, errors, failure, current operation,
    initial replication, RPO, allowed operations, wave and C(ready_for_cutover)."
  - The first reading is the baseline and emits nothing unless O(initial_events) is true.
  - Throttling (HTTP 429) and server errors are retried inside a reading, honouring Retry-After; a reading that still
    fails emits one C(poll_failed) event (with C(message)) per run of failures and is tried again after the longer
    of O(interval) and the Retry-After the service sent.
options:
  resource_group:
    description: Resource group of the vault, or of the Azure Migrate project with O(migrate_project).
    type: str
    required: true
  vault_name:
    description: Name of the Recovery Services vault; exactly one of O(vault_name) and O(migrate_project).
    type: str
  migrate_project:
    description: Azure Migrate project whose replication vault to watch (as the modules' option of the same name).
    type: str
  interval:
    description:
      - Seconds between readings. Each costs one request per 100 VMs; with ARM's read limit of 250 requests and
        25 more per second per principal, keep it at 60 or more for vaults of thousands of VMs.
    type: int
    default: 300
  plan_file:
    description: A replication plan with a C(waves) list (playbooks/plan.yml's plan.yml), for the wave events.
    type: path
  wave_tag:
    description: The target VM tag that names the wave of a VM the plan does not place; empty to ignore tags.
    type: str
    default: wave
  initial_events:
    description: Emit C(state_changed) for every VM, and C(wave_ready_for_cutover) for ready waves, on the first reading.
    type: bool
    default: false
notes:
  - The source also takes the authentication options of the collection's Azure modules (C(auth_source),
    C(subscription_id), C(client_id), C(secret), C(tenant), C(cloud_environment), C(ca_cert), ...; see the
    azmigrate.hyperv.azure_auth documentation fragment) next to the options above; the same E(AZURE_*) environment
    variables, C(~/.azure/credentials) profiles, managed identity and Azure CLI login apply. Keep secrets out of
    rulebooks - use the environment (an AAP credential) instead.
requirements:
  - azure-identity, azure-core and azure-mgmt-core, as the collection's modules (requirements.txt)
"""

EXAMPLES = r"""
- name: Watch the migration vault
  hosts: localhost
  sources:
    - azmigrate.hyperv.replication_events:
        resource_group: migrate-rg
        vault_name: migrate-vault
        interval: 120
        plan_file: /runner/plan-output/plan.yml
  rules:
    - name: Resynchronise a VM whose health turned Critical
      condition: >-
        event.azmigrate.type == "health_changed" and event.azmigrate.vm.health == "Critical"
        and event.azmigrate.vm.allowed_operations contains "RepairReplication"
      action:
        run_module:
          name: azmigrate.hyperv.replication_resync
          module_args:
            resource_group: "{{ event.azmigrate.resource_group }}"
            vault_name: "{{ event.azmigrate.vault }}"
            names: ["{{ event.azmigrate.vm.name }}"]
    - name: Announce a wave ready for cutover
      condition: event.azmigrate.type == "wave_ready_for_cutover"
      action:
        debug:
          msg: "{{ event.azmigrate.wave }}: {{ event.azmigrate.vms | join(', ') }}"
"""

import asyncio
import logging
import os
import re
import sys
from typing import Any

try:
    from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import fleet as replication_fleet
except ImportError:
    # ansible-rulebook loads a source by its file path; the collection's modules are then importable from the
    # collections directory that holds it: <path>/ansible_collections/azmigrate/hyperv/extensions/eda/plugins/...
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 7)))
    from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import fleet as replication_fleet

from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_auth import AZURE_AUTH_ARGSPEC
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import AzureSession
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError

logger = logging.getLogger(__name__)

SOURCE_OPTIONS = ("resource_group", "vault_name", "migrate_project", "interval", "plan_file", "wave_tag",
                  "initial_events")
DEFAULT_INTERVAL_S = 300
RETRY_AFTER = re.compile(r"Retry-After: (\d+(?:\.\d+)?) s")


class SourceSettings:
    """The source's arguments, checked: every problem names the argument, its value and what is allowed."""

    def __init__(self, args: dict[str, Any]):
        unknown = sorted(set(args) - set(SOURCE_OPTIONS) - set(AZURE_AUTH_ARGSPEC))
        if unknown:
            raise ValueError("replication_events: unknown argument(s) %s; allowed: %s"
                             % (", ".join(unknown), ", ".join(SOURCE_OPTIONS + tuple(AZURE_AUTH_ARGSPEC))))
        self.resource_group = args.get("resource_group")
        self.vault_name = args.get("vault_name")
        self.migrate_project = args.get("migrate_project")
        if not self.resource_group:
            raise ValueError("replication_events: resource_group is required")
        if bool(self.vault_name) == bool(self.migrate_project):
            raise ValueError("replication_events: give exactly one of vault_name and migrate_project (vault_name=%r, "
                             "migrate_project=%r)" % (self.vault_name, self.migrate_project))
        interval = args.get("interval", DEFAULT_INTERVAL_S)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 1:
            raise ValueError("replication_events: interval is %r; it must be a number of seconds, at least 1" % (interval,))
        self.interval = float(interval)
        self.wave_tag = args.get("wave_tag", "wave")
        self.initial_events = bool(args.get("initial_events", False))
        self.waves_by_vm = self._plan(args.get("plan_file"))
        self.auth = dict((name, args.get(name)) for name in AZURE_AUTH_ARGSPEC)

    @staticmethod
    def _plan(path):
        if not path:
            return {}
        import yaml   # ansible-rulebook and ansible-core both bring PyYAML
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as handle:
                return replication_fleet.plan_waves(yaml.safe_load(handle))
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise ValueError("replication_events: plan_file %s cannot be read as a replication plan: %s" % (path, exc))


class VaultWatch:
    """The vault's previous reading and the events between it and the next."""

    def __init__(self, settings: SourceSettings):
        self.settings = settings
        self.session = None
        self.resource_group, self.vault = settings.resource_group, settings.vault_name
        self.previous = None          # {item name: vm} of the last reading
        self.previous_ready = {}      # {wave: vm names} ready at the last reading

    def read(self) -> list[dict]:
        """One reading (blocking: run it in a thread). Raises AzureModuleError."""
        if self.session is None:
            self.session = AzureSession.from_params(self.settings.auth)
        if self.vault is None:
            self.resource_group, self.vault = replication_fleet.find_vault(self.session, self.resource_group,
                                                                           self.settings.migrate_project)
        return replication_fleet.read_fleet(self.session.site_recovery(), self.resource_group, self.vault)

    def event(self, kind: str, **fields) -> dict:
        return {"azmigrate": dict(type=kind, vault=self.vault, resource_group=self.resource_group, **fields)}

    def changes(self, vms: list[dict]) -> list[dict]:
        """Events between the previous reading and ``vms``; ``vms`` becomes the previous reading."""
        settings = self.settings
        current = dict((vm["name"], vm) for vm in vms)
        ready = replication_fleet.waves_ready(vms, settings.waves_by_vm, settings.wave_tag)
        events = []
        first = self.previous is None
        if not first or settings.initial_events:
            before = self.previous or {}
            for name, vm in current.items():
                wave = replication_fleet.wave_of(vm, settings.waves_by_vm, settings.wave_tag)
                for kind, previous in replication_fleet.vm_changes(before.get(name), vm):
                    events.append(self.event(kind, vm=replication_fleet.vm_summary(vm, wave), previous=previous))
            for name in sorted(set(before) - set(current)):
                gone = before[name]
                events.append(self.event("vm_removed", vm=replication_fleet.vm_summary(gone), previous={
                    "state": gone.get("state"), "health": gone.get("health"),
                    "error_codes": replication_fleet.error_codes(gone)}))
            for wave in sorted(set(ready) - set(self.previous_ready)):
                events.append(self.event("wave_ready_for_cutover", wave=wave, vms=ready[wave]))
        self.previous, self.previous_ready = current, ready
        return events


def retry_after_s(exc: AzureModuleError) -> float:
    """The Retry-After the service sent with a failure that outlasted the retries, or 0."""
    found = RETRY_AFTER.search(str(exc))
    return float(found.group(1)) if found else 0.0


async def replication_events(args: dict[str, Any], sleep=asyncio.sleep):
    """The source's events, as an async generator: one reading per interval, then its events."""
    settings = SourceSettings(args)
    watch = VaultWatch(settings)
    failing = False
    while True:
        wait = settings.interval
        try:
            vms = await asyncio.to_thread(watch.read)
        except AzureModuleError as exc:
            logger.warning("replication_events: reading vault %s failed: %s", watch.vault or settings.migrate_project, exc)
            if not failing:
                yield watch.event("poll_failed", message=str(exc), status=exc.status)
            failing = True
            wait = max(wait, retry_after_s(exc))
        else:
            failing = False
            for event in watch.changes(vms):
                yield event
        await sleep(wait)


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """Entry point of ansible-rulebook."""
    async for event in replication_events(args):
        await queue.put(event)


if __name__ == "__main__":
    # Run by hand: python replication_events.py RESOURCE_GROUP VAULT (credentials from the AZURE_* variables).
    class PrintQueue(asyncio.Queue):
        async def put(self, item):
            print(item, flush=True)

    asyncio.run(main(PrintQueue(), {"resource_group": sys.argv[1], "vault_name": sys.argv[2], "interval": 60}))
