# azmigrate-host-script: upload_throttle_read/1
# Reads what azmigrate.hyperv.upload_throttle manages: the Recovery Services agent (installed? service
# running?) and its throttle from Get-OBMachineSetting. Prints one JSON document; protocol and schema:
# docs/host-scripts.md ("upload_throttle_read/1"). Windows PowerShell 5.1 syntax only. Changes nothing.
# The runner inserts prelude.ps1 after the marker.

$WarningPreference = 'SilentlyContinue'

$step = 'reading the parameters from stdin'
try {
    # This script takes no parameters.
    $null = Read-HostScriptRequest -Line @($input)

    $step = 'reading the Recovery Services agent (HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup, service obengine)'
    $agent = Get-AgentState
    $throttle = $null

    # Get-OBMachineSetting asks the running engine, so without obengine running the throttle stays null.
    if ($null -ne $agent -and $agent.service_status -eq 'Running') {
        $step = 'importing MSOnlineBackup from the agent''s install folder'
        # Setup adds the module folder to the machine PSModulePath, which a WinRM session started before
        # the install does not see (learn.microsoft.com/azure/backup/backup-client-automation): import by full path.
        Import-Module -Name (Join-Path -Path $agent.path -ChildPath 'bin\Modules\MSOnlineBackup')

        $step = 'reading the throttle (Get-OBMachineSetting)'
        # Matched by property name pattern, exactly as host_info/1 reads it (Get-ThrottleSetting in prelude.ps1).
        $throttle = Get-ThrottleSetting
    }

    $result = [ordered]@{ agent = $agent; throttle = $throttle }
    Write-HostScriptResult -Result $result
    exit 0
}
catch {
    Write-HostScriptFailure -Message "upload_throttle_read failed while $($step): $($_.Exception.Message)"
    exit 1
}
