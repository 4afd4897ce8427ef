# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""What each host script (``host_scripts/<name>.ps1``) reads from its request and prints: one contract per script.

The runner checks every document against its script's output schema before planning sees it
(_host_script.run_checked_host_script, _host_script_bundle.run_host_script_bundle), and
tests/unit/test_host_script_contracts.py holds every side to it: the script (parsed with the PowerShell
grammar), the controller reading it, and the test stand-in of the script. docs/host-scripts.md explains
each document's meaning. Schemas are plain data (_document_schema.py): a dict gives an object's exact keys,
a one-item list a list of such items, None a scalar; any object may be null.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.azmigrate.hyperv.plugins.module_utils._mars import THROTTLE_FIELDS_SCHEMA


@dataclasses.dataclass(frozen=True)
class HostScriptContract:
    """The request members a script reads (``params_schema``, ``secrets``) and the document it prints.

    ``version`` is the one in the script's marker line (``# azmigrate-host-script: <name>/<version>``).
    A script's failure document (``{"failed": true, "msg": ...}``) is the same for every script and not
    part of its output schema.
    """

    name: str
    version: int
    params_schema: dict[str, t.Any]
    output_schema: dict[str, t.Any] | None
    secrets: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


AGENT_STATE: dict[str, t.Any] = {"path": None, "service_status": None}

# Get-ThrottleSetting in the prelude: the throttle as host_info/1 reports it (null when the agent or its
# service is missing); its fields are _mars's, which the throttle model reads too.
THROTTLE: dict[str, t.Any] = THROTTLE_FIELDS_SCHEMA

HOST_INFO = HostScriptContract(
    name="host_info",
    version=1,
    params_schema={"gather_vms": None},
    output_schema={
        "computer_name": None,
        "domain": None,
        "domain_role": None,
        "os": {"caption": None, "version": None, "build": None},
        "hyperv_role": None,
        "dotnet_release": None,
        "tls": {"strong_crypto_64": None, "strong_crypto_32": None},
        "cluster": {"name": None, "nodes": [{"name": None, "state": None, "id": None}]},
        "services": {
            "dra": {"status": None, "start_type": None},
            "obengine": {"status": None, "start_type": None},
            "vmms": {"status": None, "start_type": None},
            "clussvc": {"status": None, "start_type": None},
        },
        "provider": {"version": None, "dra_id": None, "path": None},
        "agent": {"version": None, "path": None},
        "registration": {
            "vault_location": None,
            "subscription_id": None,
            "vault_name": None,
            "resource_group": None,
            "site_name": None,
            "container_id": None,
        },
        "replication_registry": {"UploadThreadsPerVM": None, "DownloadThreadsPerVM": None},
        "throttle": THROTTLE,
        # What the script could not read without failing the whole read (the throttle), as messages.
        "warnings": [None],
        "vms": [
            {
                "name": None,
                "id": None,
                "state": None,
                "generation": None,
                "disks": [{"path": None, "size_bytes": None, "controller": None}],
                "boot_disk": None,
                "guest_os": None,
                "replication": {"state": None, "health": None, "mode": None, "replica_server": None},
            }
        ],
        "volumes": [{"name": None, "size_bytes": None, "free_bytes": None}],
    },
)

# Get-ProviderRegistration in the prelude: the vault registration the host holds (null when not registered).
REGISTRATION: dict[str, t.Any] = {
    "vault_location": None, "subscription_id": None, "vault_name": None, "resource_group": None, "site_name": None,
    "container_id": None, "dra_id": None,
}

REPLICATION_PROVIDER_READ = HostScriptContract(
    name="replication_provider_read",
    version=1,
    params_schema={"setup_file": {"path": None, "sha256": None, "staged": None}},
    output_schema={
        "computer_name": None,
        "utc_now": None,
        "provider": {"version": None, "configurator": None},
        "agent": {"version": None, "path": None},
        "services": {"dra": None, "obengine": None},
        "registration": REGISTRATION,
        "registration_leftovers": None,
        "proxy": {"address": None, "port": None, "username": None, "bypass_urls": None},
        "uninstall": {"provider": None, "agent": None},
        "setup_file": {"path": None, "exists": None, "sha256": None, "version": None},
        "reboot_pending": None,
    },
)

# What the apply and remove scripts print on success: the steps done, and the versions installed and the
# registration held after them (Write-ProviderStepsResult in the prelude).
PROVIDER_STEPS_RESULT: dict[str, t.Any] = {
    "steps": None,
    "reboot_required": None,
    "setup_file_version": None,
    "provider_version": None,
    "agent_version": None,
    "registration": REGISTRATION,
}

REPLICATION_PROVIDER_APPLY = HostScriptContract(
    name="replication_provider_apply",
    version=1,
    # The members of every kind of step (download, verify, install, upgrade, register, configure_proxy).
    params_schema={"steps": [{
        "action": None, "expected_version": None, "friendly_name": None, "path": None, "setup_file": None,
        "sha256": None, "source": None, "staging_dir": None, "timeout": None,
        "proxy": {"address": None, "port": None, "username": None, "bypass_urls": None},
    }]},
    output_schema=PROVIDER_STEPS_RESULT,
    secrets=("proxy_password", "setup_file_url", "vault_credentials"),
)

REPLICATION_PROVIDER_REMOVE = HostScriptContract(
    name="replication_provider_remove",
    version=1,
    params_schema={"steps": [{"action": None, "component": None, "timeout": None}]},
    output_schema=PROVIDER_STEPS_RESULT,
)

# The read and the set script of a setting print the same document; the set script reads back what it wrote and, under
# ``replaced``, what it found before writing (the read script's document), so a write sent without a read first (the
# agent's throttle, set in the command that installs the agent) still tells what it changed.
# The threads: the agent and the two registry values, each with its registry type, since a REG_SZ "8" is not
# a setting the agent reads as a DWORD.
THREADS_DOCUMENT: dict[str, t.Any] = {
    "agent": AGENT_STATE,
    "replication_registry": {
        "UploadThreadsPerVM": {"data": None, "kind": None},
        "DownloadThreadsPerVM": {"data": None, "kind": None},
    },
}
THROTTLE_DOCUMENT: dict[str, t.Any] = {"agent": AGENT_STATE, "throttle": THROTTLE}

UPLOAD_THREADS_READ = HostScriptContract(name="upload_threads_read", version=1, params_schema={}, output_schema=THREADS_DOCUMENT)
# ``writes``: registry value name -> DWORD.
UPLOAD_THREADS_SET = HostScriptContract(
    name="upload_threads_set", version=2, params_schema={"writes": None}, output_schema={**THREADS_DOCUMENT, "replaced": THREADS_DOCUMENT},
)
UPLOAD_THROTTLE_READ = HostScriptContract(name="upload_throttle_read", version=1, params_schema={}, output_schema=THROTTLE_DOCUMENT)
# ``throttle``: null for -NoThrottle, else the five parameters of Set-OBMachineSetting.
UPLOAD_THROTTLE_SET = HostScriptContract(
    name="upload_throttle_set",
    version=2,
    params_schema={"throttle": {field: value for field, value in THROTTLE.items() if field != "enabled"}},
    output_schema={**THROTTLE_DOCUMENT, "replaced": THROTTLE_DOCUMENT},
)

# Several scripts in one command (_host_script_bundle.py): one request line per part, each part's output
# checked against that part's contract, so the bundle itself has no document of its own.
BUNDLE = HostScriptContract(name="bundle", version=1, params_schema={}, output_schema=None)

# Every script under host_scripts/, by name (the bundle is built, not a file).
CONTRACTS: dict[str, HostScriptContract] = {
    contract.name: contract
    for contract in (
        HOST_INFO,
        REPLICATION_PROVIDER_READ,
        REPLICATION_PROVIDER_APPLY,
        REPLICATION_PROVIDER_REMOVE,
        UPLOAD_THREADS_READ,
        UPLOAD_THREADS_SET,
        UPLOAD_THROTTLE_READ,
        UPLOAD_THROTTLE_SET,
    )
}
