# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The Site Recovery REST API through azure-mgmt-core's ARM pipeline, without the Site Recovery SDK.

Why: Ansible execution environments (AWX, ansible-builder) hold every collection of a job in one Python
environment, and azure.azcollection pins azure-mgmt-core 1.4.0, while the Site Recovery SDK 2.0.0
needs azure-mgmt-core 1.6 and its 1.x releases bind the vault into the client and take other
arguments. The collection needs neither: it sends the REST bodies of the Site Recovery REST API (2025-08-01) as JSON and reads the
service's JSON. ``SiteRecoveryClient`` offers the operation groups and method names of the SDK 2.0.0
client for the calls the collection makes (``client.replication_protected_items.get(resource_group,
vault_name, fabric, container, item)``, ``begin_create(..., body)``, ``list(...)``), with the same
pipeline: ARM bearer-token authentication, azure-core's retry policy (Retry-After honoured), the
resource-provider registration policy, ``raw_response_hook`` and ``cls`` callbacks. So
``_asr.api``, ``_asr.api.start_operation`` and ``_azure_clients.raw_get`` / ``raw_list`` work with it
unchanged.

- GET of one resource returns its JSON (``cls(pipeline_response, json, headers)`` when given).
- Lists return azure-core's ``ItemPaged`` of JSON items, following ``nextLink`` (api-version kept).
- ``begin_*`` mutations need ``polling=False`` (the collection waits for the ASR job itself,
  ``_asr.waiters.wait_for_job``) and return None; the body is the next positional argument or any keyword
  that is not a request option, a dict (sent as JSON) or bytes (sent as they are).
- Failures raise azure-core's errors (``HttpResponseError``; ``ResourceNotFoundError`` for 404,
  ``ClientAuthenticationError`` for 401), with ARM's error body parsed.
"""

import copy
import json
from ansible.module_utils.six.moves.urllib.parse import quote

try:
    from azure.core.configuration import Configuration
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError, map_error
    from azure.core.paging import ItemPaged
    from azure.core.pipeline import policies
    from azure.core.rest import HttpRequest
    from azure.core.utils import case_insensitive_dict
    from azure.mgmt.core import ARMPipelineClient
    from azure.mgmt.core.exceptions import ARMErrorFormat
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy
    HAS_AZURE_MGMT_CORE = True
except ImportError:  # reported by _azure_clients.missing_sdks
    HAS_AZURE_MGMT_CORE = False


VAULT_PATH = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.RecoveryServices/vaults/{}"


# Keywords that shape the request, never a body.
REQUEST_OPTIONS = ("polling", "raw_response_hook", "cls", "timeout", "filter", "skip_token", "headers",
                   "error_map", "retry_total", "connection_timeout", "read_timeout", "logging_enable")


FABRIC = "/replicationFabrics/{}"
CONTAINER = f"{FABRIC}/replicationProtectionContainers/{{}}"
ITEM = f"{CONTAINER}/replicationProtectedItems/{{}}"


# Operation group -> SDK 2.0.0 method name -> (HTTP method, path under the vault, "{}" per name argument),
# from the SDK's request builders (api-version 2025-08-01).
OPERATIONS = {
    "replication_protected_items": {
        "get": ("GET", ITEM),
        "begin_create": ("PUT", ITEM),
        "begin_update": ("PATCH", ITEM),
        "begin_purge": ("DELETE", ITEM),
        "list_by_replication_protection_containers": ("GET", f"{CONTAINER}/replicationProtectedItems"),
        "begin_add_disks": ("POST", f"{ITEM}/addDisks"),
        "begin_apply_recovery_point": ("POST", f"{ITEM}/applyRecoveryPoint"),
        "begin_failover_cancel": ("POST", f"{ITEM}/failoverCancel"),
        "begin_failover_commit": ("POST", f"{ITEM}/failoverCommit"),
        "begin_planned_failover": ("POST", f"{ITEM}/plannedFailover"),
        "begin_delete": ("POST", f"{ITEM}/remove"),
        "begin_remove_disks": ("POST", f"{ITEM}/removeDisks"),
        "begin_repair_replication": ("POST", f"{ITEM}/repairReplication"),
        "begin_reprotect": ("POST", f"{ITEM}/reProtect"),
        "begin_resolve_health_errors": ("POST", f"{ITEM}/resolveHealthErrors"),
        "begin_switch_provider": ("POST", f"{ITEM}/switchProvider"),
        "begin_test_failover": ("POST", f"{ITEM}/testFailover"),
        "begin_test_failover_cleanup": ("POST", f"{ITEM}/testFailoverCleanup"),
        "begin_unplanned_failover": ("POST", f"{ITEM}/unplannedFailover"),
        "begin_update_appliance": ("POST", f"{ITEM}/updateAppliance"),
        "begin_update_mobility_service": ("POST", f"{ITEM}/updateMobilityService"),
        "begin_reinstall_mobility_service": ("POST", f"{ITEM}/reinstallMobilityService"),
        "list": ("GET", "/replicationProtectedItems"),
    },
    "target_compute_sizes": {
        "list_by_replication_protected_items": ("GET", f"{ITEM}/targetComputeSizes"),
    },
    "recovery_points": {
        "get": ("GET", f"{ITEM}/recoveryPoints/{{}}"),
        "list_by_replication_protected_items": ("GET", f"{ITEM}/recoveryPoints"),
    },
    "replication_fabrics": {
        "get": ("GET", FABRIC),
        "begin_create": ("PUT", FABRIC),
        "begin_purge": ("DELETE", FABRIC),
        "list": ("GET", "/replicationFabrics"),
        "begin_check_consistency": ("POST", f"{FABRIC}/checkConsistency"),
        "begin_migrate_to_aad": ("POST", f"{FABRIC}/migratetoaad"),
        "begin_reassociate_gateway": ("POST", f"{FABRIC}/reassociateGateway"),
        "begin_delete": ("POST", f"{FABRIC}/remove"),
        "begin_renew_certificate": ("POST", f"{FABRIC}/renewCertificate"),
        "begin_remove_infra": ("POST", f"{FABRIC}/removeInfra"),
    },
    "replication_protection_containers": {
        "get": ("GET", CONTAINER),
        "begin_create": ("PUT", CONTAINER),
        "list_by_replication_fabrics": ("GET", f"{FABRIC}/replicationProtectionContainers"),
        "begin_discover_protectable_item": ("POST", f"{CONTAINER}/discoverProtectableItem"),
        "begin_delete": ("POST", f"{CONTAINER}/remove"),
        "begin_switch_cluster_protection": ("POST", f"{CONTAINER}/switchClusterProtection"),
        "begin_switch_protection": ("POST", f"{CONTAINER}/switchprotection"),
        "list": ("GET", "/replicationProtectionContainers"),
    },
    "replication_protectable_items": {
        "get": ("GET", f"{CONTAINER}/replicationProtectableItems/{{}}"),
        "list_by_replication_protection_containers": ("GET", f"{CONTAINER}/replicationProtectableItems"),
    },
    "replication_protection_container_mappings": {
        "get": ("GET", f"{CONTAINER}/replicationProtectionContainerMappings/{{}}"),
        "begin_create": ("PUT", f"{CONTAINER}/replicationProtectionContainerMappings/{{}}"),
        "begin_update": ("PATCH", f"{CONTAINER}/replicationProtectionContainerMappings/{{}}"),
        "begin_purge": ("DELETE", f"{CONTAINER}/replicationProtectionContainerMappings/{{}}"),
        "list_by_replication_protection_containers": ("GET", f"{CONTAINER}/replicationProtectionContainerMappings"),
        "begin_delete": ("POST", f"{CONTAINER}/replicationProtectionContainerMappings/{{}}/remove"),
        "list": ("GET", "/replicationProtectionContainerMappings"),
    },
    "replication_recovery_services_providers": {
        "get": ("GET", f"{FABRIC}/replicationRecoveryServicesProviders/{{}}"),
        "begin_create": ("PUT", f"{FABRIC}/replicationRecoveryServicesProviders/{{}}"),
        "begin_purge": ("DELETE", f"{FABRIC}/replicationRecoveryServicesProviders/{{}}"),
        "list_by_replication_fabrics": ("GET", f"{FABRIC}/replicationRecoveryServicesProviders"),
        "begin_refresh_provider": ("POST", f"{FABRIC}/replicationRecoveryServicesProviders/{{}}/refreshProvider"),
        "begin_delete": ("POST", f"{FABRIC}/replicationRecoveryServicesProviders/{{}}/remove"),
        "list": ("GET", "/replicationRecoveryServicesProviders"),
    },
    "replication_jobs": {
        "get": ("GET", "/replicationJobs/{}"),
        "list": ("GET", "/replicationJobs"),
        "begin_cancel": ("POST", "/replicationJobs/{}/cancel"),
        "begin_restart": ("POST", "/replicationJobs/{}/restart"),
        "begin_resume": ("POST", "/replicationJobs/{}/resume"),
    },
    "replication_policies": {
        "get": ("GET", "/replicationPolicies/{}"),
        "begin_create": ("PUT", "/replicationPolicies/{}"),
        "begin_update": ("PATCH", "/replicationPolicies/{}"),
        "begin_delete": ("DELETE", "/replicationPolicies/{}"),
        "list": ("GET", "/replicationPolicies"),
    },
}


def _error(response):
    map_error(status_code=response.status_code, response=response,
              error_map={401: ClientAuthenticationError, 404: ResourceNotFoundError})
    raise HttpResponseError(response=response, error_format=ARMErrorFormat)


def _with_api_version(url, api_version):
    if "api-version=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}api-version={api_version}"


def _segment(name):
    return quote(str(name), safe="")


class _OperationGroup(object):
    """The methods of one operation group, made from OPERATIONS."""

    def __init__(self, client, operations):
        self._client = client
        self._operations = operations

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._operations:
            raise AttributeError(name)
        method, template = self._operations[name]
        names = template.count("{}")

        def call(resource_group, vault_name, *args, **kwargs):
            # Each name is one path segment, encoded once: ARM decodes it and stores the name as given.
            path = VAULT_PATH.format(*[_segment(part) for part in (self._client.subscription_id, resource_group, vault_name)])
            path += template.format(*[_segment(part) for part in args[:names]])
            rest = list(args[names:])
            if method == "GET":
                return self._client.get(path, many=name.startswith("list"), **kwargs)
            body = rest[0] if rest else None
            for key in list(kwargs):
                if key not in REQUEST_OPTIONS:
                    body = kwargs.pop(key)
            return self._client.start(method, path, body, **kwargs)
        call.__name__ = name
        return call


class SiteRecoveryClient(object):
    """Site Recovery over REST; ``client.<group>.<method>(...)`` as in the SDK 2.0.0 client (see OPERATIONS)."""

    def __init__(self, credential, subscription_id, base_url, credential_scopes, api_version, connection_verify=True,
                 **retry_settings):
        self.subscription_id = subscription_id
        self.api_version = api_version
        config = Configuration()
        config.headers_policy = policies.HeadersPolicy()
        config.user_agent_policy = policies.UserAgentPolicy(sdk_moniker="azmigrate-hyperv-siterecovery")
        config.proxy_policy = policies.ProxyPolicy()
        config.logging_policy = policies.NetworkTraceLoggingPolicy()
        config.http_logging_policy = ARMHttpLoggingPolicy()
        config.retry_policy = policies.RetryPolicy(**retry_settings)
        config.custom_hook_policy = policies.CustomHookPolicy()
        config.redirect_policy = policies.RedirectPolicy()
        config.authentication_policy = ARMChallengeAuthenticationPolicy(credential, *credential_scopes)
        self._pipeline_client = ARMPipelineClient(base_url=base_url, config=config, connection_verify=connection_verify)
        for group, operations in OPERATIONS.items():
            setattr(self, group, _OperationGroup(self, operations))

    def send_request(self, request, **kwargs):
        """Any ARM request (``azure.core.rest.HttpRequest``, path relative to the ARM endpoint) through this client's
        pipeline, as the SDK clients' ``send_request``: the HTTP response, whatever its status."""
        request_copy = copy.deepcopy(request)
        request_copy.url = self._pipeline_client.format_url(request_copy.url)
        return self._pipeline_client.send_request(request_copy, **kwargs)

    def _run(self, request, **kwargs):
        kwargs.pop("error_map", None)
        return self._pipeline_client._pipeline.run(request, **kwargs)  # pylint: disable=protected-access

    def _url(self, path):
        return _with_api_version(self._pipeline_client.format_url(path), self.api_version)

    def get(self, path, many=False, **kwargs):
        """GET ``path`` (under the ARM endpoint): one resource's JSON, or an ItemPaged of a list's items."""
        cls = kwargs.pop("cls", None)
        query = [("$filter", kwargs.pop("filter", None)), ("$skipToken", kwargs.pop("skip_token", None))]
        if many:
            return self._pages(path, [(key, value) for key, value in query if value], cls, kwargs)
        pipeline_response = self._run(HttpRequest("GET", self._url(path)), **kwargs)
        response = pipeline_response.http_response
        if response.status_code != 200:
            _error(response)
        body = response.json()
        return cls(pipeline_response, body, {}) if cls else body

    def _pages(self, path, query, cls, kwargs):
        first = self._url(path)
        if query:
            first += "".join(f"&{key}={quote(value, safe='')}" for key, value in query)

        def get_next(next_link=None):
            url = _with_api_version(next_link, self.api_version) if next_link else first
            pipeline_response = self._run(HttpRequest("GET", url), **kwargs)
            if pipeline_response.http_response.status_code != 200:
                _error(pipeline_response.http_response)
            return pipeline_response

        def extract_data(pipeline_response):
            page = pipeline_response.http_response.json()
            items = page.get("value") or []
            return page.get("nextLink") or None, iter(cls(items) if cls else items)

        return ItemPaged(get_next, extract_data)

    def start(self, method, path, body=None, **kwargs):
        """Send one mutation (``polling=False`` is required: no poller); raise on an error answer."""
        if kwargs.pop("polling", True) is not False:
            raise ValueError("Site Recovery mutations are sent with polling=False; wait with _asr.waiters.wait_for_job")
        kwargs.pop("cls", None)
        headers = case_insensitive_dict(kwargs.pop("headers", {}) or {})
        content = None
        if body is not None:
            content = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = HttpRequest(method, self._url(path), headers=headers, content=content)
        response = self._run(request, **kwargs).http_response
        if response.status_code not in (200, 201, 202, 204):
            _error(response)
