# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Files on the controller: the one SHA-256 of a setup file, which the staged blob's metadata, the HTTPS download's
check on the host and the replication_provider action all compare."""

from __future__ import annotations

import hashlib

# Read in blocks: a provider setup file is hundreds of megabytes.
READ_BLOCK_BYTES = 4 * 1024 * 1024


def file_sha256(path: str) -> str:
    """The lowercase hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(READ_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()
