# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the implementation is the action plugin plugins/action/upload_throttle.py,
# which runs plugins/plugin_utils/host_scripts/upload_throttle_read.ps1 and upload_throttle_set.ps1 on the host.

DOCUMENTATION = r"""
---
module: upload_throttle
short_description: Set the upload bandwidth throttle of a Hyper-V host's Recovery Services agent
version_added: 0.1.0
description:
  - Sets how much bandwidth the Recovery Services (MARS) agent on a Hyper-V host or failover-cluster node may use
    to upload replication data to Azure, in work hours on work days and outside them, or turns throttling off.
  - Reads the current throttle with C(Get-OBMachineSetting) and changes it only when it differs, with
    C(Set-OBMachineSetting) and all five throttle parameters together (C(-WorkDay), C(-StartWorkHour),
    C(-EndWorkHour), C(-WorkHourBandwidth), C(-NonWorkHourBandwidth)), or C(-NoThrottle). A run that changes
    nothing sends one PowerShell command to the host; a change sends one more, which also reads the throttle back.
  - Every option is checked before anything is sent to the host.
author:
  - azmigrate.hyperv developers (@azmigrate)
options:
  enabled:
    description:
      - Whether uploads are throttled.
      - V(false) turns throttling off (C(Set-OBMachineSetting -NoThrottle)); the other options are then not
        applied, but are still checked, so a variables file that only flips O(enabled) stays valid.
    type: bool
    default: true
  work_days:
    description:
      - The days on which O(work_hour_bandwidth) applies during work hours, as English day names
        (V(Sunday) to V(Saturday), any case).
    type: list
    elements: str
    default: [Monday, Tuesday, Wednesday, Thursday, Friday]
  work_hour_start:
    description:
      - When work hours start, on a 24-hour clock, V(HH:MM) (V(HH:MM:SS) also works).
      - Required when O(enabled=true).
      - Quote it in YAML - an unquoted V(8:00) or V(18:00) is read by YAML as a base-60 number (V(480), V(1080)),
        which the module refuses with a hint.
      - Only a string is a time of day; a number (V(8)) is refused, and the message echoes it as given.
    type: raw
  work_hour_end:
    description:
      - When work hours end, on a 24-hour clock, later on the same day than O(work_hour_start).
      - Required when O(enabled=true). Quote it in YAML, as O(work_hour_start).
    type: raw
  work_hour_bandwidth:
    description:
      - The most the agent may upload during work hours on work days.
      - A rate with a unit, V(512 Kbps), V(1.5 Mbps), V(100 Mbps), or a plain number of Kbps (V(2048)).
      - From V(512 Kbps) to V(1023 Mbps), the range the agent accepts.
      - Kbps and Mbps are the agent's units, 1,024 and 1,048,576 B(bytes) per second, not bits; see the notes.
      - Required when O(enabled=true).
    type: raw
  non_work_hour_bandwidth:
    description:
      - The most the agent may upload outside work hours and on other days. Same units and range as
        O(work_hour_bandwidth).
      - Required when O(enabled=true).
    type: raw
extends_documentation_fragment:
  - azmigrate.hyperv.host_action
  - azmigrate.hyperv.host_action.host_script
attributes:
  check_mode:
    description: Reads the throttle and reports what would change, without changing it.
    support: full
  diff_mode:
    description: Shows the throttle before and after (in check mode, as it would be after), per host.
    support: full
notes:
  - B(Units.) O(work_hour_bandwidth) and O(non_work_hour_bandwidth) are read in the agent's own units,
    1 Kbps = 1,024 bytes per second, 1 Mbps = 1,048,576 bytes per second. The agent's console states the
    throttle range as "512 Kbps to 1,023 Mbps", KB 3056159 words the same range as "512 kilobytes per
    second", and every Microsoft example of C(Set-OBMachineSetting) sets that minimum as
    C(-WorkHourBandwidth (512*1024)); so the cmdlet takes bytes per second and its "Kbps" counts 1,024 of
    them. A value typed from the agent's console therefore means the same here. C(Set-OBMachineSetting)
    receives bytes per second (V(512 Kbps) is sent as V(524288)); RV(before) and RV(after) show both.
    Microsoft does not state the cmdlet's unit in its reference, so this is inferred from those sources.
  - B(Agent.) The Recovery Services agent must be installed and its service C(obengine) running, since the
    throttle is read and set through the running agent; otherwise the task fails with what to do
    (install the agent with the collection's C(replication_provider) module first, or start C(obengine)).
  - B(Restart.) Whether the agent needs its C(obengine) service restarted after a throttle change is not
    documented by Microsoft. C(Set-OBMachineSetting) hands the setting to the running agent, as the agent's
    console does, so this module returns RV(restart_recommended=false); a restart is not needed to apply it
    as far as is known, and restarting interrupts uploads in progress.
  - B(Assumed property names, to verify on a real host.) Microsoft documents the parameters of
    C(Set-OBMachineSetting) but not the properties of the object C(Get-OBMachineSetting) returns. The module
    assumes a C(ThrottleSetting) sub-object (like the documented C(ProxySetting) one) with a bool C(Enabled)
    and the properties C(WorkDay), C(StartWorkHour), C(EndWorkHour), C(WorkHourBandwidth) and
    C(NonWorkHourBandwidth), named after the cmdlet's parameters. Nothing is guessed; when the agent does not
    expose these, the task fails and lists the property names the agent does expose (and those of its
    C(ThrottleSetting)), so the names can be compared with
    C((Get-OBMachineSetting\).ThrottleSetting | Format-List *) on the host.
  - After C(-NoThrottle) the agent may keep the last schedule and bandwidths (its console shows them greyed
    out); with C(Enabled) false they are not in force, and the module reports throttling off with an empty
    schedule. After a change the module also fails if it cannot read back what it set, rather than report a
    change on every run.
  - The throttle is per host. On a failover cluster run it on every node.
seealso:
  - module: azmigrate.hyperv.upload_threads
  - module: azmigrate.hyperv.host_info
  - name: Azure Migrate - control upload throughput
    description: The throttle range and the agent console it is set in.
    link: https://learn.microsoft.com/azure/migrate/hyper-v-migration-architecture
  - name: Set-OBMachineSetting
    description: The cmdlet and its throttle parameter set.
    link: https://learn.microsoft.com/powershell/module/msonlinebackup/set-obmachinesetting
"""

EXAMPLES = r"""
- name: Throttle uploads to 10 Mbps in office hours, 100 Mbps at night and at weekends
  azmigrate.hyperv.upload_throttle:
    work_days: [Monday, Tuesday, Wednesday, Thursday, Friday]
    work_hour_start: "08:00"
    work_hour_end: "18:00"
    work_hour_bandwidth: 10 Mbps
    non_work_hour_bandwidth: 100 Mbps

- name: The same with numbers of Kbps
  azmigrate.hyperv.upload_throttle:
    work_hour_start: "08:00"
    work_hour_end: "18:00"
    work_hour_bandwidth: 10240
    non_work_hour_bandwidth: 102400

- name: Let uploads use all the bandwidth they can
  azmigrate.hyperv.upload_throttle:
    enabled: false

- name: Show what would change, without changing it
  azmigrate.hyperv.upload_throttle:
    work_hour_start: "07:00"
    work_hour_end: "19:00"
    work_hour_bandwidth: 512 Kbps
    non_work_hour_bandwidth: 1023 Mbps
  check_mode: true
  diff: true
  register: planned
"""

RETURN = r"""
changed_fields:
  description:
    - What differed from the wanted throttle - V(enabled) when throttling was turned on or off, otherwise the
      names of the schedule options that differed. Empty when nothing changed.
  returned: success
  type: list
  elements: str
  sample: [work_hour_bandwidth]
before:
  description:
    - The throttle before the task, as RV(azmigrate.hyperv.host_info#module:throttle) shows it.
    - With throttling off the schedule is empty, since none is in force.
  returned: success
  type: dict
  contains:
    enabled:
      description: Whether uploads are throttled.
      type: bool
      sample: true
    work_days:
      description: Work days, as DayOfWeek names from Sunday to Saturday.
      type: list
      elements: str
      sample: [Monday, Tuesday, Wednesday, Thursday, Friday]
    work_hour_start:
      description: Start of work hours, V(HH:MM:SS); V(null) with throttling off.
      type: str
      sample: "08:00:00"
    work_hour_end:
      description: End of work hours, V(HH:MM:SS); V(null) with throttling off.
      type: str
      sample: "18:00:00"
    work_hour_bandwidth:
      description: Work-hour bandwidth in bytes per second and in the agent's Kbps; V(null) with throttling off.
      type: dict
      sample: {bytes_per_second: 10485760, kbps: 10240}
    non_work_hour_bandwidth:
      description: Non-work-hour bandwidth, as RV(before.work_hour_bandwidth).
      type: dict
      sample: {bytes_per_second: 104857600, kbps: 102400}
  sample:
    enabled: true
    work_days: [Monday, Tuesday, Wednesday, Thursday, Friday]
    work_hour_start: "08:00:00"
    work_hour_end: "18:00:00"
    work_hour_bandwidth: {bytes_per_second: 524288, kbps: 512}
    non_work_hour_bandwidth: {bytes_per_second: 104857600, kbps: 102400}
after:
  description:
    - The throttle after the task, as read back from the agent; in check mode, the throttle that would be set.
      Same keys as RV(before).
  returned: success
  type: dict
  sample:
    enabled: true
    work_days: [Monday, Tuesday, Wednesday, Thursday, Friday]
    work_hour_start: "08:00:00"
    work_hour_end: "18:00:00"
    work_hour_bandwidth: {bytes_per_second: 10485760, kbps: 10240}
    non_work_hour_bandwidth: {bytes_per_second: 104857600, kbps: 102400}
throttle:
  description: The throttle in force after the task (in check mode, that would be); the same as RV(after).
  returned: success
  type: dict
  sample:
    enabled: false
    work_days: []
    work_hour_start: null
    work_hour_end: null
    work_hour_bandwidth: null
    non_work_hour_bandwidth: null
restart_recommended:
  description:
    - Whether restarting the agent's C(obengine) service is recommended for the change to apply. Always V(false),
      the throttle is handed to the running agent (see the notes).
  returned: success
  type: bool
  sample: false
"""
