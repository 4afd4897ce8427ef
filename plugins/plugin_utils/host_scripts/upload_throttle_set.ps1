# azmigrate-host-script: upload_throttle_set/1
# Applies the throttle that azmigrate.hyperv.upload_throttle planned with Set-OBMachineSetting, then
# reads it back with Get-OBMachineSetting and prints the same document as upload_throttle_read/1, so
# the controller judges success by what the agent reports. Protocol: docs/host-scripts.md
# ("upload_throttle_set/1"). Parameters: {"throttle": null} turns throttling off (-NoThrottle);
# {"throttle": {"work_days": ["Monday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
# "work_hour_bandwidth": 524288, "non_work_hour_bandwidth": 2097152}} sets all five throttle
# parameters together, as the cmdlet requires (windows-host.md §5.3); bandwidths are bytes/s.
# Windows PowerShell 5.1 syntax only.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Off
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

function Get-FirstPropertyValue {
    param($InputObject, [string[]]$Pattern)
    if ($null -eq $InputObject) {
        return $null
    }
    foreach ($onePattern in $Pattern) {
        foreach ($property in $InputObject.PSObject.Properties) {
            if ($property.Name -like $onePattern) {
                return $property.Value
            }
        }
    }
    return $null
}

$step = 'reading the parameters from stdin'
try {
    $stdin = @($input) -join "`n"
    $request = ConvertFrom-Json -InputObject $stdin
    $wanted = $request.params.throttle

    $step = 'reading the Recovery Services agent (HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup)'
    $setup = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup' -ErrorAction Ignore
    if (-not $setup.InstallPath) {
        throw 'the Recovery Services agent is not installed (no InstallPath under HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup)'
    }
    $agentPath = [string]$setup.InstallPath

    $step = 'importing MSOnlineBackup from the agent''s install folder'
    # By full path: a WinRM session started before the install does not see the new PSModulePath (windows-host.md §4.3).
    Import-Module -Name (Join-Path -Path $agentPath -ChildPath 'bin\Modules\MSOnlineBackup')

    if ($null -eq $wanted) {
        $step = 'turning throttling off (Set-OBMachineSetting -NoThrottle)'
        $null = Set-OBMachineSetting -NoThrottle -Confirm:$false
    }
    else {
        $step = 'setting the throttle (Set-OBMachineSetting -WorkDay -StartWorkHour -EndWorkHour -WorkHourBandwidth -NonWorkHourBandwidth)'
        $workDays = [System.DayOfWeek[]]@($wanted.work_days)
        $startWorkHour = [TimeSpan]::Parse([string]$wanted.work_hour_start)
        $endWorkHour = [TimeSpan]::Parse([string]$wanted.work_hour_end)
        $null = Set-OBMachineSetting -WorkDay $workDays -StartWorkHour $startWorkHour -EndWorkHour $endWorkHour -WorkHourBandwidth ([UInt32]$wanted.work_hour_bandwidth) -NonWorkHourBandwidth ([UInt32]$wanted.non_work_hour_bandwidth) -Confirm:$false
    }

    $step = 'reading the throttle back (Get-OBMachineSetting)'
    $service = Get-Service -Name 'obengine' -ErrorAction Ignore
    $serviceStatus = $null
    if ($null -ne $service) {
        $serviceStatus = [string]$service.Status
    }
    $machineSetting = Get-OBMachineSetting
    # Undocumented property names, matched by pattern as in upload_throttle_read/1 (windows-host.md §5.3).
    $throttleSetting = Get-FirstPropertyValue -InputObject $machineSetting -Pattern '*Throttl*Setting*'
    $enabledPatterns = '*Enabled*', '*Throttl*'
    if ($null -eq $throttleSetting) {
        $throttleSetting = $machineSetting
        $enabledPatterns = '*Throttl*Enabled*', '*Throttling*'
    }
    $workBandwidth = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'WorkHourBandwidth', 'Work*Bandwidth'
    $nonWorkBandwidth = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'NonWorkHourBandwidth', 'NonWork*Bandwidth'
    $enabled = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern $enabledPatterns
    if ($enabled -isnot [bool]) {
        $enabled = [bool]$workBandwidth
    }
    $readDays = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'WorkDay*', '*WorkDay*'
    $readStart = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'StartWorkHour', '*Start*Hour*', '*Hour*Start*'
    $readEnd = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'EndWorkHour', '*End*Hour*', '*Hour*End*'
    $throttle = [ordered]@{
        enabled = $enabled
        work_days = @(foreach ($day in @($readDays)) {
                if ($null -ne $day) {
                    [string]$day
                }
            })
        work_hour_start = if ($null -ne $readStart) { [string]$readStart } else { $null }
        work_hour_end = if ($null -ne $readEnd) { [string]$readEnd } else { $null }
        work_hour_bandwidth = $workBandwidth
        non_work_hour_bandwidth = $nonWorkBandwidth
    }

    $result = [ordered]@{ agent = [ordered]@{ path = $agentPath; service_status = $serviceStatus }; throttle = $throttle }
    ConvertTo-Json -InputObject $result -Depth 10 -Compress
    exit 0
}
catch {
    $failure = [ordered]@{ failed = $true; msg = "upload_throttle_set failed while $($step): $($_.Exception.Message)" }
    ConvertTo-Json -InputObject $failure -Depth 10 -Compress
    exit 1
}
