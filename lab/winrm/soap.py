"""SOAP envelopes of WS-Management: parse what pywinrm/Ansible send, build what they parse.

Shapes follow [MS-WSMV] and pywinrm 0.5.0 (winrm/protocol.py):
pywinrm finds elements by tag suffix (ShellId selector, *CommandId, *Stream, *ExitCode,
*RelatesTo) and parses faults at soapenv:Body/soapenv:Fault with WSManFault/@Code.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_RESOURCE_URI = SHELL_URI + "/cmd"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = SHELL_URI + "/Command"
ACTION_SEND = SHELL_URI + "/Send"
ACTION_RECEIVE = SHELL_URI + "/Receive"
ACTION_SIGNAL = SHELL_URI + "/Signal"
STATE_RUNNING = SHELL_URI + "/CommandState/Running"
STATE_DONE = SHELL_URI + "/CommandState/Done"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

# WSManFault codes (winerror.h) and the SOAP code/subcode Windows pairs them with.
FAULT_OPERATION_TIMEOUT = 2150858793       # ERROR_WSMAN_OPERATION_TIMEDOUT: Receive waited OperationTimeout
FAULT_SHELL_NOT_FOUND = 2150858843         # the ShellId/CommandId names nothing on this server
FAULT_SCHEMA_VALIDATION = 2150858817       # ERROR_WSMAN_SCHEMA_VALIDATION_ERROR: malformed request
FAULT_SHAPES = {
    FAULT_OPERATION_TIMEOUT: ("s:Receiver", "w:TimedOut",
                              "The WS-Management service cannot complete the operation within the time "
                              "specified in OperationTimeout."),
    FAULT_SHELL_NOT_FOUND: ("s:Sender", "w:InvalidSelectors",
                            "The WS-Management service cannot process the request because the request "
                            "contained invalid selectors for the resource."),
    FAULT_SCHEMA_VALIDATION: ("s:Sender", "w:SchemaValidationError",
                              "The SOAP XML in the message does not match the corresponding XML schema "
                              "definition. Change the XML and retry."),
}


class WSManFault(Exception):
    """A fault the service answers with (HTTP 500 and a SOAP Fault body)."""

    def __init__(self, code: int, message: str = "", reason: str | None = None):
        shape = FAULT_SHAPES.get(code, ("s:Receiver", "w:InternalError", "The WS-Management service "
                                        "cannot process the request."))
        self.code = code
        self.soap_code, self.subcode, default_reason = shape
        self.reason = reason or default_reason
        self.message = message or self.reason
        super().__init__(f"WSManFault {code}: {self.message}")


@dataclass
class WSManRequest:
    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    options: dict[str, str]
    operation_timeout_s: float
    body: ET.Element | None
    extra: dict = field(default_factory=dict)

    def find(self, path: str) -> ET.Element | None:
        return self.body.find(path, NS) if self.body is not None else None

    def findall(self, path: str) -> list[ET.Element]:
        return self.body.findall(path, NS) if self.body is not None else []


def parse_request(data: bytes) -> WSManRequest:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WSManFault(FAULT_SCHEMA_VALIDATION, f"The request is not well-formed XML: {exc}") from exc
    header = root.find("s:Header", NS)
    if root.tag != f"{{{NS['s']}}}Envelope" or header is None:
        raise WSManFault(FAULT_SCHEMA_VALIDATION, "The request is not a SOAP 1.2 envelope with a header.")
    action = _text(header, "a:Action")
    message_id = _text(header, "a:MessageID")
    if not action or not message_id:
        raise WSManFault(FAULT_SCHEMA_VALIDATION, "The request has no a:Action or a:MessageID.")
    shell_id = None
    for selector in header.findall("w:SelectorSet/w:Selector", NS):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    options = {option.get("Name", ""): (option.text or "").strip()
               for option in header.findall("w:OptionSet/w:Option", NS)}
    return WSManRequest(
        action=action, message_id=message_id, resource_uri=_text(header, "w:ResourceURI") or "",
        shell_id=shell_id, options=options,
        operation_timeout_s=_duration(_text(header, "w:OperationTimeout") or "PT20S"),
        body=root.find("s:Body", NS),
    )


def _text(parent: ET.Element, path: str) -> str | None:
    element = parent.find(path, NS)
    return element.text.strip() if element is not None and element.text else None


def _duration(text: str) -> float:
    """xs:duration as WinRM uses it: PT20S, PT20.000S, PT1M."""
    try:
        value = text.upper().removeprefix("PT")
        minutes, dummy, rest = value.rpartition("M") if "M" in value else ("0", "", value)
        return float(minutes or 0) * 60 + float(rest.removesuffix("S") or 0)
    except ValueError as exc:
        raise WSManFault(FAULT_SCHEMA_VALIDATION, f"Bad OperationTimeout {text!r}") from exc


_NS_DECL = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items() if prefix != "f")


def envelope(action: str, relates_to: str, body: str) -> bytes:
    header = (f"<a:Action>{action}</a:Action><a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
              f"<a:To>{ANONYMOUS}</a:To><a:RelatesTo>{escape(relates_to)}</a:RelatesTo>")
    return (f'<s:Envelope xml:lang="en-US" {_NS_DECL}><s:Header>{header}</s:Header>'
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


def create_response(relates_to: str, address: str, shell_id: str) -> bytes:
    # pywinrm reads the first element with Name="ShellId"; a real server also returns rsp:Shell.
    body = (f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{CMD_RESOURCE_URI}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
            f"<rsp:ResourceUri>{CMD_RESOURCE_URI}</rsp:ResourceUri><rsp:InputStreams>stdin</rsp:InputStreams>"
            f"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>")
    return envelope(ACTION_CREATE + "Response", relates_to, body)


def command_response(relates_to: str, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return envelope(ACTION_COMMAND + "Response", relates_to, body)


def send_response(relates_to: str) -> bytes:
    return envelope(ACTION_SEND + "Response", relates_to, "<rsp:SendResponse/>")


def receive_response(relates_to: str, command_id: str, streams: list[tuple[str, str]],
                     done: bool, exit_code: int | None = None) -> bytes:
    """streams: (name, base64 text) pairs; an empty text marks that stream's End."""
    cid = quoteattr(command_id)
    parts = []
    for name, data in streams:
        if data:
            parts.append(f'<rsp:Stream Name="{name}" CommandId={cid}>{data}</rsp:Stream>')
        else:
            parts.append(f'<rsp:Stream Name="{name}" CommandId={cid} End="true"></rsp:Stream>')
    if done:
        parts.append(f"<rsp:CommandState CommandId={cid} State=\"{STATE_DONE}\">"
                     f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>")
    else:
        parts.append(f'<rsp:CommandState CommandId={cid} State="{STATE_RUNNING}"/>')
    return envelope(ACTION_RECEIVE + "Response", relates_to,
                    f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>")


def signal_response(relates_to: str) -> bytes:
    return envelope(ACTION_SIGNAL + "Response", relates_to, "<rsp:SignalResponse/>")


def delete_response(relates_to: str) -> bytes:
    return envelope(ACTION_DELETE + "Response", relates_to, "")


def fault_response(fault: WSManFault, relates_to: str | None, machine: str) -> bytes:
    body = (f"<s:Fault><s:Code><s:Value>{fault.soap_code}</s:Value><s:Subcode><s:Value>{fault.subcode}"
            f'</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}'
            f'</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{fault.code}" '
            f"Machine={quoteattr(machine)}><f:Message>{escape(fault.message)}</f:Message></f:WSManFault>"
            f"</s:Detail></s:Fault>")
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to or "", body)
