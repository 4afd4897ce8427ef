"""Admin API routes of the Azure side (lab/admin.py mechanism), all under /azure.

    GET    /azure                          endpoints, faults, throttle limits
    POST   /azure/faults                   {storm_429, storm_retry_after_s, poll_5xx, poll_5xx_status,
                                            latency_ms, reset_after_requests}
    DELETE /azure/faults                   clear every Azure fault
    POST   /azure/faults/job-failure       {scenario, code, task?, vm?, count?}: next job(s) fail with a real code
    POST   /azure/faults/lost-answer       {scenario, status: 500|502|503|504, vm?, count?}: the next mutation(s) of
                                            the scenario start their job, but answer the status (no Retry-After)
    POST   /azure/faults/slow-vm           {vm, factor}: the VM's jobs' tasks take factor times as long
    POST   /azure/providers/{host}         {connected: false|true}: the host's provider (dis)connects
    POST   /azure/throttle                 {kind: reads|writes|deletes, capacity, refill_per_s}
    DELETE /azure/throttle                 back to ARM's limits, buckets full
    GET    /azure/requests?since=N         ARM request counts by route and status, and retry_after_violations
                                            (requests sent before a 429's Retry-After had passed)
    POST   /azure/hosts/{host}/link        {bps}: the host's WAN link, bytes/s
    POST   /azure/vms/{vm}/churn           {bps}: the VM's write rate, bytes/s
    POST   /azure/vms/{vm}/readiness       {errors?: [text], supported_providers?: [name]}: the VM's protectable item
                                            reports these readiness errors (besides Hyper-V Replica's) and providers;
                                            {} clears them
    GET    /azure/items                    every protected item: state, progress, RPO
    POST   /azure/principals               a new service principal (per-principal throttling)
    POST   /azure/credentials/check        {xml}: vault credentials file check (lab/registrations.py's,
                                            as DRConfigurator /r does) -> {valid, reason, vault_name, ...}
    GET    /azure/discovery                the discovery knobs {delay_s, refresh_interval_s} (lab seconds)
    POST   /azure/discovery                {delay_s?, refresh_interval_s?}: how long the vault takes to see VMs
    GET    /azure/sites                    every vault's Hyper-V sites: created, providers, the VMs each has
                                            discovered (and the inventory still on its way), certificates
    GET    /azure/world                    what a task can change, for before/after comparisons: resource groups,
                                            ARM resources (id, tags, subnets), and per vault its sites, providers,
                                            policies, associations, items (settings, failover state) and job count;
                                            never what time alone moves (replication progress, RPO, health)
"""

from __future__ import annotations

from dataclasses import asdict

from lab import registrations, vault_credentials
from lab.admin import AdminApi, AdminCall, AdminError
from lab.azure import discovery
from lab.azure.item_views import rpi_json
from lab.azure.faults import LOST_ANSWER_ERRORS, SERVICE_ERRORS, JobFailure, LostAnswer
from lab.azure.jobs import SCENARIOS
from lab.azure.state import AzureCloud
from lab.azure.throttling import LIMITS


def _body(call: AdminCall) -> dict:
    if call.body is None:
        return {}
    if not isinstance(call.body, dict):
        raise AdminError(400, "the body must be a JSON object")
    return call.body


def register(admin: AdminApi, cloud: AzureCloud) -> None:
    arm = cloud.arm

    async def overview(_call: AdminCall):
        return 200, {"endpoints": dict(cloud.endpoints), "faults": cloud.faults.to_dict(),
                     "throttle": {k: {"capacity": c, "refill_per_s": r} for k, (c, r) in arm.throttle.limits.items()}}

    async def set_faults(call: AdminCall):
        body = _body(call)
        known = {"storm_429", "storm_retry_after_s", "poll_5xx", "poll_5xx_status", "latency_ms", "reset_after_requests"}
        if not body or set(body) - known:
            raise AdminError(400, f"fault keys: {', '.join(sorted(known))}")
        faults = cloud.faults
        faults.storm_429 = int(body.get("storm_429", faults.storm_429))
        faults.storm_retry_after_s = float(body.get("storm_retry_after_s", faults.storm_retry_after_s))
        faults.poll_5xx = int(body.get("poll_5xx", faults.poll_5xx))
        faults.poll_5xx_status = int(body.get("poll_5xx_status", faults.poll_5xx_status))
        if faults.poll_5xx_status not in (500, 502, 503, 504):
            raise AdminError(400, "poll_5xx_status must be 500, 502, 503 or 504")
        if "latency_ms" in body:
            faults.connection.latency_s = float(body["latency_ms"]) / 1000
        if "reset_after_requests" in body:
            faults.connection.reset_after_requests = body["reset_after_requests"]
        return 200, faults.to_dict()

    async def clear_faults(_call: AdminCall):
        cloud.faults.clear()
        return 200, cloud.faults.to_dict()

    async def job_failure(call: AdminCall):
        body = _body(call)
        scenario, code = body.get("scenario"), str(body.get("code", ""))
        if scenario not in SCENARIOS:
            raise AdminError(400, f"scenario must be one of {', '.join(sorted(SCENARIOS))}")
        if code not in SERVICE_ERRORS:
            raise AdminError(400, f"code must be one of {', '.join(sorted(SERVICE_ERRORS))}")
        failure = JobFailure(scenario, code, int(body.get("task", 0)), body.get("vm"), int(body.get("count", 1)))
        cloud.faults.job_failures.append(failure)
        return 200, cloud.faults.to_dict()

    async def lost_answer(call: AdminCall):
        body = _body(call)
        scenario, status, count = body.get("scenario"), body.get("status", 503), body.get("count", 1)
        if scenario not in SCENARIOS:
            raise AdminError(400, f"scenario must be one of {', '.join(sorted(SCENARIOS))}")
        if status not in LOST_ANSWER_ERRORS:
            raise AdminError(400, f"status must be one of {', '.join(map(str, sorted(LOST_ANSWER_ERRORS)))}")
        if not isinstance(count, int) or count < 1:
            raise AdminError(400, "count must be a whole number >= 1 (how many answers to lose)")
        cloud.faults.lost_answers.append(LostAnswer(scenario, status, body.get("vm"), count))
        return 200, cloud.faults.to_dict()

    async def slow_vm(call: AdminCall):
        body = _body(call)
        factor = float(body.get("factor", 1))
        if not body.get("vm") or factor <= 0:
            raise AdminError(400, "give vm (a VM name) and factor (> 0: the length of its jobs' tasks is multiplied by it)")
        cloud.faults.job_seconds_factor[str(body["vm"]).lower()] = factor
        return 200, cloud.faults.to_dict()

    async def provider_connection(call: AdminCall):
        connected = bool(_body(call).get("connected", False))
        touched = []
        for vault in cloud.vaults.values():
            for fabric in vault.fabrics.values():
                discovery.sync_providers(cloud, vault, fabric)
                provider = fabric.providers.get(call.params["host"].lower())
                if provider is not None:
                    provider.forced_disconnected = not connected
                    touched.append({"vault": vault.name, "site": fabric.name, "provider": provider.name,
                                    "connected": discovery.connected(cloud, provider)})
        if not touched:
            raise AdminError(404, f"host {call.params['host']!r} is not registered to any vault's site")
        return 200, touched

    async def set_throttle(call: AdminCall):
        body = _body(call)
        if body.get("kind") not in LIMITS:
            raise AdminError(400, f"kind must be one of {', '.join(LIMITS)}")
        arm.throttle.set_limits(body["kind"], int(body["capacity"]), float(body["refill_per_s"]))
        return 200, {k: {"capacity": c, "refill_per_s": r} for k, (c, r) in arm.throttle.limits.items()}

    async def reset_throttle(_call: AdminCall):
        arm.throttle.reset()
        arm.retry_after_until.clear()
        return 200, {k: {"capacity": c, "refill_per_s": r} for k, (c, r) in arm.throttle.limits.items()}

    async def requests(call: AdminCall):
        return 200, arm.request_counts(int(call.query("since", "0") or 0))

    async def host_link(call: AdminCall):
        if not call.world.has_host(call.params["host"]):
            raise AdminError(404, f"no host {call.params['host']!r}")
        cloud.link_bps[call.params["host"].lower()] = float(_body(call)["bps"])
        return 200, {"host": call.params["host"], "bps": cloud.link_bps[call.params["host"].lower()]}

    async def vm_churn(call: AdminCall):
        wanted = call.params["vm"].lower()
        vm = next((v for h in call.world.hosts for v in h.vms if wanted in (v.name.lower(), v.id.lower())), None)
        if vm is None:
            raise AdminError(404, f"no VM {call.params['vm']!r}")
        cloud.churn_bps[vm.id.lower()] = float(_body(call)["bps"])
        return 200, {"vm": vm.name, "id": vm.id, "bps": cloud.churn_bps[vm.id.lower()]}

    async def vm_readiness(call: AdminCall):
        body = _body(call)
        wanted = call.params["vm"].lower()
        vm = next((v for h in call.world.hosts for v in h.vms if wanted in (v.name.lower(), v.id.lower())), None)
        if vm is None:
            raise AdminError(404, f"no VM {call.params['vm']!r}")
        if set(body) - {"errors", "supported_providers"} or any(
                not isinstance(body.get(key, []), list) for key in ("errors", "supported_providers")):
            raise AdminError(400, "readiness keys: errors, supported_providers, each a list of strings")
        state = discovery.set_readiness(cloud, vm, body.get("errors"), body.get("supported_providers"))
        return 200, {"vm": vm.name, "id": vm.id, **state}

    async def items(_call: AdminCall):
        out = []
        for vault, fabric, item in cloud.protected_items():
            document = rpi_json(cloud, vault, fabric, item)
            properties = document["properties"]
            details = properties["providerSpecificDetails"]
            out.append({"vault": vault.name, "site": fabric.name, "name": item.name, "vm": item.vm_name,
                        "host": item.host, "protection_state": properties["protectionState"],
                        "allowed_operations": properties["allowedOperations"], "busy": item.busy,
                        "current_scenario": properties["currentScenario"]["scenarioName"],
                        "active_location": properties["activeLocation"],
                        "replication_health": properties["replicationHealth"],
                        "ir_progress_bytes": item.ir_total_bytes - item.ir_remaining_bytes,
                        "ir_total_bytes": item.ir_total_bytes, "backlog_bytes": item.backlog_bytes,
                        "rpo_seconds": details["rpoInSeconds"],
                        "last_replicated": details["lastReplicatedTime"]})
        return 200, out

    async def new_principal(call: AdminCall):
        principal = cloud.tenant.add_principal(_body(call).get("display_name", "azmigrate-lab"))
        return 200, asdict(principal)

    async def check_credentials(call: AdminCall):
        try:
            credentials = registrations.check(_body(call).get("xml", ""), cloud.now(), cloud)
        except vault_credentials.CredentialsRejected as exc:
            read = exc.credentials.to_dict() if exc.credentials else {}
            return 200, {**read, "valid": False, "reason": str(exc)}
        return 200, {**credentials.to_dict(), "valid": True, "reason": ""}

    async def get_discovery(_call: AdminCall):
        return 200, dict(discovery.discovery_settings(cloud))

    async def set_discovery(call: AdminCall):
        body = _body(call)
        known = {"delay_s", "refresh_interval_s"}
        if not body or set(body) - known or any(not isinstance(v, (int, float)) or v < 0 for v in body.values()):
            raise AdminError(400, f"discovery keys: {', '.join(sorted(known))}, each a number of lab seconds >= 0")
        discovery.discovery_settings(cloud).update({k: float(v) for k, v in body.items()})
        return 200, dict(discovery.discovery_settings(cloud))

    async def sites(_call: AdminCall):
        out = []
        for vault in cloud.vaults.values():
            for fabric in vault.fabrics.values():
                discovery.sync_providers(cloud, vault, fabric)
                providers = []
                for provider in fabric.providers.values():
                    host = cloud.hosts.host(provider.host) if cloud.hosts.has_host(provider.host) else None
                    names = {vm.id.lower(): vm.name for vm in (host.vms if host else [])}
                    pending = provider.pending_inventory or ()
                    providers.append({
                        "host": provider.host, "name": provider.name, "connected": discovery.connected(cloud, provider),
                        "registered_at": provider.registered_at.isoformat(),
                        "discovered_vms": sorted(names[i] for i in (provider.inventory or ()) if i in names),
                        "pending_vms": sorted(names[i] for i in pending if i in names),
                        "pending_until": provider.pending_until.isoformat() if provider.pending_until else None})
                out.append({"vault": vault.name, "resource_group": vault.resource_group, "site": fabric.name,
                            "internal_id": fabric.internal_id, "created": fabric.created, "providers": providers,
                            "certificates": [{"name": c.name, "thumbprint": c.thumbprint,
                                              "valid_to": c.valid_to.isoformat()} for c in vault.certificates.values()]})
        return 200, out

    async def world(_call: AdminCall):
        return 200, world_snapshot(cloud)

    for method, path, handler in (
            ("GET", "/azure/world", world),
            ("GET", "/azure/discovery", get_discovery), ("POST", "/azure/discovery", set_discovery),
            ("GET", "/azure/sites", sites),
            ("GET", "/azure", overview), ("POST", "/azure/faults", set_faults), ("DELETE", "/azure/faults", clear_faults),
            ("POST", "/azure/faults/job-failure", job_failure), ("POST", "/azure/faults/lost-answer", lost_answer),
            ("POST", "/azure/faults/slow-vm", slow_vm), ("POST", "/azure/providers/{host}", provider_connection),
            ("POST", "/azure/throttle", set_throttle), ("DELETE", "/azure/throttle", reset_throttle),
            ("GET", "/azure/requests", requests), ("POST", "/azure/hosts/{host}/link", host_link),
            ("POST", "/azure/vms/{vm}/churn", vm_churn), ("POST", "/azure/vms/{vm}/readiness", vm_readiness),
            ("GET", "/azure/items", items),
            ("POST", "/azure/principals", new_principal), ("POST", "/azure/credentials/check", check_credentials)):
        admin.route(method, path, handler)


def world_snapshot(cloud: AzureCloud) -> dict:
    """What a task can change in the lab's Azure, as plain JSON (see GET /azure/world)."""
    resources = {}
    for key, document in sorted(cloud.resources.items()):
        entry = {"type": document.get("type"), "tags": document.get("tags") or {}}
        subnets = (document.get("properties") or {}).get("subnets")
        if subnets is not None:
            entry["subnets"] = sorted(subnet.get("name") for subnet in subnets)
        resources[key] = entry
    vaults = {}
    for vault in cloud.vaults.values():
        sites = {}
        for fabric in vault.fabrics.values():
            sites[fabric.name] = {
                "created": fabric.created, "providers": sorted(fabric.providers),
                "mappings": {m.name: m.policy_name for m in fabric.mappings.values()},
                "items": {item.name: {"vm": item.vm_name, "policy": item.policy_name, "settings": item.settings,
                                      "nics": item.nic_settings, "test_failover_state": item.test_failover_state,
                                      "failed_over": item.failed_over, "committed": item.committed,
                                      "test_vm_id": item.test_vm_id, "failover_vm_id": item.failover_vm_id}
                          for item in fabric.items.values()}}
        vaults[vault.name] = {
            "sites": sites, "jobs": len(vault.jobs), "certificates": sorted(vault.certificates),
            "policies": {p.name: [p.history_hours, p.app_consistent_hours, p.interval_s] for p in vault.policies.values()}}
    return {"resource_groups": sorted(cloud.resource_groups), "resources": resources, "vaults": vaults}
