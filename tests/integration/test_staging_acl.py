"""The staging folder of azmigrate.hyperv.replication_provider is admins-only before anything is written to it or run
from it, so a non-admin cannot plant code that the setup runs elevated.

Under C:\\ProgramData a folder an administrator creates inherits ProgramData's ACL, where BUILTIN\\Users may create
files and folders; a program run elevated from such a folder loads a DLL planted next to it (the application's
folder comes first in the DLL search order). The lab records every program that did so in the host's
`planted_code_ran` (lab/hosts/folders.py). Each test plants what a non-admin could (a folder they own, a DLL) through
the admin API, runs the module, and reads the host back: nothing planted ran, the staging folder ends admins-only.
The same run with the apply script's earlier lines put back shows the planted code would have run.
"""

# pylint: disable=redefined-outer-name
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from provider_lab import (  # noqa: F401  pylint: disable=unused-import
    PROVIDER_VERSION, credentials, fresh, setup_file,
)
from test_replication_provider import HOST, run_provider, url_vars

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import load_host_script
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_plan import staged_setup_path

pytestmark = pytest.mark.lab

STAGING = r"C:\ProgramData\azmigrate\setup"
MALLORY = "HV01\\mallory"
PLANTED_DLL = b"MZ planted by a non-admin"
# The apply script's earlier lines: the staging folder made with New-Item -Force, which inherits ProgramData's ACL.
OLD_STAGING_LINES = {
    "Initialize-StagingFolder -Path (Split-Path -Parent $s.path)": "New-Item -ItemType Directory -Force -Path (Split-Path -Parent $s.path) | Out-Null",
    "Initialize-StagingFolder -Path $s.staging_dir": "New-Item -ItemType Directory -Force -Path $s.staging_dir | Out-Null",
}


def _hostscript():
    """tests/lab/hostscript.py: run a host script text over pywinrm as the runner sends it."""
    spec = importlib.util.spec_from_file_location("staging_hostscript", Path(__file__).resolve().parents[1] / "lab" / "hostscript.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def folder(host: dict, path: str) -> dict | None:
    return next((entry for key, entry in host["folders"].items() if key.lower() == path.lower()), None)


def files_under(host: dict, path: str) -> list[str]:
    return [key for key in host["files"] if key.lower().startswith(path.lower() + "\\")]


def plant(lab, folders: dict, files: dict) -> None:
    lab.admin.patch(f"/hosts/{HOST}", {"planted_code_ran": None, "folders": folders,
                                       "files": {path: {"content": PLANTED_DLL.decode(), "owner": MALLORY} for path in files}})


def assert_staging_admins_only(host: dict) -> None:
    staging = folder(host, STAGING)
    assert staging is not None and staging["admins_only"] is True and staging["owner"] == "Administrators", staging


def test_a_planted_extraction_folder_of_the_old_name_is_never_run_from_and_a_rerun_converges(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    # The folder an earlier version made (inheriting ProgramData's ACL), and in it the extraction folder that version
    # would use, created first by a non-admin with a DLL in it.
    planted_dir = STAGING + "\\extracted-" + PROVIDER_VERSION
    plant(lab, {STAGING: {"owner": "Administrators"}, planted_dir: {"owner": MALLORY}}, [planted_dir + "\\version.dll"])
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["steps"] == ["download", "install", "register"] and result["provider_version"] == PROVIDER_VERSION
    host = lab.admin.host(HOST)
    assert host["planted_code_ran"] == []
    assert_staging_admins_only(host)
    assert folder(host, planted_dir) is None and not files_under(host, planted_dir), "the planted folder goes with the open staging folder"
    # Extracted into a fresh folder with a random name, which is removed afterwards: only the staged setup file stays.
    assert [path.rsplit("\\", 1)[-1] for path in files_under(host, STAGING)] == [staged_setup_path(STAGING, setup_file["sha256"]).rsplit("\\", 1)[-1]]

    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0 and result["changed"] is False and result["steps"] == []
    host = lab.admin.host(HOST)
    assert host["planted_code_ran"] == []
    assert_staging_admins_only(host)


def test_a_staging_folder_a_non_admin_created_is_made_again_for_administrators_before_use(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    plant(lab, {STAGING: {"owner": MALLORY}, STAGING + "\\extracted-new": {"owner": MALLORY}}, [STAGING + "\\extracted-new\\version.dll"])
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    host = lab.admin.host(HOST)
    assert host["planted_code_ran"] == [] and host["provider_version"] == PROVIDER_VERSION
    assert_staging_admins_only(host)
    assert not [path for path in files_under(host, STAGING) if path.lower().endswith(".dll")]


def test_a_staging_folder_holding_what_the_module_did_not_put_there_is_refused_before_anything_runs(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    planted = STAGING + "\\version.dll"
    plant(lab, {STAGING: {"owner": "Administrators"}}, [planted])
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc != 0
    message = result["msg"]
    assert "failed at step download" in message and f"staging_dir {STAGING} exists and non-administrators may write to it" in message, message
    assert "version.dll" in message and "choose another staging_dir" in message
    host = lab.admin.host(HOST)
    assert host["planted_code_ran"] == [] and host["provider_version"] is None
    assert planted in host["files"], "a folder with files the module did not put there is the user's: left as it is"


def test_a_setup_file_staged_in_an_open_folder_is_staged_again_in_the_protected_one_before_it_runs(fresh, ansible_playbook, setup_file, credentials):
    lab = fresh
    staged = staged_setup_path(STAGING, setup_file["sha256"])
    # Staged by an earlier version in a folder users could write: its content matches, but it could be swapped
    # between the check and the run, so the read does not count it and the run downloads the file again.
    lab.admin.patch(f"/hosts/{HOST}", {"planted_code_ran": None, "folders": {STAGING: {"owner": "Administrators"}},
                                       "files": {staged: {"content_b64": setup_file["content_b64"]}}})
    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0, run.output
    assert result["steps"] == ["download", "install", "register"]
    host = lab.admin.host(HOST)
    assert host["planted_code_ran"] == [] and host["provider_version"] == PROVIDER_VERSION
    assert_staging_admins_only(host)

    run, result = run_provider(ansible_playbook, url_vars(setup_file, credentials))
    assert run.rc == 0 and not result["changed"], run.output


def _install_steps(setup: dict) -> list[dict]:
    staged = staged_setup_path(STAGING, setup["sha256"])
    return [{"action": "download", "path": staged, "sha256": setup["sha256"], "proxy": None},
            {"action": "extract", "setup_file": staged, "staging_dir": STAGING},
            {"action": "install", "expected_version": PROVIDER_VERSION, "timeout": 1800},
            {"action": "remove_extracted"}]


@pytest.mark.parametrize("old_lines", [False, True], ids=["as shipped", "earlier staging lines"])
def test_the_earlier_staging_lines_would_have_run_the_planted_dll(fresh, setup_file, old_lines):
    lab = fresh
    # An earlier version's staging folder; a non-admin put version.dll in it, next to where the setup file lands.
    planted_dll = STAGING + "\\version.dll"
    plant(lab, {STAGING: {"owner": "Administrators"}}, [planted_dll])
    script = load_host_script("replication_provider_apply").text
    if old_lines:
        for new, old in OLD_STAGING_LINES.items():
            assert new in script, f"the apply script as sent no longer holds {new!r}"
            script = script.replace(new, old)
    code, document, stderr = _hostscript().run_host_script(
        lab, HOST, "", params={"steps": _install_steps(setup_file)}, secrets={"setup_file_url": setup_file["url"]}, script=script)
    ran = lab.admin.host(HOST)["planted_code_ran"]
    if not old_lines:
        assert code == 1 and "version.dll" in document["msg"], (document, stderr)
        assert ran == []
        return
    assert code == 0, (document, stderr)
    # The self-extractor ran elevated next to the planted DLL; setupdr.exe from a folder users could write.
    by_program = {entry["program"].rsplit("\\", 1)[-1].lower(): entry for entry in ran}
    assert by_program[staged_setup_path(STAGING, setup_file["sha256"]).rsplit("\\", 1)[-1].lower()]["dlls"] == [planted_dll]
    assert "BUILTIN\\Users may create files and folders" in by_program["setupdr.exe"]["why"]
