"""Admin API routes for the installers, setup files and vault credentials (lab.admin's route table).

    POST   /installers/{host}/faults   {"setup_exit_code": 1603|1618|3010, "reset_during_install": true,
                                        "setup_hangs": true, "agent_service_stopped": true}  one-shot
    GET    /installers/{host}/processes the installers running on the host: {pid, image, command_line,
                                        working_directory, started_at}
    DELETE /installers/{host}/faults
    GET    /installers                  timing, faults, published setup files
    POST   /installers/timing           {"setup_process_s": 90, "setup_settle_s": 40, ...}
    POST   /setup-files                 {"name", "provider_version", "agent_version", "size"?} -> {url, sha256, content_b64}
    POST   /vault-credentials           {"resource_group", "vault_name", "site_name", "location"?, "subscription_id"?,
                                         "site_id"?, "valid_hours"?, "issued_hours_ago"?} -> {content, valid_to, vault_id}
                                        a registration key file (lab/vault_credentials.py); with the Azure side
                                        running, its vault issues the key, and the vault and site are made first
                                        when missing, so that DRConfigurator accepts the file
    GET    /provider-registrations      hosts registered with a vault, as the world records them
    DELETE /provider-registrations/{host}   forget one (test set-up, with PATCH /hosts to reset the host)

`start(lab)` adds them; the lab runtime calls it like any pluggable system.
"""

from __future__ import annotations

import base64
import dataclasses

from lab import registrations, vault_credentials
from lab.admin import AdminCall, AdminError
from lab.azure import site_recovery
from lab.hosts import downloads, installer_state, installers

FAULT_EXIT_CODES = (1603, 1618, 3010)
LAB_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def _body(call: AdminCall) -> dict:
    if not isinstance(call.body, dict):
        raise AdminError(400, "the body must be a JSON object")
    return call.body


def _host_name(call: AdminCall) -> str:
    if not call.world.has_host(call.params["host"]):
        raise AdminError(404, f"no host {call.params['host']!r}")
    return call.world.host(call.params["host"]).name


async def post_faults(call: AdminCall):
    body = _body(call)
    unknown = set(body) - {"setup_exit_code", "reset_during_install", "setup_hangs", "agent_service_stopped"}
    if unknown or not body:
        raise AdminError(400, "installer fault keys: setup_exit_code, reset_during_install, setup_hangs, agent_service_stopped")
    code = body.get("setup_exit_code")
    if code is not None and code not in FAULT_EXIT_CODES:
        raise AdminError(400, f"setup_exit_code: {code!r}; simulated: {', '.join(map(str, FAULT_EXIT_CODES))}")
    faults = call.world.installers.faults_for(_host_name(call))
    if "setup_exit_code" in body:
        faults.setup_exit_code = code
    if "reset_during_install" in body:
        faults.reset_during_install = bool(body["reset_during_install"])
    if "setup_hangs" in body:
        faults.setup_hangs = bool(body["setup_hangs"])
    if "agent_service_stopped" in body:
        faults.agent_service_stopped = bool(body["agent_service_stopped"])
    return 200, faults.to_dict()


async def get_processes(call: AdminCall):
    return 200, [process.to_dict() for process in installers.processes_of(call.world, _host_name(call))]


async def delete_faults(call: AdminCall):
    call.world.installers.faults.pop(_host_name(call).lower(), None)
    return 200, installer_state.InstallerFaults().to_dict()


async def get_installers(call: AdminCall):
    state = call.world.installers
    return 200, {"timing": dataclasses.asdict(state.timing),
                 "faults": {name: faults.to_dict() for name, faults in state.faults.items()},
                 "downloads": sorted(state.downloads), "pending_installs": len(state.pending)}


async def post_timing(call: AdminCall):
    timing = call.world.installers.timing
    known = {field.name for field in dataclasses.fields(timing)}
    for name, value in _body(call).items():
        if name not in known or not isinstance(value, (int, float)) or value < 0:
            raise AdminError(400, f"timing: {name}={value!r}; keys {', '.join(sorted(known))} take lab seconds >= 0")
        setattr(timing, name, float(value))
    return 200, dataclasses.asdict(timing)


async def post_setup_file(call: AdminCall):
    body = _body(call)
    try:
        content = installers.make_setup_file(str(body["provider_version"]), str(body["agent_version"]), int(body.get("size", 4096)))
        published = downloads.publish(call.world.installers.downloads, str(body.get("name") or "AzureSiteRecoveryProvider.exe"), content)
    except KeyError as exc:
        raise AdminError(400, f"missing {exc.args[0]}") from None
    return 201, {**published, "content_b64": base64.b64encode(content).decode()}


async def post_vault_credentials(call: AdminCall):
    body = _body(call)
    missing = [name for name in ("resource_group", "vault_name", "site_name") if not body.get(name)]
    if missing:
        raise AdminError(400, f"missing {', '.join(missing)}")
    subscription_id, resource_group = str(body.get("subscription_id") or ""), str(body["resource_group"])
    vault_name, site_name, site_id = str(body["vault_name"]), str(body["site_name"]), body.get("site_id")
    location, issuer, azure = str(body.get("location") or "westeurope"), None, call.world.azure
    if azure is not None:
        if subscription_id and subscription_id.lower() != azure.subscription_id.lower():
            raise AdminError(400, f"subscription_id: the lab's Azure side holds subscription {azure.subscription_id} only")
        try:
            issuer, site = site_recovery.hyperv_site(azure, resource_group, vault_name, site_name, body.get("location"), site_id)
        except ValueError as exc:
            raise AdminError(409, str(exc)) from None
        subscription_id, vault_name, location, site_name, site_id = (
            azure.subscription_id, issuer.name, issuer.location, site.name, site.internal_id)
    content = vault_credentials.issue(
        subscription_id or LAB_SUBSCRIPTION, resource_group, vault_name, location, site_name, site_id, now=call.world.clock.now(),
        valid_hours=float(body.get("valid_hours", vault_credentials.DEFAULT_VALIDITY_HOURS)),
        issued_hours_ago=float(body.get("issued_hours_ago", 0)), issuer=issuer)
    issued = vault_credentials.parse(content)
    return 201, {"content": content, "valid_to": issued.valid_to.isoformat(), "vault_id": issued.vault_id}


async def get_registrations(call: AdminCall):
    return 200, [registration.to_dict() for registration in call.world.provider_registrations.values()]


async def delete_registration(call: AdminCall):
    removed = registrations.remove_registration(call.world.provider_registrations, _host_name(call))
    return 200, removed.to_dict() if removed else None


ROUTES = [
    ("POST", "/installers/{host}/faults", post_faults),
    ("DELETE", "/installers/{host}/faults", delete_faults),
    ("GET", "/installers/{host}/processes", get_processes),
    ("GET", "/installers", get_installers),
    ("POST", "/installers/timing", post_timing),
    ("POST", "/setup-files", post_setup_file),
    ("POST", "/vault-credentials", post_vault_credentials),
    ("GET", "/provider-registrations", get_registrations),
    ("DELETE", "/provider-registrations/{host}", delete_registration),
]


async def start(lab) -> dict:
    for method, pattern, handler in ROUTES:
        lab.admin.route(method, pattern, handler)
    return {"routes": [f"{method} {pattern}" for method, pattern, dummy in ROUTES]}
