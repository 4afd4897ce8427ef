r"""How one host's WinRM listeners authenticate a client, as a Windows Server listener does out of the box.

The WinRM service's defaults (`winrm get winrm/config/service`): Negotiate and Kerberos on,
Basic off, AllowUnencrypted false, CbtHardeningLevel Relaxed. So:

- A request without credentials gets 401 with one `WWW-Authenticate` line per enabled scheme:
  `Negotiate`, `Kerberos`, and `Basic realm="WSMAN"` only where Basic is enabled.
- Negotiate carrying NTLM is accepted with pyspnego's NTLM acceptor, against the host's local
  administrator (`user`, `.\user` or `MACHINE\user`). The context belongs to the TCP connection:
  later requests on it need no header, as with HTTP.sys.
- Over HTTPS, a client that sends channel binding (tls-server-end-point) must send the right one;
  one that sends none is let through (Relaxed), unless the host's policy says Strict.
- Over HTTP, the SOAP body must be sealed with the session's NTLM keys (MS-WSMV 2.2.9.1.1,
  multipart/encrypted); plain SOAP is refused with 401 unless AllowUnencrypted is set. Basic needs
  AllowUnencrypted too when it comes over HTTP.
- Kerberos (raw or in SPNEGO) is accepted with the realm's keytab when the lab runs a KDC
  (lab/kdc.py); without one, Kerberos tokens are refused.

The host's policy is read from where Group Policy writes the WinRM service settings
(POLICY_KEY), so an estate or the admin API enables Basic per host with a registry value.
Nothing here logs a token, a password or a hash.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import spnego
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError

from lab import http
from lab.hosts.logon import Logon
from lab.hosts.state import HostState

# Group Policy "Windows Components/Windows Remote Management (WinRM)/WinRM Service" (WindowsRemoteManagement.admx).
POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service"
NTLM_SIGNATURE = b"NTLMSSP\x00"
ENCRYPTED_PROTOCOL = b"application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL.decode()}";boundary="Encrypted Boundary"'
BOUNDARY = b"--Encrypted Boundary"
OCTET_STREAM_LINE = b"\tContent-Type: application/octet-stream\r\n"
SOAP_TYPE = b"application/soap+xml;charset=UTF-8"


@dataclass(frozen=True)
class ListenerPolicy:
    allow_basic: bool = False
    allow_unencrypted: bool = False
    cbt_hardening: str = "Relaxed"     # None, Relaxed or Strict

    @classmethod
    def of(cls, host: HostState) -> ListenerPolicy:
        """Read on every request, so a policy changed through the admin API applies at once."""
        registry = host.registry
        level = str(registry.get_value(POLICY_KEY, "CbtHardeningLevel", "Relaxed") or "Relaxed")
        return cls(allow_basic=bool(registry.get_value(POLICY_KEY, "AllowBasic", 0)),
                   allow_unencrypted=bool(registry.get_value(POLICY_KEY, "AllowUnencryptedTraffic", 0)),
                   cbt_hardening=level.capitalize())

    def challenges(self) -> list[str]:
        return ["Negotiate", "Kerberos"] + (['Basic realm="WSMAN"'] if self.allow_basic else [])


@dataclass
class Session:
    """An authenticated caller: its logon, and the NTLM context that seals messages (None for Basic)."""

    logon: Logon
    context: object | None = None
    reply: str | None = None    # a final Negotiate token for the next response (Kerberos mutual authentication)


class Refusal(Exception):
    """Answer with `response`; `failed` says whether the caller presented credentials that were refused."""

    def __init__(self, response: http.Response, failed: bool):
        super().__init__(response.status)
        self.response = response
        self.failed = failed


class BadSealedMessage(ValueError):
    pass


class ListenerAuth:
    def __init__(self, host: HostState, username: str, password: str, user_file: Path, certificate: Path | None,
                 kerberos_realm: str | None = None, kerberos_service: str | None = None):
        self.host = host
        self.kerberos_realm = kerberos_realm   # None: no KDC, Kerberos tokens are refused
        # This host's own SPN (HTTP@<address>): like a Windows host, which holds only its own
        # account's key, it accepts no ticket issued for another host, although the lab's keytab has them all.
        self.kerberos_service = kerberos_service
        self.username = username
        self.password = password
        self.user_file = user_file
        _write_user_file(user_file, host.name, username, password)
        self.bindings = _tls_end_point_bindings(certificate) if certificate else None

    def authenticate(self, request: http.Request, secure: bool) -> Session:
        """The request's session, or raise Refusal with the 401 Windows answers."""
        policy = ListenerPolicy.of(self.host)
        scheme, dummy, token = (request.headers.get("Authorization") or "").partition(" ")
        scheme = scheme.lower()
        if not scheme:
            session = request.connection.get("session")
            if session is None:
                raise self._challenge(policy, failed=False)
            return session
        if scheme == "basic":
            return self._basic(token, policy, secure)
        if scheme != "negotiate":
            raise self._challenge(policy, failed=True)
        try:
            raw = base64.b64decode(token.strip(), validate=True)
        except binascii.Error:
            raise self._challenge(policy, failed=True) from None
        if not raw.startswith(NTLM_SIGNATURE):
            return self._kerberos(raw, request, policy)
        if len(raw) < 12:
            raise self._challenge(policy, failed=True)
        message_type = struct.unpack("<I", raw[8:12])[0]
        if message_type == 1:
            try:
                with self._store():
                    context = spnego.server(protocol="ntlm")
                    challenge = context.step(raw)
            except (SpnegoError, ValueError, struct.error):
                raise self._challenge(policy, failed=True) from None
            request.connection.pop("session", None)
            request.connection["pending"] = context
            raise Refusal(http.Response(401, _auth_headers([f"Negotiate {base64.b64encode(challenge).decode()}"]),
                                        b""), failed=False)
        context = request.connection.pop("pending", None)
        if message_type != 3 or context is None:
            raise self._challenge(policy, failed=True)
        try:
            bindings = self._bindings_for(raw, policy, secure)
            with self._store():
                context.step(raw, channel_bindings=bindings)
        except (SpnegoError, ValueError, struct.error):
            # Wrong password, unknown user or channel binding mismatch: Windows says only 401.
            raise self._challenge(policy, failed=True) from None
        session = Session(Logon(f"{self.host.name}\\{self.username}", "ntlm"), context)
        request.connection["session"] = session
        return session

    def _kerberos(self, token: bytes, request: http.Request, policy: ListenerPolicy) -> Session:
        """A Kerberos AP-REQ (raw or in SPNEGO), accepted with the realm's keytab ($KRB5_KTNAME).

        A ticket for another host's SPN fails here, as it fails to decrypt on Windows.
        Channel binding is not checked for Kerberos (MIT's acceptor ignores a client's bindings
        when it has none of its own).
        """
        if self.kerberos_realm is None:
            raise self._challenge(policy, failed=True)
        try:
            acceptor = spnego.CredentialCache(username=self.kerberos_service) if self.kerberos_service else None
            context = spnego.server(protocol="kerberos", credentials=acceptor)
            answer = context.step(token)
        except (SpnegoError, ValueError, AttributeError):
            # AttributeError: MIT refuses a ticket for another principal with an error token rather than an
            # exception, and pyspnego then reads the flags of the unestablished context.
            raise self._challenge(policy, failed=True) from None
        if not context.complete:
            raise self._challenge(policy, failed=True)
        user, dummy, realm = (context.client_principal or "").partition("@")
        delegated = bool(context.context_attr & spnego.ContextReq.delegate)
        domain = realm.split(".")[0] if realm else self.kerberos_realm.split(".")[0]
        session = Session(Logon(f"{domain}\\{user}", "kerberos-delegated" if delegated else "kerberos"), context,
                          reply=f"Negotiate {base64.b64encode(answer).decode()}" if answer else None)
        request.connection.pop("pending", None)
        request.connection["session"] = session
        return session

    def _basic(self, token: str, policy: ListenerPolicy, secure: bool) -> Session:
        if not policy.allow_basic or not (secure or policy.allow_unencrypted):
            raise self._challenge(policy, failed=True)
        try:
            user, dummy, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise self._challenge(policy, failed=True) from None
        # A local account; Windows also accepts .\user and MACHINE\user for it.
        domain, separator, name = user.rpartition("\\")
        if separator and domain.lower() in (".", self.host.name.lower()):
            user = name
        if not (hmac.compare_digest(user.lower(), self.username.lower())
                and hmac.compare_digest(password, self.password)):
            raise self._challenge(policy, failed=True)
        return Session(Logon(f"{self.host.name}\\{self.username}", "basic"))

    def _bindings_for(self, authenticate: bytes, policy: ListenerPolicy, secure: bool) -> GssChannelBindings | None:
        """The bindings to check the client's against: only over TLS, and (Relaxed) only when it sent some."""
        if not secure or self.bindings is None or policy.cbt_hardening == "None":
            return None
        if _sends_bindings(authenticate) or policy.cbt_hardening == "Strict":
            return self.bindings
        return None

    def refuse_unencrypted(self) -> Refusal:
        return self._challenge(ListenerPolicy.of(self.host), failed=True)

    def _challenge(self, policy: ListenerPolicy, failed: bool) -> Refusal:
        return Refusal(http.Response(401, _auth_headers(policy.challenges()), b""), failed)

    @contextlib.contextmanager
    def _store(self):
        """pyspnego's acceptor reads its users from $NTLM_USER_FILE; each host has its own file.

        The lab's event loop is one thread and a context step never awaits, so setting the
        variable around the step cannot leak into another host's handshake.
        """
        previous = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = str(self.user_file)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("NTLM_USER_FILE", None)
            else:
                os.environ["NTLM_USER_FILE"] = previous


def is_sealed(request: http.Request) -> bool:
    content_type = request.headers.get("Content-Type") or ""
    return content_type.lower().startswith("multipart/encrypted") and ENCRYPTED_PROTOCOL.decode().lower() in content_type.lower()


def unseal(context, body: bytes) -> bytes:
    """The SOAP message inside a multipart/encrypted body (MS-WSMV 2.2.9.1.1)."""
    parts = [part for part in body.split(BOUNDARY + b"\r\n") if part]
    if len(parts) != 2:
        raise BadSealedMessage("expected one encrypted part")
    header, payload = parts
    match = re.search(rb"Length=(\d+)", header)
    payload = payload.removesuffix(BOUNDARY + b"--\r\n")
    if match is None or not payload.startswith(OCTET_STREAM_LINE):
        raise BadSealedMessage("the encrypted part has no Length or no octet-stream")
    data = payload[len(OCTET_STREAM_LINE):]
    signature_length = struct.unpack("<i", data[:4])[0]
    try:
        clear = context.unwrap_winrm(data[4:4 + signature_length], data[4 + signature_length:])
    except SpnegoError as exc:
        raise BadSealedMessage("the message does not decrypt with the session's keys") from exc
    if len(clear) != int(match.group(1)):
        raise BadSealedMessage("the decrypted length differs from the declared Length")
    return clear


def seal(context, clear: bytes) -> bytes:
    wrapped = context.wrap_winrm(clear)
    signature, sealed = wrapped.header, wrapped.data
    return (BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED_PROTOCOL + b"\r\n"
            b"\tOriginalContent: type=" + SOAP_TYPE + b";Length=" + str(len(clear)).encode() + b"\r\n"
            + BOUNDARY + b"\r\n" + OCTET_STREAM_LINE + struct.pack("<i", len(signature)) + signature + sealed
            + BOUNDARY + b"--\r\n")


def _auth_headers(challenges: list[str]) -> dict:
    return {"WWW-Authenticate": challenges, "Server": "Microsoft-HTTPAPI/2.0"}


def _sends_bindings(authenticate: bytes) -> bool:
    """Whether an NTLMv2 AUTHENTICATE message carries a non-zero MsvAvChannelBindings."""
    from spnego._ntlm_raw.messages import Authenticate, AvId, NTClientChallengeV2  # pylint: disable=import-outside-toplevel

    response = Authenticate.unpack(authenticate).nt_challenge_response or b""
    if len(response) <= 24:
        return False
    value = NTClientChallengeV2.unpack(response[16:]).av_pairs.get(AvId.channel_bindings)
    return bool(value) and value != b"\x00" * 16


def _tls_end_point_bindings(certificate: Path) -> GssChannelBindings:
    """RFC 5929 tls-server-end-point: the certificate's hash (SHA-256 unless it is signed with a stronger one)."""
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest.finalize())


def _write_user_file(path: Path, machine: str, username: str, password: str) -> None:
    """The host's local account in pyspnego's DOMAIN:USER:PASSWORD format: user, .\\user and MACHINE\\user."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{domain}:{username}:{password}" for domain in ("", ".", machine)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
