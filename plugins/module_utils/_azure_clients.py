# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""One task's connection to Azure: settings, cloud, credential, and the SDK clients built from them.

A module does::

    session = AzureSession.from_module(module, "azure-mgmt-recoveryservicessiterecovery")
    client = session.site_recovery()

``from_module`` fails the task with ``missing_required_lib`` when a named SDK is absent, and
with the collection's error message when the credentials or the cloud cannot be resolved.
Every client gets the cloud's Resource Manager URL, the token scope for it, the TLS
verification setting and the retry settings (azure-core's RetryPolicy honours Retry-After and
retry-after-ms on 429 and 5xx).

The Site Recovery client is ``_asr.rest.SiteRecoveryClient``: the REST API at api-version
``SITE_RECOVERY_API_VERSION`` through azure-mgmt-core's ARM pipeline, without the Site Recovery SDK, so
that the collection shares an environment with azure.azcollection (which pins azure-mgmt-core 1.4.0,
too old for the SDK 2.0.0). ``raw_get``, ``raw_list`` and ``_asr.api.start_operation`` read and send
JSON with it and with SDK clients alike.

Also here: ``collect(pages)`` (paging), ``rest_dict(model)`` (an SDK model as its REST JSON), ``raw_get``
and ``raw_list`` (an SDK call's answer as the service sent it).
"""

import importlib
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_auth import (
    HAS_AZURE_IDENTITY,
    build_credential,
    check_auth_settings,
    cli_subscription_id,
    connection_verify,
    resolve_auth,
    resolve_cloud,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError, InvalidOptions
# Imported here, not only by name in SDK_CLIENTS, so that Ansible ships it with every module that uses this file.
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr import rest  # noqa: F401  pylint: disable=unused-import
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_names import name_problem, problems, text_problem


# PyPI name -> (import path, client class). Imported only when a module asks for the client: the
# management SDKs are large (azure.mgmt.network alone takes about 1.5 s to import), and a module
# needs one or two of them.
SDK_CLIENTS = {
    # Site Recovery goes over REST through azure-mgmt-core (_asr.rest), not through its SDK: the name stays the
    # one modules ask for, the package needed is azure-mgmt-core.
    "azure-mgmt-recoveryservicessiterecovery": ("ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.rest",
                                                "SiteRecoveryClient"),
    "azure-mgmt-compute": ("azure.mgmt.compute", "ComputeManagementClient"),
    "azure-mgmt-network": ("azure.mgmt.network", "NetworkManagementClient"),
    "azure-mgmt-storage": ("azure.mgmt.storage", "StorageManagementClient"),
    "azure-storage-blob": ("azure.storage.blob", "BlobServiceClient"),
}


# What to install when a client cannot be imported (the PyPI name), when it is not the key itself.
REQUIRED_PACKAGE = {"azure-mgmt-recoveryservicessiterecovery": "azure-mgmt-core"}


def _sdk_class(package):
    module_name, class_name = SDK_CLIENTS[package]
    module = importlib.import_module(module_name)
    if not getattr(module, "HAS_AZURE_MGMT_CORE", True):
        raise ImportError("azure.mgmt.core could not be imported")
    return getattr(module, class_name)


# The Site Recovery REST version the collection's requests and field names follow (Azure/azure-rest-api-specs, stable/2025-08-01).
SITE_RECOVERY_API_VERSION = "2025-08-01"


# azure-core's defaults are 10 retries, but only 3 on a status code (429/5xx), with backoff up to 120 s.
# ARM keeps answering 429 until the principal's bucket refills
# (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling), so status
# retries get the same budget as the others; a task polling a job should not sit two minutes inside
# one request, so the backoff is capped lower. Retry-After always wins over the backoff.
RETRY_SETTINGS = dict(retry_total=10, retry_status=10, retry_backoff_factor=0.8, retry_backoff_max=30)


def missing_sdks(*packages):
    """The names among azure-identity and ``packages`` (keys of SDK_CLIENTS) that cannot be imported,
    and the first traceback."""
    missing, first_trace = [], None
    if not HAS_AZURE_IDENTITY:
        missing.append("azure-identity")
        first_trace = "azure.identity could not be imported"
    for package in packages:
        try:
            _sdk_class(package)
        except ImportError:
            missing.append(REQUIRED_PACKAGE.get(package, package))
            first_trace = first_trace or traceback.format_exc()
    return missing, first_trace


def vault_option_problems(params):
    """Messages for the vault options every vault module shares (resource_group, vault_name, migrate_project), checked
    on Azure's naming rules before the first request (_azure_names.NAME_RULES)."""
    return problems(name_problem("resource_group", params.get("resource_group"), "resource_group"),
                    name_problem("vault_name", params.get("vault_name"), "vault"),
                    text_problem("migrate_project", params.get("migrate_project")))


class AzureSession(object):
    """Credentials, cloud endpoints and clients for one task.

    Attributes: ``settings`` (_azure_auth.AuthSettings), ``cloud`` (_azure_auth.CloudEndpoints),
    ``credential`` (azure-identity TokenCredential), ``verify`` (connection_verify value),
    ``subscription_id``.
    """

    def __init__(self, settings, cloud, credential, verify, subscription_id):
        self.settings = settings
        self.cloud = cloud
        self.credential = credential
        self.verify = verify
        self.subscription_id = subscription_id
        self._clients = {}

    @classmethod
    def from_params(cls, params, environ=None):
        """Resolve the auth options of ``params`` (a module's params); raises AzureModuleError."""
        settings = resolve_auth(params, environ=environ)
        check_auth_settings(settings, settings.source)
        verify = connection_verify(settings)
        cloud = resolve_cloud(settings.cloud_environment, verify=verify)
        credential = build_credential(settings, cloud, verify=verify)
        subscription_id = settings.subscription_id or cli_subscription_id()
        return cls(settings, cloud, credential, verify, subscription_id)

    @classmethod
    def from_module(cls, module, *packages):
        """A session for ``module``; fails the task when an SDK in ``packages`` is missing."""
        missing, trace = missing_sdks(*packages)
        if missing:
            module.fail_json(msg=missing_required_lib(" and ".join(missing)), exception=trace)
        invalid = vault_option_problems(module.params)
        if invalid:
            module.fail_json(msg=str(InvalidOptions(*invalid)), changed=False)
        try:
            return cls.from_params(module.params)
        except AzureModuleError as exc:
            module.fail_json(**exc.fail_kwargs())

    def client_options(self):
        """Keyword arguments every management client gets."""
        options = dict(base_url=self.cloud.resource_manager, credential_scopes=[self.cloud.management_scope],
                       connection_verify=self.verify)
        options.update(RETRY_SETTINGS)
        return options

    def _client(self, package):
        if package not in self._clients:
            self._clients[package] = _sdk_class(package)(self.credential, self.subscription_id, **self.client_options())
        return self._clients[package]

    def site_recovery(self):
        """_asr.rest.SiteRecoveryClient (the SDK 2.0.0 client's calls, over REST), api SITE_RECOVERY_API_VERSION."""
        package = "azure-mgmt-recoveryservicessiterecovery"
        if package not in self._clients:
            self._clients[package] = _sdk_class(package)(
                self.credential, self.subscription_id, self.cloud.resource_manager, [self.cloud.management_scope],
                SITE_RECOVERY_API_VERSION, connection_verify=self.verify, **RETRY_SETTINGS)
        return self._clients[package]

    def compute(self):
        """azure.mgmt.compute.ComputeManagementClient."""
        return self._client("azure-mgmt-compute")

    def network(self):
        """azure.mgmt.network.NetworkManagementClient."""
        return self._client("azure-mgmt-network")

    def storage(self):
        """azure.mgmt.storage.StorageManagementClient."""
        return self._client("azure-mgmt-storage")

    def blob_service(self, account_url, credential=None):
        """azure.storage.blob.BlobServiceClient for ``account_url`` (the account's primaryEndpoints.blob).

        ``credential``: an account key or SAS; None uses the session's Entra ID credential, which needs
        a Storage Blob Data role on the account.
        """
        client_class = _sdk_class("azure-storage-blob")
        return client_class(account_url, credential=credential or self.credential, connection_verify=self.verify,
                            **RETRY_SETTINGS)


def collect(pages, limit=None):
    """All items of an SDK pager (``ItemPaged``) as a list, following nextLink page by page.

    The SDK fetches one page per request; ``limit`` stops early (no further page is requested
    once ``limit`` items are in hand). Errors surface here, during iteration, so call it inside
    ``azure_errors(...)`` or a function decorated with ``azure_operation``.
    """
    items = []
    for item in pages:
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    return items


def rest_dict(model):
    """An SDK model as the service's JSON (camelCase keys, unknown fields kept).

    The current SDKs' models are dict-backed and keep every field the service sent
    (``as_dict()`` returns it); older msrest models need ``serialize(keep_readonly=True)``.
    """
    if model is None or isinstance(model, dict) and not hasattr(model, "as_dict"):
        return model
    serialize = getattr(model, "serialize", None)
    if serialize is not None:
        return serialize(keep_readonly=True)
    return model.as_dict()


def _answer_json(pipeline_response, _deserialized=None, _headers=None):
    """An SDK ``cls`` callback: the answer's JSON body instead of the SDK's model of it."""
    return pipeline_response.http_response.json()


def raw_get(method, *args, **kwargs):
    """Call an SDK GET ``method``; return the answer's JSON as the service sent it (every field, whatever
    the SDK release's models know). azure-core errors propagate."""
    return method(*args, cls=_answer_json, **kwargs)


def raw_list(method, *args, **kwargs):
    """Call an SDK list ``method`` and follow nextLink; return every item as the service sent it.

    Each page's JSON is taken from the answer itself (azure-core's ``raw_response_hook``, which sees every
    attempt, so only 200 answers count). ``limit`` (keyword) stops after that many items: no further page is
    requested then.
    """
    limit = kwargs.pop("limit", None)
    answers = []

    def keep(pipeline_response):
        if pipeline_response.http_response.status_code == 200:
            answers.append(pipeline_response.http_response.json())

    items = []
    for _page in method(*args, raw_response_hook=keep, **kwargs).by_page():   # each step fetches one page
        while answers:
            items.extend(answers.pop(0).get("value") or [])
        if limit is not None and len(items) >= limit:
            return items[:limit]
    return items
