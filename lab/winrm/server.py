"""One host's WinRM listeners: HTTPS and HTTP, authenticated as Windows does, WS-Management shell actions.

Each host listens on its own loopback address (127.0.x.y), port 5986 (HTTPS) and 5985 (HTTP)
at /wsman, so an inventory of several hosts reaches several "machines". Authentication and
message encryption are lab/winrm/auth.py's. Errors take the shapes clients parse: 401 for
bad or missing credentials (pywinrm InvalidCredentialsError), HTTP 500 with a SOAP Fault for
WS-Management faults (WSManFaultError, or WinRMOperationTimeoutError for 2150858793, which
clients treat as "poll again"). A shell runs as the logon that created it, which the host
scripts see (lab/hosts/logon.py: the double hop).
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

from lab import http
from lab.hosts.state import HostState
from lab.winrm import auth, soap
from lab.winrm.dispatch import CommandDispatcher
from lab.winrm.shell import ShellService
from lab.world import HostEndpoint, World

SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
MAX_OPERATION_TIMEOUT_S = 60.0


class WinRMService:
    def __init__(self, world: World, host: HostState, endpoint: HostEndpoint, user_file: Path,
                 certificate: Path | None = None, kerberos_realm: str | None = None):
        self.world = world
        self.host = host
        self.endpoint = endpoint
        self.faults = world.faults[host.name]
        self.shells = ShellService(host.name, CommandDispatcher(world, host, endpoint).run)
        self.auth = auth.ListenerAuth(host, endpoint.username, endpoint.password, user_file, certificate,
                                      kerberos_realm, kerberos_service=f"HTTP@{endpoint.address}")
        self.url = f"https://{endpoint.address}:{endpoint.port}/wsman"
        self.http_url = f"http://{endpoint.address}:{endpoint.http_port}/wsman"

    async def start(self, ssl_context: ssl.SSLContext) -> list:
        """Both listeners: HTTPS on endpoint.port, HTTP on endpoint.http_port."""
        async def handle_https(request: http.Request) -> http.Response:
            return await self.handle(request, secure=True)

        async def handle_http(request: http.Request) -> http.Response:
            return await self.handle(request, secure=False)

        return [await http.serve(self.endpoint.address, self.endpoint.port, ssl_context, handle_https,
                                 faults=self.faults, on_exchange=self._count),
                await http.serve(self.endpoint.address, self.endpoint.http_port, None, handle_http,
                                 faults=self.faults, on_exchange=self._count)]

    def _count(self, request: http.Request, response: http.Response, bytes_out: int) -> None:
        action = request.context.get("action", "unparsed")
        self.world.log.count_request(self.host.name, action, request.wire_bytes, bytes_out)

    async def handle(self, request: http.Request, secure: bool = True) -> http.Response:
        if request.path.lower() != "/wsman":
            return http.Response(404, {}, b"")
        if request.method != "POST":
            return http.Response(405, {"Allow": "POST"}, b"")
        try:
            session = self.auth.authenticate(request, secure)
            body = self._clear_body(request, session, secure)
        except auth.Refusal as refusal:
            if refusal.failed:
                self.world.log.count_auth_failure(self.host.name)
            request.context["action"] = "unauthorised" if refusal.failed else "auth-challenge"
            return refusal.response
        except auth.BadSealedMessage:
            request.context["action"] = "bad-encryption"
            return http.Response(400, {}, b"")
        sealing = session.context if auth.is_sealed(request) else None
        if not body.strip():
            # pywinrm's first request on an encrypted HTTP session: an empty body that sets up the context.
            request.context["action"] = "auth-setup"
            reply, session.reply = session.reply, None
            return http.Response(200, {"WWW-Authenticate": reply} if reply else {}, b"")
        message_id = None
        try:
            wsman = soap.parse_request(body)
            message_id = wsman.message_id
            request.context["action"] = wsman.action.rsplit("/", 1)[-1]
            status, answer = 200, await self._perform(wsman, session, self.url if secure else self.http_url)
        except soap.WSManFault as fault:
            status, answer = 500, soap.fault_response(fault, message_id, self.host.name)
        headers = {"Content-Type": SOAP_CONTENT_TYPE}
        if sealing is not None:
            headers, answer = {"Content-Type": auth.ENCRYPTED_CONTENT_TYPE}, auth.seal(sealing, answer)
        if session.reply:
            headers["WWW-Authenticate"] = session.reply   # Kerberos mutual authentication, once
            session.reply = None
        return http.Response(status, headers, answer)

    def _clear_body(self, request: http.Request, session: auth.Session, secure: bool) -> bytes:
        """The SOAP message: unsealed over HTTP, refused when HTTP carries it in the clear (AllowUnencrypted false)."""
        if auth.is_sealed(request):
            if session.context is None:
                raise auth.BadSealedMessage("a sealed message needs an NTLM session")
            return auth.unseal(session.context, request.body)
        if not secure and request.body.strip() and not auth.ListenerPolicy.of(self.host).allow_unencrypted:
            raise self.auth.refuse_unencrypted()
        return request.body

    async def _perform(self, wsman: soap.WSManRequest, session: auth.Session, url: str) -> bytes:
        action, relates_to = wsman.action, wsman.message_id
        if wsman.resource_uri and wsman.resource_uri != soap.CMD_RESOURCE_URI:
            raise soap.WSManFault(soap.FAULT_SCHEMA_VALIDATION,
                                  f"The lab simulates only the cmd shell, not {wsman.resource_uri}.")
        if action == soap.ACTION_CREATE:
            shell = self.shells.create(wsman.options, logon=session.logon, saw_agent=self.host.agent_install_path is not None)
            return soap.create_response(relates_to, url, shell.id)
        if action == soap.ACTION_COMMAND:
            return self._command(wsman)
        if action == soap.ACTION_SEND:
            for stream in wsman.findall("rsp:Send/rsp:Stream"):
                data = base64.b64decode(stream.text or "")
                end = (stream.get("End") or "").lower() == "true"
                self.shells.send(wsman.shell_id, stream.get("CommandId"), data, end)
            return soap.send_response(relates_to)
        if action == soap.ACTION_RECEIVE:
            return await self._receive(wsman)
        if action == soap.ACTION_SIGNAL:
            signal = wsman.find("rsp:Signal")
            self.shells.signal(wsman.shell_id, signal.get("CommandId") if signal is not None else None)
            return soap.signal_response(relates_to)
        if action == soap.ACTION_DELETE:
            self.shells.delete(wsman.shell_id)
            return soap.delete_response(relates_to)
        raise soap.WSManFault(soap.FAULT_SCHEMA_VALIDATION, f"The action {action} is not supported.")

    def _command(self, wsman: soap.WSManRequest) -> bytes:
        injected = self.faults.wsman_fault_next_command
        if injected:
            self.faults.wsman_fault_next_command = None
            raise soap.WSManFault(int(injected.get("code", soap.FAULT_OPERATION_TIMEOUT)),
                                  injected.get("message", ""), injected.get("reason"))
        line = wsman.find("rsp:CommandLine")
        program = line.find("rsp:Command", soap.NS) if line is not None else None
        if program is None or not (program.text or "").strip():
            raise soap.WSManFault(soap.FAULT_SCHEMA_VALIDATION, "rsp:CommandLine/rsp:Command is missing.")
        arguments = [arg.text or "" for arg in line.findall("rsp:Arguments", soap.NS)]
        console_mode = wsman.options.get("WINRS_CONSOLEMODE_STDIN", "TRUE").upper() == "TRUE"
        skip_cmd_shell = wsman.options.get("WINRS_SKIP_CMD_SHELL", "FALSE").upper() == "TRUE"
        command = self.shells.start_command(wsman.shell_id, program.text.strip(), arguments, console_mode, skip_cmd_shell)
        return soap.command_response(wsman.message_id, command.id)

    async def _receive(self, wsman: soap.WSManRequest) -> bytes:
        desired = wsman.find("rsp:Receive/rsp:DesiredStream")
        command_id = desired.get("CommandId") if desired is not None else None
        timeout = min(wsman.operation_timeout_s, MAX_OPERATION_TIMEOUT_S)
        result, done = await self.shells.receive(wsman.shell_id, command_id, timeout)
        command_id = (command_id or "").upper()
        if not done:
            return soap.receive_response(wsman.message_id, command_id, [], done=False)
        streams = []
        for name, data in (("stdout", result.stdout), ("stderr", result.stderr)):
            if data:
                streams.append((name, base64.b64encode(data).decode()))
            streams.append((name, ""))
        return soap.receive_response(wsman.message_id, command_id, streams, done=True,
                                     exit_code=result.exit_code)
