"""The collection as AWX runs it: ansible-runner jobs chained by set_stats, and the execution environment's context.

AWX runs each job template through ansible-runner, in a private data directory, with the playbooks of its project
(docs/awx/project: the wrappers that make the collection's playbooks visible to job templates) and extra variables;
what a job hands on with set_stats becomes the next job's extra variables in a workflow. The test runs the replicate
job, then a cutover job that gets only the replicate job's set_stats data besides the fixed job-template variables,
against a lab of its own.

The execution environment: ``ansible-builder introspect`` on the collection installed from its artifact finds
exactly the collection's requirements.txt and bindep.txt, through meta/execution-environment.yml; ``ansible-builder
create`` (no container runtime needed) makes the build context of docs/awx/execution-environment.yml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).resolve().parents[1]
PROJECT_ROOT = TESTS.parent
for path in (str(TESTS), str(TESTS / "integration")):
    if path not in sys.path:
        sys.path.insert(0, path)

ansible_runner = pytest.importorskip("ansible_runner")

# pylint: disable=wrong-import-position
from migration_lab import TARGET_GROUP, RESOURCE_GROUP, VAULT, auth_defaults, azure_vms_named, start_lab, vm_name  # noqa: E402

DEV_BIN = Path(sys.executable).parent
WAVE_VMS = [vm_name("HVM01", 1), vm_name("HVM01", 2)]


@pytest.fixture(scope="module")
def awx_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory.mktemp("awx-lab"), hosts={"HVM01": 2})
    yield lab
    lab.stop()


def job_template_vars(lab, report_dir: Path) -> dict:
    """The variables the job templates hold (docs/awx.md: azure-vars.yml's content and azmigrate_report_dir)."""
    info = lab.info["azure"]
    return {"azmigrate_azure_auth": auth_defaults(lab), "azmigrate_report_dir": str(report_dir),
            "replicate_resource_group": RESOURCE_GROUP, "replicate_vault_name": VAULT,
            "replicate_target_resource_group": TARGET_GROUP, "replicate_target_network": info["target_network"],
            "replicate_target_subnet": "default", "replicate_log_storage_account_id": info["log_storage_account_id"],
            "replicate_os_type": "Windows", "replicate_poll_interval": 2, "replicate_timeout": 600,
            "cutover_resource_group": RESOURCE_GROUP, "cutover_vault_name": VAULT,
            "cutover_target_resource_group": TARGET_GROUP, "cutover_poll_interval": 2, "cutover_timeout": 600}


def run_job(work: Path, name: str, playbook: str, extravars: dict):
    """One AWX-style job: ansible-runner with the example project, localhost inventory, the given extra variables."""
    private = work / name
    shutil.copytree(PROJECT_ROOT / "docs" / "awx" / "project", private / "project")
    runner = ansible_runner.run(
        private_data_dir=str(private), playbook=playbook, inventory="localhost ansible_connection=local",
        extravars=extravars, quiet=True, timeout=900,
        envvars={"ANSIBLE_COLLECTIONS_PATH": str(PROJECT_ROOT / ".collections"), "ANSIBLE_NOCOLOR": "1",
                 "ANSIBLE_PYTHON_INTERPRETER": sys.executable})
    stdout = runner.stdout.read()
    stats = [event for event in runner.events if event.get("event") == "playbook_on_stats"]
    artifact = stats[-1]["event_data"].get("artifact_data", {}) if stats else {}
    return runner, stdout, artifact


def test_a_workflow_hands_the_wave_from_replicate_to_cutover_with_set_stats(awx_lab, tmp_path):
    lab = awx_lab
    lab.admin.post("/clock", {"time_scale": 600})
    report_dir = tmp_path / "reports"
    template_vars = job_template_vars(lab, report_dir)
    waves = [{"name": "wave-01", "vms": [{"name": name, "os_disk": f"{name}-os"} for name in WAVE_VMS]},
             {"name": "wave-02", "vms": [{"name": "not-this-one"}]}]

    runner, stdout, replicated = run_job(tmp_path, "replicate", "replicate.yml",
                                         {**template_vars, "waves": waves, "wave": "wave-01"})
    assert runner.status == "successful", stdout
    assert replicated["wave"] == "wave-01"
    assert [vm["name"] for vm in replicated["replicate_vms"]] == WAVE_VMS

    # The cutover job knows nothing of the plan: the workflow gives it the replicate job's set_stats.
    runner, stdout, cut_over = run_job(tmp_path, "cutover", "cutover.yml", {**template_vars, **replicated})
    assert runner.status == "successful", stdout
    verdict = cut_over["cutover_verdicts"]["wave-01"]
    assert sorted(verdict["passed_vms"]) == sorted(WAVE_VMS) and verdict["failed_vms"] == []
    assert verdict["report"] == str(report_dir / "cutover-wave-01.json")
    assert (report_dir / "cutover-wave-01.json").is_file() and (report_dir / "cutover-wave-01.xml").is_file()
    for name in WAVE_VMS:
        assert len(azure_vms_named(lab, name)) == 1, name


def test_a_failed_cutover_still_hands_its_verdict_on(awx_lab, tmp_path):
    """A VM that is not replicated fails the job; the workflow's failure path still gets the verdict."""
    template_vars = job_template_vars(awx_lab, tmp_path / "reports")
    runner, stdout, cut_over = run_job(tmp_path, "cutover", "cutover.yml",
                                       {**template_vars, "wave": "wave-09", "waves": [{"name": "wave-09", "vms": ["no-such-vm"]}]})
    assert runner.status == "failed", stdout
    assert cut_over["cutover_verdicts"]["wave-09"]["failed_vms"] == ["no-such-vm"], stdout


def collection_install(tmp_path: Path) -> Path:
    """The collection installed from its built artifact into an empty collections path (no dependencies)."""
    dist, collections = tmp_path / "dist", tmp_path / "collections"
    completed = subprocess.run([str(DEV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist),
                                str(PROJECT_ROOT)], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (artifact,) = dist.glob("azmigrate-hyperv-*.tar.gz")
    completed = subprocess.run([str(DEV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "--offline", "--force",
                                "-p", str(collections), str(artifact)], capture_output=True, text=True, timeout=120,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return collections


def requirement_lines(path: Path) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines() if line.split("#", 1)[0].strip()]


def test_the_execution_environment_gets_exactly_the_collections_requirements(tmp_path):
    collections = collection_install(tmp_path)
    completed = subprocess.run([str(DEV_BIN / "ansible-builder"), "introspect", str(collections)],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    found = yaml.safe_load(completed.stdout.split("\n", 1)[1])

    def ours(entries):
        return [entry.split("  # from collection ")[0] for entry in entries
                if entry.endswith("# from collection azmigrate.hyperv")]

    assert ours(found["python"]) == requirement_lines(PROJECT_ROOT / "requirements.txt")
    assert ours(found["system"]) == requirement_lines(PROJECT_ROOT / "bindep.txt")
    # What only the tests need stays out of the image: the lab's KDC, the Site Recovery SDK, the community package.
    everything = " ".join(found["python"] + found["system"])
    for test_only in ("krb5-kdc", "krb5-admin-server", "azure-mgmt-recoveryservicessiterecovery", "ansible>=", "pytest"):
        assert test_only not in everything


def test_ansible_builder_creates_the_build_context_of_the_example(tmp_path):
    context = tmp_path / "context"
    completed = subprocess.run([str(DEV_BIN / "ansible-builder"), "create", "-f",
                                str(PROJECT_ROOT / "docs" / "awx" / "execution-environment.yml"), "-c", str(context)],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # Containerfile for podman, Dockerfile when the default runtime is docker.
    (containerfile,) = [path.read_text() for path in (context / "Containerfile", context / "Dockerfile") if path.exists()]
    assert "introspect" in containerfile and "install-from-bindep" in containerfile
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {entry["name"] for entry in galaxy["collections"]} == {"azmigrate.hyperv", "ansible.windows"}
