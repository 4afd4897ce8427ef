"""The host_info/1 contract (docs/host-scripts.md) holds on all three sides.

RAW_SCHEMA in plugins/plugin_utils/_host_facts.py is what the controller reads. The test checks
(a) that host_info.ps1 writes exactly those keys (the hashtable keys of the script as sent, with the
prelude functions it calls, read with the PowerShell grammar), and (b) that the lab's simulation of the script returns documents of exactly that
shape, for every host of lab/estates/demo.yml and for a demo host with everything installed.
"""

import importlib
import inspect
import asyncio
from pathlib import Path

import pytest
import tree_sitter_pwsh
from tree_sitter import Language, Parser

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import (
    RAW_SCHEMA,
    normalise_host_facts,
    schema_key_names,
    schema_mismatches,
    schema_paths,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import load_host_script

REPO_ROOT = Path(__file__).resolve().parents[2]
# host_info.ps1 as sent: with the prelude functions it calls (Get-ThrottleSetting writes the throttle's keys).
HOST_INFO_SENT = load_host_script("host_info").text.encode("utf-8")
DEMO_ESTATE = REPO_ROOT / "lab" / "estates" / "demo.yml"

# Keys of the failure document every host script may print instead (docs/host-scripts.md, "One call").
FAILURE_KEYS = {"failed", "msg"}


def hashtable_keys(source):
    """Every key of every hashtable literal (@{...}, [ordered]@{...}, [pscustomobject]@{...}) in a script."""
    tree = Parser(Language(tree_sitter_pwsh.language())).parse(source)
    keys = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "key_expression":
            keys.add(node.text.decode("utf-8").strip("'\""))
        stack.extend(node.children)
    return keys


def test_the_script_writes_every_key_the_controller_reads():
    written = hashtable_keys(HOST_INFO_SENT)
    missing = schema_key_names(RAW_SCHEMA) - written
    assert not missing, f"host_facts.RAW_SCHEMA reads keys that host_info.ps1 never writes: {sorted(missing)}"


def test_the_script_writes_no_key_outside_the_contract():
    written = hashtable_keys(HOST_INFO_SENT)
    extra = written - schema_key_names(RAW_SCHEMA) - FAILURE_KEYS
    assert not extra, f"host_info.ps1 writes keys that docs/host-scripts.md and host_facts.RAW_SCHEMA do not have: {sorted(extra)}"


def test_hashtable_keys_reads_every_literal_form():
    source = b"$a = @{ one = 1; 'two' = 2 }\n$b = [ordered]@{ three = @{ four = 4 } }\n$c = [pscustomobject]@{ \"five\" = 5 }\n"
    assert hashtable_keys(source) == {"one", "two", "three", "four", "five"}


# --- the lab's simulation --------------------------------------------------------------------------

def lab_simulation():
    """(lab.estate, lab.hosts.scripts, the host_info simulation, lab.hosts.patch), or a skip while the lab is being built."""
    if not DEMO_ESTATE.is_file():
        pytest.skip(f"the lab's demo estate {DEMO_ESTATE.relative_to(REPO_ROOT)} does not exist yet")
    try:
        return tuple(
            importlib.import_module(name)
            for name in ("lab.estate", "lab.hosts.scripts", "lab.hosts.scripts.host_info", "lab.hosts.patch")
        )
    except ModuleNotFoundError as error:
        pytest.skip(f"the lab has no {error.name} yet (lab/ is being built): cannot compare its host_info simulation")


def simulate_host_info(scripts, simulation, world, host, gather_vms=True):
    context = scripts.ScriptContext(host=host, world=world, params={"gather_vms": gather_vms}, secrets={}, version=1)
    document = simulation.run(context)
    if inspect.isawaitable(document):
        document = asyncio.run(document)
    return document


def observed_paths(document, prefix=""):
    """The key paths present in a document (a null object or empty list hides the keys below it)."""
    paths = set()
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= observed_paths(value, path)
    elif isinstance(document, list):
        for item in document:
            paths |= observed_paths(item, prefix + "[]")
    return paths


# Everything host_info reads, installed and set on a demo cluster node (lab.hosts.patch format), so
# no part of the document is null.
PREPARED = {
    "registry": {
        "HKLM\\SOFTWARE\\Microsoft\\Azure Site Recovery": {"Version": "5.1.8095.0", "DraID": "9c0c5a4e-2f7b-4d1a-9b3e-6f8a1c2d3e4f"},
        "HKLM\\SOFTWARE\\Microsoft\\Azure Site Recovery\\Registration": {
            "VaultLocation": "westeurope",
            "SubscriptionId": "6f1c2d3e-4b5a-4697-8a9b-1c2d3e4f5a60",
            "ResourceName": "migrate-vault-01",
            "ResourceGroupName": "rg-migrate",
            "SiteName": "HyperV-site-01",
            "ContainerId": "0b3f5f9e-8c71-4c0e-a8c5-2f5c7d9e1a24",
        },
        "HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Setup": {"InstallPath": "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"},
        "HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Replication": {"UploadThreadsPerVM": 8, "DownloadThreadsPerVM": 6},
    },
    "services": {
        "dra": {"status": "Running", "start_type": "Automatic"},
        "obengine": {"status": "Running", "start_type": "Automatic"},
    },
    "mars_settings": {
        "throttle": {
            "enabled": True,
            "work_days": ["Monday", "Friday"],
            "work_hour_start": "08:00:00",
            "work_hour_end": "18:00:00",
            "work_hour_bandwidth": 524288,
            "non_work_hour_bandwidth": 2097152,
        }
    },
    "vms": {"sql01": {"replication": {"state": "Replicating", "health": "Normal", "mode": "Primary", "replica_server": "Microsoft Azure"}}},
}
PREPARED_HOST = "HV02"


def test_the_lab_returns_exactly_the_contract_for_every_demo_host():
    estate, scripts, simulation, _patch = lab_simulation()
    world = estate.load_estate(DEMO_ESTATE)
    assert world.hosts, "the demo estate has no hosts"
    for host in world.hosts:
        document = simulate_host_info(scripts, simulation, world, host)
        assert schema_mismatches(document, RAW_SCHEMA) == [], f"lab host_info on {host.name}"
        # The controller can read every document the lab gives.
        assert normalise_host_facts(document)["computer_name"] == host.name


def test_the_lab_fills_every_key_of_the_contract_on_a_prepared_host():
    estate, scripts, simulation, patch = lab_simulation()
    world = estate.load_estate(DEMO_ESTATE)
    host = world.host(PREPARED_HOST)
    patch.patch_host(host, PREPARED)

    document = simulate_host_info(scripts, simulation, world, host)

    assert schema_mismatches(document, RAW_SCHEMA) == []
    assert observed_paths(document) == schema_paths(RAW_SCHEMA)
    facts = normalise_host_facts(document)
    assert facts["registration"]["vault_name"] == "migrate-vault-01"
    assert facts["upload_threads"] == {"value": 8, "configured": True}
    assert facts["throttle"]["work_hour_bandwidth"] == {"bytes_per_second": 524288, "kbps": 512}
    assert next(vm for vm in facts["vms"] if vm["name"] == "sql01")["replication"]["replica_server"] == "Microsoft Azure"
