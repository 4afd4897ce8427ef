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

Why pickle and not JSON: a running Site Recovery job or Compute operation is a timeline plus the
hooks (closures) its handler built when the request came in (lab/azure/failover.py and friends).
The snapshot keeps those closures as they are - code, module and captured variables - so a job
resumed after a restart runs exactly the code it would have run, with no second description of
every job to keep in step. The objects the restarted lab builds afresh (the world, the clock, the
command log, each host, the Azure cloud, ARM, Entra, Azurite, the fault knobs) are pickled as
references to their live counterparts; their data is saved beside them and put back in place, so
every server and closure sees one object.

What does not survive a restart, as on a real outage: WinRM shells and the commands running in
them, installs still landing on a host (`world.installers.pending`), fault knobs, throttling
budgets and the WinRM counters. The file format is private to one checkout: a snapshot is read by
the same code that wrote it.

File layout: a pickle of {"format", "header", "state"}; `header` is plain data (the arguments the
lab was started with, ports, clock, endpoints - `python -m lab restart` reads only this), `state`
is the inner pickle with the references described above.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import importlib
import io
import logging
import marshal
import os
import pickle
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lab.azure.arm import ArmCall
from lab.http import Headers, Request
from lab.statedir import SNAPSHOT_FILE

if TYPE_CHECKING:
    from lab.world import World

log = logging.getLogger(__name__)

FORMAT = 1
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
    state: bytes


def snapshot_path(state_dir: Path) -> Path:
    return Path(state_dir) / SNAPSHOT_FILE


def read(state_dir: Path) -> Snapshot:
    path = snapshot_path(state_dir)
    try:
        with path.open("rb") as handle:
            document = pickle.load(handle)
    except FileNotFoundError:
        raise SnapshotError(f"no snapshot to resume from: {path} does not exist") from None
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"{path} is not a lab snapshot of format {FORMAT}")
    return Snapshot(document["header"], document["state"])


def read_header(state_dir: Path) -> dict:
    return read(state_dir).header


# --- pickling closures, cells and the live objects ---

def _make_function(code: bytes, module: str, name: str, qualname: str, defaults, kwdefaults, closure):
    function = types.FunctionType(marshal.loads(code), importlib.import_module(module).__dict__, name, defaults,
                                  closure)
    function.__qualname__ = qualname
    function.__kwdefaults__ = kwdefaults
    return function


def _new_cell() -> types.CellType:
    return types.CellType()


def _fill_cell(cell: types.CellType, state: tuple) -> None:
    if state:
        cell.cell_contents = state[0]


def _rebuild_dataclass(cls: type, values: dict) -> Any:
    return cls(**values)


def _global_function(function: types.FunctionType) -> bool:
    """True when pickle can save `function` by reference (its module has it under its qualified name)."""
    if "<" in function.__qualname__:
        return False
    target: Any = importlib.import_module(function.__module__)
    for part in function.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is function


class _Pickler(pickle.Pickler):
    def __init__(self, file, live: dict[int, Any]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._live = live

    def persistent_id(self, obj):   # noqa: D401 - pickle's hook
        return self._live.get(id(obj))

    def reducer_override(self, obj):
        kind = type(obj)
        if kind is types.FunctionType and not _global_function(obj):
            return _make_function, (marshal.dumps(obj.__code__), obj.__module__, obj.__name__, obj.__qualname__,
                                    obj.__defaults__, obj.__kwdefaults__, obj.__closure__)
        if kind is types.CellType:
            try:
                state = (obj.cell_contents,)
            except ValueError:     # a cell not filled yet
                state = ()
            return _new_cell, (), state, None, None, _fill_cell
        if kind is ArmCall:
            # A hook may keep the request it came from: keep what identifies it, not its headers (the bearer token).
            request = obj.request
            values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            values["request"] = Request(request.method, request.path, request.query, Headers(), request.body, ())
            return _rebuild_dataclass, (ArmCall, values)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, live: dict[Any, Any]):
        super().__init__(file)
        self._live = live

    def persistent_load(self, pid):
        try:
            return self._live[pid]
        except KeyError:
            raise pickle.UnpicklingError(f"the snapshot refers to {pid!r}, which this lab does not have") from None


def _live_objects(world: World) -> dict[Any, Any]:
    """Persistent id -> live object: what a restarted lab builds afresh instead of unpickling."""
    live: dict[Any, Any] = {"world": world, "clock": world.clock, "log": world.log, "installers": world.installers}
    for host in world.hosts:
        live[("host", host.name.lower())] = host
        live[("host_faults", host.name.lower())] = world.faults[host.name]
    for name, endpoint in world.endpoints.items():
        live[("endpoint", name.lower())] = endpoint
    cloud = world.azure
    if cloud is not None:
        live.update({"cloud": cloud, "tenant": cloud.tenant, "azure_faults": cloud.faults, "arm": cloud.arm,
                     "entra": cloud.entra, "azurite": cloud.azurite})
        if cloud.arm is not None:
            live["throttle"] = cloud.arm.throttle
    return {key: value for key, value in live.items() if value is not None}


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


def dump_state(world: World) -> bytes:
    buffer = io.BytesIO()
    live = {id(value): key for key, value in _live_objects(world).items()}
    _Pickler(buffer, live).dump(_state(world))
    return buffer.getvalue()


def write(state_dir: Path, head: dict, state: bytes) -> None:
    path = snapshot_path(state_dir)
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        pickle.dump({"format": FORMAT, "header": head, "state": state}, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)     # atomic: a reader sees the previous snapshot or this one (no fsync: a lab)


class Snapshotter:
    """Writes the world to the state dir: every SNAPSHOT_INTERVAL_S when it changed, and on `save()`."""

    def __init__(self, world: World, state_dir: Path, args: dict, interval_s: float = SNAPSHOT_INTERVAL_S):
        self.world = world
        self.state_dir = Path(state_dir)
        self.args = args
        self.interval_s = interval_s
        self._last: bytes | None = None
        self._task: asyncio.Task | None = None
        self.writes = 0

    def save(self, force: bool = False) -> bool:
        """Snapshot now; False when nothing changed since the last write (and not forced) or it failed."""
        try:
            state = dump_state(self.world)
            if state == self._last and not force:
                return False
            write(self.state_dir, header(self.world, self.args), state)
        except (pickle.PicklingError, TypeError, AttributeError, ValueError, OSError):
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
            # A large world (a fleet of 1,000 hosts) takes a while to pickle: snapshot less often, so that the
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
    state = _Unpickler(io.BytesIO(snapshot.state), _live_objects(world)).load()
    for name, host_fields in state["hosts"].items():
        if world.has_host(name):
            vars(world.host(name)).update(host_fields)
    for name, value in state["world"].items():
        setattr(world, name, value)
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
