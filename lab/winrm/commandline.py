"""What a WinRM Command asks for: the program, its arguments, the PowerShell script.

pywinrm's run_ps sends the whole line as rsp:Command ("powershell -encodedcommand <b64>");
Ansible sends rsp:Command "PowerShell" and the rest as rsp:Arguments
(-NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand <b64>).
-EncodedCommand is base64 of UTF-16-LE text (ansible-core lib/ansible/plugins/shell/powershell.py).

Unless the Command asks WINRS_SKIP_CMD_SHELL=TRUE, WinRS runs the line through cmd.exe, which
refuses more than 8,191 characters before the program starts (KB 830473; pywinrm#184,
WinRb/WinRM#41, hashicorp/vagrant#3816): stderr "The command line is too long.", exit code 1.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

POWERSHELL_NAMES = {"powershell", "powershell.exe", "pwsh", "pwsh.exe"}
ENCODED_SWITCHES = {"-encodedcommand", "-enc", "-ec", "-e", "-encoded"}
COMMAND_SWITCHES = {"-command", "-c"}

# cmd.exe's longest command line, and what it answers to a longer one.
CMD_MAX_CHARS = 8191
CMD_TOO_LONG = "The command line is too long."


class BadCommandLine(ValueError):
    pass


@dataclass
class Invocation:
    program: str                # lower-case program name: powershell, hostname, ipconfig, ...
    arguments: list[str]        # tokens after the program
    script: str | None = None   # the PowerShell script, when the program is PowerShell

    @property
    def via_powershell(self) -> bool:
        return self.program in POWERSHELL_NAMES

    @property
    def text(self) -> str:
        return " ".join([self.program, *self.arguments])


def command_line(command: str, arguments: list[str]) -> str:
    """The line cmd.exe is given: the Command and its Arguments, separated by spaces as WinRS joins them."""
    return " ".join([command, *arguments])


def too_long_for_cmd(command: str, arguments: list[str]) -> bool:
    return len(command_line(command, arguments)) > CMD_MAX_CHARS


def parse_invocation(command: str, arguments: list[str]) -> Invocation:
    tokens = " ".join([command, *arguments]).split()
    if not tokens:
        raise BadCommandLine("empty command line")
    program, rest = tokens[0].lower(), tokens[1:]
    invocation = Invocation(program, rest)
    if invocation.via_powershell:
        invocation.script = _powershell_script(rest)
    return invocation


def _powershell_script(arguments: list[str]) -> str | None:
    for index, token in enumerate(arguments):
        switch = token.lower()
        if switch in ENCODED_SWITCHES:
            if index + 1 >= len(arguments):
                raise BadCommandLine(f"{token} needs a value")
            try:
                return base64.b64decode(arguments[index + 1], validate=True).decode("utf-16-le")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise BadCommandLine(f"{token}: not base64 of UTF-16-LE text: {exc}") from exc
        if switch in COMMAND_SWITCHES:
            return " ".join(arguments[index + 1:])
    return None
