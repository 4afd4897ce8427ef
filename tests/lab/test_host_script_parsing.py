"""The lab refuses a host script that Windows PowerShell 5.1 cannot parse, as powershell.exe would.

The bootstrap makes a ScriptBlock of the text it reads; a text 5.1 cannot parse throws there and nothing of
the script runs. The lab parses the text it receives (lab/hosts/scripts/_powershell.py) before running the
twin: the real scripts, as the runner sends them, run; the same scripts with PowerShell 7 syntax in them are
refused with PowerShell's error, and the host is left as it was.
"""

from __future__ import annotations

import re

import pytest
from hostscript import run_host_script

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import CLIXML_HEADER, decode_clixml, load_host_script

REPLICATION_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"
AGENT = {"registry": {r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup": {"InstallPath": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"}},
         "services": {"obengine": {"status": "Running", "start_type": "Automatic"}}}


def replication_values(lab, host):
    registry = lab.admin.get(f"/hosts/{host}")["registry"]
    return next((values for path, values in registry.items() if path.lower() == REPLICATION_KEY.lower()), None)


def sent_with(name: str, old: str, new: str) -> str:
    text = load_host_script(name).text
    assert old in text, f"{name} as sent no longer holds {old!r}"
    return text.replace(old, new, 1)


def test_the_real_script_as_sent_runs(lab):
    lab.admin.patch("/hosts/HV02", AGENT)
    script = load_host_script("upload_threads_set").text
    code, document, stderr = run_host_script(lab, "HV02", "", params={"writes": {"UploadThreadsPerVM": 6}}, script=script)
    assert (code, stderr) == (0, b""), stderr
    assert document["replication_registry"]["UploadThreadsPerVM"]["data"] == 6
    assert replication_values(lab, "HV02")["UploadThreadsPerVM"] == 6


@pytest.mark.parametrize("old, new, message", [
    ("$writes = @($request.params.writes.PSObject.Properties)",
     "$writes = @($request.params.writes.PSObject.Properties) ?? @()", "Unexpected token '??' in expression or statement."),
    ("$after = Get-ThreadsDocument", "$after = Get-ThreadsDocument && $true",
     "The token '&&' is not a valid statement separator in this version."),
    ("replication_registry = (Get-ThreadsRegistryValue)", "replication_registry = $true ? (Get-ThreadsRegistryValue) : $null",
     "Unexpected token '?' in expression or statement."),
    ("exit 0\n}", "exit 0\n", "Missing closing '}' in statement block or type definition."),
])
def test_a_script_windows_powershell_5_1_cannot_parse_is_refused_and_changes_nothing(lab, old, new, message):
    lab.admin.patch("/hosts/HV03", {**AGENT, "registry": {**AGENT["registry"], REPLICATION_KEY: None}})
    script = sent_with("upload_threads_set", old, new)
    code, document, stderr = run_host_script(lab, "HV03", "", params={"writes": {"UploadThreadsPerVM": 6}}, script=script)
    assert (code, document) == (1, None)
    assert stderr.decode().startswith(CLIXML_HEADER), stderr   # as powershell.exe writes errors
    error = decode_clixml(stderr.decode())
    assert message in error and re.search(r"At line:\d+ char:\d+", error), error
    assert replication_values(lab, "HV03") is None, "nothing of the script may run"
