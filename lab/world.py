"""The world: every simulated system's state in one place, owned by one event loop.

Hosts by name, failover clusters, the lab clock, the command log and the fault knobs; the
installers' state, the hosts registered with a vault, and the Azure side once it is attached.
Simulations read and change it; the admin API shows and patches it. Names compare
case-insensitively, as Windows computer names do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lab.clock import LabClock
from lab.hosts.installer_state import InstallerWorld
from lab.hosts.state import HostState
from lab.http import ConnectionFaults
from lab.log import CommandLog
from lab.vault_credentials import ProviderRegistration
from lab.winrm.costs import CommandCosts

if TYPE_CHECKING:
    from lab.azure.state import AzureCloud


@dataclass
class ClusterNode:
    name: str
    id: str
    state: str = "Up"      # ClusterNodeState name: Up, Down, Paused, Joining


@dataclass
class Cluster:
    name: str
    nodes: list[ClusterNode] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "nodes": [vars(node).copy() for node in self.nodes]}


@dataclass
class HostEndpoint:
    """Where and how a host's WinRM listener is reached (never logged: holds the password)."""

    address: str
    port: int            # HTTPS listener
    username: str
    password: str
    http_port: int = 5985   # HTTP listener (messages sealed with the session's NTLM keys)


@dataclass
class HostFaults(ConnectionFaults):
    """Connection faults plus the WS-Management ones, per host."""

    wsman_fault_next_command: dict | None = None   # {"code": 2150858793, "reason": "..."}; one-shot

    def clear(self) -> None:
        super().clear()
        self.wsman_fault_next_command = None

    def to_dict(self) -> dict:
        return {"latency_ms": round(self.latency_s * 1000), "reset_after_requests": self.reset_after_requests,
                "wsman_fault_next_command": self.wsman_fault_next_command}


class World:
    """Everything the lab simulates.

    clock, log, state_dir    the lab clock, the command log, the state dir (None in white-box tests)
    clusters                 failover clusters by lower-cased name
    endpoints, faults        each host's WinRM endpoint and connection faults, by host name
    installers               setup and DRConfigurator: timing, one-shot faults, files served for
                             download, installs still landing (lab/hosts/installers.py)
    provider_registrations   hosts DRConfigurator registered with a vault's Hyper-V site, by
                             lower-cased host name (lab/registrations.py)
    command_costs            what a command costs a real host (powershell.exe start, exec wrapper):
                             lab/winrm/costs.py
    azure                    the Azure side (lab/azure), None until `attach_azure`: it is optional
                             (`--skip azure`) and builds its own state from the state dir's identity
    """

    def __init__(self, clock: LabClock, log: CommandLog, state_dir: Path | None = None):
        self.clock = clock
        self.log = log
        self.state_dir = state_dir
        self._hosts: dict[str, HostState] = {}
        self.clusters: dict[str, Cluster] = {}
        self.endpoints: dict[str, HostEndpoint] = {}
        self.faults: dict[str, HostFaults] = {}
        self.installers = InstallerWorld()
        self.provider_registrations: dict[str, ProviderRegistration] = {}
        self.command_costs = CommandCosts()
        self.azure: AzureCloud | None = None

    def attach_azure(self, cloud: AzureCloud) -> None:
        """Called once by lab.azure.start_azure with the AzureCloud it built for this world."""
        if self.azure is not None and self.azure is not cloud:
            raise RuntimeError("this world already has an Azure side")
        self.azure = cloud

    def add_host(self, host: HostState) -> None:
        if host.name.lower() in self._hosts:
            raise ValueError(f"duplicate host name {host.name!r}")
        self._hosts[host.name.lower()] = host
        self.faults[host.name] = HostFaults()

    def add_cluster(self, cluster: Cluster) -> None:
        self.clusters[cluster.name.lower()] = cluster

    @property
    def hosts(self) -> list[HostState]:
        return list(self._hosts.values())

    def host(self, name: str) -> HostState:
        """The host called `name`; KeyError names the hosts that exist."""
        try:
            return self._hosts[name.lower()]
        except KeyError:
            raise KeyError(f"no host {name!r} (hosts: {', '.join(h.name for h in self.hosts)})") from None

    def has_host(self, name: str) -> bool:
        return name.lower() in self._hosts

    def cluster_of(self, host: HostState) -> Cluster | None:
        return self.clusters.get(host.cluster.lower()) if host.cluster else None

    def standalone_hosts(self) -> list[HostState]:
        return [host for host in self.hosts if not host.cluster]
