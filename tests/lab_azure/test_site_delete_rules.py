"""The lab refuses to remove a Hyper-V site that still has registered servers, as Azure does (lab/FIDELITY.md, "Azure:
site, registration key, storage and discovery"): the site goes only after its hosts were deleted from it."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError

from lab.hosts.state import REGISTRATION_KEY, HostState, VirtualDisk, VirtualMachine, Volume

SITE, HOST = "site-delete", "HVDEL01"


def _add_host(lab) -> None:
    vm = VirtualMachine(name="del-a", id=str(uuid.uuid5(uuid.NAMESPACE_URL, "site-delete:del-a")),
                        disks=[VirtualDisk("D:\\VMs\\del-a\\del-a.vhdx", 1024 ** 3)])
    lab.on_loop(lambda: lab.world.add_host(HostState(name=HOST, domain="contoso.local", features=["Hyper-V"],
                                                     volumes=[Volume("D:\\", 2 * 1024 ** 4, 1024 ** 4)], vms=[vm])))


def _site_names(lab) -> list[str]:
    return [fabric.name for fabric in lab.asr.replication_fabrics.list(lab.rg, lab.vault)]


def test_a_site_with_a_registered_server_is_not_removed_until_the_server_is_deleted(lab):
    asr = lab.asr
    _add_host(lab)
    asr.replication_fabrics.begin_create(lab.rg, lab.vault, SITE,
                                         {"properties": {"customDetails": {"instanceType": "HyperVSite"}}}).result()
    lab.register_host(HOST, SITE)
    with pytest.raises(HttpResponseError) as caught:
        asr.replication_fabrics.begin_delete(lab.rg, lab.vault, SITE).result()
    assert caught.value.status_code == 400
    assert "FabricHasRegisteredServers" in str(caught.value) and "HVDEL01.contoso.local" in str(caught.value)
    assert SITE in _site_names(lab)

    # Delete the server (the provider), and unregister the host as the clean-up script does; then the site goes.
    providers = asr.replication_recovery_services_providers
    provider = next(iter(providers.list_by_replication_fabrics(lab.rg, lab.vault, SITE)))
    providers.begin_delete(lab.rg, lab.vault, SITE, provider.name).result()
    lab.on_loop(lambda: lab.world.host(HOST).registry.delete_key(REGISTRATION_KEY))
    asr.replication_fabrics.begin_delete(lab.rg, lab.vault, SITE).result()
    assert SITE not in _site_names(lab)
