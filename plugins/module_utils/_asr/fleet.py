# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The replicated VMs of a vault as replication_info reports them, for the module, the inventory plugin
(azmigrate.hyperv.replicated_vms) and the event source (azmigrate.hyperv.replication_events).

``read_fleet`` costs two paged listings whatever the number of VMs - the vault's providers (host names)
and its protected items, one request per page of 100 - plus one GET per VM whose current scenario names a
job (whether that job still runs is in the job, not in the item). ``find_vault`` reads which vault an
Azure Migrate project replicates to without a module (``_asr.vault.resolve_vault`` is the module's way).
``plan_waves`` maps VM names to the waves of a replication plan (azmigrate.hyperv.replication_plan,
playbooks/plan.yml's plan.yml or plan-full.yml). ``ready_for_cutover`` says which VMs can be migrated now.
``vm_changes`` and ``waves_ready`` compare two readings (the event source); ``resync_action`` and
``start_resync`` are azmigrate.hyperv.replication_resync's.
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.api import (
    get_migrate_solution,
    list_protected_items,
    list_providers,
    start_operation,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import normalize_item
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import (
    SERVER_MIGRATION_SOLUTION,
    hosts_by_provider,
    vault_from_solution,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError, azure_operation


def _target_tags(item):
    details = ((item or {}).get("properties") or {}).get("providerSpecificDetails") or {}
    return dict(details.get("targetVmTags") or {})


def read_fleet(client, resource_group, vault_name):
    """Every replicated VM of the vault, normalised (_asr.transform.normalize_item) with ``target.tags`` (the tags the
    Azure VM gets), sorted by VM name. Raises AzureModuleError."""
    hosts = hosts_by_provider(list_providers(client, resource_group, vault_name))
    vms = []
    for item in list_protected_items(client, resource_group, vault_name, with_jobs=True):
        vm = normalize_item(item, hosts)
        vm["target"]["tags"] = _target_tags(item)
        vms.append(vm)
    return sorted(vms, key=lambda vm: ((vm["vm_name"] or "").lower(), vm["name"]))


def find_vault(session, resource_group, project):
    """(resource group, vault name) of the vault Azure Migrate project ``project`` replicates to.

    Raises AzureModuleError naming the project when it, or its Server Migration solution, is missing or names no
    vault yet (the same rule as _asr.vault.resolve_vault).
    """
    solution = get_migrate_solution(session.site_recovery(), session.subscription_id, resource_group,
                                    project, SERVER_MIGRATION_SOLUTION)
    found = vault_from_solution(solution) if solution else None
    if found is None:
        raise AzureModuleError(
            f"find the Recovery Services vault of Azure Migrate project '{project}' in resource group '{resource_group}'",
            f"the project or its {SERVER_MIGRATION_SOLUTION} solution was not found" if solution is None
            else f"its {SERVER_MIGRATION_SOLUTION} solution has no vaultId",
            recommended_action="Create the project's replication infrastructure (in the portal, Servers, databases and "
                               "web apps > Discover > Hyper-V > Create resources), or give vault_name instead.")
    return tuple(found)


def plan_waves(plan):
    """{lower-case VM name: wave name} from a replication plan document.

    Accepts the C(waves) list of replication_plan (plan.yml and plan-full.yml, each wave with C(name) and C(vms)),
    or the plan result itself. A VM in no wave is absent. Raises ValueError when the document has no waves list.
    """
    waves = (plan or {}).get("waves") if isinstance(plan, dict) else None
    if not isinstance(waves, list):
        raise ValueError("it has no 'waves' list (write it with playbooks/plan.yml or azmigrate.hyperv.replication_plan)")
    by_vm = {}
    for wave in waves:
        if not isinstance(wave, dict) or not wave.get("name"):
            raise ValueError(f"a wave has no 'name': {wave!r}")
        for vm in wave.get("vms") or []:
            by_vm[str(vm).lower()] = str(wave["name"])
    return by_vm


def wave_of(vm, waves_by_vm, wave_tag=None):
    """The VM's wave: from the plan (by VM name), else from its target tag ``wave_tag``; None when neither says."""
    wave = (waves_by_vm or {}).get((vm.get("vm_name") or "").lower())
    if wave is None and wave_tag:
        tags = dict(((key or "").lower(), value) for key, value in ((vm.get("target") or {}).get("tags") or {}).items())
        wave = tags.get(wave_tag.lower()) or None
    return wave


def ready_for_cutover(vm):
    """True when the VM can be migrated now: initial replication done, replicating, no job running on it."""
    return vm.get("state") == "protected"


def error_codes(vm):
    """The VM's health error codes, sorted, as the identity of its error situation."""
    return sorted(set(str(error.get("code")) for error in vm.get("errors") or []))


def vm_summary(vm, wave=None):
    """The part of a VM an event carries."""
    return {"name": vm.get("name"), "vm_name": vm.get("vm_name"), "host": vm.get("host"), "site": vm.get("site"),
            "state": vm.get("state"), "health": vm.get("health"), "errors": vm.get("errors") or [],
            "failure": vm.get("failure"), "current_operation": vm.get("current_operation"),
            "initial_replication": vm.get("initial_replication"), "rpo_seconds": vm.get("rpo_seconds"),
            "allowed_operations": vm.get("allowed_operations") or [], "wave": wave,
            "ready_for_cutover": ready_for_cutover(vm)}


def _completed(vm):
    return bool((vm.get("initial_replication") or {}).get("completed"))


def vm_changes(before, after):
    """Events (type, previous) for one VM between two readings; ``before`` None when the VM is new.

    Types: V(state_changed), V(health_changed), V(errors_changed) (the set of health error codes changed),
    V(initial_replication_finished).
    """
    if before is None:
        return [("state_changed", {"state": None, "health": None, "error_codes": []})]
    previous = {"state": before.get("state"), "health": before.get("health"), "error_codes": error_codes(before)}
    changes = []
    if before.get("state") != after.get("state"):
        changes.append(("state_changed", previous))
    if (before.get("health") or "None") != (after.get("health") or "None"):
        changes.append(("health_changed", previous))
    if error_codes(before) != error_codes(after):
        changes.append(("errors_changed", previous))
    if not _completed(before) and _completed(after):
        changes.append(("initial_replication_finished", previous))
    return changes


def waves_ready(vms, waves_by_vm, wave_tag=None):
    """{wave: sorted VM names} of the waves whose every VM is ready for cutover.

    A plan's wave is ready only when every VM the plan puts in it is replicated and ready (a VM the vault does not
    list yet holds its wave back); a wave known only from tags, when every VM tagged with it is ready.
    """
    members = {}
    for vm in vms:
        wave = wave_of(vm, waves_by_vm, wave_tag)
        if wave is not None:
            members.setdefault(wave, []).append(vm)
    planned = {}
    for name, wave in (waves_by_vm or {}).items():
        planned.setdefault(wave, set()).add(name)
    ready = {}
    for wave, wave_vms in members.items():
        present = set((vm.get("vm_name") or "").lower() for vm in wave_vms)
        if planned.get(wave, set()) <= present and all(ready_for_cutover(vm) for vm in wave_vms):
            ready[wave] = sorted(vm.get("vm_name") or vm.get("name") for vm in wave_vms)
    return ready


RESYNC_OPERATION = "RepairReplication"


def resync_action(vm):
    """What a resynchronisation of ``vm`` means now: V(resync) (the service allows RepairReplication),
    V(running) (a RepairReplication job runs) or V(not_needed)."""
    operation = vm.get("current_operation") or {}
    if operation.get("name") == RESYNC_OPERATION and operation.get("job_state") in ("NotStarted", "InProgress", None) \
            and operation.get("job_name"):
        return "running"
    if RESYNC_OPERATION in (vm.get("allowed_operations") or []):
        return "resync"
    return "not_needed"


@azure_operation("start the resynchronisation of replicated VM '{vm_name}' in vault '{vault_name}'")
def start_resync(client, resource_group, vault_name, site, container, item_name, vm_name):
    return start_operation(client.replication_protected_items.begin_repair_replication, resource_group, vault_name,
                           site, container, item_name)
