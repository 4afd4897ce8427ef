"""Stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test creates each sanity virtualenv without pip and runs a cached
``~/.ansible/test/cache/get_pip_<version>.py`` to bootstrap it, downloading that
script from a host outside the package index when it is missing. Machines that
reach only the package index fail there, so ``make`` installs this file in the
cache instead: it bootstraps pip with the interpreter's own ensurepip and then
installs the requested pip version from the configured index.
"""

import subprocess
import sys

# ensurepip runs in a child process: run in-process it clears pip's configuration
# environment, and the install below could then no longer reach the index.
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)

# get-pip.py options that pip itself does not know.
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}
pip_arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
sys.exit(subprocess.run([sys.executable, "-m", "pip", "install", *pip_arguments], check=False).returncode)
