"""Fixtures for the lab's Azure side: one in-process lab Azure per session (inprocess_azure.py), real SDK clients."""

from __future__ import annotations

import pytest

from inprocess_azure import AzureLab, Site


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> AzureLab:
    azure_lab = AzureLab(tmp_path_factory.mktemp("lab-azure"))
    yield azure_lab
    azure_lab.close()


@pytest.fixture()
def clean_faults(lab):
    lab.admin("DELETE", "/azure/faults")
    lab.admin("DELETE", "/azure/throttle")
    yield lab
    lab.admin("DELETE", "/azure/faults")
    lab.admin("DELETE", "/azure/throttle")


@pytest.fixture(scope="session")
def site(lab) -> Site:
    """HV01 (web01, app01, file01) registered to site-hv01."""
    return Site(lab, "site-hv01", ["HV01"])


@pytest.fixture(scope="session")
def cluster_site(lab) -> Site:
    """The two cluster nodes HV02 (sql01, dc02, legacy01) and HV03 (app02, web02) on site-cluster."""
    return Site(lab, "site-cluster", ["HV02", "HV03"])
