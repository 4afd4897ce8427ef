"""Simulation of upload_threads_set/2: write the thread counts as REG_DWORDs, read them back.

Parameters {"writes": {"UploadThreadsPerVM": 8}}. Like the real script it refuses names
other than the two thread values and counts outside 1-32, creates the Replication key when
it is missing (New-Item -Force), replaces a value of another type (New-ItemProperty
-PropertyType DWord -Force), and prints upload_threads_read/1's document with the one it read before writing
under "replaced". Writing does not
need the agent: the key is plain registry (see plugins/modules/upload_threads.py).
"""

from __future__ import annotations

from lab.hosts.scripts import ScriptContext, ScriptFailed
from lab.hosts.scripts.upload_threads_read import THREAD_VALUES, threads_document
from lab.hosts.state import MARS_REPLICATION_KEY

VERSIONS = (2,)

# What the script changes on the host, as tests/pslint/contract.py reads it from the .ps1 (registry keys and
# values, services, programs with their arguments, state-changing cmdlets with their parameters; {} is a run-time
# value). This simulation performs these; tests/unit/test_twin_contracts.py fails when the script changes them.
SIDE_EFFECTS = {
    "registry_values_set": {r"HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication": ["{}"]},
    "registry_keys_created": [r"HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication"],
    "cmdlets": {"New-Item": ["Force", "Path"], "New-ItemProperty": ["Force", "LiteralPath", "Name", "PropertyType", "Value"]},
}


def run(ctx: ScriptContext) -> dict:
    writes = ctx.params.get("writes") or {}
    for name, value in writes.items():
        # ConvertFrom-Json gives [int] for a JSON integer only; the script refuses anything else.
        if name not in THREAD_VALUES or isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 32:
            raise ScriptFailed(f"upload_threads_set failed while reading the parameters from stdin: refusing to write "
                               f"{name} = {value}: only UploadThreadsPerVM and DownloadThreadsPerVM, 1 to 32")
    replaced = threads_document(ctx.host)
    ctx.host.registry.create_key(MARS_REPLICATION_KEY)
    for name, value in writes.items():
        # Registry.set_value keeps the existing name's spelling only if we delete first: New-ItemProperty
        # -Force recreates the value under the name given.
        ctx.host.registry.delete_value(MARS_REPLICATION_KEY, name)
        ctx.host.registry.set_value(MARS_REPLICATION_KEY, name, int(value))
    return {**threads_document(ctx.host), "replaced": replaced}
