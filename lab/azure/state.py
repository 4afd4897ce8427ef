"""The Azure half of the world: tenant, subscription, ARM resources and Site Recovery state.

One `AzureCloud` holds everything the simulated Azure services know. ARM resources of
Compute, Network, Storage and the vaults themselves are kept as the JSON documents ARM
returns (`resources`, keyed by lower-cased id); Site Recovery objects, which the service
derives from the hosts it talks to, are dataclasses (`VaultAsr`) rendered on each read.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lab.azure import ids
from lab.azure.jobs import Job
from lab.vault_credentials import ManagementCertificate, ProviderRegistration

if TYPE_CHECKING:
    from lab.azure.faults import AzureFaults
    from lab.clock import LabClock
    from lab.hosts.state import HostState

RECOVERY_FABRIC_FRIENDLY_NAME = "Microsoft Azure"
# The Azure side of every Hyper-V-to-Azure item: fixed ids seen in every azure-rest-api-specs example and
# recording (planned_failover.json recoveryContainerId, job affectedObjectDetails).
RECOVERY_FABRIC_NAME = "d49858f157601230a6ac5862fbbc6e63bf38d23ecd96cf953767945d457fe9d5"
RECOVERY_CONTAINER_NAME = "d38048d4-b460-4791-8ece-108395ee8478"
RECOVERY_VMM_ID = "21a9403c-6ec1-44f2-b744-b4e50b792387"
NONE_SCENARIO_START = "1753-01-01T01:01:01Z"   # currentScenario when idle (planned_failover.json entry 6; spec ReplicationProtectedItems_Get.json)


@dataclass
class Principal:
    """A service principal: what a client id + secret authenticates as (token `oid`)."""

    client_id: str
    secret: str
    object_id: str
    display_name: str = "azmigrate-lab"


@dataclass
class Tenant:
    tenant_id: str
    principals: dict[str, Principal] = field(default_factory=dict)   # by client id (lower)

    def principal(self, client_id: str) -> Principal | None:
        return self.principals.get(client_id.lower())

    def add_principal(self, display_name: str = "azmigrate-lab") -> Principal:
        principal = Principal(ids.new_guid(), secrets.token_urlsafe(30), ids.new_guid(), display_name)
        self.principals[principal.client_id.lower()] = principal
        return principal


@dataclass
class Provider:
    """A registered Hyper-V host as the vault sees it (one per host, spec example ReplicationRecoveryServicesProviders_ListByReplicationFabrics.json)."""

    name: str                      # GUID
    host: str                      # the host's name in the world
    fqdn: str
    registered_at: dt.datetime
    version: str = "5.24.0902.3"
    mars_version: str = "2.0.9277.0"
    forced_disconnected: bool = False   # admin knob: provider disconnected
    last_heartbeat: dt.datetime | None = None
    # What the vault has been told of the host's VMs (lab/azure/discovery.py): the VM ids of the last
    # inventory that reached the vault, the next inventory on its way and when it lands, and when the
    # provider last sent one.
    inventory: frozenset[str] | None = None
    pending_inventory: frozenset[str] | None = None
    pending_until: dt.datetime | None = None
    inventory_at: dt.datetime | None = None


@dataclass
class Policy:
    name: str
    profile_id: str                # protectionProfileId in job details
    history_hours: int = 24
    app_consistent_hours: int = 4
    interval_s: int = 300
    online_start: str | None = None
    storage_accounts: list[str] = field(default_factory=list)


@dataclass
class Mapping:
    name: str
    policy_name: str
    state: str = "Paired"


@dataclass
class RecoveryPoint:
    name: str
    time: dt.datetime
    kind: str = "CrashConsistent"  # or ApplicationConsistent


@dataclass
class ProtectedItem:
    """One replication protected item (a Hyper-V VM replicating to Azure)."""

    name: str
    fabric: str
    vm_id: str
    host: str
    vm_name: str
    policy_name: str
    enable_input: dict[str, Any]
    created_at: dt.datetime
    protection_state: str = "UnprotectedStatesBegin"
    protection_description: str = "Enabling protection"
    active_location: str = "Primary"
    test_failover_state: str = "None"
    test_failover_description: str = "None"
    scenario: tuple[str, str, dt.datetime] | None = None   # (scenarioName, job name, start)
    busy: bool = True                # a job is running on the item: no operation is allowed
    failed_over: str | None = None   # None | "Planned" | "Unplanned"
    committed: bool = False
    replication_health: str = "Normal"
    health_errors: list[dict] = field(default_factory=list)
    ir_done: bool = False
    ir_total_bytes: float = 0.0
    ir_remaining_bytes: float = 0.0
    backlog_bytes: float = 0.0
    paused_reason: str | None = None     # "VolumeFull" when the host ran out of log space
    last_replicated: dt.datetime | None = None
    last_rpo_calculated: dt.datetime | None = None
    rpo_seconds: int | None = None
    recovery_points: list[RecoveryPoint] = field(default_factory=list)
    failover_recovery_point: str | None = None
    last_test_failover: dt.datetime | None = None
    last_failover: dt.datetime | None = None
    seed_disks: dict[str, str] = field(default_factory=dict)     # vhdId -> seed managed disk id
    test_vm_id: str | None = None
    failover_vm_id: str | None = None
    replicating: bool = False        # bytes are moving (lab/azure/replication.py)
    replicating_since: float = 0.0   # model time they started moving
    resync_bytes: float = 0.0        # left to send by a resynchronisation
    log_bytes: float = 0.0           # .hrl log on the host's volumes (what is not yet uploaded)
    last_point_at: dt.datetime | None = None
    last_app_point_at: dt.datetime | None = None
    pre_failover_running: bool = False
    settings: dict[str, Any] = field(default_factory=dict)       # target settings (enable + PATCH)
    nic_settings: list[dict] = field(default_factory=list)       # vmNics as given by PATCH
    event_correlation_id: str = field(default_factory=ids.new_guid)


@dataclass
class Fabric:
    name: str
    internal_id: str
    friendly_name: str
    created: bool = False            # becomes True when the CreateSite job finishes
    providers: dict[str, Provider] = field(default_factory=dict)     # by host name (lower)
    mappings: dict[str, Mapping] = field(default_factory=dict)       # by name (lower)
    items: dict[str, ProtectedItem] = field(default_factory=dict)    # by RPI name (lower)

    @property
    def container_name(self) -> str:
        return f"cloud_{self.internal_id}"


@dataclass
class VaultAsr:
    """Site Recovery state of one vault."""

    subscription: str
    resource_group: str
    name: str
    location: str
    resource_id_number: int
    fabrics: dict[str, Fabric] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)             # by job name (lower)
    certificates: dict[str, ManagementCertificate] = field(default_factory=dict)   # by thumbprint (lab/vault_credentials.py)

    @property
    def id(self) -> str:
        return ids.arm_id(self.subscription, self.resource_group, ids.VAULT_TYPE, self.name)

    @property
    def asr_prefix(self) -> str:
        return ids.asr_id(self.id)


class Hosts(Protocol):
    """The Azure side's port to the Hyper-V hosts (the world, lab/world.py): the hosts' state, by name."""

    @property
    def hosts(self) -> list[HostState]: ...

    def has_host(self, name: str) -> bool: ...

    def host(self, name: str) -> HostState: ...


class AzureCloud:
    """Everything the simulated Azure knows. Owned by the lab's one event loop."""

    def __init__(self, hosts: Hosts, registrations: dict[str, ProviderRegistration], clock: LabClock, tenant: Tenant,
                 subscription_id: str, faults: AzureFaults, location: str = "eastus"):
        self.hosts = hosts                    # the Hyper-V hosts the vaults' providers run on
        self.registrations = registrations    # hosts registered with a vault's site, by lower-cased name
        self.clock = clock
        self.tenant = tenant
        self.subscription_id = subscription_id
        self.subscription_name = "azmigrate-lab"
        self.location = location
        self.faults = faults
        self.resource_groups: dict[str, dict] = {}      # lower name -> ARM document
        self.resources: dict[str, dict] = {}            # ids.key(id) -> ARM document
        self.vaults: dict[str, VaultAsr] = {}           # ids.key(vault id) -> ASR state
        self.storage_keys: dict[str, list[str]] = {}    # account name (lower) -> [key1, key2]
        self.arm: Any = None                            # lab.azure.arm.Arm, set by start_azure
        self.entra: Any = None                          # lab.azure.entra.Entra, set by start_azure
        self.azurite: Any = None                        # lab.azure.azurite.Azurite when blob storage runs
        self.endpoints: dict[str, str] = {}             # filled by start_azure: arm, authority, blob
        self.link_bps: dict[str, float] = {}            # host name (lower) -> WAN link bytes/s
        self.churn_bps: dict[str, float] = {}           # VM id (lower) -> write rate bytes/s
        self.replication_t: float | None = None         # model time replication last moved to
        self.vm_power: dict[str, str] = {}              # ids.key(VM id) -> PowerState code suffix

    def now(self) -> dt.datetime:
        return self.clock.now()

    # --- resource groups and generic resources ---

    def resource_group(self, name: str) -> dict | None:
        return self.resource_groups.get(name.lower())

    def get(self, resource_id: str) -> dict | None:
        return self.resources.get(ids.key(resource_id))

    def put(self, document: dict) -> dict:
        self.resources[ids.key(document["id"])] = document
        return document

    def delete(self, resource_id: str) -> dict | None:
        return self.resources.pop(ids.key(resource_id), None)

    def find(self, type_name: str, resource_group: str | None = None) -> list[dict]:
        """Resources of one type (`Microsoft.Compute/disks`), optionally in one resource group."""
        out = []
        for document in self.resources.values():
            if document.get("type", "").lower() != type_name.lower():
                continue
            if resource_group and ids.parse(document["id"]).get("resource_group", "").lower() != resource_group.lower():
                continue
            out.append(document)
        return out

    # --- vaults ---

    def vault(self, resource_group: str, name: str) -> VaultAsr | None:
        return self.vaults.get(ids.key(ids.arm_id(self.subscription_id, resource_group, ids.VAULT_TYPE, name)))

    def protected_items(self) -> Iterator[tuple[VaultAsr, Fabric, ProtectedItem]]:
        """Every replication protected item of every vault, with its vault and site."""
        for vault in self.vaults.values():
            for fabric in vault.fabrics.values():
                for item in fabric.items.values():
                    yield vault, fabric, item
