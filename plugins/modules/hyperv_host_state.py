# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/hyperv_host_state.py,
# which sends the host scripts of host_info, replication_provider, upload_threads and upload_throttle to the host,
# bundled into as few commands as the changes allow (plugins/plugin_utils/_host_script_bundle.py).

DOCUMENTATION = r"""
---
module: hyperv_host_state
short_description: Bring a Hyper-V host to its prepared state for Azure Migrate in as few commands as possible
version_added: 0.2.0
description:
  - Reads a Hyper-V host once and brings the Azure Site Recovery provider, its vault registration, the upload threads
    and the upload throttle to the state asked for. It does what M(azmigrate.hyperv.host_info),
    M(azmigrate.hyperv.replication_provider), M(azmigrate.hyperv.upload_threads) and
    M(azmigrate.hyperv.upload_throttle) do one after the other, with the same options, checks and planning, but
    every command a host runs costs it a PowerShell start, so this module sends fewer.
  - A run that changes nothing sends B(one) command to the host (host_info's read and the read of every concern
    managed, in one bundle). A run that changes the registration, the proxy or the upload settings sends B(two), the
    read, then one bundle with the provider's steps followed by the threads and throttle writes, each of which
    reads its values back.
  - A first install sends B(two) commands as well. Before the agent exists there is no throttle to read, so the
    install's bundle sets the upload threads and the throttle right after the install step, with no read, and each
    set script reports what it replaced; the plans are made from that afterwards, so C(changed), C(before) and the
    diff are those a read first would give. Pushing the setup file from the controller with
    O(provider.setup_file_src) costs what it costs M(azmigrate.hyperv.replication_provider).
  - Assumed, to verify on a first real host - right after the agent's setup and registration, in the same
    powershell.exe, the agent's service C(obengine) runs and C(Set-OBMachineSetting) takes the throttle (a service
    that does not run fails the task naming it, and a re-run, once it runs, goes on from the settings), and the
    agent's setup does not write C(UploadThreadsPerVM).
  - Every option is checked before anything is sent to the host; the host is checked for what blocks the
    provider's setup before anything is changed (O(readiness_gate)).
  - The role M(azmigrate.hyperv.hyperv_host) uses this module; its results keep the keys of the four modules.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  gather_vms:
    description:
      - Also read the VMs, their disks and the volumes that hold them, as M(azmigrate.hyperv.host_info) does.
    type: bool
    default: true
  readiness_gate:
    description:
      - Fail, before any change, when the host's readiness has blocking findings, C(host_info.readiness.blocking)
        (a domain controller, no Hyper-V role, .NET Framework too old).
    type: bool
    default: true
  role_facts:
    description:
      - Also set the facts C(hyperv_host_info) (RV(host_info)) and C(hyperv_host_provider) (RV(provider)), the
        names the role M(azmigrate.hyperv.hyperv_host) has always set, without a C(set_fact) task per host.
      - With C(inject_facts_as_vars=false) they are under C(ansible_facts) only.
    type: bool
    default: false
  provider:
    description:
      - The provider, agent and registration, with the options of M(azmigrate.hyperv.replication_provider) (see
        that module for each), checked the same way.
      - Not managed when not given; RV(host_info) still reports the provider and agent.
    type: dict
    suboptions:
      state:
        description: V(present) installs and registers, V(absent) unregisters and uninstalls.
        type: str
        default: present
        choices: [present, absent]
      setup_file_path:
        description: The setup file on the host or a share.
        type: str
      setup_file_url:
        description: A URL the host downloads the setup file from (it may hold a SAS, so it is treated as a secret).
        type: str
      setup_file_src:
        description: The setup file on the controller, copied to the host when needed.
        type: path
      setup_file_sha256:
        description: The setup file's SHA-256, required with O(provider.setup_file_url).
        type: str
      staging_dir:
        description:
          - Where the setup file is staged and extracted on the host; made admins-only (SYSTEM and Administrators)
            before anything is written to it, as M(azmigrate.hyperv.replication_provider) says.
        type: str
        default: C:\ProgramData\azmigrate\setup
      vault_credentials_content:
        description: The vault credentials file's content.
        type: str
      vault_credentials_src:
        description: The vault credentials file on the controller.
        type: path
      friendly_name:
        description: The name the host registers with.
        type: str
      proxy_address:
        description: The provider's proxy, with O(provider.proxy_port).
        type: str
      proxy_port:
        description: The proxy's port.
        type: int
      proxy_username:
        description: The proxy's user, with O(provider.proxy_password).
        type: str
      proxy_password:
        description: The proxy's password.
        type: str
      proxy_bypass_urls:
        description: Addresses the provider reaches without the proxy.
        type: list
        elements: str
      force_reregister:
        description: Register again even when the host is registered with the same vault.
        type: bool
        default: false
      removed_from_vault:
        description: Confirms the host was removed from its old vault, so it may be registered elsewhere or uninstalled.
        type: bool
        default: false
      install_timeout:
        description: Seconds the install may take.
        type: int
        default: 1800
      registration_timeout:
        description: Seconds the registration may take.
        type: int
        default: 600
  upload_threads:
    description: Threads per VM for uploads to Azure, as O(azmigrate.hyperv.upload_threads#module:upload_threads).
    type: int
  download_threads:
    description: Threads per VM for downloads from Azure, as O(azmigrate.hyperv.upload_threads#module:download_threads).
    type: int
  throttle:
    description:
      - The upload throttle, with the options of M(azmigrate.hyperv.upload_throttle).
      - Not managed when not given.
      - Not with O(provider.state=absent), which removes the agent that holds the throttle (nor O(upload_threads) or
        O(download_threads)).
    type: dict
    suboptions:
      enabled:
        description: V(false) turns throttling off.
        type: bool
        default: true
      work_days:
        description: Work days (Monday to Friday when not given).
        type: list
        elements: str
      work_hour_start:
        description: Start of the work hours, V(HH:MM) on a 24-hour clock (quote it in YAML).
        type: str
      work_hour_end:
        description: End of the work hours, after O(throttle.work_hour_start).
        type: str
      work_hour_bandwidth:
        description: Bandwidth in work hours (V(100 Mbps), or a number of Kbps), 512 Kbps to 1023 Mbps.
        type: raw
      non_work_hour_bandwidth:
        description: Bandwidth outside work hours, as O(throttle.work_hour_bandwidth).
        type: raw
extends_documentation_fragment:
  - azmigrate.hyperv.host_action
  - azmigrate.hyperv.host_action.host_script
attributes:
  check_mode:
    description:
      - Reads the host (one command) and reports what would change, without changing it.
      - On a host without the agent yet, the upload settings are reported as skipped (the agent comes with the provider).
    support: full
  diff_mode:
    description: One diff per concern that is managed (provider and registration, threads, throttle), per host.
    support: full
notes:
  - B(Commands.) RV(host_commands) says how many commands the task sent to the host.
  - B(Warnings.) What hurts replication later (C(host_info.readiness.warnings)) and a restart the provider's install
    needs are task warnings, so a play needs no further task per host to show them.
  - B(Bundles.) Several host scripts run in one powershell.exe as one bundle, each in its own script block with its
    own request line on standard input; a script's C(exit N) becomes C(return N) there, since C(exit) in a script
    block ends powershell.exe (about_Language_Keywords). A part that fails ends the bundle, so nothing after it
    runs. That C(exit) inside a script block built with C([ScriptBlock]::Create) ends the process on Windows
    PowerShell 5.1, and that C(return N) hands N to the caller as the block's last output, is an assumption to
    verify on a real host (docs/host-scripts.md, "Bundles").
  - B(Secrets.) The vault credentials, the proxy password and the setup URL travel on standard input, in the request
    line of the one script that needs them, never on a command line or in the result.
  - The upload settings are written whether or not the agent runs, with the same warnings and failures as
    M(azmigrate.hyperv.upload_threads) and M(azmigrate.hyperv.upload_throttle).
seealso:
  - module: azmigrate.hyperv.host_info
  - module: azmigrate.hyperv.replication_provider
  - module: azmigrate.hyperv.upload_threads
  - module: azmigrate.hyperv.upload_throttle
"""

EXAMPLES = r"""
- name: Prepare the host in one task (one command when nothing changes)
  azmigrate.hyperv.hyperv_host_state:
    gather_vms: false
    provider:
      setup_file_path: \\fileserver\installers\AzureSiteRecoveryProvider.exe
      vault_credentials_src: files/hyperv-site.VaultCredentials
    upload_threads: 8
    throttle:
      work_hour_start: "08:00"
      work_hour_end: "18:00"
      work_hour_bandwidth: 100 Mbps
      non_work_hour_bandwidth: 1023 Mbps
  register: host_state

- name: Say when the provider's install needs a restart
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} needs a restart"
  when: host_state.provider.reboot_required

- name: Only read, in one command, what the host and its agent hold
  azmigrate.hyperv.hyperv_host_state:
    readiness_gate: false
  register: host_only
"""

RETURN = r"""
host_info:
  description: What M(azmigrate.hyperv.host_info) returns for the host, read at the start of the task.
  returned: always, once the host was read
  type: dict
  sample: {computer_name: HV01, readiness: {blocking: [], warnings: []}, agent: {installed: true, version: 2.0.9277.0}}
provider:
  description:
    - What M(azmigrate.hyperv.replication_provider) returns (C(changed), C(steps), C(provider_version),
      C(agent_version), C(setup_file_version), C(registration), C(proxy), C(reboot_required)).
  returned: when O(provider) is given and the host passed the readiness gate
  type: dict
  sample: {changed: false, steps: [], provider_version: 5.24.0902.3, agent_version: 2.0.9277.0, reboot_required: false}
upload_threads:
  description:
    - What M(azmigrate.hyperv.upload_threads) returns (C(changed), C(changed_values), C(before), C(after),
      C(upload_threads), C(download_threads), C(agent_installed), C(restart_recommended)).
    - In check mode on a host whose agent is not installed yet, C(skipped=true) with a C(skip_reason).
  returned: when O(upload_threads) or O(download_threads) is given
  type: dict
  sample: {changed: true, changed_values: [UploadThreadsPerVM], upload_threads: {value: 8, configured: true}}
upload_throttle:
  description:
    - What M(azmigrate.hyperv.upload_throttle) returns (C(changed), C(changed_fields), C(before), C(after),
      C(throttle), C(restart_recommended)); skipped as RV(upload_threads) is.
  returned: when O(throttle) is given
  type: dict
  sample: {changed: false, changed_fields: [], throttle: {enabled: true, work_days: [Monday, Tuesday, Wednesday, Thursday, Friday]}}
upload_settings_changed:
  description: Whether the threads or the throttle changed (or would, in check mode), for a handler that restarts the agent.
  returned: success
  type: bool
  sample: false
ansible_facts:
  description: With O(role_facts=true), C(hyperv_host_info) and C(hyperv_host_provider).
  returned: when O(role_facts=true) and the host passed the readiness gate
  type: dict
  sample: {hyperv_host_info: {computer_name: HV01}, hyperv_host_provider: {changed: false}}
host_commands:
  description:
    - The host-script commands the task sent to the host (1 when nothing changed). Copying the setup file from the
      controller (O(provider.setup_file_src)) adds Ansible's own file transfer commands, which are not counted.
  returned: always
  type: int
  sample: 1
"""
