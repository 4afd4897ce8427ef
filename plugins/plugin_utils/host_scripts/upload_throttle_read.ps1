# azmigrate-host-script: upload_throttle_read/1
# Reads what azmigrate.hyperv.upload_throttle manages: the Recovery Services agent (installed? service
# running?) and its throttle from Get-OBMachineSetting. Prints one JSON document; protocol and schema:
# docs/host-scripts.md ("upload_throttle_read/1"). Windows PowerShell 5.1 syntax only. Changes nothing.

$ErrorActionPreference = 'Stop'
# Off on purpose: an absent registry value or property reads as $null.
Set-StrictMode -Off
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

# Reads the first property whose name matches one of the patterns (see the throttle step).
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
    # Same way Ansible's bootstrap wrapper reads its payload; this script takes no parameters.
    $stdin = @($input) -join "`n"
    $null = ConvertFrom-Json -InputObject $stdin

    $step = 'reading the Recovery Services agent (HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup, service obengine)'
    $setup = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup' -ErrorAction Ignore
    $agent = $null
    $throttle = $null
    if ($setup.InstallPath) {
        $service = Get-Service -Name 'obengine' -ErrorAction Ignore
        $serviceStatus = $null
        if ($null -ne $service) {
            $serviceStatus = [string]$service.Status
        }
        $agent = [ordered]@{ path = [string]$setup.InstallPath; service_status = $serviceStatus }
    }

    # Get-OBMachineSetting asks the running engine, so without obengine running the throttle stays null.
    if ($null -ne $agent -and $agent.service_status -eq 'Running') {
        $step = 'importing MSOnlineBackup from the agent''s install folder'
        # Setup adds the module folder to the machine PSModulePath, which a WinRM session started before
        # the install does not see (windows-host.md §4.3): import by full path.
        Import-Module -Name (Join-Path -Path $agent.path -ChildPath 'bin\Modules\MSOnlineBackup')

        $step = 'reading the throttle (Get-OBMachineSetting)'
        $machineSetting = Get-OBMachineSetting
        # The throttle property names of Get-OBMachineSetting's result are not documented (only the
        # parameters of Set-OBMachineSetting are: windows-host.md §5.3), so they are matched by pattern,
        # on the result and on a throttle sub-object if it has one, exactly as host_info/1 does. A
        # property not found stays null; the controller then re-applies and checks what it reads back.
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
        $workDays = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'WorkDay*', '*WorkDay*'
        $workStart = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'StartWorkHour', '*Start*Hour*', '*Hour*Start*'
        $workEnd = Get-FirstPropertyValue -InputObject $throttleSetting -Pattern 'EndWorkHour', '*End*Hour*', '*Hour*End*'
        $throttle = [ordered]@{
            enabled = $enabled
            # DayOfWeek values as names ([string]): ConvertTo-Json in 5.1 writes enums as numbers.
            work_days = @(foreach ($day in @($workDays)) {
                    if ($null -ne $day) {
                        [string]$day
                    }
                })
            # TimeSpans as "hh:mm:ss" (ConvertTo-Json would write their fields); the controller reads the time.
            work_hour_start = if ($null -ne $workStart) { [string]$workStart } else { $null }
            work_hour_end = if ($null -ne $workEnd) { [string]$workEnd } else { $null }
            work_hour_bandwidth = $workBandwidth
            non_work_hour_bandwidth = $nonWorkBandwidth
        }
    }

    $result = [ordered]@{ agent = $agent; throttle = $throttle }
    ConvertTo-Json -InputObject $result -Depth 10 -Compress
    exit 0
}
catch {
    $failure = [ordered]@{ failed = $true; msg = "upload_throttle_read failed while $($step): $($_.Exception.Message)" }
    ConvertTo-Json -InputObject $failure -Depth 10 -Compress
    exit 1
}
