"""Lab set-up shared by the host preparation tests: fresh hosts, setup files, vault credentials, fast installs.

Everything goes through the lab's admin API (lab/admin.py, lab/hosts/installer_admin.py).
"""

from __future__ import annotations

import base64
from contextlib import contextmanager

import pytest

PROVIDER_KEY = r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery"
FRESH_HOST_PATCH = {
    "registry": {
        PROVIDER_KEY: None,
        r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup": None,
        r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Config": None,
        # Upload threads are the agent's: a host without it has no value (4 applies).
        r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication": None,
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall": None,
        r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager": {"PendingFileRenameOperations": None},
    },
    "services": {"dra": None, "obengine": None, "OBRecoveryServicesManagementAgent": None},
    "files": {r"C:\Program Files\Microsoft Azure Site Recovery Provider": None,
              r"C:\Program Files\Microsoft Azure Recovery Services Agent": None,
              r"C:\ProgramData\azmigrate": None, r"C:\ProgramData\ASRLogs": None},
    "certificates": [],
    "mars_settings": {},
}
PROVIDER_VERSION = "5.24.0902.3"
AGENT_VERSION = "2.0.9277.0"
# Lab seconds per real second while these tests run: an install takes about two lab minutes.
TIME_SCALE = 120.0


def reset_host(admin, name: str) -> None:
    """Back to a host with neither provider nor agent, registration, proxy or pending reboot."""
    admin.patch(f"/hosts/{name}", FRESH_HOST_PATCH)
    admin.delete(f"/provider-registrations/{name}")
    admin.delete(f"/installers/{name}/faults")


def publish_setup_file(admin, provider_version: str = PROVIDER_VERSION, agent_version: str = AGENT_VERSION,
                       name: str = "AzureSiteRecoveryProvider.exe") -> dict:
    """{url, sha256, content_b64, path}: a setup file the lab serves over HTTPS for the hosts."""
    return admin.post("/setup-files", {"name": name, "provider_version": provider_version, "agent_version": agent_version})


def put_setup_file(admin, host: str, path: str, setup: dict) -> None:
    admin.patch(f"/hosts/{host}", {"files": {path: {"content_b64": setup["content_b64"]}}})


def setup_bytes(setup: dict) -> bytes:
    return base64.b64decode(setup["content_b64"])


def vault_credentials(admin, vault_name: str = "rsv-migrate", site_name: str = "hyperv-site", **extra) -> str:
    body = {"resource_group": "rg-migrate", "vault_name": vault_name, "site_name": site_name, **extra}
    return admin.post("/vault-credentials", body)["content"]


@contextmanager
def fast_clock(admin, scale: float = TIME_SCALE):
    """Run the lab clock faster for the duration, then restore the speed others expect."""
    previous = admin.get("/clock")["time_scale"]
    admin.post("/clock", {"time_scale": scale})
    try:
        yield
    finally:
        admin.post("/clock", {"time_scale": previous})


def commands_since(admin, host: str, since: int) -> list[dict]:
    return admin.log(host=host, since=since)


FRESH_HOST = "HV01"


@pytest.fixture()
def fresh(lab):
    """HV01 without provider or agent, the lab clock fast; restored afterwards for the other tests."""
    reset_host(lab.admin, FRESH_HOST)
    with fast_clock(lab.admin):
        yield lab
    reset_host(lab.admin, FRESH_HOST)
    lab.admin.patch(f"/hosts/{FRESH_HOST}", {"domain_role": 3, "features": ["Hyper-V"], "dotnet_release": 528449})


@pytest.fixture()
def setup_file(lab):
    return publish_setup_file(lab.admin)


@pytest.fixture()
def credentials(lab):
    return vault_credentials(lab.admin)
