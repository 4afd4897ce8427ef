"""Make the collection importable as ansible_collections.azmigrate.hyperv, and the lab as lab, in tests;
keep every test on loopback.

.collections/ansible_collections/azmigrate/hyperv is a symlink to the repository root (the Makefile
makes it), the layout ansible-core's collection loader expects; the lab is the package lab/ at the
repository root.
"""

import ipaddress
import socket
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

for import_root in (REPO_ROOT / ".collections", REPO_ROOT):
    if str(import_root) not in sys.path:
        sys.path.insert(0, str(import_root))

LOOPBACK_NAMES = ("", "localhost", "localhost.localdomain", "ip6-localhost")
_GUARD = {"active": False}


def _refuse_non_loopback(event: str, args: tuple) -> None:
    """Audit hook: while tests run, a lookup of or a connection to anything but loopback fails at once.

    Every suite talks only to the lab: a forgotten `disable_instance_discovery` or a
    real hostname in a fixture becomes a local error, not traffic to a public host. It is installed here so
    that it covers every suite from the first test; the hook stays for the process (audit hooks cannot be
    removed), so a flag switches it on and off.
    """
    if not _GUARD["active"] or event not in ("socket.getaddrinfo", "socket.connect"):
        return
    if event == "socket.connect":
        sock, address = args
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        args = address
    host = args[0]
    text = (host.decode() if isinstance(host, bytes) else str(host or "")).strip("[]")
    if text in LOOPBACK_NAMES:
        return
    try:
        if ipaddress.ip_address(text.split("%")[0]).is_loopback:
            return
    except ValueError:
        pass
    raise ConnectionRefusedError(f"loopback guard: tests may only reach loopback, not {host!r}")


sys.addaudithook(_refuse_non_loopback)


@pytest.fixture(autouse=True, scope="session")
def loopback_only():
    _GUARD["active"] = True
    yield
    _GUARD["active"] = False
