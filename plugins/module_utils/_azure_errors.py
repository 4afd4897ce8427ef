# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The collection's one error tree, and the mapping of SDK errors to messages a user can act on.

``InvalidOptions`` (options Azure would refuse, found before anything changes), ``Blocked`` (an item not where the
next step can start) and ``AzureModuleError`` (an Azure operation failed); ``_azure_module.AzureModule.fail_error``
turns each into the task's failure.

Every Azure-side failure reaches a module as ``AzureModuleError``. Its message always says
which operation failed ("Failed to list the replicated VMs of vault 'v'"), the service's error
code, the possible causes and the recommended action when the service gave them (ASR puts
them in ``error.details[]`` of a synchronous error, ``reprotect.json`` entry 12, and in
``serviceErrorDetails`` of a failed job, ``enable_managed_disks.json`` entry 14).

Around an SDK call, ``with azure_errors("list the replicated VMs of vault 'v'"):``, or the ``azure_operation``
decorator on a thin wrapper function (with ``missing=None`` for a reader of a resource that may not exist).
"""

import contextlib
import functools
import inspect
import json
import re

try:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )
    # The azure-core errors an SDK call raises: HTTP answers (401 and 404 are subclasses of
    # HttpResponseError), and failures to send a request or read its answer.
    AZURE_SDK_ERRORS = (HttpResponseError, ServiceRequestError, ServiceResponseError)
except ImportError:  # the SDK's absence is reported by _azure_clients.require_sdks
    ClientAuthenticationError = HttpResponseError = ResourceNotFoundError = None
    ServiceRequestError = ServiceResponseError = None
    AZURE_SDK_ERRORS = ()


class InvalidOptions(Exception):
    """Options Azure would refuse, found before anything changes. ``str(error)`` is the task's message:
    "Invalid options: <problem>; <problem>."; each problem names the option, the value and what is allowed."""

    def __init__(self, *problems):
        self.problems = [problem for problem in problems if problem]
        super().__init__(f"Invalid options: {'; '.join(self.problems)}.")


class Blocked(Exception):
    """The item is not where the task's next step can start (the service's allowed operations say no, or a check
    before a failover failed). ``str(error)`` says why; the module names the VM."""


class AzureModuleError(Exception):
    """An Azure operation failed. ``str(error)`` is the whole message for the user.

    Attributes (all optional except ``operation``):
      operation: what was attempted, as "<verb> <object>" ("create replication policy 'p'").
      code: the service's error code ("6001", "SubscriptionRequestsThrottled", "AuthorizationFailed").
      reason: the service's message, or what went wrong on the way to the service.
      possible_causes / recommended_action: the service's words when it sent them, else ours.
      status: the HTTP status, when there was an answer.
      details: extra data for the task result (a failed job, the raw error body).
    """

    def __init__(self, operation, reason, code=None, possible_causes=None, recommended_action=None,
                 status=None, details=None):
        self.operation = operation
        self.reason = _clean(reason)
        self.code = code
        self.possible_causes = _clean(possible_causes)
        self.recommended_action = _clean(recommended_action)
        self.status = status
        self.details = details
        super(AzureModuleError, self).__init__(self._message())

    def _message(self):
        text = f"Failed to {self.operation}"
        if self.code:
            text += f" ({self.code})"
        if self.reason:
            text += f": {self.reason.rstrip('.')}"
        text += "."
        if self.possible_causes:
            text += f" Possible causes: {_sentence(self.possible_causes)}"
        if self.recommended_action:
            text += f" Recommended action: {_sentence(self.recommended_action)}"
        return text

    def as_dict(self):
        """The error as data, for a task result's ``error`` key."""
        return {
            "operation": self.operation, "code": self.code, "status": self.status, "message": self.reason,
            "possible_causes": self.possible_causes, "recommended_action": self.recommended_action,
            "details": self.details,
        }

    def fail_kwargs(self):
        """Keyword arguments for ``module.fail_json``: ``msg`` and ``error``."""
        return {"msg": str(self), "error": self.as_dict()}


def _clean(text):
    """Collapse the service's indentation and line breaks (possibleCauses in job 6001 is indented)."""
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text or None


def _sentence(text):
    return text if text.endswith((".", "!", "?")) else f"{text}."


def parse_error_body(body):
    """``(code, message, possible_causes, recommended_action)`` from an ARM/ASR error body.

    ARM: ``{"error": {"code", "message", "details": [...]}}``. ASR puts its own code and advice in
    ``details[0]`` (``{"code": "InvalidFailoverDirection", "possibleCauses", "recommendedAction"}``,
    reprotect.json entry 12), so a detail's code wins over the generic top-level "BadRequest".
    Entra ID answers ``{"error": "invalid_client", "error_description": "AADSTS7000215: ..."}``.
    Anything else gives ``(None, None, None, None)``.
    """
    if not isinstance(body, dict):
        return None, None, None, None
    error = body.get("error")
    if isinstance(error, str):
        return error, body.get("error_description"), None, None
    if not isinstance(error, dict):
        return None, None, None, None
    code, message = error.get("code"), error.get("message")
    causes = action = None
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        code = detail.get("code") or code
        message = detail.get("message") or message
        causes = detail.get("possibleCauses") or causes
        action = detail.get("recommendedAction") or action
        break
    return code, message, causes, action


def _response_body(exc):
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        return json.loads(response.text())
    except (ValueError, TypeError, AttributeError):
        return None


def _header(exc, name):
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


# What to do about common ARM and Entra ID codes, when the service gave no advice of its own.
_ADVICE = {
    "AuthorizationFailed": "Grant the principal a role on the vault's resource group that allows the operation "
                           "(Site Recovery Contributor for Site Recovery, Contributor for storage), then retry.",
    "SubscriptionNotFound": "Check subscription_id (or AZURE_SUBSCRIPTION_ID) and that the principal can see it.",
    "ResourceGroupNotFound": "The resource group named in the message does not exist: check the task's resource "
                             "group options (resource_group, target_resource_group, network_resource_group).",
    "ResourceNotFound": "Check the resource group and the names given to the task.",
    "SubscriptionRequestsThrottled": "Azure Resource Manager throttled the principal's requests. Run fewer tasks "
                                     "against Azure at once (the throttle or forks keyword) and retry.",
    "invalid_client": "Check client_id and secret (use the secret's value, not its id).",
    "unauthorized_client": "Check client_id and tenant.",
    "invalid_tenant": "Check tenant.",
}


def error_from_exception(operation, exc):
    """An ``AzureModuleError`` for an azure-core or azure-identity exception raised by ``operation``."""
    if ServiceRequestError is not None and isinstance(exc, ServiceRequestError):
        reason = _first_line(exc)
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            return AzureModuleError(
                operation, f"the server's TLS certificate could not be verified ({reason})", code="TLSVerifyFailed",
                recommended_action="Give the CA bundle that signed the endpoint's certificate with ca_cert or the "
                                   "REQUESTS_CA_BUNDLE environment variable; cert_validation_mode=ignore turns "
                                   "verification off, for test endpoints only.")
        return AzureModuleError(operation, f"could not reach Azure ({reason})", code="ServiceRequestError",
                                recommended_action="Check the network path to the endpoint and cloud_environment.")
    if ServiceResponseError is not None and isinstance(exc, ServiceResponseError):
        return AzureModuleError(operation, f"no usable answer from Azure ({_first_line(exc)})",
                                code="ServiceResponseError", recommended_action="Retry the task.")
    status = getattr(exc, "status_code", None)
    code, message, causes, action = parse_error_body(_response_body(exc))
    sdk_error = getattr(exc, "error", None)   # azure-core's parsed ODataV4 error, when it found one
    code = code or getattr(sdk_error, "code", None)
    message = message or getattr(sdk_error, "message", None) or _first_line(exc)
    if ClientAuthenticationError is not None and isinstance(exc, ClientAuthenticationError) and status is None:
        # Raised by azure-identity while getting a token: nothing reached Azure Resource Manager. Entra ID's
        # own code (AADSTS7000215: invalid secret, AADSTS700016: unknown app, ...) is in the message.
        reason = _first_line(exc)
        entra_code = re.search(r"AADSTS\d+", reason)
        if not reason.lower().startswith("authentication failed"):
            reason = f"authentication failed: {reason}"
        return AzureModuleError(operation, reason, code=entra_code.group(0) if entra_code else code or "AuthenticationFailed",
                                recommended_action=_ADVICE.get(code) or "Check the credentials (auth_source, client_id, "
                                "secret, tenant or the profile) and cloud_environment.")
    if status == 429:
        retry_after = _header(exc, "retry-after")
        reason = message + (f" (Retry-After: {retry_after} s)" if retry_after else "")
        return AzureModuleError(operation, reason, code=code or "TooManyRequests", possible_causes=causes,
                                recommended_action=action or _ADVICE["SubscriptionRequestsThrottled"], status=status)
    if status == 404 and not action:
        action = _ADVICE.get(code) or _ADVICE["ResourceNotFound"]
    return AzureModuleError(operation, message, code=code, possible_causes=causes,
                            recommended_action=action or _ADVICE.get(code), status=status)


def _first_line(exc):
    text = str(getattr(exc, "message", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


@contextlib.contextmanager
def azure_errors(operation):
    """Turn the azure-core errors raised inside the block into ``AzureModuleError(operation, ...)``."""
    try:
        yield
    except AZURE_SDK_ERRORS as exc:
        raise error_from_exception(operation, exc)


_RAISE = object()


def azure_operation(description, missing=_RAISE):
    """Decorate a thin SDK wrapper: its azure-core errors become ``AzureModuleError``.

    ``description`` may name the wrapper's arguments: ``@azure_operation("get replication policy
    '{policy_name}' of vault '{vault}'")``. With ``missing`` (usually None), a resource Azure does not have
    (``is_not_found``) makes the wrapper return ``missing`` instead of failing: the ``get_*`` readers.
    """
    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except AZURE_SDK_ERRORS as exc:
                if missing is not _RAISE and is_not_found(exc):
                    return missing
                bound = signature.bind_partial(*args, **kwargs)
                raise error_from_exception(description.format(**bound.arguments), exc)
        return wrapper
    return decorate


def is_not_found(exc):
    """True for a 404, and for ASR's 400 SubscriptionIdNotRegisteredWithSrs on a vault that never used
    Site Recovery (Azure/azure-rest-api-specs#12759; Terraform's azurerm treats it as not found too)."""
    if ResourceNotFoundError is not None and isinstance(exc, ResourceNotFoundError):
        return True
    status = getattr(exc, "status_code", None)
    if status == 404:
        return True
    if status == 400:
        code = parse_error_body(_response_body(exc))[0]
        return code == "SubscriptionIdNotRegisteredWithSrs"
    return False
