# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""ARM resource ids and resource JSON: the one place that takes them apart. Pure: no SDK, no I/O.

Ids compare case-insensitively and without a trailing slash: Site Recovery writes ``/Subscriptions/``
where other providers write ``/subscriptions/`` (Azure/azure-sdk-for-go#2824).
"""

from __future__ import annotations

import re

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def properties_of(resource: dict | None) -> dict:
    """A resource's ``properties`` (an empty dict when it has none, or for None)."""
    return (resource or {}).get("properties") or {}


def provider_details(item: dict | None) -> dict:
    """A Site Recovery resource's ``properties.providerSpecificDetails`` (an empty dict when absent)."""
    return properties_of(item).get("providerSpecificDetails") or {}


def is_guid(text: str | None) -> bool:
    return bool(GUID.match(text or ""))


def lowered(text: str | None) -> str:
    return (text or "").lower()


def same_id(left: str | None, right: str | None) -> bool:
    """Whether two id values name the same resource: case-insensitive, trailing slash ignored.

    Two empty values (None or "") are the same: an id *setting* that is absent on both sides did not change
    (``_asr.bodies.settings_changes`` compares the current and the wanted availability set, proximity placement
    group, network and resource group this way, and a re-run must report no change). Callers comparing the ids of
    two resources that exist always have both ids, so the empty case only ever means "no setting".
    """
    return lowered(left).rstrip("/") == lowered(right).rstrip("/")


def resource_group_id(subscription_id: str, group: str) -> str:
    """``group`` as an ARM id: a name, or an id already (returned unchanged)."""
    if (group or "").startswith("/"):
        return group
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}"


def arm_id(subscription_id: str, group: str, resource_type: str, name: str | None) -> str | None:
    """``name`` as the ARM id of a ``resource_type`` ("Microsoft.Network/virtualNetworks") in ``group``;
    a value that already is an id (starts with "/") is returned unchanged."""
    if not name or name.startswith("/"):
        return name
    return f"{resource_group_id(subscription_id, group)}/providers/{resource_type}/{name}"


def name_in_id(resource_id: str | None, collection: str) -> str | None:
    """The name after ``/{collection}/`` in an ARM id (case-insensitive: ids may say /Subscriptions/), or None."""
    parts = (resource_id or "").split("/")
    names = [part.lower() for part in parts]
    wanted = collection.lower()
    if wanted in names and names.index(wanted) + 1 < len(parts):
        return parts[names.index(wanted) + 1]
    return None


def group_and_name(resource_id: str | None) -> tuple[str | None, str]:
    """(resource group, resource name) of an ARM id."""
    return name_in_id(resource_id, "resourceGroups"), (resource_id or "").rstrip("/").rsplit("/", 1)[-1]


def network_of_subnet(subnet_id: str | None) -> str | None:
    """The virtual network id of a subnet id (``.../virtualNetworks/<vnet>/subnets/<subnet>``), lowercase, or None."""
    if not subnet_id or "/subnets/" not in subnet_id.lower():
        return None
    return subnet_id[:subnet_id.lower().index("/subnets/")].lower()
