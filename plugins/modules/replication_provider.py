# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/replication_provider.py,
# which runs plugins/plugin_utils/host_scripts/replication_provider_read.ps1, replication_provider_apply.ps1 and
# replication_provider_remove.ps1 on the host.

DOCUMENTATION = r"""
---
module: replication_provider
short_description: Install the Azure Site Recovery provider and Recovery Services agent on a Hyper-V host and register it with a vault
version_added: 0.1.0
description:
  - Makes sure the Azure Site Recovery provider and the Recovery Services (MARS) agent are installed on a Hyper-V host
    or failover-cluster node from the one provider setup file (C(AzureSiteRecoveryProvider.exe), extracted with
    C(/x /q), then C(setupdr.exe /i)), at least at the setup file's version - upgrading an older provider, never
    downgrading a newer one - and that the host is registered with the vault of a vault credentials file
    (C(DRConfigurator.exe /r /Credentials /Friendlyname)), with the provider's proxy if one is given.
  - With O(state=absent), removes the local registration (Microsoft's cleanup script for a Hyper-V host), then
    uninstalls the provider, then the agent. A host cannot remove itself from its vault, so on a registered host this
    needs the host removed from the vault first, confirmed with O(removed_from_vault=true).
  - Reads the host in one PowerShell command; a host already in the wanted state is left alone with that one command.
  - Installed software is detected from the registry and services, never from C(Win32_Product). The installers' exit
    codes are not documented, so success is judged by what is installed or registered afterwards, waited for up to
    O(install_timeout) or O(registration_timeout), since setup finishes after its process exits.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  state:
    description:
      - V(present) installs, upgrades and registers; V(absent) unregisters locally and uninstalls.
      - V(absent) on a registered host needs O(removed_from_vault=true).
      - With V(absent), options that only serve V(present) (a setup file, a vault credentials file, O(vault_name),
        O(site), O(friendly_name), a proxy) are refused rather than ignored.
    type: str
    choices: [present, absent]
    default: present
  setup_file_path:
    description:
      - Path of the provider setup file on the host, or a UNC path (C(\\\\server\\share\\AzureSiteRecoveryProvider.exe)).
      - A UNC path must be readable by the connection's account from the WinRM session (Kerberos delegation or CredSSP;
        with NTLM or Basic authentication the share is usually not reachable).
      - Exactly one of O(setup_file_path), O(setup_file_url) and O(setup_file_src) is needed to install or upgrade.
      - Assumed, not verified - a file run from an FQDN UNC path is in Windows' Internet zone and may raise the
        C(Open File - Security Warning), which nobody answers in a WinRM session; O(setup_file_url) or a local path
        avoid that.
    type: str
  setup_file_url:
    description:
      - HTTPS URL the host downloads the setup file from, for example a blob URL with a short-lived read-only SAS.
      - The host verifies the download against O(setup_file_sha256) and keeps it in O(staging_dir), named by its hash,
        so a later run finds it without downloading again.
      - Treated as a secret, since a SAS is a credential - it is sent on the host script's standard input only and
        never returned.
    type: str
  setup_file_src:
    description:
      - Path of the setup file on the controller, copied to O(staging_dir) over the connection only when the host
        does not already hold a file with the same SHA-256. A last resort - WinRM copies are slow.
      - Looked up like the C(src) of M(ansible.builtin.copy) (the role's or playbook's C(files/) folders).
    type: path
  setup_file_sha256:
    description:
      - SHA-256 of the setup file, 64 hexadecimal characters. Required with O(setup_file_url); checked against
        O(setup_file_path) and O(setup_file_src) when given.
    type: str
  staging_dir:
    description:
      - Folder on the host for a downloaded or copied setup file and its extracted files.
      - Made admins-only before anything is written to it or run from it - owned by Administrators, SYSTEM and
        Administrators alone have access, inheritance off - since the setup runs elevated from it and would load a
        DLL another account put there. A new folder gets that ACL as it is created. An existing folder others may
        write to (one an earlier version created under C:\ProgramData, where BUILTIN\Users may create files) is
        deleted and created again when it holds only what this module puts there (C(AzureSiteRecoveryProvider-*)
        files and C(extracted-*) folders); holding anything else, it is refused and left as it is. A setup file
        staged there earlier goes with it, so that run fails asking to run again, and the next run stages it anew.
      - The setup is extracted into a new folder with a random name inside it, removed after the install; a failed
        removal fails the task, naming the folder.
      - The setup is extracted with C(/x:"<folder>"); that the extractor accepts a quoted folder with spaces is not
        verified, so prefer a folder without spaces.
    type: str
    default: C:\ProgramData\azmigrate\setup
  vault_credentials_content:
    description:
      - Content of the vault credentials (registration key) file, the C(.VaultCredentials) XML downloaded from the vault.
      - Needed only when the host has to be registered. Sent on the host script's standard input, written to a file in a
        folder only SYSTEM and Administrators can read, used, and deleted in the same command.
      - Read on the controller before anything reaches the host. A file that is not a vault credentials file (not XML,
        another root element, no vault details, no C(ManagementCert), no C(SiteId) of a Hyper-V site), an expired file
        (the portal's are valid for 5 days), or a file for another vault or site than O(vault_name) and O(site) name, is
        refused before anything changes on the host - nothing is installed.
    type: str
  vault_credentials_src:
    description:
      - Path of the vault credentials file on the controller, instead of O(vault_credentials_content).
    type: path
  vault_name:
    description:
      - Name of the Recovery Services vault the host must be registered to.
      - When given, a vault credentials file for another vault is refused before anything changes, and a host registered
        to another vault is reported as such (see O(force_reregister)). Names compare without regard to case.
      - Whether the vault exists is not checked here, since this module has no Azure credentials; a registration for a
        vault or site that does not exist fails at C(DRConfigurator.exe /r) with the provider's reason, after the provider
        was installed. Run M(azmigrate.hyperv.vault_info) or M(azmigrate.hyperv.registration_key) first to stop earlier.
    type: str
  site:
    description:
      - Name of the Hyper-V site (in the vault) the host must be registered to.
      - When given, a vault credentials file whose C(SiteName) is another site is refused before anything changes, and
        the task fails if the vault registers the host to another site (the vault goes by the file's C(SiteId)).
    type: str
  friendly_name:
    description:
      - Name the host has in the vault. Defaults to the host's computer name.
    type: str
  proxy_address:
    description:
      - Proxy the provider uses, as C(http://<ip-or-fqdn>). HTTPS proxies are not supported by the provider.
      - The Recovery Services agent gets the same proxy (C(Set-OBMachineSetting -ProxyServer -ProxyPort), then a
        restart of its service C(obengine)), and the host downloads O(setup_file_url) through it.
      - On a registered host a different proxy is applied with C(DRConfigurator.exe /configure), after which the
        provider's service C(dra) is restarted so that it uses the new proxy.
      - Without it, the provider's proxy settings are left as they are.
    type: str
  proxy_port:
    description:
      - Port of the proxy, 1 to 65535. Required with O(proxy_address).
    type: int
  proxy_username:
    description:
      - User name for an authenticated proxy.
    type: str
  proxy_password:
    description:
      - Password for an authenticated proxy.
      - It travels on the host script's standard input and reaches no PowerShell cmdlet as a plain parameter value,
        so PowerShell module logging (event 4103) does not record it, with two exceptions forced by Microsoft's tools.
        C(DRConfigurator.exe) takes it only on its command line, so it is visible in the host's process list and,
        with process creation auditing on (event 4688 with command lines), in the Security log while
        C(DRConfigurator.exe) runs. C(Set-OBMachineSetting -ProxyPassword) takes it as a C(SecureString), which
        module logging records by its type name only. It never appears on the WinRM command line. Prefer a proxy
        without authentication or a dedicated account with no other rights.
      - A change of the password alone is not detected (it cannot be read back); change O(proxy_username) or run
        C(DRConfigurator.exe /configure) yourself.
    type: str
  proxy_bypass_urls:
    description:
      - Addresses the provider reaches without the proxy (C(/AddBypassUrls)), one per item.
      - C(DRConfigurator.exe) can only add bypass addresses, not remove them, so the task makes sure these are
        among the provider's; others already there stay.
    type: list
    elements: str
  force_reregister:
    description:
      - When the host is registered to another vault or site, clean up the local registration and register it with the
        vault of the credentials file. Without it the task fails, naming both vaults.
      - The host cannot remove itself from the old vault, so this also needs O(removed_from_vault=true).
    type: bool
    default: false
  removed_from_vault:
    description:
      - Confirms that the host has been removed from the Hyper-V site of the vault it is registered to. The host cannot
        see its vault, and the local cleanup alone leaves the vault listing a disconnected server with its replicated
        VMs bound to it, while registering again can fail with "already registered".
      - Remove it first in the portal (Recovery Services vault, Site Recovery Infrastructure, Hyper-V Hosts, the
        host, Delete; disable replication of its VMs before), with
        O(azmigrate.hyperv.hyperv_site#module:remove_hosts) of M(azmigrate.hyperv.hyperv_site), or with the REST call
        C(POST .../replicationFabrics/{site}/replicationRecoveryServicesProviders/{provider}/remove).
      - Needed by O(state=absent) and O(force_reregister) on a registered host; without it they fail before any change,
        naming the vault and the step. Not needed when the host only holds leftovers of an earlier registration.
    type: bool
    default: false
  install_timeout:
    description:
      - Seconds to wait for setup, and then for the provider and agent to be in place, for each install, upgrade or uninstall.
    type: int
    default: 1800
  registration_timeout:
    description:
      - Seconds to wait for C(DRConfigurator.exe) and then for the registration to appear.
    type: int
    default: 600
extends_documentation_fragment:
  - azmigrate.hyperv.host_action
  - azmigrate.hyperv.host_action.host_script
attributes:
  check_mode:
    description: Reads the host and reports the steps it would run, changing nothing.
    support: full
  diff_mode:
    description: Shows the provider and agent versions, registration and proxy before and after, per host.
    support: full
notes:
  - Install and register the provider on every node of a failover cluster, with the same vault and the same version
    (see M(azmigrate.hyperv.cluster_check)).
  - After a registration, the task returns the registration the host holds, as the same command reads it after its
    steps (a first install and registration is two commands, the read and the apply, beside the file transfer). The
    vault resolves the site from the key file's C(SiteId), so when the file's C(SiteName) differs from the site the host
    ends up in, a warning says so (or, with O(site), the task fails).
  - When C(DRConfigurator.exe /r) fails, the message quotes the last lines of the provider's configurator log,
    where it writes its reason.
  - After registration, finish the registration in the Azure portal (Azure Migrate, Discover, Finalize registration).
  - When the setup file has to be downloaded or copied first to a host that has the provider, its version is known
    only once it is on the host; the task then runs a second command to upgrade (only to a newer version) and register,
    as planned before the first. Check mode reports that plan.
  - The proxy settings are read from C(HKLM\\SOFTWARE\\Microsoft\\Azure Site Recovery\\ProxySettings) (values
    C(ProxyAddress), C(ProxyPort), C(ProxyUserName), C(BypassUrls)). These value names are assumed, not documented
    by Microsoft; verify them on a real host with C(Get-ItemProperty) after a registration with a proxy.
  - The agent's proxy is set whenever the provider's is; a change to the agent's proxy alone is not detected.
  - A registration leaves C(DraID) and C(IdMgmtCloudContainerId) under C(HKLM\\SOFTWARE\\Microsoft\\Azure Site
    Recovery) and C(ASR_*) certificates; when the C(Registration) key is gone but these remain, the task cleans them
    up before registering again, as Microsoft's cleanup script does.
  - Installers run from their own folder (the extraction folder for C(setupdr.exe), the provider's folder for
    C(DRConfigurator.exe)), as Microsoft's procedures do. An installer still running at its timeout is stopped and
    the task fails naming it and its process ID.
  - Uninstalled means what the read sees - no C(Version) value (provider) or C(InstallPath) (agent) and no
    Add/Remove Programs entry. The C(Azure Site Recovery) registry key itself may stay, holding values the provider
    wrote while running; it is left alone. That the MSI leaves such values is assumed; verify after C(msiexec /X).
seealso:
  - module: azmigrate.hyperv.host_info
  - module: azmigrate.hyperv.cluster_check
"""

EXAMPLES = r"""
- name: Install from a blob and register the host
  azmigrate.hyperv.replication_provider:
    setup_file_url: "{{ provider_blob_url }}"
    setup_file_sha256: 0f4a8c3e4b9d1f2a6c7e8d9b0a1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d
    vault_credentials_src: files/hyperv-site.VaultCredentials
    vault_name: rsv-migrate-weu
    site: hyperv-site

- name: Install from a share, register through an authenticated proxy
  azmigrate.hyperv.replication_provider:
    setup_file_path: \\fileserver\installers\AzureSiteRecoveryProvider.exe
    vault_credentials_content: "{{ vault_credentials_xml }}"
    friendly_name: "{{ inventory_hostname }}"
    proxy_address: http://proxy.contoso.local
    proxy_port: 3128
    proxy_username: svc-asr-proxy
    proxy_password: "{{ vault_asr_proxy_password }}"
    proxy_bypass_urls:
      - "*.contoso.local"

# First remove the host from the old vault's Hyper-V site (portal or REST), then:
- name: Move the host to another vault
  azmigrate.hyperv.replication_provider:
    setup_file_path: C:\Installers\AzureSiteRecoveryProvider.exe
    vault_credentials_src: files/new-vault.VaultCredentials
    force_reregister: true
    removed_from_vault: true

# Remove the host from its vault first; a task that refuses names the vault and the portal path and REST call.
- name: Unregister locally and uninstall, once the host is out of the vault
  azmigrate.hyperv.replication_provider:
    state: absent
    removed_from_vault: true
"""

RETURN = r"""
steps:
  description:
    - What the task did, or would do in check mode, in order - C(download), C(push), C(install), C(upgrade),
      C(unregister), C(register), C(configure_proxy), C(uninstall_provider), C(uninstall_agent). Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: [download, install, register]
provider_version:
  description: Version of the Azure Site Recovery provider afterwards, V(null) when not installed.
  returned: always
  type: str
  sample: 5.24.0902.3
agent_version:
  description: Version of the Recovery Services agent afterwards (file version of C(CBEngine.exe)), V(null) when not installed.
  returned: always
  type: str
  sample: 2.0.9277.0
setup_file_version:
  description: File version of the setup file, V(null) when no setup file was given or it is not on the host yet.
  returned: always
  type: str
  sample: 5.24.0902.3
registration:
  description: The vault the host is registered with afterwards, V(null) when it is not registered.
  returned: always
  type: dict
  contains:
    vault_name:
      description: Name of the Recovery Services vault.
      type: str
      sample: rsv-migrate-weu
    resource_group:
      description: Resource group of the vault.
      type: str
      sample: rg-migrate
    subscription_id:
      description: Subscription of the vault.
      type: str
      sample: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f
    site_name:
      description: Hyper-V site the host belongs to.
      type: str
      sample: hyperv-site-ams
proxy:
  description: The provider's proxy afterwards (never the password), V(null) when none is set.
  returned: always
  type: dict
  sample: {address: "http://proxy.contoso.local", port: 3128, username: svc-asr-proxy, bypass_urls: ["*.contoso.local"]}
reboot_required:
  description: Whether the host needs a restart - setup said so (exit code 3010) or a restart is pending.
  returned: always
  type: bool
  sample: false
"""
