"""The built collection ships the Event-Driven Ansible source and rulebook (extensions/eda) and the inventory plugin."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_build_ignore_keeps_extensions():
    ignored = yaml.safe_load((PROJECT_ROOT / "galaxy.yml").read_text())["build_ignore"]
    assert not [pattern for pattern in ignored if pattern.split("/")[0] in ("extensions", "extensions*", "*")]


def test_artifact_has_the_event_source_rulebook_and_inventory_plugin(tmp_path):
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    completed = subprocess.run([str(galaxy), "collection", "build", "--output-path", str(tmp_path), str(PROJECT_ROOT)],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (artifact,) = tmp_path.glob("azmigrate-hyperv-*.tar.gz")
    with tarfile.open(artifact) as archive:
        names = set(archive.getnames())
    for shipped in ("extensions/eda/plugins/event_source/replication_events.py",
                    "extensions/eda/rulebooks/replication_watch.yml",
                    "plugins/inventory/replicated_vms.py", "plugins/modules/replication_resync.py",
                    "plugins/module_utils/_asr/fleet.py", "plugins/module_utils/_vm_query.py"):
        assert shipped in names, shipped
