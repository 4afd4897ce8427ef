"""replication_info's JMESPath ``query`` option against a small lab vault (tests/integration/fleet_lab.py)."""

from __future__ import annotations

import pytest

import azure_lab
from fleet_lab import FAILED_VM, fleet_lab, vm_names  # noqa: F401  pylint: disable=unused-import

pytestmark = pytest.mark.lab
VAULT_ARGS = {"resource_group": azure_lab.RESOURCE_GROUP, "vault_name": azure_lab.VAULT}


def test_query_result_next_to_the_vms(fleet_lab, tmp_path):
    args = dict(VAULT_ARGS, query="[?health=='Critical'].vm_name")
    run = azure_lab.run_module(fleet_lab, "replication_info", args, tmp=tmp_path)
    assert run.rc == 0, run.output
    assert run.result["query_result"] == [FAILED_VM]
    assert len(run.result["vms"]) == run.result["summary"]["total"] == 2 * len(vm_names("HVA01"))
    args = dict(VAULT_ARGS, hosts=["HVA01"], query="length([?state=='protected'])")
    run = azure_lab.run_module(fleet_lab, "replication_info", args, tmp=tmp_path)
    assert run.result["query_result"] == len(vm_names("HVA01"))


def test_no_query_no_query_result(fleet_lab, tmp_path):
    run = azure_lab.run_module(fleet_lab, "replication_info", dict(VAULT_ARGS, names=["hva01-vm001"]), tmp=tmp_path)
    assert run.rc == 0 and "query_result" not in run.result


@pytest.mark.parametrize("expression, words", [
    ("[?health=='Critical'", ["query", "[?health=='Critical'", "not a valid JMESPath expression"]),
    ("[].vm_name | sort_by(@, &x) ||", ["query", "not a valid JMESPath expression"]),
])
def test_bad_expression_refused_before_any_request(fleet_lab, tmp_path, expression, words):
    run = azure_lab.run_module(fleet_lab, "replication_info", dict(VAULT_ARGS, query=expression), tmp=tmp_path)
    assert run.failed
    for word in words:
        assert word in run.result["msg"]
    assert run.requests["total"] == 0


def test_expression_failing_on_the_list_names_query(fleet_lab, tmp_path):
    run = azure_lab.run_module(fleet_lab, "replication_info", dict(VAULT_ARGS, query="abs(@)"), tmp=tmp_path)
    assert run.failed and "query 'abs(@)' failed on the VM list" in run.result["msg"]
    assert run.mutations() == {}


def test_missing_jmespath_is_a_clear_message(fleet_lab, tmp_path):
    """A Python where ``import jmespath`` fails: the task says what to install, before any request."""
    shadow = tmp_path / "no-jmespath" / "jmespath"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named jmespath')\n")
    run = azure_lab.run_module(fleet_lab, "replication_info", dict(VAULT_ARGS, query="[]"), tmp=tmp_path,
                               env={"PYTHONPATH": str(shadow.parent)})
    assert run.failed and "query" in run.result["msg"] and "jmespath" in run.result["msg"], run.output
    assert run.requests["total"] == 0
