# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: replicated_vms
short_description: The replicated Hyper-V VMs of Recovery Services vaults as inventory hosts
version_added: 0.1.0
description:
  - Makes one inventory host of each Hyper-V VM that a Recovery Services vault (or an Azure Migrate project's vault)
    replicates to Azure, with the VM's replication status as host variables, grouped by state, health, source host,
    site, cluster and wave.
  - Reads each vault with one paged listing of its replicated VMs plus one of its registered hosts - one request per
    100 VMs - and one request per VM whose current operation names a job, as M(azmigrate.hyperv.replication_info)
    does; the host variables are the fields of that module's RV(azmigrate.hyperv.replication_info#module:vms), prefixed.
  - "Groups: C(state_<state>) for each lifecycle state (C(state_protected), C(state_initial_replication), ...);
    C(ready_for_cutover), the VMs that can be migrated now (state V(protected)); C(health_<health>) for each
    replication health (C(health_normal), C(health_warning), C(health_critical)) and C(critical), the VMs whose health
    is V(Critical); C(host_<short host name>) for the Hyper-V host that replicates the VM; C(site_<site>) for its
    Hyper-V site; C(cluster_<cluster>) when O(clusters) names the host's cluster; C(wave_<wave>) (or the wave's name
    when it starts with C(wave)) from O(plan_file) or the VM's O(wave_tag) tag; C(vault_<vault>)."
  - Group names are lower case, with characters other than letters, digits and C(_) replaced by C(_).
  - The file must end in C(azmigrate.yml), C(azmigrate.yaml), C(replicated_vms.yml) or C(replicated_vms.yaml).
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  plugin:
    description: The name of this plugin; it makes the file an inventory source of this plugin.
    type: str
    required: true
    choices: [azmigrate.hyperv.replicated_vms]
  vaults:
    description:
      - The vaults to read, each a dictionary with C(resource_group) and either C(vault_name) or C(migrate_project),
        as the modules' options of the same names (see M(azmigrate.hyperv.replication_info)).
      - With C(migrate_project), the vault is the one the project's Server Migration solution names in
        C(details.extendedDetails.vaultId).
    type: list
    elements: dict
    required: true
  plan_file:
    description:
      - A replication plan (YAML or JSON) whose C(waves) list (each wave with C(name) and C(vms)) puts VMs in waves,
        such as the C(plan.yml) or C(plan-full.yml) that C(playbooks/plan.yml) writes from
        M(azmigrate.hyperv.replication_plan).
      - VMs are matched by their Hyper-V name, case-insensitively. The plan wins over O(wave_tag).
    type: path
  wave_tag:
    description:
      - The tag of the target Azure VM (the tags given when replication was enabled) that names the VM's wave, for VMs
        that O(plan_file) does not place; the tag name is matched case-insensitively.
      - Set to an empty string to ignore tags.
    type: str
    default: wave
  clusters:
    description:
      - Failover clusters, each a cluster name with the list of its nodes (host names, FQDN or short, case-insensitive),
        as M(azmigrate.hyperv.host_info) reports them in RV(azmigrate.hyperv.host_info#module:cluster); the VMs of
        those hosts go into C(cluster_<cluster>) and get C(<prefix>cluster).
      - The vault does not record cluster membership, so without this option there are no cluster groups.
    type: dict
    default: {}
  filters:
    description:
      - Keep only the VMs that match every given filter; the others are not added to the inventory.
      - C(names), C(hosts), C(health) and C(states) are lists, as the options of the same names of
        M(azmigrate.hyperv.replication_info) (VM names, host names, V(Normal)/V(Warning)/V(Critical)/V(None),
        lifecycle states).
      - C(query) is a JMESPath expression over the list of VMs (the fields of
        RV(azmigrate.hyperv.replication_info#module:vms), without the prefix) that selects VMs, for example
        V([?rpo_seconds > `900`]); a projection such as V([].vm_name) is refused. It needs the C(jmespath) library.
      - The filters reduce the hosts, not the requests made.
    type: dict
    default: {}
  vars_prefix:
    description: Prefix of the host variables this plugin sets.
    type: str
    default: azmigrate_
extends_documentation_fragment:
  - azmigrate.hyperv.azure_auth
  - constructed
  - inventory_cache
requirements:
  - jmespath (only with C(filters.query))
notes:
  - The authentication options are keys of the inventory file; the same E(AZURE_*) environment variables,
    C(~/.azure/credentials) profiles and Azure CLI login apply as for the modules. Keep secrets out of the file -
    use the environment, a profile, a managed identity or the CLI.
  - "Host variables, each prefixed with O(vars_prefix): every field of one VM of
    RV(azmigrate.hyperv.replication_info#module:vms) (C(state), C(health), C(errors), C(initial_replication),
    C(rpo_seconds), C(allowed_operations), C(current_operation), C(target) with the target settings and C(tags),
    C(host) - the source Hyper-V host - and the others), plus C(progress_percent) (of initial replication),
    C(ready_for_cutover), C(wave), C(cluster), C(vault) and C(resource_group)."
  - The inventory host name is the VM's Hyper-V name; when two VMs share a name (in two vaults, or on two hosts), the
    second is named C(<name>_<first 8 characters of its VM id>) and a warning says so. No C(ansible_host) is set;
    set one with O(compose) when plays connect to the VMs.
  - "With O(cache) enabled, the listing is kept for O(cache_timeout) seconds and C(ansible-inventory --flush-cache)
    (or C(meta: refresh_inventory) in a play) reads the vaults again."
seealso:
  - module: azmigrate.hyperv.replication_info
"""

EXAMPLES = r"""
# vaults.azmigrate.yml - every replicated VM of one vault, grouped by the waves of a plan:
#   ansible-inventory -i vaults.azmigrate.yml --graph
plugin: azmigrate.hyperv.replicated_vms
vaults:
  - resource_group: migrate-rg
    vault_name: migrate-vault
plan_file: plan-output/plan.yml

# The vault of an Azure Migrate project, only the VMs that need attention, with a group per policy and
# the VMs whose RPO exceeds 15 minutes:
# ---
# plugin: azmigrate.hyperv.replicated_vms
# vaults:
#   - resource_group: migrate-rg
#     migrate_project: contoso-migration
# filters:
#   health: [Warning, Critical]
# keyed_groups:
#   - key: azmigrate_policy
#     prefix: policy
# groups:
#   rpo_late: azmigrate_rpo_seconds is not none and azmigrate_rpo_seconds > 900
# compose:
#   ansible_host: azmigrate_vm_name ~ '.contoso.local'

# Two vaults, cluster groups, a JMESPath filter and a cached listing:
# ---
# plugin: azmigrate.hyperv.replicated_vms
# vaults:
#   - {resource_group: migrate-rg, vault_name: vault-emea}
#   - {resource_group: migrate-rg, vault_name: vault-amer}
# clusters:
#   hvclu01: [hv01, hv02]
# filters:
#   query: "[?state != 'committed']"
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/azmigrate-inventory
# cache_timeout: 600
"""

import os
import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.constants import HEALTH_VALUES, STATES
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.fleet import (
    find_vault,
    plan_waves,
    read_fleet,
    ready_for_cutover,
    wave_of,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.transform import filter_items
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_auth import AZURE_AUTH_ARGSPEC
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import AzureSession, missing_sdks
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import AzureModuleError
from ansible_collections.azmigrate.hyperv.plugins.module_utils._vm_query import compile_query, QueryError, select_vms

display = Display()

FILE_SUFFIXES = ("azmigrate.yml", "azmigrate.yaml", "replicated_vms.yml", "replicated_vms.yaml")
LIST_FILTERS = dict(names=None, hosts=None, health=HEALTH_VALUES, states=STATES)   # filter -> allowed values (None: any)


def safe_name(text):
    return re.sub(r"[^a-z0-9_]", "_", (text or "").lower())


def wave_group(wave):
    name = safe_name(wave)
    return name if name.startswith("wave") else "wave_" + name


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "azmigrate.hyperv.replicated_vms"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(FILE_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        vaults = self._vaults()   # bad input is refused before anything is read from Azure
        list_filters, query = self._filters()
        waves_by_vm = self._plan_waves()
        clusters_by_host = self._clusters()

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        fleets = None
        if use_cache:
            try:
                fleets = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if fleets is None:
            fleets = self._read_vaults(vaults)
        if update_cache:
            self._cache[cache_key] = fleets

        for fleet in fleets:
            try:
                vms = select_vms(query, "filters.query", filter_items(fleet["vms"], **list_filters))
            except QueryError as exc:
                raise AnsibleParserError(to_native(exc))
            for vm in vms:
                self._add_vm(vm, fleet, waves_by_vm, clusters_by_host)

    # --- options ---

    def _vaults(self):
        vaults = self.get_option("vaults")
        if not vaults:
            raise AnsibleParserError("vaults is empty: give at least one vault, as {resource_group: ..., vault_name: ...} "
                                     "or {resource_group: ..., migrate_project: ...}")
        checked = []
        for index, vault in enumerate(vaults):
            where = "vaults[%d]" % index
            if not isinstance(vault, dict):
                raise AnsibleParserError("%s is %r; it must be a dictionary with resource_group and vault_name or "
                                         "migrate_project" % (where, vault))
            unknown = sorted(set(vault) - {"resource_group", "vault_name", "migrate_project"})
            if unknown:
                raise AnsibleParserError("%s has unknown key(s) %s; allowed: resource_group, vault_name, migrate_project"
                                         % (where, ", ".join(unknown)))
            if not vault.get("resource_group"):
                raise AnsibleParserError("%s has no resource_group: %r" % (where, vault))
            if bool(vault.get("vault_name")) == bool(vault.get("migrate_project")):
                raise AnsibleParserError("%s must have exactly one of vault_name and migrate_project: %r" % (where, vault))
            checked.append(dict(vault))
        return checked

    def _filters(self):
        filters = dict(self.get_option("filters") or {})
        unknown = sorted(set(filters) - set(LIST_FILTERS) - {"query"})
        if unknown:
            raise AnsibleParserError("filters has unknown key(s) %s; allowed: %s" % (
                ", ".join(unknown), ", ".join(sorted(list(LIST_FILTERS) + ["query"]))))
        list_filters = {}
        for key, allowed in LIST_FILTERS.items():
            values = filters.get(key)
            if values is None:
                list_filters[key] = None
                continue
            if isinstance(values, str):
                values = [values]
            if not isinstance(values, list):
                raise AnsibleParserError("filters.%s is %r; it must be a list" % (key, values))
            values = [to_native(value) for value in values]
            wrong = [value for value in values if allowed is not None and value not in allowed]
            if wrong:
                raise AnsibleParserError("filters.%s has %s; allowed values: %s" % (key, ", ".join(repr(v) for v in wrong),
                                                                                    ", ".join(allowed)))
            list_filters[key] = values
        try:
            query = compile_query("filters.query", filters.get("query"))
        except QueryError as exc:
            raise AnsibleParserError(to_native(exc))
        return list_filters, query

    def _plan_waves(self):
        path = self.get_option("plan_file")
        if not path:
            return {}
        if not os.path.isfile(path):
            raise AnsibleParserError("plan_file %s does not exist or is not a file" % path)
        try:
            return plan_waves(self.loader.load_from_file(path))
        except (AnsibleError, ValueError) as exc:
            raise AnsibleParserError("plan_file %s is not a replication plan: %s" % (path, to_native(exc)))

    def _clusters(self):
        by_host = {}
        for cluster, nodes in (self.get_option("clusters") or {}).items():
            if not isinstance(nodes, list):
                raise AnsibleParserError("clusters.%s is %r; it must be the list of the cluster's nodes" % (cluster, nodes))
            for node in nodes:
                by_host[to_native(node).split(".")[0].lower()] = to_native(cluster)
        return by_host

    def _auth_params(self):
        params = dict((name, self.get_option(name)) for name in AZURE_AUTH_ARGSPEC)
        if params.get("auth_source") == "auto" and os.environ.get("ANSIBLE_AZURE_AUTH_SOURCE"):
            params["auth_source"] = None   # the environment's choice, as for the modules
        return params

    # --- reading ---

    def _read_vaults(self, vaults):
        """[{resource_group, vault, vms}] for each vault: one paged listing each."""
        missing, _trace = missing_sdks("azure-mgmt-recoveryservicessiterecovery")
        if missing:
            raise AnsibleParserError("the %s inventory plugin needs the Python libraries %s on the controller "
                                     "(pip install -r requirements.txt of the collection)" % (self.NAME, ", ".join(missing)))
        try:
            session = AzureSession.from_params(self._auth_params())
            client = session.site_recovery()
            fleets = []
            for vault in vaults:
                resource_group, vault_name = vault["resource_group"], vault.get("vault_name")
                if not vault_name:
                    resource_group, vault_name = find_vault(session, resource_group, vault["migrate_project"])
                fleets.append({"resource_group": resource_group, "vault": vault_name,
                               "vms": read_fleet(client, resource_group, vault_name)})
            return fleets
        except AzureModuleError as exc:
            raise AnsibleParserError(to_native(exc))

    # --- hosts, variables, groups ---

    def _host_name(self, vm):
        name = vm["vm_name"] or vm["name"]
        if name in self.inventory.hosts:
            other = "%s_%s" % (name, (vm["vm_id"] or vm["name"] or "")[:8])
            display.warning("%s: two replicated VMs are named %s; the one with VM id %s is host %s"
                            % (self.NAME, name, vm["vm_id"], other))
            name = other
        return name

    def _add_vm(self, vm, fleet, waves_by_vm, clusters_by_host):
        prefix = self.get_option("vars_prefix")
        short_host = (vm["host"] or "").split(".")[0].lower()
        wave = wave_of(vm, waves_by_vm, self.get_option("wave_tag"))
        cluster = clusters_by_host.get(short_host)
        variables = dict((prefix + key, value) for key, value in vm.items())
        variables.update({
            prefix + "progress_percent": (vm["initial_replication"] or {}).get("progress_percent"),
            prefix + "ready_for_cutover": ready_for_cutover(vm),
            prefix + "wave": wave, prefix + "cluster": cluster,
            prefix + "vault": fleet["vault"], prefix + "resource_group": fleet["resource_group"],
        })
        host = self._host_name(vm)
        self.inventory.add_host(host)
        for key, value in variables.items():
            self.inventory.set_variable(host, key, value)

        groups = ["state_" + vm["state"], "health_" + safe_name(vm["health"] or "None"), "vault_" + safe_name(fleet["vault"])]
        groups += ["ready_for_cutover"] * ready_for_cutover(vm) + ["critical"] * (vm["health"] == "Critical")
        groups += ["host_" + safe_name(short_host)] * bool(short_host) + ["site_" + safe_name(vm["site"])] * bool(vm["site"])
        groups += ["cluster_" + safe_name(cluster)] * bool(cluster) + [wave_group(wave)] * bool(wave)
        for group in groups:
            self.inventory.add_group(group)
            self.inventory.add_child(group, host)

        strict = self.get_option("strict")
        hostvars = self.inventory.get_host(host).get_vars()
        self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
