"""MSOnlineBackup, the Recovery Services agent's PowerShell module, as a host script's powershell.exe finds it.

The agent's setup adds its module folder (<InstallPath>\\bin\\Modules) to the machine's PSModulePath. A process keeps
the environment it started with, and every powershell.exe of a WinRM shell inherits the shell's, which was fixed when
the shell was created (about_PSModulePath; learn.microsoft.com/azure/backup/backup-client-automation says to open a
new session after the install). So a shell created before the agent was installed - the shell of the command that
installs it, and the later commands of the same connection - finds the module's cmdlets only when the script imports
it by its full path. The twins that run the agent's cmdlets ask `cmdlet_missing` first (lab/FIDELITY.md,
"Windows hosts: the agent's PowerShell module").
"""

from __future__ import annotations

import re

# Import-Module -Name (Join-Path -Path <the install path> -ChildPath 'bin\Modules\MSOnlineBackup'), as the scripts do.
IMPORT_BY_PATH = re.compile(r"Import-Module\s+-Name\s+\(Join-Path\s+-Path\s+.+?\s+-ChildPath\s+'bin\\Modules\\MSOnlineBackup'\)",
                            re.IGNORECASE)


def importable(script: str, shell_saw_agent: bool) -> bool:
    """Whether the script's powershell.exe can load MSOnlineBackup: by name when its shell was created with the agent
    installed, else only by the full path."""
    return shell_saw_agent or IMPORT_BY_PATH.search(script) is not None


def cmdlet_missing(importable_here: bool, cmdlet: str) -> str | None:
    """What powershell.exe says of an agent cmdlet it cannot find; None when it can."""
    if importable_here:
        return None
    return (f"The term '{cmdlet}' is not recognized as the name of a cmdlet, function, script file, or operable program. "
            "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.")
