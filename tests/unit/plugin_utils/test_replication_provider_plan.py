"""Pure planning of replication_provider: options, vault credentials, versions, steps (no host, no lab)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from lab import vault_credentials as lab_credentials  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_credentials import (  # noqa: E402
    VaultCredentialsError, parse_vault_credentials,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_options import (  # noqa: E402
    OptionError, validate_options,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import REPLICATION_PROVIDER_READ
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_plan import (  # noqa: E402
    PlanError, compare_versions, host_time, plan_absent, plan_present, script_batches, staged_setup_path,
)

NOW = dt.datetime(2025, 6, 2, 6, 0, tzinfo=dt.timezone.utc)
SHA = "a" * 64
DEFAULTS = {"state": "present", "staging_dir": "C:\\ProgramData\\azmigrate\\setup", "force_reregister": False,
            "removed_from_vault": False, "install_timeout": 1800, "registration_timeout": 600}


def credentials(vault="rsv-migrate", site="hyperv-site", **extra):
    return lab_credentials.issue("sub-1", "rg-migrate", vault, "westeurope", site, now=NOW, **extra)


def options(credentials_text=None, **args):
    return validate_options({**DEFAULTS, **args}, credentials_text)


def host(**overrides):
    state = {key: None for key in REPLICATION_PROVIDER_READ.output_schema}
    state.update(computer_name="HV01", utc_now=NOW.isoformat(), registration_leftovers=False,
                 uninstall={"provider": False, "agent": False}, reboot_pending=False)
    state.update(overrides)
    return state


INSTALLED = {"provider": {"version": "5.24.0902.3", "configurator": True}, "agent": {"version": "2.0.9277.0", "path": "C:\\A"},
             "uninstall": {"provider": True, "agent": True}}
REGISTERED = {"registration": {"vault_location": "westeurope", "subscription_id": "sub-1", "vault_name": "rsv-migrate",
                               "resource_group": "rg-migrate", "site_name": "hyperv-site", "container_id": "cloud_x"}}


@pytest.mark.parametrize("left, right, expected", [
    ("5.24.0902.3", "5.24.902.3", 0), ("5.1.8095.0", "5.24.0902.3", -1), ("5.24.1", "5.24.0.9", 1), ("5.24", "5.24.0.0", 0), ("x", "1", None),
])
def test_versions_compare_numerically(left, right, expected):
    assert compare_versions(left, right) == expected


def test_fresh_host_with_url_downloads_installs_and_registers_in_one_apply():
    plan = plan_present(host(), options(credentials(), setup_file_url="https://h/s.exe?sig=x", setup_file_sha256=SHA), NOW)
    assert plan.names == ["download", "install", "register"]
    assert [step["action"] for step in plan.steps] == ["download", "extract", "install", "remove_extracted", "register"]
    assert not plan.push and plan.after_staging is None


def test_installed_host_with_unknown_setup_version_stages_first_then_decides_from_the_staged_version():
    current = host(**INSTALLED, **REGISTERED)
    plan = plan_present(current, options(credentials(), setup_file_url="https://h/s.exe", setup_file_sha256=SHA), NOW)
    assert plan.names == ["download"] and [step["action"] for step in plan.steps] == ["download"]
    steps, names, warnings = plan.after_staging.steps_for("5.30.0.0")
    assert names == ["upgrade"] and [step["action"] for step in steps] == ["extract", "install", "remove_extracted"] and warnings == []
    assert steps[1]["expected_version"] == "5.30.0.0"
    # The same plan, whatever the staged file turns out to be: never a downgrade, and no step for the same version.
    steps, names, warnings = plan.after_staging.steps_for("5.0.0.0")
    assert (steps, names) == ([], []) and "not downgrading" in warnings[0]
    assert plan.after_staging.steps_for(INSTALLED["provider"]["version"])[:2] == ([], [])


def test_the_staging_plan_keeps_the_registration_for_after_staging():
    current = host(**INSTALLED)
    plan = plan_present(current, options(credentials(), setup_file_url="https://h/s.exe", setup_file_sha256=SHA), NOW)
    assert plan.names == ["download", "register"] and [step["action"] for step in plan.steps] == ["download"]
    steps, names, dummy = plan.after_staging.steps_for("5.30.0.0")
    assert names == ["upgrade", "register"] and [step["action"] for step in steps][-1] == "register"


def test_same_or_newer_installed_version_changes_nothing_and_never_downgrades():
    setup = {"path": "C:\\s.exe", "exists": True, "sha256": None, "version": "5.1.8095.0"}
    plan = plan_present(host(**INSTALLED, **REGISTERED, setup_file=setup), options(setup_file_path="C:\\s.exe"), NOW)
    assert plan.names == [] and "not downgrading" in plan.warnings[0]


def test_controller_file_is_pushed_only_when_the_host_lacks_its_hash():
    opts = options(credentials(), setup_file_src="/tmp/s.exe", setup_file_sha256=SHA)
    assert plan_present(host(), opts, NOW).names[:2] == ["push", "install"]
    staged = {"path": staged_setup_path(opts.staging_dir, SHA), "exists": True, "sha256": SHA, "version": "5.24.0902.3"}
    assert plan_present(host(setup_file=staged), opts, NOW).names == ["install", "register"]


def test_registered_elsewhere_names_both_vaults_unless_forced():
    other = credentials(vault="rsv-other", site="site-2")
    with pytest.raises(PlanError, match="rsv-migrate.*rsv-other.*force_reregister"):
        plan_present(host(**INSTALLED, **REGISTERED), options(other), NOW)
    # The host cannot remove itself from the old vault: the user confirms it was done there first.
    refused = "force_reregister: .*rsv-migrate.*Hyper-V Hosts.*replicationRecoveryServicesProviders/.*/remove.*removed_from_vault=true"
    with pytest.raises(PlanError, match=refused):
        plan_present(host(**INSTALLED, **REGISTERED), options(other, force_reregister=True), NOW)
    forced = options(other, force_reregister=True, removed_from_vault=True)
    assert plan_present(host(**INSTALLED, **REGISTERED), forced, NOW).names == ["unregister", "register"]


def test_leftovers_of_an_earlier_registration_are_cleaned_up_before_registering():
    # DraID or IdMgmtCloudContainerId without the Registration key: DRConfigurator /r would refuse over them.
    plan = plan_present(host(**INSTALLED, registration_leftovers=True), options(credentials()), NOW)
    assert plan.names == ["unregister", "register"]
    assert [step["action"] for step in plan.steps] == ["unregister", "register"]


def test_expired_credentials_are_refused_only_when_registration_is_needed():
    expired = credentials(issued_hours_ago=200)
    with pytest.raises(PlanError, match="expired"):
        plan_present(host(**INSTALLED), options(expired), NOW)
    assert plan_present(host(**INSTALLED, **REGISTERED), options(expired), NOW).names == []


def test_bypass_urls_already_there_need_no_configure_since_drconfigurator_only_adds():
    current = host(**INSTALLED, **REGISTERED, proxy={"address": "http://p", "port": 3128, "username": None, "bypass_urls": ["*.a", "*.b"]})
    assert plan_present(current, options(proxy_address="http://p", proxy_port=3128, proxy_bypass_urls=["*.A"]), NOW).names == []
    assert plan_present(current, options(proxy_address="http://p", proxy_port=3128, proxy_bypass_urls=["*.c"]), NOW).names == ["configure_proxy"]


def test_proxy_change_on_a_registered_host_is_configure():
    current = host(**INSTALLED, **REGISTERED, proxy={"address": "http://p", "port": 3128, "username": None, "bypass_urls": []})
    assert plan_present(current, options(proxy_address="http://p", proxy_port=3128), NOW).names == []
    assert plan_present(current, options(proxy_address="http://p", proxy_port=8080), NOW).names == ["configure_proxy"]


def test_absent_unregisters_then_uninstalls_provider_then_agent():
    registered = {"registration": {**REGISTERED["registration"], "dra_id": "7d3f0c1e-2b4a-4c5d-8e6f-9a0b1c2d3e4f"}}
    with pytest.raises(PlanError) as refused:
        plan_absent(host(**INSTALLED, **registered), options(state="absent"))
    message = str(refused.value)
    assert message.startswith("state=absent: the host is registered to vault rsv-migrate")
    assert "Site Recovery Infrastructure > Hyper-V Hosts" in message and "removed_from_vault=true" in message
    assert ("/subscriptions/sub-1/resourceGroups/rg-migrate/providers/Microsoft.RecoveryServices/vaults/rsv-migrate/replicationFabrics/"
            "{the fabric of site hyperv-site}/replicationRecoveryServicesProviders/7d3f0c1e-2b4a-4c5d-8e6f-9a0b1c2d3e4f/remove") in message
    plan = plan_absent(host(**INSTALLED, **registered), options(state="absent", removed_from_vault=True))
    assert plan.names == ["unregister", "uninstall_provider", "uninstall_agent"]
    assert plan_absent(host(), options(state="absent")).names == []
    # Leftovers alone need no confirmation: there is no vault to name.
    assert plan_absent(host(registration_leftovers=True), options(state="absent")).names == ["unregister"]


def test_removing_steps_go_to_the_remove_script_in_order():
    steps = [{"action": "unregister"}, {"action": "register"}, {"action": "uninstall", "component": "provider"}]
    assert [(script, [step["action"] for step in batch]) for script, batch in script_batches(steps)] == [
        ("replication_provider_remove", ["unregister"]), ("replication_provider_apply", ["register"]),
        ("replication_provider_remove", ["uninstall"])]


def test_host_time_reads_dotnet_round_trip_format():
    assert host_time({"utc_now": "2025-06-02T06:00:00.1234567Z"}, NOW).year == 2025
    assert host_time({"utc_now": None}, NOW) is NOW


@pytest.mark.parametrize("args, words", [
    ({"setup_file_url": "https://h/s.exe"}, ["setup_file_sha256", "required"]),
    ({"setup_file_url": "ftp://h/s.exe", "setup_file_sha256": SHA}, ["setup_file_url", "https://"]),
    ({"setup_file_path": "s.exe"}, ["setup_file_path", "'s.exe'"]),
    ({"setup_file_sha256": "zz"}, ["setup_file_sha256", "'zz'"]),
    ({"proxy_address": "https://p", "proxy_port": 1}, ["proxy_address", "http://"]),
    ({"proxy_address": "http://p", "proxy_port": 0}, ["proxy_port", "1 to 65535"]),
    ({"proxy_address": "http://p:8080", "proxy_port": 8080}, ["proxy_address", "without port"]),
    ({"friendly_name": "a b"}, ["friendly_name", "'a b'"]),
    ({"install_timeout": 10}, ["install_timeout", "60 to 86400"]),
    ({"state": "absent", "setup_file_path": "C:\\s.exe"}, ["setup_file_path", "state=absent"]),
    ({"state": "absent", "friendly_name": "HV01", "site": "hyperv-site"}, ["site, friendly_name: not used with state=absent"]),
])
def test_bad_options_name_option_value_and_allowed(args, words):
    with pytest.raises(OptionError) as raised:
        options(**args)
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_secret_values_never_appear_in_option_errors():
    with pytest.raises(OptionError) as raised:
        options(proxy_address="http://p", proxy_port=1, proxy_username="u", proxy_password='se"cret')
    assert "se\"cret" not in str(raised.value)


def test_vault_credentials_parse_vault_site_and_validity():
    parsed = parse_vault_credentials(credentials())
    assert (parsed.vault_name, parsed.resource_group, parsed.site_name) == ("rsv-migrate", "rg-migrate", "hyperv-site")
    assert parsed.valid_to == NOW + dt.timedelta(hours=120)
    for bad, word in (("<x/>", "'x'"), ("nope", "not XML"), ("<RSVaultAsrCreds/>", "VaultDetails")):
        with pytest.raises(VaultCredentialsError, match=word):
            parse_vault_credentials(bad)


def test_a_unc_setup_file_the_host_cannot_read_names_the_double_hop_and_its_fixes():
    share = "\\\\fs01\\installers\\AzureSiteRecoveryProvider.exe"
    unreadable = host(setup_file={"path": share, "exists": False, "sha256": None, "version": None})
    with pytest.raises(PlanError) as caught:
        plan_present(unreadable, options(credentials(), setup_file_path=share), NOW)
    for words in (share, "double hop", "NTLM", "Kerberos", "credssp", "ansible_winrm_kerberos_delegation",
                  "setup_file_src", "setup_file_url"):
        assert words in str(caught.value)


def test_a_missing_local_setup_file_says_only_that_it_is_missing():
    local = "C:\\Installers\\AzureSiteRecoveryProvider.exe"
    missing = host(setup_file={"path": local, "exists": False, "sha256": None, "version": None})
    with pytest.raises(PlanError, match=r"^setup_file_path: no file at C:\\Installers\\AzureSiteRecoveryProvider.exe on the host$"):
        plan_present(missing, options(credentials(), setup_file_path=local), NOW)


def test_a_key_for_another_vault_or_site_than_the_options_name_is_refused_before_the_host_is_asked():
    with pytest.raises(OptionError) as raised:
        options(credentials(), vault_name="rsv-prod")
    assert "vault_credentials_content: the file is a registration key for the vault rsv-migrate" in str(raised.value)
    assert "not for vault_name 'rsv-prod'" in str(raised.value)
    with pytest.raises(OptionError) as raised:
        options(credentials(), site="hyperv-site-2")
    assert "for site 'hyperv-site' of vault rsv-migrate, not for site 'hyperv-site-2'" in str(raised.value)
    assert options(credentials(), vault_name="RSV-MIGRATE", site="HyperV-Site").vault_name == "RSV-MIGRATE"


def test_a_key_without_a_site_id_is_not_a_hyper_v_site_key():
    without_site = credentials().replace("<SiteId>", "<Unused>").replace("</SiteId>", "</Unused>")
    with pytest.raises(VaultCredentialsError, match="has no SiteId"):
        parse_vault_credentials(without_site)


def test_a_host_registered_elsewhere_than_vault_name_says_so_even_without_a_key():
    current = host(**INSTALLED, **REGISTERED)
    with pytest.raises(PlanError) as raised:
        plan_present(current, options(vault_name="rsv-prod"), NOW)
    assert "registered to vault rsv-migrate" in str(raised.value) and "not to vault_name 'rsv-prod'" in str(raised.value)
    assert plan_present(current, options(vault_name="rsv-migrate", site="hyperv-site"), NOW).names == []
