"""The bundle/1 contract holds on both sides: the lab reads the collection's bundles part by part.

plugins/plugin_utils/_host_script_bundle.py builds the bundle text; lab/hosts/scripts/bundle.py finds its parts in
that text (the end-line statements and the script blocks before them). Every bundle hyperv_host_state sends must
name its parts in order, each one the lab simulates, and none may still exit (which would end powershell.exe).
"""

import sys
from pathlib import Path

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script_bundle import load_bundle

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from lab.hosts.scripts import bundle  # noqa: E402  pylint: disable=wrong-import-position

# The bundles the action sends: every read, the settings writes, the provider's steps followed by the writes.
BUNDLES = [
    ("host_info", "replication_provider_read", "upload_threads_read", "upload_throttle_read"),
    ("host_info",),
    ("upload_threads_read", "upload_throttle_read"),
    ("upload_threads_set", "upload_throttle_set"),
    ("replication_provider_remove", "replication_provider_apply", "upload_threads_set", "upload_throttle_set"),
]


@pytest.mark.parametrize("names", BUNDLES, ids="+".join)
def test_the_lab_finds_every_part_of_the_collection_s_bundles_in_order_and_none_exits(names):
    parts = bundle.parts_of(load_bundle(names).text, 1)
    assert [(label, ends) for label, dummy, ends in parts] == [(f"{name}/1", False) for name in names]
    assert all(callable(getattr(simulation, "run", None)) for dummy, simulation, dummy_ends in parts)


def test_a_part_that_still_exits_is_seen_by_the_lab():
    text = load_bundle(("upload_threads_read", "upload_throttle_read")).text.replace("return 0", "exit 0", 1)
    assert [ends for dummy, dummy_simulation, ends in bundle.parts_of(text, 1)] == [True, False]
