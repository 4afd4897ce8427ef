# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """What the host-side modules (action plugins for Hyper-V hosts) have in common.

    DOCUMENTATION: the attributes of every host module (cluster_check too, which reads the play's host
    variables). HOST_SCRIPT: a module that sends host scripts (plugins/plugin_utils/_host_script.py) to the host.
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
  - Over C(winrm), use NTLM or Kerberos (C(ansible_winrm_transport=ntlm) or C(kerberos)) over HTTPS (port 5986,
    certificate validated); over HTTP (5985) both encrypt every message. Basic is off on Windows by default and
    is not needed. Kerberos needs C(pywinrm[kerberos]) on the controller, CredSSP C(pywinrm[credssp]).
  - An NTLM session, or a Kerberos one without delegation, cannot reach a file share from the host (the double
    hop), so a UNC path the host must read needs C(ansible_winrm_transport=credssp) or Kerberos with
    C(ansible_winrm_kerberos_delegation=true); otherwise copy the file to the host first.
  - PowerShell on the host must run the connection's commands in C(FullLanguage) mode. A host where a Windows
    Defender Application Control (WDAC) or AppLocker policy enforces script rules runs them in
    C(ConstrainedLanguage), which refuses the .NET calls the host scripts make; such a host is not supported, and
    the task fails after one command, naming the host and its language mode, with nothing run or changed.
  - C(become) is refused with an error before anything is sent to the host, because the script runs as the
    connection's user (C(ansible_user), a local administrator) and Windows C(runas) become does not apply to it.
"""
