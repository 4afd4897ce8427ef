"""Windows PowerShell's language modes, as they meet the collection's host-script bootstrap.

Under a Windows Defender Application Control (WDAC) or AppLocker policy that enforces script rules, PowerShell runs
what the policy does not trust in ConstrainedLanguage mode, and a command line (-EncodedCommand over WinRM) is never
a trusted file (about_Language_Modes, "Using a system application control policy"). There `New-Object` creates only
the allowed types and .NET methods can be called only on them; anything else is refused with the messages below,
each a statement-terminating error: that statement stops, the next one runs. Variables, property reads, string
expansion, comparisons, `if`, `foreach` and `exit` work as in FullLanguage.

`run_bootstrap(text, mode, computer)` walks the bootstrap's statements (one per line, as the collection writes it)
as PowerShell would in `mode`:
- the language-mode guard -- a variable set to `$ExecutionContext.SessionState.LanguageMode` (bare or in "$(...)"),
  then `if($var -ne "FullLanguage"){"<document>";exit N}` -- prints its expandable string and exits with N;
- without the guard, the first `New-Object` of a type not allowed fails, and so does every later method call on the
  variable it left unset ("You cannot call a method on a null-valued expression."), one error per statement (the
  lab does not repeat them per loop iteration), so the script on stdin never becomes a ScriptBlock and nothing of it
  runs; the final `exit $LASTEXITCODE` exits with 0, no native command having set $LASTEXITCODE.
Only FullLanguage and ConstrainedLanguage are modelled: an application control policy yields ConstrainedLanguage,
while RestrictedLanguage and NoLanguage come from session configurations, which the collection does not use.
"""

from __future__ import annotations

import re

from lab.hosts.state import LANGUAGE_MODES
from lab.winrm import clixml
from lab.winrm.shell import CommandResult

FULL, CONSTRAINED = LANGUAGE_MODES

# about_Language_Modes, "ConstrainedLanguage mode": the .NET types allowed (as written there, case-insensitive).
ALLOWED_TYPES = frozenset(name.lower() for name in (
    "adsi adsisearcher Alias AllowEmptyCollection AllowEmptyString AllowNull ArgumentCompleter ArgumentCompletions "
    "array bigint bool byte char cimclass cimconverter ciminstance CimSession cimtype CmdletBinding cultureinfo "
    "datetime decimal double DscLocalConfigurationManager DscProperty DscResource ExperimentAction Experimental "
    "ExperimentalFeature float guid hashtable int int16 int32 int64 ipaddress IPEndpoint long mailaddress "
    "Microsoft.PowerShell.Commands.ModuleSpecification NullString Object[] ObjectSecurity ordered OutputType "
    "Parameter PhysicalAddress pscredential pscustomobject PSDefaultValue pslistmodifier psobject "
    "psprimitivedictionary PSTypeNameAttribute ref regex sbyte securestring semver short single string "
    "SupportsWildcards switch timespan uint uint16 uint32 uint64 ulong uri ushort ValidateCount ValidateDrive "
    "ValidateLength ValidateNotNull ValidateNotNullOrEmpty ValidatePattern ValidateRange ValidateScript ValidateSet "
    "ValidateTrustedData ValidateUserDrive version void WildcardPattern wmi wmiclass wmisearcher "
    "X500DistinguishedName X509Certificate xml"
).split())

# Windows PowerShell 5.1's own error texts (the resource strings behind these FullyQualifiedErrorIds).
CANNOT_CREATE_TYPE = ("New-Object : Cannot create type. Only core types are supported in this language mode.",
                      "PermissionDenied: (:) [New-Object], PSNotSupportedException",
                      "CannotCreateTypeConstrainedLanguage,Microsoft.PowerShell.Commands.NewObjectCommand")
METHOD_NOT_ALLOWED = ("Cannot invoke method. Method invocation is supported only on core types in this language mode.",
                      "InvalidOperation: (:) [], RuntimeException", "MethodInvocationNotSupportedInConstrainedLanguage")
NULL_METHOD = ("You cannot call a method on a null-valued expression.",
               "InvalidOperation: (:) [], RuntimeException", "InvokeMethodOnNull")

_MODE_READ = re.compile(r'^\$(?P<var>\w+)\s*=\s*(?:"\$\()?\$ExecutionContext\.SessionState\.LanguageMode\)?"?$', re.IGNORECASE)
_GUARD = re.compile(r'^if\s*\(\s*\$(?P<var>\w+)\s+-ne\s+["\']FullLanguage["\']\s*\)\s*\{\s*"(?P<text>(?:[^"`]|`.)*)"\s*;'
                    r'\s*exit\s+(?P<code>\d+)\s*\}$', re.IGNORECASE)
_NEW_OBJECT = re.compile(r'^\$(?P<var>\w+)\s*=\s*New-Object\s+(?:-TypeName\s+)?(?P<type>[\w.]+)', re.IGNORECASE)
_STATIC_CALL = re.compile(r'\[(?P<type>[\w.]+)\]::\w+\(', re.IGNORECASE)
_METHOD_CALL = re.compile(r'\$(?P<var>\w+)\.\w+\(')
_EXIT = re.compile(r'^exit(?:\s+(?P<value>\S+))?$', re.IGNORECASE)


class NotSimulated(ValueError):
    """A statement of the bootstrap the lab cannot judge in a non-Full language mode: fail loudly, never guess."""


def allowed(type_name: str) -> bool:
    name = type_name.lower()
    return name in ALLOWED_TYPES or name.removeprefix("system.") in ALLOWED_TYPES


def _error(statement: str, row: int, column: int, error: tuple[str, str, str]) -> str:
    message, category, error_id = error
    return (f"{message}\nAt line:{row + 1} char:{column + 1}\n+ {statement}\n+ {' ' * column}{'~' * max(1, len(statement) - column)}\n"
            f"    + CategoryInfo          : {category}\n    + FullyQualifiedErrorId : {error_id}\n")


def _expand(text: str, variables: dict[str, str], computer: str) -> str:
    """An expandable string's value: `x escapes, $var and $env:COMPUTERNAME."""
    text = re.sub(r"\$env:COMPUTERNAME", computer, text, flags=re.IGNORECASE)
    text = re.sub(r"\$(\w+)", lambda match: variables.get(match.group(1).lower(), ""), text)
    return re.sub(r"`(.)", r"\1", text)


def run_bootstrap(text: str, mode: str, computer: str) -> CommandResult:
    """What powershell.exe answers to the bootstrap ``text`` in language mode ``mode`` (not FullLanguage)."""
    variables: dict[str, str] = {}
    unset: set[str] = set()
    errors: list[str] = []
    for row, line in enumerate(text.splitlines()):
        statement = line.strip()
        if not statement:
            continue
        if read := _MODE_READ.match(statement):
            variables[read.group("var").lower()] = mode
            continue
        if guard := _GUARD.match(statement):
            if guard.group("var").lower() not in variables:
                raise NotSimulated(f"the guard compares ${guard.group('var')}, which holds no language mode")
            stdout = _expand(guard.group("text"), variables, computer) + "\r\n"
            return CommandResult(stdout=stdout.encode(), stderr=_stderr(errors), exit_code=int(guard.group("code")))
        if ended := _EXIT.match(statement):
            value = ended.group("value")
            code = int(value) if value and value.isdigit() else 0   # $LASTEXITCODE: no native command set it
            return CommandResult(stderr=_stderr(errors), exit_code=code)
        null_call = next((call for call in _METHOD_CALL.finditer(statement) if call.group("var").lower() in unset), None)
        new_object = _NEW_OBJECT.match(statement)
        static = next((call for call in _STATIC_CALL.finditer(statement) if not allowed(call.group("type"))), None)
        if null_call is not None:
            errors.append(_error(statement, row, null_call.start(), NULL_METHOD))
        elif new_object is not None and not allowed(new_object.group("type")):
            errors.append(_error(statement, row, statement.lower().index("new-object"), CANNOT_CREATE_TYPE))
            unset.add(new_object.group("var").lower())
        elif static is not None:
            errors.append(_error(statement, row, static.start(), METHOD_NOT_ALLOWED))
        elif "$executioncontext" in statement.lower() or "fulllanguage" in statement.lower():
            # A guard of another shape than the one modelled: say so rather than run past it.
            raise NotSimulated(f"statement {statement[:120]!r}")
    return CommandResult(stderr=_stderr(errors), exit_code=0)


def _stderr(errors: list[str]) -> bytes:
    return clixml.error_stream("".join(errors), first_use_progress=False) if errors else b""
