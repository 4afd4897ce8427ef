"""The admin API: read and set the world from tests (HTTP + JSON on 127.0.0.1 only).

Adding a route is one line, from any simulated system:

    admin.route("POST", "/installers/{host}/fail", handler)

where `async def handler(call: AdminCall) -> tuple[int, object]` returns a status and a
JSON-serialisable body. Path parameters are in call.params, the query in call.query,
the parsed JSON body in call.body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lab import http
from lab.hosts.patch import PatchError, patch_host
from lab.world import World

Handler = Callable[["AdminCall"], Awaitable[tuple[int, object]]]


@dataclass
class AdminCall:
    world: World
    request: http.Request
    params: dict[str, str]
    body: object

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_value(name, default)


class AdminError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class AdminApi:
    def __init__(self, world: World):
        self.world = world
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        for method, pattern, handler in CORE_ROUTES:
            self.route(method, pattern, handler)

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/") or "/")
        self.routes.append((method.upper(), re.compile(f"^{regex}/?$"), handler))

    async def start(self, port: int = 0):
        return await http.serve("127.0.0.1", port, None, self.handle)

    async def handle(self, request: http.Request) -> http.Response:
        allowed = []
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            try:
                body = json.loads(request.body) if request.body.strip() else None
                status, document = await handler(AdminCall(self.world, request, match.groupdict(), body))
            except json.JSONDecodeError as exc:
                return http.json_response(400, {"error": f"body is not JSON: {exc}"})
            except AdminError as exc:
                return http.json_response(exc.status, {"error": str(exc)})
            return http.json_response(status, document)
        if allowed:
            return http.json_response(405, {"error": f"{request.method} not allowed; use {', '.join(allowed)}"})
        return http.json_response(404, {"error": f"no route {request.method} {request.path}"})


def _host(call: AdminCall):
    try:
        return call.world.host(call.params["name"])
    except KeyError as exc:
        raise AdminError(404, str(exc.args[0])) from None


async def list_hosts(call: AdminCall):
    return 200, [{"name": host.name, "cluster": host.cluster,
                  "address": call.world.endpoints[host.name].address if host.name in call.world.endpoints else None,
                  "vms": len(host.vms)} for host in call.world.hosts]


async def get_host(call: AdminCall):
    return 200, _host(call).to_dict()


async def patch_host_route(call: AdminCall):
    host = _host(call)
    if not isinstance(call.body, dict):
        raise AdminError(400, "PATCH /hosts/{name} takes a JSON object")
    try:
        patch_host(host, call.body)
    except PatchError as exc:
        raise AdminError(400, str(exc)) from None
    return 200, host.to_dict()


async def get_clusters(call: AdminCall):
    return 200, [cluster.to_dict() for cluster in call.world.clusters.values()]


async def patch_cluster(call: AdminCall):
    cluster = call.world.clusters.get(call.params["name"].lower())
    if cluster is None:
        raise AdminError(404, f"no cluster {call.params['name']!r}")
    changes = (call.body or {}).get("nodes", {}) if isinstance(call.body, dict) else {}
    for node in cluster.nodes:
        state = (changes.get(node.name) or {}).get("state")
        if state:
            node.state = state
    return 200, cluster.to_dict()


async def get_log(call: AdminCall):
    since = int(call.query("since", "0") or 0)
    return 200, call.world.log.select(call.query("host"), since)


async def get_counters(call: AdminCall):
    return 200, call.world.log.counters_dict()


def _fault_targets(call: AdminCall, host_name: str | None):
    if host_name in (None, "*"):
        return list(call.world.faults.values())
    if not call.world.has_host(host_name):
        raise AdminError(404, f"no host {host_name!r}")
    return [call.world.faults[call.world.host(host_name).name]]


async def post_faults(call: AdminCall):
    body = call.body if isinstance(call.body, dict) else {}
    known = {"host", "latency_ms", "reset_after_requests", "wsman_fault_next_command"}
    if not body or set(body) - known:
        raise AdminError(400, f"fault keys: {', '.join(sorted(known))}")
    for faults in _fault_targets(call, body.get("host")):
        if "latency_ms" in body:
            faults.latency_s = float(body["latency_ms"]) / 1000
        if "reset_after_requests" in body:
            faults.reset_after_requests = body["reset_after_requests"]
        if "wsman_fault_next_command" in body:
            faults.wsman_fault_next_command = body["wsman_fault_next_command"]
    return 200, await _faults_document(call)


async def delete_faults(call: AdminCall):
    for faults in _fault_targets(call, call.query("host")):
        faults.clear()
    return 200, await _faults_document(call)


async def get_faults(call: AdminCall):
    return 200, await _faults_document(call)


async def _faults_document(call: AdminCall) -> dict:
    return {name: faults.to_dict() for name, faults in call.world.faults.items()}


async def get_clock(call: AdminCall):
    return 200, call.world.clock.to_dict()


async def post_clock(call: AdminCall):
    body = call.body if isinstance(call.body, dict) else {}
    try:
        if "advance_seconds" in body:
            call.world.clock.advance(float(body["advance_seconds"]))
        if "time_scale" in body:
            call.world.clock.set_time_scale(float(body["time_scale"]))
    except ValueError as exc:
        raise AdminError(400, str(exc)) from None
    return 200, call.world.clock.to_dict()


CORE_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/hosts", list_hosts),
    ("GET", "/hosts/{name}", get_host),
    ("PATCH", "/hosts/{name}", patch_host_route),
    ("GET", "/clusters", get_clusters),
    ("PATCH", "/clusters/{name}", patch_cluster),
    ("GET", "/log", get_log),
    ("GET", "/counters", get_counters),
    ("GET", "/faults", get_faults),
    ("POST", "/faults", post_faults),
    ("DELETE", "/faults", delete_faults),
    ("GET", "/clock", get_clock),
    ("POST", "/clock", post_clock),
]
