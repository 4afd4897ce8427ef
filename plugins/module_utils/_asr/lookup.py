# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Finding a VM's replicated item, and a vault's sites and containers, by the names a task gives."""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import name_in_id
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.api import (
    get_item,
    list_containers,
    list_fabrics,
    list_protected_items,
    ref_of,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError


def _matches(item, wanted, site):
    properties = item.get("properties") or {}
    details = properties.get("providerSpecificDetails") or {}
    if site and (name_in_id(item.get("id"), "replicationFabrics") or "").lower() != site.lower() \
            and (properties.get("primaryFabricFriendlyName") or "").lower() != site.lower():
        return False
    return wanted.lower() in ((item.get("name") or "").lower(), (details.get("vmId") or "").lower(),
                              (properties.get("friendlyName") or "").lower())


def find_item(client, resource_group, vault_name, vm, site=None, listed=None):
    """The replicated item of VM ``vm`` (name, VM id or item name) as one GET returns it (with the details the
    vault-wide listing leaves empty), or None. One listing of the vault, then one GET; ``listed``: the vault's
    items listed already (a wave finds all its VMs in one listing).

    A VM name replicated twice (two hosts with VMs of the same name) raises AzureModuleError naming the ids.
    """
    if listed is None:
        listed = list_protected_items(client, resource_group, vault_name)
    listed = [item for item in listed if _matches(item, vm, site)]
    exact = [item for item in listed if vm.lower() in ((item.get("name") or "").lower(),
             (((item.get("properties") or {}).get("providerSpecificDetails") or {}).get("vmId") or "").lower())]
    if len(listed) > 1 and not exact:
        raise AzureModuleError(f"find replicated VM '{vm}' in vault '{vault_name}'",
                               f"the name matches {len(listed)} replicated VMs ({', '.join(sorted((i['name'] for i in listed)))})",
                               recommended_action="Give the VM id (or the site) instead of the name.")
    chosen = (exact or listed or [None])[0]
    return get_item(ref_of(client, resource_group, vault_name, chosen)) if chosen else None


def site_problem(client, resource_group, vault_name, site):
    """A message when ``site`` is given and is not a Hyper-V site (fabric name or friendly name) of the vault, else None.

    One listing of the vault's fabrics; checked before anything else is looked up, so that a wrong site is named as
    such and not reported as a VM the site does not have.
    """
    if not site:
        return None
    fabrics = list_fabrics(client, resource_group, vault_name)
    for fabric in fabrics:
        friendly = (fabric.get("properties") or {}).get("friendlyName") or ""
        if site.lower() in ((fabric.get("name") or "").lower(), friendly.lower()):
            return None
    names = sorted(fabric.get("name") or "" for fabric in fabrics
                   if ((fabric.get("properties") or {}).get("customDetails") or {}).get("instanceType") == "HyperVSite")
    return f"site {site!r} not found in vault {vault_name!r}; its Hyper-V sites: {', '.join(names) or 'none'}"


def site_containers(client, resource_group, vault_name, site=None):
    """[(site, container)] of the vault's protection containers, of one site when ``site`` is given."""
    out = []
    for container in list_containers(client, resource_group, vault_name):
        fabric = name_in_id(container.get("id"), "replicationFabrics")
        friendly = (container.get("properties") or {}).get("fabricFriendlyName") or ""
        if site and site.lower() not in ((fabric or "").lower(), friendly.lower()):
            continue
        out.append((fabric, container.get("name")))
    return out
