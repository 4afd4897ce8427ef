"""Downloads on a simulated host: files the lab publishes (`publish`, served from the world at
https://downloads.lab.test/... with a SAS-like signature), and real HTTPS fetches from loopback (Azurite's
blob endpoint with a SAS). Failures read as WebClient.DownloadFile's WebException messages. What a host
may reach is lab/hosts/installers.py's `download`.
"""

from __future__ import annotations

import hashlib
import http
import ipaddress
import secrets
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from lab.hosts.installer_state import InstallerError, PublishedFile

PUBLISHED_BASE = "https://downloads.lab.test/"    # files the lab serves from the world (`publish`)
DOWNLOAD_TIMEOUT_S = 60.0                        # real seconds a download may take


def publish(files: dict[str, PublishedFile], name: str, content: bytes) -> dict:
    """Serve `content` for download; returns its URL (with a SAS-like signature) and SHA-256."""
    signature = secrets.token_urlsafe(24)
    path = f"/installers/{name}"
    files[path.lower()] = PublishedFile(content, signature)
    return {"url": f"{PUBLISHED_BASE.rstrip('/')}{path}?sv=2024-08-04&sp=r&sig={signature}", "sha256": hashlib.sha256(content).hexdigest(),
            "path": path}


def download_error(text: str) -> InstallerError:
    """WebClient.DownloadFile's failure as PowerShell shows it (a MethodInvocationException around a WebException)."""
    return InstallerError(f'Exception calling "DownloadFile" with "2" argument(s): "{text}"')


def http_error(code: int) -> InstallerError:
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = "Error"
    return download_error(f"The remote server returned an error: ({code}) {phrase}.")


def published(files: dict[str, PublishedFile], url: str) -> bytes:
    base, dummy, query = url.partition("?")
    path = "/" + base.split("://", 1)[-1].partition("/")[2]
    found = files.get(path.lower())
    if found is None:
        raise http_error(404)
    if f"sig={found.signature}" not in query.split("&"):
        raise http_error(403)
    return found.content


def on_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def fetch(url: str, cafile: Path | None) -> bytes:
    """GET `url` (in a worker thread: this blocks). Errors become the WebException messages, never naming the URL
    (it may carry a SAS)."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile is not None and cafile.exists() else None)
    try:
        with urllib.request.urlopen(url, context=context, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as exc:
        raise http_error(exc.code) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):
            raise download_error("The underlying connection was closed: Could not establish trust relationship for "
                                 "the SSL/TLS secure channel.") from None
        raise download_error("Unable to connect to the remote server") from None
    except (OSError, TimeoutError):
        raise download_error("The operation has timed out") from None
