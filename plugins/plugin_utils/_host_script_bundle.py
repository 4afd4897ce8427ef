# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Run several host scripts as one command: a bundle.

Every command costs a Windows host a powershell.exe start, so a task that needs four reads pays four
starts. A bundle sends the scripts ("parts") in one script text behind the same bootstrap as a single
host script (plugins/plugin_utils/_host_script.py, docs/host-scripts.md "Bundles"):

- the text is the marker ``# azmigrate-host-script: bundle/1``, the prelude functions any part calls
  (once), then each part's body, unchanged but for its ``exit N`` lines, inside ``& { ... }`` fed with its
  own request line. ``exit`` would end powershell.exe, so each becomes ``return N``: the part's last output
  is its exit code;
- stdin carries one request line per part, in order (``build_request``: secrets only in the part that
  needs them);
- after each part the bundle prints the part's output, then the line ``azmigrate-part-end <name>/<version>
  <exit code>``; a part that fails ends the bundle (with its exit code), so a later part never runs on a
  host an earlier one left half done.

The controller then checks each part's output exactly as it checks that script run alone
(parse_host_script_output), so a part's failure reads the same either way.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing as t

from ansible.utils.display import Display

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import BUNDLE
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import (
    MARKER_PATTERN,
    PRELUDE_NAME,
    SCRIPT_END,
    HostScript,
    HostScriptError,
    _read_host_script_file,
    build_request,
    check_document,
    load_host_script,
    parse_host_script_output,
    prelude_for,
    run_bootstrap,
    sendable_lines,
)

if t.TYPE_CHECKING:
    from ansible.plugins.action import ActionBase

display = Display()

BUNDLE_NAME = BUNDLE.name
BUNDLE_VERSION = BUNDLE.version
PART_END = "azmigrate-part-end"
PART_END_LINE = re.compile(rf"^{PART_END} (?P<label>[a-z0-9_]+/[0-9]+) (?P<code>-?[0-9]+)$")
# The only form of exit a part may use: a statement of its own at the script's top level (try or catch).
EXIT_STATEMENT = re.compile(r"^exit (?P<code>[0-9]+)$", re.IGNORECASE)
# Any other exit (in a pipeline, a function, "exit $x") cannot be turned into a return safely.
EXIT_WORD = re.compile(r"(?<![\w$.\-'])exit(?![\w\-])", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Part:
    """One script of a bundle with its request."""

    name: str
    params: t.Mapping[str, t.Any]
    secrets: t.Mapping[str, t.Any] | None = None


def part_body(name: str, source: str | None = None) -> list[str]:
    """The sendable lines of host script ``name`` (its file, or ``source``) after its marker, each ``exit N``
    turned into ``return N``.

    Raises HostScriptError for a script that uses exit any other way, or never exits with a code.
    """
    source = _read_host_script_file(name) if source is None else source
    lines = source.splitlines()
    marker = MARKER_PATTERN.match(lines[0].strip()) if lines else None
    if marker is None or marker.group("name") != name:
        raise HostScriptError(f"host script {name}.ps1 must start with the line '# azmigrate-host-script: {name}/<version>'")
    body = []
    for line in sendable_lines(lines[1:]):
        statement = EXIT_STATEMENT.match(line)
        if statement:
            body.append(f"return {statement.group('code')}")
            continue
        if EXIT_WORD.search(line):
            raise HostScriptError(f"host script {name}.ps1 cannot be bundled: it uses exit other than as a line 'exit <code>' ({line[:80]!r})")
        body.append(line)
    if not any(line.startswith("return ") for line in body):
        raise HostScriptError(f"host script {name}.ps1 cannot be bundled: it has no line 'exit <code>'")
    return body


@functools.lru_cache(maxsize=None)
def load_bundle(names: tuple[str, ...]) -> HostScript:
    """The bundle of host scripts ``names``, in that order, as sent (once per process)."""
    if not names:
        raise HostScriptError("a bundle needs at least one host script")
    bodies = [part_body(name) for name in names]
    labels = [load_host_script(name).label for name in names]
    prelude = prelude_for([line for body in bodies for line in body], _read_host_script_file(PRELUDE_NAME))
    lines = [f"# azmigrate-host-script: {BUNDLE_NAME}/{BUNDLE_VERSION}", *prelude, "$bundleLines = @($input)", "$bundleExit = 0"]
    for index, (label, body) in enumerate(zip(labels, bodies)):
        lines += [
            "if ($bundleExit -eq 0) {",
            f"$bundleOutput = @($bundleLines[{index}] | & {{",
            *body,
            "})",
            "$bundleExit = [int]$bundleOutput[-1]",
            "if ($bundleOutput.Count -gt 1) { $bundleOutput[0..($bundleOutput.Count - 2)] }",
            f"'{PART_END} {label} ' + $bundleExit",
            "}",
        ]
    lines.append("exit $bundleExit")
    return HostScript(name=BUNDLE_NAME, version=BUNDLE_VERSION, text="\n".join(lines))


def build_bundle_stdin(bundle: HostScript, parts: t.Sequence[Part]) -> str:
    """What the bootstrap reads: the bundle text, the line of four NULs, one request line per part."""
    requests = "\n".join(build_request(part.params, part.secrets) for part in parts)
    return f"{bundle.text}\n{SCRIPT_END}\n{requests}"


def split_bundle_output(stdout: str) -> list[tuple[str, int, str]]:
    """(label, exit code, output) of each part that ended, in order, from the bundle's stdout."""
    ended = []
    pending: list[str] = []
    for line in stdout.lstrip("\ufeff").splitlines():
        end = PART_END_LINE.match(line.strip())
        if end:
            ended.append((end.group("label"), int(end.group("code")), "\n".join(pending)))
            pending = []
        else:
            pending.append(line)
    return ended


def parse_bundle_output(
    parts: t.Sequence[Part], exit_code: int, stdout: str, stderr: str, secrets: t.Any = None
) -> list[dict[str, t.Any]]:
    """The document of every part, checked as each script's own run would be; HostScriptError otherwise.

    A part that failed raises its own error (its label, exit code and message); a bundle that stopped
    before a part ended (a parse error, the prelude's trap) raises the bundle's.
    """
    ended = split_bundle_output(stdout)
    documents = []
    for index, part in enumerate(parts):
        script = load_host_script(part.name)
        if index >= len(ended):
            bundle = HostScript(BUNDLE_NAME, BUNDLE_VERSION, "")
            remainder = stdout.split(f"{PART_END} ")[-1] if ended else stdout
            if exit_code == 0:
                raise HostScriptError(f"host script {bundle.label} ended without a result for {script.label}", script=script.label, exit_code=exit_code)
            parse_host_script_output(bundle, exit_code or 1, remainder, stderr, secrets)
        label, code, output = ended[index]
        if label != script.label:
            raise HostScriptError(f"host script {BUNDLE_NAME}/{BUNDLE_VERSION} printed the result of {label} where {script.label} was expected",
                                  script=script.label, exit_code=exit_code)
        document, stray_lines = parse_host_script_output(script, code, output, stderr if code else "", secrets)
        for line in stray_lines:
            display.vvv(f"host script {script.label} also printed: {line}")
        documents.append(document)
    return documents


def run_host_script_bundle(action: ActionBase, parts: t.Sequence[Part]) -> list[dict[str, t.Any]]:
    """Run ``parts`` as one command over ``action``'s connection; each part's document, in order.

    Each document is checked against its part's contract (check_document), as a script run alone is.
    Secrets travel on stdin only and are masked in every message. Raises HostScriptError.
    """
    bundle = load_bundle(tuple(part.name for part in parts))
    shell = action._connection._shell
    if getattr(shell, "_encode_script", None) is None:
        raise HostScriptError(
            f"host script {bundle.label} needs a Windows host reached with the PowerShell shell: set ansible_shell_type=powershell (winrm and psrp set it)",
            script=bundle.label,
        )
    secrets = [dict(part.secrets or {}) for part in parts]
    result = run_bootstrap(action, build_bundle_stdin(bundle, parts))
    documents = parse_bundle_output(parts, result["rc"], result.get("stdout", ""), result.get("stderr", ""), secrets)
    for part, document in zip(parts, documents):
        check_document(load_host_script(part.name), document)
    return documents
