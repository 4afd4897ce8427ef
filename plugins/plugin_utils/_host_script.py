# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Run one host script (``plugins/plugin_utils/host_scripts/<name>.ps1``) on a Windows host.

The protocol is docs/host-scripts.md: the command line is a short fixed bootstrap (BOOTSTRAP, encoded by
the connection's PowerShell shell as ``-EncodedCommand``); standard input carries the script text, a line
of four NUL characters, then the request ``{"params": ..., "secrets": ...}``. The bootstrap runs the
script with the request as its pipeline input, and the script prints one JSON document; exit code 0 on
success, non-zero with ``{"failed": true, "msg": ...}`` on failure. What every script shares (reading the
request, writing the result or the failure, the agent, the throttle) is the prelude,
``host_scripts/prelude.ps1``, which is sent inside each script, right after its marker line. Everything
but the one call to the connection is a pure function, tested in tests/unit/plugin_utils/test_host_script.py.

Besides the runner, the steps the host action plugins share: a script's document checked against its
contract in _host_contracts.py (``run_checked_host_script``) and a failure turned into the task's result
(``failure_result``).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import json
import os
import re
import typing as t
import xml.etree.ElementTree as ET

from ansible.utils.display import Display

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._document_schema import schema_mismatches
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import CONTRACTS

if t.TYPE_CHECKING:
    from ansible.plugins.action import ActionBase

display = Display()

HOST_SCRIPTS_DIR = os.path.join(os.path.dirname(__file__), "host_scripts")

# The prelude's file name (without .ps1) under HOST_SCRIPTS_DIR: not a host script, so it has no marker.
PRELUDE_NAME = "prelude"

# The command line of every host script, under 1,000 characters: cmd.exe refuses more than 8,191 (KB 830473)
# and -EncodedCommand costs 8/3 per character, so the script travels on stdin (docs/host-scripts.md, "One call").
# The guard comes first: under WDAC or AppLocker enforcement PowerShell runs a command line in ConstrainedLanguage,
# where New-Object and method calls work only on core types (about_Language_Modes), so the bootstrap would fail at
# its first New-Object and a script at its first .NET call, perhaps after changing something. The guard only reads
# the mode and compares a string (allowed there, as in Ansible's bootstrap_wrapper.ps1); outside FullLanguage it
# prints {"failed": true, "msg": "language mode <mode>"}, exits 1, and run_bootstrap words the task's message.
# Then: the script text from stdin up to the NUL line, the request lines piped to it as a ScriptBlock, and
# "exit $LASTEXITCODE" to keep the script's exit N should that only end the ScriptBlock (about_Language_Keywords).
LANGUAGE_MODE_GUARD = (
    '$m="$($ExecutionContext.SessionState.LanguageMode)"',
    'if($m -ne "FullLanguage"){"{`"failed`":true,`"msg`":`"language mode $m`"}";exit 1}',
)
BOOTSTRAP = "\n".join((
    *LANGUAGE_MODE_GUARD,
    "$c=New-Object Text.StringBuilder",
    "$r=@()",
    "$s=0",
    'foreach($l in $input){if($s){$r+=$l}elseif($l -eq "`0`0`0`0"){$s=1}else{[void]$c.AppendLine($l)}}',
    "$r|&([ScriptBlock]::Create($c.ToString()))",
    "exit $LASTEXITCODE",
))

# The line that ends the script text on stdin (the separator of Ansible's bootstrap_wrapper.ps1).
SCRIPT_END = "\0\0\0\0"

# cmd.exe's limit on a command line (KB 830473); the bootstrap command stays far below it.
MAX_COMMAND_CHARS = 8191

# Longest excerpt of stderr or stdout a failure message quotes.
MAX_EXCERPT_CHARS = 2000

REDACTED = "********"

MARKER_PATTERN = re.compile(r"^# azmigrate-host-script: (?P<name>[a-z0-9_]+)/(?P<version>[0-9]+)$")

# In the prelude a function starts with this line and ends with a line "}", both at column 0.
PRELUDE_FUNCTION_START = re.compile(r"^function (?P<name>[A-Za-z]+-[A-Za-z0-9]+) \{$")

CLIXML_HEADER = "#< CLIXML"

# How PowerShell escapes characters in serialized strings: _xHHHH_ is one UTF-16 code unit.
CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")

# The msg of the bootstrap's language-mode guard (BOOTSTRAP): "language mode <mode>".
LANGUAGE_MODE_MSG = re.compile(r"^language mode (?P<mode>[A-Za-z]+)$")


class HostScriptError(Exception):
    """A host script could not be prepared, sent, or reported a failure.

    The message names the script and version, the exit code and what the script said; it never
    holds a value from the script's secrets.
    """

    def __init__(self, message: str, script: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        self.script = script
        self.exit_code = exit_code


@dataclasses.dataclass(frozen=True)
class HostScript:
    """A host script as it is sent: marker first, comments removed, lines stripped."""

    name: str
    version: int
    text: str

    @property
    def label(self) -> str:
        """``name/version``, as in the marker line."""
        return f"{self.name}/{self.version}"


def sendable_lines(lines: t.Iterable[str]) -> list[str]:
    """``lines`` as sent: full-line ``#`` comments removed, lines stripped, blank lines dropped.

    Lines inside here-strings are kept as they are, comment-like or not.
    """
    kept = []
    in_here_string = False
    for line in lines:
        stripped = line.strip()
        if in_here_string:
            in_here_string = not stripped.startswith(("'@", '"@'))
        elif stripped.startswith("#"):
            continue
        elif stripped.endswith(("@'", '@"')):
            in_here_string = True
        if stripped:
            kept.append(stripped)
    return kept


def split_prelude(prelude: str) -> tuple[list[str], dict[str, list[str]]]:
    """The prelude's lines outside functions, and each function's lines by name, in the prelude's order."""
    outside: list[str] = []
    functions: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in prelude.splitlines():
        start = PRELUDE_FUNCTION_START.match(line) if current is None else None
        if start:
            if start.group("name") in functions:
                raise HostScriptError(f"host script prelude {PRELUDE_NAME}.ps1 defines {start.group('name')} twice")
            current = functions[start.group("name")] = []
        if current is None:
            outside.append(line)
            continue
        current.append(line)
        if line.rstrip() == "}":
            current = None
    if current is not None:
        raise HostScriptError(f"host script prelude {PRELUDE_NAME}.ps1 ends inside a function: close it with a line '}}' at column 0")
    return outside, functions


def _called(text: str, names: t.Iterable[str]) -> set[str]:
    """The names of ``names`` that ``text`` mentions as a command (PowerShell names ignore case)."""
    return {name for name in names if re.search(rf"(?<![\w$-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)}


def prelude_for(body: list[str], prelude: str) -> list[str]:
    """The lines of ``prelude`` that a script whose sendable lines are ``body`` is sent with.

    Its lines outside functions always, and each function the script calls, directly or through another
    prelude function; so a script pays against the size limit only for what it uses.
    """
    outside, functions = split_prelude(prelude)
    sent = {name: sendable_lines(lines) for name, lines in functions.items()}
    wanted: set[str] = set()
    pending = _called("\n".join(body + sendable_lines(outside)), sent)
    while pending:
        name = pending.pop()
        wanted.add(name)
        pending |= _called("\n".join(sent[name][1:]), sent) - wanted
    return sendable_lines(outside) + [line for name in sent if name in wanted for line in sent[name]]


def prepare_script(source: str, name: str, prelude: str = "") -> HostScript:
    """Check the marker and the characters of a host script's source and return the text to send.

    Full-line ``#`` comments other than the marker are removed (they only cost bytes on the wire), and
    lines are stripped with blank lines dropped. The text must be ASCII. Lines inside here-strings are
    kept as they are, comment-like or not. What the script needs of ``prelude`` (prelude_for) goes
    right after the marker line, prepared the same way.
    """
    lines = source.splitlines()
    marker = lines[0].strip() if lines else ""
    match = MARKER_PATTERN.match(marker)
    if not match:
        raise HostScriptError(f"host script {name}.ps1 must start with the line '# azmigrate-host-script: {name}/<version>', found {marker[:80]!r}")
    if match.group("name") != name:
        raise HostScriptError(f"host script {name}.ps1 is marked as {match.group('name')!r}, not {name!r}")

    body = sendable_lines(lines[1:])
    kept = [marker] + (prelude_for(body, prelude) if prelude else []) + body

    script = HostScript(name=name, version=int(match.group("version")), text="\n".join(kept))
    # powershell.exe reads stdin in the console's input code page, which differs between hosts: only
    # ASCII arrives the same everywhere (non-ASCII data belongs in the request, which json.dumps escapes).
    non_ascii = next((char for char in script.text if ord(char) > 0x7F), None)
    if non_ascii is not None:
        line = next(line for line in script.text.splitlines() if non_ascii in line)
        raise HostScriptError(
            f"host script {script.label} holds the non-ASCII character {non_ascii!r} (line {line[:80]!r}): "
            f"write it as [char]0x{ord(non_ascii):04X} or pass it in the request",
            script=script.label,
        )
    return script


def _read_host_script_file(name: str) -> str:
    path = os.path.join(HOST_SCRIPTS_DIR, f"{name}.ps1")
    try:
        with open(path, encoding="utf-8-sig") as script_file:
            return script_file.read()
    except OSError as error:
        raise HostScriptError(f"cannot read host script {path}: {error.strerror}") from error


@functools.lru_cache(maxsize=None)
def load_host_script(name: str) -> HostScript:
    """Read and prepare ``host_scripts/<name>.ps1`` with the prelude it needs (once per process)."""
    if name == PRELUDE_NAME:
        raise HostScriptError(f"{PRELUDE_NAME}.ps1 is the prelude of the host scripts, not a host script")
    source = _read_host_script_file(name)
    return prepare_script(source, name, _read_host_script_file(PRELUDE_NAME))


def build_request(params: t.Mapping[str, t.Any], secrets: t.Mapping[str, t.Any] | None = None) -> str:
    """The one JSON document a host script reads as its request (ASCII: json.dumps escapes the rest)."""
    return json.dumps({"params": dict(params), "secrets": dict(secrets or {})})


def build_stdin(script: HostScript, params: t.Mapping[str, t.Any], secrets: t.Mapping[str, t.Any] | None = None) -> str:
    """What the bootstrap reads from stdin: the script text, the line of four NULs, the request."""
    return f"{script.text}\n{SCRIPT_END}\n{build_request(params, secrets)}"


def bootstrap_command(shell: t.Any) -> str:
    """The command line of every host script: BOOTSTRAP encoded by the connection's PowerShell shell."""
    return shell._encode_script(BOOTSTRAP, strict_mode=False, preserve_rc=False)


def secret_values(secrets: t.Any) -> list[str]:
    """Every string in ``secrets`` (nested too), longest first so longer values are masked whole."""
    found: list[str] = []
    if isinstance(secrets, str):
        found.append(secrets)
    elif isinstance(secrets, collections.abc.Mapping):
        for value in secrets.values():
            found.extend(secret_values(value))
    elif isinstance(secrets, (list, tuple)):
        for value in secrets:
            found.extend(secret_values(value))
    return sorted({value for value in found if value}, key=len, reverse=True)


def redact(text: str, secrets: t.Any) -> str:
    """``text`` with every secret value replaced, so an error that quotes a secret stays safe."""
    for value in secret_values(secrets):
        text = text.replace(value, REDACTED)
    return text


def _unescape_clixml(text: str) -> str:
    code_units = CLIXML_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    # A character outside the BMP arrives as two escaped UTF-16 surrogates: join them back.
    return code_units.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def decode_clixml(stderr: str) -> str:
    """Turn PowerShell's CLIXML on stderr (``#< CLIXML`` then ``<Objs>`` elements) into its text.

    Only the strings of the error, warning and other text streams are kept; progress records and
    other objects are dropped. Text that is not CLIXML is returned unchanged, and an element that
    does not parse is kept as it came.
    """
    if CLIXML_HEADER not in stderr:
        return stderr
    pieces: list[str] = []
    remainder = stderr.replace(CLIXML_HEADER, "")
    while remainder:
        start = remainder.find("<Objs")
        end = remainder.find("</Objs>", start)
        if start == -1 or end == -1:
            pieces.append(remainder)
            break
        pieces.append(remainder[:start])
        element_text = remainder[start:end + len("</Objs>")]
        remainder = remainder[end + len("</Objs>"):]
        try:
            element = ET.fromstring(element_text)
        except ET.ParseError:
            pieces.append(element_text)
            continue
        for child in element:
            if child.tag.rsplit("}", 1)[-1] == "S" and child.text:
                pieces.append(_unescape_clixml(child.text))
    return "".join(pieces).replace("\r\n", "\n").strip()


def excerpt(text: str, limit: int = MAX_EXCERPT_CHARS) -> str:
    """The end of ``text`` (where PowerShell's error is) in at most ``limit`` characters."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return "..." + text[-(limit - 3):]


def find_json_document(stdout: str) -> tuple[dict[str, t.Any] | None, list[str]]:
    """The JSON object a host script printed, and any other non-blank lines of stdout.

    A script prints one compressed JSON line, but a module or host profile may add text around
    it (``WARNING: ...``); the last line that parses as a JSON object is the document. A leading
    byte order mark (U+FEFF, from a console set to UTF-8 with a BOM) is dropped.
    """
    stripped = stdout.lstrip("\ufeff").strip()
    if not stripped:
        return None, []
    try:
        document = json.loads(stripped)
    except ValueError:
        pass
    else:
        return (document, []) if isinstance(document, dict) else (None, [stripped])

    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if not lines[index].startswith("{"):
            continue
        try:
            document = json.loads(lines[index])
        except ValueError:
            continue
        if isinstance(document, dict):
            return document, lines[:index] + lines[index + 1:]
    return None, lines


def refused_language_mode(exit_code: int, stdout: str) -> str | None:
    """The language mode the bootstrap's guard refused to run in, or None when the guard let the script run."""
    document, dummy = find_json_document(stdout)
    if exit_code == 0 or document is None or document.get("failed") is not True:
        return None
    match = LANGUAGE_MODE_MSG.match(str(document.get("msg", "")))
    return match.group("mode") if match else None


def language_mode_message(host: str, mode: str) -> str:
    """The task's message for a host whose PowerShell runs the bootstrap in ``mode``, not FullLanguage."""
    return (
        f"host {host} runs Windows PowerShell in {mode} mode, but the collection's host scripts need FullLanguage: "
        "nothing was run on the host. PowerShell runs commands in ConstrainedLanguage mode when a Windows Defender "
        "Application Control (WDAC) or AppLocker policy enforces script rules, and a command sent over WinRM is never "
        "trusted by such a policy. Run the collection against hosts where no such policy is enforced for the connecting "
        "account (for example while the policy is in audit mode), or ask the policy's owner for an exception for that "
        "account; see 'Host requirements' in docs/host-scripts.md"
    )


def host_label(action: ActionBase) -> str:
    """The host an action runs on, as the play names it (inventory name) and, when it differs, its address."""
    address = str(getattr(action._play_context, "remote_addr", "") or "")
    name = str(getattr(action, "_host", "") or address)
    return name if address in ("", name) else f"{name} ({address})"


def run_bootstrap(action: ActionBase, in_data: str) -> dict[str, t.Any]:
    """Run the bootstrap command over ``action``'s connection with ``in_data`` on stdin; the connection's result.

    Raises HostScriptError, naming the host, when the bootstrap's guard refused to run anything because
    PowerShell does not run in FullLanguage mode there.
    """
    # Encoding here, as the shell plugin would, sends the same bytes over winrm and psrp (psrp decodes an
    # encoded command and pipes the lines of stdin to it) and over ssh, whatever the host's default shell.
    command = bootstrap_command(action._connection._shell)
    result = action._low_level_execute_command(command, sudoable=False, in_data=in_data)
    mode = refused_language_mode(result["rc"], result.get("stdout", ""))
    if mode is not None:
        raise HostScriptError(language_mode_message(host_label(action), mode), exit_code=result["rc"])
    return result


def parse_host_script_output(script: HostScript, exit_code: int, stdout: str, stderr: str, secrets: t.Any = None) -> tuple[dict[str, t.Any], list[str]]:
    """Check one run of ``script`` and return its document and any stray stdout lines.

    Raises HostScriptError when the script failed (non-zero exit code or ``failed: true``) or
    printed no JSON object; the message carries the script's ``msg``, or else the end of stderr
    (decoded from CLIXML) or stdout, with secret values masked.
    """
    document, stray_lines = find_json_document(stdout)
    failed = exit_code != 0 or (document is not None and document.get("failed") is True)
    if document is not None and not failed:
        return document, [redact(line, secrets) for line in stray_lines]

    prefix = f"host script {script.label} failed (exit code {exit_code})"
    if document is not None and document.get("msg"):
        detail = str(document["msg"])
    else:
        diagnostic = decode_clixml(stderr).strip() or "\n".join(stray_lines)
        if not failed:
            prefix = f"host script {script.label} exited with code {exit_code} but printed no JSON object"
        elif document is None:
            prefix += " and printed no JSON result"
        detail = excerpt(diagnostic) if diagnostic else "no output on stdout or stderr"
    raise HostScriptError(redact(f"{prefix}: {detail}", secrets), script=script.label, exit_code=exit_code)


def refuse_become(action: ActionBase, script_label: str) -> None:
    """Raise HostScriptError when the task asks for ``become``, before anything is sent to the host.

    The script goes over the connection as one raw command with its input on stdin; Ansible's Windows
    become (runas) wraps modules, not such commands, so the script would silently run as the connection's
    user instead. A clear refusal is better than running as someone other than the play asked.
    """
    if getattr(action._play_context, "become", False):
        raise HostScriptError(
            f"host script {script_label} does not support become (become_method "
            f"{getattr(action._play_context, 'become_method', None) or 'runas'!s}): it runs as the connection's user, "
            "ansible_user, who must be in the host's local Administrators group. Remove become from the task or play; "
            "to reach a file share from the host, use the credssp transport or Kerberos with "
            "ansible_winrm_kerberos_delegation=true, or setup_file_src / setup_file_url",
            script=script_label,
        )


def run_host_script(
    action: ActionBase,
    name: str,
    params: t.Mapping[str, t.Any],
    secrets: t.Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """Run host script ``name`` over ``action``'s connection and return the JSON document it printed.

    One command per call: the fixed bootstrap as the command line, the script and its request on
    stdin (build_stdin). Secrets travel on stdin only: never on the command line, which Windows can
    log (event 4688), and never in an error message. Raises HostScriptError.
    """
    script = load_host_script(name)
    refuse_become(action, script.label)
    shell = action._connection._shell
    encode_script = getattr(shell, "_encode_script", None)
    if encode_script is None:
        raise HostScriptError(
            f"host script {script.label} needs a Windows host reached with the PowerShell shell, but the connection uses the "
            f"{getattr(shell, 'SHELL_FAMILY', type(shell).__name__)!r} shell: set ansible_shell_type=powershell (winrm and psrp set it)",
            script=script.label,
        )
    result = run_bootstrap(action, build_stdin(script, params, secrets))
    document, stray_lines = parse_host_script_output(script, result["rc"], result.get("stdout", ""), result.get("stderr", ""), secrets)
    for line in stray_lines:
        display.vvv(f"host script {script.label} also printed: {line}", host=action._play_context.remote_addr)
    return document


def check_document(script: HostScript, document: dict[str, t.Any]) -> dict[str, t.Any]:
    """``document``, when it has the shape of ``script``'s contract (_host_contracts.py); else HostScriptError.

    A document of another shape would otherwise surface as a KeyError deep in the plugin's planning. A script
    whose marker carries another version than its contract is refused the same way: its document is not the
    one the controller knows how to read.
    """
    contract = CONTRACTS.get(script.name)
    if contract is None or contract.version != script.version:
        known = f"only {contract.label}" if contract is not None else "none"
        raise HostScriptError(f"host script {script.label} has no contract in _host_contracts.py ({known})", script=script.label)
    mismatches = schema_mismatches(document, contract.output_schema)
    if mismatches:
        raise HostScriptError(
            f"host script {script.label} returned a document outside its contract (docs/host-scripts.md): {', '.join(mismatches[:10])}",
            script=script.label,
        )
    return document


def run_checked_host_script(
    action: ActionBase,
    name: str,
    params: t.Mapping[str, t.Any],
    secrets: t.Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """run_host_script, then check_document against the script's contract. Raises HostScriptError."""
    return check_document(load_host_script(name), run_host_script(action, name, params, secrets))


def failure_result(error: HostScriptError) -> dict[str, t.Any]:
    """The keys a task's result takes when a host script failed: ``failed``, ``msg`` and, when it exited, ``rc``."""
    result: dict[str, t.Any] = {"failed": True, "msg": str(error)}
    if error.exit_code is not None:
        result["rc"] = error.exit_code
    return result
