"""Ansible's PowerShell payloads (ansible-core 2.19: executor/powershell/module_manifest.py).

Modules, put_file, mkdtemp and fetch_file all run bootstrap_wrapper.ps1 as the command and
send the real work on stdin:

    {"name": "exec_wrapper", "script": ..., "params": {...}}       bootstrap manifest
    \\n\\0\\0\\0\\0\\n
    {"scripts": {...}, "actions": [{"name": ..., "params": {...}}, ...], "signed_hashlist": [...]}
    [\\n\\0\\0\\0\\0\\n input piped to the last action, e.g. put_file's base64 lines]

The format is internal to ansible-core and changes between releases: the lab is pinned to
the ansible-core the project pins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

SEPARATOR = b"\n\0\0\0\0\n"
# A line of bootstrap_wrapper.ps1 that identifies it (lines arrive stripped, blanks dropped).
BOOTSTRAP_LINE = "$code = ConvertFrom-Json -InputObject $codeJson"
MODULE_WRAPPER = "module_wrapper.ps1"


class BadPayload(ValueError):
    pass


@dataclass
class ExecPayload:
    action: str                           # winrm_put_file.ps1, module_wrapper.ps1, powershell_mkdtemp.ps1, ...
    params: dict
    input_data: bytes = b""
    wrappers: list[str] = field(default_factory=list)   # become/async wrappers around the action

    @property
    def module_name(self) -> str | None:
        """ansible_collections.ansible.windows.plugins.modules.win_ping.ps1 -> ansible.windows.win_ping"""
        if self.action != MODULE_WRAPPER:
            return None
        script = str(self.params.get("Script", "")).removesuffix(".ps1")
        parts = script.split(".")
        if parts[0] == "ansible_collections" and "modules" in parts:
            return ".".join(parts[1:3] + parts[parts.index("modules") + 1:])
        return script

    @property
    def module_args(self) -> dict:
        for variable in self.params.get("Variables") or []:
            if variable.get("Name") == "complex_args":
                return variable.get("Value") or {}
        return {}


def is_bootstrap(script: str) -> bool:
    return BOOTSTRAP_LINE in script


def parse_exec_payload(stdin: bytes) -> ExecPayload:
    bootstrap, sep, rest = stdin.partition(SEPARATOR)
    if not sep:
        raise BadPayload("no exec_wrapper manifest after the bootstrap JSON")
    manifest_text, dummy, input_data = rest.partition(SEPARATOR)
    try:
        json.loads(bootstrap)
        manifest = json.loads(manifest_text)
    except json.JSONDecodeError as exc:
        raise BadPayload(f"payload JSON does not parse: {exc}") from exc
    actions = manifest.get("actions") or []
    if not actions:
        raise BadPayload("exec manifest has no actions")
    main = next((a for a in actions if a.get("name") == MODULE_WRAPPER), actions[-1])
    return ExecPayload(action=main["name"], params=main.get("params") or {}, input_data=input_data,
                       wrappers=[a["name"] for a in actions if a is not main])
