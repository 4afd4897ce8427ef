"""The installers' part of the world (`world.installers`), as data: timing, one-shot faults, the files the lab
serves for download and the programs running on hosts. What the installers do with it is lab/hosts/installers.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class InstallerError(Exception):
    """Start-Process itself fails (the file is missing): PowerShell throws, no exit code."""


@dataclass
class Timing:
    """Lab seconds each program takes; tests shorten or lengthen them through the admin API."""

    extract_s: float = 5.0
    setup_process_s: float = 90.0
    setup_settle_s: float = 40.0      # after setupdr exits, until the registry and services show the install
    register_s: float = 20.0
    uninstall_s: float = 30.0


@dataclass
class InstallerFaults:
    """One-shot faults for the next run of setupdr on a host."""

    setup_exit_code: int | None = None     # 1603 nothing installed, 1618 another install running, 3010 reboot needed
    reset_during_install: bool = False     # the WinRM connection drops while setupdr runs; the install goes on
    setup_hangs: bool = False              # setupdr shows a message box in the hidden session and never exits
    agent_service_stopped: bool = False    # the install succeeds but the agent's service obengine does not start

    def to_dict(self) -> dict:
        return {"setup_exit_code": self.setup_exit_code, "reset_during_install": self.reset_during_install,
                "setup_hangs": self.setup_hangs, "agent_service_stopped": self.agent_service_stopped}


@dataclass
class InstallerProcess:
    """A program running on a host: until it exits, or until something stops it."""

    pid: int
    host: str
    image: str
    command_line: str          # as shown: never a secret
    working_directory: str
    started_at: str
    task: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {"pid": self.pid, "host": self.host, "image": self.image, "command_line": self.command_line,
                "working_directory": self.working_directory, "started_at": self.started_at}


@dataclass
class PublishedFile:
    content: bytes
    signature: str        # the SAS `sig` a download URL must carry


@dataclass
class InstallerWorld:
    """The installers' part of the world (`world.installers`): faults per host, timing, files the lab serves for download."""

    timing: Timing = field(default_factory=Timing)
    faults: dict[str, InstallerFaults] = field(default_factory=dict)
    downloads: dict[str, PublishedFile] = field(default_factory=dict)   # by URL path (lower)
    pending: set = field(default_factory=set)                           # install tasks still landing
    processes: dict[int, InstallerProcess] = field(default_factory=dict)   # running programs, by PID
    next_pid: int = 4100

    def faults_for(self, host: str) -> InstallerFaults:
        return self.faults.setdefault(host.lower(), InstallerFaults())
