"""Set parts of a host's state from a JSON document (admin API PATCH /hosts/{name}).

For test set-up: registry, services, files and folders merge (null deletes; a file or folder may name its
owner, a non-admin's for planted code); planted_code_ran takes null to forget what ran; volumes, features,
certificates, mars_settings and outbound_proxy replace; vms replace when given a list, or update named
VMs field by field when given {name: {...}}. `dotnet_release` and `strong_crypto` are
shorthands that write the registry values Windows keeps them in. `language_mode` is FullLanguage or
ConstrainedLanguage (lab/winrm/language_mode.py).
"""

from __future__ import annotations

import base64
from dataclasses import fields

from lab.hosts import folders
from lab.hosts.state import (
    DOTNET_KEY,
    STRONG_CRYPTO_32_KEY,
    STRONG_CRYPTO_64_KEY,
    FileEntry,
    HostState,
    OperatingSystem,
    Service,
    VirtualMachine,
    VMReplication,
    vm_from_dict,
    volume_from_dict,
    language_mode,
    windows_path,
)

SCALARS = {"domain": str, "domain_role": int}


class PatchError(ValueError):
    pass


def patch_host(host: HostState, document: dict) -> None:
    for key, value in document.items():
        handler = HANDLERS.get(key)
        if handler is None:
            raise PatchError(f"cannot patch {key!r}; patchable: {', '.join(sorted(HANDLERS))}")
        try:
            handler(host, value)
        except (KeyError, TypeError, ValueError) as exc:
            raise PatchError(f"{key}: {exc}") from exc


def _scalar(name: str):
    def apply(host: HostState, value) -> None:
        setattr(host, name, SCALARS[name](value) if value is not None else None)
    return apply


def _os(host: HostState, value: dict) -> None:
    known = {f.name for f in fields(OperatingSystem)}
    for key, item in value.items():
        if key not in known:
            raise KeyError(f"unknown os field {key!r}")
        setattr(host.os, key, item)


def _registry(host: HostState, value: dict) -> None:
    for key, values in value.items():
        if values is None:
            host.registry.delete_key(key)
            continue
        host.registry.create_key(key)
        for name, data in values.items():
            if data is None:
                host.registry.delete_value(key, name)
            else:
                host.registry.set_value(key, name, data)


def merge_services(host: HostState, value: dict) -> None:
    """{name: {display_name, status, start_type} | null}: merge into the host's services, null removes (the estate's too)."""
    for name, spec in value.items():
        if spec is None:
            host.services.pop(name.lower(), None)
            continue
        current = host.service(name) or Service(name)
        host.add_service(Service(current.name, spec.get("display_name", current.display_name),
                                 spec.get("status", current.status), spec.get("start_type", current.start_type)))


def _files(host: HostState, value: dict) -> None:
    for path, spec in value.items():
        if spec is None:
            host.remove_path(path)
            continue
        if "content_b64" in spec:
            content = base64.b64decode(spec["content_b64"])
        elif "content" in spec:
            content = str(spec["content"]).encode()
        else:
            content = None
        size = len(content) if content is not None else int(spec.get("size", 0))
        entry = FileEntry(windows_path(path), content, size, spec.get("file_version"), spec.get("created_at"), spec.get("owner"))
        host.files[entry.path.lower()] = entry


def _folders(host: HostState, value: dict) -> None:
    """{path: {owner, admins_only} | null}: a folder with its owner and ACL (a non-admin's planted folder:
    {"owner": "HV01\\mallory"}); null removes the folder and everything in it."""
    for path, spec in value.items():
        if spec is None:
            host.remove_path(path)
            continue
        unknown = set(spec) - {"owner", "admins_only"}
        if unknown:
            raise KeyError(f"unknown folder field {sorted(unknown)[0]!r}; known: owner, admins_only")
        folders.create(host, path, str(spec.get("owner", "Administrators")), bool(spec.get("admins_only", False)))


def _planted_code_ran(host: HostState, value) -> None:
    if value:
        raise ValueError("only null or [] (forget what ran) is accepted")
    host.planted_code_ran = []


def _vms(host: HostState, value) -> None:
    if isinstance(value, list):
        host.vms = [vm_from_dict(vm) for vm in value]
        return
    for name, changes in value.items():
        vm = host.vm(name)
        if vm is None:
            raise KeyError(f"no VM {name!r} on {host.name}")
        _update_vm(vm, changes)


def _update_vm(vm: VirtualMachine, changes: dict) -> None:
    for key, item in changes.items():
        if key == "replication":
            vm.replication = VMReplication(**item) if item else None
        elif key == "disks":
            vm.disks = vm_from_dict({"name": vm.name, "id": vm.id, "disks": item}).disks
        elif key in ("state", "generation", "memory_mb", "processor_count", "switch", "id"):
            setattr(vm, key, item)
        else:
            raise KeyError(f"unknown VM field {key!r}")


def _strong_crypto(host: HostState, value: dict) -> None:
    for key, arch in ((STRONG_CRYPTO_64_KEY, "x64"), (STRONG_CRYPTO_32_KEY, "x86")):
        if arch in value:
            if value[arch] is None:
                host.registry.delete_value(key, "SchUseStrongCrypto")
            else:
                host.registry.set_value(key, "SchUseStrongCrypto", int(value[arch]))


def _dotnet(host: HostState, value) -> None:
    if value is None:
        host.registry.delete_value(DOTNET_KEY, "Release")
    else:
        host.registry.set_value(DOTNET_KEY, "Release", int(value))


def _language_mode(host: HostState, value) -> None:
    host.language_mode = language_mode(value)


HANDLERS = {
    "domain": _scalar("domain"),
    "domain_role": _scalar("domain_role"),
    "os": _os,
    "features": lambda host, value: setattr(host, "features", list(value)),
    "registry": _registry,
    "services": merge_services,
    "files": _files,
    "folders": _folders,
    "planted_code_ran": _planted_code_ran,
    "certificates": lambda host, value: setattr(host, "certificates", list(value)),
    "mars_settings": lambda host, value: setattr(host, "mars_settings", dict(value or {})),
    "outbound_proxy": lambda host, value: setattr(host, "outbound_proxy", str(value) if value else None),
    "volumes": lambda host, value: setattr(host, "volumes", [volume_from_dict(v) for v in value]),
    "vms": _vms,
    "dotnet_release": _dotnet,
    "strong_crypto": _strong_crypto,
    "language_mode": _language_mode,
}
