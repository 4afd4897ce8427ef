"""``python -m pslint [FILE ...]``: check the given .ps1 files (default: every one under plugins/)."""

import sys
from pathlib import Path

from . import check_paths, default_paths


def main(argv: list[str]) -> int:
    paths = [Path(argument) for argument in argv] or default_paths()
    findings = check_paths(paths)
    for finding in findings:
        print(finding)
    print(f"pslint: {len(findings)} finding(s) in {len(paths)} file(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
