"""The keys replication_provider reads are the keys its host scripts write and the lab's simulations return."""

import asyncio
import datetime as dt
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

# pylint: disable=wrong-import-position
from lab.clock import LabClock  # noqa: E402
from lab.estate import build_world  # noqa: E402
from lab.hosts.scripts import ScriptContext, replication_provider_apply, replication_provider_read, replication_provider_remove  # noqa: E402

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import schema_mismatches  # noqa: E402
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import load_host_script  # noqa: E402
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_plan import APPLY_SCHEMA, READ_SCHEMA  # noqa: E402


def world():
    return build_world({"hosts": [{"name": "HV01"}]}, clock=LabClock(dt.datetime(2025, 6, 2, tzinfo=dt.timezone.utc)))


def script_keys(name: str) -> set[str]:
    """Keys of the ordered hashtables a script builds (``key = value`` inside ``[ordered]@{ ... }``), as sent (with its prelude)."""
    text = load_host_script(name).text
    return set(re.findall(r"(?:^\s*|[{;]\s*)([a-z_0-9]+) = ", text, re.MULTILINE))


def test_read_simulation_returns_the_schema():
    lab_world = world()
    document = replication_provider_read.run(ScriptContext(lab_world.host("HV01"), lab_world, {"setup_file": {"path": "C:\\s.exe", "sha256": True}}, {}, 1))
    assert schema_mismatches(document, READ_SCHEMA) == []


def test_apply_and_remove_simulations_return_the_schema():
    for simulation in (replication_provider_apply, replication_provider_remove):
        lab_world = world()
        document = asyncio.run(simulation.run(ScriptContext(lab_world.host("HV01"), lab_world, {"steps": []}, {}, 1)))
        assert schema_mismatches(document, APPLY_SCHEMA) == []


def test_scripts_write_every_key_python_reads():
    def nested(schema):
        keys = set()
        for key, value in schema.items():
            keys.add(key)
            if isinstance(value, dict):
                keys |= nested(value)
        return keys
    assert nested(READ_SCHEMA) - script_keys("replication_provider_read") == set()
    assert nested(APPLY_SCHEMA) - script_keys("replication_provider_apply") == set()
    assert nested(APPLY_SCHEMA) - script_keys("replication_provider_remove") == set()
