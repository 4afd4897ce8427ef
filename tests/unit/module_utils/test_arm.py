"""ARM ids: one parser and one comparison for the whole collection (module_utils/_arm.py)."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import (
    arm_id,
    group_and_name,
    name_in_id,
    resource_group_id,
    same_id,
)

ITEM = ("/Subscriptions/s1/resourceGroups/rg1/providers/Microsoft.RecoveryServices/vaults/v1/replicationFabrics/site1"
        "/replicationProtectionContainers/c1/replicationProtectedItems/item1")


@pytest.mark.parametrize("collection, expected", [
    ("replicationFabrics", "site1"), ("REPLICATIONFABRICS", "site1"), ("replicationProtectionContainers", "c1"),
    ("replicationProtectedItems", "item1"), ("resourceGroups", "rg1"), ("subscriptions", "s1"),
    ("virtualNetworks", None),
])
def test_the_name_after_a_collection_is_found_whatever_the_case(collection, expected):
    assert name_in_id(ITEM, collection) == expected


@pytest.mark.parametrize("resource_id", [None, "", "/subscriptions/s1/resourceGroups"])
def test_an_id_without_the_collection_or_its_name_gives_none(resource_id):
    assert name_in_id(resource_id, "resourceGroups") is None


def test_ids_compare_without_case_or_a_trailing_slash():
    assert same_id("/Subscriptions/S1/resourceGroups/RG", "/subscriptions/s1/resourcegroups/rg/")
    assert not same_id("/subscriptions/s1/resourceGroups/rg1", "/subscriptions/s1/resourceGroups/rg2")


@pytest.mark.parametrize("left, right", [(None, None), ("", None), (None, "")])
def test_two_absent_ids_are_the_same_setting(left, right):
    # An id setting absent on both sides did not change: the settings diff must not report a change a re-run repeats.
    assert same_id(left, right)


@pytest.mark.parametrize("left, right", [("/subscriptions/s1/resourceGroups/rg", None),
                                         (None, "/subscriptions/s1/resourceGroups/rg")])
def test_an_absent_id_is_not_the_same_as_a_given_one(left, right):
    assert not same_id(left, right)


def test_names_become_ids_and_ids_stay_as_they_are():
    group = resource_group_id("s1", "rg")
    assert group == "/subscriptions/s1/resourceGroups/rg"
    assert resource_group_id("s1", group) == group
    vnet = arm_id("s1", "rg", "Microsoft.Network/virtualNetworks", "net")
    assert vnet == "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/net"
    assert arm_id("s1", "other", "Microsoft.Network/virtualNetworks", vnet) == vnet
    assert group_and_name(vnet) == ("rg", "net")
