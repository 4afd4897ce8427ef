"""The schema helpers of _document_schema.py, which check every host script's document against its contract."""

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._document_schema import schema_key_names, schema_mismatches, schema_paths
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import HOST_INFO

RAW_SCHEMA = HOST_INFO.output_schema


def test_schema_paths_and_key_names():
    schema = {"a": None, "b": {"c": None}, "items": [{"d": None, "tags": [None]}]}
    assert schema_paths(schema) == {"a", "b", "b.c", "items", "items[].d", "items[].tags"}
    assert schema_key_names(schema) == {"a", "b", "c", "items", "d", "tags"}
    assert "vms[].disks[].size_bytes" in schema_paths(RAW_SCHEMA)
    assert "UploadThreadsPerVM" in schema_key_names(RAW_SCHEMA)


def test_schema_mismatches_names_missing_unexpected_and_wrong_containers():
    schema = {"a": None, "b": {"c": None}, "items": [{"d": None}]}
    assert schema_mismatches({"a": 1, "b": None, "items": None}, schema) == []
    document = {"b": {"c": 1, "extra": 2}, "items": [{"d": 1}, {"e": 1}, {"e": 2}], "z": 0}
    assert schema_mismatches(document, schema) == ["missing a", "unexpected z", "unexpected b.extra", "missing items[].d", "unexpected items[].e"]
    assert schema_mismatches({"a": 1, "b": [1], "items": {"d": 1}}, schema) == ["b is list, expected an object", "items is dict, expected a list"]
    assert schema_mismatches([], schema) == ["the document is list, expected an object"]
