# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""A vault's Site Recovery infrastructure as plain dicts, and replication-policy planning. Pure.

Inputs are the service's REST JSON (``_asr.api`` returns it). Shapes: fabric
enable_dr.json entry 5, container entry 6, mapping entry 7, policy entry 8; provider
Azure/azure-rest-api-specs example ReplicationRecoveryServicesProviders_ListByReplicationFabrics.json.
Ids are compared case-insensitively: ASR writes ``/Subscriptions/`` (Azure/azure-sdk-for-go#2824).

The API: ``normalize_site``, ``normalize_host``, ``normalize_container``, ``normalize_policy``,
``normalize_mapping``, ``vault_overview``, ``hosts_by_provider``, ``same_id``, ``name_of``; policies:
``POLICY_LIMITS``, ``validate_policy_settings``, ``policy_settings``, ``policy_changes``,
``policy_input``, ``find_site``, ``plan_policy``; which vault: ``VAULT_OPTIONS``,
``VAULT_OPTION_RULES``, ``vault_from_solution`` (pure) and ``resolve_vault`` (reads the Azure
Migrate project's Server Migration solution through the module's session).
"""

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import name_in_id, properties_of
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.api import get_migrate_solution
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import HYPERV_SITE, PROVIDER
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError


def _health_errors(errors):
    return [{"code": error.get("errorCode"), "message": error.get("errorMessage") or error.get("summaryMessage"),
             "severity": error.get("errorLevel"), "recommended_action": error.get("recommendedAction")}
            for error in errors or []]


def is_hyperv_site(fabric):
    """True for a Hyper-V site; a vault also lists VMM servers and other fabrics (enable_dr.json entry 4)."""
    return (properties_of(fabric).get("customDetails") or {}).get("instanceType") == HYPERV_SITE


def normalize_site(fabric):
    properties = properties_of(fabric)
    details = properties.get("customDetails") or {}
    return {
        "name": fabric.get("name"), "id": fabric.get("id"), "friendly_name": properties.get("friendlyName"),
        "internal_id": properties.get("internalIdentifier"), "health": properties.get("health"),
        "health_errors": _health_errors(properties.get("healthErrorDetails")),
        "hosts": [{"name": host.get("name"), "mars_agent_version": host.get("marsAgentVersion")}
                  for host in details.get("hyperVHosts") or []],
    }


def normalize_host(provider):
    """A registered Hyper-V host (one Site Recovery provider per host)."""
    properties = properties_of(provider)
    return {
        "name": properties.get("friendlyName"), "provider_name": provider.get("name"), "provider_id": provider.get("id"),
        "site": name_in_id(provider.get("id"), "replicationFabrics"),
        "provider_version": properties.get("providerVersion"),
        "provider_version_state": properties.get("providerVersionState"),
        "connection_status": properties.get("connectionStatus"),
        "last_heartbeat": properties.get("lastHeartBeat"),
        "protected_item_count": properties.get("protectedItemCount"),
        "health_errors": _health_errors(properties.get("healthErrorDetails")),
    }


def hosts_by_provider(providers):
    """{provider ARM id: host name} for ``_asr.transform.normalize_item``."""
    return dict((provider.get("id"), properties_of(provider).get("friendlyName")) for provider in providers)


def normalize_container(container):
    properties = properties_of(container)
    return {
        "name": container.get("name"), "id": container.get("id"),
        "site": name_in_id(container.get("id"), "replicationFabrics"),
        "pairing_status": properties.get("pairingStatus"), "role": properties.get("role") or None,
        "protected_item_count": properties.get("protectedItemCount"),
    }


def normalize_mapping(mapping):
    properties = properties_of(mapping)
    return {
        "name": mapping.get("name"), "id": mapping.get("id"),
        "site": name_in_id(mapping.get("id"), "replicationFabrics"),
        "container": name_in_id(mapping.get("id"), "replicationProtectionContainers"),
        "policy": properties.get("policyFriendlyName") or name_in_id(properties.get("policyId"), "replicationPolicies"),
        "policy_id": properties.get("policyId"), "state": properties.get("state"), "health": properties.get("health"),
        "target": properties.get("targetProtectionContainerFriendlyName") or properties.get("targetProtectionContainerId"),
    }


# option -> (GET field of HyperVReplicaAzurePolicyDetails, PUT/PATCH field of the input, allowed values).
# Limits: retention at most 24 h for Hyper-V (MicrosoftDocs/azure-docs#66195), app-consistent snapshots
# 0-12 h (Terraform's validation), interval 30/300/900 s (PowerShell's ValidateSet in New-AzRecoveryServicesAsrPolicy).
POLICY_FIELDS = dict(
    recovery_point_retention_hours=("recoveryPointHistoryDurationInHours", "recoveryPointHistoryDuration"),
    app_consistent_snapshot_frequency_hours=("applicationConsistentSnapshotFrequencyInHours",
                                             "applicationConsistentSnapshotFrequencyInHours"),
    replication_interval=("replicationInterval", "replicationInterval"),
)


POLICY_LIMITS = dict(
    recovery_point_retention_hours=range(0, 25),
    app_consistent_snapshot_frequency_hours=range(0, 13),
    replication_interval=(30, 300, 900),
)


# Values for a new policy when the task leaves a setting out: Azure Migrate's replication
# frequency of 5 minutes, and the portal's Hyper-V defaults (retention 24 h, app-consistent every 4 h).
POLICY_DEFAULTS = dict(recovery_point_retention_hours=24, app_consistent_snapshot_frequency_hours=4,
                       replication_interval=300)


def validate_policy_settings(desired):
    """Messages naming each option whose value is out of range (empty when all are fine)."""
    problems = []
    for option, allowed in POLICY_LIMITS.items():
        value = desired.get(option)
        if value is None or value in allowed:
            continue
        if isinstance(allowed, range):
            text = "a whole number from %d to %d" % (allowed[0], allowed[-1])
        else:
            text = f"one of {', '.join((str(item) for item in allowed))}"
        problems.append(f"{option} is {value}; it must be {text}")
    return problems


def policy_settings(policy):
    """The policy's settings by option name, or None for a policy that is not HyperVReplicaAzure."""
    details = properties_of(policy).get("providerSpecificDetails") or {}
    if details.get("instanceType") != PROVIDER:
        return None
    return dict((option, details.get(fields[0])) for option, fields in POLICY_FIELDS.items())


def normalize_policy(policy):
    properties = properties_of(policy)
    details = properties.get("providerSpecificDetails") or {}
    out = {"name": policy.get("name"), "id": policy.get("id"), "replication_provider": details.get("instanceType")}
    out.update(policy_settings(policy) or dict((option, None) for option in POLICY_FIELDS))
    return out


def policy_changes(current, desired):
    """{option: (before, after)} for the desired settings (None = keep) that differ from ``current``."""
    changes = {}
    for option in POLICY_FIELDS:
        wanted = desired.get(option)
        if wanted is not None and (current or {}).get(option) != wanted:
            changes[option] = ((current or {}).get(option), wanted)
    return changes


def vault_overview(fabrics, providers, containers, policies, mappings):
    """vault_info's result from the five vault-wide lists: {sites, hosts, containers, policies, mappings}.

    Only Hyper-V sites and what belongs to them are kept (a vault may also hold VMM or VMware
    fabrics). Each host gets its MARS agent version from its site's ``hyperVHosts`` entry.
    """
    sites = [normalize_site(fabric) for fabric in fabrics if is_hyperv_site(fabric)]
    site_names = set(site["name"].lower() for site in sites)
    mars_versions = dict(((host["name"] or "").lower(), host["mars_agent_version"]) for site in sites
                         for host in site["hosts"])
    hosts = []
    for provider in providers:
        host = normalize_host(provider)
        if (host["site"] or "").lower() not in site_names:
            continue
        host["mars_agent_version"] = mars_versions.get((host["name"] or "").lower())
        hosts.append(host)

    def in_sites(resources, normalize):
        out = [normalize(resource) for resource in resources]
        return [entry for entry in out if (entry["site"] or "").lower() in site_names]

    return {
        "sites": sites, "hosts": hosts,
        "containers": in_sites(containers, normalize_container),
        "policies": [normalize_policy(policy) for policy in policies],
        "mappings": in_sites(mappings, normalize_mapping),
    }


def find_site(fabrics, name):
    """The Hyper-V site (fabric) named ``name`` (its name or friendly name, any case), or None."""
    for fabric in fabrics:
        if is_hyperv_site(fabric) and name.lower() in ((fabric.get("name") or "").lower(),
                                                       (properties_of(fabric).get("friendlyName") or "").lower()):
            return fabric
    return None


def snapshot_problems(settings, desired):
    """A message when the policy would take application-consistent snapshots less often than it keeps recovery
    points: the frequency (0 = none) must not exceed the retention (HyperVReplicaAzurePolicyInput, REST API
    2025-08-01: "The interval (in hours) at which Hyper-V Replica should create an application consistent
    snapshot within the VM"; a snapshot older than the retention is never available as a recovery point).
    ``settings``: the settings after the change; ``desired``: what the task gave (to say which values are the
    policy's own)."""
    if not settings:
        return []
    frequency = settings["app_consistent_snapshot_frequency_hours"]
    retention = settings["recovery_point_retention_hours"]
    if not frequency or frequency <= retention:
        return []

    def told(option):
        return "" if desired.get(option) is not None else " (the policy's current or default value)"
    return ["app_consistent_snapshot_frequency_hours is %s%s but recovery_point_retention_hours is %s%s; the snapshot "
            "frequency must be 0 (no application-consistent snapshots) or at most the retention" % (
                frequency, told("app_consistent_snapshot_frequency_hours"), retention,
                told("recovery_point_retention_hours"))]


def plan_policy(state, policy_name, current, desired, sites, fabrics, containers, mappings):
    """What replication_policy must do (pure).

    state: "present" or "absent"; current: ``policy_settings`` of the existing policy, None when
    there is none; desired: settings by option name (None = keep, or the default for a new policy);
    sites: site names to associate (present) - associations with other sites are left alone;
    fabrics, containers, mappings: the vault's lists (REST JSON).
    Returns {"policy": None|"create"|"update"|"delete", "settings": the settings after,
    "changes": {option: (before, after)}, "associate": [...], "dissociate": [...], "problems": [...]},
    where each association is {"site", "container", "mapping"}. ``problems`` (a named site that is
    missing or has no container) means: change nothing and fail.
    """
    plan = {"policy": None, "settings": current, "changes": {}, "associate": [], "dissociate": [], "problems": []}
    mine = [normalize_mapping(m) for m in mappings
            if (name_in_id(properties_of(m).get("policyId"), "replicationPolicies") or "").lower() == policy_name.lower()]
    if state == "absent":
        plan["dissociate"] = [{"site": m["site"], "container": m["container"], "mapping": m["name"]} for m in mine]
        plan["policy"] = "delete" if current is not None else None
        plan["settings"] = None
        return plan
    if current is None:
        plan["policy"] = "create"
        plan["settings"] = dict((option, desired.get(option) if desired.get(option) is not None else POLICY_DEFAULTS[option])
                                for option in POLICY_FIELDS)
        plan["changes"] = dict((option, (None, value)) for option, value in plan["settings"].items())
    else:
        plan["changes"] = policy_changes(current, desired)
        if plan["changes"]:
            plan["policy"] = "update"
            plan["settings"] = dict(current, **dict((option, after) for option, (_before, after) in plan["changes"].items()))
    plan["problems"] += snapshot_problems(plan["settings"], desired)
    associated = set((mapping["site"] or "").lower() for mapping in mine)
    for site_name in sites or []:
        fabric = find_site(fabrics, site_name)
        if fabric is None:
            names = sorted(f.get("name") for f in fabrics if is_hyperv_site(f))
            plan["problems"].append("site %r is not a Hyper-V site of the vault (its Hyper-V sites: %s)"
                                    % (site_name, ", ".join(names) or "none"))
            continue
        if fabric["name"].lower() in associated:
            continue
        site_containers = [c for c in containers if (name_in_id(c.get("id"), "replicationFabrics") or "").lower()
                           == fabric["name"].lower()]
        if len(site_containers) != 1:
            # Terraform's association resource requires exactly one container per Hyper-V site too.
            plan["problems"].append("site %r has %d protection containers, expected 1 (a site gets its container "
                                    "when the first host registers)" % (site_name, len(site_containers)))
            continue
        plan["associate"].append({"site": fabric["name"], "container": site_containers[0]["name"],
                                  "mapping": f"{policy_name}-{fabric['name']}"})
        associated.add(fabric["name"].lower())
    return plan


# The vault options of every Site Recovery module (doc fragment azmigrate.hyperv.vault). _azure_module.AzureModule
# adds VAULT_OPTIONS and VAULT_OPTION_RULES, and calls resolve_vault() once it has a session; module.params then hold
# the vault's resource group and name.
VAULT_OPTIONS = dict(
    resource_group=dict(type="str", required=True),
    vault_name=dict(type="str"),
    migrate_project=dict(type="str"),
)


VAULT_OPTION_RULES = dict(required_one_of=[("vault_name", "migrate_project")],
                          mutually_exclusive=[("vault_name", "migrate_project")])


# The Server Migration solution of a Migrate project names its Recovery Services vault in
# properties.details.extendedDetails.vaultId (Az.Migrate reads it there for agentless VMware; that a
# Hyper-V project fills it the same way is an assumption, see the doc fragment's notes).
SERVER_MIGRATION_SOLUTION = "Servers-Migration-ServerMigration"


def vault_from_solution(solution):
    """(resource group, vault name) of the vault a Server Migration solution names, or None."""
    extended = ((properties_of(solution).get("details") or {}).get("extendedDetails") or {})
    vault_id = extended.get("vaultId") or ""
    resource_group = name_in_id(vault_id, "resourceGroups")
    vault_name = name_in_id(vault_id, "vaults")
    if not resource_group or not vault_name:
        return None
    return resource_group, vault_name


def resolve_vault(module, session):
    """Set module.params' vault_name (and resource_group) from migrate_project when it is given.

    The project's resource group is the module's resource_group; the vault may be in another resource
    group, which then replaces it. Fails the task with a message naming the project when the project or
    its Server Migration solution is missing, or the solution names no vault yet.
    """
    params = module.params
    project = params.get("migrate_project")
    if not project:
        return
    try:
        solution = get_migrate_solution(session.site_recovery(), session.subscription_id,
                                        params["resource_group"], project, SERVER_MIGRATION_SOLUTION)
    except AzureModuleError as exc:
        module.fail_json(**exc.fail_kwargs())
    found = vault_from_solution(solution) if solution else None
    if found is not None:
        params["resource_group"], params["vault_name"] = found
    else:
        module.fail_json(msg="migrate_project %r in resource group %r names no Recovery Services vault: %s. Create the "
                             "project's replication infrastructure (in the portal, Servers, databases and web apps > "
                             "Discover > Hyper-V > Create resources), or give vault_name instead."
                             % (project, params["resource_group"],
                                "the project or its %s solution was not found" % SERVER_MIGRATION_SOLUTION
                                if solution is None else "its %s solution has no vaultId" % SERVER_MIGRATION_SOLUTION))
