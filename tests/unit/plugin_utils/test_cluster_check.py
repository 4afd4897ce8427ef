"""Cluster checks from host_info results: nodes not checked in this run, differing versions, and the inputs refused."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._cluster_check import (
    RunHosts,
    check_clusters,
    host_info_problem,
    node_entry,
    provider_problem,
)

CLUSTER = {"name": "HVCLU01", "nodes": [{"name": "HV02", "state": "Up", "id": "1"}, {"name": "HV03", "state": "Down", "id": "2"}]}


def node(name, provider="5.24.0902.3", agent="2.0.9277.0"):
    return {"computer_name": name, "cluster": CLUSTER, "provider_version": provider, "agent_version": agent}


def run_of(*names, active=None, batch=None):
    return RunHosts(all=tuple(names), active=tuple(names if active is None else active), batch=tuple(names if batch is None else batch))


def test_a_node_outside_the_run_is_not_checked_in_this_run_with_its_state_never_ok():
    report = check_clusters({"hv02.contoso.local": node("HV02")}, run_of("hv02.contoso.local"))
    cluster = report["clusters"]["HVCLU01"]
    assert cluster["missing"] == ["HV03"] and cluster["checked"] == ["HV02"]
    assert cluster["not_checked"][0]["name"] == "HV03"
    assert "node HV03 (state Down) was not checked in this run: it is not a host of this run" in report["findings"][0]
    assert "another slice of an AWX sliced job" in report["findings"][0]


def test_a_node_in_a_later_batch_is_pending_not_a_finding():
    report = check_clusters({"HV02": node("HV02")}, run_of("HV02", "hv03.contoso.local", batch=["HV02"]))
    assert report["findings"] == []
    assert report["clusters"]["HVCLU01"]["pending"] == ["HV03"]


def test_a_node_that_failed_earlier_in_the_play_is_not_checked_even_when_it_was_read():
    hosts = {"HV02": node("HV02"), "HV03": node("HV03", provider=None)}
    report = check_clusters(hosts, run_of("HV02", "HV03", active=["HV02"]))
    assert report["clusters"]["HVCLU01"]["checked"] == ["HV02"]
    assert report["clusters"]["HVCLU01"]["missing"] == []
    assert "node HV03 (state Down) was not checked in this run: it is a host of this run that failed" in report["findings"][0]


def test_differing_versions_name_each_version_and_its_nodes():
    report = check_clusters({"HV02": node("HV02"), "HV03": node("HV03", provider="5.1.8095.0")}, run_of("HV02", "HV03"))
    assert report["findings"] == ["cluster HVCLU01: the provider versions differ between nodes (5.1.8095.0 on HV03; 5.24.0902.3 on HV02); "
                                  "all nodes need the same version"]


def test_standalone_hosts_have_no_findings():
    assert check_clusters({"HV01": {"computer_name": "HV01", "cluster": None}}, run_of("HV01")) == {"clusters": {}, "findings": []}


@pytest.mark.parametrize("value, words", [
    ("HV01", "is a str ('HV01'), not the result of azmigrate.hyperv.host_info"),
    ({"changed": False, "skipped": True}, "skipped task's result"),
    ({"failed": True, "msg": "unreachable"}, "failed host_info result (unreachable)"),
    ({"computer_name": "HV01"}, "it lacks cluster, provider, agent"),
    ({"computer_name": "HV01", "cluster": "HVCLU01", "provider": None, "agent": None}, "has a cluster that is a str"),
])
def test_what_is_not_a_host_info_result_is_named(value, words):
    assert words in host_info_problem(value)


def test_a_host_info_result_passes():
    assert host_info_problem({"computer_name": "HV01", "cluster": None, "provider": None, "agent": None}) is None


def test_provider_versions_win_when_the_provider_task_ran_else_host_info_versions():
    info = {"computer_name": "HV02", "cluster": CLUSTER, "provider": {"version": "5.1"}, "agent": {"version": "2.0.1"}}
    assert node_entry("HV02", info, {"provider_version": "5.24", "agent_version": "2.0.9"})["provider_version"] == "5.24"
    assert node_entry("HV02", info, {"skipped": True})["provider_version"] == "5.1"
    assert node_entry("HV02", info, None)["agent_version"] == "2.0.1"
    assert provider_problem({"skipped": True}) is None
    assert "not the result of azmigrate.hyperv.replication_provider" in provider_problem(["5.24"])


def test_inputs_are_refused_for_every_active_host_and_skipped_only_for_failed_ones():
    from ansible_collections.azmigrate.hyperv.plugins.action.cluster_check import read_inputs
    from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._cluster_check import ClusterInputError

    info = {"computer_name": "HV02", "cluster": CLUSTER, "provider": None, "agent": None}
    options = {"host_info_var": "hyperv_host_info", "provider_var": "hyperv_host_provider"}
    skipped = {"hyperv_host_info": {"skipped": True}}
    # HV03 ran in an earlier batch and is still active, yet holds a skipped result: refused, not taken as pending.
    with pytest.raises(ClusterInputError, match="'hyperv_host_info' on HV03 holds a skipped task's result"):
        read_inputs({"HV02": {"hyperv_host_info": info}, "HV03": skipped}, run_of("HV02", "HV03", batch=["HV02"]), options, False)
    # HV03 failed earlier in the play: its result is left out, and the check reports it as not checked.
    hosts = read_inputs({"HV02": {"hyperv_host_info": info}, "HV03": skipped}, run_of("HV02", "HV03", active=["HV02"], batch=["HV02"]),
                        options, False)
    assert list(hosts) == ["HV02"]
    with pytest.raises(ClusterInputError, match="no host read by this run has a variable named 'provider'"):
        read_inputs({"HV02": {"hyperv_host_info": info}}, run_of("HV02"), {**options, "provider_var": "provider"}, True)
