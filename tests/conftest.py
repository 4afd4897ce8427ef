"""Make the collection importable as ansible_collections.azmigrate.hyperv, and the lab as lab, in tests.

.collections/ansible_collections/azmigrate/hyperv is a symlink to the repository root (the Makefile
makes it), the layout ansible-core's collection loader expects; the lab is the package lab/ at the
repository root.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

for import_root in (REPO_ROOT / ".collections", REPO_ROOT):
    if str(import_root) not in sys.path:
        sys.path.insert(0, str(import_root))
