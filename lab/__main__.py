"""python -m lab up|down|serve|status: see lab/cli.py."""

import sys

from lab.cli import main

sys.exit(main())
