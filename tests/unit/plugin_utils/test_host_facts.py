"""Normalising the raw host_info/1 document: values, units and readiness findings."""

import copy

import pytest

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._document_schema import schema_mismatches
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import HOST_INFO
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import (
    bandwidth,
    dotnet_version_name,
    normalise_host_facts,
    threads,
    time_of_day,
    volume_for_path,
)

GIB = 1024 ** 3

# A prepared, registered, throttled cluster node: no findings. Tests change one thing at a time.
PREPARED_NODE = {
    "computer_name": "HV02",
    "domain": "contoso.local",
    "domain_role": 3,
    "os": {"caption": "Microsoft Windows Server 2022 Datacenter", "version": "10.0.20348", "build": 20348},
    "hyperv_role": True,
    "dotnet_release": 528449,
    "tls": {"strong_crypto_64": 1, "strong_crypto_32": 1},
    "cluster": {"name": "HVCLU01", "nodes": [{"name": "HV02", "state": "Up", "id": "1"}, {"name": "HV03", "state": "Paused", "id": "2"}]},
    "services": {
        "dra": {"status": "Running", "start_type": "Automatic"},
        "obengine": {"status": "Running", "start_type": "Automatic"},
        "vmms": {"status": "Running", "start_type": "Automatic"},
        "clussvc": {"status": "Running", "start_type": "Automatic"},
    },
    "provider": {
        "version": "5.1.8095.0",
        "dra_id": "9c0c5a4e-2f7b-4d1a-9b3e-6f8a1c2d3e4f",
        "path": "C:\\Program Files\\Microsoft Azure Site Recovery Provider",
    },
    "agent": {"version": "2.0.9262.0", "path": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"},
    "registration": {
        "vault_location": "westeurope",
        "subscription_id": "6f1c2d3e-4b5a-4697-8a9b-1c2d3e4f5a60",
        "vault_name": "migrate-vault-01",
        "resource_group": "rg-migrate",
        "site_name": "HyperV-site-01",
        "container_id": "0b3f5f9e-8c71-4c0e-a8c5-2f5c7d9e1a24",
    },
    "replication_registry": {"UploadThreadsPerVM": 8, "DownloadThreadsPerVM": None},
    "throttle": {
        "enabled": True,
        "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "work_hour_start": "08:00:00",
        "work_hour_end": "18:00:00",
        "work_hour_bandwidth": 524288,
        "non_work_hour_bandwidth": 2097152,
    },
    "warnings": [],
    "vms": [
        {
            "name": "sql01",
            "id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c74",
            "state": "Running",
            "generation": 2,
            "disks": [   # listed data disk first: the boot order says which disk boots
                {"path": "C:\\ClusterStorage\\Volume1\\sql01\\sql01-data.vhdx", "size_bytes": 512 * GIB, "controller": "SCSI 0:0"},
                {"path": "C:\\ClusterStorage\\Volume1\\sql01\\sql01-os.vhdx", "size_bytes": 127 * GIB, "controller": "SCSI 0:1"},
            ],
            "boot_disk": "C:\\ClusterStorage\\Volume1\\sql01\\sql01-os.vhdx",
            "guest_os": "Windows Server 2022 Datacenter",
            "replication": {"state": "Replicating", "health": "Normal", "mode": "Primary", "replica_server": "Microsoft Azure"},
        },
        {
            "name": "legacy01",
            "id": "3c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e96",
            "state": "Off",
            "generation": 1,
            "disks": [{"path": "c:\\clusterstorage\\volume1\\legacy01\\legacy01-os.vhd", "size_bytes": None, "controller": "IDE 0:0"}],
            "boot_disk": "c:\\clusterstorage\\volume1\\legacy01\\legacy01-os.vhd",
            "guest_os": None,
            "replication": None,
        },
    ],
    "volumes": [
        {"name": "C:\\", "size_bytes": 127 * GIB, "free_bytes": 70 * GIB},
        {"name": "C:\\ClusterStorage\\Volume1\\", "size_bytes": 2048 * GIB, "free_bytes": 1210 * GIB},
        {"name": "\\\\?\\Volume{5c1b2d3e-0000-0000-0000-100000000000}\\", "size_bytes": 500 * 1024 ** 2, "free_bytes": 90 * 1024 ** 2},
    ],
}


def raw(**changes):
    """The prepared node with top-level keys replaced."""
    document = copy.deepcopy(PREPARED_NODE)
    document.update(changes)
    return document


def codes(findings):
    return [finding["code"] for finding in findings]


def test_the_fixture_follows_the_raw_schema():
    assert schema_mismatches(PREPARED_NODE, HOST_INFO.output_schema) == []


def test_prepared_node_normalises_to_readable_facts_without_findings():
    facts = normalise_host_facts(PREPARED_NODE)
    assert facts["computer_name"] == "HV02"
    assert facts["os"] == {
        "caption": "Microsoft Windows Server 2022 Datacenter",
        "version": "10.0.20348",
        "build": 20348,
        "domain": "contoso.local",
        "workgroup": None,
        "domain_role": "member_server",
    }
    assert facts["hyperv_role"] is True
    assert facts["dotnet"] == {"release": 528449, "version": "4.8"}
    assert facts["tls"] == {"strong_crypto_64": True, "strong_crypto_32": True}
    assert facts["cluster"] == {"name": "HVCLU01", "nodes": [{"name": "HV02", "state": "Up", "id": "1"}, {"name": "HV03", "state": "Paused", "id": "2"}]}
    assert facts["provider"] == {
        "installed": True,
        "version": "5.1.8095.0",
        "path": "C:\\Program Files\\Microsoft Azure Site Recovery Provider",
        "service": "dra",
        "service_state": "Running",
        "dra_id": "9c0c5a4e-2f7b-4d1a-9b3e-6f8a1c2d3e4f",
    }
    assert facts["agent"] == {
        "installed": True,
        "version": "2.0.9262.0",
        "path": "C:\\Program Files\\Microsoft Azure Recovery Services Agent",
        "service": "obengine",
        "service_state": "Running",
    }
    assert facts["registration"] == {
        "vault_name": "migrate-vault-01",
        "resource_group": "rg-migrate",
        "subscription_id": "6f1c2d3e-4b5a-4697-8a9b-1c2d3e4f5a60",
        "location": "westeurope",
        "site_name": "HyperV-site-01",
        "container_id": "0b3f5f9e-8c71-4c0e-a8c5-2f5c7d9e1a24",
    }
    assert facts["upload_threads"] == {"value": 8, "configured": True}
    assert facts["download_threads"] == {"value": 4, "configured": False}
    assert facts["throttle"] == {
        "enabled": True,
        "work_days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "work_hour_start": "08:00:00",
        "work_hour_end": "18:00:00",
        "work_hour_bandwidth": {"bytes_per_second": 524288, "kbps": 512},
        "non_work_hour_bandwidth": {"bytes_per_second": 2097152, "kbps": 2048},
    }
    assert facts["readiness"] == {"blocking": [], "warnings": []}


def test_vms_carry_disks_totals_and_replication():
    sql01, legacy01 = normalise_host_facts(PREPARED_NODE)["vms"]
    assert sql01["disk_total_bytes"] == 639 * GIB
    assert sql01["replication"] == {"state": "Replicating", "health": "Normal", "mode": "Primary", "replica_server": "Microsoft Azure"}
    assert sql01["disks"][0] == {"path": "C:\\ClusterStorage\\Volume1\\sql01\\sql01-data.vhdx", "size_bytes": 512 * GIB,
                                 "controller": "SCSI 0:0"}
    assert (legacy01["generation"], legacy01["state"], legacy01["replication"], legacy01["disk_total_bytes"]) == (1, "Off", None, 0)


def test_vms_carry_their_boot_disk_and_guest_os_not_the_first_disk():
    sql01, legacy01 = normalise_host_facts(PREPARED_NODE)["vms"]
    assert sql01["boot_disk"] == "C:\\ClusterStorage\\Volume1\\sql01\\sql01-os.vhdx" != sql01["disks"][0]["path"]
    assert sql01["os_disk"] == "sql01-os"
    assert sql01["guest_os"] == {"name": "Windows Server 2022 Datacenter", "type": "Windows"}
    assert legacy01["guest_os"] == {"name": None, "type": None} and legacy01["os_disk"] == "legacy01-os"
    vm = raw()["vms"][0]
    vm.update(guest_os="Ubuntu 22.04.3 LTS", boot_disk=None)
    facts = normalise_host_facts(raw(vms=[vm]))["vms"][0]
    assert facts["guest_os"]["type"] == "Linux" and facts["boot_disk"] is None and facts["os_disk"] is None


def test_only_volumes_holding_vm_disks_are_kept():
    # C:\ also prefixes the disks' paths, but the cluster shared volume's root is the longer match.
    assert normalise_host_facts(PREPARED_NODE)["volumes"] == [
        {"name": "C:\\ClusterStorage\\Volume1\\", "size_bytes": 2048 * GIB, "free_bytes": 1210 * GIB},
    ]


def test_without_gathered_vms_vms_and_volumes_are_null_and_their_checks_are_skipped():
    facts = normalise_host_facts(raw(vms=None, volumes=None))
    assert (facts["vms"], facts["volumes"]) == (None, None)
    assert facts["readiness"] == {"blocking": [], "warnings": []}


def test_fresh_workgroup_host_has_nothing_installed():
    facts = normalise_host_facts(
        raw(
            domain="WORKGROUP",
            domain_role=2,
            cluster=None,
            services={"dra": None, "obengine": None, "vmms": {"status": "Running", "start_type": "Automatic"}, "clussvc": None},
            provider=None,
            agent=None,
            registration=None,
            replication_registry={"UploadThreadsPerVM": None, "DownloadThreadsPerVM": None},
            throttle=None,
            vms=[],
        )
    )
    assert (facts["os"]["domain"], facts["os"]["workgroup"], facts["os"]["domain_role"]) == (None, "WORKGROUP", "standalone_server")
    assert facts["cluster"] is None
    assert facts["provider"] == {"installed": False, "version": None, "path": None, "service": "dra", "service_state": None, "dra_id": None}
    assert facts["agent"] == {"installed": False, "version": None, "path": None, "service": "obengine", "service_state": None}
    assert facts["registration"] is None
    assert facts["upload_threads"] == {"value": 4, "configured": False}
    assert facts["throttle"] is None
    assert (facts["vms"], facts["volumes"]) == ([], [])
    assert facts["readiness"] == {"blocking": [], "warnings": []}


def test_throttle_off_and_time_of_day_from_a_date():
    facts = normalise_host_facts(
        raw(
            throttle={
                "enabled": False,
                "work_days": None,
                "work_hour_start": "01/01/0001 7:30:00",
                "work_hour_end": None,
                "work_hour_bandwidth": None,
                "non_work_hour_bandwidth": 1536,
            }
        )
    )
    assert facts["throttle"] == {
        "enabled": False,
        "work_days": [],
        "work_hour_start": "07:30:00",
        "work_hour_end": None,
        "work_hour_bandwidth": None,
        "non_work_hour_bandwidth": {"bytes_per_second": 1536, "kbps": 1.5},
    }


# --- blocking ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("domain_role, role_name", [(4, "backup_domain_controller"), (5, "primary_domain_controller")])
def test_domain_controller_blocks(domain_role, role_name):
    facts = normalise_host_facts(raw(domain_role=domain_role))
    assert facts["os"]["domain_role"] == role_name
    assert facts["readiness"]["blocking"] == [
        {"code": "domain_controller", "msg": "the host is a domain controller, and the Azure Site Recovery provider does not install on one"}
    ]


def test_missing_hyperv_role_blocks():
    assert codes(normalise_host_facts(raw(hyperv_role=False))["readiness"]["blocking"]) == ["hyperv_role_missing"]


@pytest.mark.parametrize(
    "release, found",
    [
        (460797, ".NET Framework 4.6.2 (release 460797)"),
        (394802, ".NET Framework 4.6.2 (release 394802)"),
        (300000, ".NET Framework below 4.5 (release 300000)"),
        (None, "no .NET Framework 4"),
    ],
)
def test_dotnet_below_4_7_blocks(release, found):
    blocking = normalise_host_facts(raw(dotnet_release=release))["readiness"]["blocking"]
    assert blocking == [{"code": "dotnet_too_old", "msg": f"Azure Migrate needs .NET Framework 4.7 or later; the host has {found}"}]


def test_dotnet_4_7_is_enough():
    assert normalise_host_facts(raw(dotnet_release=460798))["readiness"]["blocking"] == []


def test_every_blocking_finding_at_once():
    facts = normalise_host_facts(raw(domain_role=5, hyperv_role=False, dotnet_release=394254))
    assert codes(facts["readiness"]["blocking"]) == ["domain_controller", "hyperv_role_missing", "dotnet_too_old"]


# --- warnings -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "tls, which",
    [
        ({"strong_crypto_64": 0, "strong_crypto_32": 1}, "64-bit"),
        ({"strong_crypto_64": 1, "strong_crypto_32": None}, "32-bit"),
        ({"strong_crypto_64": None, "strong_crypto_32": None}, "64-bit and 32-bit"),
    ],
)
def test_strong_crypto_off_warns(tls, which):
    facts = normalise_host_facts(raw(tls=tls))
    assert facts["tls"] == {"strong_crypto_64": tls["strong_crypto_64"] == 1, "strong_crypto_32": tls["strong_crypto_32"] == 1}
    (warning,) = facts["readiness"]["warnings"]
    assert warning["code"] == "strong_crypto_disabled"
    assert f"SchUseStrongCrypto is not 1 for {which} .NET Framework" in warning["msg"]
    assert warning["msg"].endswith("the provider and agent need TLS 1.2")


def test_installed_services_that_do_not_run_warn():
    services = copy.deepcopy(PREPARED_NODE["services"])
    services["dra"]["status"] = "Stopped"
    services["obengine"] = None
    warnings = normalise_host_facts(raw(services=services))["readiness"]["warnings"]
    assert warnings == [
        {"code": "provider_service_not_running", "msg": "the Azure Site Recovery provider is installed but its service dra is Stopped"},
        {"code": "agent_service_not_running", "msg": "the Recovery Services agent is installed but its service obengine is missing"},
    ]


def test_hyperv_replica_to_another_server_warns_but_azure_does_not():
    vms = copy.deepcopy(PREPARED_NODE["vms"])
    vms[1]["replication"] = {"state": "Replicating", "health": "Warning", "mode": "Primary", "replica_server": "hvdr01.contoso.local"}
    (warning,) = normalise_host_facts(raw(vms=vms))["readiness"]["warnings"]
    assert warning == {
        "code": "hyperv_replica_in_use",
        "msg": "VM legacy01 already replicates with Hyper-V Replica to hvdr01.contoso.local (mode Primary): "
        "Azure Migrate cannot replicate it until that is removed",
    }


def test_low_free_space_warns_per_volume_with_its_largest_vhd():
    volumes = copy.deepcopy(PREPARED_NODE["volumes"])
    volumes[1]["free_bytes"] = 300 * GIB
    (warning,) = normalise_host_facts(raw(volumes=volumes))["readiness"]["warnings"]
    assert warning == {
        "code": "low_disk_space",
        "msg": "volume C:\\ClusterStorage\\Volume1\\ has 300.0 GiB free, less than the 512.0 GiB of "
        "C:\\ClusterStorage\\Volume1\\sql01\\sql01-data.vhdx (VM sql01): initial replication can need up to the full size of a VHD",
    }


def test_free_space_equal_to_the_largest_vhd_is_enough():
    volumes = copy.deepcopy(PREPARED_NODE["volumes"])
    volumes[1]["free_bytes"] = 512 * GIB
    assert normalise_host_facts(raw(volumes=volumes))["readiness"]["warnings"] == []


# --- helpers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "release, name",
    [(None, None), (378388, None), (378389, "4.5"), (394802, "4.6.2"), (460798, "4.7"), (461814, "4.7.2"), (528040, "4.8"), (528449, "4.8"), (533320, "4.8.1")],
)
def test_dotnet_version_name(release, name):
    assert dotnet_version_name(release) == name


@pytest.mark.parametrize(
    "value, expected",
    [("08:00:00", "08:00:00"), ("8:05", "08:05:00"), ("1.08:00:00", "08:00:00"), ("01/01/0001 18:30:15", "18:30:15"), ("", None), (None, None), ("soon", None)],
)
def test_time_of_day(value, expected):
    assert time_of_day(value) == expected


def test_bandwidth_in_bytes_and_ui_kbps():
    # The UI's 512 Kbps minimum is 512*1024 bytes/s in Microsoft's Set-OBMachineSetting examples.
    assert bandwidth(512 * 1024) == {"bytes_per_second": 524288, "kbps": 512}
    assert bandwidth(1023 * 1024 * 1024) == {"bytes_per_second": 1072693248, "kbps": 1047552}
    assert bandwidth(1000) == {"bytes_per_second": 1000, "kbps": 1.0}
    assert bandwidth(None) is None


def test_threads_default_to_four_when_absent():
    assert threads(None) == {"value": 4, "configured": False}
    assert threads(32) == {"value": 32, "configured": True}


def test_volume_for_path_takes_the_longest_root_ignoring_case():
    names = ["C:\\", "C:\\ClusterStorage\\Volume1\\", "C:\\ClusterStorage\\Volume10\\"]
    assert volume_for_path("c:\\clusterstorage\\volume10\\a.vhdx", names) == "C:\\ClusterStorage\\Volume10\\"
    assert volume_for_path("C:\\ClusterStorage\\Volume1\\a.vhdx", names) == "C:\\ClusterStorage\\Volume1\\"
    assert volume_for_path("C:\\VMs\\a.vhdx", names) == "C:\\"
    assert volume_for_path("\\\\fs01\\vms\\a.vhdx", names) is None
