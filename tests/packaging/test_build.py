"""The built collection ships the collection and nothing of the development tree."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT_ONLY = ("lab/", "tests/", "bench/", ".build/", ".venv/", ".collections/", ".lab/", ".ci/", "node_modules/", "Makefile", "pytest.ini")


def test_artifact_has_the_collection_and_no_development_files(tmp_path):
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    completed = subprocess.run([str(galaxy), "collection", "build", "--output-path", str(tmp_path), str(PROJECT_ROOT)],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (artifact,) = tmp_path.glob("azmigrate-hyperv-*.tar.gz")
    with tarfile.open(artifact) as archive:
        names = archive.getnames()

    leftovers = [name for name in names if name.startswith(DEVELOPMENT_ONLY) or "__pycache__" in name or name.endswith(".pyc")]
    assert leftovers == []
    for shipped in ("MANIFEST.json", "COPYING", "README.md", "meta/runtime.yml", "requirements.txt",
                    "plugins/action/host_info.py", "plugins/modules/host_info.py", "plugins/plugin_utils/host_scripts/host_info.ps1",
                    "playbooks/host_report.yml"):
        assert shipped in names
