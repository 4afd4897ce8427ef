"""Names of the files a running lab keeps in its state directory."""

LAB_FILE = "lab.json"            # endpoints and credentials; written last, once every endpoint listens
INVENTORY_FILE = "inventory.yml"  # Ansible inventory of the simulated hosts
PID_FILE = "lab.pid"              # pid of `python -m lab serve`
COMMAND_LOG_FILE = "commands.log"  # one JSON line per command a host ran
OUT_FILE = "lab.out"              # stdout/stderr of the detached `serve`
SNAPSHOT_FILE = "world.snapshot"  # the world, for `lab up --resume` / `lab restart` (lab/persist.py)
