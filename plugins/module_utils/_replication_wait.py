# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The wait for a wave's initial replication, as pure functions of the VMs replication_info reports: when the wait
is over, each VM's progress line, and the verdict naming every failed, still waiting or missing VM. Used by the
module replication_wait (each poll) and its action plugin (the verdict over all rounds); tested in
tests/unit/module_utils/test_replication_wait_verdicts.py."""

from __future__ import annotations

WAITING_STATES = ("enabling", "initial_replication", "in_progress")
MIN_POLL_INTERVAL = 0.05


def progress_line(vm: dict) -> str:
    """"web01: initial_replication 42% health Normal" (and the RPO once Azure reports one)."""
    percent = (vm.get("initial_replication") or {}).get("progress_percent") or 0
    rpo = f", RPO {vm['rpo_seconds']} s" if vm.get("rpo_seconds") else ""
    return f"{vm.get('vm_name')}: {vm.get('state')} {percent}% health {vm.get('health')}{rpo}"


def missing_names(names: list[str], vms: list[dict]) -> list[str]:
    """The names of ``names`` that match no VM of ``vms`` (by VM name, item name or VM id, case-insensitive)."""
    known = {(value or "").lower() for vm in vms for value in (vm.get("vm_name"), vm.get("name"), vm.get("vm_id"))}
    return [name for name in names if name.lower() not in known]


def settled(names: list[str], vms: list[dict]) -> bool:
    """No VM of the wave still waits, and every one was found."""
    return not missing_names(names, vms) and not any(vm["state"] in WAITING_STATES for vm in vms)


def failure_text(vm: dict) -> str:
    """"sql01 (70094: Protection couldn't be enabled ...; Resolve the Hyper-V error ...)"."""
    failure = vm.get("failure") or {}
    action = "; " + failure["recommended_action"] if failure.get("recommended_action") else ""
    return (f"{vm.get('vm_name')} ({failure.get('code') or 'no code'}: "
            f"{failure.get('message') or 'see its health errors'}{action})")


def verdict(names: list[str], vms: list[dict], elapsed: float, last_error: str | None = None) -> str | None:
    """The wait's verdict once it is over: None when every VM of ``names`` replicates, else one message naming each
    failed VM with its error, the VMs still in initial replication and the VMs not replicated."""
    parts = []
    failed = [vm for vm in vms if vm["state"] == "failed"]
    if failed:
        parts.append(f"Replication failed for {len(failed)} VM(s): {'; '.join(failure_text(vm) for vm in failed)}.")
    pending = [vm["vm_name"] for vm in vms if vm["state"] in WAITING_STATES]
    missing = missing_names(names, vms)
    left = [f"{len(pending)} VM(s) are still in initial replication ({', '.join(pending)})"] if pending else []
    left += [f"{len(missing)} VM(s) are not replicated ({', '.join(missing)})"] if missing else []
    if left:
        parts.append(f"After {int(elapsed)} s, {' and '.join(left)}; replication goes on in Azure: "
                     "re-run with a longer timeout to wait.")
    if last_error:
        parts.append(f"The last read failed: {last_error}")
    return " ".join(parts) or None
