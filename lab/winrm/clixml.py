"""stderr as PowerShell writes it over WinRM: a CLIXML document of error records.

pywinrm (Session._clean_error_msg) and Ansible (shell/powershell.py _parse_clixml) both
extract the <S S="Error"> texts, decoding _xHHHH_ escapes (CR LF is _x000D__x000A_). A new
powershell.exe that loads a module first writes a progress record, "Preparing modules for first
use.", in the same document (the shape ansible-core's own tests of _parse_clixml use); a reader
must drop it.
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


PROGRESS_FIRST_USE = ('<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
                      '<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record">'
                      '<AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC>'
                      '<T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>')


def error_stream(message: str, first_use_progress: bool = True) -> bytes:
    lines = message.rstrip("\r\n").splitlines() or [""]
    records = "".join(f'<S S="Error">{_escape_text(line + chr(13) + chr(10))}</S>' for line in lines)
    progress = PROGRESS_FIRST_USE if first_use_progress else ""
    return f'{HEADER}<Objs Version="1.1.0.1" xmlns="{NAMESPACE}">{progress}{records}</Objs>'.encode("utf-8")
