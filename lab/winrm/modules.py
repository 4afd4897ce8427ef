"""Answers to Ansible module payloads (.ps1 modules run through the exec wrapper).

The collection's own host actions never run .ps1 modules (they send host scripts, docs/host-scripts.md); these exist so
stock Ansible works against the lab: win_ping, fact gathering, and the file modules
win_copy uses (its action plugin asks the module what to copy, puts the file in a temp
directory, then asks the module to move it). Every other module answers {"changed": false}.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from lab.hosts.state import HostState, windows_path

ModuleResponder = Callable[[HostState, dict, dict], dict]


def win_ping(host: HostState, args: dict, ctx: dict) -> dict:
    return {"changed": False, "ping": args.get("data", "pong")}


def setup(host: HostState, args: dict, ctx: dict) -> dict:
    """A minimal subset of ansible.windows.setup facts, from the host state."""
    major, minor, build = (host.os.version.split(".") + ["0", "0", "0"])[:3]
    facts = {
        "ansible_hostname": host.name,
        "ansible_fqdn": f"{host.name.lower()}.{host.domain}" if host.domain_role != 2 else host.name.lower(),
        "ansible_domain": host.domain,
        "ansible_os_family": "Windows",
        "ansible_system": "Win32NT",
        "ansible_os_name": host.os.caption,
        "ansible_distribution": host.os.caption,
        "ansible_distribution_version": f"{host.os.version}.0",
        "ansible_distribution_major_version": major,
        "ansible_kernel": f"{major}.{minor}.{build}.0",
        "ansible_architecture": "64-bit",
        "ansible_windows_domain_role": {2: "Stand-alone server", 3: "Member server",
                                        4: "Backup domain controller", 5: "Primary domain controller"
                                        }.get(host.domain_role, "Stand-alone workstation"),
        "ansible_ip_addresses": [ctx["address"]],
        "ansible_powershell_version": 5,
        "ansible_user_id": ctx["username"],
        "module_setup": True,
    }
    return {"changed": False, "ansible_facts": facts}


def _sha1(host: HostState, path: str) -> str | None:
    entry = host.file(path)
    return entry.sha1 if entry else None


def _join(directory: str, name: str) -> str:
    return windows_path(directory).rstrip("\\") + "\\" + windows_path(name).lstrip("\\")


def win_copy(host: HostState, args: dict, ctx: dict) -> dict:
    mode = args.get("_copy_mode")
    if mode == "query":
        # Which of the files does the host need? Those whose checksum differs (or all, force).
        needed = [f for f in args.get("files") or []
                  if args.get("force", True) or _sha1(host, _join(args["dest"], f["dest"])) is None]
        needed = [f for f in needed if _sha1(host, _join(args["dest"], f["dest"])) != f.get("checksum")]
        return {"changed": False, "files": needed, "directories": [], "symlinks": []}
    if mode == "single":
        source = host.file(args["src"])
        if source is None or source.content is None:
            return {"failed": True, "msg": f"Cannot copy src file: '{args['src']}' as it does not exist"}
        dest = args["dest"]
        if dest.endswith(("\\", "/")):
            dest = _join(dest, args.get("_original_basename", ""))
        entry = host.write_file(dest, source.content, ctx["now"])
        return {"changed": True, "dest": entry.path, "checksum": entry.sha1, "size": entry.size,
                "operation": "file_copy", "original_basename": args.get("_original_basename")}
    return {"failed": True, "msg": f"lab: win_copy _copy_mode={mode!r} is not simulated"}


def slurp(host: HostState, args: dict, ctx: dict) -> dict:
    path = args.get("src") or args.get("path") or ""
    entry = host.file(path)
    if entry is None or entry.content is None:
        return {"failed": True, "msg": f"Path {path} is not found"}
    return {"changed": False, "content": base64.b64encode(entry.content).decode(), "encoding": "base64",
            "source": entry.path}


def win_stat(host: HostState, args: dict, ctx: dict) -> dict:
    entry = host.file(args.get("path", ""))
    if entry is None:
        return {"changed": False, "stat": {"exists": False}}
    stat = {"exists": True, "isdir": False, "path": entry.path, "size": entry.size,
            "filename": entry.path.rsplit("\\", 1)[-1]}
    if entry.content is not None and args.get("get_checksum", True):
        algorithm = args.get("checksum_algorithm", "sha1")
        stat["checksum"] = hashlib.new(algorithm, entry.content).hexdigest()
    return {"changed": False, "stat": stat}


RESPONDERS: dict[str, ModuleResponder] = {
    "ansible.windows.win_ping": win_ping,
    "ansible.windows.setup": setup,
    "ansible.windows.win_copy": win_copy,
    "ansible.windows.slurp": slurp,
    "ansible.windows.win_stat": win_stat,
}


def respond(module: str, host: HostState, args: dict, ctx: dict) -> dict:
    # ansible.builtin.win_ping etc. are redirected to ansible.windows by ansible-core.
    short = module.rsplit(".", 1)[-1]
    responder = RESPONDERS.get(module) or RESPONDERS.get(f"ansible.windows.{short}")
    if responder is None:
        return {"changed": False}
    return responder(host, args, ctx)
