"""`python -m lab restart` (lab/persist.py): the restarted lab serves the saved world on the same addresses, ports
and passwords, its clock moved on, and a long-running operation's URL and a token from before the restart still
answer. In process, with running jobs and operations as data: tests/lab_azure/test_world_snapshot.py."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request

from labfixture import DEFAULT_ESTATE, PROJECT_ROOT, LabProcess, _env, free_address_prefix


def _token(azure: dict, ca: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": azure["client_id"],
                                   "client_secret": azure["client_secret"],
                                   "scope": "https://management.azure.com/.default"}).encode()
    request = urllib.request.Request(f"{azure['authority_url']}/{azure['tenant_id']}/oauth2/v2.0/token", data=form)
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=30) as response:
        return json.loads(response.read())["access_token"]


def _arm(method: str, url: str, token: str, ca: str, body: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=30) as response:
        text = response.read()
        return response.status, dict(response.headers), json.loads(text) if text else {}


def test_restart_serves_the_saved_world_on_the_same_endpoints(tmp_path):
    lab = LabProcess.start(tmp_path / "lab", estate=DEFAULT_ESTATE, address_prefix=free_address_prefix(),
                           time_scale=60)
    try:
        azure, ca = lab.info["azure"], lab.ca_path
        token = _token(azure, ca)
        lab.admin.patch("/hosts/HV01", {"domain": "fabrikam.local"})
        disk = (f"{azure['arm_url']}/subscriptions/{azure['subscription_id']}/resourceGroups/"
                f"{azure['target_resource_group']}/providers/Microsoft.Compute/disks/restart-disk")
        status, headers, dummy = _arm("PUT", disk + "?api-version=2024-03-02", token, ca, {
            "location": azure["location"], "sku": {"name": "Standard_LRS"},
            "properties": {"diskSizeGB": 8, "creationData": {"createOption": "Empty"}}})
        assert status == 202
        operation_url = headers["Azure-AsyncOperation"]
        before = {"info": lab.info, "inventory": lab.inventory.read_text(), "clock": lab.admin.get("/clock")}

        lab.restart()

        assert lab.info["resumed"] and {k: v for k, v in lab.info.items() if k not in ("pid", "clock", "resumed")} == \
            {k: v for k, v in before["info"].items() if k not in ("pid", "clock", "resumed")}
        assert lab.inventory.read_text() == before["inventory"]          # same addresses, ports and passwords
        assert lab.admin.get("/hosts/HV01")["domain"] == "fabrikam.local"
        assert lab.admin.get("/clock")["elapsed_seconds"] > before["clock"]["elapsed_seconds"]
        status, dummy, document = _arm("GET", operation_url, token, ca)   # a token from before the restart
        assert status == 200 and document["status"] in ("InProgress", "Succeeded")
        status, dummy, document = _arm("GET", disk + "?api-version=2024-03-02", token, ca)
        assert status == 200 and document["properties"]["diskSizeGB"] == 8
    finally:
        lab.stop()
    assert (tmp_path / "lab" / "world.snapshot").exists()


def test_resume_without_a_snapshot_fails_clearly(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "lab", "up", "--resume", "--state-dir", str(tmp_path)],
                               cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 2 and "no snapshot to resume from" in completed.stderr
