"""The collection's Python requirements and azure.azcollection's resolve together in one environment.

AWX and ansible-builder put every collection of a job into one execution environment. azure.azcollection pins exact
versions (azure-mgmt-core 1.4.0 among them), and the Site Recovery SDK 2.0.0 needs azure-mgmt-core >= 1.6, so the
collection calls the Site Recovery REST API through azure-mgmt-core itself (module_utils/_asr/rest.py) and does not
require the SDK. pip resolves both files here, against the package index, without installing anything; the test is
skipped when the index cannot be reached.

azure.azcollection's requirements come from the community ``ansible`` package the tests install (its newest release
is pinned in tests/constraints.txt).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OURS = PROJECT_ROOT / "requirements.txt"


def azcollection_requirements() -> Path:
    spec = pytest.importorskip("ansible_collections.azure.azcollection")
    found = Path(list(spec.__path__)[0]) / "requirements.txt"
    if not found.exists():
        pytest.skip(f"azure.azcollection has no requirements.txt at {found}")
    return found


def pip(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check"], capture_output=True,
                          text=True, timeout=timeout, check=False)


def index_reachable() -> bool:
    """Whether pip can read the index: a dry run of one small package, with no dependencies."""
    return pip("install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet", "pip", timeout=120).returncode == 0


def floor(requirements: Path, name: str) -> str:
    for line in requirements.read_text().splitlines():
        found = re.match(r"^\s*%s\s*>=\s*([\w.]+)" % re.escape(name), line, re.IGNORECASE)
        if found:
            return found.group(1)
    raise AssertionError(f"{requirements} has no floor for {name}")


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_requirements_resolve_together_with_azure_azcollection(tmp_path):
    theirs = azcollection_requirements()
    if not index_reachable():
        pytest.skip("the Python package index cannot be reached: pip cannot resolve the requirements here")
    report = tmp_path / "report.json"
    completed = pip("install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
                    "-r", str(OURS), "-r", str(theirs))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    resolved = {entry["metadata"]["name"].lower(): entry["metadata"]["version"]
                for entry in json.loads(report.read_text())["install"]}
    # azure.azcollection's pins hold, and each of the collection's floors is met by what resolved.
    assert resolved["azure-mgmt-core"] == "1.4.0"
    for name in ("azure-core", "azure-identity", "azure-mgmt-core", "azure-mgmt-compute", "azure-mgmt-network",
                 "azure-mgmt-storage", "azure-storage-blob", "pywinrm"):
        assert version_tuple(resolved[name]) >= version_tuple(floor(OURS, name)), (name, resolved[name])


def test_the_collection_does_not_require_the_site_recovery_sdk():
    """Its 2.0.0 needs azure-mgmt-core >= 1.6 and its 1.x releases take other arguments: the REST client replaces it."""
    names = [re.split(r"[<>=!~;\s]", line.strip(), 1)[0].lower() for line in OURS.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert "azure-mgmt-recoveryservicessiterecovery" not in names
    assert "azure-mgmt-core" in names
