"""A host whose PowerShell runs in ConstrainedLanguage (a WDAC or AppLocker policy that enforces script rules).

There New-Object creates only core types and .NET methods work only on them (about_Language_Modes). The
collection's bootstrap reads the language mode before anything else and answers with its failure document; the
bootstrap it sent before that guard existed meets PowerShell's own refusal at its first New-Object, and the
script it carries never runs. Either way the host is left as it was.
"""

from __future__ import annotations

import pytest
from ansible.plugins.shell.powershell import ShellModule
from hostscript import run_command, run_host_script
from labfixture import AdminError

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import (
    build_stdin,
    decode_clixml,
    load_host_script,
)

HOST = "HV02"
REPLICATION_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"
AGENT = {"registry": {r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup": {"InstallPath": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"}},
         "services": {"obengine": {"status": "Running", "start_type": "Automatic"}}}
WRITE = {"writes": {"UploadThreadsPerVM": 7}}

# The bootstrap as the collection sent it before the language-mode guard: its first statement is New-Object.
BOOTSTRAP_WITHOUT_GUARD = "\n".join((
    "$c=New-Object Text.StringBuilder",
    "$r=New-Object Collections.ArrayList",
    "$s=0",
    'foreach($l in $input){if($s){[void]$r.Add($l)}elseif($l -eq "`0`0`0`0"){$s=1}else{[void]$c.AppendLine($l)}}',
    "$r|&([ScriptBlock]::Create($c.ToString()))",
    "exit $LASTEXITCODE",
))


@pytest.fixture()
def constrained_host(lab):
    lab.admin.patch(f"/hosts/{HOST}", {**AGENT, "language_mode": "ConstrainedLanguage"})
    yield HOST
    lab.admin.patch(f"/hosts/{HOST}", {"language_mode": "FullLanguage"})


def upload_threads(lab) -> object:
    registry = lab.admin.host(HOST)["registry"]
    values = next((values for path, values in registry.items() if path.lower() == REPLICATION_KEY.lower()), {})
    return values.get("UploadThreadsPerVM")


def test_the_guard_answers_with_its_failure_document_and_nothing_runs(lab, constrained_host):
    before = upload_threads(lab)
    script = load_host_script("upload_threads_set").text
    code, document, stderr = run_host_script(lab, constrained_host, "", params=WRITE, script=script)
    assert (code, stderr) == (1, b"")
    assert document == {"failed": True, "msg": "language mode ConstrainedLanguage"}
    assert upload_threads(lab) == before != 7
    entry = lab.admin.log(host=constrained_host)[-1]
    assert (entry["kind"], entry["name"]) == ("rejected", "host script bootstrap in ConstrainedLanguage")


def test_the_bootstrap_without_the_guard_meets_powershell_s_own_refusal_and_nothing_runs(lab, constrained_host):
    before = upload_threads(lab)
    command = ShellModule()._encode_script(BOOTSTRAP_WITHOUT_GUARD, strict_mode=False, preserve_rc=False)
    stdin = build_stdin(load_host_script("upload_threads_set"), WRITE).encode()
    stdout, stderr, code = run_command(lab, constrained_host, command, stdin)
    errors = decode_clixml(stderr.decode())
    assert stdout == b""
    # Each refusal stops only its statement; the last one, exit $LASTEXITCODE, exits with 0 (no native command ran).
    assert code == 0
    assert errors.startswith("New-Object : Cannot create type. Only core types are supported in this language mode.\n"
                             "At line:1 char:4\n+ $c=New-Object Text.StringBuilder")
    assert "FullyQualifiedErrorId : CannotCreateTypeConstrainedLanguage,Microsoft.PowerShell.Commands.NewObjectCommand" in errors
    assert "You cannot call a method on a null-valued expression." in errors
    assert upload_threads(lab) == before != 7
    assert lab.admin.log(host=constrained_host)[-1]["kind"] == "rejected"


def test_in_full_language_the_same_script_runs(lab):
    lab.admin.patch(f"/hosts/{HOST}", AGENT)
    assert lab.admin.host(HOST)["language_mode"] == "FullLanguage"
    script = load_host_script("upload_threads_set").text
    code, document, stderr = run_host_script(lab, HOST, "", params={"writes": {"UploadThreadsPerVM": 5}}, script=script)
    assert (code, stderr) == (0, b""), stderr
    assert document["replication_registry"]["UploadThreadsPerVM"]["data"] == 5 == upload_threads(lab)


def test_the_admin_api_takes_only_the_modelled_language_modes(lab):
    with pytest.raises(AdminError) as refused:
        lab.admin.patch(f"/hosts/{HOST}", {"language_mode": "RestrictedLanguage"})
    assert refused.value.status == 400
    assert "language_mode 'RestrictedLanguage' is not one of FullLanguage, ConstrainedLanguage" in str(refused.value.body)
    assert lab.admin.host(HOST)["language_mode"] == "FullLanguage"


def test_a_guard_of_another_shape_is_not_guessed_at(lab, constrained_host):
    """The lab models the collection's guard; a different one fails loudly instead of being run past."""
    other = 'if($ExecutionContext.SessionState.LanguageMode -ne "FullLanguage"){exit 1}\n' + BOOTSTRAP_WITHOUT_GUARD
    command = ShellModule()._encode_script(other, strict_mode=False, preserve_rc=False)
    stdout, stderr, code = run_command(lab, constrained_host, command, build_stdin(load_host_script("upload_threads_set"), WRITE).encode())
    assert (code, stdout) == (1, b"")
    assert decode_clixml(stderr.decode()).startswith("lab: command not simulated in ConstrainedLanguage: statement 'if($ExecutionContext")
