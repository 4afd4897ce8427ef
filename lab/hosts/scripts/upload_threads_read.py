"""Simulation of upload_threads_read/1: the agent and the Replication key's thread values.

Output keys: docs/host-scripts.md "upload_threads_read/1". Like the real script it only
reads: the Setup key's InstallPath, the obengine service and the two values with their
registry types (the lab's Registry types values by their Python type, as Windows does).
"""

from __future__ import annotations

from typing import Any

from lab.hosts.scripts import ScriptContext
from lab.hosts.state import MARS_REPLICATION_KEY, HostState

VERSIONS = (1,)

# What the script changes on the host (tests/pslint/contract.py, tests/unit/test_twin_contracts.py): nothing.
SIDE_EFFECTS: dict = {}

THREAD_VALUES = ("UploadThreadsPerVM", "DownloadThreadsPerVM")


def run(ctx: ScriptContext) -> dict:
    return threads_document(ctx.host)


def threads_document(host: HostState) -> dict:
    """What upload_threads_read/1 prints (upload_threads_set/1 prints the same after writing)."""
    values = host.registry.values(MARS_REPLICATION_KEY)
    by_lower = {name.lower(): data for name, data in values.items()}
    registry = {}
    for name in THREAD_VALUES:
        data = by_lower.get(name.lower())
        registry[name] = None if data is None else {"data": data, "kind": value_kind(data)}
    return {"agent": agent_document(host), "replication_registry": registry}


def agent_document(host: HostState) -> dict | None:
    """{path, service_status} when the Setup key has an InstallPath, as the scripts detect the agent."""
    install_path = host.agent_install_path
    if not install_path:
        return None
    service = host.service("obengine")
    return {"path": install_path, "service_status": service.status if service else None}


def value_kind(data: Any) -> str:
    """RegistryKey.GetValueKind's name for a value, from the lab Registry's Python types."""
    if isinstance(data, bool):
        return "DWord"
    if isinstance(data, int):
        return "DWord" if 0 <= data < 2 ** 32 else "QWord"
    if isinstance(data, list):
        return "MultiString"
    if isinstance(data, bytes):
        return "Binary"
    return "String"
