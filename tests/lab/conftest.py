"""Fixtures for the lab's own tests: one lab per session, started through its CLI."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
for path in (TESTS, TESTS.parent):   # labfixture, and the lab package for white-box tests
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from labfixture import LabProcess, free_address_prefix  # noqa: E402

# Distinct from the demo's default 127.0.1; another prefix if a concurrent lab holds this one.
PREFERRED_PREFIX = "127.0.9"
HOSTS_ONLY = ("azure",)   # the Hyper-V side's tests do not depend on the Azure side


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> LabProcess:
    prefix = free_address_prefix(PREFERRED_PREFIX)
    process = LabProcess.start(tmp_path_factory.mktemp("lab-state"), address_prefix=prefix, skip=HOSTS_ONLY)
    yield process
    process.stop()


@pytest.fixture()
def clean_faults(lab):
    lab.admin.delete("/faults")
    yield lab
    lab.admin.delete("/faults")


@pytest.fixture(scope="session")
def ansible_bin() -> Path:
    directory = Path(sys.executable).parent
    if not (directory / "ansible").exists() and shutil.which("ansible") is None:
        pytest.skip("the ansible CLI is not installed next to this Python")
    return directory if (directory / "ansible").exists() else Path(shutil.which("ansible")).parent
