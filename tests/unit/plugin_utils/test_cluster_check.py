"""Cluster checks from host_info results: missing nodes and differing versions."""

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils.cluster_check import check_clusters

CLUSTER = {"name": "HVCLU01", "nodes": [{"name": "HV02", "state": "Up", "id": "1"}, {"name": "HV03", "state": "Down", "id": "2"}]}


def node(name, provider="5.24.0902.3", agent="2.0.9277.0"):
    return {"computer_name": name, "cluster": CLUSTER, "provider_version": provider, "agent_version": agent}


def test_a_node_missing_from_the_play_is_reported_with_its_state():
    report = check_clusters({"hv02.contoso.local": node("HV02")}, ["hv02.contoso.local"])
    assert report["clusters"]["HVCLU01"]["missing"] == ["HV03"]
    assert "node HV03 (state Down) is not in the play" in report["findings"][0]


def test_a_node_in_a_later_batch_counts_as_in_the_play():
    report = check_clusters({"HV02": node("HV02")}, ["HV02", "hv03.contoso.local"])
    assert report["findings"] == []


def test_differing_versions_name_each_version_and_its_nodes():
    report = check_clusters({"HV02": node("HV02"), "HV03": node("HV03", provider="5.1.8095.0")}, ["HV02", "HV03"])
    assert report["findings"] == ["cluster HVCLU01: the provider versions differ between nodes (5.1.8095.0 on HV03; 5.24.0902.3 on HV02); "
                                  "all nodes need the same version"]


def test_standalone_hosts_have_no_findings():
    assert check_clusters({"HV01": {"computer_name": "HV01", "cluster": None}}, ["HV01"]) == {"clusters": {}, "findings": []}
