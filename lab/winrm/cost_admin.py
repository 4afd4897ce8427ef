"""The admin routes that read and set what a command costs a real host (lab/winrm/costs.py):

    GET  /costs     {"powershell_start_ms", "module_exec_ms", "wait"}
    POST /costs     any of those keys
"""

from __future__ import annotations

from lab.admin import AdminError


async def get_costs(call):
    return 200, call.world.command_costs.to_dict()


async def post_costs(call):
    body = call.body if isinstance(call.body, dict) else {}
    known = {"powershell_start_ms", "module_exec_ms", "wait"}
    if not body or set(body) - known:
        raise AdminError(400, f"cost keys: {', '.join(sorted(known))}")
    costs = call.world.command_costs
    for key in ("powershell_start_ms", "module_exec_ms"):
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise AdminError(400, f"{key} must be a number of milliseconds >= 0, not {value!r}")
            setattr(costs, key, float(value))
    if "wait" in body:
        if not isinstance(body["wait"], bool):
            raise AdminError(400, f"wait must be true or false, not {body['wait']!r}")
        costs.wait = body["wait"]
    return 200, costs.to_dict()


ROUTES = [("GET", "/costs", get_costs), ("POST", "/costs", post_costs)]


async def start(lab) -> dict:
    for method, pattern, handler in ROUTES:
        lab.admin.route(method, pattern, handler)
    return {"routes": [f"{method} {pattern}" for method, pattern, dummy in ROUTES]}
