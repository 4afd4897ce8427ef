"""The state of one simulated Windows Hyper-V host (each rule's source is in lab/FIDELITY.md).

The registry, services and files are the single source of truth, as on Windows: the
.NET release, SchUseStrongCrypto, "provider installed" and "agent installed" are read
from registry values, exactly where the host scripts look for them. Everything here is
plain data; simulations of host scripts and installers read and change it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

# Registry locations the host scripts read (KB 3056159, KB 4033999,
# learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection).
DOTNET_KEY = r"HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full"
STRONG_CRYPTO_64_KEY = r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319"
STRONG_CRYPTO_32_KEY = r"HKLM\SOFTWARE\Wow6432Node\Microsoft\.NETFramework\v4.0.30319"
PROVIDER_KEY = r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery"
REGISTRATION_KEY = PROVIDER_KEY + r"\Registration"
PROXY_KEY = PROVIDER_KEY + r"\ProxySettings"
MARS_SETUP_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup"
MARS_CONFIG_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Config"
MARS_REPLICATION_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"
UNINSTALL_KEY = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"

_HIVE_ALIASES = {"HKEY_LOCAL_MACHINE": "HKLM", "HKLM:": "HKLM", "HKEY_CURRENT_USER": "HKCU", "HKCU:": "HKCU"}


def registry_path(path: str) -> str:
    """Canonical key path: backslashes, HKLM prefix, no trailing separator."""
    parts = [part for part in path.replace("/", "\\").split("\\") if part]
    if parts:
        parts[0] = _HIVE_ALIASES.get(parts[0].upper(), parts[0].upper())
    return "\\".join(parts)


def windows_path(path: str) -> str:
    return path.replace("/", "\\")


class Registry:
    """Key path -> {value name -> data}; names compare case-insensitively, as on Windows.

    Data types follow the Python value: int -> REG_DWORD (REG_QWORD above 32 bits),
    str -> REG_SZ, list -> REG_MULTI_SZ, bytes -> REG_BINARY.
    """

    def __init__(self, keys: dict[str, dict[str, Any]] | None = None):
        self._keys: dict[str, tuple[str, dict[str, tuple[str, Any]]]] = {}
        for key, values in (keys or {}).items():
            self.create_key(key)
            for name, data in (values or {}).items():
                self.set_value(key, name, data)

    def key_exists(self, key: str) -> bool:
        return registry_path(key).lower() in self._keys

    def create_key(self, key: str) -> None:
        # Creating a key creates its parents, as New-Item -Force does.
        parts = registry_path(key).split("\\")
        for depth in range(1, len(parts) + 1):
            path = "\\".join(parts[:depth])
            self._keys.setdefault(path.lower(), (path, {}))

    def delete_key(self, key: str) -> None:
        """Remove a key and its subkeys (Remove-Item -Recurse)."""
        prefix = registry_path(key).lower()
        for path in [p for p in self._keys if p == prefix or p.startswith(prefix + "\\")]:
            del self._keys[path]

    def values(self, key: str) -> dict[str, Any]:
        entry = self._keys.get(registry_path(key).lower())
        return dict(entry[1].values()) if entry else {}

    def get_value(self, key: str, name: str, default: Any = None) -> Any:
        entry = self._keys.get(registry_path(key).lower())
        if entry is None:
            return default
        item = entry[1].get(name.lower())
        return item[1] if item else default

    def set_value(self, key: str, name: str, data: Any) -> None:
        self.create_key(key)
        self._keys[registry_path(key).lower()][1][name.lower()] = (name, data)

    def delete_value(self, key: str, name: str) -> None:
        entry = self._keys.get(registry_path(key).lower())
        if entry:
            entry[1].pop(name.lower(), None)

    def subkeys(self, key: str) -> list[str]:
        prefix = registry_path(key).lower() + "\\"
        return sorted(path for path, dummy in self._keys.values()
                      if path.lower().startswith(prefix) and "\\" not in path[len(prefix):])

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {path: {name: _json_data(data) for name, data in values.values()}
                for path, values in sorted(self._keys.values()) if values}


def _json_data(data: Any) -> Any:
    return base64.b64encode(data).decode() if isinstance(data, bytes) else data


@dataclass
class Service:
    name: str
    display_name: str = ""
    status: str = "Running"          # ServiceControllerStatus name: Running, Stopped, ...
    start_type: str = "Automatic"    # ServiceStartMode name: Automatic, Manual, Disabled
    # What the running service read when it last started (dra: its proxy), so that a setting written while it
    # runs takes effect only after a restart.
    loaded: dict = field(default_factory=dict)


# Owners that are administrators; any other owner (a user's account, "HV01\\mallory") is a non-admin.
ADMIN_OWNERS = ("administrators", "system", "builtin\\administrators", "nt authority\\system")
# Folders whose ACL lets BUILTIN\Users create files and folders in every folder created below them, unless that
# folder's ACL is protected (ProgramData's default ACL, lab/FIDELITY.md). Elsewhere the lab lets only
# administrators write (an assumption that keeps other folders out of the model).
USERS_MAY_WRITE_BELOW = ("c:\\programdata",)


def is_admin_owner(owner: str | None) -> bool:
    return owner is None or owner.lower() in ADMIN_OWNERS


@dataclass
class Folder:
    """What matters of a folder's security descriptor: who owns it (an owner may always change the DACL), and
    whether its DACL is protected to SYSTEM and Administrators; otherwise it inherits its parent's."""

    path: str
    owner: str = "Administrators"
    admins_only: bool = False

    def to_dict(self) -> dict:
        return {"path": self.path, "owner": self.owner, "admins_only": self.admins_only}


@dataclass
class FileEntry:
    """A file on the host. Content is kept when it was written through the lab (put_file);
    estate files may carry only metadata (size, file version) to keep the estate small."""

    path: str
    content: bytes | None = None
    size: int = 0
    file_version: str | None = None
    created_at: str | None = None
    owner: str | None = None   # None: an administrator or SYSTEM wrote it

    @property
    def sha1(self) -> str | None:
        return hashlib.sha1(self.content).hexdigest() if self.content is not None else None

    def to_dict(self) -> dict:
        return {"path": self.path, "size": self.size, "sha1": self.sha1,
                "file_version": self.file_version, "created_at": self.created_at, "owner": self.owner}


@dataclass
class Volume:
    name: str                 # as Get-Volume/Win32_Volume names it: "D:\"
    size_bytes: int
    free_bytes: int
    label: str = ""

    def holds(self, path: str) -> bool:
        return windows_path(path).lower().startswith(self.name.lower())


@dataclass
class VirtualDisk:
    path: str
    size_bytes: int           # maximum (virtual) size of the VHDX
    # Where Get-VMHardDiskDrive reports it: "IDE 0:0", "SCSI 0:1" (type, controller number:location).
    # Empty in an estate means by position: IDE 0:0, 0:1, 1:0, 1:1 on generation 1, SCSI 0:n on generation 2.
    controller: str = ""


@dataclass
class VMReplication:
    """Get-VMReplication for one VM; enum names as Hyper-V reports them (VMReplicationState, Get-VMReplication reference on Microsoft Learn)."""

    state: str = "ReadyForInitialReplication"
    health: str = "Normal"
    mode: str = "Primary"
    replica_server: str = "Microsoft Azure"


@dataclass
class VirtualMachine:
    name: str
    id: str
    generation: int = 2
    state: str = "Running"    # VMState name: Running, Off, Saved, Paused
    memory_mb: int = 4096
    processor_count: int = 2
    switch: str | None = None
    disks: list[VirtualDisk] = field(default_factory=list)
    replication: VMReplication | None = None
    # More network adapters than the one on `switch`: the switch of each further adapter.
    more_adapters: list[str] = field(default_factory=list)
    # Generation 2: the hard drives in the firmware boot order (Get-VMFirmware), by disk path; empty means the
    # disks in their order. Generation 1 boots from the disk at IDE 0:0.
    boot_order: list[str] = field(default_factory=list)
    # The guest's OSName as the KVP integration service reports it (Msvm_KvpExchangeComponent); None when
    # Hyper-V does not know it (VM off, integration services missing).
    guest_os: str | None = None

    def adapter_switches(self) -> list[str | None]:
        """The switch of each network adapter, in order (the first is `switch`)."""
        return ([self.switch] if self.switch or self.more_adapters else []) + list(self.more_adapters)

    def disk_controller(self, index: int) -> str:
        disk = self.disks[index]
        if disk.controller:
            return disk.controller
        if self.generation == 1:
            return f"IDE {index // 2}:{index % 2}" if index < 4 else f"SCSI 0:{index - 4}"
        return f"SCSI 0:{index}"

    def boot_disk(self) -> VirtualDisk | None:
        """The disk the VM boots from: IDE 0:0 on generation 1, the first hard drive of the boot order on 2."""
        if self.generation == 1:
            return next((d for i, d in enumerate(self.disks) if self.disk_controller(i) == "IDE 0:0"), None)
        by_path = {d.path.lower(): d for d in self.disks}
        for path in self.boot_order:
            if windows_path(path).lower() in by_path:
                return by_path[windows_path(path).lower()]
        return None if self.boot_order else (self.disks[0] if self.disks else None)


@dataclass
class OperatingSystem:
    caption: str = "Microsoft Windows Server 2022 Datacenter"
    version: str = "10.0.20348"
    build: int = 20348
    server_core: bool = False


@dataclass
class HostState:
    name: str
    os: OperatingSystem = field(default_factory=OperatingSystem)
    domain: str = "WORKGROUP"
    domain_role: int = 2            # Win32_ComputerSystem.DomainRole: 2 standalone server, 3 member server, 4/5 DC
    features: list[str] = field(default_factory=list)   # Get-WindowsFeature names that are Installed
    cluster: str | None = None
    registry: Registry = field(default_factory=Registry)
    services: dict[str, Service] = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)
    certificates: list[dict] = field(default_factory=list)     # LocalMachine\My: {friendly_name, thumbprint}
    mars_settings: dict = field(default_factory=dict)          # Get-OBMachineSetting: {throttle: {...}, proxy: {...}}
    # The proxy the host's network forces ("http://proxy:3128"): a direct connection out of the host fails.
    outbound_proxy: str | None = None
    volumes: list[Volume] = field(default_factory=list)
    vms: list[VirtualMachine] = field(default_factory=list)
    # Folders whose owner or ACL matters (lab/hosts/folders.py); any other folder exists while it holds a file.
    folders: dict[str, Folder] = field(default_factory=dict)
    # Programs started elevated from a folder a non-admin could write: the DLL a non-admin planted there runs
    # with them (DLL search order: the application's folder first). Empty on a host nothing planted ran on.
    planted_code_ran: list[dict] = field(default_factory=list)
    # The language mode Windows PowerShell runs a WinRM command line in: ConstrainedLanguage under a WDAC or AppLocker
    # policy that enforces script rules (lab/winrm/language_mode.py), FullLanguage otherwise.
    language_mode: str = "FullLanguage"

    # --- derived views: read from the sources of truth, never stored twice ---

    @property
    def hyperv_role(self) -> bool:
        return "Hyper-V" in self.features

    @property
    def dotnet_release(self) -> int | None:
        return self.registry.get_value(DOTNET_KEY, "Release")

    @property
    def strong_crypto(self) -> tuple[int | None, int | None]:
        return (self.registry.get_value(STRONG_CRYPTO_64_KEY, "SchUseStrongCrypto"),
                self.registry.get_value(STRONG_CRYPTO_32_KEY, "SchUseStrongCrypto"))

    @property
    def provider_version(self) -> str | None:
        return self.registry.get_value(PROVIDER_KEY, "Version")

    @property
    def agent_install_path(self) -> str | None:
        return self.registry.get_value(MARS_SETUP_KEY, "InstallPath")

    def installed_products(self) -> list[dict]:
        """Add/Remove Programs entries, from the Uninstall keys (never Win32_Product)."""
        products = []
        for key in self.registry.subkeys(UNINSTALL_KEY):
            values = self.registry.values(key)
            if values.get("DisplayName"):
                products.append({"product_code": key.rsplit("\\", 1)[1], "name": values["DisplayName"],
                                 "version": values.get("DisplayVersion")})
        return products

    def service(self, name: str) -> Service | None:
        return self.services.get(name.lower())

    def add_service(self, service: Service) -> None:
        self.services[service.name.lower()] = service
        if service.status == "Running":
            self.start_service(service.name)

    def start_service(self, name: str) -> None:
        """Start (or restart) a service: it reads its settings now (dra: ProxySettings)."""
        service = self.service(name)
        service.status = "Running"
        service.loaded = {"proxy": self.registry.values(PROXY_KEY) or None} if name.lower() == "dra" else {}

    def file(self, path: str) -> FileEntry | None:
        return self.files.get(windows_path(path).lower())

    def write_file(self, path: str, content: bytes, created_at: str | None = None) -> FileEntry:
        entry = FileEntry(windows_path(path), content, len(content), created_at=created_at)
        self.files[entry.path.lower()] = entry
        return entry

    def remove_path(self, path: str) -> int:
        """Remove a file or a directory tree; return how many files went."""
        target = windows_path(path).lower().removesuffix("\\.").rstrip("\\")
        doomed = [key for key in self.files if key == target or key.startswith(target + "\\")]
        for key in doomed:
            del self.files[key]
        for key in [key for key in self.folders if key == target or key.startswith(target + "\\")]:
            del self.folders[key]
        return len(doomed)

    def vm(self, name: str) -> VirtualMachine | None:
        return next((vm for vm in self.vms if vm.name.lower() == name.lower()), None)

    def volume_for(self, path: str) -> Volume | None:
        matches = [volume for volume in self.volumes if volume.holds(path)]
        return max(matches, key=lambda volume: len(volume.name), default=None)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "os": asdict(self.os), "domain": self.domain,
            "domain_role": self.domain_role, "features": list(self.features),
            "hyperv_role": self.hyperv_role, "cluster": self.cluster,
            "dotnet_release": self.dotnet_release,
            "strong_crypto": dict(zip(("x64", "x86"), self.strong_crypto, strict=True)),
            "provider_version": self.provider_version, "agent_install_path": self.agent_install_path,
            "installed_products": self.installed_products(),
            "registry": self.registry.to_dict(),
            "services": {service.name: {"display_name": service.display_name, "status": service.status,
                                        "start_type": service.start_type, "loaded": service.loaded}
                         for service in self.services.values()},
            "files": {entry.path: entry.to_dict() for entry in self.files.values()},
            "certificates": list(self.certificates),
            "mars_settings": self.mars_settings,
            "outbound_proxy": self.outbound_proxy,
            "volumes": [asdict(volume) for volume in self.volumes],
            "vms": [asdict(vm) for vm in self.vms],
            "folders": {folder.path: folder.to_dict() for folder in self.folders.values()},
            "planted_code_ran": list(self.planted_code_ran),
            "language_mode": self.language_mode,
        }


# The language modes a host's PowerShell can run a WinRM command line in (lab/winrm/language_mode.py): an application
# control policy yields ConstrainedLanguage; RestrictedLanguage and NoLanguage come from session configurations only.
LANGUAGE_MODES = ("FullLanguage", "ConstrainedLanguage")


def language_mode(value: Any) -> str:
    """``value`` when it is a modelled language mode; ValueError naming the allowed ones otherwise."""
    if value not in LANGUAGE_MODES:
        raise ValueError(f"language_mode {value!r} is not one of {', '.join(LANGUAGE_MODES)}")
    return value


# Get-VM's VMState names a VM can be left in by an estate (YAML reads a bare Off as false: quote it).
VM_STATES = ("Running", "Off", "Saved", "Paused")


def vm_from_dict(data: dict) -> VirtualMachine:
    state = data.get("state", "Running")
    if state not in VM_STATES:
        raise ValueError(f"VM {data.get('name')!r}: state {state!r} is not one of {', '.join(VM_STATES)} (quote 'Off' in YAML)")
    disks = [VirtualDisk(path=windows_path(d["path"]), size_bytes=int(d["size_bytes"]), controller=d.get("controller", ""))
             for d in data.get("disks", [])]
    replication = data.get("replication")
    return VirtualMachine(
        name=data["name"], id=str(data["id"]), generation=int(data.get("generation", 2)),
        state=state, memory_mb=int(data.get("memory_mb", 4096)),
        processor_count=int(data.get("processor_count", 2)), switch=data.get("switch"),
        disks=disks, replication=VMReplication(**replication) if replication else None,
        more_adapters=list(data.get("more_adapters") or []),
        boot_order=[windows_path(path) for path in data.get("boot_order") or []], guest_os=data.get("guest_os"),
    )


def volume_from_dict(data: dict) -> Volume:
    return Volume(name=data["name"], size_bytes=int(data["size_bytes"]), free_bytes=int(data["free_bytes"]),
                  label=data.get("label", ""))
