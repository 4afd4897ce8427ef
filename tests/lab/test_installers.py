"""White-box tests of the lab's installers: what setup and DRConfigurator refuse, in their own words (windows-host.md §12)."""

import asyncio
import datetime as dt

import pytest

from lab import vault_credentials
from lab.clock import LabClock
from lab.estate import build_world
from lab.hosts import installers
from lab.hosts.state import REGISTRATION_KEY

EPOCH = dt.datetime(2025, 6, 2, 6, 0, tzinfo=dt.timezone.utc)


def installed_host(**host):
    world = build_world({"hosts": [{"name": "HV01", "dotnet_release": 528449, **host}]}, clock=LabClock(EPOCH, time_scale=1e6))
    world.installers.timing = installers.Timing(0, 0, 0, 0, 0)
    target = world.host("HV01")
    target.write_file(r"C:\s\setupdr.exe", installers.make_setup_file("5.24.0902.3", "2.0.9277.0"))
    return world, target


def run(coroutine):
    async def with_pending():
        result = await coroutine
        await asyncio.sleep(0.01)   # let the install land (it finishes after the process exits)
        return result
    return asyncio.run(with_pending())


def credentials(world, **extra):
    return vault_credentials.issue("sub", "rg", extra.pop("vault", "rsv-a"), "westeurope", "site", now=world.clock.now(), **extra)


@pytest.mark.parametrize("host, words", [
    ({"domain_role": 5}, "no compatible product was found"),
    ({"hyperv_role": False}, "ensure that Hyper-V role is enabled"),
    ({"dotnet_release": 394254}, ".NET Framework 4.6.2 or higher"),
])
def test_setup_refuses_with_the_real_message_and_installs_nothing(host, words):
    world, target = installed_host(**host)
    assert run(installers.run_setupdr(target, world, r"C:\s")) == 1
    assert words in target.file(installers.SETUP_LOG).content.decode()
    assert target.provider_version is None


def test_setup_lands_after_the_process_exits_and_registration_is_recorded_in_the_world():
    world, target = installed_host()
    assert run(installers.run_setupdr(target, world, r"C:\s")) == 0
    assert installers.installed(target)
    assert run(installers.register(target, world, credentials(world), "HV01", None, None)) == 0
    assert target.registry.get_value(REGISTRATION_KEY, "ResourceName") == "rsv-a"
    assert vault_credentials.providers_of_site(world, "sub", "rg", "rsv-a", "site")[0].host == "HV01"


@pytest.mark.parametrize("case, words", [
    ("expired", "The registration key has expired"),
    ("other vault", "The DRA server is already registered in vault rsv-a"),
    ("https proxy", "HTTPS proxy is not supported"),
])
def test_drconfigurator_refuses(case, words):
    world, target = installed_host()
    run(installers.run_setupdr(target, world, r"C:\s"))
    key, proxy = credentials(world), None
    if case == "expired":
        key = credentials(world, issued_hours_ago=121)
    elif case == "other vault":
        run(installers.register(target, world, key, "HV01", None, None))
        key = credentials(world, vault="rsv-b")
    else:
        proxy = {"address": "https://proxy", "port": 443}
    assert run(installers.register(target, world, key, "HV01", proxy, None)) == 1
    assert words in target.file(installers.CONFIGURATOR_LOG).content.decode()
