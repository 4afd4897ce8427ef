# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """What the host-side modules (action plugins for Hyper-V hosts) have in common.

    DOCUMENTATION: the attributes of every host module (cluster_check too, which reads the play's host
    variables). HOST_SCRIPT: a module that sends host scripts (plugins/plugin_utils/host_script.py) to the host.
    Each module documents its own check_mode and diff_mode (and cluster_check its own action).
    """

    DOCUMENTATION = r"""
attributes:
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a global task that does not run per host.
    support: none
  platform:
    description: Target OS the module operates on.
    platforms: windows
    support: full
"""

    HOST_SCRIPT = r"""
attributes:
  action:
    description: Runs on the controller and sends PowerShell scripts to the host over the task's connection.
    support: full
notes:
  - Works over the C(winrm), C(psrp) and C(ssh) connections to Windows hosts with Windows PowerShell 5.1
    (Windows Server 2012 R2 with WMF 5.1 and newer); the connection must use the C(powershell) shell and an
    account with local administrator rights.
"""
