# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Azure authentication compatible with azure.azcollection, built on azure-identity alone.

The options, environment variables, ``~/.azure/credentials`` profiles and ``auth_source`` values
are azure.azcollection's (its plugins/module_utils/azure_rm_common.py), so existing inventories, AWX
credentials and ``module_defaults`` keep working. No azure-cli-core: clouds are a small table
plus the metadata-URL parser below, and ``auth_source=cli`` uses the ``az`` executable through
azure-identity's ``AzureCliCredential``.

The API, in the order a module uses it (``_azure_clients.AzureSession.from_module`` does all of it):

- ``AZURE_AUTH_ARGSPEC``: the options; ``azure_argument_spec(**module_options)`` merges them.
- ``resolve_auth(params, environ=None, credentials_path=None) -> AuthSettings``: pure; picks the
  credential source in azure.azcollection's order and every setting's value.
- ``resolve_cloud(cloud_environment, verify) -> CloudEndpoints``: a known cloud name, or an
  Azure Stack style metadata URL (fetched once).
- ``build_credential(settings, cloud, verify) -> azure.core.credentials.TokenCredential``.
- ``connection_verify(settings)``: what to give the SDKs' ``connection_verify``.

Errors are ``_azure_errors.AzureModuleError``.
"""

import configparser
import json
import os
import shutil
import subprocess
from ansible.module_utils.basic import env_fallback

from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import (
    file_problem,
    https_problem,
    problems,
    tenant_problem,
    text_problem,
)

try:
    import requests
    HAS_REQUESTS = True
except ImportError:
    HAS_REQUESTS = False


try:
    from azure.identity import (
        AzureCliCredential,
        CertificateCredential,
        ClientSecretCredential,
        ManagedIdentityCredential,
        UsernamePasswordCredential,
    )
    HAS_AZURE_IDENTITY = True
except ImportError:
    HAS_AZURE_IDENTITY = False


AUTH_SOURCES = ("auto", "cli", "credential_file", "env", "msi")
AZURE_AUTH_ARGSPEC = dict(
    auth_source=dict(type="str", choices=list(AUTH_SOURCES), default="auto",
                     fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"])),
    profile=dict(type="str"),
    subscription_id=dict(type="str"),
    client_id=dict(type="str", no_log=True),
    secret=dict(type="str", no_log=True),
    tenant=dict(type="str", no_log=True),
    ad_user=dict(type="str", no_log=True),
    password=dict(type="str", no_log=True),
    x509_certificate_path=dict(type="path"),
    thumbprint=dict(type="str"),
    cloud_environment=dict(type="str"),
    adfs_authority_url=dict(type="str"),
    cert_validation_mode=dict(type="str", choices=["validate", "ignore"]),
    disable_instance_discovery=dict(type="bool"),
    ca_cert=dict(type="path"),
)


# azure.azcollection's AZURE_CREDENTIAL_ENV_MAPPING (azure_rm_common.py): option -> variable.
# The same names are the keys of a ~/.azure/credentials profile.
ENV_VARIABLES = dict(
    profile="AZURE_PROFILE",
    subscription_id="AZURE_SUBSCRIPTION_ID",
    client_id="AZURE_CLIENT_ID",
    secret="AZURE_SECRET",
    tenant="AZURE_TENANT",
    ad_user="AZURE_AD_USER",
    password="AZURE_PASSWORD",
    cloud_environment="AZURE_CLOUD_ENVIRONMENT",
    cert_validation_mode="AZURE_CERT_VALIDATION_MODE",
    adfs_authority_url="AZURE_ADFS_AUTHORITY_URL",
    x509_certificate_path="AZURE_X509_CERTIFICATE_PATH",
    thumbprint="AZURE_THUMBPRINT",
    disable_instance_discovery="AZURE_DISABLE_INSTANCE_DISCOVERY",
)


CREDENTIAL_KEYS = ("client_id", "secret", "tenant", "ad_user", "password", "x509_certificate_path", "thumbprint")


# Settings a task may give whatever the credential source; the task's value wins.
SETTING_KEYS = ("subscription_id", "cloud_environment", "cert_validation_mode", "adfs_authority_url",
                "disable_instance_discovery", "ca_cert")


DEFAULT_CREDENTIALS_PATH = "~/.azure/credentials"
NO_CREDENTIALS = ("no Azure credentials were found. Either pass them as parameters, set environment variables "
                  "(AZURE_SUBSCRIPTION_ID with AZURE_CLIENT_ID, AZURE_SECRET and AZURE_TENANT), define a profile in "
                  "~/.azure/credentials, or install the Azure CLI and log in (az login)")


def azure_argument_spec(**module_options):
    """The module's argument spec: its own options plus the authentication options."""
    spec = dict((name, dict(option)) for name, option in AZURE_AUTH_ARGSPEC.items())
    spec.update(module_options)
    return spec


class AuthSettings(object):
    """Where the credentials came from and every value authentication needs.

    source: "parameters", "env", "profile:<name>", "msi" or "cli".
    credentials: dict of CREDENTIAL_KEYS (values may be None).
    subscription_id, cloud_environment ("AzureCloud" when unset), cert_validation_mode
    ("validate" or "ignore"), adfs_authority_url, disable_instance_discovery (bool), ca_cert.
    """

    def __init__(self, source, credentials, settings):
        self.source = source
        self.credentials = dict((key, credentials.get(key)) for key in CREDENTIAL_KEYS)
        self.subscription_id = settings.get("subscription_id")
        self.cloud_environment = settings.get("cloud_environment") or "AzureCloud"
        self.cert_validation_mode = settings.get("cert_validation_mode") or "validate"
        self.adfs_authority_url = settings.get("adfs_authority_url")
        self.disable_instance_discovery = _as_bool(settings.get("disable_instance_discovery"))
        self.ca_cert = settings.get("ca_cert")

    def __repr__(self):   # never show secrets, even in a traceback
        return "AuthSettings(source=%r, subscription_id=%r, cloud_environment=%r)" % (
            self.source, self.subscription_id, self.cloud_environment)


def _as_bool(value):
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def read_profile(name, credentials_path=None):
    """The keys of one ``~/.azure/credentials`` section, or None when the file or section is absent."""
    path = os.path.expanduser(credentials_path or DEFAULT_CREDENTIALS_PATH)
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise AzureModuleError(f"read the Azure credentials file {path}", str(exc),
                               recommended_action="Fix the file's INI syntax ([profile] sections of key = value).")
    if not parser.has_section(name):
        return None
    return dict((key, parser.get(name, key, raw=True)) for key in parser.options(name))


def _from_env(environ):
    values = dict((key, environ.get(variable)) for key, variable in ENV_VARIABLES.items())
    return dict((key, value) for key, value in values.items() if value not in (None, ""))


def _given(values):
    return dict((key, value) for key, value in values.items() if value is not None)


def resolve_auth(params, environ=None, credentials_path=None, cli_available=None):
    """Pick the credential source as azure.azcollection does, then every setting's value.

    Sources by ``auth_source``: ``env`` (AZURE_* variables; AZURE_PROFILE names a profile),
    ``credential_file`` (profile ``profile`` or ``default``), ``msi``, ``cli``, and ``auto``:
    the ``profile`` option, then options if ``client_id`` or ``ad_user`` is given, then the
    environment if AZURE_PROFILE or AZURE_SUBSCRIPTION_ID is set, then the ``default`` profile if
    it has a subscription_id, then the Azure CLI when ``az`` is installed.
    Each setting (SETTING_KEYS) is the task's value, else the source's, else its AZURE_* variable.
    """
    environ = os.environ if environ is None else environ
    blank = problems(*[text_problem(key, params.get(key)) for key in sorted(AZURE_AUTH_ARGSPEC)
                       if isinstance(params.get(key), str)])
    if blank:
        raise AzureModuleError("check the Azure authentication options", "; ".join(blank))
    if cli_available is None:
        cli_available = shutil.which("az") is not None
    task = _given(dict((key, params.get(key)) for key in list(CREDENTIAL_KEYS) + list(SETTING_KEYS) + ["profile"]))
    env = _from_env(environ)
    auth_source = params.get("auth_source") or environ.get("ANSIBLE_AZURE_AUTH_SOURCE") or "auto"
    if auth_source not in AUTH_SOURCES:
        raise AzureModuleError("choose the Azure credentials", f"auth_source is {auth_source!r}",
                               recommended_action=f"Use one of {', '.join(AUTH_SOURCES)}.")

    source, found = None, None
    if auth_source in ("msi", "cli"):
        if auth_source == "cli" and not cli_available:
            raise AzureModuleError("use the Azure CLI's login", "the az executable is not on PATH",
                                   recommended_action="Install the Azure CLI and run az login, or choose another "
                                                      "auth_source.")
        source, found = auth_source, task
    elif auth_source == "env":
        source, found = _env_source(env, credentials_path)
        if found is None:
            raise AzureModuleError("read Azure credentials from the environment",
                                   "neither AZURE_SUBSCRIPTION_ID nor AZURE_PROFILE is set",
                                   recommended_action="Set AZURE_SUBSCRIPTION_ID, AZURE_CLIENT_ID, AZURE_SECRET and "
                                                      "AZURE_TENANT, or AZURE_PROFILE.")
    elif auth_source == "credential_file":
        source, found = _profile_source(task.get("profile") or "default", credentials_path, required=True)
    elif task.get("profile"):
        source, found = _profile_source(task["profile"], credentials_path, required=True)
    elif task.get("client_id") or task.get("ad_user"):
        source, found = "parameters", task
    else:
        source, found = _env_source(env, credentials_path)
        if found is None:
            source, found = _profile_source("default", credentials_path, required=False)
        if found is None and cli_available:
            source, found = "cli", task
        if found is None:
            raise AzureModuleError("choose the Azure credentials", NO_CREDENTIALS)

    settings = {}
    for key in SETTING_KEYS:
        for layer in (task, found, env):
            if layer.get(key) not in (None, ""):
                settings[key] = layer[key]
                break
    if source in ("msi", "cli"):
        # The managed identity's client id may be given (user-assigned identity), nothing else.
        credentials = {"client_id": task.get("client_id") or env.get("client_id")} if source == "msi" else {}
    else:
        credentials = found
    resolved = AuthSettings(source, credentials, settings)
    if not resolved.subscription_id and source != "cli":
        raise AzureModuleError("choose the Azure subscription", "the credentials (%s) did not include a "
                               "subscription_id value" % source,
                               recommended_action="Set subscription_id, AZURE_SUBSCRIPTION_ID or subscription_id in "
                                                  "the profile.")
    return resolved


def check_auth_settings(settings, source="parameters"):
    """Raise AzureModuleError naming each setting whose value can't work: a tenant that is neither a GUID nor a
    domain name, a ca_cert or x509_certificate_path that is no file, an http:// cloud endpoint or authority.

    Values from the environment or a profile are named by their option, with where they came from.
    """
    where = "" if source == "parameters" else f" (from {source})"
    found = problems(
        tenant_problem(settings.credentials.get("tenant")),
        file_problem("ca_cert", settings.ca_cert),
        file_problem("x509_certificate_path", settings.credentials.get("x509_certificate_path")),
        https_problem("cloud_environment", settings.cloud_environment),
        https_problem("adfs_authority_url", settings.adfs_authority_url),
    )
    if settings.adfs_authority_url and not settings.adfs_authority_url.lower().startswith(("http://", "https://")):
        found.append(f"adfs_authority_url is {settings.adfs_authority_url!r}; it must be an https:// URL")
    if found:
        raise AzureModuleError(f"check the Azure authentication options{where}", "; ".join(found),
                               recommended_action="Correct the options named; nothing was sent to Azure.")


def _env_source(env, credentials_path):
    if env.get("profile"):
        return _profile_source(env["profile"], credentials_path, required=True)
    if env.get("subscription_id"):
        return "env", env
    return None, None


def _profile_source(name, credentials_path, required):
    profile = read_profile(name, credentials_path)
    if profile and profile.get("subscription_id"):
        return f"profile:{name}", profile
    if required:
        raise AzureModuleError(f"read Azure credentials profile '{name}'",
                               "%s has no [%s] section with a subscription_id" % (
                                   credentials_path or DEFAULT_CREDENTIALS_PATH, name),
                               recommended_action="Add the section (subscription_id, client_id, secret, tenant) or "
                                                  "choose another profile.")
    return None, None


class CloudEndpoints(object):
    """The endpoints of one Azure cloud.

    name; resource_manager ("https://management.azure.com/", always with a trailing slash);
    authority (the Entra ID / ADFS host URL, "https://login.microsoftonline.com");
    management_scope (the token scope for Azure Resource Manager);
    storage_suffix ("core.windows.net"; None when the metadata did not say).
    """

    def __init__(self, name, resource_manager, authority, management_scope, storage_suffix=None):
        self.name = name
        self.resource_manager = f"{resource_manager.rstrip('/')}/"
        self.authority = authority.rstrip("/")
        self.management_scope = management_scope
        self.storage_suffix = storage_suffix

    def __repr__(self):
        return f"CloudEndpoints({self.name!r}, {self.resource_manager!r})"


# azure-cli-core's cloud.py / msrestazure's azure_cloud.py, the names azure.azcollection accepts
# (the retired AzureGermanCloud is left out).
KNOWN_CLOUDS = dict(
    AzureCloud=("https://management.azure.com/", "https://login.microsoftonline.com", "core.windows.net"),
    AzureChinaCloud=("https://management.chinacloudapi.cn/", "https://login.chinacloudapi.cn", "core.chinacloudapi.cn"),
    AzureUSGovernment=("https://management.usgovcloudapi.net/", "https://login.microsoftonline.us",
                       "core.usgovcloudapi.net"),
)


# msrestazure's get_cloud_from_metadata_endpoint (what azure.azcollection calls for a URL) asks this
# version, which Azure Stack Hub serves; its answer is one object. Newer versions answer a list of
# clouds; parse_cloud_metadata reads both.
METADATA_API_VERSION = "2015-01-01"


def metadata_url(cloud_environment):
    """The URL to GET for a ``cloud_environment`` URL: the ARM endpoint plus ``/metadata/endpoints``."""
    base, _sep, query = cloud_environment.partition("?")
    if "/metadata/endpoints" in base.lower():
        return cloud_environment if "api-version=" in query else f"{base}?api-version={METADATA_API_VERSION}"
    return f"{base.rstrip('/')}/metadata/endpoints?api-version={METADATA_API_VERSION}"


def parse_cloud_metadata(document, cloud_environment):
    """CloudEndpoints from a metadata document (pure).

    Azure Stack shape (api-version 2015-01-01 / 1.0): ``{"authentication": {"loginEndpoint",
    "audiences": [...]}, "galleryEndpoint", ...}``; the ARM endpoint is the URL itself.
    List shape (2019-05-01 and later): ``[{"name", "resourceManager", "authentication": {...},
    "suffixes": {"storage"}}]``; the entry whose resourceManager is the URL's host wins.
    """
    base = cloud_environment.split("?")[0]
    lowered = base.lower()
    if "/metadata/endpoints" in lowered:
        base = base[:lowered.index("/metadata/endpoints")]
    if isinstance(document, list):
        host = _host(base)
        matches = [entry for entry in document if isinstance(entry, dict) and _host(entry.get("resourceManager")) == host]
        entries = matches or [entry for entry in document if isinstance(entry, dict)]
        if not entries:
            raise ValueError("the metadata lists no cloud")
        entry = entries[0]
        resource_manager = entry.get("resourceManager") or base
        name = entry.get("name") or base
        storage_suffix = (entry.get("suffixes") or {}).get("storage")
    elif isinstance(document, dict):
        entry, resource_manager, name = document, document.get("resourceManager") or base, base
        storage_suffix = document.get("storageEndpointSuffix")
    else:
        raise ValueError("the metadata is neither an object nor a list")
    authentication = entry.get("authentication") or {}
    login = authentication.get("loginEndpoint")
    if not login:
        raise ValueError("the metadata has no authentication.loginEndpoint")
    audiences = authentication.get("audiences") or [resource_manager]
    return CloudEndpoints(name, resource_manager, login, _scope(audiences[0]), storage_suffix)


def _host(url):
    if not url:
        return None
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


def _scope(audience):
    return f"{audience.rstrip('/')}/.default"


def resolve_cloud(cloud_environment, verify=True, timeout=30):
    """CloudEndpoints for a cloud name (KNOWN_CLOUDS) or a metadata URL (fetched with ``verify``)."""
    name = cloud_environment or "AzureCloud"
    for known, (resource_manager, authority, storage_suffix) in KNOWN_CLOUDS.items():
        if known.lower() == name.lower():
            return CloudEndpoints(known, resource_manager, authority, _scope(resource_manager), storage_suffix)
    if not name.lower().startswith(("https://", "http://")):
        raise AzureModuleError("choose the Azure cloud", "cloud_environment %r is neither a cloud name nor a "
                               "metadata URL" % name,
                               recommended_action="Use one of %s, or the https URL of the cloud's Resource Manager "
                                                  "endpoint." % ", ".join(KNOWN_CLOUDS))
    if not HAS_REQUESTS:
        raise AzureModuleError(f"read the cloud metadata at {name}", "the Python package requests is missing")
    url = metadata_url(name)
    operation = f"read the cloud metadata at {url}"
    try:
        response = requests.get(url, verify=verify, timeout=timeout, headers={"Accept": "application/json"})
    except requests.exceptions.SSLError as exc:
        raise AzureModuleError(operation, f"the server's TLS certificate could not be verified ({exc})",
                               code="TLSVerifyFailed",
                               recommended_action="Give the CA bundle with ca_cert or REQUESTS_CA_BUNDLE.")
    except requests.exceptions.RequestException as exc:
        raise AzureModuleError(operation, str(exc), code="ServiceRequestError",
                               recommended_action="Check cloud_environment and the network path to it.")
    if response.status_code != 200:
        raise AzureModuleError(operation, f"HTTP {response.status_code}", status=response.status_code,
                               recommended_action="Check that cloud_environment is the cloud's Resource Manager URL.")
    try:
        cloud = parse_cloud_metadata(response.json(), name)
    except ValueError as exc:
        raise AzureModuleError(operation, f"unusable metadata: {exc}",
                               recommended_action="Check that cloud_environment is the cloud's Resource Manager URL.")
    insecure = problems(https_problem("the metadata's resourceManager", cloud.resource_manager),
                        https_problem("the metadata's authentication.loginEndpoint", cloud.authority))
    if insecure:
        raise AzureModuleError(operation, f"cloud_environment {name!r} names plain-http endpoints: {'; '.join(insecure)}",
                               recommended_action="Use a cloud whose endpoints are https.")
    return cloud


def connection_verify(settings):
    """``connection_verify`` for the SDKs: False (ignore), the CA bundle path, or True.

    True lets requests use REQUESTS_CA_BUNDLE when it is set (requests reads it only when verify is True).
    """
    if settings.cert_validation_mode == "ignore":
        return False
    return settings.ca_cert or True


def build_credential(settings, cloud, verify=True):
    """The azure-identity credential for ``settings`` (the order azure.azcollection uses)."""
    if not HAS_AZURE_IDENTITY:
        raise AzureModuleError("authenticate to Azure", "the Python package azure-identity is missing")
    values = settings.credentials
    common = dict(connection_verify=verify)
    if settings.source == "msi":
        return ManagedIdentityCredential(client_id=values.get("client_id"), **common)
    if settings.source == "cli":
        return AzureCliCredential(tenant_id=values.get("tenant"))
    authority = settings.adfs_authority_url or cloud.authority
    common.update(authority=authority, disable_instance_discovery=settings.disable_instance_discovery)
    if values.get("client_id") and values.get("secret") and values.get("tenant"):
        return ClientSecretCredential(values["tenant"], values["client_id"], values["secret"], **common)
    if values.get("client_id") and values.get("tenant") and values.get("x509_certificate_path"):
        return CertificateCredential(values["tenant"], values["client_id"],
                                     certificate_path=values["x509_certificate_path"], **common)
    if values.get("ad_user") and values.get("password"):
        # azure.azcollection's default for a user without an app: the Azure CLI's public client id.
        return UsernamePasswordCredential(values.get("client_id") or "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                                          values["ad_user"], values["password"],
                                          tenant_id=values.get("tenant") or "organizations", **common)
    raise AzureModuleError("authenticate to Azure", f"the credentials ({settings.source}) are incomplete",
                           recommended_action="Give client_id, secret and tenant; or client_id, tenant and "
                                              "x509_certificate_path; or ad_user and password.")


def cli_subscription_id():
    """The Azure CLI's current subscription (``az account show``), for auth_source=cli."""
    try:
        output = subprocess.run(["az", "account", "show", "--output", "json"], capture_output=True, text=True,
                                timeout=60, check=True).stdout
        return json.loads(output)["id"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
        raise AzureModuleError("read the Azure CLI's current subscription", str(exc),
                               recommended_action="Run az login (and az account set), or give subscription_id.")
