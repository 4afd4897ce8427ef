# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/upload_threads.py,
# which runs plugins/plugin_utils/host_scripts/upload_threads_read.ps1 and upload_threads_set.ps1 on the host.

DOCUMENTATION = r"""
---
module: upload_threads
short_description: Set how many threads a Hyper-V host uses to upload each replicating VM
version_added: 0.1.0
description:
  - Sets the REG_DWORD values C(UploadThreadsPerVM) and C(DownloadThreadsPerVM) under
    C(HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication), which the Recovery Services (MARS) agent uses
    for the number of parallel transfers per replicating VM, to Azure and back (failback).
  - The agent uses 4 when a value is absent and supports up to 32. More threads upload faster on a fast link,
    at the cost of host CPU and network share.
  - Reads both values with their registry types and writes only what differs; a value stored with another type
    (a REG_SZ typed by hand) is replaced with a REG_DWORD. A run that changes nothing sends one PowerShell
    command to the host; a change sends one more, which also reads the values back.
  - Every option is checked before anything is sent to the host.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  upload_threads:
    description:
      - Threads per VM for uploads to Azure (C(UploadThreadsPerVM)), from V(1) to V(32).
      - Not changed when not given.
      - V(4), the agent's default, is written too when the value is absent, so the host holds it explicitly.
    type: int
  download_threads:
    description:
      - Threads per VM for downloads from Azure during failback (C(DownloadThreadsPerVM)), from V(1) to V(32).
      - Not changed when not given.
    type: int
extends_documentation_fragment:
  - azmigrate.hyperv.host_action
  - azmigrate.hyperv.host_action.host_script
attributes:
  check_mode:
    description: Reads the values and reports what would change, without changing them.
    support: full
  diff_mode:
    description: Shows both thread counts before and after (in check mode, as they would be after), per host.
    support: full
notes:
  - At least one of O(upload_threads) and O(download_threads) is required.
  - B(Agent not installed.) The values are written even when the Recovery Services agent is not installed, with a
    warning and RV(agent_installed=false). They are plain registry values that the agent reads; KB 3056159 has
    them added by hand under a key the agent's setup does not always create, so setting them before the agent
    is installed is the same as setting them after, and lets a play set them in any order.
  - B(Restart.) Microsoft does not document whether the agent's C(obengine) service reads new values without a
    restart. RV(restart_recommended) is V(true) when a value changed while C(obengine) runs, so a play can notify
    an opt-in handler that restarts it at a convenient time. Restarting interrupts uploads in progress; how they
    resume is not documented either.
  - The values are per host. On a failover cluster run it on every node.
seealso:
  - module: azmigrate.hyperv.upload_throttle
  - module: azmigrate.hyperv.host_info
  - name: Azure Migrate - influence upload efficiency
    description: UploadThreadsPerVM, its default and its maximum.
    link: https://learn.microsoft.com/azure/migrate/hyper-v-migration-architecture
"""

EXAMPLES = r"""
- name: Upload each VM with 8 threads
  azmigrate.hyperv.upload_threads:
    upload_threads: 8
  register: threads

- name: Restart the agent when the count changed on a running agent (opt-in, interrupts uploads)
  ansible.windows.win_service:
    name: obengine
    state: restarted
  when: threads.restart_recommended and restart_agent_after_tuning | default(false)

- name: Set both directions
  azmigrate.hyperv.upload_threads:
    upload_threads: 16
    download_threads: 8
"""

RETURN = r"""
changed_values:
  description: The registry values written (or that would be, in check mode). Empty when nothing changed.
  returned: success
  type: list
  elements: str
  sample: [UploadThreadsPerVM]
before:
  description: Both thread counts before the task, as RV(azmigrate.hyperv.host_info#module:upload_threads) shows them.
  returned: success
  type: dict
  contains:
    upload_threads:
      description:
        - C(value) is the count in force (4 when the value is absent), C(configured) whether the registry holds it.
        - C(registry_type) appears only for a value of another type than REG_DWORD, which the agent does not read.
      type: dict
      sample: {value: 4, configured: false}
    download_threads:
      description: As RV(before.upload_threads), for C(DownloadThreadsPerVM).
      type: dict
      sample: {value: 4, configured: false}
  sample:
    upload_threads: {value: 4, configured: false}
    download_threads: {value: 4, configured: false}
after:
  description: Both thread counts after the task, as read back from the registry; in check mode, as they would be.
  returned: success
  type: dict
  sample:
    upload_threads: {value: 8, configured: true}
    download_threads: {value: 4, configured: false}
upload_threads:
  description: The upload count in force after the task (in check mode, that would be), in the shape of RV(before.upload_threads).
  returned: success
  type: dict
  sample: {value: 8, configured: true}
download_threads:
  description: The download count in force after the task (in check mode, that would be), in the shape of RV(before.download_threads).
  returned: success
  type: dict
  sample: {value: 4, configured: false}
agent_installed:
  description: Whether the Recovery Services agent is installed (its setup key has an C(InstallPath)).
  returned: success
  type: bool
  sample: true
restart_recommended:
  description:
    - V(true) when a value changed while the agent's C(obengine) service runs; whether the agent needs the restart
      is not documented (see the notes).
  returned: success
  type: bool
  sample: true
"""
