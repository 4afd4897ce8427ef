"""host_info/1 simulation: the keys of docs/host-scripts.md, read from the host state, no changes."""

from __future__ import annotations

import pytest
from hostscript import run_host_script

MARKER = "# azmigrate-host-script: host_info/1"
GATHER = {"gather_vms": True}
TOP_KEYS = {"computer_name", "domain", "domain_role", "os", "hyperv_role", "dotnet_release", "tls", "cluster",
            "services", "provider", "agent", "registration", "replication_registry", "throttle", "warnings", "vms", "volumes"}
GIB = 1024 ** 3


def test_fresh_standalone_host(lab):
    code, info, stderr = run_host_script(lab, "HV01", MARKER, params=GATHER)
    assert (code, stderr) == (0, b"")
    assert set(info) == TOP_KEYS
    assert info["computer_name"] == "HV01"
    assert info["os"] == {"caption": "Microsoft Windows Server 2022 Datacenter", "version": "10.0.20348",
                          "build": 20348}
    assert (info["domain"], info["domain_role"], info["hyperv_role"]) == ("contoso.local", 3, True)
    assert info["dotnet_release"] == 528449
    assert info["tls"] == {"strong_crypto_64": 1, "strong_crypto_32": 1}
    assert info["cluster"] is None
    assert info["services"]["vmms"] == {"status": "Running", "start_type": "Automatic"}
    assert info["services"]["dra"] is None and info["services"]["clussvc"] is None
    assert (info["provider"], info["agent"], info["registration"], info["throttle"]) == (None, None, None, None)
    assert info["replication_registry"] == {"UploadThreadsPerVM": None, "DownloadThreadsPerVM": None}
    assert [vm["name"] for vm in info["vms"]] == ["web01", "app01", "file01", "Prüf-VM"]


def test_vm_disk_larger_than_free_space_is_visible(lab):
    code, info, stderr = run_host_script(lab, "HV01", MARKER, params=GATHER)
    assert (code, stderr) == (0, b"")
    file01 = next(vm for vm in info["vms"] if vm["name"] == "file01")
    data_disk = next(disk for disk in file01["disks"] if disk["path"].endswith("file01-data.vhdx"))
    volume = next(v for v in info["volumes"] if data_disk["path"].startswith(v["name"]))
    assert data_disk["size_bytes"] > volume["free_bytes"]
    assert [v["name"] for v in info["volumes"]] == ["D:\\", "E:\\"], "only the volumes holding VM disks"


def test_boot_disk_comes_from_the_controller_or_boot_order_not_the_listing_order(lab):
    """The estate lists app01's (generation 2) and file01's (generation 1) data disk first: the boot disk is the
    firmware's first hard drive and the disk at IDE 0:0; an Off VM reports no guest OS."""
    code, info, stderr = run_host_script(lab, "HV01", MARKER, params=GATHER)
    assert (code, stderr) == (0, b"")
    vms = {vm["name"]: vm for vm in info["vms"]}
    for name in ("app01", "file01"):
        assert vms[name]["disks"][0]["path"].endswith(f"{name}-data.vhdx")
        assert vms[name]["boot_disk"].endswith(f"{name}-os.vhdx")
    assert [disk["controller"] for disk in vms["file01"]["disks"]] == ["SCSI 0:0", "IDE 0:0"]
    assert vms["app01"]["guest_os"] == "Windows Server 2022 Datacenter"
    code, info, stderr = run_host_script(lab, "HV02", MARKER, params=GATHER)
    legacy01 = next(vm for vm in info["vms"] if vm["name"] == "legacy01")
    assert legacy01["guest_os"] is None and legacy01["boot_disk"].endswith("legacy01-os.vhdx")


def test_cluster_node_lists_every_node(lab):
    code, info, stderr = run_host_script(lab, "HV03", MARKER, params=GATHER)
    assert (code, stderr) == (0, b"")
    assert info["cluster"] == {"name": "HVCLU01", "nodes": [{"name": "HV02", "state": "Up", "id": "1"},
                                                            {"name": "HV03", "state": "Up", "id": "2"}]}
    assert info["services"]["clussvc"]["status"] == "Running"
    assert info["volumes"][0] == {"name": "C:\\ClusterStorage\\Volume2\\", "size_bytes": 2048 * GIB,
                                  "free_bytes": 1530 * GIB}


def test_reads_what_the_state_holds(lab):
    """Patch the registry and services as an installed, registered host would have them."""
    provider = r"HKLM\SOFTWARE\Microsoft\Azure Site Recovery"
    lab.admin.patch("/hosts/HV02", {
        "registry": {
            provider: {"Version": "5.1.8095.0", "DraID": "9c0c-dra"},
            provider + r"\Registration": {"VaultLocation": "westeurope", "SubscriptionId": "sub-1",
                                          "ResourceName": "vault1", "ResourceGroupName": "rg1",
                                          "SiteName": "site1", "ContainerId": "c1"},
            r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup": {
                "InstallPath": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"},
            r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication": {"UploadThreadsPerVM": 8},
        },
        "files": {r"C:\Program Files\Microsoft Azure Recovery Services Agent\bin\CBEngine.exe":
                  {"size": 1024, "file_version": "2.0.9262.0"},
                  r"C:\Program Files\Microsoft Azure Site Recovery Provider\DRConfigurator.exe": {"size": 1024}},
        "services": {"dra": {"status": "Running"}, "obengine": {"status": "Running"}},
        "vms": {"sql01": {"replication": {"state": "Replicating", "health": "Normal", "mode": "Primary",
                                          "replica_server": "Microsoft Azure"}}},
    })
    try:
        code, info, stderr = run_host_script(lab, "HV02", MARKER, params=GATHER)
    finally:
        lab.admin.patch("/hosts/HV02", {
            "registry": {provider: None, r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup": None},
            "files": {r"C:\Program Files\Microsoft Azure Recovery Services Agent": None,
                      r"C:\Program Files\Microsoft Azure Site Recovery Provider": None},
            "services": {"dra": None, "obengine": None}, "vms": {"sql01": {"replication": None}}})
    assert (code, stderr) == (0, b"")
    assert info["provider"] == {"version": "5.1.8095.0", "dra_id": "9c0c-dra",
                                "path": r"C:\Program Files\Microsoft Azure Site Recovery Provider"}
    assert info["agent"] == {"version": "2.0.9262.0",
                             "path": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"}
    assert info["registration"] == {"vault_location": "westeurope", "subscription_id": "sub-1",
                                    "vault_name": "vault1", "resource_group": "rg1", "site_name": "site1",
                                    "container_id": "c1"}
    assert info["replication_registry"] == {"UploadThreadsPerVM": 8, "DownloadThreadsPerVM": None}
    assert info["throttle"]["enabled"] is False
    assert info["services"]["dra"] == {"status": "Running", "start_type": "Automatic"}
    sql01 = next(vm for vm in info["vms"] if vm["name"] == "sql01")
    assert sql01["replication"]["state"] == "Replicating"


def test_changes_nothing_and_logs_one_entry(lab):
    before = lab.admin.host("HV01")
    seq = lab.admin.last_seq()
    run_host_script(lab, "HV01", MARKER, params={"gather_vms": True, "detail": "full"},
                    secrets={"sas_url": "https://secret"})
    assert lab.admin.host("HV01") == before
    entries = lab.admin.log(since=seq)
    assert len(entries) == 1
    assert entries[0] | {"time": None, "duration_ms": None, "seq": None} == {
        "seq": None, "time": None, "duration_ms": None, "host": "HV01", "kind": "host_script",
        "name": "host_info/1", "params": {"gather_vms": True, "detail": "full"}, "secret_keys": ["sas_url"],
        "command_line_chars": entries[0]["command_line_chars"], "cost_ms": 600.0, "stdin_bytes": entries[0]["stdin_bytes"],
        "exit_code": 0, "stdout_bytes": entries[0]["stdout_bytes"], "logon": "ntlm"}
    assert entries[0]["command_line_chars"] < 1000


def test_unknown_script_version_fails_clearly(lab):
    code, document, stderr = run_host_script(lab, "HV01", "# azmigrate-host-script: host_info/9")
    assert code == 1
    assert document["failed"] is True
    assert b"no simulation of host script host_info/9" in stderr
    assert lab.admin.log(host="HV01")[-1]["kind"] == "rejected"


def test_unknown_script_name_fails_clearly(lab):
    code, document, stderr = run_host_script(lab, "HV01", "# azmigrate-host-script: make_coffee/1")
    assert code == 1 and b"no simulation of host script make_coffee/1" in stderr


def test_stdin_must_be_a_json_document(lab):
    # The failure is reported in the stdout document; stderr is diagnostic only (docs/host-scripts.md).
    code, document, dummy = run_host_script(lab, "HV01", MARKER, stdin=b"not json")
    assert code == 1
    assert document["failed"] is True and "not a JSON document" in document["msg"]


@pytest.mark.parametrize("params", [{"gather_vms": False}, {}], ids=["false", "absent"])
def test_gather_vms_false_or_absent_skips_vms_and_volumes(lab, params):
    # host_info.ps1 reads [bool]$request.params.gather_vms: absent is false.
    code, info, stderr = run_host_script(lab, "HV01", MARKER, params=params)
    assert (code, stderr) == (0, b"")
    assert (info["vms"], info["volumes"]) == (None, None)
    assert info["computer_name"] == "HV01"


def test_cluster_is_null_when_the_cluster_service_is_stopped(lab):
    lab.admin.patch("/hosts/HV03", {"services": {"ClusSvc": {"status": "Stopped"}}})
    try:
        code, info, stderr = run_host_script(lab, "HV03", MARKER, params=GATHER)
    finally:
        lab.admin.patch("/hosts/HV03", {"services": {"ClusSvc": {"status": "Running"}}})
    assert (code, stderr) == (0, b"")
    assert info["cluster"] is None


def test_throttle_needs_a_running_engine(lab):
    setup = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup"
    throttle = {"enabled": True, "work_days": ["Monday"], "work_hour_start": "08:00:00",
                "work_hour_end": "18:00:00", "work_hour_bandwidth": 524288, "non_work_hour_bandwidth": 2097152}
    lab.admin.patch("/hosts/HV01", {"registry": {setup: {"InstallPath": "C:\\MARS\\"}},
                                    "services": {"obengine": {"status": "Stopped"}},
                                    "mars_settings": {"throttle": throttle}})
    try:
        stopped_code, stopped, stopped_stderr = run_host_script(lab, "HV01", MARKER, params=GATHER)
        lab.admin.patch("/hosts/HV01", {"services": {"obengine": {"status": "Running"}}})
        running_code, running, running_stderr = run_host_script(lab, "HV01", MARKER, params=GATHER)
    finally:
        lab.admin.patch("/hosts/HV01", {"registry": {r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup": None},
                                        "services": {"obengine": None}, "mars_settings": {}})
    assert (stopped_code, stopped_stderr, running_code, running_stderr) == (0, b"", 0, b"")
    assert stopped["throttle"] is None and stopped["agent"] == {"version": None, "path": "C:\\MARS\\"}
    assert running["throttle"] == throttle


def test_host_without_hyperv_role_has_null_vms(tmp_path):
    from labfixture import PROJECT_ROOT, LabProcess

    edge = LabProcess.start(tmp_path, estate=PROJECT_ROOT / "lab/estates/edge.yml", skip=("azure",))
    try:
        nohv_code, nohv, nohv_stderr = run_host_script(edge, "NOHV01", MARKER, params=GATHER)
        old_code, old, old_stderr = run_host_script(edge, "OLD01", MARKER, params=GATHER)
        dc_code, dc, dc_stderr = run_host_script(edge, "DC01", MARKER, params=GATHER)
    finally:
        edge.stop()
    assert (nohv_code, old_code, dc_code) == (0, 0, 0)
    assert (nohv_stderr, old_stderr, dc_stderr) == (b"", b"", b"")
    assert (nohv["hyperv_role"], nohv["vms"], nohv["volumes"], nohv["services"]["vmms"]) == (False, None, None, None)
    assert (old["dotnet_release"], old["tls"]) == (394802, {"strong_crypto_64": 0, "strong_crypto_32": 0})
    assert old["os"]["build"] == 14393
    assert dc["domain_role"] == 5
