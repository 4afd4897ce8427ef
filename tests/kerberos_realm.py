"""The lab's Kerberos realm for a test, or why there is none: a skip with the reason, a failure under CI.

`make test` (or `make kerberos`) installs the KDC and the bindings (tests/setup-kerberos). A machine without them still
runs every other test; CI (CI=true) must run these too, so a missing piece fails there instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

SET_UP_BY = "`make test` (or `make kerberos`) installs them (tests/setup-kerberos)"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_pieces(lab) -> list[str]:
    """What the Kerberos tests need that this machine or this lab lacks, in words."""
    missing = []
    if not lab.info.get("kerberos"):
        missing.append("the lab runs no KDC (krb5-kdc, krb5-admin-server, or the gssapi or krb5 Python package is missing)")
    if importlib.util.find_spec("kerberos") is None:
        missing.append("pywinrm's Kerberos transport needs pykerberos")
    if shutil.which("kinit") is None:
        missing.append("kinit is not on PATH (krb5-user)")
    return missing


def lab_realm(lab) -> dict:
    """The realm's details (realm, kdc, krb5_conf, user, password); skips, or fails under CI, without it."""
    missing = missing_pieces(lab)
    if missing:
        reason = f"{'; '.join(missing)}: {SET_UP_BY}"
        if _in_ci():
            pytest.fail(f"CI requires the Kerberos tests: {reason}", pytrace=False)
        pytest.skip(reason)
    return lab.info["kerberos"]
