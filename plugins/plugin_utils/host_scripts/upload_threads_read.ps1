# azmigrate-host-script: upload_threads_read/1
# Reads what azmigrate.hyperv.upload_threads manages: the Recovery Services agent (is it installed,
# does its service run) and the UploadThreadsPerVM / DownloadThreadsPerVM values with their registry
# types. Prints one JSON document; protocol and schema: docs/host-scripts.md ("upload_threads_read/1").
# Windows PowerShell 5.1 syntax only. Changes nothing. The runner inserts prelude.ps1 after the marker.

$WarningPreference = 'SilentlyContinue'

$step = 'reading the parameters from stdin'
try {
    # This script takes no parameters.
    $null = Read-HostScriptRequest -Line @($input)

    $step = 'reading the Recovery Services agent and HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication'
    Write-HostScriptResult -Result (Get-ThreadsDocument)
    exit 0
}
catch {
    Write-HostScriptFailure -Message "upload_threads_read failed while $($step): $($_.Exception.Message)"
    exit 1
}
