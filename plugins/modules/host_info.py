# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/host_info.py,
# which runs the PowerShell script plugins/plugin_utils/host_scripts/host_info.ps1 on the host.

DOCUMENTATION = r"""
---
module: host_info
short_description: Read what a Hyper-V host needs for migration to Azure
version_added: 0.1.0
description:
  - Reads, in one PowerShell command over the task's connection, what a Hyper-V host or failover-cluster
    node has for Azure Migrate's agentless Hyper-V migration - operating system, domain role, Hyper-V role,
    .NET Framework, TLS strong crypto, cluster membership, the Azure Site Recovery provider and the Recovery
    Services (MARS) agent, vault registration, upload threads, the upload throttle, virtual machines with
    their disks and Hyper-V replication state, and free space on the volumes that hold VM disks.
  - Lists what would stop the provider's setup (RV(readiness.blocking)) and what would hurt replication
    (RV(readiness.warnings)).
  - Installed software is detected from the registry and services, never from C(Win32_Product), which
    makes Windows Installer check and repair every installed package.
  - Changes nothing on the host.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  gather_vms:
    description:
      - Also read the virtual machines, their disks and replication state, and the volumes that hold the disks.
      - Set to V(false) for a quicker read of a host with many VMs when only the host itself matters;
        RV(vms) and RV(volumes) are then V(null) and readiness skips the checks that need them.
    type: bool
    default: true
extends_documentation_fragment:
  - azmigrate.hyperv.host_action
  - azmigrate.hyperv.host_action.host_script
attributes:
  check_mode:
    description: Runs in check mode, and reads as usual since it changes nothing.
    support: full
  diff_mode:
    description: Returns no diff, since it changes nothing.
    support: none
notes:
  - The throttle is read with C(Get-OBMachineSetting) from the agent's C(MSOnlineBackup) module, only while
    the agent's service C(obengine) runs; otherwise RV(throttle) is V(null). When the agent cannot answer
    (installed but not registered yet, its engine busy, or property names other than those assumed by
    M(azmigrate.hyperv.upload_throttle)), RV(throttle) is V(null) and a warning says why; the rest is reported.
  - On a failover cluster run it on every node - each node reports its own VMs, provider, agent and throttle.
seealso:
  - name: Azure Migrate support matrix for Hyper-V migration
    description: Host requirements checked by RV(readiness).
    link: https://learn.microsoft.com/azure/migrate/migrate-support-matrix-hyper-v-migration
  - name: How does Hyper-V replication work?
    description: Upload threads, throttling and the local disk space replication needs.
    link: https://learn.microsoft.com/azure/migrate/hyper-v-migration-architecture
"""

EXAMPLES = r"""
- name: Read the Hyper-V hosts
  azmigrate.hyperv.host_info:
  register: host

- name: Stop on a host that cannot take the provider
  ansible.builtin.assert:
    that: host.readiness.blocking | length == 0
    fail_msg: "{{ host.readiness.blocking | map(attribute='msg') | join('; ') }}"

- name: Read the host only, without its VMs
  azmigrate.hyperv.host_info:
    gather_vms: false
  register: host_only

- name: Show the registered vault and upload settings
  ansible.builtin.debug:
    msg: >-
      {{ host.registration.vault_name | default('not registered', true) }},
      {{ host.upload_threads.value }} upload threads per VM,
      throttle {{ 'on' if host.throttle.enabled | default(false) else 'off' }}
"""

RETURN = r"""
computer_name:
  description: The host's NetBIOS name.
  returned: success
  type: str
  sample: HV01
os:
  description: Operating system and domain membership.
  returned: success
  type: dict
  contains:
    caption:
      description: Name of the operating system.
      type: str
      sample: Microsoft Windows Server 2022 Datacenter
    version:
      description: Version of the operating system.
      type: str
      sample: 10.0.20348
    build:
      description: Build number.
      type: int
      sample: 20348
    domain:
      description: DNS name of the domain, V(null) when the host is in a workgroup.
      type: str
      sample: contoso.local
    workgroup:
      description: Name of the workgroup, V(null) when the host is in a domain.
      type: str
      sample: null
    domain_role:
      description: Role of the host in its domain.
      type: str
      choices:
        - standalone_workstation
        - member_workstation
        - standalone_server
        - member_server
        - backup_domain_controller
        - primary_domain_controller
      sample: member_server
hyperv_role:
  description: Whether the Hyper-V role is installed.
  returned: success
  type: bool
  sample: true
dotnet:
  description: The .NET Framework 4 installed.
  returned: success
  type: dict
  contains:
    release:
      description: The C(Release) value under C(HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full), V(null) without .NET Framework 4.5 or later.
      type: int
      sample: 528449
    version:
      description: The .NET Framework version that release stands for.
      type: str
      sample: "4.8"
tls:
  description: Whether .NET Framework uses strong cryptography (TLS 1.2), which the provider and agent need.
  returned: success
  type: dict
  contains:
    strong_crypto_64:
      description: C(SchUseStrongCrypto) is 1 under C(HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319).
      type: bool
      sample: true
    strong_crypto_32:
      description: C(SchUseStrongCrypto) is 1 under C(HKLM\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319).
      type: bool
      sample: true
cluster:
  description: The failover cluster the host is a node of, V(null) on a standalone host or when the cluster service is not running.
  returned: success
  type: dict
  contains:
    name:
      description: Name of the cluster.
      type: str
      sample: HVCLU01
    nodes:
      description: Every node of the cluster.
      type: list
      elements: dict
      sample: [{"name": "HV02", "state": "Up", "id": "1"}, {"name": "HV03", "state": "Paused", "id": "2"}]
      contains:
        name:
          description: Name of the node.
          type: str
        state:
          description: The node's C(ClusterNodeState).
          type: str
          choices: [Up, Down, Paused, Joining]
        id:
          description: The node's id in the cluster.
          type: str
provider:
  description: The Azure Site Recovery provider.
  returned: success
  type: dict
  contains:
    installed:
      description: Whether the provider is installed (C(Version) under C(HKLM\SOFTWARE\Microsoft\Azure Site Recovery)).
      type: bool
      sample: true
    version:
      description: Installed version.
      type: str
      sample: 5.1.8095.0
    path:
      description: Folder that holds C(DRConfigurator.exe), V(null) when it is not in the default folder.
      type: str
      sample: C:\Program Files\Microsoft Azure Site Recovery Provider
    dra_id:
      description: The provider's identity, set when it registers with a vault.
      type: str
      sample: 9c0c5a4e-2f7b-4d1a-9b3e-6f8a1c2d3e4f
    service:
      description: Name of the provider's service.
      type: str
      sample: dra
    service_state:
      description: Status of that service (Running, Stopped, ...), V(null) when the service does not exist.
      type: str
      sample: Running
agent:
  description: The Microsoft Azure Recovery Services (MARS) agent, which uploads the replication data.
  returned: success
  type: dict
  contains:
    installed:
      description: Whether the agent is installed (C(InstallPath) under C(HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup)).
      type: bool
      sample: true
    version:
      description: File version of the agent's C(CBEngine.exe).
      type: str
      sample: 2.0.9262.0
    path:
      description: Install folder.
      type: str
      sample: C:\Program Files\Microsoft Azure Recovery Services Agent
    service:
      description: Name of the agent's service.
      type: str
      sample: obengine
    service_state:
      description: Status of that service, V(null) when the service does not exist.
      type: str
      sample: Running
registration:
  description:
    - The vault the provider is registered with, from C(HKLM\SOFTWARE\Microsoft\Azure Site Recovery\Registration).
    - V(null) unless the vault location, subscription, vault name and resource group are all set.
  returned: success
  type: dict
  sample:
    vault_name: migrate-vault-01
    resource_group: rg-migrate
    subscription_id: 6f1c2d3e-4b5a-4697-8a9b-1c2d3e4f5a60
    location: westeurope
    site_name: HyperV-site-01
    container_id: 0b3f5f9e-8c71-4c0e-a8c5-2f5c7d9e1a24
  contains:
    vault_name:
      description: Name of the Recovery Services vault.
      type: str
    resource_group:
      description: Resource group of the vault.
      type: str
    subscription_id:
      description: Subscription of the vault.
      type: str
    location:
      description: Azure region of the vault.
      type: str
    site_name:
      description: Hyper-V site the host belongs to.
      type: str
    container_id:
      description: Id of the host's protection container.
      type: str
upload_threads:
  description: Threads that upload the data of each replicating VM (C(UploadThreadsPerVM) under C(HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication)).
  returned: success
  type: dict
  contains:
    value:
      description: The count in effect; 4 when the registry does not set it.
      type: int
      sample: 8
    configured:
      description: Whether the registry sets it.
      type: bool
      sample: true
download_threads:
  description: Threads per VM for transfers from Azure, such as failback (C(DownloadThreadsPerVM), same key).
  returned: success
  type: dict
  contains:
    value:
      description: The count in effect; 4 when the registry does not set it.
      type: int
      sample: 4
    configured:
      description: Whether the registry sets it.
      type: bool
      sample: false
throttle:
  description:
    - The agent's bandwidth throttle, as C(Get-OBMachineSetting) reports it.
    - V(null) when the agent is not installed or its service is not running.
  returned: success
  type: dict
  contains:
    enabled:
      description: Whether uploads are throttled.
      type: bool
      sample: true
    work_days:
      description: Days with work hours.
      type: list
      elements: str
      sample: [Monday, Tuesday, Wednesday, Thursday, Friday]
    work_hour_start:
      description: Start of work hours, C(HH:MM:SS).
      type: str
      sample: "08:00:00"
    work_hour_end:
      description: End of work hours, C(HH:MM:SS).
      type: str
      sample: "18:00:00"
    work_hour_bandwidth:
      description:
        - Bandwidth allowed during work hours.
        - C(kbps) counts as the agent's console does, 1 Kbps = 1,024 bytes per second (its range is 512 Kbps to 1,023 Mbps).
      type: dict
      sample: {"bytes_per_second": 524288, "kbps": 512}
      contains:
        bytes_per_second:
          description: Bytes per second.
          type: int
        kbps:
          description: The same in the console's Kbps.
          type: float
    non_work_hour_bandwidth:
      description: Bandwidth allowed outside work hours, as RV(throttle.work_hour_bandwidth).
      type: dict
      sample: {"bytes_per_second": 2097152, "kbps": 2048}
vms:
  description: Virtual machines on the host (on a cluster node, those it currently owns); V(null) when O(gather_vms=false).
  returned: success
  type: list
  elements: dict
  sample:
    - name: app01
      id: 8f1c2d3e-4b5a-4697-8a9b-1c2d3e4f5a62
      state: Running
      generation: 2
      disks:
        - {"path": "D:\\Hyper-V\\app01\\app01-data.vhdx", "size_bytes": 274877906944, "controller": "SCSI 0:0"}
        - {"path": "D:\\Hyper-V\\app01\\app01-os.vhdx", "size_bytes": 136365211648, "controller": "SCSI 0:1"}
      boot_disk: "D:\\Hyper-V\\app01\\app01-os.vhdx"
      os_disk: app01-os
      guest_os: {"name": "Windows Server 2022 Datacenter", "type": "Windows"}
      disk_total_bytes: 411243118592
      replication: {"state": "Replicating", "health": "Normal", "mode": "Primary", "replica_server": "Microsoft Azure"}
  contains:
    name:
      description: Name of the VM.
      type: str
    id:
      description: The VM's id.
      type: str
    state:
      description: The VM's C(VMState) (Running, Off, Saved, Paused, ...).
      type: str
    generation:
      description: VM generation, 1 or 2.
      type: int
    disks:
      description: Virtual hard disks attached to the VM.
      type: list
      elements: dict
      contains:
        path:
          description: Path of the VHD or VHDX file.
          type: str
        size_bytes:
          description: Virtual size of the disk, V(null) when the host cannot open the file.
          type: int
        controller:
          description: Where the disk is attached, C(<controller type> <number>:<location>), for example V(IDE 0:0).
          type: str
    boot_disk:
      description:
        - Path of the disk the VM boots from, whatever order the disks are listed in - on generation 1 the disk at
          IDE 0:0, on generation 2 the first hard drive in the firmware boot order (C(Get-VMFirmware)); V(null) when
          there is none.
        - Azure discovery reports every disk as a data disk; pass this (or C(os_disk)) to the C(os_disk) option of
          azmigrate.hyperv.replication.
      type: str
    os_disk:
      description: Name of the boot disk as Azure reports it (the file name without extension), V(null) without one.
      type: str
    guest_os:
      description: The guest's operating system as the KVP integration service reports it.
      type: dict
      contains:
        name:
          description: The guest's C(OSName), V(null) when Hyper-V does not know it (VM off, integration services
            not running).
          type: str
        type:
          description: V(Windows) or V(Linux), derived from C(name); V(null) when the name is unknown.
          type: str
    disk_total_bytes:
      description: Sum of the sizes of the VM's disks.
      type: int
    replication:
      description:
        - The VM's Hyper-V replication (C(Get-VMReplication)), V(null) when it does not replicate.
        - A VM replicating to Azure shows C(mode=Primary) and C(replica_server=Microsoft Azure).
      type: dict
      contains:
        state:
          description: C(VMReplicationState) name.
          type: str
        health:
          description: C(VMReplicationHealthState) name (Normal, Warning, Critical).
          type: str
        mode:
          description: C(VMReplicationMode) name (Primary, Replica, ...).
          type: str
        replica_server:
          description: Current replica server.
          type: str
volumes:
  description: Volumes that hold VM disks, cluster shared volumes and mount points included; V(null) when O(gather_vms=false).
  returned: success
  type: list
  elements: dict
  sample: [{"name": "D:\\", "size_bytes": 1099511627776, "free_bytes": 442381631488}]
  contains:
    name:
      description: Root path of the volume.
      type: str
    size_bytes:
      description: Capacity.
      type: int
    free_bytes:
      description: Free space.
      type: int
readiness:
  description: Findings about the host, each with a stable C(code) and a C(msg) to show.
  returned: success
  type: dict
  contains:
    blocking:
      description:
        - What stops the provider's setup. Codes C(domain_controller), C(hyperv_role_missing),
          C(dotnet_too_old) (Azure Migrate needs .NET Framework 4.7 or later).
      type: list
      elements: dict
      sample: []
    warnings:
      description:
        - What lets setup run but hurts replication. Codes C(strong_crypto_disabled), C(provider_service_not_running),
          C(agent_service_not_running), C(hyperv_replica_in_use) (a VM replicating with Hyper-V Replica to a server
          other than Azure), C(low_disk_space) (a volume with less free space than its largest VHD, which initial
          replication can need in full).
      type: list
      elements: dict
      sample:
        - code: low_disk_space
          msg: >-
            volume E:\ has 180.0 GiB free, less than the 400.0 GiB of E:\Hyper-V\file01\file01-data.vhdx (VM file01):
            initial replication can need up to the full size of a VHD
"""
