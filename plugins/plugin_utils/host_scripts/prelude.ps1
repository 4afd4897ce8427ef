# The prelude of every host script (docs/host-scripts.md). It is not a script of its own and has no marker:
# plugins/plugin_utils/host_script.py inserts it right after a script's marker line before sending, as one
# command. Its lines outside functions are always sent; a function is sent only to a script that calls it
# (directly or through another function here), so each script pays only for what it uses against the
# 12,000-character limit. Layout the runner relies on: a function starts with the line "function Verb-Noun {"
# and ends with the line "}", both at column 0; nothing else here starts at column 0 with "}".
# Windows PowerShell 5.1 syntax only.

$ErrorActionPreference = 'Stop'
# Off on purpose: an absent registry value or property reads as $null.
Set-StrictMode -Off
# Progress records would reach the controller as CLIXML on stderr.
$ProgressPreference = 'SilentlyContinue'

# The request {"params": ..., "secrets": ...}. Call it with the script's own stdin, -Line @($input) (inside a
# function $input is the function's pipeline): joined the way Ansible's bootstrap wrapper reads its payload.
function Read-HostScriptRequest {
    param([object[]]$Line)
    ConvertFrom-Json -InputObject (@($Line) -join "`n")
}

# The one JSON document of a run; the script then ends with exit 0.
function Write-HostScriptResult {
    param($Result)
    ConvertTo-Json -InputObject $Result -Depth 10 -Compress
}

# The failure document {"failed": true, "msg": ...}; the script then ends with exit 1.
function Write-HostScriptFailure {
    param([string]$Message)
    ConvertTo-Json -InputObject ([ordered]@{ failed = $true; msg = $Message }) -Depth 10 -Compress
}

# The Recovery Services agent's install folder, $null when it is not installed: InstallPath under its Setup
# key is how the agent is detected (windows-host.md §1), never Win32_Product.
function Get-AgentInstallPath {
    $setup = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup' -ErrorAction Ignore
    if ($setup.InstallPath) {
        return [string]$setup.InstallPath
    }
    return $null
}

# The agent's version: the file version of its engine, bin\CBEngine.exe; $null when the file is missing.
function Get-AgentVersion {
    param([string]$InstallPath)
    $engine = Get-Item -LiteralPath (Join-Path -Path $InstallPath -ChildPath 'bin\CBEngine.exe') -ErrorAction Ignore
    if ($null -eq $engine) {
        return $null
    }
    $info = $engine.VersionInfo
    return '{0}.{1}.{2}.{3}' -f $info.FileMajorPart, $info.FileMinorPart, $info.FileBuildPart, $info.FilePrivatePart
}

# The agent as upload_threads_*/1 and upload_throttle_*/1 report it, {path, service_status}; $null when it is
# not installed. service_status is the name of the obengine service's status, $null without the service.
function Get-AgentState {
    $installPath = Get-AgentInstallPath
    if (-not $installPath) {
        return $null
    }
    $service = Get-Service -Name 'obengine' -ErrorAction Ignore
    $serviceStatus = $null
    if ($null -ne $service) {
        $serviceStatus = [string]$service.Status
    }
    return [ordered]@{ path = $installPath; service_status = $serviceStatus }
}

# UploadThreadsPerVM and DownloadThreadsPerVM under the Replication key, each {data, kind} or $null when
# absent. Registry types matter: the agent reads these as REG_DWORD (KB 3056159), so a REG_SZ "8" is
# reported with its type and rewritten. GetValue returns $null for an absent value.
function Get-ThreadsRegistryValue {
    $key = Get-Item -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication' -ErrorAction Ignore
    $registryValues = [ordered]@{}
    foreach ($name in 'UploadThreadsPerVM', 'DownloadThreadsPerVM') {
        $registryValues[$name] = $null
        if ($null -ne $key -and @($key.GetValueNames()) -contains $name) {
            $registryValues[$name] = [ordered]@{ data = $key.GetValue($name); kind = [string]$key.GetValueKind($name) }
        }
    }
    return $registryValues
}

# The value of the first property whose name matches one of the patterns, tried in order; $null if none does.
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

# The throttle as host_info/1 and upload_throttle_*/1 report it, read with Get-OBMachineSetting, which asks the
# running engine: import MSOnlineBackup first, and call it only while obengine runs. The throttle property
# names of its result are not documented (only the parameters of Set-OBMachineSetting are: windows-host.md
# §5.3), so they are matched by pattern, the documented parameter name first, on the result and on a throttle
# sub-object if it has one. A property not found stays null; pin the names once seen on a real host.
# Get-FirstPropertyValue takes its parameters by position here (object, patterns), to keep the command short.
function Get-ThrottleSetting {
    $machineSetting = Get-OBMachineSetting
    $throttleSetting = Get-FirstPropertyValue $machineSetting '*Throttl*Setting*'
    $enabledPatterns = '*Enabled*', '*Throttl*'
    if ($null -eq $throttleSetting) {
        $throttleSetting = $machineSetting
        $enabledPatterns = '*Throttl*Enabled*', '*Throttling*'
    }
    $workBandwidth = Get-FirstPropertyValue $throttleSetting 'WorkHourBandwidth', 'Work*Bandwidth'
    $nonWorkBandwidth = Get-FirstPropertyValue $throttleSetting 'NonWorkHourBandwidth', 'NonWork*Bandwidth'
    $enabled = Get-FirstPropertyValue $throttleSetting $enabledPatterns
    if ($enabled -isnot [bool]) {
        $enabled = [bool]$workBandwidth
    }
    $workDays = Get-FirstPropertyValue $throttleSetting 'WorkDay*', '*WorkDay*'
    $workStart = Get-FirstPropertyValue $throttleSetting 'StartWorkHour', '*Start*Hour*', '*Hour*Start*'
    $workEnd = Get-FirstPropertyValue $throttleSetting 'EndWorkHour', '*End*Hour*', '*Hour*End*'
    return [ordered]@{
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
