"""Folders of a simulated host as far as planted code goes: who owns them and who may write to them.

A folder's ACL is modelled by what decides whether a non-admin can put a file in it (lab/FIDELITY.md, "Windows
hosts: host scripts, installers and the agent"):
- a folder owned by a non-admin is theirs: an owner can always change the DACL;
- a protected admins-only folder (inheritance off, SYSTEM and Administrators) lets no one else write, and the
  folders created inside it inherit that;
- any other folder inherits its parent's ACL; below C:\\ProgramData that lets BUILTIN\\Users create files and
  folders (ProgramData's default ACL).
A program started elevated from a folder a non-admin could write loads a DLL planted next to it, as Windows does
(the application's folder comes first in the DLL search order): `note_planted_code` records it in the host's
`planted_code_ran`, which the admin API shows.
"""

from __future__ import annotations

from lab.hosts.state import USERS_MAY_WRITE_BELOW, Folder, HostState, is_admin_owner, windows_path


def _key(path: str) -> str:
    return windows_path(path).rstrip("\\").lower()


def _ancestors(path: str) -> list[str]:
    """`path` and its parents, innermost first (lower case)."""
    parts = _key(path).split("\\")
    return ["\\".join(parts[:depth]) for depth in range(len(parts), 0, -1)]


def exists(host: HostState, path: str) -> bool:
    key = _key(path)
    return key in host.folders or any(name.startswith(key + "\\") for name in [*host.files, *host.folders])


def create(host: HostState, path: str, owner: str = "Administrators", admins_only: bool = False) -> Folder:
    """A new folder (its parents exist or come into being inheriting, as New-Item -Force makes them)."""
    folder = Folder(windows_path(path).rstrip("\\"), owner, admins_only)
    host.folders[_key(path)] = folder
    return folder


def children(host: HostState, path: str) -> list[str]:
    """The names of the files and folders directly inside `path`."""
    prefix = _key(path) + "\\"
    names = {}
    for entry_path in [entry.path for entry in host.files.values()] + [folder.path for folder in host.folders.values()]:
        if entry_path.lower().startswith(prefix):
            name = entry_path[len(prefix):].split("\\", 1)[0]
            names[name.lower()] = name
    return sorted(names.values(), key=str.lower)


def admins_only(host: HostState, path: str) -> bool:
    """Test-AdminsOnlyFolder of the apply script: owned by an administrator, protected, nobody else allowed."""
    folder = host.folders.get(_key(path))
    return folder is not None and folder.admins_only and is_admin_owner(folder.owner)


def non_admin_may_write(host: HostState, path: str) -> str | None:
    """Why a non-admin can create files in folder `path`, or None when only administrators can."""
    for key in _ancestors(path):
        folder = host.folders.get(key)
        if folder is not None:
            if not is_admin_owner(folder.owner):
                return f"{folder.path} is owned by {folder.owner}"
            if folder.admins_only:
                return None
        if key in USERS_MAY_WRITE_BELOW:
            return f"{windows_path(path)} inherits the ACL of {windows_path(key)}, where BUILTIN\\Users may create files and folders"
    return None


def note_planted_code(host: HostState, program: str, now: str) -> None:
    """`program` starts elevated: when a non-admin could write its folder, the DLLs a non-admin put there load with it
    (none planted yet: the lab assumes the non-admin, watching the folder, drops one before it starts)."""
    folder = windows_path(program).rsplit("\\", 1)[0]
    reason = non_admin_may_write(host, folder)
    if reason is None:
        return
    prefix = folder.lower() + "\\"
    planted = sorted(entry.path for key, entry in host.files.items()
                     if key.startswith(prefix) and "\\" not in key[len(prefix):] and key.endswith(".dll") and not is_admin_owner(entry.owner))
    host.planted_code_ran.append({"program": windows_path(program), "folder": folder, "dlls": planted, "why": reason, "at": now})
