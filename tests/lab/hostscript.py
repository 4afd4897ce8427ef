"""Run a collection host script on a lab host over pywinrm, as the runner does.

The command line is the collection's own bootstrap, encoded as Ansible's PowerShell shell encodes
it; stdin is the script text, the line of four NULs and the request (host_script.build_stdin).
``script`` defaults to just the marker line; pass load_host_script(...).text to send the real one.
"""

from __future__ import annotations

import json
from typing import Callable

from ansible.plugins.shell.powershell import ShellModule
from winrm.protocol import Protocol

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import SCRIPT_END, bootstrap_command


def protocol(lab, host_name: str, transport: str = "ntlm", **options) -> Protocol:
    """`options` go to pywinrm's Protocol (e.g. username, password, kerberos_delegation)."""
    host = lab.host(host_name)
    options = {"username": host["username"], "password": host["password"], **options}
    return Protocol(endpoint=host["url"], transport=transport, server_cert_validation="validate",
                    ca_trust_path=lab.ca_path, **options)


def run_command(lab, host_name: str, command: str, stdin: bytes | None, codepage: int = 65001,
                skip_cmd_shell: bool = False, transport: str = "ntlm", shell_opened: Callable[[], None] | None = None,
                **options) -> tuple[bytes, bytes, int]:
    """One command in a new shell opened with ``codepage`` (WINRS_CODEPAGE), as pywinrm sends it; ``shell_opened`` runs
    between the shell's creation and the command (what changes on the host while a connection stays open)."""
    client = protocol(lab, host_name, transport, **options)
    shell_id = client.open_shell(codepage=codepage)
    try:
        if shell_opened is not None:
            shell_opened()
        program, *arguments = command.split(" ")
        command_id = client.run_command(shell_id, program, arguments, console_mode_stdin=False,
                                        skip_cmd_shell=skip_cmd_shell)
        if stdin is not None:
            client.send_command_input(shell_id, command_id, stdin, end=True)
        stdout, stderr, code = client.get_command_output(shell_id, command_id)
        client.cleanup_command(shell_id, command_id)
    finally:
        client.close_shell(shell_id)
    return stdout, stderr, code


def run_host_script(lab, host_name: str, first_line: str, params: dict | None = None,
                    secrets: dict | None = None, stdin: bytes | None = None, script: str | None = None,
                    codepage: int = 65001, transport: str = "ntlm", shell_opened: Callable[[], None] | None = None,
                    **options) -> tuple[int, dict | None, bytes]:
    """(exit code, the JSON document or None, stderr); ``stdin`` replaces the request."""
    request = stdin if stdin is not None else json.dumps({"params": params or {}, "secrets": secrets or {}}).encode()
    text = script if script is not None else first_line
    payload = f"{text}\n{SCRIPT_END}\n".encode() + request
    stdout, stderr, code = run_command(lab, host_name, bootstrap_command(ShellModule()), payload, codepage,
                                       transport=transport, shell_opened=shell_opened, **options)
    try:
        document = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        document = None
    return code, document, stderr
