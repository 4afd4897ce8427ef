"""The host-script runner's pure parts: preparing a script, and reading what it printed."""

import base64
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.plugins.shell.powershell import ShellModule

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _host_script as host_script
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import CONTRACTS
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import (
    BOOTSTRAP,
    MAX_COMMAND_CHARS,
    PRELUDE_NAME,
    SCRIPT_END,
    HostScript,
    HostScriptError,
    bootstrap_command,
    build_request,
    build_stdin,
    check_document,
    decode_clixml,
    failure_result,
    find_json_document,
    load_host_script,
    parse_host_script_output,
    prepare_script,
    redact,
    split_prelude,
)

SCRIPT = HostScript(name="probe", version=3, text="# azmigrate-host-script: probe/3\n$x = 1")

CLIXML_ERROR = (
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>'
    '<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj>'
    '<S S="Error">Get-VM : You do not have the required permission_x000D__x000A_</S>'
    '<S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>'
)


# --- preparing a script -------------------------------------------------------------------------

def test_prepare_keeps_marker_and_drops_comments_indentation_and_blank_lines():
    source = "# azmigrate-host-script: probe/2\n# why this works\n\n    $a = 1  \n    # indented comment\n\t$b = 2 # trailing comment stays\n"
    script = prepare_script(source, "probe")
    assert script == HostScript(name="probe", version=2, text="# azmigrate-host-script: probe/2\n$a = 1\n$b = 2 # trailing comment stays")
    assert script.label == "probe/2"


def test_prepare_keeps_comment_like_lines_inside_here_strings():
    source = "# azmigrate-host-script: probe/1\n$text = @'\n# not a comment\n'@\n# a comment\n$doc = @\"\n#also kept\n\"@\n"
    assert prepare_script(source, "probe").text == "# azmigrate-host-script: probe/1\n$text = @'\n# not a comment\n'@\n$doc = @\"\n#also kept\n\"@"


@pytest.mark.parametrize(
    "first_line, expected",
    [
        ("$x = 1", "must start with the line '# azmigrate-host-script: probe/<version>'"),
        ("# azmigrate-host-script: probe", "must start with the line"),
        ("# azmigrate-host-script: probe/v1", "must start with the line"),
        ("# azmigrate-host-script: other/1", "is marked as 'other', not 'probe'"),
    ],
)
def test_prepare_refuses_a_missing_or_wrong_marker(first_line, expected):
    with pytest.raises(HostScriptError, match=expected):
        prepare_script(first_line + "\n$x = 1\n", "probe")


def test_prepare_refuses_an_empty_file():
    with pytest.raises(HostScriptError, match="must start with the line"):
        prepare_script("", "probe")


def test_prepare_refuses_non_ascii_script_text():
    with pytest.raises(HostScriptError, match=r"probe/1 holds the non-ASCII character 'ü' .*write it as \[char\]0x00FC"):
        prepare_script("# azmigrate-host-script: probe/1\n$name = 'Prüf'\n", "probe")


def test_script_size_has_no_limit_as_it_travels_on_stdin():
    body = "x" * 200_000
    assert len(prepare_script("# azmigrate-host-script: probe/1\n" + body, "probe").text) > 200_000


SHIPPED_SCRIPTS = sorted(path.stem for path in Path(host_script.HOST_SCRIPTS_DIR).glob("*.ps1") if path.stem != PRELUDE_NAME)
PRELUDE_SOURCE = (Path(host_script.HOST_SCRIPTS_DIR) / f"{PRELUDE_NAME}.ps1").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SHIPPED_SCRIPTS)
def test_every_shipped_script_loads_as_ascii_without_comments(name):
    script = load_host_script(name)
    assert script.name == name
    assert "\n#" not in script.text
    assert script.text.isascii()


@pytest.mark.parametrize("name", SHIPPED_SCRIPTS)
def test_no_script_hands_the_request_to_a_cmdlet(name):
    """Module Logging (event 4103) records cmdlet parameters: the request, secrets included, is parsed with .NET."""
    text = load_host_script(name).text
    assert "convertfrom-json" not in text.lower()
    assert "JavaScriptSerializer" in text and ".DeserializeObject(" in text


@pytest.mark.parametrize("name", SHIPPED_SCRIPTS)
def test_every_script_writes_its_documents_ascii_escaped_and_traps_uncaught_errors(name):
    lines = load_host_script(name).text.splitlines()
    assert "[regex]::Replace($json, '[^\\x00-\\x7F]', { param($match) '\\u{0:x4}' -f [int][char]$match.Value })" in lines
    assert "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false" in lines
    assert lines[lines.index("trap {") + 2] == "exit 1"


def _command_and_stdin(script):
    """What run_host_script hands to _low_level_execute_command for ``script``, over Ansible's real PowerShell shell."""
    action = FakeAction(ShellModule(), '{"ok": true}')
    host_script.run_host_script(action, script, {"gather_vms": True}, {"password": "p"})
    return action.calls[0]["cmd"], action.calls[0]["in_data"]


def test_the_command_line_stays_short_and_fixed_for_every_script_and_a_100_kb_one(monkeypatch):
    synthetic = HostScript(name="synthetic", version=1, text="# azmigrate-host-script: synthetic/1\n" + "$x = 1\n" * 20_000)
    assert len(synthetic.text) > 100_000
    real_load = host_script.load_host_script
    monkeypatch.setattr(host_script, "load_host_script", lambda name: synthetic if name == "synthetic" else real_load(name))

    commands = {name: _command_and_stdin(name)[0] for name in [*SHIPPED_SCRIPTS, "synthetic"]}
    longest = max(commands, key=lambda name: len(commands[name]))
    print(f"longest command line: {longest}, {len(commands[longest])} characters")
    # cmd.exe refuses more than 8,191 characters; the command is the same bootstrap whatever the script's size.
    assert len(commands[longest]) <= 1000 < MAX_COMMAND_CHARS
    assert len(set(commands.values())) == 1
    assert commands["host_info"] == bootstrap_command(ShellModule())


def test_stdin_carries_the_script_then_the_nul_line_then_the_request():
    command, stdin = _command_and_stdin("host_info")
    script_text, separator, request = stdin.partition(f"\n{SCRIPT_END}\n")
    assert separator
    assert script_text == load_host_script("host_info").text
    assert json.loads(request) == {"params": {"gather_vms": True}, "secrets": {"password": "p"}}
    assert base64.b64decode(command.rpartition(" -EncodedCommand ")[2]).decode("utf-16-le") == BOOTSTRAP


def test_a_leading_byte_order_mark_is_dropped():
    assert find_json_document('\ufeff{"a": 1}\r\n') == ({"a": 1}, [])
    assert find_json_document('\ufeffWARNING: x\r\n{"a": 1}') == ({"a": 1}, ["WARNING: x"])


def test_the_bootstrap_reads_to_the_nul_line_and_pipes_the_rest_to_the_script():
    lines = BOOTSTRAP.splitlines()
    assert '"`0`0`0`0"' in BOOTSTRAP and "$input" in BOOTSTRAP
    assert "$r|&([ScriptBlock]::Create($c.ToString()))" in lines
    # A script's exit N ends the process; the fallback keeps N should it only end the ScriptBlock.
    assert lines[-1] == "exit $LASTEXITCODE"


# --- the prelude ----------------------------------------------------------------------------------

PROBE_PRELUDE = """# the prelude
$ErrorActionPreference = 'Stop'

# reads
function Get-One {
    param($X)
    if ($X) {
        Get-Two
    }
}

function Get-Two {
    'two'
}

function Get-Unused {
    'never sent'
}
"""


def test_prelude_goes_right_after_the_marker_with_only_the_functions_called():
    script = prepare_script("# azmigrate-host-script: probe/1\n# a comment\n$v = get-one -X 1\n", "probe", PROBE_PRELUDE)
    assert script.text == (
        "# azmigrate-host-script: probe/1\n"
        "$ErrorActionPreference = 'Stop'\n"
        "function Get-One {\nparam($X)\nif ($X) {\nGet-Two\n}\n}\n"
        "function Get-Two {\n'two'\n}\n"
        "$v = get-one -X 1"
    )


def test_prelude_functions_are_matched_by_whole_name():
    script = prepare_script("# azmigrate-host-script: probe/1\nGet-Unused-Not\n$Get-Two = 1\n", "probe", PROBE_PRELUDE)
    assert "function" not in script.text


def test_a_malformed_prelude_is_refused():
    with pytest.raises(HostScriptError, match="ends inside a function"):
        prepare_script("# azmigrate-host-script: probe/1\nGet-One\n", "probe", "function Get-One {\n    'one'\n  }\n")
    with pytest.raises(HostScriptError, match="defines Get-One twice"):
        prepare_script("# azmigrate-host-script: probe/1\nGet-One\n", "probe", "function Get-One {\n}\nfunction Get-One {\n}\n")


def test_the_prelude_is_not_a_host_script():
    with pytest.raises(HostScriptError, match="is the prelude of the host scripts, not a host script"):
        load_host_script(PRELUDE_NAME)


@pytest.mark.parametrize("name", SHIPPED_SCRIPTS)
def test_every_shipped_script_is_sent_with_the_prelude_after_its_marker(name):
    lines = load_host_script(name).text.splitlines()
    assert lines[0] == f"# azmigrate-host-script: {name}/{CONTRACTS[name].version}"
    assert lines[1] == "$ErrorActionPreference = 'Stop'"
    assert "function Read-HostScriptRequest {" in lines and "function Write-HostScriptFailure {" in lines


@pytest.mark.parametrize("name", SHIPPED_SCRIPTS)
def test_no_shipped_script_defines_a_prelude_function_again(name):
    source = (Path(host_script.HOST_SCRIPTS_DIR) / f"{name}.ps1").read_text(encoding="utf-8")
    own = {line.split()[1].lower() for line in source.splitlines() if line.startswith("function ")}
    assert not own & {function.lower() for function in split_prelude(PRELUDE_SOURCE)[1]}


def test_loading_an_unknown_script_names_the_file():
    with pytest.raises(HostScriptError, match=r"cannot read host script .*no_such_script\.ps1"):
        load_host_script("no_such_script")


def test_the_request_is_one_ascii_json_document_with_params_and_secrets():
    assert json.loads(build_request({"gather_vms": False})) == {"params": {"gather_vms": False}, "secrets": {}}
    assert json.loads(build_request({"a": 1}, {"password": "p"})) == {"params": {"a": 1}, "secrets": {"password": "p"}}
    assert build_request({"vm": "Prüf-VM テスト"}).isascii()


def test_stdin_is_the_script_the_nul_line_and_the_request():
    assert build_stdin(SCRIPT, {"a": 1}) == SCRIPT.text + "\n\0\0\0\0\n" + '{"params": {"a": 1}, "secrets": {}}'


# --- reading the output -------------------------------------------------------------------------

def test_a_clean_document_is_returned_with_no_stray_lines():
    document, stray = parse_host_script_output(SCRIPT, 0, '{"answer": 42}\r\n', "")
    assert (document, stray) == ({"answer": 42}, [])


def test_text_around_the_document_is_returned_as_stray_lines():
    stdout = 'WARNING: The names of some imported commands include unapproved verbs.\r\n{"answer": 42}\r\ntrailing\r\n'
    document, stray = parse_host_script_output(SCRIPT, 0, stdout, "")
    assert document == {"answer": 42}
    assert stray == ["WARNING: The names of some imported commands include unapproved verbs.", "trailing"]


def test_find_json_document_takes_the_last_object_line():
    assert find_json_document('{"first": 1}\n{"second": 2}') == ({"second": 2}, ['{"first": 1}'])
    assert find_json_document("[1, 2]") == (None, ["[1, 2]"])
    assert find_json_document("  \n ") == (None, [])


def test_failure_message_names_script_exit_code_and_the_scripts_msg():
    stdout = json.dumps({"failed": True, "msg": "host_info failed while reading services: Access is denied"})
    with pytest.raises(HostScriptError) as caught:
        parse_host_script_output(SCRIPT, 1, stdout, CLIXML_ERROR)
    assert str(caught.value) == "host script probe/3 failed (exit code 1): host_info failed while reading services: Access is denied"
    assert (caught.value.script, caught.value.exit_code) == ("probe/3", 1)


def test_failed_true_with_exit_code_zero_is_still_a_failure():
    with pytest.raises(HostScriptError, match=r"^host script probe/3 failed \(exit code 0\): half done$"):
        parse_host_script_output(SCRIPT, 0, '{"failed": true, "msg": "half done"}', "")


def test_non_json_failure_quotes_stderr_decoded_from_clixml():
    with pytest.raises(HostScriptError) as caught:
        parse_host_script_output(SCRIPT, 1, "", CLIXML_ERROR)
    assert str(caught.value) == (
        "host script probe/3 failed (exit code 1) and printed no JSON result: "
        "Get-VM : You do not have the required permission\nAt line:1 char:1"
    )


def test_non_json_failure_without_stderr_quotes_stdout():
    with pytest.raises(HostScriptError, match=r"printed no JSON result: The term 'Get-VM' is not recognized"):
        parse_host_script_output(SCRIPT, 1, "The term 'Get-VM' is not recognized\r\n", "")


def test_failure_without_any_output_says_so():
    with pytest.raises(HostScriptError, match=r"failed \(exit code 255\) and printed no JSON result: no output on stdout or stderr$"):
        parse_host_script_output(SCRIPT, 255, "", "")


def test_success_without_a_document_is_an_error():
    with pytest.raises(HostScriptError, match=r"^host script probe/3 exited with code 0 but printed no JSON object: garbage$"):
        parse_host_script_output(SCRIPT, 0, "garbage", "")


def test_long_stderr_is_cut_to_its_end():
    stderr = "noise " * 1000 + "the real error"
    with pytest.raises(HostScriptError) as caught:
        parse_host_script_output(SCRIPT, 1, "", stderr)
    message = str(caught.value)
    assert message.endswith("the real error")
    assert "..." in message
    assert len(message) < host_script.MAX_EXCERPT_CHARS + 100


def test_secrets_never_reach_the_message():
    secrets = {"vault_credentials": "PFZhdWx0Q3JlZHM+c2VjcmV0", "sas": {"url": "https://x.blob.core.windows.net/c/f?sig=abc%2Fdef"}}
    stdout = json.dumps({"failed": True, "msg": "cannot download https://x.blob.core.windows.net/c/f?sig=abc%2Fdef"})
    stderr = "ConvertFrom-Json : Invalid JSON primitive: PFZhdWx0Q3JlZHM+c2VjcmV0"
    for out, err in ((stdout, ""), ("", stderr)):
        with pytest.raises(HostScriptError) as caught:
            parse_host_script_output(SCRIPT, 1, out, err, secrets)
        assert "sig=abc" not in str(caught.value)
        assert "PFZhdWx0" not in str(caught.value)
        assert host_script.REDACTED in str(caught.value)


def test_redact_masks_the_longest_secret_whole():
    assert redact("token abcdef and abc", {"short": "abc", "long": "abcdef", "empty": "", "number": 7}) == "token ******** and ********"


# --- CLIXML ---------------------------------------------------------------------------------------

def test_decode_clixml_keeps_text_streams_and_drops_progress():
    assert decode_clixml(CLIXML_ERROR) == "Get-VM : You do not have the required permission\nAt line:1 char:1"


def test_decode_clixml_joins_escaped_surrogate_pairs():
    stderr = '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">disk _xD83D__xDCBE_ full</S></Objs>'
    assert decode_clixml(stderr) == "disk \U0001F4BE full"


def test_decode_clixml_leaves_plain_text_and_broken_xml_alone():
    assert decode_clixml("plain error text") == "plain error text"
    broken = '#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">unterminated</Objs>'
    assert decode_clixml(broken) == '<Objs Version="1.1.0.1"><S S="Error">unterminated</Objs>'


# --- the steps the host action plugins share --------------------------------------------------------

def test_check_document_returns_a_document_of_the_script_s_contract():
    document = {"agent": None, "throttle": None}
    assert check_document(HostScript("upload_throttle_read", 1, ""), document) is document


def test_check_document_names_the_script_and_the_mismatches():
    with pytest.raises(HostScriptError) as caught:
        check_document(HostScript("upload_throttle_read", 1, ""), {"agent": None, "extra": 1})
    assert str(caught.value) == (
        "host script upload_throttle_read/1 returned a document outside its contract (docs/host-scripts.md): missing throttle, unexpected extra"
    )
    assert (caught.value.script, caught.value.exit_code) == ("upload_throttle_read/1", None)


def test_check_document_refuses_a_script_whose_version_has_no_contract():
    for script, known in ((HostScript("upload_throttle_read", 2, ""), "only upload_throttle_read/1"), (HostScript("probe", 3, ""), "none")):
        with pytest.raises(HostScriptError) as caught:
            check_document(script, {"agent": None, "throttle": None})
        assert str(caught.value) == f"host script {script.label} has no contract in _host_contracts.py ({known})"


def test_failure_result_carries_rc_only_when_the_script_exited():
    assert failure_result(HostScriptError("boom", script="probe/3", exit_code=2)) == {"failed": True, "msg": "boom", "rc": 2}
    assert failure_result(HostScriptError("outside", script="probe/3")) == {"failed": True, "msg": "outside"}


# --- the one call to the connection ---------------------------------------------------------------

class FakeShell:
    """Records what the runner asks the PowerShell shell plugin to encode."""

    def __init__(self):
        self.encoded = []

    def _encode_script(self, script, strict_mode=True, preserve_rc=True):
        self.encoded.append((script, strict_mode, preserve_rc))
        return "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand QQA="


class FakeAction:
    def __init__(self, shell, stdout, rc=0, stderr=""):
        self._connection = SimpleNamespace(_shell=shell)
        self._play_context = SimpleNamespace(remote_addr="hv01")
        self.calls = []
        self._result = {"rc": rc, "stdout": stdout, "stderr": stderr}

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None):
        self.calls.append({"cmd": cmd, "sudoable": sudoable, "in_data": in_data})
        return self._result


def test_run_sends_the_bootstrap_as_command_and_script_params_and_secrets_on_stdin_only():
    shell = FakeShell()
    action = FakeAction(shell, '{"ok": true}')
    document = host_script.run_host_script(action, "host_info", {"gather_vms": True}, {"password": "hunter2"})

    assert document == {"ok": True}
    assert shell.encoded == [(BOOTSTRAP, False, False)]
    assert len(action.calls) == 1
    call = action.calls[0]
    assert "hunter2" not in call["cmd"]
    assert call["in_data"] == build_stdin(load_host_script("host_info"), {"gather_vms": True}, {"password": "hunter2"})
    assert call["sudoable"] is False


def test_run_refuses_a_connection_without_the_powershell_shell():
    action = FakeAction(SimpleNamespace(SHELL_FAMILY="sh"), "{}")
    with pytest.raises(HostScriptError, match=r"needs a Windows host reached with the PowerShell shell, but the connection uses the 'sh' shell"):
        host_script.run_host_script(action, "host_info", {})
    assert action.calls == []


def test_become_is_refused_before_anything_reaches_the_host():
    """A raw command cannot be run through Windows become (runas): refusing beats running as another user."""
    action = FakeAction(ShellModule(), '{"ok": true}')
    action._play_context.become = True
    action._play_context.become_method = "runas"
    with pytest.raises(HostScriptError, match=r"does not support become \(become_method runas\).*ansible_user") as raised:
        host_script.run_host_script(action, "host_info", {"gather_vms": True}, {"password": "hunter2"})
    assert action.calls == []
    assert "hunter2" not in str(raised.value)


def test_without_become_the_script_runs():
    action = FakeAction(ShellModule(), '{"ok": true}')
    action._play_context.become = False
    assert host_script.run_host_script(action, "host_info", {"gather_vms": True}) == {"ok": True}
    assert len(action.calls) == 1


# --- the language-mode guard ----------------------------------------------------------------------

GUARD_DOCUMENT = '{"failed":true,"msg":"language mode ConstrainedLanguage"}\r\n'


def test_the_guard_is_the_bootstrap_s_first_statements_before_any_dotnet_call():
    """ConstrainedLanguage refuses New-Object and method calls on all but core types: nothing of that may come first."""
    lines = BOOTSTRAP.splitlines()
    guard = list(host_script.LANGUAGE_MODE_GUARD)
    assert lines[:len(guard)] == guard
    assert guard[0] == '$m="$($ExecutionContext.SessionState.LanguageMode)"'
    assert guard[1].startswith('if($m -ne "FullLanguage"){') and guard[1].endswith(";exit 1}")
    guard_text = "\n".join(guard)
    for blocked in ("New-Object", "]::", ".AppendLine(", ".Add(", ".ToString("):
        assert blocked not in guard_text
    assert "New-Object" in lines[len(guard)]


def test_the_guard_prints_the_failure_document_the_controller_reads():
    printed = host_script.LANGUAGE_MODE_GUARD[1].split("{", 1)[1].split(";exit")[0]
    document = printed.strip('"').replace('`"', '"').replace("$m", "ConstrainedLanguage")
    assert json.loads(document) == {"failed": True, "msg": "language mode ConstrainedLanguage"}
    assert host_script.refused_language_mode(1, document) == "ConstrainedLanguage"


def test_the_bootstrap_with_its_guard_still_fits_the_command_line_budget():
    command = bootstrap_command(ShellModule())
    assert len(command) <= 1000 < MAX_COMMAND_CHARS
    assert base64.b64decode(command.rpartition(" -EncodedCommand ")[2]).decode("utf-16-le") == BOOTSTRAP


@pytest.mark.parametrize("exit_code, stdout", [
    (0, '{"failed":true,"msg":"language mode ConstrainedLanguage"}'),     # exit 1 always comes with the guard's document
    (1, '{"failed":true,"msg":"host_info failed: language mode unknown"}'),
    (1, '{"failed":true,"msg":"language mode"}'),
    (1, '{"msg":"language mode ConstrainedLanguage"}'),
    (1, ""),
])
def test_a_script_s_own_failure_is_not_taken_for_the_guard(exit_code, stdout):
    assert host_script.refused_language_mode(exit_code, stdout) is None


def test_a_host_in_constrained_language_fails_the_run_naming_the_host_and_the_mode():
    action = FakeAction(ShellModule(), GUARD_DOCUMENT, rc=1)
    action._host = "HV01"
    with pytest.raises(HostScriptError) as raised:
        host_script.run_host_script(action, "host_info", {"gather_vms": True}, {"password": "hunter2"})
    message = str(raised.value)
    assert message.startswith("host HV01 (hv01) runs Windows PowerShell in ConstrainedLanguage mode, but the collection's host scripts need FullLanguage")
    assert "WDAC" in message and "AppLocker" in message and "nothing was run" in message
    assert "hunter2" not in message and "host_info" not in message
    assert failure_result(raised.value) == {"failed": True, "msg": message, "rc": 1}
    assert len(action.calls) == 1


def test_a_bundle_on_a_host_in_constrained_language_fails_the_same_way():
    from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script_bundle import Part, run_host_script_bundle

    action = FakeAction(ShellModule(), GUARD_DOCUMENT, rc=1)
    with pytest.raises(HostScriptError, match=r"^host hv01 runs Windows PowerShell in ConstrainedLanguage mode"):
        run_host_script_bundle(action, [Part("upload_threads_read", {})])
    assert len(action.calls) == 1
