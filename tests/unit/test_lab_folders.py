"""lab/hosts/folders.py: who may write a folder of a simulated host, and what an elevated program loads from it."""

from __future__ import annotations

import pytest

from lab.hosts import folders
from lab.hosts.patch import PatchError, patch_host
from lab.hosts.state import HostState

STAGING = r"C:\ProgramData\azmigrate\setup"


def test_a_folder_below_programdata_inherits_its_acl_and_users_may_write_it():
    host = HostState("HV01")
    folders.create(host, STAGING)
    assert "BUILTIN\\Users may create files and folders" in folders.non_admin_may_write(host, STAGING + r"\extracted-1")
    assert not folders.admins_only(host, STAGING)


def test_an_admins_only_folder_closes_what_is_created_inside_it_but_not_what_a_user_owns():
    host = HostState("HV01")
    folders.create(host, STAGING, admins_only=True)
    folders.create(host, STAGING + r"\extracted-new")
    folders.create(host, STAGING + r"\planted", owner="HV01\\mallory")
    assert folders.admins_only(host, STAGING)
    assert folders.non_admin_may_write(host, STAGING + r"\extracted-new") is None
    assert folders.non_admin_may_write(host, STAGING + r"\planted") == STAGING + r"\planted is owned by HV01\mallory"


def test_a_user_owned_folder_is_not_admins_only_even_when_protected():
    host = HostState("HV01")
    folders.create(host, STAGING, owner="HV01\\mallory", admins_only=True)
    assert not folders.admins_only(host, STAGING)
    assert "owned by HV01\\mallory" in folders.non_admin_may_write(host, STAGING)


def test_folders_outside_programdata_are_taken_as_admins_only():
    host = HostState("HV01")
    assert folders.non_admin_may_write(host, r"C:\Installers") is None


def test_an_elevated_program_in_a_writable_folder_is_recorded_with_the_dlls_a_non_admin_put_there():
    host = HostState("HV01")
    folders.create(host, STAGING)
    host.write_file(STAGING + r"\setupdr.exe", b"MZ")
    host.write_file(STAGING + r"\version.dll", b"MZ planted").owner = "HV01\\mallory"
    host.write_file(STAGING + r"\own.dll", b"MZ")
    host.write_file(STAGING + r"\sub\deeper.dll", b"MZ").owner = "HV01\\mallory"
    folders.note_planted_code(host, STAGING + r"\setupdr.exe", "2026-12-06T00:00:00Z")
    assert [entry["dlls"] for entry in host.planted_code_ran] == [[STAGING + r"\version.dll"]]

    host.planted_code_ran.clear()
    host.remove_path(STAGING)
    folders.create(host, STAGING, admins_only=True)
    folders.note_planted_code(host, STAGING + r"\setupdr.exe", "2026-12-06T00:00:00Z")
    assert host.planted_code_ran == []


def test_removing_a_tree_removes_its_folders_and_children_lists_files_and_folders():
    host = HostState("HV01")
    folders.create(host, STAGING, admins_only=True)
    folders.create(host, STAGING + r"\extracted-a")
    host.write_file(STAGING + r"\AzureSiteRecoveryProvider-1.exe", b"MZ")
    assert folders.children(host, STAGING) == ["AzureSiteRecoveryProvider-1.exe", "extracted-a"]
    host.remove_path(STAGING)
    assert not folders.exists(host, STAGING) and host.folders == {}


def test_the_admin_api_plants_a_users_folder_and_file_and_forgets_what_ran():
    host = HostState("HV01")
    patch_host(host, {"folders": {STAGING: {"owner": "HV01\\mallory"}},
                      "files": {STAGING + r"\version.dll": {"content": "MZ", "owner": "HV01\\mallory"}}})
    assert host.to_dict()["folders"][STAGING] == {"path": STAGING, "owner": "HV01\\mallory", "admins_only": False}
    assert host.to_dict()["files"][STAGING + r"\version.dll"]["owner"] == "HV01\\mallory"
    host.planted_code_ran.append({"program": "x"})
    patch_host(host, {"planted_code_ran": None})
    assert host.planted_code_ran == []
    with pytest.raises(PatchError, match="unknown folder field 'acl'"):
        patch_host(host, {"folders": {STAGING: {"acl": "open"}}})
    with pytest.raises(PatchError, match="only null or"):
        patch_host(host, {"planted_code_ran": [{"program": "x"}]})
