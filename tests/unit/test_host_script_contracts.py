"""Every host-script contract (plugins/plugin_utils/_host_contracts.py) holds on all three sides.

The contract is what the controller reads. For each script the test checks (a) that the .ps1 as sent (with the
prelude functions it calls) writes exactly the contract's keys: the hashtable keys it builds, read with the
PowerShell grammar, and for the threads scripts the registry value names they loop over; (b) that the lab's
simulation of the script returns documents of exactly that shape, for every host of lab/estates/demo.yml; and
(c) that the bundles hyperv_host_state sends are read part by part by the lab. The request side (what each
script reads of ``params`` and ``secrets``) is tests/unit/test_twin_contracts.py's.
"""

import asyncio
import importlib
import inspect
import sys
from pathlib import Path

import pytest
import tree_sitter_pwsh
from tree_sitter import Language, Parser

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._document_schema import schema_key_names, schema_mismatches, schema_paths
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import BUNDLE, CONTRACTS, HOST_INFO
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import normalise_host_facts
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HOST_SCRIPTS_DIR, PRELUDE_NAME, load_host_script
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script_bundle import load_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
DEMO_ESTATE = REPO_ROOT / "lab" / "estates" / "demo.yml"

# Keys of the failure document every host script may print instead (docs/host-scripts.md, "One call").
FAILURE_KEYS = {"failed", "msg"}
# The threads scripts write the registry value names they loop over as strings, not as hashtable keys.
KEYS_AS_STRINGS = {"upload_threads_read", "upload_threads_set"}
# The provider's scripts write objects the contract leaves as scalars (each step's record {action, exit_code},
# Add/Remove Programs entries {name, uninstall_string}): only the keys the controller reads are held to it.
KEYS_BEYOND_THE_DOCUMENT = {"replication_provider_read", "replication_provider_apply", "replication_provider_remove"}

SCRIPT_NAMES = sorted(path.stem for path in Path(HOST_SCRIPTS_DIR).glob("*.ps1") if path.stem != PRELUDE_NAME)


def parse(source):
    return Parser(Language(tree_sitter_pwsh.language())).parse(source)


def hashtable_keys(source):
    """Every key of every hashtable literal (@{...}, [ordered]@{...}, [pscustomobject]@{...}) in a script."""
    keys = set()
    stack = [parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "key_expression":
            keys.add(node.text.decode("utf-8").strip("'\""))
        stack.extend(node.children)
    return keys


def string_literals(source):
    strings = set()
    stack = [parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type in ("string_literal", "expandable_string_literal"):
            strings.add(node.text.decode("utf-8").strip("'\""))
        stack.extend(node.children)
    return strings


def sent_source(name):
    """The script as sent: the prelude functions it calls (Get-AgentState, Get-ThrottleSetting, ...) write keys too."""
    return load_host_script(name).text.encode("utf-8")


def test_every_host_script_has_a_contract_of_its_marker_s_version_and_every_contract_a_script():
    assert SCRIPT_NAMES == sorted(CONTRACTS)
    for name in SCRIPT_NAMES:
        assert load_host_script(name).label == CONTRACTS[name].label
    assert load_bundle(("host_info",)).label == BUNDLE.label


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_the_script_writes_every_key_the_controller_reads(name):
    source = sent_source(name)
    written = hashtable_keys(source) | (string_literals(source) if name in KEYS_AS_STRINGS else set())
    missing = schema_key_names(CONTRACTS[name].output_schema) - written
    assert not missing, f"the {name} contract reads keys that {name}.ps1 never writes: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(set(CONTRACTS) - KEYS_BEYOND_THE_DOCUMENT))
def test_the_script_writes_no_key_outside_the_contract(name):
    extra = hashtable_keys(sent_source(name)) - schema_key_names(CONTRACTS[name].output_schema) - FAILURE_KEYS
    assert not extra, f"{name}.ps1 writes keys that its contract (and docs/host-scripts.md) does not have: {sorted(extra)}"


def test_hashtable_keys_reads_every_literal_form():
    source = b"$a = @{ one = 1; 'two' = 2 }\n$b = [ordered]@{ three = @{ four = 4 } }\n$c = [pscustomobject]@{ \"five\" = 5 }\n"
    assert hashtable_keys(source) == {"one", "two", "three", "four", "five"}


def test_a_key_missing_from_a_script_or_added_to_it_is_seen():
    source = sent_source("upload_throttle_read")
    assert "service_status" in hashtable_keys(source)
    assert "service_status" not in hashtable_keys(source.replace(b"service_status =", b"status ="))
    assert "status" in hashtable_keys(source.replace(b"service_status =", b"status ="))


# --- the lab's simulations -------------------------------------------------------------------------

AGENT_PATH = "C:\\Program Files\\Microsoft Azure Recovery Services Agent\\"
# An installed, running agent (lab.hosts.patch format).
AGENT_INSTALLED = {
    "registry": {"HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Setup": {"InstallPath": AGENT_PATH}},
    "services": {"obengine": {"status": "Running", "start_type": "Automatic"}},
}

# The request each simulation gets (a minimal valid one).
LAB_PARAMS = {
    "host_info": {"gather_vms": True},
    "replication_provider_read": {"setup_file": {"path": "C:\\s.exe", "sha256": True}},
    "replication_provider_apply": {"steps": []},
    "replication_provider_remove": {"steps": []},
    "upload_threads_read": {},
    "upload_threads_set": {"writes": {"UploadThreadsPerVM": 8}},
    "upload_throttle_read": {},
    "upload_throttle_set": {"throttle": None},
}


def lab_modules():
    """(lab.estate, lab.hosts.scripts, lab.hosts.patch), or a skip while the lab is being built."""
    if not DEMO_ESTATE.is_file():
        pytest.skip(f"the lab's demo estate {DEMO_ESTATE.relative_to(REPO_ROOT)} does not exist yet")
    return tuple(importlib.import_module(name) for name in ("lab.estate", "lab.hosts.scripts", "lab.hosts.patch"))


def simulate(scripts, name, world, host, params):
    document = scripts.load(name, CONTRACTS[name].version).run(
        scripts.ScriptContext(host=host, world=world, params=params, secrets={}, version=CONTRACTS[name].version))
    return asyncio.run(document) if inspect.isawaitable(document) else document


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_the_lab_returns_exactly_the_contract_for_every_demo_host(name):
    estate, scripts, patch = lab_modules()
    world = estate.load_estate(DEMO_ESTATE)
    assert world.hosts, "the demo estate has no hosts"
    patch.patch_host(world.host("HV01"), AGENT_INSTALLED)
    for host in world.hosts:
        if name == "upload_throttle_set" and not host.agent_install_path:
            continue                       # fails as the script does without the agent (tests/unit/test_upload_settings_twins.py)
        document = simulate(scripts, name, world, host, LAB_PARAMS[name])
        assert schema_mismatches(document, CONTRACTS[name].output_schema) == [], f"lab {name} on {host.name}"
        if name == "host_info":
            # The controller can read every document the lab gives.
            assert normalise_host_facts(document)["computer_name"] == host.name


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
        "HKLM\\SOFTWARE\\Microsoft\\Windows Azure Backup\\Setup": {"InstallPath": AGENT_PATH},
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


def test_the_lab_fills_every_key_of_the_host_info_contract_on_a_prepared_host():
    estate, scripts, patch = lab_modules()
    world = estate.load_estate(DEMO_ESTATE)
    host = world.host(PREPARED_HOST)
    patch.patch_host(host, PREPARED)

    document = simulate(scripts, "host_info", world, host, LAB_PARAMS["host_info"])

    assert schema_mismatches(document, HOST_INFO.output_schema) == []
    assert observed_paths(document) == schema_paths(HOST_INFO.output_schema)
    facts = normalise_host_facts(document)
    assert facts["registration"]["vault_name"] == "migrate-vault-01"
    assert facts["upload_threads"] == {"value": 8, "configured": True}
    assert facts["throttle"]["work_hour_bandwidth"] == {"bytes_per_second": 524288, "kbps": 512}
    assert next(vm for vm in facts["vms"] if vm["name"] == "sql01")["replication"]["replica_server"] == "Microsoft Azure"


# --- bundles: the lab reads the collection's bundles part by part -----------------------------------

# The bundles hyperv_host_state sends: every read, the settings writes, the provider's steps followed by the writes.
BUNDLES = [
    ("host_info", "replication_provider_read", "upload_threads_read", "upload_throttle_read"),
    ("host_info",),
    ("upload_threads_read", "upload_throttle_read"),
    ("upload_threads_set", "upload_throttle_set"),
    ("replication_provider_remove", "replication_provider_apply", "upload_threads_set", "upload_throttle_set"),
]


@pytest.mark.parametrize("names", BUNDLES, ids="+".join)
def test_the_lab_finds_every_part_of_the_collection_s_bundles_in_order_and_none_exits(names):
    from lab.hosts.scripts import bundle  # pylint: disable=import-outside-toplevel

    parts = bundle.parts_of(load_bundle(names).text, BUNDLE.version)
    assert [(label, ends) for label, dummy, ends in parts] == [(CONTRACTS[name].label, False) for name in names]
    assert all(callable(getattr(simulation, "run", None)) for dummy, simulation, dummy_ends in parts)


def test_a_part_that_still_exits_is_seen_by_the_lab():
    from lab.hosts.scripts import bundle  # pylint: disable=import-outside-toplevel

    text = load_bundle(("upload_threads_read", "upload_throttle_read")).text.replace("return 0", "exit 0", 1)
    assert [ends for dummy, dummy_simulation, ends in bundle.parts_of(text, BUNDLE.version)] == [True, False]
