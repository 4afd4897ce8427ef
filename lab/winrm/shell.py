"""The Windows Remote Shell of one host: shells, the commands in them, their streams.

Lifecycle as the WinRM service runs it: Create a shell -> Command -> Send stdin (chunks,
the last flagged End) -> Receive until Done -> Signal terminate -> Delete the shell.
A command starts once its stdin has ended, or at the first Receive when no stdin was
ever sent. The first Receive answers Running (so clients exercise their polling loop);
later ones wait up to the request's OperationTimeout for the command, then answer Done
with all output, or fault with 2150858793 so the client polls again, as Windows does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lab.hosts.logon import Logon
from lab.winrm.soap import FAULT_OPERATION_TIMEOUT, FAULT_SCHEMA_VALIDATION, FAULT_SHELL_NOT_FOUND, WSManFault


# WINRS_CODEPAGE when the Create asks for none: the OEM code page of an en-US Windows (assumption; the shell
# takes the OEM code page of the server's system locale: 850 in western Europe, 932 in Japan).
DEFAULT_CODEPAGE = 437
# The code pages the lab can encode output in (Python codec names).
CODEPAGES = {437: "cp437", 850: "cp850", 932: "cp932", 65001: "utf-8"}


def shell_codepage(options: dict[str, str]) -> int:
    """The WINRS_CODEPAGE of a Create's options; a WSManFault for one the lab does not simulate."""
    text = options.get("WINRS_CODEPAGE", "").strip()
    if not text:
        return DEFAULT_CODEPAGE
    if not text.isdigit() or int(text) not in CODEPAGES:
        raise WSManFault(FAULT_SCHEMA_VALIDATION, f"The lab simulates the code pages {', '.join(map(str, CODEPAGES))}, "
                         f"not WINRS_CODEPAGE={text!r}.")
    return int(text)


@dataclass
class CommandResult:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


@dataclass
class RemoteCommand:
    id: str
    program: str
    arguments: list[str]
    console_mode_stdin: bool
    codepage: int = 437               # the shell's WINRS_CODEPAGE: how the console encodes output
    skip_cmd_shell: bool = False      # WINRS_SKIP_CMD_SHELL=TRUE: started without cmd.exe
    stdin: bytearray = field(default_factory=bytearray)
    stdin_sends: int = 0
    stdin_ended: bool = False
    receives: int = 0
    task: asyncio.Task | None = None
    delivered: bool = False
    stdin_event: asyncio.Event = field(default_factory=asyncio.Event)
    logon: Logon | None = None     # the shell's logon: what the command may reach (lab/hosts/logon.py)
    shell_saw_agent: bool = False  # RemoteShell.saw_agent of its shell


@dataclass
class RemoteShell:
    id: str
    options: dict[str, str]
    codepage: int = DEFAULT_CODEPAGE
    commands: dict[str, RemoteCommand] = field(default_factory=dict)
    logon: Logon | None = None     # who created the shell; its commands run as this logon
    # Whether the agent was installed when the shell was created: its environment (PSModulePath) then holds the agent's
    # module folder, and so does every powershell.exe it starts (lab/hosts/scripts/_agent_module.py).
    saw_agent: bool = False


Runner = Callable[[RemoteCommand], Awaitable[CommandResult]]


class ShellService:
    def __init__(self, machine: str, runner: Runner):
        self.machine = machine
        self.runner = runner
        self.shells: dict[str, RemoteShell] = {}

    def create(self, options: dict[str, str], logon: Logon | None = None, saw_agent: bool = False) -> RemoteShell:
        shell = RemoteShell(str(uuid.uuid4()).upper(), options, shell_codepage(options), logon=logon, saw_agent=saw_agent)
        self.shells[shell.id] = shell
        return shell

    def shell(self, shell_id: str | None) -> RemoteShell:
        shell = self.shells.get((shell_id or "").upper())
        if shell is None:
            raise WSManFault(FAULT_SHELL_NOT_FOUND,
                             f"The request for the Windows Remote Shell with ShellId {shell_id} failed because "
                             "the shell was not found on the server. Possible causes are: the specified ShellId "
                             "is incorrect or the shell no longer exists on the server. Provide the correct "
                             "ShellId or create a new shell and retry the operation.")
        return shell

    def command(self, shell_id: str | None, command_id: str | None) -> RemoteCommand:
        command = self.shell(shell_id).commands.get((command_id or "").upper())
        if command is None:
            raise WSManFault(FAULT_SHELL_NOT_FOUND,
                             f"The Windows Remote Shell has no command with CommandId {command_id}.")
        return command

    def start_command(self, shell_id: str | None, program: str, arguments: list[str],
                      console_mode_stdin: bool, skip_cmd_shell: bool = False) -> RemoteCommand:
        shell = self.shell(shell_id)
        command = RemoteCommand(str(uuid.uuid4()).upper(), program, arguments, console_mode_stdin,
                                codepage=shell.codepage, skip_cmd_shell=skip_cmd_shell, logon=shell.logon,
                                shell_saw_agent=shell.saw_agent)
        shell.commands[command.id] = command
        return command

    def send(self, shell_id: str | None, command_id: str | None, data: bytes, end: bool) -> None:
        command = self.command(shell_id, command_id)
        if command.stdin_ended:
            return  # Windows ignores input after End
        command.stdin += data
        command.stdin_sends += 1
        if end:
            command.stdin_ended = True
            command.stdin_event.set()
            self._run(command)

    async def receive(self, shell_id: str | None, command_id: str | None,
                      timeout_s: float) -> tuple[CommandResult | None, bool]:
        """Return (result, done). result is None while the command is still running."""
        command = self.command(shell_id, command_id)
        command.receives += 1
        if command.task is None and (command.stdin_sends == 0 or command.stdin_ended):
            self._run(command)
        if command.receives == 1:
            return None, False
        if command.delivered:
            return CommandResult(exit_code=command.task.result().exit_code), True
        try:
            if command.task is None:
                # Stdin was started but not ended: the process is blocked reading it.
                await asyncio.wait_for(command.stdin_event.wait(), timeout_s)
            result = await asyncio.wait_for(asyncio.shield(command.task), timeout_s)
        except TimeoutError:
            raise WSManFault(FAULT_OPERATION_TIMEOUT) from None
        command.delivered = True
        return result, True

    def signal(self, shell_id: str | None, command_id: str | None) -> None:
        command = self.command(shell_id, command_id)
        if command.task is not None and not command.task.done():
            command.task.cancel()
        del self.shells[shell_id.upper()].commands[command.id]

    def delete(self, shell_id: str | None) -> None:
        shell = self.shell(shell_id)
        for command in shell.commands.values():
            if command.task is not None and not command.task.done():
                command.task.cancel()
        del self.shells[shell.id]

    def _run(self, command: RemoteCommand) -> None:
        if command.task is None:
            command.task = asyncio.get_running_loop().create_task(self.runner(command))
