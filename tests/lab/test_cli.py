"""The lab's command line: up writes lab.json and the inventory, refuses a second up, down stops it."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import yaml
from labfixture import PROJECT_ROOT, LabProcess, _env


def lab_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=PROJECT_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=60, check=False)


def test_lab_json_and_inventory(lab):
    info = json.loads((lab.state_dir / "lab.json").read_text())
    assert set(info["hosts"]) == {"HV01", "HV02", "HV03"}
    assert info["hosts"]["HV02"]["cluster"] == "HVCLU01"
    assert info["admin_url"].startswith("http://127.0.0.1:")
    inventory = yaml.safe_load(lab.inventory.read_text())
    children = inventory["all"]["children"]
    assert set(children) == {"hyperv_hosts", "HVCLU01", "standalone_hosts"}
    hv02 = children["hyperv_hosts"]["hosts"]["HV02"]
    assert hv02 | {"ansible_password": None} == {
        "ansible_host": lab.host("HV02")["address"], "ansible_port": 5986, "ansible_connection": "winrm",
        "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "https", "ansible_user": "labadmin",
        "ansible_password": None, "ansible_winrm_server_cert_validation": "validate",
        "ansible_winrm_ca_trust_path": lab.ca_path}
    passwords = {h["password"] for h in info["hosts"].values()}
    assert len(passwords) == 3, "one random password per host"
    for name in ("lab.json", "inventory.yml"):
        assert stat.S_IMODE((lab.state_dir / name).stat().st_mode) == 0o600


def test_passwords_never_reach_the_logs(lab):
    passwords = [h["password"] for h in lab.info["hosts"].values()]
    for name in ("lab.out", "commands.log"):
        text = (lab.state_dir / name).read_text()
        assert not any(p in text for p in passwords)


def test_second_up_is_refused_and_down_stops(tmp_path):
    edge = LabProcess.start(tmp_path, estate=PROJECT_ROOT / "lab/estates/edge.yml", skip=("azure",))
    try:
        assert set(edge.info["hosts"]) == {"DC01", "NOHV01", "OLD01"}
        again = lab_cli("up", "--estate", "lab/estates/edge.yml", "--state-dir", str(tmp_path), "--skip", "azure",
                        "--address-prefix", edge.host("DC01")["address"].rsplit(".", 1)[0])
        assert again.returncode == 1 and "already running" in again.stderr
        assert lab_cli("status", "--state-dir", str(tmp_path)).returncode == 0
    finally:
        edge.stop()
    assert not (tmp_path / "lab.pid").exists()
    assert lab_cli("status", "--state-dir", str(tmp_path)).returncode == 1


def test_bad_address_prefix_fails_before_starting(tmp_path):
    result = lab_cli("up", "--estate", "lab/estates/demo.yml", "--state-dir", str(tmp_path), "--skip", "azure",
                     "--address-prefix", "10.0.0")
    assert result.returncode == 1
    assert "127/8" in result.stderr
