"""Command line: start the lab in the background, stop it, or run it in the foreground.

    python -m lab up    --estate lab/estates/demo.yml --state-dir .lab [--address-prefix 127.0.1]
                        [--time-scale 60] [--winrm-port 5986] [--winrm-http-port 5985] [--admin-port 0]
                        [--skip azure]
    python -m lab up --resume --state-dir .lab [...]  (the world of the last run, lab/persist.py)
    python -m lab restart --state-dir .lab            (down, then up --resume with the same options)
    python -m lab down  --state-dir .lab
    python -m lab serve ...same options as up...     (what `up` launches, detached)
    python -m lab status --state-dir .lab

`up` re-executes `serve` in a new session (stdout/stderr to <state-dir>/lab.out) and
returns once <state-dir>/lab.json exists, which `serve` writes after every endpoint
listens. `serve` writes <state-dir>/lab.pid and removes it on SIGTERM/SIGINT.

The lab snapshots its world to <state-dir>/world.snapshot while it runs and when it stops. A plain
`up` starts from the estate (and drops an old snapshot); `up --resume` starts from the snapshot
(--estate may then be left out: the snapshot names it; ports left at 0 are the saved ones), and
`restart` is `down` plus `up --resume` with the options the stopped lab was started with - the same
addresses, ports and passwords, so inventories, lab.json and tokens stay valid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# lab.runtime (cryptography, the servers) is imported by `serve` only: up/down stay quick.
from lab.statedir import LAB_FILE, OUT_FILE, PID_FILE

UP_TIMEOUT_S = 20.0
DOWN_TIMEOUT_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description="The azmigrate.hyperv lab.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("up", "start the lab in the background"), ("serve", "run the lab in the foreground")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--estate", type=Path, help="estate file (YAML), e.g. lab/estates/demo.yml (required "
                         "unless --resume)")
        sub.add_argument("--state-dir", required=True, type=Path)
        sub.add_argument("--address-prefix", default=None, help="hosts get <prefix>.1, .2, ... (default 127.0.1)")
        sub.add_argument("--time-scale", type=float, default=None, help="lab seconds per real second")
        sub.add_argument("--winrm-port", type=int, default=None, help="HTTPS listeners' port (default 5986)")
        sub.add_argument("--winrm-http-port", type=int, default=None, help="HTTP listeners' port (default 5985)")
        sub.add_argument("--admin-port", type=int, default=None, help="admin API port on 127.0.0.1 (0: any free)")
        sub.add_argument("--skip", action="append", default=None, metavar="SYSTEM",
                         help="do not start a pluggable system (e.g. azure); repeatable")
        sub.add_argument("--resume", action="store_true",
                         help="start from the world the last run saved in the state dir (lab/persist.py)")
    for name, help_text in (("down", "stop a lab started with up"), ("status", "print lab.json if it runs"),
                            ("restart", "stop the lab and start it again from its saved world")):
        commands.add_parser(name, help=help_text).add_argument("--state-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.command in ("up", "serve"):
        try:
            _complete(args)
        except ValueError as exc:
            parser.error(str(exc))
    return {"up": up, "serve": serve, "down": down, "status": status, "restart": restart}[args.command](args)


DEFAULTS = {"address_prefix": "127.0.1", "time_scale": None, "winrm_port": 5986, "winrm_http_port": 5985, "admin_port": 0, "skip": []}


def _complete(args: argparse.Namespace) -> None:
    """Fill the options left out: from the snapshot's header when resuming, else the defaults."""
    saved: dict = {}
    if args.resume:
        from lab.persist import SnapshotError, read_header
        try:
            saved = read_header(args.state_dir)["args"]
        except SnapshotError as exc:
            raise ValueError(str(exc)) from None
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, saved.get(name, default))
    if args.estate is None:
        if not saved:
            raise ValueError("--estate is required (unless --resume)")
        args.estate = Path(saved["estate"])


def _running_pid(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) and _is_lab(pid) else None


def _is_lab(pid: int) -> bool:
    """Guard against a stale pid file whose pid now belongs to another program."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True   # no /proc: trust the pid file
    return b"lab" in arguments and b"serve" in arguments


def up(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    if (pid := _running_pid(state_dir)) is not None:
        print(f"lab: already running in {state_dir} (pid {pid}); run `python -m lab down` first", file=sys.stderr)
        return 1
    (state_dir / LAB_FILE).unlink(missing_ok=True)
    command = [sys.executable, "-m", "lab", "serve", "--estate", str(args.estate), "--state-dir", str(state_dir),
               "--address-prefix", args.address_prefix, "--winrm-port", str(args.winrm_port),
               "--winrm-http-port", str(args.winrm_http_port),
               "--admin-port", str(args.admin_port)]
    if args.time_scale is not None:
        command += ["--time-scale", str(args.time_scale)]
    for system in args.skip:
        command += ["--skip", system]
    if args.resume:
        command.append("--resume")
    project_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")]))}
    with open(state_dir / OUT_FILE, "wb") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if (state_dir / LAB_FILE).exists():
            info = json.loads((state_dir / LAB_FILE).read_text())
            print(f"lab: up (pid {process.pid}), {len(info['hosts'])} hosts, admin {info['admin_url']}, "
                  f"inventory {info['inventory']}")
            return 0
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.terminate()
    tail = (state_dir / OUT_FILE).read_text(errors="replace")[-3000:]
    print(f"lab: failed to start (see {state_dir / OUT_FILE}):\n{tail}", file=sys.stderr)
    return 1


def serve(args: argparse.Namespace) -> int:
    from lab.persist import SnapshotError
    from lab.runtime import Lab

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir: Path = args.state_dir
    lab = Lab(args.estate, state_dir, args.address_prefix, args.time_scale, args.winrm_port, args.admin_port,
              tuple(args.skip), resume=args.resume, winrm_http_port=args.winrm_http_port)
    try:
        return asyncio.run(_serve(lab))
    except (OSError, ValueError, SnapshotError) as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    finally:
        (state_dir / PID_FILE).unlink(missing_ok=True)


async def _serve(lab) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    lab.state_dir.mkdir(parents=True, exist_ok=True)
    (lab.state_dir / PID_FILE).write_text(f"{os.getpid()}\n")
    started = time.monotonic()
    info = await lab.start()
    logging.getLogger("lab").info("listening: %d hosts, admin %s, in %.2f s", len(info["hosts"]),
                                  info["admin_url"], time.monotonic() - started)
    await stop.wait()
    await lab.stop()
    (lab.state_dir / LAB_FILE).unlink(missing_ok=True)
    return 0


def down(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    pid = _running_pid(state_dir)
    if pid is None:
        print(f"lab: not running in {state_dir}")
        (state_dir / PID_FILE).unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + DOWN_TIMEOUT_S
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    (state_dir / PID_FILE).unlink(missing_ok=True)
    print(f"lab: down (pid {pid})")
    return 0


def restart(args: argparse.Namespace) -> int:
    """down, then up --resume with the options the lab was started with (kept in its snapshot)."""
    from lab.persist import SnapshotError, read_header
    down(args)
    try:
        read_header(args.state_dir)
    except SnapshotError as exc:
        print(f"lab: cannot restart: {exc}", file=sys.stderr)
        return 1
    resumed = argparse.Namespace(state_dir=args.state_dir, estate=None, resume=True,
                                 **{name: None for name in DEFAULTS})
    _complete(resumed)
    return up(resumed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # alive, owned by someone else
    # An exited process stays a zombie until its parent (often init) reaps it: count it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def status(args: argparse.Namespace) -> int:
    pid = _running_pid(args.state_dir)
    if pid is None or not (args.state_dir / LAB_FILE).exists():
        print(f"lab: not running in {args.state_dir}")
        return 1
    info = json.loads((args.state_dir / LAB_FILE).read_text())
    print(json.dumps({k: v for k, v in info.items() if k != "hosts"} |
                     {"hosts": {name: {k: v for k, v in h.items() if k != "password"}
                                for name, h in info["hosts"].items()}}, indent=2))
    return 0
