"""How the host scripts start installers, as the lab reads it from them (lab/hosts/scripts/_launching.py).

The lab's installers refuse to run outside their folder, a Start-Process -PassThru exit code can be $null
and a timed-out installer keeps running unless stopped: these tests fail when the scripts go back to
starting installers the old way.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

# pylint: disable=wrong-import-position
from lab.hosts.scripts._launching import PROFILE_DIR, launching, launching_of  # noqa: E402

# Start-Installer as the collection used to write it, and one of its calls.
OLD_START_INSTALLER = '''function Start-Installer {
    param([string]$FilePath, [string]$Arguments, [int]$TimeoutSeconds)
    $process = Start-Process -FilePath $FilePath -ArgumentList $Arguments -PassThru -WindowStyle Hidden
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        throw "$(Split-Path -Leaf $FilePath) is still running after $TimeoutSeconds s"
    }
    return $process.ExitCode
}
'''
OLD_CALL = "$exitCode = Start-Installer -FilePath $configurator -Arguments $arguments -TimeoutSeconds $s.timeout\n"


def test_the_scripts_start_installers_in_their_folder_with_an_exit_code_and_stop_them_at_the_timeout():
    for script in ("replication_provider_apply", "replication_provider_remove"):
        launch = launching(script)
        assert launch.sets_working_directory and launch.exit_code_reliable and launch.stops_on_timeout, script
    assert launching("replication_provider_apply").calls_with_working_directory >= {"configurator", "setupdr", "setup_file"}
    assert launching("replication_provider_remove").calls_with_working_directory == {"msiexec"}
    assert launching("replication_provider_apply").working_directory("setupdr", r"C:\x") == r"C:\x"


def test_the_old_start_installer_runs_from_the_profile_folder_without_exit_code_and_leaves_a_hung_installer_running():
    launch = launching_of(OLD_START_INSTALLER, OLD_CALL)
    assert not launch.sets_working_directory and not launch.exit_code_reliable and not launch.stops_on_timeout
    assert launch.working_directory("configurator", r"C:\Program Files\Microsoft Azure Site Recovery Provider") == PROFILE_DIR
