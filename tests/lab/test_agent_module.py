"""The agent's PowerShell module as a WinRM shell finds it (lab/hosts/scripts/_agent_module.py).

The agent's setup adds its module folder to the machine's PSModulePath; a WinRM shell keeps the environment it was
created with, so a shell opened before the agent was installed - the one of the command that installs it, and the
later commands of the same connection - finds MSOnlineBackup only by its full path. The collection's scripts import
it by path and run there; the same script importing it by name fails there, and runs in a shell opened afterwards.
"""

from __future__ import annotations

import pytest
from hostscript import run_host_script

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import load_host_script

SETUP_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup"
AGENT = {"registry": {SETUP_KEY: {"InstallPath": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"}},
         "services": {"obengine": {"status": "Running", "start_type": "Automatic"}}}
NO_AGENT = {"registry": {SETUP_KEY: None}, "services": {"obengine": None}}
BY_PATH = "Import-Module -Name (Join-Path -Path $agent.path -ChildPath 'bin\\Modules\\MSOnlineBackup')"
BY_NAME = "Import-Module -Name MSOnlineBackup"


@pytest.fixture()
def hv01_without_agent(lab):
    lab.admin.patch("/hosts/HV01", NO_AGENT)
    yield lab
    lab.admin.patch("/hosts/HV01", NO_AGENT)


def throttle_read(by_name: bool) -> str:
    text = load_host_script("upload_throttle_read").text
    assert BY_PATH in text, "upload_throttle_read as sent no longer imports MSOnlineBackup by its full path"
    return text.replace(BY_PATH, BY_NAME) if by_name else text


def install_agent(lab):
    return lambda: lab.admin.patch("/hosts/HV01", AGENT)


def test_a_shell_opened_before_the_install_runs_the_agent_cmdlets_only_by_the_module_s_full_path(hv01_without_agent):
    lab = hv01_without_agent
    code, document, stderr = run_host_script(lab, "HV01", "", script=throttle_read(by_name=True), shell_opened=install_agent(lab))
    assert code == 1, (document, stderr)
    assert "The term 'Get-OBMachineSetting' is not recognized" in document["msg"], document

    lab.admin.patch("/hosts/HV01", NO_AGENT)
    code, document, stderr = run_host_script(lab, "HV01", "", script=throttle_read(by_name=False), shell_opened=install_agent(lab))
    assert (code, stderr) == (0, b""), stderr
    assert document["throttle"]["enabled"] is False and document["agent"]["service_status"] == "Running"


def test_a_shell_opened_after_the_install_finds_the_module_by_name(hv01_without_agent):
    lab = hv01_without_agent
    install_agent(lab)()
    code, document, stderr = run_host_script(lab, "HV01", "", script=throttle_read(by_name=True))
    assert (code, stderr) == (0, b""), stderr
    assert document["throttle"]["enabled"] is False
