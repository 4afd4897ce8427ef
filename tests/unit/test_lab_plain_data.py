"""The lab's state as JSON (lab/plain_data.py): what the world snapshot is made of."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lab.azure.jobs import JobRef
from lab.azure.state import ProtectedItem, RecoveryPoint
from lab.hosts.state import Registry
from lab.plain_data import PlainDataError, from_json, to_json

NOW = dt.datetime(2026, 12, 6, 15, 0, tzinfo=dt.timezone.utc)


def _round_trip(value):
    return from_json(json.loads(json.dumps(to_json(value))))


def test_plain_values_and_the_labs_classes_read_back_equal():
    item = ProtectedItem(name="rpi", fabric="site", vm_id="vm", host="HV01", vm_name="web01", policy_name="pol",
                         enable_input={"$schema": "kept", "tags": {"a": "1"}}, created_at=NOW,
                         scenario=("EnableDr", "job", NOW), recovery_points=[RecoveryPoint("p1", NOW)])
    registry = Registry({r"HKLM\SOFTWARE\Lab": {"Version": "1.0", "Blob": b"\x00\x01", "List": ["a", "b"]}})
    state = {"item": item, "registry": registry, "ref": JobRef("/subscriptions/s/vault"), "keys": {1: "one"},
             "seen": frozenset({"x"}), "pending": {"y"}, "when": NOW, "pair": (1, "a")}
    again = _round_trip(state)
    assert again["item"] == item and again["item"] is not item
    assert again["registry"].get_value(r"HKLM\SOFTWARE\Lab", "blob") == b"\x00\x01"
    assert again["ref"] == JobRef("/subscriptions/s/vault") and again["keys"] == {1: "one"}
    assert again["seen"] == frozenset({"x"}) and again["pending"] == {"y"} and again["when"] == NOW
    assert again["pair"] == (1, "a")


def test_code_and_foreign_objects_are_refused_naming_where_they_are():
    with pytest.raises(PlainDataError, match=r"state\['hooks'\]\['VmFailover'\] is a builtins.function"):
        to_json({"hooks": {"VmFailover": lambda job: None}})
    with pytest.raises(PlainDataError, match=r"state\['path'\] is a pathlib"):
        to_json({"path": __import__("pathlib").Path("/tmp")})


def test_one_object_reached_twice_is_refused_and_shared_plain_data_is_copied():
    point = RecoveryPoint("p1", NOW)
    with pytest.raises(PlainDataError, match=r"state\['b'\] is the same object as state\['a'\]"):
        to_json({"a": point, "b": point})
    tags = {"owner": "lab"}
    again = _round_trip({"input": tags, "settings": tags})
    assert again["input"] == again["settings"] == tags
    loop: list = []
    loop.append(loop)
    with pytest.raises(PlainDataError, match="contains itself"):
        to_json(loop)


def test_reading_builds_only_the_labs_own_classes():
    with pytest.raises(PlainDataError, match="not one of the lab's"):
        from_json({"$object": "subprocess:Popen", "fields": {}})
    with pytest.raises(PlainDataError, match="which this lab does not have"):
        from_json({"$object": "lab.azure.state:NoSuchThing", "fields": {}})
