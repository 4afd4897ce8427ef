# azmigrate-host-script: upload_threads_read/1
# Reads what azmigrate.hyperv.upload_threads manages: the Recovery Services agent (is it installed,
# does its service run) and the UploadThreadsPerVM / DownloadThreadsPerVM values with their registry
# types. Prints one JSON document; protocol and schema: docs/host-scripts.md ("upload_threads_read/1").
# Windows PowerShell 5.1 syntax only. Changes nothing.

$ErrorActionPreference = 'Stop'
# Off on purpose: an absent registry value or property reads as $null.
Set-StrictMode -Off
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

$step = 'reading the parameters from stdin'
try {
    # Same way Ansible's bootstrap wrapper reads its payload; this script takes no parameters.
    $stdin = @($input) -join "`n"
    $null = ConvertFrom-Json -InputObject $stdin

    $step = 'reading the Recovery Services agent (HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup, service obengine)'
    # InstallPath under Setup is how the agent is detected (windows-host.md §1), never Win32_Product.
    $setup = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup' -ErrorAction Ignore
    $agent = $null
    if ($setup.InstallPath) {
        $service = Get-Service -Name 'obengine' -ErrorAction Ignore
        $serviceStatus = $null
        if ($null -ne $service) {
            $serviceStatus = [string]$service.Status
        }
        $agent = [ordered]@{ path = [string]$setup.InstallPath; service_status = $serviceStatus }
    }

    $step = 'reading HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication'
    # Registry types matter: the agent reads these as REG_DWORD (KB 3056159), so a REG_SZ "8" is reported
    # with its type and rewritten. GetValue returns $null for an absent value.
    $key = Get-Item -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication' -ErrorAction Ignore
    $registryValues = [ordered]@{}
    foreach ($name in 'UploadThreadsPerVM', 'DownloadThreadsPerVM') {
        $registryValues[$name] = $null
        if ($null -ne $key -and @($key.GetValueNames()) -contains $name) {
            $registryValues[$name] = [ordered]@{ data = $key.GetValue($name); kind = [string]$key.GetValueKind($name) }
        }
    }

    $result = [ordered]@{ agent = $agent; replication_registry = $registryValues }
    ConvertTo-Json -InputObject $result -Depth 10 -Compress
    exit 0
}
catch {
    $failure = [ordered]@{ failed = $true; msg = "upload_threads_read failed while $($step): $($_.Exception.Message)" }
    ConvertTo-Json -InputObject $failure -Depth 10 -Compress
    exit 1
}
