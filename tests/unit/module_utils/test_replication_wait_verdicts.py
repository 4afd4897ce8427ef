"""The wait for a wave's initial replication (module_utils/_replication_wait.py): when it is over, each VM's line,
and the verdict naming every failed, still waiting and missing VM."""

from __future__ import annotations

from ansible_collections.azmigrate.hyperv.plugins.module_utils._replication_wait import (
    missing_names, progress_line, settled, verdict,
)


def vm(name, state, percent=0, health="Normal", rpo=None, failure=None, vm_id=None):
    return {"vm_name": name, "name": f"item-{name}", "vm_id": vm_id or f"id-{name}", "state": state, "health": health,
            "rpo_seconds": rpo, "initial_replication": {"progress_percent": percent}, "failure": failure}


def test_a_line_per_vm_gives_state_progress_health_and_rpo_once_known():
    assert progress_line(vm("web01", "initial_replication", 42)) == "web01: initial_replication 42% health Normal"
    assert progress_line(vm("web01", "protected", 100, rpo=300)) == "web01: protected 100% health Normal, RPO 300 s"
    assert progress_line(vm("db01", "failed", None, "Critical")) == "db01: failed 0% health Critical"


def test_the_wait_is_over_when_every_vm_was_found_and_none_is_still_enabling_or_copying():
    names = ["web01", "ID-DB01"]
    assert missing_names(names, [vm("web01", "protected")]) == ["ID-DB01"]
    assert not settled(names, [vm("web01", "protected")])
    assert not settled(names, [vm("web01", "protected"), vm("db01", "enabling")])
    assert not settled(names, [vm("web01", "in_progress"), vm("db01", "protected")])
    assert settled(names, [vm("web01", "protected"), vm("db01", "failed")])


def test_the_verdict_names_each_failed_vm_with_its_error_and_action_then_what_the_timeout_left():
    failure = {"code": "70094", "message": "Protection couldn't be enabled", "recommended_action": "Resolve the error"}
    vms = [vm("web01", "protected"), vm("db01", "failed", failure=failure), vm("app01", "initial_replication", 12)]
    message = verdict(["web01", "db01", "app01", "gone01"], vms, 901.7)
    assert message == ("Replication failed for 1 VM(s): db01 (70094: Protection couldn't be enabled; Resolve the error). "
                       "After 901 s, 1 VM(s) are still in initial replication (app01) and 1 VM(s) are not replicated "
                       "(gone01); replication goes on in Azure: re-run with a longer timeout to wait.")
    assert verdict(["db01"], [vm("db01", "failed")], 5) == \
        "Replication failed for 1 VM(s): db01 (no code: see its health errors)."
    assert verdict(["web01"], [vm("web01", "protected")], 5) is None
    assert verdict(["web01"], [], 60, "429 Too Many Requests").endswith("The last read failed: 429 Too Many Requests")
