"""What a command costs a real Windows host before it does any work (the admin routes that set it are
lab/winrm/cost_admin.py's).

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
