r"""Who a WinRM session runs as, and whether it can reach another machine with those credentials.

Windows gives a WinRM session the logon its authentication produced. Basic, NTLM, and Kerberos
without delegation yield a network logon that holds no credentials the host could present
onward, so a file share (\\server\share\...) sees an anonymous caller and denies access: the
"double hop". Only CredSSP and Kerberos with delegation hand the host a usable credential
(the delegation column of PSWSMan's authentication matrix; Ansible's WinRM guide says the same).
"""

from __future__ import annotations

from dataclasses import dataclass

# The protocols whose logon carries credentials the host can use for a second hop.
DELEGATING_METHODS = frozenset({"credssp", "kerberos-delegated"})


@dataclass(frozen=True)
class Logon:
    user: str      # as the session's token names it: MACHINE\user
    method: str    # "ntlm", "basic", "kerberos", "kerberos-delegated", "credssp"

    @property
    def reaches_network(self) -> bool:
        return self.method in DELEGATING_METHODS


def is_unc(path: str) -> bool:
    return path.replace("/", "\\").startswith("\\\\")


def share_denied(logon: Logon | None, path: str) -> bool:
    """True when `path` is on a file share this logon cannot authenticate to (no logon: a local console)."""
    return is_unc(path) and logon is not None and not logon.reaches_network
