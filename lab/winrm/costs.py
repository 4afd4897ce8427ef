"""What a command costs a real Windows host before it does any work, and the admin routes that set it.

Every WinRM command of the lab is a new powershell.exe (or cmd.exe) on a real host, and every Ansible
module payload also runs Ansible's exec wrapper, which compiles Ansible.Basic's C# with Add-CSharpType.
The lab does neither, so it accounts for them: each command log entry carries `cost_ms`, and with
`wait` on, the command also takes that long in real time (bench/prepare_hosts.py turns it on, so wall
times compare like for like). Defaults, from public measurements (lab/FIDELITY.md):

- powershell_start_ms 600: Windows PowerShell 5.1 starting on Windows 10, measured by its team
  (github.com/PowerShell/PowerShell/issues/4239, "it took 600ms for Windows PowerShell 5.1 to
  startup"); github.com/PowerShell/PowerShell/issues/12843 measured 0.19 s on a fast server.
- module_exec_ms 450: one Add-Type compilation of a small C# type in a module's load, 0.45 s
  (github.com/PoshCode/Pansies/issues/30); Ansible.Basic is a larger source, so this is a lower bound.

    GET  /costs     {"powershell_start_ms", "module_exec_ms", "wait"}
    POST /costs     any of those keys
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

POWERSHELL_START_MS = 600.0
MODULE_EXEC_MS = 450.0


@dataclass
class CommandCosts:
    powershell_start_ms: float = POWERSHELL_START_MS
    module_exec_ms: float = MODULE_EXEC_MS
    wait: bool = False      # also spend the cost in real time (asyncio.sleep), not only account for it

    def of(self, via_powershell: bool, module: bool) -> float:
        """The cost in ms of one command: a PowerShell start, plus the exec wrapper's compile for a module."""
        return (self.powershell_start_ms if via_powershell else 0.0) + (self.module_exec_ms if module else 0.0)

    def to_dict(self) -> dict:
        return asdict(self)


async def get_costs(call):
    return 200, call.world.command_costs.to_dict()


async def post_costs(call):
    from lab.admin import AdminError   # noqa: PLC0415  (lab.admin imports the world, which imports this module)
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
