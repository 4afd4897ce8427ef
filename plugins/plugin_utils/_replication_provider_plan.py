# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Decide what replication_provider changes on a host: pure functions from options and current state to steps.

Current state is the document of the replication_provider_read/1 host script (its contract in
_host_contracts.py, and docs/host-scripts.md). Steps are the change list the replication_provider_apply/1 script performs, in
order. Sources: learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v (install, register, "Use commands"),
learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection (clean up, uninstall order).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ntpath
import re
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_options import ProviderOptions

STAGED_FILE_PREFIX = "AzureSiteRecoveryProvider-"
# The steps replication_provider_remove/1 performs; every other step is replication_provider_apply/1's.
REMOVE_STEPS = ("unregister", "uninstall")
# The Site Recovery REST call that removes a host from its Hyper-V site (Replication Recovery Services Providers - Remove).
REMOVE_PROVIDER_CALL = (
    "POST https://management.azure.com/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.RecoveryServices/"
    "vaults/{vault}/replicationFabrics/{fabric}/replicationRecoveryServicesProviders/{provider}/remove?api-version=2025-08-01"
)


class PlanError(ValueError):
    """The wanted state cannot be reached from the current one without the user deciding (message says how)."""


@dataclasses.dataclass(frozen=True)
class AfterStaging:
    """The second phase of a plan whose setup file's version is known only once the file is staged on the host.

    Staging (download or push) is the plan's first phase; its apply reports the staged file's version, and
    ``steps_for`` turns that version into the rest - an upgrade when it is newer than the installed provider,
    then the registration steps planned up front - without reading the host or planning again.
    """

    installed_version: str | None
    setup_path: str
    options: ProviderOptions
    registration_steps: tuple[dict[str, t.Any], ...]
    registration_names: tuple[str, ...]

    def steps_for(self, staged_version: str | None) -> tuple[list[dict[str, t.Any]], list[str], list[str]]:
        """(steps, names, warnings) once the staged file is known to be ``staged_version``."""
        upgrade, warnings = _upgrade_decision(self.installed_version, staged_version)
        steps, names = _install_steps(self.options, self.setup_path, staged_version, upgrade=True) if upgrade else ([], [])
        return steps + list(self.registration_steps), names + list(self.registration_names), warnings


@dataclasses.dataclass
class Plan:
    steps: list[dict[str, t.Any]]         # apply-script steps, in order (with after_staging: the staging steps only)
    names: list[str]                      # what the user sees in RV(steps)
    push: bool = False                    # the controller copies the setup file before applying
    warnings: list[str] = dataclasses.field(default_factory=list)
    after_staging: AfterStaging | None = None

    @property
    def changed(self) -> bool:
        return bool(self.names)


def host_time(current: dict[str, t.Any], fallback: dt.datetime) -> dt.datetime:
    """The host's UTC time from the read (DRConfigurator checks the key file's validity on the host's clock)."""
    text = current.get("utc_now")
    if not text:
        return fallback
    try:
        # .NET's round-trip format has 7 fractional digits; Python reads at most 6.
        value = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``5.24.0902.3`` -> (5, 24, 902, 3); None for anything that is not dotted numbers."""
    if not text:
        return None
    parts = text.strip().split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def compare_versions(left: str | None, right: str | None) -> int | None:
    """-1, 0 or 1 as ``left`` is older, equal or newer than ``right``; None when either is unreadable."""
    left_parts, right_parts = parse_version(left), parse_version(right)
    if left_parts is None or right_parts is None:
        return None
    width = max(len(left_parts), len(right_parts))
    left_parts += (0,) * (width - len(left_parts))
    right_parts += (0,) * (width - len(right_parts))
    return (left_parts > right_parts) - (left_parts < right_parts)


def staged_setup_path(staging_dir: str, sha256: str) -> str:
    """Where a downloaded or pushed setup file lives: named by its hash, so a re-run finds it."""
    return ntpath.join(staging_dir, f"{STAGED_FILE_PREFIX}{sha256[:16]}.exe")


def setup_file_request(options: ProviderOptions) -> dict[str, t.Any] | None:
    """The ``setup_file`` parameter of the read script: which file to look at and whether to hash it."""
    setup = options.setup
    if setup is None:
        return None
    if setup.kind == "path":
        return {"path": setup.location, "sha256": setup.sha256 is not None, "staged": False}
    # A staged copy is trusted only in the admins-only staging folder (the read says it is absent elsewhere).
    return {"path": staged_setup_path(options.staging_dir, setup.sha256 or ""), "sha256": True, "staged": True}


def registration_view(registration: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    if registration is None:
        return None
    return {key: registration.get(key) for key in ("vault_name", "resource_group", "subscription_id", "site_name")}


def describe_state(current: dict[str, t.Any]) -> dict[str, t.Any]:
    """The per-host before/after of the diff: versions, registration and proxy (never a secret)."""
    return {
        "provider_version": (current["provider"] or {}).get("version"),
        "agent_version": (current["agent"] or {}).get("version"),
        "registration": registration_view(current["registration"]),
        "proxy": current["proxy"],
    }


def _same(left: str | None, right: str | None) -> bool:
    return (left or "").lower() == (right or "").lower()


def registered_elsewhere(current: dict[str, t.Any], options: ProviderOptions) -> bool:
    """True when the host is registered to another vault, or another site of the same vault, than the key or the
    options vault_name and site name."""
    registration, credentials = current["registration"], options.credentials
    if registration is None:
        return False
    if options.vault_name is not None and not _same(registration["vault_name"], options.vault_name):
        return True
    if options.site is not None and registration["site_name"] is not None and not _same(registration["site_name"], options.site):
        return True
    if credentials is None:
        return False
    same_vault = all(
        _same(registration[key], value)
        for key, value in (
            ("subscription_id", credentials.subscription_id),
            ("resource_group", credentials.resource_group),
            ("vault_name", credentials.vault_name),
        )
    )
    same_site = credentials.site_name is None or registration["site_name"] is None or _same(registration["site_name"], credentials.site_name)
    return not (same_vault and same_site)


def _registration_label(registration: dict[str, t.Any]) -> str:
    site = f", site {registration['site_name']}" if registration.get("site_name") else ""
    return f"vault {registration['vault_name']} (resource group {registration['resource_group']}, subscription {registration['subscription_id']}{site})"


def _setup_file_missing(location: str) -> str:
    """Why the host found no setup file; for a UNC path, the double hop is the usual cause and has known fixes."""
    if not location.startswith("\\\\"):
        return f"setup_file_path: no file at {location} on the host"
    return (f"setup_file_path: the host cannot read {location}: the file is missing, or the share refused the session. "
            "A WinRM session authenticated with NTLM, or with Kerberos without delegation, has no credentials to pass on "
            "to the file server (the double hop), so the share sees an anonymous caller. Copy the file to the host "
            "(or use setup_file_src or setup_file_url), or connect with CredSSP (ansible_winrm_transport: credssp) or "
            "Kerberos with delegation (ansible_winrm_kerberos_delegation: true)")


def _setup_version(current: dict[str, t.Any], options: ProviderOptions) -> tuple[str | None, list[dict[str, t.Any]], list[str], bool]:
    """The setup file's version if known, the staging steps and names needed, and whether the controller pushes."""
    setup, found = options.setup, current["setup_file"] or {}
    if setup is None:
        raise ValueError("planning an installation needs a setup file source; options validation should have required one")
    if setup.kind == "path":
        if not found.get("exists"):
            raise PlanError(_setup_file_missing(setup.location))
        if setup.sha256 and (found.get("sha256") or "").lower() != setup.sha256:
            raise PlanError(f"setup_file_path: {setup.location} has SHA-256 {found.get('sha256')}, not the expected setup_file_sha256 {setup.sha256}")
        return found.get("version"), [], [], False
    staged_path = staged_setup_path(options.staging_dir, setup.sha256 or "")
    if found.get("exists") and (found.get("sha256") or "").lower() == setup.sha256:
        return found.get("version"), [], [], False
    if setup.kind == "url":
        download = {"action": "download", "path": staged_path, "sha256": setup.sha256, "proxy": options.proxy.to_dict() if options.proxy else None}
        return None, [download], ["download"], False
    return None, [{"action": "verify", "path": staged_path, "sha256": setup.sha256}], ["push"], True


def _install_steps(options: ProviderOptions, setup_path: str, setup_version: str | None, upgrade: bool) -> tuple[list[dict[str, t.Any]], list[str]]:
    # The host extracts into a new folder with a random name inside the staging folder (never a name another
    # account could create first); install and remove_extracted act on that folder.
    steps = [
        {"action": "extract", "setup_file": setup_path, "staging_dir": options.staging_dir},
        {"action": "install", "expected_version": setup_version, "timeout": options.install_timeout},
        {"action": "remove_extracted"},
    ]
    return steps, ["upgrade" if upgrade else "install"]


def plan_install(
    current: dict[str, t.Any], options: ProviderOptions, setup_version: str | None, setup_path: str
) -> tuple[list[dict[str, t.Any]], list[str], list[str]]:
    """Install when the provider or agent is missing, upgrade when the provider is older; never downgrade."""
    provider, agent = current["provider"], current["agent"]
    if provider is None or agent is None:
        steps, names = _install_steps(options, setup_path, setup_version, upgrade=False)
        return steps, names, []
    upgrade, warnings = _upgrade_decision(provider["version"], setup_version)
    if upgrade:
        steps, names = _install_steps(options, setup_path, setup_version, upgrade=True)
        return steps, names, []
    return [], [], warnings


def _upgrade_decision(installed_version: str | None, setup_version: str | None) -> tuple[bool, list[str]]:
    """Whether the setup file upgrades the installed provider (only when newer), and why not when it does not."""
    comparison = compare_versions(installed_version, setup_version)
    if comparison is None:
        return False, [f"cannot compare the installed provider version {installed_version!r} with the setup file's {setup_version!r}; left as installed"]
    if comparison > 0:
        return False, [f"the installed provider {installed_version} is newer than the setup file's {setup_version}; not downgrading"]
    return comparison < 0, []


def plan_registration(current: dict[str, t.Any], options: ProviderOptions, now: dt.datetime, will_install: bool) -> tuple[list[dict[str, t.Any]], list[str]]:
    registration, credentials = current["registration"], options.credentials
    steps: list[dict[str, t.Any]] = []
    names: list[str] = []
    if registration is not None and not registered_elsewhere(current, options):
        if options.proxy is not None and _proxy_differs(current["proxy"], options):
            steps.append({"action": "configure_proxy", "proxy": options.proxy.to_dict()})
            names.append("configure_proxy")
        return steps, names
    if credentials is None:
        if registration is not None:
            wanted = f"vault_name {options.vault_name!r}" if options.vault_name is not None else f"site {options.site!r}"
            raise PlanError(f"the host is registered to {_registration_label(registration)}, not to {wanted}; give the registration key "
                            "of that vault and site (vault_credentials_content or vault_credentials_src) to register it there")
        raise PlanError("vault_credentials_content: required (or vault_credentials_src) to register the host, which is not registered")
    if registration is not None:
        if not options.force_reregister:
            raise PlanError(
                f"the host is registered to {_registration_label(registration)}, not to the {credentials.vault_label()}"
                f"{', site ' + credentials.site_name if credentials.site_name else ''} of the vault credentials file; "
                "remove it from that vault first, then set force_reregister=true and removed_from_vault=true to clean up the local "
                "registration and register again"
            )
        require_removed_from_vault(registration, options, "force_reregister")
    if registration is not None or current["registration_leftovers"]:
        # Leftovers of an earlier registration (DraID, IdMgmtCloudContainerId, certificates) make DRConfigurator /r
        # refuse ("already registered"): the local cleanup goes first.
        steps.append({"action": "unregister"})
        names.append("unregister")
    if credentials.is_expired(now):
        raise PlanError(f"vault credentials file: expired at {credentials.valid_to.isoformat() if credentials.valid_to else '?'}; "
                        "download a new one from the vault (a key file is valid for 5 days)")
    if current["provider"] is None and not will_install:
        raise PlanError("the provider is not installed, so the host cannot be registered; give a setup file")
    steps.append({"action": "register", "friendly_name": options.friendly_name or current["computer_name"],
                  "proxy": options.proxy.to_dict() if options.proxy else None, "timeout": options.registration_timeout})
    names.append("register")
    return steps, names


def _proxy_differs(proxy: dict[str, t.Any] | None, options: ProviderOptions) -> bool:
    wanted = options.proxy
    if wanted is None:
        return False
    if proxy is None:
        return True
    # DRConfigurator's /AddBypassUrls only adds (no switch removes one): the wanted URLs being there is enough.
    return (
        not _same(proxy.get("address"), wanted.address)
        or proxy.get("port") != wanted.port
        or not _same(proxy.get("username"), wanted.username)
        or not {url.lower() for url in wanted.bypass_urls} <= {url.lower() for url in proxy.get("bypass_urls") or []}
    )


def plan_present(current: dict[str, t.Any], options: ProviderOptions, now: dt.datetime) -> Plan:
    """Steps to reach: provider and agent at least at the setup file's version, registered to the credentials' vault.

    When the provider is installed and the setup file must be staged before its version is known, the plan has two
    phases: the staging steps, then ``after_staging``, which decides the upgrade from the staged version.
    """
    setup_version = None
    warnings: list[str] = []
    steps: list[dict[str, t.Any]] = []
    names: list[str] = []
    push = False
    setup_path = None
    needs_install = current["provider"] is None or current["agent"] is None
    if options.setup is not None:
        found_version, staging, staging_names, push = _setup_version(current, options)
        setup_version = found_version
        setup_path = options.setup.location if options.setup.kind == "path" else staged_setup_path(options.staging_dir, options.setup.sha256 or "")
        if setup_version is None and staging:
            if not needs_install:
                # The version decides between upgrade and nothing: stage first, then decide from the staged version.
                registration_steps, registration_names = plan_registration(current, options, now, will_install=False)
                after_staging = AfterStaging(current["provider"]["version"], setup_path, options, tuple(registration_steps), tuple(registration_names))
                return Plan(steps=staging, names=staging_names + registration_names, push=push, after_staging=after_staging,
                            warnings=["the setup file's version is known once it is on the host; an upgrade is decided then"])
        steps += staging
        names += staging_names
        install_steps, install_names, install_warnings = plan_install(current, options, setup_version, setup_path)
        steps += install_steps
        names += install_names
        warnings += install_warnings
    elif needs_install:
        missing = "provider" if current["provider"] is None else "agent"
        raise PlanError(f"setup_file_path, setup_file_url or setup_file_src: required, since the {missing} is not installed")
    registration_steps, registration_names = plan_registration(current, options, now, will_install=bool(set(names) & {"install", "upgrade"}))
    steps += registration_steps
    names += registration_names
    return Plan(steps=steps, names=names, push=push, warnings=warnings)


def removal_instructions(registration: dict[str, t.Any]) -> str:
    """How the user removes the host from its vault: the portal path and the REST call."""
    call = REMOVE_PROVIDER_CALL.format(
        subscription=registration.get("subscription_id"), resource_group=registration.get("resource_group"),
        vault=registration.get("vault_name"), fabric=f"{{the fabric of site {registration.get('site_name')}}}",
        provider=registration.get("dra_id") or "{the host's provider ID}")
    return (f"remove the host from the Hyper-V site in the vault first - in the portal, Recovery Services vault {registration.get('vault_name')} > "
            "Site Recovery Infrastructure > Hyper-V Hosts > the host > Delete (disable replication of its VMs before), "
            f"or with the REST call {call} - then run again with removed_from_vault=true")


def require_removed_from_vault(registration: dict[str, t.Any], options: ProviderOptions, why: str) -> None:
    """The host cannot remove itself from its vault: refuse until the user confirms it was done."""
    if not options.removed_from_vault:
        raise PlanError(f"{why}: the host is registered to {_registration_label(registration)}, and the vault keeps a host that is only "
                        f"cleaned up locally (its replicated VMs stay bound to it); {removal_instructions(registration)}")


def plan_absent(current: dict[str, t.Any], options: ProviderOptions) -> Plan:
    """Local unregistration once the host is out of its vault, then uninstall the provider, then the agent.

    Order and cleanup: learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection.
    """
    steps: list[dict[str, t.Any]] = []
    names: list[str] = []
    if current["registration"] is not None:
        require_removed_from_vault(current["registration"], options, "state=absent")
    if current["registration"] is not None or current["registration_leftovers"]:
        steps.append({"action": "unregister"})
        names.append("unregister")
    for component in ("provider", "agent"):
        if current[component] is not None or current["uninstall"][component]:
            steps.append({"action": "uninstall", "component": component, "timeout": options.install_timeout})
            names.append(f"uninstall_{component}")
    return Plan(steps=steps, names=names)


def predicted_after(current: dict[str, t.Any], options: ProviderOptions, plan: Plan, setup_version: str | None) -> dict[str, t.Any]:
    """The diff's ``after`` in check mode: what the steps would leave."""
    after = describe_state(current)
    if options.state == "absent":
        return {"provider_version": None, "agent_version": None, "registration": None, "proxy": None}
    if {"install", "upgrade"} & set(plan.names):
        after["provider_version"] = setup_version or after["provider_version"] or "(the setup file's version)"
        after["agent_version"] = after["agent_version"] if "upgrade" in plan.names and after["agent_version"] else "(the setup file's agent)"
    credentials = options.credentials
    if "register" in plan.names and credentials is not None:
        after["registration"] = {"vault_name": credentials.vault_name, "resource_group": credentials.resource_group,
                                 "subscription_id": credentials.subscription_id, "site_name": credentials.site_name}
    if ("register" in plan.names or "configure_proxy" in plan.names) and options.proxy is not None:
        after["proxy"] = options.proxy.to_dict()
    return after


def script_batches(steps: list[dict[str, t.Any]]) -> list[tuple[str, list[dict[str, t.Any]]]]:
    """Consecutive steps grouped by the host script that performs them, in order."""
    batches: list[tuple[str, list[dict[str, t.Any]]]] = []
    for step in steps:
        script = "replication_provider_remove" if step["action"] in REMOVE_STEPS else "replication_provider_apply"
        if batches and batches[-1][0] == script:
            batches[-1][1].append(step)
        else:
            batches.append((script, [step]))
    return batches


def merge_applied(documents: t.Iterable[dict[str, t.Any]]) -> dict[str, t.Any]:
    """One document from the apply and remove scripts' documents, in the order they ran.

    The steps of all, a restart needed if any needs one, the setup file's version if any reported it, and the
    versions and registration the host holds after the last.
    """
    merged: dict[str, t.Any] = {"steps": [], "reboot_required": False, "setup_file_version": None}
    for applied in documents:
        merged["steps"] += applied.get("steps") or []
        merged["reboot_required"] = merged["reboot_required"] or bool(applied.get("reboot_required"))
        merged["setup_file_version"] = applied.get("setup_file_version") or merged["setup_file_version"]
        for key in ("provider_version", "agent_version", "registration"):
            merged[key] = applied.get(key)
    return merged
