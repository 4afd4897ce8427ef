"""Azure Resource Manager front door: routing, auth, throttling, api-version, errors, headers.

Every ARM request goes through `Arm.handle`, in the order the real front door applies:
bearer token (401), throttling (429, lab/azure/throttling.py), api-version (400
MissingApiVersionParameter), route (404), then the resource provider's handler. Handlers are
plain functions `handler(call) -> Response` registered per method and path template by each
provider module; they raise `ArmError` for error answers, which become the error-body shape
`{"error": {"code", "message"[, "details"]}}` (the ARMError JSON names of Azure PowerShell's Site Recovery
cmdlets; reprotect.json entry 12).

Long-running operations of Compute, Network and Storage are `Operation`s finishing on the
lab clock; Site Recovery's are its jobs (lab/azure/jobs.py). Either way the delay a client is
told to wait follows the lab clock (`retry_headers`):
- the first answer (202/201) carries Retry-After in whole seconds, as recorded, and at least 1:
  the ASR SDK deserialises it as an int (`_create_initial`: int(response.headers["Retry-After"])),
  and azure-core treats 0 as "no hint" and falls back to its 30 s polling interval;
- status polls carry only retry-after-ms (the recorded job GETs have no Retry-After).
  azure-core prefers Retry-After when both are present (azure/core/pipeline/policies/_utils.py
  get_retry_after), and polls the first time at once, then waits what the last poll said;
  so the SDKs poll at lab speed while the first answers still look like the recordings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from lab.azure import ids
from lab.azure.formats import iso
from lab.azure.hooks import register_once
from lab.azure.entra import Entra, cloud_metadata, management_audience_ok
from lab.azure.state import AzureCloud
from lab.azure.throttling import Throttle, request_kind
from lab.http import Request, Response

log = logging.getLogger(__name__)

MIN_RETRY_S = 0.02   # never tell a client to poll faster than 50 times a second
# A request this much before the end of a 429's Retry-After still counts as on time: the lab stamps the end when it
# sends the answer, the client starts its wait when it reads it, so only timer granularity is forgiven.
RETRY_AFTER_SLACK_S = 0.01


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def not_found(kind: str, name: str) -> ArmError:
    return ArmError(404, "ResourceNotFound", f"The Resource '{kind}/{name}' under resource group was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def bad_request(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)


@dataclass
class ArmCall:
    """One routed ARM request, as a handler sees it."""

    request: Request
    method: str
    path: str
    params: dict[str, str]
    api_version: str
    body: Any
    principal: str
    base_url: str
    now: dt.datetime
    cloud: AzureCloud

    def url(self, path: str, api_version: str | None = None) -> str:
        query = f"?api-version={api_version or self.api_version}"
        return f"{self.base_url}{path}{query}"

    def require_body(self) -> dict:
        if not isinstance(self.body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                           "deserialized: a JSON object is required.")
        return self.body


Handler = Callable[[ArmCall], Response]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern
    handler: Handler
    poll: bool = False       # a job / operation status poll (the 5xx-while-polling knob hits these)


def _compile(template: str) -> re.Pattern:
    # "{name}" matches one path segment; everything else matches case-insensitively, as ARM does.
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile("^" + regex + "/?$", re.IGNORECASE)


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, poll: bool = False) -> None:
        self.routes.append(Route(method, template, _compile(template), handler, poll))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict()
                allowed = True
        if allowed:
            raise ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")
        return None


def json_body(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
                    json.dumps(document).encode())


def empty(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dict(headers or {}), b"")


def retry_headers(cloud: AzureCloud, lab_seconds: float, poll: bool = False) -> dict[str, str]:
    """The wait for `lab_seconds` on the lab clock: Retry-After (whole seconds, >= 1) and
    retry-after-ms on a first answer; retry-after-ms alone on a status poll (module docstring)."""
    real = max(MIN_RETRY_S, lab_seconds / cloud.clock.time_scale)
    headers = {"retry-after-ms": str(max(1, math.ceil(real * 1000)))}
    if not poll:
        headers["Retry-After"] = str(max(1, math.ceil(real - 1e-9)))
    return headers


# What an operation does when it finishes, and the outside conditions it may wait for: module-level functions
# registered by name, so that an operation is plain data (a snapshot keeps it as JSON, lab/persist.py).
OperationHook = Callable[["AzureCloud", dict], None]
ReadyCheck = Callable[["AzureCloud"], bool]
_OPERATION_HOOKS: dict[str, OperationHook] = {}
_READY_CHECKS: dict[str, ReadyCheck] = {}


def operation_hook(name: str) -> Callable[[OperationHook], OperationHook]:
    """Register what an operation named `name` at start does when it finishes: hook(cloud, operation.params)."""
    return lambda function: register_once(_OPERATION_HOOKS, name, function)


def ready_check(name: str) -> Callable[[ReadyCheck], ReadyCheck]:
    """Register an outside condition operations may wait for, by name."""
    return lambda function: register_once(_READY_CHECKS, name, function)


@dataclass
class Operation:
    """A Compute/Network/Storage long-running operation that finishes on the lab clock."""

    id: str
    namespace: str
    started: dt.datetime
    done_at: dt.datetime
    on_done: str | None = None       # the operation hook run when it finishes (operation_hook)
    result_id: str | None = None     # resource returned by the Location URL once done
    ready: str | None = None         # an outside condition the operation also waits for (ready_check)
    finished: bool = False
    error: dict | None = None
    params: dict = field(default_factory=dict)   # what the hook reads

    def status(self) -> str:
        if not self.finished:
            return "InProgress"
        return "Failed" if self.error else "Succeeded"


@dataclass
class RequestLogEntry:
    seq: int
    at: str
    method: str
    path: str
    status: int
    principal: str
    kind: str
    route: str
    early: bool = False    # sent before the Retry-After of a 429 this principal got for this kind had passed


class Arm:
    """The ARM server: one instance per lab, shared by every resource provider module."""

    def __init__(self, cloud: AzureCloud, entra: Entra, throttle: Throttle):
        self.cloud = cloud
        self.entra = entra
        self.throttle = throttle
        self.router = Router()
        self.base_url = ""
        self.operations: dict[str, Operation] = {}
        self.tickers: list[Callable[[dt.datetime], None]] = [self._tick_operations]
        self.requests: list[RequestLogEntry] = []
        self._request_seq = 0
        # (principal, kind) -> the throttle clock's time before which a 429's Retry-After forbids the next request
        self.retry_after_until: dict[tuple[str, str], float] = {}
        self.router.add("GET", "/subscriptions/{subscription}/providers/{namespace}/locations/{location}/operations/{op}",
                        self._operation_status, poll=True)
        self.router.add("GET", "/subscriptions/{subscription}/providers/{namespace}/locations/{location}/operationResults/{op}",
                        self._operation_result, poll=True)

    # --- the world moves on before every answer ---

    def tick(self) -> None:
        now = self.cloud.now()
        for ticker in self.tickers:
            ticker(now)

    # --- front door ---

    async def handle(self, request: Request) -> Response:
        if request.path.rstrip("/").lower() == "/metadata/endpoints":
            document = cloud_metadata(self.base_url, self.cloud.endpoints.get("authority", ""),
                                      self.cloud.endpoints.get("storage_suffix", ""), request.query_value("api-version"))
            return self._finish(request, json_body(200, document), "-", "reads", "metadata")
        principal, kind, route_name = "-", "reads", "-"
        throttle_headers: dict[str, str] = {}
        early = False
        try:
            principal = self._authenticate(request)
            early = self._before_retry_after(principal, request)
            kind, throttle_headers = self._admit(principal, request)
            self.tick()
            response, route_name = self._dispatch(request, principal)
        except ArmError as exc:
            response = json_body(exc.status, exc.body(), exc.headers)
        for name, value in throttle_headers.items():    # errors count against the budget too
            response.headers.setdefault(name, value)
        return self._finish(request, response, principal, kind, route_name, early)

    def _authenticate(self, request: Request) -> str:
        authorization = request.headers.get("Authorization") or ""
        challenge = (f'Bearer authorization_uri="{self.cloud.endpoints.get("authority", "")}/'
                     f'{self.cloud.tenant.tenant_id}", error="invalid_token", '
                     'error_description="The authentication failed because of missing \'Authorization\' header."')
        if not authorization.startswith("Bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           headers={"WWW-Authenticate": challenge})
        claims = self.entra.verify(authorization[len("Bearer "):].strip())
        if claims is None:
            raise ArmError(401, "InvalidAuthenticationToken",
                           "The access token is invalid or has expired.",
                           headers={"WWW-Authenticate": challenge.replace("missing 'Authorization' header",
                                                                          "an invalid or expired token")})
        if not management_audience_ok(claims.audience, self.base_url):
            raise ArmError(401, "InvalidAuthenticationTokenAudience",
                           f"The access token has been obtained for wrong audience or resource '{claims.audience}'. "
                           "It should exactly match with one of the allowed audiences "
                           "'https://management.core.windows.net/','https://management.azure.com/'.")
        return claims.principal

    def _before_retry_after(self, principal: str, request: Request) -> bool:
        """Whether the request comes before the Retry-After of the last 429 its principal got for its kind: ARM
        asks clients to wait that long (learn.microsoft.com/azure/azure-resource-manager/management/
        request-limits-and-throttling, "Error code"); the lab counts such a request as a violation."""
        until = self.retry_after_until.get((principal, request_kind(request.method)))
        if until is None:
            return False
        now = self.throttle.now()
        if now >= until - RETRY_AFTER_SLACK_S:
            del self.retry_after_until[(principal, request_kind(request.method))]
            return False
        log.warning("ARM request %s %s by %s before the Retry-After of its 429 passed (%.2f s early)",
                    request.method, request.path, principal, until - now)
        return True

    def _admit(self, principal: str, request: Request) -> tuple[str, dict[str, str]]:
        faults = self.cloud.faults
        verdict = self.throttle.check(principal, self.cloud.subscription_id, request.method)
        if faults.storm_429 > 0:
            faults.storm_429 -= 1
            self._throttled(verdict.kind, principal, faults.storm_retry_after_s)
        if not verdict.allowed:
            self._throttled(verdict.kind, principal, verdict.retry_after_s)
        return verdict.kind, {
            f"x-ms-ratelimit-remaining-subscription-{verdict.kind}": str(verdict.remaining),
            f"x-ms-ratelimit-remaining-subscription-global-{verdict.kind}": str(verdict.global_remaining),
        }

    def _throttled(self, kind: str, principal: str, wait_s: float) -> None:
        # Throttling runs on real time (throttling.py), so Retry-After is real seconds here;
        # whole seconds, as ARM sends them, and at least 1 (0 would mean "use your own default").
        seconds = max(1, math.ceil(wait_s))
        self.retry_after_until[(principal, kind)] = self.throttle.now() + seconds
        action = {"reads": "read", "writes": "write", "deletes": "delete"}[kind]
        raise ArmError(429, "SubscriptionRequestsThrottled",
                       f"Number of '{action}' requests for subscription '{self.cloud.subscription_id}' actor "
                       f"'{principal}' exceeded. Please try again after '{seconds}' seconds after additional "
                       "tokens are available. Refer to https://aka.ms/arm-throttling",
                       headers={"Retry-After": str(seconds), "retry-after-ms": str(seconds * 1000),
                                f"x-ms-ratelimit-remaining-subscription-{kind}": "0"})

    def _dispatch(self, request: Request, principal: str) -> tuple[Response, str]:
        api_version = request.query_value("api-version")
        if not api_version:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        matched = self.router.match(request.method, request.path)
        if matched is None:
            log.warning("lab ARM has no route for %s %s", request.method, request.path)
            raise ArmError(404, "InvalidResourceType",
                           f"The lab's ARM does not serve {request.method} {request.path}.")
        route, params = matched
        # ARM decodes each path segment once: a name sent encoded is stored and matched as the user gave it.
        params = {key: unquote(value) for key, value in params.items()}
        faults = self.cloud.faults
        if route.poll and faults.poll_5xx > 0:
            faults.poll_5xx -= 1
            raise ArmError(faults.poll_5xx_status, "ServiceUnavailable" if faults.poll_5xx_status == 503
                           else "InternalServerError",
                           "The service is temporarily unavailable. Retry the request after some time.",
                           headers=retry_headers(self.cloud, 5, poll=True))
        body = None
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                raise ArmError(400, "InvalidRequestContent",
                               "The request content was invalid and could not be deserialized.") from None
        call = ArmCall(request, request.method, request.path, params, api_version, body, principal,
                       self.base_url, self.cloud.now(), self.cloud)
        return route.handler(call), route.template

    def _finish(self, request: Request, response: Response, principal: str, kind: str, route: str,
                early: bool = False) -> Response:
        headers = response.headers
        headers.setdefault("x-ms-request-id", ids.new_guid())
        headers.setdefault("x-ms-correlation-request-id", ids.new_guid())
        client_request_id = request.headers.get("x-ms-client-request-id")
        if client_request_id:
            headers.setdefault("x-ms-client-request-id", client_request_id)
        headers.setdefault("Cache-Control", "no-cache")
        self._request_seq += 1
        self.requests.append(RequestLogEntry(self._request_seq, self.cloud.clock.isoformat(), request.method,
                                             request.path, response.status, principal, kind, route, early))
        return response

    # --- long-running operations of Compute, Network and Storage ---

    def start_operation(self, namespace: str, lab_seconds: float, on_done: str | None = None,
                        result_id: str | None = None, ready: str | None = None,
                        params: dict | None = None) -> Operation:
        """An operation finishing in `lab_seconds` (and once the `ready` check passes), then running the operation
        hook named `on_done` with `params`."""
        for name, table in ((on_done, _OPERATION_HOOKS), (ready, _READY_CHECKS)):
            if name is not None and name not in table:
                raise LookupError(f"no operation hook or ready check named {name!r}")
        now = self.cloud.now()
        operation = Operation(ids.new_guid(), namespace, now, now + dt.timedelta(seconds=lab_seconds),
                              on_done, result_id, ready, params=params or {})
        self.operations[operation.id] = operation
        return operation

    def operation_headers(self, operation: Operation, async_header: bool = True, location: bool = True) -> dict[str, str]:
        base = (f"{self.base_url}/subscriptions/{self.cloud.subscription_id}/providers/{operation.namespace}"
                f"/locations/{self.cloud.location}")
        api = {"Microsoft.Compute": "2026-03-02", "Microsoft.Network": "2026-03-01"}.get(operation.namespace, "2026-09-01")
        headers = retry_headers(self.cloud, max(1.0, (operation.done_at - self.cloud.now()).total_seconds()))
        if async_header:
            headers["Azure-AsyncOperation"] = f"{base}/operations/{operation.id}?api-version={api}"
        if location:
            headers["Location"] = f"{base}/operationResults/{operation.id}?api-version={api}"
        return headers

    def _tick_operations(self, now: dt.datetime) -> None:
        for operation in list(self.operations.values()):
            if not operation.finished and now >= operation.done_at and (
                    operation.ready is None or _READY_CHECKS[operation.ready](self.cloud)):
                operation.finished = True
                if operation.on_done is not None:
                    _OPERATION_HOOKS[operation.on_done](self.cloud, operation.params)

    def _operation(self, call: ArmCall) -> Operation:
        operation = self.operations.get(call.params["op"])
        if operation is None:
            raise ArmError(404, "NotFound", f"Operation {call.params['op']} was not found.")
        return operation

    def _operation_status(self, call: ArmCall) -> Response:
        operation = self._operation(call)
        document: dict[str, Any] = {"name": operation.id, "status": operation.status(), "startTime": iso(operation.started)}
        if operation.finished:
            document["endTime"] = iso(operation.done_at)
        if operation.error:
            document["error"] = operation.error
        headers = {} if operation.finished else retry_headers(self.cloud, (operation.done_at - call.now).total_seconds(),
                                                              poll=True)
        return json_body(200, document, headers)

    def _operation_result(self, call: ArmCall) -> Response:
        operation = self._operation(call)
        if not operation.finished:
            return empty(202, {"Location": f"{self.base_url}{call.path}?api-version={call.api_version}",
                               **retry_headers(self.cloud, (operation.done_at - call.now).total_seconds(), poll=True)})
        document = self.cloud.get(operation.result_id) if operation.result_id else None
        return json_body(200, document) if document is not None else empty(204)

    def request_counts(self, since: int = 0) -> dict:
        entries = [e for e in self.requests if e.seq > since]
        by_route: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for entry in entries:
            by_route[f"{entry.method} {entry.route}"] = by_route.get(f"{entry.method} {entry.route}", 0) + 1
            by_status[str(entry.status)] = by_status.get(str(entry.status), 0) + 1
        return {"total": len(entries), "last_seq": self._request_seq, "by_route": by_route, "by_status": by_status,
                "retry_after_violations": sum(1 for entry in entries if entry.early)}
