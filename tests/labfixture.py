"""Start, stop and talk to the lab from any test suite.

    from labfixture import LabProcess
    lab = LabProcess.start(state_dir, estate="lab/estates/demo.yml")   # picks a free 127.0.N prefix
    lab.admin.get("/hosts/HV01")             # JSON over the admin API
    lab.inventory                             # path of the Ansible inventory
    lab.host("HV01")                          # {"address", "port", "username", "password", "url", ...}
    lab.stop()

The lab runs as a subprocess through its own CLI (`python -m lab up/down`), exactly as a
user or CI starts it. Import this module with tests/ on sys.path (tests/lab/conftest.py
does that).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ESTATE = PROJECT_ROOT / "lab" / "estates" / "demo.yml"


class AdminError(AssertionError):
    def __init__(self, status: int, body: object):
        super().__init__(f"admin API answered {status}: {body}")
        self.status = status
        self.body = body


class AdminClient:
    """JSON client for the lab's admin API (standard library only)."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, body: object = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AdminError(exc.code, json.loads(exc.read() or b"null")) from None

    def get(self, path: str) -> object:
        return self.request("GET", path)

    def post(self, path: str, body: object) -> object:
        return self.request("POST", path, body)

    def patch(self, path: str, body: object) -> object:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> object:
        return self.request("DELETE", path)

    # Shortcuts tests use often.
    def host(self, name: str) -> dict:
        return self.get(f"/hosts/{name}")

    def log(self, host: str | None = None, since: int = 0) -> list[dict]:
        query = f"?since={since}" + (f"&host={host}" if host else "")
        return self.get(f"/log{query}")

    def last_seq(self) -> int:
        entries = self.get("/log")
        return entries[-1]["seq"] if entries else 0

    def counters(self) -> dict:
        return self.get("/counters")


@dataclass
class LabProcess:
    state_dir: Path
    info: dict
    admin: AdminClient

    @classmethod
    def start(cls, state_dir: Path, estate: Path | str = DEFAULT_ESTATE, address_prefix: str | None = None,
              time_scale: float | None = None, skip: tuple[str, ...] = (),
              python: str = sys.executable) -> LabProcess:
        """Run `python -m lab up`; address_prefix None picks a free 127.0.N prefix; skip=("azure",)
        leaves out the Azure side."""
        address_prefix = address_prefix or free_address_prefix()
        command = [python, "-m", "lab", "up", "--estate", str(estate), "--state-dir", str(state_dir),
                   "--address-prefix", address_prefix]
        if time_scale is not None:
            command += ["--time-scale", str(time_scale)]
        for system in skip:
            command += ["--skip", system]
        completed = subprocess.run(command, cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True,
                                   timeout=60, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"lab up failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
        info = json.loads((Path(state_dir) / "lab.json").read_text())
        return cls(Path(state_dir), info, AdminClient(info["admin_url"]))

    def stop(self) -> None:
        subprocess.run([sys.executable, "-m", "lab", "down", "--state-dir", str(self.state_dir)],
                       cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True, timeout=60, check=True)

    def resume(self) -> None:
        """`python -m lab up --resume` after stop(): the saved world, on the same addresses, ports and passwords."""
        completed = subprocess.run([sys.executable, "-m", "lab", "up", "--resume", "--state-dir", str(self.state_dir)],
                                   cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True, timeout=60,
                                   check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"lab up --resume failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
        self.info = json.loads((self.state_dir / "lab.json").read_text())
        self.admin = AdminClient(self.info["admin_url"])

    def restart(self) -> None:
        """`python -m lab restart`: down, then up --resume."""
        completed = subprocess.run([sys.executable, "-m", "lab", "restart", "--state-dir", str(self.state_dir)],
                                   cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True, timeout=90,
                                   check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"lab restart failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
        self.info = json.loads((self.state_dir / "lab.json").read_text())
        self.admin = AdminClient(self.info["admin_url"])

    @property
    def inventory(self) -> Path:
        return Path(self.info["inventory"])

    @property
    def ca_path(self) -> str:
        return self.info["ca_path"]

    def host(self, name: str) -> dict:
        return self.info["hosts"][name]

    def ansible_env(self) -> dict[str, str]:
        """Environment for ansible/ansible-playbook subprocesses against this lab (its realm, when it runs a KDC)."""
        kerberos = {"KRB5_CONFIG": self.info["kerberos"]["krb5_conf"]} if self.info.get("kerberos") else {}
        return {**_env(), **kerberos, "ANSIBLE_COLLECTIONS_PATH": str(PROJECT_ROOT / ".collections"),
                "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_INVENTORY": str(self.inventory), "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_DEPRECATION_WARNINGS": "False"}


def free_address_prefix(preferred: str | None = None, hosts: int = 8, ports: tuple[int, ...] = (5986, 5985)) -> str:
    """A 127.0.N prefix whose first `hosts` addresses have `ports` free.

    Several labs may run at once on one machine (test suites, a demo): each needs its own
    addresses, since every host listens on 5986 (HTTPS) and 5985 (HTTP). `preferred` is tried first.
    """
    candidates = [f"127.0.{n}" for n in random.sample(range(20, 250), 230)]
    for prefix in ([preferred] if preferred else []) + candidates:
        if all(_port_free(f"{prefix}.{index}", port) for index in range(1, hosts + 1) for port in ports):
            return prefix
    raise RuntimeError("no free 127.0.N prefix for a lab")


def _port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _env() -> dict[str, str]:
    paths = [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
