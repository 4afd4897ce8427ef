"""A small lab vault whose VMs are in several states at once, for the fleet views (inventory plugin, event source).

    from fleet_lab import fleet_lab   # pytest fixture (module scope: each test module its own lab)

Hosts HVA01 and HVA02 with four VMs each and HVB01 with two (tests/integration/azure_lab.py's estate and
set-up, smaller). Before replication is enabled, HVA02's WAN link is slowed to a trickle, so that its VMs stay
in initial replication, and the enable job of ``hva02-vm004`` is made to fail with the service's error 70094
(state failed, health Critical). After set-up the lab clock moves one hour: HVA01's VMs finish their initial
replication (state protected). Each test module gets a lab of its own: its tests may move the clock and links.
"""

from __future__ import annotations

import json

import pytest

import azure_lab
from labfixture import LabProcess

HOSTS = ("HVA01", "HVA02")
VMS_PER_HOST = 4
FAILED_VM = "hva02-vm004"
SLOW_HOST = "HVA02"
TRICKLE_BPS = 1.0   # bytes per second: HVA02's 1 GB disks take years
FAST_BPS = 1_000_000_000 / 8


def vm_names(host: str) -> list[str]:
    return [f"{host.lower()}-vm{number:03d}" for number in range(1, VMS_PER_HOST + 1)]


def finish_initial_replication(lab: LabProcess, host: str, seconds: float = 3600) -> None:
    """Give ``host`` a fast link and move the lab clock on: its VMs' first copies complete."""
    lab.admin.post(f"/azure/hosts/{host}/link", {"bps": FAST_BPS})
    lab.admin.post("/clock", {"advance_seconds": seconds})


@pytest.fixture(scope="module")
def fleet_lab(tmp_path_factory):
    state = tmp_path_factory.mktemp("fleet-lab")
    (state / "estate.json").write_text(json.dumps(azure_lab.estate_document(HOSTS, VMS_PER_HOST)))
    lab = LabProcess.start(state / "lab", estate=state / "estate.json")
    try:
        lab.admin.post(f"/azure/hosts/{SLOW_HOST}/link", {"bps": TRICKLE_BPS})
        lab.admin.post("/azure/faults/job-failure", {"scenario": "EnableDr", "code": "70094", "vm": FAILED_VM})
        azure_lab.prepare_vault(lab, HOSTS)
        lab.admin.post("/clock", {"advance_seconds": 3600})   # HVA01's first copies complete
        yield lab
    finally:
        lab.stop()
