"""Start and stop the whole lab in one event loop; write lab.json and inventory.yml.

Systems beyond the Hyper-V hosts plug in with one line in PLUGGABLE_SYSTEMS: a module
(e.g. `lab.azure`) that defines `async def start(lab: Lab) -> dict` is started once the
world is built, before the hosts' WinRM listeners and the admin API listen, and its dict is
written under its short name ("azure") in lab.json. It may add admin routes with
lab.admin.route(...) and registers what to close with lab.on_stop(...). `--skip azure`
leaves it out (the Hyper-V side's own tests do).

The world is snapshotted to the state dir while the lab runs and when it stops; `resume=True`
(`python -m lab up --resume`, `python -m lab restart`) starts from that snapshot: lab/persist.py.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import ipaddress
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import yaml

from lab import kdc, persist
from lab.admin import AdminApi
from lab.certs import load_or_create_ca, server_ssl_context
from lab.estate import load_estate
from lab.log import CommandLog
from lab.statedir import COMMAND_LOG_FILE, INVENTORY_FILE, LAB_FILE
from lab.winrm.server import WinRMService
from lab.world import HostEndpoint, World

log = logging.getLogger(__name__)

WINRM_USER = "labadmin"
NTLM_USERS_DIR = "ntlm-users"   # each host's local account, for pyspnego's NTLM acceptor (mode 0600)
# Started in this order after the hosts; each module's `async def start(lab) -> dict`.
PLUGGABLE_SYSTEMS = ("lab.hosts.installer_admin", "lab.winrm.cost_admin", "lab.azure")


class Lab:
    def __init__(self, estate: Path, state_dir: Path, address_prefix: str = "127.0.1",
                 time_scale: float | None = None, winrm_port: int = 5986, admin_port: int = 0,
                 skip: tuple[str, ...] = (), resume: bool = False, winrm_http_port: int = 5985):
        self.estate = Path(estate)
        self.state_dir = Path(state_dir)
        self.address_prefix = _check_prefix(address_prefix)
        self.time_scale = time_scale
        self.winrm_port = winrm_port
        self.winrm_http_port = winrm_http_port
        self.admin_port = admin_port
        self.skip = set(skip)   # pluggable systems not to start, by short name ("azure")
        self.world: World | None = None
        self.admin: AdminApi | None = None
        self.ca = None
        self.servers: list[asyncio.Server] = []
        self._stop_callbacks: list[Callable[[], Awaitable[None]]] = []
        self.info: dict = {}
        # A resumed lab's snapshot (lab/persist.py): read in start(), put in place by restore_world().
        self.resume = resume
        self.snapshot: persist.Snapshot | None = None
        self.snapshotter: persist.Snapshotter | None = None
        self._restored = False
        self.kdc: kdc.Kdc | None = None

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._stop_callbacks.append(callback)

    def args(self) -> dict:
        """How this lab was started, for `python -m lab restart` (kept in the snapshot's header)."""
        return {"estate": str(self.estate.resolve()), "address_prefix": self.address_prefix,
                "time_scale": self.time_scale, "winrm_port": self.winrm_port,
                "winrm_http_port": self.winrm_http_port, "admin_port": self.admin_port,
                "skip": sorted(self.skip)}

    def restore_world(self) -> None:
        """Put the snapshot's world in place; the Azure side calls it once its cloud is built (before it listens)."""
        if self.snapshot is not None and not self._restored:
            persist.restore_state(self.world, self.snapshot)
            self._restored = True

    async def start(self) -> dict:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command_log = self.state_dir / COMMAND_LOG_FILE
        saved_endpoints: dict = {}
        if self.resume:
            self.snapshot = persist.read(self.state_dir)
            saved_endpoints = self.snapshot.header["endpoints"]
            self.admin_port = self.admin_port or self.snapshot.header["args"].get("admin_port") or 0
        else:
            command_log.write_text("")
            persist.snapshot_path(self.state_dir).unlink(missing_ok=True)
        commands = CommandLog(command_log)
        commands.load()
        self.world = load_estate(self.estate, log=commands, state_dir=self.state_dir, time_scale=self.time_scale)
        if self.snapshot is not None:
            persist.resume_clock(self.world, self.snapshot.header)
        for index, host in enumerate(self.world.hosts, start=1):
            saved = saved_endpoints.get(host.name)
            self.world.endpoints[host.name] = HostEndpoint(**saved) if saved else HostEndpoint(
                address=host_address(self.address_prefix, index), port=self.winrm_port,
                username=WINRM_USER, password=secrets.token_urlsafe(18), http_port=self.winrm_http_port)
        self.ca = load_or_create_ca(self.state_dir)
        addresses = [endpoint.address for endpoint in self.world.endpoints.values()]
        cert, key = self.ca.issue(self.state_dir, "winrm", ["localhost"], [*addresses, "127.0.0.1"])
        context = server_ssl_context(cert, key)
        self.admin = AdminApi(self.world)
        # The pluggable systems first (the Azure side restores the world before it listens), then the hosts.
        plugged: dict = {}
        for module_name in PLUGGABLE_SYSTEMS:
            if module_name.rsplit(".", 1)[-1] in self.skip or importlib.util.find_spec(module_name) is None:
                continue
            module = importlib.import_module(module_name)
            if hasattr(module, "start"):
                plugged[module_name.rsplit(".", 1)[-1]] = await module.start(self)
        self.restore_world()
        kerberos = self._start_kdc(addresses)
        for host in self.world.hosts:
            service = WinRMService(self.world, host, self.world.endpoints[host.name],
                                   self.state_dir / NTLM_USERS_DIR / f"{host.name}.users", cert,
                                   kerberos_realm=kerberos["realm"] if kerberos else None)
            self.servers.extend(await service.start(context))
        admin_server = await self.admin.start(self.admin_port)
        self.servers.append(admin_server)
        admin_port = admin_server.sockets[0].getsockname()[1]
        self.admin_port = admin_port
        self.info = {
            "pid": os.getpid(),
            "estate": str(self.estate.resolve()),
            "admin_url": f"http://127.0.0.1:{admin_port}",
            "ca_path": str(self.ca.path.resolve()),
            "inventory": str((self.state_dir / INVENTORY_FILE).resolve()),
            "command_log": str(command_log.resolve()),
            "clock": self.world.clock.to_dict(),
            "hosts": {host.name: {"address": ep.address, "port": ep.port, "username": ep.username,
                                  "password": ep.password, "cluster": host.cluster,
                                  "url": f"https://{ep.address}:{ep.port}/wsman",
                                  "http_port": ep.http_port, "http_url": f"http://{ep.address}:{ep.http_port}/wsman"}
                      for host in self.world.hosts for ep in [self.world.endpoints[host.name]]},
            "clusters": {c.name: [n.name for n in c.nodes] for c in self.world.clusters.values()},
            "resumed": self.snapshot is not None,
            "kerberos": kerberos,   # None when the machine has no KDC to run (lab/kdc.py)
            **plugged,
        }
        self.snapshotter = persist.Snapshotter(self.world, self.state_dir, self.args())
        self.snapshotter.save(force=True)
        self.snapshotter.start()
        _write_private(self.state_dir / INVENTORY_FILE, yaml.safe_dump(self.inventory(), sort_keys=False))
        # lab.json last: its appearance tells `lab up` that every endpoint listens.
        _write_private(self.state_dir / LAB_FILE, json.dumps(self.info, indent=2))
        return self.info

    def _start_kdc(self, addresses: list[str]) -> dict | None:
        """A KDC for the hosts when the machine has one; the listeners' acceptor reads its keytab from the environment."""
        if not kdc.available():
            log.info("no Kerberos: krb5-kdc or the gssapi package is missing; the hosts accept NTLM only")
            return None
        self.kdc = kdc.Kdc(self.state_dir / "kdc", addresses, resume=self.snapshot is not None)
        info = self.kdc.start()
        for name in ("KRB5_CONFIG", "KRB5_KTNAME"):
            os.environ[name] = self.kdc.env()[name]
        return info

    def inventory(self) -> dict:
        world = self.world
        ca_path = str(self.ca.path.resolve())
        host_vars = {}
        for host in world.hosts:
            endpoint = world.endpoints[host.name]
            host_vars[host.name] = {
                "ansible_host": endpoint.address,
                "ansible_port": endpoint.port,
                "ansible_connection": "winrm",
                # Windows ships with Basic off: NTLM over HTTPS, channel binding sent (pywinrm's default).
                "ansible_winrm_transport": "ntlm",
                "ansible_winrm_scheme": "https",
                "ansible_user": endpoint.username,
                "ansible_password": endpoint.password,
                "ansible_winrm_server_cert_validation": "validate",
                "ansible_winrm_ca_trust_path": ca_path,
            }
        children: dict = {"hyperv_hosts": {"hosts": host_vars}}
        for cluster in world.clusters.values():
            children[cluster.name] = {"hosts": {node.name: None for node in cluster.nodes}}
        children["standalone_hosts"] = {"hosts": {host.name: None for host in world.standalone_hosts()}}
        return {"all": {"children": children}}

    async def stop(self) -> None:
        if self.snapshotter is not None:
            await self.snapshotter.stop()     # the final snapshot, before anything stops
        for callback in reversed(self._stop_callbacks):
            await callback()
        if self.kdc is not None:
            self.kdc.stop()
        for server in self.servers:
            server.close()
        for server in self.servers:
            await server.wait_closed()
        self.servers.clear()


def host_address(prefix: str, index: int) -> str:
    """The address of the index-th host (from 1): <prefix>.1 to .254, then on in the next /24s (a fleet of
    1,000 hosts from 127.42.0 spans 127.42.0.1 to 127.42.3.238)."""
    first, second, third = (int(part) for part in prefix.split("."))
    third, fourth = third + (index - 1) // 254, (index - 1) % 254 + 1
    if third > 255:
        raise ValueError(f"{index} hosts do not fit after --address-prefix {prefix}: choose a lower third octet")
    return f"{first}.{second}.{third}.{fourth}"


def _check_prefix(prefix: str) -> str:
    parts = prefix.split(".")
    try:
        address = ipaddress.ip_address(f"{prefix}.1")
    except ValueError:
        address = None
    if len(parts) != 3 or address is None or not address.is_loopback:
        raise ValueError(f"--address-prefix must be three octets inside 127/8, like 127.0.1 (got {prefix!r})")
    return prefix


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600: these files hold the hosts' passwords."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
