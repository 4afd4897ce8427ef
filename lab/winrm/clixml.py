"""stderr as PowerShell writes it over WinRM: a CLIXML document of error records.

pywinrm (Session._clean_error_msg) and Ansible (shell/powershell.py _parse_clixml) both
extract the <S S="Error"> texts, decoding _xHHHH_ escapes (CR LF is _x000D__x000A_).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

HEADER = "#< CLIXML\r\n"
NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"


def _escape_text(text: str) -> str:
    # "_x" itself must be escaped (as _x005F_x) so it is not read as an escape sequence.
    text = text.replace("_x", "_x005F_x")
    text = text.replace("\r", "_x000D_").replace("\n", "_x000A_")
    return escape(text)


def error_stream(message: str) -> bytes:
    lines = message.rstrip("\r\n").splitlines() or [""]
    records = "".join(f'<S S="Error">{_escape_text(line + chr(13) + chr(10))}</S>' for line in lines)
    return f'{HEADER}<Objs Version="1.1.0.1" xmlns="{NAMESPACE}">{records}</Objs>'.encode()
