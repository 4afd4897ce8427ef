"""White-box tests of the lab's installers: what setup and DRConfigurator refuse, in their own words (sources in lab/FIDELITY.md)."""

import asyncio
import datetime as dt

import pytest

from lab import registrations, vault_credentials
from lab.clock import LabClock
from lab.estate import build_world
from lab.hosts import installer_state, installers
from lab.hosts.state import REGISTRATION_KEY

EPOCH = dt.datetime(2025, 6, 2, 6, 0, tzinfo=dt.timezone.utc)


def installed_host(**host):
    world = build_world({"hosts": [{"name": "HV01", "dotnet_release": 528449, **host}]}, clock=LabClock(EPOCH, time_scale=1e6))
    world.installers.timing = installer_state.Timing(0, 0, 0, 0, 0)
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
    assert registrations.providers_of_site(world.provider_registrations, "sub", "rg", "rsv-a", "site")[0].host == "HV01"


@pytest.mark.parametrize("case, words", [
    ("expired", "Vault credentials file provided has expired."),
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


def test_drconfigurator_refuses_to_register_over_a_leftover_identity_until_the_cleanup_removes_it():
    world, target = installed_host()
    run(installers.run_setupdr(target, world, r"C:\s"))
    assert run(installers.register(target, world, credentials(world), "HV01", None, None)) == 0
    identity = target.registry.get_value(r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery", "IdMgmtCloudContainerId")
    assert identity
    # The Registration key deleted by hand (the KB's short form): the identity stays, and /r refuses over it.
    target.registry.delete_key(REGISTRATION_KEY)
    assert run(installers.register(target, world, credentials(world), "HV01", None, None)) == 1
    assert f"already registered with the following identity: {identity}" in target.file(installers.CONFIGURATOR_LOG).content.decode()
    installers.cleanup_registration(target)
    assert run(installers.register(target, world, credentials(world), "HV01", None, None)) == 0


def test_the_local_cleanup_leaves_the_vaults_record_of_the_host():
    world, target = installed_host()
    run(installers.run_setupdr(target, world, r"C:\s"))
    run(installers.register(target, world, credentials(world), "HV01", None, None))
    installers.cleanup_registration(target)
    assert registrations.providers_of_site(world.provider_registrations, "sub", "rg", "rsv-a", "site")[0].host == "HV01"


@pytest.mark.parametrize("program", ["setupdr", "DRConfigurator"])
def test_setupdr_and_drconfigurator_refuse_to_run_outside_their_folder(program):
    world, target = installed_host()
    profile = r"C:\Users\Administrator\Documents"
    if program == "setupdr":
        assert run(installers.run_setupdr(target, world, r"C:\s", profile)) == 1
        assert "Run setupdr.exe from the folder it was extracted to" in target.file(installers.SETUP_LOG).content.decode()
        assert run(installers.run_setupdr(target, world, r"C:\s", "C:\\s\\")) == 0
        return
    run(installers.run_setupdr(target, world, r"C:\s"))
    assert run(installers.register(target, world, credentials(world), "HV01", None, None, profile)) == 1
    assert "Run it from the provider's installation folder" in target.file(installers.CONFIGURATOR_LOG).content.decode()
    assert run(installers.register(target, world, credentials(world), "HV01", None, None, installers.PROVIDER_DIR)) == 0


def test_a_proxy_set_by_configure_takes_effect_when_dra_restarts():
    world, target = installed_host()
    run(installers.run_setupdr(target, world, r"C:\s"))
    run(installers.register(target, world, credentials(world), "HV01", {"address": "http://old", "port": 3128}, None))
    assert target.service("dra").loaded["proxy"]["ProxyAddress"] == "http://old"
    assert run(installers.configure(target, world, {"address": "http://new", "port": 8080}, None)) == 0
    assert target.service("dra").loaded["proxy"]["ProxyAddress"] == "http://old"
    target.start_service("dra")
    assert target.service("dra").loaded["proxy"]["ProxyAddress"] == "http://new"
    # DRConfigurator sets the provider's proxy only; the agent's is its own.
    assert "proxy" not in target.mars_settings or target.mars_settings["proxy"].get("server") != "http://new"


def test_a_timed_out_installer_keeps_running_unless_stopped():
    world, target = installed_host()
    world.installers.faults_for("HV01").setup_hangs = True

    async def scenario():
        process = installers.start_process(target, world, r"C:\s\setupdr.exe", "/i", r"C:\s", installers.run_setupdr(target, world, r"C:\s"))
        await asyncio.sleep(0.05)
        running = [p.pid for p in installers.processes_of(world, "HV01")]
        installers.stop_process(world, process)
        await asyncio.sleep(0.01)
        return process.pid, running, installers.processes_of(world, "HV01")
    pid, running, after = asyncio.run(scenario())
    assert running == [pid] and after == []
    assert target.provider_version is None


def test_the_providers_uninstall_leaves_its_key_and_a_malformed_value_throws_only_when_read():
    world, target = installed_host()
    run(installers.run_setupdr(target, world, r"C:\s"))
    target.registry.set_value(installers.UNINSTALL_KEY + r"\Contoso", "DisplayName", {"malformed": "REG_DWORD of 3 bytes"})
    assert sorted(entry["name"] for entry in installers.uninstall_entries(target, "Microsoft Azure")) == [installers.AGENT_NAME, installers.PROVIDER_NAME]
    with pytest.raises(installers.MalformedValue):
        installers.read_value(target, installers.UNINSTALL_KEY + r"\Contoso", "DisplayName")
    target.registry.set_value(r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery", "IdMgmtCloudContainerId", "cloud_x")
    assert run(installers.uninstall(target, world, installers.PROVIDER_PRODUCT_CODE)) == 0
    assert target.provider_version is None
    assert target.registry.key_exists(r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery")
