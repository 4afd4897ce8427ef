"""The world on disk: `<state-dir>/world.snapshot`, written while the lab runs and read by a resumed lab.

A running lab snapshots its world every SNAPSHOT_INTERVAL_S real seconds when it changed, and once
more when it stops (`lab down`); each write goes to a temporary file that replaces the snapshot
(mode 0600: it holds the hosts' passwords). `python -m lab up --resume` (or `python -m lab restart`)
starts from the snapshot instead of the estate's initial state: the same hosts, addresses, ports,
passwords and tokens' signing key (so inventories, lab.json's URLs and tokens issued before the
restart stay valid), the same Azure resources, vaults, jobs and long-running operations, and the
lab clock moved on by the real time the lab was down x its time scale, as the real service's clock
moves on during an outage of the client's view of it. Jobs and operations that were in progress
then continue on that clock: the first tick after the restart ends the tasks that came due while
the lab was down, running their hooks in order, and an operation's Location/Azure-AsyncOperation
URL from before the restart still answers.

The snapshot is versioned JSON of plain data (lab/plain_data.py): hosts, the installers' state, the
hosts registered with vaults, the Azure resources, vaults, jobs and long-running operations. Jobs and
operations are data too: a job names its scenario, what it acts on and its parameters, and the hooks that
run as its tasks end are the ones the resuming lab registers for that scenario (lab/azure/jobs.py), so a
snapshot never carries code and reading one runs none. The objects a restarted lab builds afresh (the
clock, the command log, the servers, the fault knobs) are not in it.

What does not survive a restart, as on a real outage: WinRM shells and the commands running in
them, installs still landing on a host (`world.installers.pending`), fault knobs, throttling
budgets and the WinRM counters.

File layout: {"format": FORMAT_NAME, "version": FORMAT_VERSION, "header": ..., "state": ...}. `header`
is plain data (the arguments the lab was started with, ports, clock, endpoints - `python -m lab restart`
reads only this); `state` the world's data. A snapshot of another format version (or an older lab's
pickle) is refused with a message that says so: start the lab afresh (without --resume).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lab.plain_data import PlainDataError, from_json, to_json
from lab.statedir import SNAPSHOT_FILE

if TYPE_CHECKING:
    from lab.world import World

log = logging.getLogger(__name__)

FORMAT_NAME = "azmigrate-lab-world"
FORMAT_VERSION = 2            # 1 was a pickle with the jobs' closures
SNAPSHOT_INTERVAL_S = 1.0     # real seconds between snapshots while the lab runs (written only when changed)
SNAPSHOT_CPU_SHARE = 20       # at least this many times a snapshot's CPU time between two snapshots
WORLD_FIELDS = ("clusters", "provider_registrations")
INSTALLER_FIELDS = ("timing", "faults", "downloads")
CLOUD_FIELDS = ("subscription_name", "resource_groups", "resources", "vaults", "storage_keys", "link_bps",
                "churn_bps", "replication_t", "vm_power")
ARM_FIELDS = ("operations", "requests", "_request_seq")


class SnapshotError(Exception):
    """The snapshot is missing, unreadable or from another format."""


@dataclasses.dataclass
class Snapshot:
    header: dict
    state: str      # the world's data, JSON text


def snapshot_path(state_dir: Path) -> Path:
    return Path(state_dir) / SNAPSHOT_FILE


def read(state_dir: Path) -> Snapshot:
    path = snapshot_path(state_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"no snapshot to resume from: {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SnapshotError(f"cannot read {path}: it is not a lab snapshot of format version {FORMAT_VERSION} "
                            f"(JSON) ({exc.__class__.__name__}); start the lab afresh, without --resume") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise SnapshotError(f"{path} is not a lab world snapshot; start the lab afresh, without --resume")
    if document.get("version") != FORMAT_VERSION:
        raise SnapshotError(f"{path} is a snapshot of format version {document.get('version')!r}, and this lab reads "
                            f"version {FORMAT_VERSION} only; start the lab afresh, without --resume")
    try:
        head = from_json(document["header"])
    except (KeyError, PlainDataError, ValueError, ImportError) as exc:
        raise SnapshotError(f"cannot read the header of {path}: {exc}") from None
    return Snapshot(head, json.dumps(document.get("state")))


def read_header(state_dir: Path) -> dict:
    return read(state_dir).header


# --- saving ---

def _state(world: World) -> dict:
    state: dict[str, Any] = {
        "world": {name: getattr(world, name) for name in WORLD_FIELDS},
        "installers": {name: getattr(world.installers, name) for name in INSTALLER_FIELDS},
        "hosts": {host.name.lower(): dict(vars(host)) for host in world.hosts},
    }
    cloud = world.azure
    if cloud is not None:
        state["azure"] = {name: getattr(cloud, name) for name in CLOUD_FIELDS}
        state["azure"]["principals"] = cloud.tenant.principals
        if cloud.arm is not None:
            state["arm"] = {name: getattr(cloud.arm, name) for name in ARM_FIELDS}
        if cloud.entra is not None:
            state["entra"] = {"tokens_issued": cloud.entra.tokens_issued}
    return state


def _port(url: str) -> int | None:
    return urlsplit(url).port if url else None


def header(world: World, args: dict) -> dict:
    clock = world.clock
    document: dict[str, Any] = {
        "saved_at": time.time(),
        "args": args,
        "clock": {"epoch": clock.epoch.isoformat(), "elapsed": clock.elapsed(), "time_scale": clock.time_scale},
        "endpoints": {name: dataclasses.asdict(endpoint) for name, endpoint in world.endpoints.items()},
    }
    cloud = world.azure
    if cloud is not None:
        document["azure"] = {
            "arm_port": _port(cloud.arm.base_url) if cloud.arm is not None else None,
            "login_port": _port(cloud.entra.base_url) if cloud.entra is not None else None,
            "entra_key": cloud.entra.signing_key if cloud.entra is not None else None,
            "blob_port": cloud.azurite.port if cloud.azurite is not None else None,
            "azurite_accounts": dict(cloud.azurite.accounts) if cloud.azurite is not None else {},
        }
    return document


def dump_state(world: World) -> str:
    """The world's data as JSON text; PlainDataError names the first part that is not plain data."""
    return json.dumps(to_json(_state(world)), separators=(",", ":"))


def write(state_dir: Path, head: dict, state: str) -> None:
    path = snapshot_path(state_dir)
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f'{{"format":{json.dumps(FORMAT_NAME)},"version":{FORMAT_VERSION},'
                     f'"header":{json.dumps(to_json(head, "header"))},"state":{state}}}')
    os.replace(temporary, path)     # atomic: a reader sees the previous snapshot or this one (no fsync: a lab)


class Snapshotter:
    """Writes the world to the state dir: every SNAPSHOT_INTERVAL_S when it changed, and on `save()`."""

    def __init__(self, world: World, state_dir: Path, args: dict, interval_s: float = SNAPSHOT_INTERVAL_S):
        self.world = world
        self.state_dir = Path(state_dir)
        self.args = args
        self.interval_s = interval_s
        self._last: str | None = None
        self._task: asyncio.Task | None = None
        self.writes = 0

    def save(self, force: bool = False) -> bool:
        """Snapshot now; False when nothing changed since the last write (and not forced) or it failed."""
        try:
            state = dump_state(self.world)
            if state == self._last and not force:
                return False
            write(self.state_dir, header(self.world, self.args), state)
        except (PlainDataError, TypeError, AttributeError, ValueError, OSError):
            # Loud: a world that can't be saved can't be resumed. The lab goes on serving.
            log.exception("could not snapshot the world to %s", snapshot_path(self.state_dir))
            return False
        self._last = state
        self.writes += 1
        return True

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            started = time.process_time()
            self.save()
            # A large world (a fleet of 1,000 hosts) takes a while to encode: snapshot less often, so that the
            # snapshots never take more than about 1/SNAPSHOT_CPU_SHARE of the lab's CPU away from serving.
            self.interval_s = max(SNAPSHOT_INTERVAL_S, (time.process_time() - started) * SNAPSHOT_CPU_SHARE)

    async def stop(self) -> None:
        """Stop the periodic snapshots and write the final one."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self.save(force=True)


# --- restoring ---

def resume_clock(world: World, head: dict) -> None:
    """The clock where it was, moved on by the real time the lab was down x the time scale."""
    saved = head["clock"]
    down_s = max(0.0, time.time() - float(head["saved_at"]))
    epoch = dt.datetime.fromisoformat(saved["epoch"])
    world.clock.restore(epoch, float(saved["elapsed"]) + down_s * float(saved["time_scale"]),
                        float(saved["time_scale"]))


def restore_state(world: World, snapshot: Snapshot) -> None:
    """Put the saved world in place of the fresh one (after the Azure side, if any, is built)."""
    try:
        state = from_json(json.loads(snapshot.state))
    except (PlainDataError, ValueError, ImportError) as exc:
        raise SnapshotError(f"cannot restore the snapshot: {exc}") from None
    for name, host_fields in state["hosts"].items():
        if world.has_host(name):
            vars(world.host(name)).update(host_fields)
    for name, value in state["world"].items():
        # In place: the Azure side holds the registrations dict as its port (lab/azure/state.py).
        getattr(world, name).clear()
        getattr(world, name).update(value)
    for name, value in state["installers"].items():
        setattr(world.installers, name, value)
    cloud = world.azure
    if cloud is not None and "azure" in state:
        azure = dict(state["azure"])
        cloud.tenant.principals.update(azure.pop("principals"))
        for name, value in azure.items():
            setattr(cloud, name, value)
        for name, value in state.get("arm", {}).items():
            setattr(cloud.arm, name, value)
        if cloud.entra is not None:
            cloud.entra.tokens_issued = state.get("entra", {}).get("tokens_issued", 0)
    log.info("resumed the world of %s: %d hosts, lab time %s", snapshot_path(world.state_dir) if world.state_dir
             else "a snapshot", len(state["hosts"]), world.clock.isoformat())
