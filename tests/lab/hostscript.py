"""Run a collection host script on a lab host over pywinrm, as the runner would."""

from __future__ import annotations

import base64
import json

from winrm.protocol import Protocol


def run_host_script(lab, host_name: str, first_line: str, params: dict | None = None,
                    secrets: dict | None = None, stdin: bytes | None = None,
                    transport: str = "ntlm", **options) -> tuple[int, dict | None, bytes]:
    """`options` go to pywinrm's Protocol (e.g. username, password, kerberos_delegation)."""
    host = lab.host(host_name)
    options = {"username": host["username"], "password": host["password"], **options}
    client = Protocol(endpoint=host["url"], transport=transport, server_cert_validation="validate",
                      ca_trust_path=lab.ca_path, **options)
    script = f"{first_line}\n$stdin = @($input) -join \"`n\"\n$request = ConvertFrom-Json $stdin\n"
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    shell_id = client.open_shell(codepage=65001)
    try:
        command_id = client.run_command(shell_id, "PowerShell", ["-NoProfile", "-NonInteractive", "-EncodedCommand",
                                                                 encoded], console_mode_stdin=False)
        if stdin is None:
            stdin = json.dumps({"params": params or {}, "secrets": secrets or {}}).encode()
        client.send_command_input(shell_id, command_id, stdin, end=True)
        stdout, stderr, code = client.get_command_output(shell_id, command_id)
        client.cleanup_command(shell_id, command_id)
    finally:
        client.close_shell(shell_id)
    try:
        document = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        document = None
    return code, document, stderr
