"""The embedded lab: a local stand-in for a Hyper-V estate and its Azure side.

It speaks the real protocols (WS-Management over HTTPS for the hosts) so the real
ansible-playbook -> winrm connection -> pywinrm path runs against it. Not shipped in
the built collection (galaxy.yml build_ignore).

The lab reuses the collection's own models (the replication rate model) by importing them as
`ansible_collections.azmigrate.hyperv...`, however the lab is started (`python -m lab`, tests,
bench): the Makefile links .collections/ansible_collections/azmigrate/hyperv to the repository root,
and importing this package puts .collections on sys.path.
"""

import sys
from pathlib import Path

COLLECTIONS_ROOT = Path(__file__).resolve().parent.parent / ".collections"
COLLECTION_LINK = COLLECTIONS_ROOT / "ansible_collections" / "azmigrate" / "hyperv"

if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.append(str(COLLECTIONS_ROOT))
if not COLLECTION_LINK.exists():
    raise ImportError(f"the lab imports the collection from {COLLECTION_LINK}, which does not exist: "
                      "run `make` (it links .collections/ansible_collections/azmigrate/hyperv to the repository root)")
