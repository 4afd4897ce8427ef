# The prelude of every host script (docs/host-scripts.md). It is not a script of its own and has no marker:
# plugins/plugin_utils/host_script.py inserts it right after a script's marker line before sending; the script
# then travels on stdin behind a short fixed bootstrap command. Its lines outside functions are always sent; a
# function is sent only to a script that calls it (directly or through another function here). Layout the
# runner relies on: a function starts with the line "function Verb-Noun {" and ends with the line "}", both at
# column 0; no other line inside a function starts at column 0 with "}". Windows PowerShell 5.1 syntax only, ASCII only.

$ErrorActionPreference = 'Stop'
# Off on purpose: an absent registry value or property reads as $null.
Set-StrictMode -Off
# Progress records would reach the controller as CLIXML on stderr.
$ProgressPreference = 'SilentlyContinue'
# UTF-8 without a byte order mark, as Ansible's PowerShell shell does for its own commands. It can throw
# where there is no console (PSRP, some WinRM hosts: "The handle is invalid"), hence the catch; the JSON
# documents do not depend on it (Write-HostScriptJson).
try {
    [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
}
catch {
    $null = $_
}
# A terminating error the script does not catch itself still ends with the failure document and exit 1.
trap {
    Write-HostScriptFailure -Message "unexpected error at line $($_.InvocationInfo.ScriptLineNumber): $($_.Exception.Message)"
    exit 1
}

# The request {"params": ..., "secrets": ...}. Call it with the script's own stdin, -Line @($input): the lines
# the bootstrap piped to the script. Parsed with .NET, not ConvertFrom-Json: with Module Logging on (event
# 4103) a cmdlet's parameters are logged, and the request holds the secrets. Objects come back as
# PSCustomObjects and arrays as arrays, as ConvertFrom-Json would return them.
function Read-HostScriptRequest {
    param([object[]]$Line)
    Add-Type -AssemblyName System.Web.Extensions
    $serializer = New-Object System.Web.Script.Serialization.JavaScriptSerializer
    $serializer.MaxJsonLength = [int]::MaxValue
    ConvertTo-HostScriptObject $serializer.DeserializeObject((@($Line) -join "`n"))
}

# JavaScriptSerializer's dictionaries as PSCustomObjects, recursively (method calls only, nothing logged).
function ConvertTo-HostScriptObject {
    param($Value)
    if ($Value -is [System.Collections.IDictionary]) {
        $object = New-Object PSObject
        foreach ($key in $Value.Keys) {
            $object.PSObject.Properties.Add([System.Management.Automation.PSNoteProperty]::new([string]$key, (ConvertTo-HostScriptObject $Value[$key])))
        }
        return $object
    }
    if ($Value -is [object[]]) {
        return , @(foreach ($item in $Value) { ConvertTo-HostScriptObject $item })
    }
    return $Value
}

# One JSON document as one ASCII line: ConvertTo-Json leaves non-ASCII characters as they are, and the console
# would write them in its code page (437 or 850 or 932 over SSH, ? for what it cannot hold); as \uXXXX escapes
# the document is the same bytes in every code page.
function Write-HostScriptJson {
    param($Document)
    $json = ConvertTo-Json -InputObject $Document -Depth 10 -Compress
    [regex]::Replace($json, '[^\x00-\x7F]', { param($match) '\u{0:x4}' -f [int][char]$match.Value })
}

# The one JSON document of a run; the script then ends with exit 0.
function Write-HostScriptResult {
    param($Result)
    Write-HostScriptJson -Document $Result
}

# The failure document {"failed": true, "msg": ...}; the script then ends with exit 1.
function Write-HostScriptFailure {
    param([string]$Message)
    Write-HostScriptJson -Document ([ordered]@{ failed = $true; msg = $Message })
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
