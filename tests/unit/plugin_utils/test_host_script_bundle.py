"""The pure parts of plugins/plugin_utils/_host_script_bundle.py: a part's body, the bundle's text and its output."""

import json

import pytest
import tree_sitter_pwsh
from tree_sitter import Language, Parser

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import CONTRACTS
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script_bundle import (
    Part,
    build_bundle_stdin,
    load_bundle,
    parse_bundle_output,
    part_body,
    split_bundle_output,
)

READS = ("host_info", "replication_provider_read", "upload_threads_read", "upload_throttle_read")
WRITES = ("replication_provider_remove", "replication_provider_apply", "upload_threads_set", "upload_throttle_set")
SOURCE = """# azmigrate-host-script: sample/1
# a comment
try {
    Write-HostScriptResult -Result @{ a = 1 }
    exit 0
}
catch {
    exit 1
}
"""


def test_a_part_returns_where_its_script_exits():
    body = part_body("sample", SOURCE)
    assert body == ["try {", "Write-HostScriptResult -Result @{ a = 1 }", "return 0", "}", "catch {", "return 1", "}"]


@pytest.mark.parametrize("line", ["if ($x) { exit 2 }", "exit $code", "Get-Item x | ForEach-Object { exit }"])
def test_a_part_with_any_other_exit_is_refused(line):
    with pytest.raises(HostScriptError, match="cannot be bundled: it uses exit"):
        part_body("sample", SOURCE.replace("    exit 0\n", f"    {line}\n    exit 0\n"))


def test_a_part_that_never_exits_with_a_code_is_refused():
    with pytest.raises(HostScriptError, match="has no line 'exit <code>'"):
        part_body("sample", "# azmigrate-host-script: sample/1\nWrite-Output 1\n")


def test_words_like_exited_or_exitcode_are_not_exits():
    body = part_body("sample", SOURCE.replace("    exit 0\n", "    $exitCode = 3\n    throw \"setup exited with $exitCode\"\n    exit 0\n"))
    assert "$exitCode = 3" in body


@pytest.mark.parametrize("names", [READS, WRITES])
def test_the_collection_s_bundles_parse_as_powershell_with_every_exit_turned_into_a_return(names):
    text = load_bundle(names).text
    tree = Parser(Language(tree_sitter_pwsh.language())).parse(text.encode())
    assert not tree.root_node.has_error
    lines = text.splitlines()
    assert lines[0] == "# azmigrate-host-script: bundle/1" and lines[-1] == "exit $bundleExit"
    # Only the prelude's trap still exits (an error nothing caught ends the process), and the bundle itself.
    assert [line for line in lines[:-1] if line.lower().startswith("exit ")] == ["exit 1"]
    ends = [line for line in lines if line.startswith("'azmigrate-part-end ")]
    assert ends == [f"'azmigrate-part-end {CONTRACTS[name].label} ' + $bundleExit" for name in names]
    # The prelude goes once, however many parts call it.
    assert sum(line == "function Get-AgentState {" for line in lines) == 1


def test_each_part_gets_its_own_request_line_with_only_its_own_secrets():
    parts = [Part("upload_threads_read", {}), Part("replication_provider_apply", {"steps": []}, {"vault_credentials": "s3cret"})]
    stdin = build_bundle_stdin(load_bundle(("upload_threads_read", "replication_provider_apply")), parts)
    requests = stdin.split("\n\0\0\0\0\n", 1)[1].split("\n")
    assert [json.loads(line) for line in requests] == [{"params": {}, "secrets": {}}, {"params": {"steps": []}, "secrets": {"vault_credentials": "s3cret"}}]


def test_the_output_splits_at_each_part_s_end_line():
    stdout = '\ufeffWARNING: x\r\n{"a":1}\r\nazmigrate-part-end host_info/1 0\r\n{"b":2}\r\nazmigrate-part-end upload_threads_read/1 0\r\n'
    assert split_bundle_output(stdout) == [("host_info/1", 0, 'WARNING: x\n{"a":1}'), ("upload_threads_read/1", 0, '{"b":2}')]
    assert parse_bundle_output([Part("host_info", {}), Part("upload_threads_read", {})], 0, stdout, "") == [{"a": 1}, {"b": 2}]


def test_a_failed_part_fails_with_its_own_label_and_message_and_secrets_masked():
    stdout = ('{"a":1}\nazmigrate-part-end upload_threads_read/1 0\n'
              '{"failed":true,"msg":"apply failed while registering with s3cret"}\nazmigrate-part-end replication_provider_apply/1 1\n')
    parts = [Part("upload_threads_read", {}), Part("replication_provider_apply", {}, {"vault_credentials": "s3cret"}), Part("upload_throttle_set", {})]
    with pytest.raises(HostScriptError) as raised:
        parse_bundle_output(parts, 1, stdout, "", [{}, {"vault_credentials": "s3cret"}, {}])
    assert str(raised.value) == "host script replication_provider_apply/1 failed (exit code 1): apply failed while registering with ********"
    assert raised.value.exit_code == 1


def test_a_bundle_that_stopped_before_a_part_ended_says_so():
    parts = [Part("upload_threads_read", {}), Part("upload_throttle_read", {})]
    with pytest.raises(HostScriptError, match=r"bundle/1 ended without a result for upload_throttle_read/1"):
        parse_bundle_output(parts, 0, '{"a":1}\nazmigrate-part-end upload_threads_read/1 0\n{"b":2}\n', "")
    with pytest.raises(HostScriptError, match=r"bundle/1 failed \(exit code 1\).*line 3: boom"):
        parse_bundle_output(parts, 1, '{"failed":true,"msg":"unexpected error at line 3: boom"}\n', "")


def test_a_part_printed_out_of_order_is_refused():
    with pytest.raises(HostScriptError, match="printed the result of upload_throttle_read/1 where upload_threads_read/1 was expected"):
        parse_bundle_output([Part("upload_threads_read", {})], 0, '{"a":1}\nazmigrate-part-end upload_throttle_read/1 0\n', "")
