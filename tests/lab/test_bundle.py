"""bundle/1 on a lab host over pywinrm: several host scripts in one command (lab/hosts/scripts/bundle.py).

Sent as plugins/plugin_utils/_host_script_bundle.py sends it (the bootstrap, the bundle text and one request
line per part on stdin) and read back with its parse_bundle_output, so these tests hold the lab and the
collection's bundles to each other.
"""

from __future__ import annotations

from ansible.plugins.shell.powershell import ShellModule

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScript, HostScriptError, bootstrap_command
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script_bundle import Part, build_bundle_stdin, load_bundle, parse_bundle_output
from hostscript import run_command

REPLICATION_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"


def run_bundle(lab, host, parts, bundle=None):
    """(documents or the HostScriptError, exit code, the lab's log entry) of one bundle run."""
    bundle = bundle or load_bundle(tuple(part.name for part in parts))
    since = lab.admin.last_seq()
    stdout, stderr, code = run_command(lab, host, bootstrap_command(ShellModule()), build_bundle_stdin(bundle, parts).encode())
    try:
        outcome = parse_bundle_output(parts, code, stdout.decode(), stderr.decode())
    except HostScriptError as error:
        outcome = error
    entries = lab.admin.log(host=host, since=since)
    assert len(entries) == 1, entries
    return outcome, code, entries[0]


def test_a_bundle_runs_each_part_on_its_own_request_in_one_command(lab):
    parts = [Part("host_info", {"gather_vms": False}), Part("upload_threads_read", {})]
    documents, code, entry = run_bundle(lab, "HV01", parts)
    assert code == 0
    assert documents[0]["computer_name"] == "HV01" and documents[0]["vms"] is None
    assert set(documents[1]) == {"agent", "replication_registry"}
    assert entry["name"] == "bundle/1" and entry["parts"] == ["host_info/1", "upload_threads_read/1"]
    assert entry["params"]["parts"][0]["params"] == {"gather_vms": False}


def test_a_failing_part_ends_the_bundle_and_what_follows_never_runs(lab):
    before = lab.admin.host("HV01")["registry"].get(REPLICATION_KEY)
    # No agent on HV01: the throttle cannot be set, so the threads write after it must not happen.
    parts = [Part("upload_throttle_set", {"throttle": None}), Part("upload_threads_set", {"writes": {"UploadThreadsPerVM": 9}})]
    outcome, code, entry = run_bundle(lab, "HV01", parts)
    assert isinstance(outcome, HostScriptError) and code == 1
    assert str(outcome).startswith("host script upload_throttle_set/2 failed (exit code 1): upload_throttle_set failed while")
    assert entry["parts"] == ["upload_throttle_set/2"]
    assert lab.admin.host("HV01")["registry"].get(REPLICATION_KEY) == before


def test_exit_inside_a_part_ends_powershell_and_the_later_parts_are_lost(lab):
    """Windows: exit in a script block ends powershell.exe (about_Language_Keywords), so a bundle whose parts
    kept their `exit N` lines would print the first part's result only."""
    names = ("upload_threads_read", "upload_throttle_read")
    parts = [Part(name, {}) for name in names]
    collection_bundle = load_bundle(names)
    lines = ["exit " + line[len("return "):] if line.startswith("return ") else line for line in collection_bundle.text.splitlines()]
    unrewritten = HostScript("bundle", 1, "\n".join(lines))
    outcome, code, entry = run_bundle(lab, "HV01", parts, unrewritten)
    assert isinstance(outcome, HostScriptError) and code == 0
    assert str(outcome) == "host script bundle/1 ended without a result for upload_threads_read/1"
    assert entry["parts"] == ["upload_threads_read/1"]

    documents, code, entry = run_bundle(lab, "HV01", parts, collection_bundle)
    assert code == 0 and len(documents) == 2 and entry["parts"] == ["upload_threads_read/1", "upload_throttle_read/1"]


def test_a_bundle_with_a_part_the_lab_does_not_simulate_runs_nothing(lab):
    bundle = load_bundle(("upload_threads_read",))
    text = bundle.text.replace("'azmigrate-part-end upload_threads_read/1 '", "'azmigrate-part-end upload_threads_read/7 '")
    outcome, code, entry = run_bundle(lab, "HV01", [Part("upload_threads_read", {})], HostScript("bundle", 1, text))
    assert isinstance(outcome, HostScriptError) and code == 1
    assert "no simulation of host script upload_threads_read/7" in str(outcome)
    assert entry["kind"] == "rejected"
