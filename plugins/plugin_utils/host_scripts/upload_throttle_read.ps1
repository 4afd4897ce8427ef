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

    $step = 'reading the throttle (Get-OBMachineSetting)'
    Write-HostScriptResult -Result (Get-ThrottleDocument)
    exit 0
}
catch {
    Write-HostScriptFailure -Message "upload_throttle_read failed while $($step): $($_.Exception.Message)"
    exit 1
}
