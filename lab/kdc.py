"""A real MIT Kerberos KDC on loopback for the lab's hosts, when the machine has one to run.

Needs Debian's krb5-kdc and krb5-admin-server (krb5kdc, kdb5_util, kadmin.local) and the
Python bindings pyspnego's Kerberos needs (`gssapi` and `krb5`, for the listeners' acceptor;
`make setup` installs all of them); `available()` says whether they are there, and the lab runs
without Kerberos otherwise. The realm holds one domain
account (`labadmin@LAB.TEST`, a random password) and one service principal per host,
`HTTP/<address>`, all in one keytab the listeners accept with. krb5.conf turns off DNS
canonicalisation, so a client asking for HTTP@127.0.x.y gets exactly that principal.
Everything lives under <state dir>/kdc with mode 0600 where it holds a secret.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

REALM = "LAB.TEST"
USER = "labadmin"
TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local")
SBIN = ("/usr/sbin", "/usr/local/sbin")
START_TIMEOUT_S = 10.0
SAVED_FILE = "kdc.json"   # port and password, so a restarted lab keeps its realm


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def available() -> bool:
    # pyspnego offers Kerberos only when both bindings import (spnego/_gss.py imports them together).
    return all(_tool(name) for name in TOOLS) and all(importlib.util.find_spec(name) for name in ("gssapi", "krb5"))


class Kdc:
    def __init__(self, directory: Path, host_addresses: list[str], resume: bool = False):
        """resume: a restarted lab keeps its realm (database, password and port) when the directory has one."""
        self.directory = Path(directory)
        self.host_addresses = host_addresses
        saved = self._saved() if resume else None
        self.reused = saved is not None
        self.password = saved["password"] if saved else secrets.token_urlsafe(18)
        self.port = saved["port"] if saved else _free_port()
        self.process: subprocess.Popen | None = None

    def _saved(self) -> dict | None:
        try:
            return json.loads((self.directory / SAVED_FILE).read_text())
        except (OSError, ValueError):
            return None

    @property
    def krb5_conf(self) -> Path:
        return self.directory / "krb5.conf"

    @property
    def keytab(self) -> Path:
        return self.directory / "http.keytab"

    def start(self) -> dict:
        if not self.reused:
            self._create()
        log = open(self.directory / "krb5kdc.out", "ab")   # pylint: disable=consider-using-with
        self.process = subprocess.Popen([_tool("krb5kdc"), "-n", "-r", REALM], env=self.env(), stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait_listening()
        return {"realm": REALM, "kdc": f"127.0.0.1:{self.port}", "krb5_conf": str(self.krb5_conf.resolve()),
                "user": f"{USER}@{REALM}", "password": self.password}

    def _create(self) -> None:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True, mode=0o700)
        self.krb5_conf.write_text(self._config())
        env = self.env()
        self._run(env, "kdb5_util", "create", "-s", "-r", REALM, "-P", secrets.token_urlsafe(18))
        # The password is on kadmin.local's command line for the instant it runs, never in a lab log.
        self._run(env, "kadmin.local", "-r", REALM, "-q", f"addprinc -pw {self.password} {USER}")
        for address in self.host_addresses:
            self._run(env, "kadmin.local", "-r", REALM, "-q", f"addprinc -randkey HTTP/{address}")
            self._run(env, "kadmin.local", "-r", REALM, "-q", f"ktadd -k {self.keytab} HTTP/{address}")
        os.chmod(self.keytab, 0o600)
        fd = os.open(self.directory / SAVED_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"port": self.port, "password": self.password}, handle)

    def env(self) -> dict[str, str]:
        """What a process needs to use this realm: the configuration (and, for acceptors, the keytab)."""
        return {**os.environ, "KRB5_CONFIG": str(self.krb5_conf), "KRB5_KDC_PROFILE": str(self.krb5_conf),
                "KRB5_KTNAME": str(self.keytab)}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def _run(self, env: dict[str, str], tool: str, *args: str) -> None:
        completed = subprocess.run([_tool(tool), *args], env=env, capture_output=True, text=True, timeout=30,
                                   check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"{tool} failed ({completed.returncode}): {completed.stderr.strip()[:300]}")

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"krb5kdc exited with {self.process.returncode}; see {self.directory / 'krb5kdc.out'}")
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("krb5kdc did not listen in time")

    def _config(self) -> str:
        d = self.directory.resolve()
        mappings = "".join(f"    {address} = {REALM}\n" for address in self.host_addresses)
        return (
            "[libdefaults]\n"
            f"    default_realm = {REALM}\n"
            "    dns_lookup_kdc = false\n    dns_lookup_realm = false\n"
            "    dns_canonicalize_hostname = false\n    rdns = false\n    forwardable = true\n"
            "[realms]\n"
            f"    {REALM} = {{\n"
            f"        kdc = 127.0.0.1:{self.port}\n"
            f"        kdc_ports = {self.port}\n        kdc_tcp_ports = {self.port}\n"
            f"        database_name = {d / 'principal'}\n        key_stash_file = {d / 'stash'}\n"
            f"        acl_file = {d / 'kadm5.acl'}\n"
            "    }\n"
            "[domain_realm]\n" + mappings +
            "[logging]\n"
            f"    kdc = FILE:{d / 'krb5kdc.log'}\n"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
