# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Options of azmigrate.hyperv.replication_provider: the argument spec and the checks it cannot express.

Everything here is pure and runs before the host is asked anything, so a bad input fails before any
change, with a message that names the option, the value and what is allowed. Secret values
(vault credentials, proxy password, a setup URL that may carry a SAS) never appear in a message.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
import urllib.parse

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_credentials import (
    VaultCredentials,
    VaultCredentialsError,
    parse_vault_credentials,
)

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "setup_file_path": {"type": "str"},
    "setup_file_url": {"type": "str", "no_log": True},
    "setup_file_src": {"type": "path"},
    "setup_file_sha256": {"type": "str"},
    "staging_dir": {"type": "str", "default": "C:\\ProgramData\\azmigrate\\setup"},
    "vault_credentials_content": {"type": "str", "no_log": True},
    "vault_credentials_src": {"type": "path"},
    "vault_name": {"type": "str"},
    "site": {"type": "str"},
    "friendly_name": {"type": "str"},
    "proxy_address": {"type": "str"},
    "proxy_port": {"type": "int"},
    "proxy_username": {"type": "str"},
    "proxy_password": {"type": "str", "no_log": True},
    "proxy_bypass_urls": {"type": "list", "elements": "str"},
    "force_reregister": {"type": "bool", "default": False},
    "removed_from_vault": {"type": "bool", "default": False},
    "install_timeout": {"type": "int", "default": 1800},
    "registration_timeout": {"type": "int", "default": 600},
}

MUTUALLY_EXCLUSIVE = [
    ["setup_file_path", "setup_file_url", "setup_file_src"],
    ["vault_credentials_content", "vault_credentials_src"],
]
REQUIRED_TOGETHER = [["proxy_address", "proxy_port"], ["proxy_username", "proxy_password"]]

SETUP_SOURCES = ("setup_file_path", "setup_file_url", "setup_file_src")
SHA256 = re.compile(r"^[0-9A-Fa-f]{64}$")
# DRConfigurator shows the friendly name in the portal; keep to what a computer or DNS name holds.
FRIENDLY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# A Windows path with a drive (C:\...) or a UNC path (\\server\share\...).
DRIVE_PATH = re.compile(r"^[A-Za-z]:\\")
UNC_PATH = re.compile(r"^\\\\[^\\/]+\\[^\\/]+\\")
# Characters that would break out of the quoted arguments of DRConfigurator's command line.
COMMAND_LINE_UNSAFE = re.compile(r'["\r\n\x00]')
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 60, 86400


class OptionError(ValueError):
    """An invalid option; the message names the option, the value (unless secret) and what is allowed."""


@dataclasses.dataclass(frozen=True)
class SetupSource:
    """Where the setup file comes from: kind is path, url or src."""

    kind: str
    location: str            # host path, URL (secret: may hold a SAS) or controller path
    sha256: str | None       # lower-case hex; required for url, computed by the action for src


@dataclasses.dataclass(frozen=True)
class Proxy:
    address: str
    port: int
    username: str | None
    bypass_urls: tuple[str, ...]

    def to_dict(self) -> dict[str, t.Any]:
        return {"address": self.address, "port": self.port, "username": self.username, "bypass_urls": list(self.bypass_urls)}


@dataclasses.dataclass(frozen=True)
class ProviderOptions:
    state: str
    setup: SetupSource | None
    staging_dir: str
    credentials: VaultCredentials | None
    vault_name: str | None                # the vault the host must be registered to, when given
    site: str | None                      # the Hyper-V site the host must be registered to, when given
    friendly_name: str | None
    proxy: Proxy | None
    force_reregister: bool
    removed_from_vault: bool
    install_timeout: int
    registration_timeout: int


def url_for_display(url: str) -> str:
    """Scheme, host and path of a URL: the query (a SAS token) is secret."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


def _check_host_path(option: str, value: str) -> None:
    if not (DRIVE_PATH.match(value) or UNC_PATH.match(value)):
        raise OptionError(f"{option}: {value!r} is not an absolute Windows path; use a path with a drive (C:\\Installers\\AzureSiteRecoveryProvider.exe) "
                          "or a UNC path (\\\\server\\share\\AzureSiteRecoveryProvider.exe)")


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        shown = url_for_display(url) if parts.scheme else "(not a URL)"
        raise OptionError(f"setup_file_url: {shown!r} is not an https:// URL; the host downloads the setup file over HTTPS only "
                          "(for example a blob URL with a read-only SAS)")


def check_sha256(option: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not SHA256.match(value.strip()):
        raise OptionError(f"{option}: {value!r} is not a SHA-256 digest; give 64 hexadecimal characters (Get-FileHash -Algorithm SHA256)")
    return value.strip().lower()


def setup_source(args: t.Mapping[str, t.Any]) -> SetupSource | None:
    """The one setup source given, checked; None when none is given (state=absent, or nothing to install)."""
    given = [name for name in SETUP_SOURCES if args.get(name)]
    if len(given) > 1:
        raise OptionError(f"{', '.join(given)}: give exactly one source of the setup file, not {len(given)}")
    sha256 = check_sha256("setup_file_sha256", args.get("setup_file_sha256"))
    if not given:
        if sha256:
            raise OptionError("setup_file_sha256: given without a setup file; use it with setup_file_url, setup_file_path or setup_file_src")
        return None
    kind = given[0].rsplit("_", 1)[1]
    location = args[given[0]]
    if kind == "path":
        _check_host_path("setup_file_path", location)
    elif kind == "url":
        _check_url(location)
        if not sha256:
            raise OptionError("setup_file_sha256: required with setup_file_url; the host verifies the download against it")
    return SetupSource(kind=kind, location=location, sha256=sha256)


def proxy_options(args: t.Mapping[str, t.Any]) -> Proxy | None:
    """The provider's proxy: http:// only.

    HTTPS proxies are not supported: learn.microsoft.com/azure/site-recovery/hyper-v-azure-support-matrix.
    """
    address = args.get("proxy_address")
    bypass = tuple(args.get("proxy_bypass_urls") or ())
    if address is None:
        for option in ("proxy_port", "proxy_username", "proxy_bypass_urls"):
            if args.get(option):
                raise OptionError(f"{option}: needs proxy_address")
        return None
    parts = urllib.parse.urlsplit(address)
    if parts.scheme.lower() != "http" or not parts.hostname or parts.path not in ("", "/") or parts.port or parts.username:
        raise OptionError(f"proxy_address: {address!r} is not allowed; give http://<ip-or-fqdn> without port, path or credentials "
                          "(HTTPS proxies are not supported by the provider; the port goes in proxy_port)")
    port = args.get("proxy_port")
    if port is None or not 1 <= port <= 65535:
        raise OptionError(f"proxy_port: {port!r} is out of range; give a TCP port from 1 to 65535")
    username = args.get("proxy_username")
    if username is not None and (not username or COMMAND_LINE_UNSAFE.search(username)):
        raise OptionError(f"proxy_username: {username!r} is not allowed; give a non-empty name without double quotes or line breaks")
    password = args.get("proxy_password")
    if password is not None and COMMAND_LINE_UNSAFE.search(password):
        # The value itself is never shown: it is secret.
        raise OptionError("proxy_password: contains a double quote or a line break, which DRConfigurator's command line cannot carry")
    for url in bypass:
        if not url or ";" in url or COMMAND_LINE_UNSAFE.search(url):
            raise OptionError(f"proxy_bypass_urls: {url!r} is not allowed; give one host pattern per item (DRConfigurator joins them with ';')")
    return Proxy(address=f"http://{parts.hostname}", port=port, username=username, bypass_urls=bypass)


def _check_timeout(option: str, value: int) -> int:
    if not MIN_TIMEOUT_S <= value <= MAX_TIMEOUT_S:
        raise OptionError(f"{option}: {value} is out of range; give seconds from {MIN_TIMEOUT_S} to {MAX_TIMEOUT_S}")
    return value


def _check_name(option: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip() or COMMAND_LINE_UNSAFE.search(value):
        raise OptionError(f"{option}: {value!r} is not allowed; give the name as Azure shows it, without line breaks or double quotes")
    return value.strip()


def _same_name(left: str | None, right: str | None) -> bool:
    # Azure resource names compare without regard to case.
    return (left or "").lower() == (right or "").lower()


def check_credentials_target(source: str, credentials: VaultCredentials, vault_name: str | None, site: str | None) -> None:
    """The key file must be for the vault and Hyper-V site the options name: refused before anything reaches the host."""
    if vault_name is not None and not _same_name(credentials.vault_name, vault_name):
        raise OptionError(f"{source}: the file is a registration key for the {credentials.vault_label()}, not for vault_name {vault_name!r}; "
                          f"download the key of vault {vault_name} (azmigrate.hyperv.registration_key), or correct vault_name")
    if site is not None and not _same_name(credentials.site_name, site):
        named = f"site {credentials.site_name!r}" if credentials.site_name else "no site"
        raise OptionError(f"{source}: the file is a registration key for {named} of vault {credentials.vault_name}, not for site {site!r}; "
                          f"download the key of site {site} (azmigrate.hyperv.registration_key), or correct site")


def validate_options(args: t.Mapping[str, t.Any], credentials_text: str | None) -> ProviderOptions:
    """Check the options beyond the argument spec; ``credentials_text`` is the vault credentials file's content.

    Raises OptionError. An expired vault credentials file is not refused here but by the plan, and only
    when the host has to be registered: an already registered host needs no valid file.
    """
    state = args["state"]
    setup = setup_source(args)
    staging_dir = args["staging_dir"]
    _check_host_path("staging_dir", staging_dir.rstrip("\\") + "\\")
    if COMMAND_LINE_UNSAFE.search(staging_dir):
        raise OptionError(f"staging_dir: {staging_dir!r} must not hold double quotes or line breaks")
    friendly_name = args.get("friendly_name")
    if friendly_name is not None and not FRIENDLY_NAME.match(friendly_name):
        raise OptionError(f"friendly_name: {friendly_name!r} is not allowed; give 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
    proxy = proxy_options(args)
    vault_name, site = _check_name("vault_name", args.get("vault_name")), _check_name("site", args.get("site"))
    credentials = None
    if credentials_text is not None:
        source = f"vault_credentials_src {args['vault_credentials_src']!r}" if args.get("vault_credentials_src") else "vault_credentials_content"
        try:
            credentials = parse_vault_credentials(credentials_text)
        except VaultCredentialsError as error:
            raise OptionError(f"{source}: {error}") from None
        check_credentials_target(source, credentials, vault_name, site)
    if state == "absent":
        extra = [name for name in (*SETUP_SOURCES, "vault_credentials_content", "vault_credentials_src", "proxy_address", "vault_name", "site",
                                   "friendly_name") if args.get(name)]
        if extra:
            raise OptionError(f"{', '.join(extra)}: not used with state=absent, which unregisters and uninstalls; remove them")
    return ProviderOptions(
        state=state,
        setup=setup,
        staging_dir=staging_dir.rstrip("\\"),
        credentials=credentials,
        vault_name=vault_name,
        site=site,
        friendly_name=friendly_name,
        proxy=proxy,
        force_reregister=args["force_reregister"],
        removed_from_vault=args["removed_from_vault"],
        install_timeout=_check_timeout("install_timeout", args["install_timeout"]),
        registration_timeout=_check_timeout("registration_timeout", args["registration_timeout"]),
    )
