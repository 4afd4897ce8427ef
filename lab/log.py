"""The command log and the WinRM counters.

Every command a simulated host runs is one entry, kept in memory (admin API GET /log)
and appended as a JSON line to <state-dir>/commands.log. Secret values never get here:
for a host script only the *keys* of its `secrets` document are recorded, and module
arguments whose names look secret are masked. Counters (requests and bytes per host and
per WS-Management action) let tests and benchmarks count round trips and bytes.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET_NAME = re.compile(r"pass|secret|token|key|credential|sas|cert|pwd", re.IGNORECASE)
MASK = "********"


def mask_secrets(value: Any) -> Any:
    """Mask the values of dict keys that look secret, at any depth."""
    if isinstance(value, dict):
        return {k: (MASK if SECRET_NAME.search(str(k)) and v not in (None, "") else mask_secrets(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


@dataclass
class HostCounters:
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    auth_failures: int = 0
    commands: int = 0
    by_action: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def to_dict(self) -> dict:
        return {"requests": self.requests, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
                "auth_failures": self.auth_failures, "commands": self.commands,
                "by_action": dict(self.by_action)}


class CommandLog:
    def __init__(self, path: Path | None = None):
        self.path = path
        self.entries: list[dict] = []
        self.counters: dict[str, HostCounters] = defaultdict(HostCounters)

    def load(self) -> None:
        """Take the entries already in the file (a resumed lab, lab/persist.py): `seq` goes on from them."""
        if self.path is None or not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            self.entries = [json.loads(line) for line in handle if line.strip()]

    def record(self, entry: dict) -> dict:
        """Append one command entry; `seq` numbers entries from 1 for GET /log?since=."""
        entry = {"seq": len(self.entries) + 1, **entry}
        self.entries.append(entry)
        self.counters[entry["host"]].commands += 1
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, default=str) + "\n")
        return entry

    def count_request(self, host: str, action: str, bytes_in: int, bytes_out: int) -> None:
        counters = self.counters[host]
        counters.requests += 1
        counters.bytes_in += bytes_in
        counters.bytes_out += bytes_out
        counters.by_action[action] += 1

    def count_auth_failure(self, host: str) -> None:
        self.counters[host].auth_failures += 1

    def select(self, host: str | None = None, since: int = 0) -> list[dict]:
        return [entry for entry in self.entries[since:]
                if host is None or entry["host"].lower() == host.lower()]

    def counters_dict(self) -> dict[str, dict]:
        return {host: counters.to_dict() for host, counters in sorted(self.counters.items())}
