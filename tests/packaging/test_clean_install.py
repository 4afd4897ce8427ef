"""A new user's install and the README's journey, from the built artifact, in a virtualenv of their own.

The collection is built with ``ansible-galaxy collection build`` and installed with ``ansible-galaxy collection
install`` into an empty collections path, in a new virtualenv that holds only ansible-core and the installed
collection's requirements.txt (no system site packages: a missing dependency must fail here). Galaxy itself cannot
be reached from the test machines, so the declared dependency ansible.windows is built into a tarball with
ansible-galaxy from the copy the community ``ansible`` package of the development virtualenv bundles, and given to
the same install command, offline. pip installs from the configured index and its cache.

Then every shipped playbook passes ``--syntax-check``, and every ``ansible-playbook`` command of the README's quick
start runs as written, in order, in one working directory, against a lab of its own: the Azure side from the lab's
Migrate project (as a new project is), the hosts, the plan, replicate, test, cutover and status. The test only
writes the files the README asks the user to write (inventory.yml, azure.yml, prepare.yml, plan_vars.yml), puts
the provider setup file where the user downloads it, and sets the AZURE_* variables the README exports (plus the
lab's cloud endpoint and CA, as a private cloud needs).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import base64
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).resolve().parents[1]
PROJECT_ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from labfixture import LabProcess  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.lab

DEV_BIN = Path(sys.executable).parent
STEP_TIMEOUT_S = 600
# The lab's VMs of the journey's plan: valid Azure names, on the standalone host and on a cluster node.
JOURNEY_VMS = (
    {"name": "web01", "host": "HV01", "disks": [{"size": "40 GB", "volume": "D:\\"}], "churn": "0.5 MB/s"},
    {"name": "app01", "host": "HV01", "disks": [{"size": "60 GB", "volume": "D:\\"}], "churn": "0.5 MB/s"},
    {"name": "legacy01", "host": "HV02", "disks": [{"size": "40 GB", "volume": "C:\\ClusterStorage\\Volume1\\"}],
     "churn": "0.5 MB/s"},
)
LOG_ACCOUNT, PLAN_LOG_ACCOUNT, SETUP_ACCOUNT = "stjourneylog", "stjourneylog2", "stjourneysetup"


def run(command, *, env, cwd=None, timeout=STEP_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def output(completed: subprocess.CompletedProcess) -> str:
    return f"$ {shlex.join(map(str, completed.args))}\n{completed.stdout}{completed.stderr}"


def bundled_collection_tarball(namespace: str, name: str, work: Path, env: dict) -> Path:
    """A tarball of the collection the development virtualenv's ``ansible`` package bundles, built with ansible-galaxy."""
    module = __import__(f"ansible_collections.{namespace}.{name}", fromlist=["__path__"])
    source = work / f"{namespace}.{name}"
    shutil.copytree(list(module.__path__)[0], source, ignore=shutil.ignore_patterns("__pycache__"))
    info = json.loads((source / "MANIFEST.json").read_text())["collection_info"]
    info.pop("license_file", None)
    info["license"] = info.get("license") or ["GPL-3.0-or-later"]
    (source / "galaxy.yml").write_text(yaml.safe_dump({key: value for key, value in info.items() if value is not None}))
    for generated in ("MANIFEST.json", "FILES.json"):
        (source / generated).unlink()
    completed = run([env["CLEAN_BIN"] + "/ansible-galaxy", "collection", "build", "--output-path", str(work), str(source)],
                    env=env)
    assert completed.returncode == 0, output(completed)
    return next(work.glob(f"{namespace}-{name}-*.tar.gz"))


@pytest.fixture(scope="module")
def clean_install(tmp_path_factory):
    """{env, collection, timings}: a virtualenv with ansible-core + the collection's requirements, and the collection
    installed by ansible-galaxy from its artifact into an empty collections path."""
    work = tmp_path_factory.mktemp("clean-install")
    timings = {}
    started = time.monotonic()
    venv = work / "venv"
    completed = run([sys.executable, "-m", "venv", str(venv)], env=dict(os.environ))
    assert completed.returncode == 0, output(completed)
    # The user's HOME (pip's cache); ANSIBLE_COLLECTIONS_PATH alone decides where collections are found.
    env = {"PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(work)), "LANG": "C.UTF-8",
           "ANSIBLE_COLLECTIONS_PATH": str(work / "collections"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_RETRY_FILES_ENABLED": "False",
           "ANSIBLE_DEPRECATION_WARNINGS": "False", "CLEAN_BIN": str(venv / "bin")}
    # pip's own settings (index, find-links, cache) stay; nothing else of the development environment does.
    env.update({key: value for key, value in os.environ.items() if key.startswith("PIP_")})
    completed = run([f"{venv}/bin/python", "-m", "pip", "install", "--quiet", "ansible-core",
                     "-c", str(TESTS / "constraints.txt")], env=env)
    assert completed.returncode == 0, output(completed)
    timings["venv with ansible-core"] = time.monotonic() - started

    dist = work / "dist"
    completed = run([str(DEV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(PROJECT_ROOT)],
                    env=dict(os.environ))
    assert completed.returncode == 0, output(completed)
    (artifact,) = dist.glob("azmigrate-hyperv-*.tar.gz")
    windows = bundled_collection_tarball("ansible", "windows", dist, env)

    # The dependency is declared: the collection alone does not install offline, and names what it misses.
    completed = run([f"{venv}/bin/ansible-galaxy", "collection", "install", "--offline", str(artifact)], env=env)
    assert completed.returncode != 0 and "ansible.windows" in output(completed), output(completed)
    completed = run([f"{venv}/bin/ansible-galaxy", "collection", "install", "--offline", str(artifact), str(windows)],
                    env=env)
    assert completed.returncode == 0, output(completed)
    collection = work / "collections" / "ansible_collections" / "azmigrate" / "hyperv"

    # README step 1: pip install -r .../azmigrate/hyperv/requirements.txt (the installed copy).
    completed = run([f"{venv}/bin/python", "-m", "pip", "install", "--quiet", "-r", str(collection / "requirements.txt"),
                     "-c", str(TESTS / "constraints.txt")], env=env)
    assert completed.returncode == 0, output(completed)
    timings["clean install"] = time.monotonic() - started
    yield {"env": env, "collection": collection, "venv": venv, "timings": timings}
    print(f"clean install timings (s): {json.dumps({k: round(v, 1) for k, v in timings.items()})}")


def test_the_artifact_installs_with_its_declared_dependency_into_a_clean_environment(clean_install):
    env = clean_install["env"]
    listed = run([f"{clean_install['venv']}/bin/ansible-galaxy", "collection", "list", "--format", "json"], env=env)
    assert listed.returncode == 0, output(listed)
    installed = {name for path in json.loads(listed.stdout).values() for name in path}
    assert {"azmigrate.hyperv", "ansible.windows"} <= installed
    # Nothing of the development environment: no community package, no azure.azcollection.
    assert not any(name.startswith(("azure.", "community.")) for name in installed), installed
    check = run([f"{clean_install['venv']}/bin/python", "-m", "pip", "check"], env=env)
    assert check.returncode == 0, output(check)
    for shipped in ("requirements-kerberos.txt", "requirements-credssp.txt", "bindep.txt",
                    "meta/execution-environment.yml", "docs/awx.md", "playbooks/azure_setup.yml"):
        assert (clean_install["collection"] / shipped).is_file(), shipped


def test_every_shipped_playbook_passes_syntax_check(clean_install):
    playbooks = sorted(path.stem for path in (clean_install["collection"] / "playbooks").glob("*.yml"))
    assert {"azure_setup", "prepare_hosts", "plan", "replicate", "test_migration", "cutover", "status"} <= set(playbooks)
    completed = run([f"{clean_install['venv']}/bin/ansible-playbook", "--syntax-check",
                     *[f"azmigrate.hyperv.{name}" for name in playbooks]], env=clean_install["env"])
    assert completed.returncode == 0, output(completed)


def test_the_credssp_extra_installs_from_its_requirements_file(clean_install):
    env, venv = clean_install["env"], clean_install["venv"]
    completed = run([f"{venv}/bin/python", "-m", "pip", "install", "--quiet", "-r",
                     str(clean_install["collection"] / "requirements-credssp.txt"), "-c", str(TESTS / "constraints.txt")],
                    env=env)
    assert completed.returncode == 0, output(completed)
    imported = run([f"{venv}/bin/python", "-c", "import requests_credssp, winrm.transport as t; assert t.HAVE_CREDSSP"],
                   env=env)
    assert imported.returncode == 0, output(imported)


# ---- the README's journey ----------------------------------------------------------------------------------------


def readme_journey_commands(readme: str) -> list[str]:
    """Every ``ansible-playbook`` line of the quick start's console blocks, in order, without its comment."""
    section = readme.split("## Quick start on a real estate", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```console\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("ansible-playbook "):
                commands.append(line.split("  #", 1)[0].strip())
    return commands


def readme_yaml_block(readme: str, first_line: str) -> dict:
    """The YAML block of the README that starts with the comment ``first_line``."""
    for block in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL):
        text = "\n".join(line[3:] if line.startswith("   ") else line for line in block.splitlines())
        if text.lstrip().startswith(first_line):
            return yaml.safe_load(text)
    raise AssertionError(f"the README has no YAML block starting with {first_line!r}")


@pytest.fixture(scope="module")
def journey_lab(tmp_path_factory):
    process = LabProcess.start(tmp_path_factory.mktemp("journey-lab"))
    yield process
    process.stop()


def lab_azure_env(lab: LabProcess) -> dict:
    """What README step 2 exports, for the lab's tenant; and the lab's endpoint and CA (a private cloud's)."""
    azure = lab.info["azure"]
    return {"AZURE_SUBSCRIPTION_ID": azure["subscription_id"], "AZURE_TENANT": azure["tenant_id"],
            "AZURE_CLIENT_ID": azure["client_id"], "AZURE_SECRET": azure["client_secret"],
            "AZURE_CLOUD_ENVIRONMENT": azure["cloud_environment"], "AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
            "REQUESTS_CA_BUNDLE": lab.ca_path}


def write_the_users_files(lab: LabProcess, work: Path, readme: str) -> None:
    """The files the README asks for, with the lab's names: azure.yml (the README's block with the lab's project,
    groups and accounts), inventory.yml (the lab's hosts), prepare.yml, plan_vars.yml, and the downloaded setup file."""
    azure = lab.info["azure"]
    azure_vars = readme_yaml_block(readme, "# azure.yml")
    assert set(azure_vars) >= {"azure_setup_resource_group", "azure_setup_migrate_project", "azure_setup_location",
                               "azure_setup_log_storage_account", "azure_setup_target_resource_group"}
    azure_vars.update(azure_setup_resource_group=azure["resource_group"], azure_setup_migrate_project=azure["migrate_project"],
                      azure_setup_location=azure["location"], azure_setup_log_storage_account=LOG_ACCOUNT,
                      azure_setup_more_log_storage_accounts=[PLAN_LOG_ACCOUNT],
                      azure_setup_installer_storage_account=SETUP_ACCOUNT,
                      azure_setup_target_resource_group=azure["target_resource_group"],
                      azure_setup_target_network=azure["target_network"], azure_setup_target_subnet="default",
                      azure_setup_test_network=azure["test_network"])
    (work / "azure.yml").write_text(yaml.safe_dump(azure_vars))
    shutil.copy(lab.inventory, work / "inventory.yml")
    (work / "prepare.yml").write_text(yaml.safe_dump({"hyperv_host_upload_threads": 8}))
    (work / "plan_vars.yml").write_text(yaml.safe_dump({
        "plan_vms": list(JOURNEY_VMS), "plan_default_link_rate": "1 Gbit/s",
        "plan_hosts": [{"name": "HV01", "volumes": [{"name": "D:\\", "free": "400 GB"}]},
                       {"name": "HV02", "volumes": [{"name": "C:\\ClusterStorage\\Volume1\\", "free": "1 TB"}]}],
        "plan_storage_accounts": [{"name": PLAN_LOG_ACCOUNT, "capacity": "4 TB"}], "plan_max_vms_per_wave": 3}))
    setup = lab.admin.post("/setup-files", {"name": "AzureSiteRecoveryProvider.exe", "provider_version": "5.24.0902.3",
                                            "agent_version": "2.0.9277.0"})
    (work / "AzureSiteRecoveryProvider.exe").write_bytes(base64.b64decode(setup["content_b64"]))


def protected_items(lab: LabProcess, vault: str) -> list[dict]:
    """The vault's replicated items as the lab's Resource Manager returns them (through the collection's REST client)."""
    from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import AzureSession  # pylint: disable=import-outside-toplevel
    azure = lab.info["azure"]
    session = AzureSession.from_params({"auth_source": "auto", "subscription_id": azure["subscription_id"],
                                        "client_id": azure["client_id"], "secret": azure["client_secret"],
                                        "tenant": azure["tenant_id"], "cloud_environment": azure["cloud_environment"],
                                        "disable_instance_discovery": True, "ca_cert": lab.ca_path}, environ={})
    path = (f"/subscriptions/{azure['subscription_id']}/resourceGroups/{azure['resource_group']}/providers/"
            f"Microsoft.RecoveryServices/vaults/{vault}/replicationProtectedItems")
    return list(session.site_recovery().get(path, many=True))


def test_the_readme_journey_runs_as_written_from_a_clean_install(clean_install, journey_lab, tmp_path):
    lab = journey_lab
    readme = (clean_install["collection"] / "README.md").read_text()
    commands = readme_journey_commands(readme)
    assert commands and "azmigrate.hyperv.azure_setup" in commands[0].split(), commands
    assert "pip install -r ~/.ansible/collections/ansible_collections/azmigrate/hyperv/requirements.txt" in readme

    work = tmp_path / "journey"
    work.mkdir()
    write_the_users_files(lab, work, readme)
    env = {**clean_install["env"], **lab_azure_env(lab)}
    lab.admin.post("/clock", {"time_scale": 3600})    # replication and failovers in seconds

    timings, results = [], {}
    for command in commands:
        started = time.monotonic()
        completed = run(shlex.split(command), env=env, cwd=work)
        timings.append((command, round(time.monotonic() - started, 1)))
        assert completed.returncode == 0, output(completed)
        playbook = next(word for word in shlex.split(command) if word.startswith("azmigrate.hyperv."))
        results[playbook] = completed.stdout
        if playbook == "azmigrate.hyperv.replicate":
            vault = yaml.safe_load((work / "azmigrate" / "azure-vars.yml").read_text())["replicate_vault_name"]
            # Each VM replicates through the log storage account the plan assigned it, not the default account.
            logs = {item["properties"]["friendlyName"]:
                    item["properties"]["providerSpecificDetails"].get("recoveryAzureLogStorageAccountId") or ""
                    for item in protected_items(lab, vault)}
            assert {name: logs.get(name, "").rsplit("/", 1)[-1] for name in ("web01", "app01", "legacy01")} \
                == dict.fromkeys(("web01", "app01", "legacy01"), PLAN_LOG_ACCOUNT), logs
    print("README journey step times (s):\n" + "\n".join(f"{seconds:7.1f}  {command}" for command, seconds in timings))

    # The world after the journey: every host registered to the site, the wave migrated, reports where they belong.
    sites = lab.admin.get("/azure/sites")
    (site,) = [site for site in sites if site["site"] == "hyperv-site"]
    assert sorted(provider["host"] for provider in site["providers"]) == ["HV01", "HV02", "HV03"]
    plan = yaml.safe_load((work / "plan-output" / "plan.yml").read_text())
    assert [wave["name"] for wave in plan["waves"]] == ["wave-01"]
    assert {vm["name"] for vm in plan["waves"][0]["vms"]} == {"web01", "app01", "legacy01"}
    reports = work / "azmigrate-reports"
    cutover = json.loads((reports / "cutover-wave-01.json").read_text())
    assert cutover["failed"] == 0 and {vm["vm"] for vm in cutover["vms"]} == {"web01", "app01", "legacy01"}
    assert json.loads((reports / "test_migration-wave-01.json").read_text())["failed"] == 0
    status = (reports / "status.md").read_text()
    assert re.search(r"Generated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status), status
    for name in ("web01", "app01", "legacy01"):
        assert re.search(rf"^\| {name} \| - \| migrated \|", status, re.MULTILINE), status
    assert "3 migrated" in status


def test_a_wave_that_is_not_in_the_plan_is_refused_listing_the_waves(clean_install, tmp_path):
    plan = tmp_path / "plan.yml"
    plan.write_text(yaml.safe_dump({"waves": [{"name": "wave-01", "vms": [{"name": "web01"}]},
                                              {"name": "wave-02", "vms": [{"name": "app01"}]}]}))
    for playbook in ("replicate", "test_migration", "cutover"):
        completed = run([f"{clean_install['venv']}/bin/ansible-playbook", f"azmigrate.hyperv.{playbook}",
                         "-e", f"@{plan}", "-e", "wave=wave-1"], env=clean_install["env"], cwd=tmp_path, timeout=120)
        assert completed.returncode != 0, output(completed)
        assert "There is no wave wave-1 in the plan. Give wave, one of: wave-01, wave-02" in completed.stdout, output(completed)
        assert "No first item" not in completed.stdout + completed.stderr


def test_status_without_its_vault_says_which_variables_it_needs(clean_install, tmp_path):
    completed = run([f"{clean_install['venv']}/bin/ansible-playbook", "azmigrate.hyperv.status"],
                    env=clean_install["env"], cwd=tmp_path, timeout=120)
    assert completed.returncode != 0
    assert "Give status_resource_group and status_vault_name" in completed.stdout, output(completed)
    assert "is undefined" not in completed.stdout


def test_host_modules_refuse_become_before_anything_reaches_the_host(clean_install, journey_lab):
    """Windows become (runas) does not apply to the raw command a host module sends: refused, not ignored."""
    before = journey_lab.admin.last_seq()
    completed = run([f"{clean_install['venv']}/bin/ansible", "HV01", "-i", str(journey_lab.inventory),
                     "-m", "azmigrate.hyperv.host_info", "--become"], env=clean_install["env"], timeout=120)
    assert completed.returncode != 0, output(completed)
    assert "does not support become" in completed.stdout and "ansible_user" in completed.stdout, output(completed)
    assert journey_lab.admin.log(host="HV01", since=before) == []
