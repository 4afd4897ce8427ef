# azmigrate-host-script: upload_threads_set/2
# Writes the UploadThreadsPerVM / DownloadThreadsPerVM REG_DWORDs that azmigrate.hyperv.upload_threads
# planned, then reads them back and prints the same document as upload_threads_read/1, so the
# controller judges success by what is stored, with what it found before writing under "replaced" (a
# write sent without a read first still tells what it changed). Protocol: docs/host-scripts.md
# ("upload_threads_set/2").
# Parameters: {"writes": {"UploadThreadsPerVM": 8}} (value name -> count, 1 to 32; validated on the
# controller, checked again here because this script changes the host).
# Windows PowerShell 5.1 syntax only. The runner inserts prelude.ps1 after the marker.

$WarningPreference = 'SilentlyContinue'

$replicationPath = 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication'
$step = 'reading the parameters from stdin'
try {
    $request = Read-HostScriptRequest -Line @($input)
    $writes = @($request.params.writes.PSObject.Properties)
    foreach ($write in $writes) {
        if (@('UploadThreadsPerVM', 'DownloadThreadsPerVM') -notcontains $write.Name -or $write.Value -isnot [int] -or $write.Value -lt 1 -or $write.Value -gt 32) {
            throw "refusing to write $($write.Name) = $($write.Value): only UploadThreadsPerVM and DownloadThreadsPerVM, 1 to 32"
        }
    }

    $step = 'reading the Recovery Services agent and the values it replaces'
    $replaced = Get-ThreadsDocument

    $step = "creating $replicationPath"
    # The agent's setup does not necessarily create the key: KB 3056159 says to add it when missing.
    if (-not (Test-Path -LiteralPath $replicationPath)) {
        $null = New-Item -Path $replicationPath -Force
    }
    foreach ($write in $writes) {
        $step = "writing $($write.Name) = $($write.Value) (REG_DWORD) under $replicationPath"
        # -Force replaces a value of another type (a REG_SZ left by hand) with the DWORD.
        $null = New-ItemProperty -LiteralPath $replicationPath -Name $write.Name -PropertyType DWord -Value $write.Value -Force
    }

    $step = 'reading the Recovery Services agent and the values back'
    $after = Get-ThreadsDocument
    Write-HostScriptResult -Result ([ordered]@{ agent = $after.agent; replication_registry = $after.replication_registry; replaced = $replaced })
    exit 0
}
catch {
    Write-HostScriptFailure -Message "upload_threads_set failed while $($step): $($_.Exception.Message)"
    exit 1
}
