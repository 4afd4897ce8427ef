# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/replication_provider.py,
# which runs plugins/plugin_utils/host_scripts/replication_provider_read.ps1 and replication_provider_apply.ps1 on the host.

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
  - With O(state=absent), removes the local registration (the cleanup of a disconnected host), then uninstalls the
    provider, then the agent.
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
    type: str
    choices: [present, absent]
    default: present
  setup_file_path:
    description:
      - Path of the provider setup file on the host, or a UNC path (C(\\\\server\\share\\AzureSiteRecoveryProvider.exe)).
      - A UNC path must be readable by the connection's account from the WinRM session (Kerberos delegation or CredSSP;
        with NTLM or Basic authentication the share is usually not reachable).
      - Exactly one of O(setup_file_path), O(setup_file_url) and O(setup_file_src) is needed to install or upgrade.
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
    type: str
    default: C:\ProgramData\azmigrate\setup
  vault_credentials_content:
    description:
      - Content of the vault credentials (registration key) file, the C(.VaultCredentials) XML downloaded from the vault.
      - Needed only when the host has to be registered. Sent on the host script's standard input, written to a file in a
        folder only SYSTEM and Administrators can read, used, and deleted in the same command.
      - An expired file (the portal's are valid for 5 days) is refused before anything changes.
    type: str
  vault_credentials_src:
    description:
      - Path of the vault credentials file on the controller, instead of O(vault_credentials_content).
    type: path
  friendly_name:
    description:
      - Name the host has in the vault. Defaults to the host's computer name.
    type: str
  proxy_address:
    description:
      - Proxy the provider uses, as C(http://<ip-or-fqdn>). HTTPS proxies are not supported by the provider.
      - On a registered host a different proxy is applied with C(DRConfigurator.exe /configure).
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
      - C(DRConfigurator.exe) takes it only on its command line, so it is visible in the host's process list while
        C(DRConfigurator.exe) runs. It never appears on the WinRM command line. Prefer a proxy without authentication
        or a dedicated account with no other rights.
      - A change of the password alone is not detected (it cannot be read back); change O(proxy_username) or run
        C(DRConfigurator.exe /configure) yourself.
    type: str
  proxy_bypass_urls:
    description:
      - Addresses the provider reaches without the proxy (C(/AddBypassUrls)), one per item.
    type: list
    elements: str
  force_reregister:
    description:
      - When the host is registered to another vault or site, clean up the local registration and register it with the
        vault of the credentials file. Without it the task fails, naming both vaults.
      - Remove the host from the old vault in the portal too; this only cleans up the host.
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
  - After registration, finish the registration in the Azure portal (Azure Migrate, Discover, Finalize registration).
  - When the setup file has to be downloaded or copied first, its version is known only once it is on the host; the
    task then runs a second command to install or upgrade.
  - The proxy settings are read from C(HKLM\\SOFTWARE\\Microsoft\\Azure Site Recovery\\ProxySettings) (values
    C(ProxyAddress), C(ProxyPort), C(ProxyUserName), C(BypassUrls)).
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

- name: Move the host to another vault
  azmigrate.hyperv.replication_provider:
    setup_file_path: C:\Installers\AzureSiteRecoveryProvider.exe
    vault_credentials_src: files/new-vault.VaultCredentials
    force_reregister: true

- name: Unregister locally and uninstall
  azmigrate.hyperv.replication_provider:
    state: absent
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
