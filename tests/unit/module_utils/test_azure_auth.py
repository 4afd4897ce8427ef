"""Azure authentication: source resolution (azure.azcollection's order), settings precedence, clouds."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_auth import (
    AuthSettings,
    azure_argument_spec,
    AZURE_AUTH_ARGSPEC,
    build_credential,
    connection_verify,
    metadata_url,
    parse_cloud_metadata,
    resolve_auth,
    resolve_cloud,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError

SUB = "3f6c5d2a-1b2c-4d5e-8f90-0a1b2c3d4e5f"
OTHER_SUB = "9a8b7c6d-0000-4000-8000-000000000001"
SP = dict(client_id="app-id", secret="s3cret", tenant="tenant-id")


def params(**given):
    """Module params as AnsibleModule hands them over: every option present, unset ones None."""
    out = dict((name, None) for name in AZURE_AUTH_ARGSPEC)
    out["auth_source"] = "auto"
    out.update(given)
    return out


@pytest.fixture
def credentials_file(tmp_path):
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\nsubscription_id = %s\nclient_id = file-app\nsecret = file-secret\ntenant = file-tenant\n\n"
        "[lab]\nsubscription_id = %s\nclient_id = lab-app\nsecret = lab-secret\ntenant = lab-tenant\n"
        "cloud_environment = https://arm.example.test\ncert_validation_mode = ignore\n"
        "disable_instance_discovery = true\n\n"
        "[nosub]\nclient_id = x\n" % (SUB, OTHER_SUB))
    return str(path)


def test_argspec_marks_secrets_no_log():
    assert all(AZURE_AUTH_ARGSPEC[name].get("no_log") for name in ("client_id", "secret", "tenant", "ad_user", "password"))
    assert AZURE_AUTH_ARGSPEC["auth_source"]["fallback"][1] == ["ANSIBLE_AZURE_AUTH_SOURCE"]


def test_azure_argument_spec_merges_without_sharing_dicts():
    spec = azure_argument_spec(vault_name=dict(type="str", required=True))
    assert spec["vault_name"]["required"] and "client_id" in spec
    spec["secret"]["no_log"] = False
    assert AZURE_AUTH_ARGSPEC["secret"]["no_log"] is True


def test_auto_prefers_task_service_principal_over_environment(credentials_file):
    env = {"AZURE_SUBSCRIPTION_ID": OTHER_SUB, "AZURE_CLIENT_ID": "env-app"}
    settings = resolve_auth(params(subscription_id=SUB, **SP), environ=env, credentials_path=credentials_file,
                            cli_available=False)
    assert settings.source == "parameters"
    assert settings.credentials["client_id"] == "app-id" and settings.subscription_id == SUB


def test_auto_uses_environment_only_when_subscription_or_profile_is_set(credentials_file):
    env = {"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_CLIENT_ID": "env-app", "AZURE_SECRET": "env-secret",
           "AZURE_TENANT": "env-tenant", "AZURE_CLOUD_ENVIRONMENT": "AzureChinaCloud"}
    settings = resolve_auth(params(), environ=env, credentials_path=credentials_file, cli_available=False)
    assert settings.source == "env"
    assert settings.credentials == dict(client_id="env-app", secret="env-secret", tenant="env-tenant", ad_user=None,
                                        password=None, x509_certificate_path=None, thumbprint=None)
    assert settings.cloud_environment == "AzureChinaCloud"
    # Without AZURE_SUBSCRIPTION_ID the client id alone is ignored (azure.azcollection issue #500): default profile.
    settings = resolve_auth(params(), environ={"AZURE_CLIENT_ID": "env-app"}, credentials_path=credentials_file,
                            cli_available=False)
    assert settings.source == "profile:default" and settings.credentials["client_id"] == "file-app"


def test_azure_profile_variable_names_the_profile(credentials_file):
    settings = resolve_auth(params(), environ={"AZURE_PROFILE": "lab"}, credentials_path=credentials_file,
                            cli_available=False)
    assert settings.source == "profile:lab" and settings.subscription_id == OTHER_SUB
    assert settings.cloud_environment == "https://arm.example.test"
    assert settings.cert_validation_mode == "ignore" and settings.disable_instance_discovery is True


def test_profile_option_wins_in_auto(credentials_file):
    env = {"AZURE_SUBSCRIPTION_ID": SUB}
    settings = resolve_auth(params(profile="lab"), environ=env, credentials_path=credentials_file, cli_available=False)
    assert settings.source == "profile:lab" and settings.credentials["secret"] == "lab-secret"


def test_task_settings_win_over_the_source(credentials_file):
    settings = resolve_auth(params(profile="lab", subscription_id=SUB, cloud_environment="AzureCloud",
                                   cert_validation_mode="validate", disable_instance_discovery=False),
                            environ={}, credentials_path=credentials_file, cli_available=False)
    assert settings.subscription_id == SUB and settings.cloud_environment == "AzureCloud"
    assert settings.cert_validation_mode == "validate" and settings.disable_instance_discovery is False


def test_environment_fills_settings_the_source_lacks(credentials_file):
    env = {"AZURE_CERT_VALIDATION_MODE": "ignore", "AZURE_DISABLE_INSTANCE_DISCOVERY": "True"}
    settings = resolve_auth(params(subscription_id=SUB, **SP), environ=env, credentials_path=credentials_file,
                            cli_available=False)
    assert settings.cert_validation_mode == "ignore" and settings.disable_instance_discovery is True
    assert settings.cloud_environment == "AzureCloud"


@pytest.mark.parametrize("auth_source, expected", [("credential_file", "profile:default"), ("env", "env"),
                                                   ("msi", "msi"), ("cli", "cli")])
def test_explicit_auth_sources(credentials_file, auth_source, expected):
    env = {"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_CLIENT_ID": "env-app"}
    settings = resolve_auth(params(auth_source=auth_source, subscription_id=SUB), environ=env,
                            credentials_path=credentials_file, cli_available=True)
    assert settings.source == expected
    if expected == "msi":
        assert settings.credentials["client_id"] == "env-app" and settings.credentials["secret"] is None


def test_auth_source_from_ansible_variable_when_option_absent(credentials_file):
    given = params(subscription_id=SUB)
    given["auth_source"] = None
    settings = resolve_auth(given, environ={"ANSIBLE_AZURE_AUTH_SOURCE": "msi"}, credentials_path=credentials_file)
    assert settings.source == "msi"


def test_auto_falls_back_to_cli_only_when_installed(tmp_path):
    missing = str(tmp_path / "none")
    assert resolve_auth(params(), environ={}, credentials_path=missing, cli_available=True).source == "cli"
    with pytest.raises(AzureModuleError, match="az login"):
        resolve_auth(params(), environ={}, credentials_path=missing, cli_available=False)


def test_cli_source_refused_without_az(tmp_path):
    with pytest.raises(AzureModuleError, match="az executable is not on PATH"):
        resolve_auth(params(auth_source="cli"), environ={}, credentials_path=str(tmp_path / "x"), cli_available=False)


def test_missing_profile_and_missing_subscription_are_explained(credentials_file):
    with pytest.raises(AzureModuleError, match=r"no \[nosub\] section with a subscription_id"):
        resolve_auth(params(profile="nosub"), environ={}, credentials_path=credentials_file, cli_available=False)
    with pytest.raises(AzureModuleError, match="did not include a subscription_id"):
        resolve_auth(params(**SP), environ={}, credentials_path=credentials_file, cli_available=False)
    with pytest.raises(AzureModuleError, match="AZURE_SUBSCRIPTION_ID nor AZURE_PROFILE"):
        resolve_auth(params(auth_source="env"), environ={}, credentials_path=credentials_file)


def test_profile_file_from_a_temporary_home(tmp_path, monkeypatch):
    (tmp_path / ".azure").mkdir()
    profile = "[default]\nsubscription_id = %s\nclient_id = a\nsecret = b\ntenant = c\n" % SUB
    (tmp_path / ".azure" / "credentials").write_text(profile)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = resolve_auth(params(), environ={}, cli_available=False)
    assert settings.source == "profile:default" and settings.subscription_id == SUB


def test_settings_repr_hides_secrets(credentials_file):
    settings = resolve_auth(params(subscription_id=SUB, **SP), environ={}, credentials_path=credentials_file,
                            cli_available=False)
    assert "s3cret" not in repr(settings)


def test_connection_verify():
    assert connection_verify(AuthSettings("env", {}, {"cert_validation_mode": "ignore", "ca_cert": "/ca.pem"})) is False
    assert connection_verify(AuthSettings("env", {}, {"ca_cert": "/ca.pem"})) == "/ca.pem"
    assert connection_verify(AuthSettings("env", {}, {})) is True


# --- clouds ---

def test_known_cloud_names_case_insensitive():
    cloud = resolve_cloud("azureusgovernment")
    assert cloud.resource_manager == "https://management.usgovcloudapi.net/"
    assert cloud.authority == "https://login.microsoftonline.us"
    assert cloud.management_scope == "https://management.usgovcloudapi.net/.default"
    assert resolve_cloud(None).name == "AzureCloud"


def test_unknown_cloud_name_lists_the_choices():
    with pytest.raises(AzureModuleError, match="AzureCloud, AzureChinaCloud, AzureUSGovernment"):
        resolve_cloud("AzureGermanCloud")


@pytest.mark.parametrize("given, expected", [
    ("https://arm.example.test", "https://arm.example.test/metadata/endpoints?api-version=2015-01-01"),
    ("https://arm.example.test/", "https://arm.example.test/metadata/endpoints?api-version=2015-01-01"),
    ("https://arm.example.test/metadata/endpoints", "https://arm.example.test/metadata/endpoints?api-version=2015-01-01"),
    ("https://arm.example.test/metadata/endpoints?api-version=2022-09-01",
     "https://arm.example.test/metadata/endpoints?api-version=2022-09-01"),
])
def test_metadata_url(given, expected):
    assert metadata_url(given) == expected


def test_azure_stack_metadata_object():
    # The shape Azure Stack Hub serves for api-version 2015-01-01 (msrestazure reads these keys).
    document = {"galleryEndpoint": "https://portal.local.azurestack.external:30015/",
                "graphEndpoint": "https://graph.windows.net/",
                "authentication": {"loginEndpoint": "https://login.microsoftonline.com/",
                                   "audiences": ["https://management.contoso.onmicrosoft.com/4de154de-f8a8"]}}
    cloud = parse_cloud_metadata(document, "https://management.local.azurestack.external")
    assert cloud.resource_manager == "https://management.local.azurestack.external/"
    assert cloud.authority == "https://login.microsoftonline.com"
    assert cloud.management_scope == "https://management.contoso.onmicrosoft.com/4de154de-f8a8/.default"
    assert cloud.storage_suffix is None


def test_cloud_list_metadata_picks_the_matching_cloud():
    document = [
        {"name": "AzureCloud", "resourceManager": "https://management.azure.com/",
         "authentication": {"loginEndpoint": "https://login.microsoftonline.com", "audiences": ["https://management.core.windows.net/"]},
         "suffixes": {"storage": "core.windows.net"}},
        {"name": "AzureChinaCloud", "resourceManager": "https://management.chinacloudapi.cn/",
         "authentication": {"loginEndpoint": "https://login.chinacloudapi.cn", "audiences": ["https://management.core.chinacloudapi.cn/"]},
         "suffixes": {"storage": "core.chinacloudapi.cn"}},
    ]
    cloud = parse_cloud_metadata(document, "https://management.chinacloudapi.cn/metadata/endpoints?api-version=2022-09-01")
    assert cloud.name == "AzureChinaCloud" and cloud.storage_suffix == "core.chinacloudapi.cn"
    assert cloud.management_scope == "https://management.core.chinacloudapi.cn/.default"


@pytest.mark.parametrize("document", [{}, [], "text", {"authentication": {}}])
def test_unusable_metadata_raises_value_error(document):
    with pytest.raises(ValueError):
        parse_cloud_metadata(document, "https://arm.example.test")


def test_build_credential_needs_complete_credentials():
    pytest.importorskip("azure.identity")
    settings = AuthSettings("parameters", {"client_id": "app"}, {"subscription_id": SUB})
    with pytest.raises(AzureModuleError, match="incomplete"):
        build_credential(settings, resolve_cloud("AzureCloud"))


def test_build_credential_uses_cloud_authority_and_discovery_setting(monkeypatch):
    pytest.importorskip("azure.identity")
    from ansible_collections.azmigrate.hyperv.plugins.module_utils import _azure_auth as azure_auth
    made = []
    monkeypatch.setattr(azure_auth, "ClientSecretCredential", lambda *args, **kwargs: made.append((args, kwargs)))
    settings = AuthSettings("parameters", SP, {"subscription_id": SUB, "disable_instance_discovery": True})
    build_credential(settings, resolve_cloud("AzureChinaCloud"), verify="/ca.pem")
    expected = dict(authority="https://login.chinacloudapi.cn", disable_instance_discovery=True, connection_verify="/ca.pem")
    assert made == [(("tenant-id", "app-id", "s3cret"), expected)]
    made.clear()
    settings = AuthSettings("parameters", SP, {"subscription_id": SUB, "adfs_authority_url": "https://adfs.local/adfs"})
    build_credential(settings, resolve_cloud("AzureCloud"))
    assert made[0][1]["authority"] == "https://adfs.local/adfs" and made[0][1]["disable_instance_discovery"] is False
