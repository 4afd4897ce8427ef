# The prelude of every host script (docs/host-scripts.md). It is not a script of its own and has no marker:
# plugins/plugin_utils/_host_script.py inserts it right after a script's marker line before sending; the script
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

# The request's secrets: Start-Installer reads the proxy password from here. $null until a script whose programs
# take a secret assigns $secrets = $request.secrets.
$secrets = $null

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

# The host's vault registration as replication_provider_read reports it, $null when it is not registered.
# Registered means these four are set: the test Windows Admin Center makes (Get-WACVMASRServiceProperties).
function Get-ProviderRegistration {
    $asrKey = 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery'
    $reg = Get-ItemProperty -LiteralPath "$asrKey\Registration" -ErrorAction Ignore
    if (-not ($reg.VaultLocation -and $reg.SubscriptionId -and $reg.ResourceName -and $reg.ResourceGroupName)) {
        return $null
    }
    $draId = (Get-ItemProperty -LiteralPath $asrKey -ErrorAction Ignore).DraID
    return [ordered]@{
        vault_location = $reg.VaultLocation; subscription_id = $reg.SubscriptionId; vault_name = $reg.ResourceName
        resource_group = $reg.ResourceGroupName; site_name = $reg.SiteName; container_id = $reg.ContainerId; dra_id = $draId
    }
}

# The document replication_provider_apply and replication_provider_remove both print once their steps are
# done: the steps with their exit codes, whether a restart is needed, the versions installed now and the
# registration the host holds now (so a registration needs no second read).
function Write-ProviderStepsResult {
    param([object[]]$Done, [bool]$RebootRequired, $SetupFileVersion)
    $agentVersion = $null
    $agentPath = Get-AgentInstallPath
    if ($agentPath) {
        $agentVersion = Get-AgentVersion -InstallPath $agentPath
    }
    Write-HostScriptResult -Result ([ordered]@{
        steps = @($Done)
        reboot_required = $RebootRequired
        setup_file_version = $SetupFileVersion
        provider_version = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery' -ErrorAction Ignore).Version
        agent_version = $agentVersion
        registration = Get-ProviderRegistration
    })
}

# The Recovery Services agent's install folder, $null when it is not installed: InstallPath under its Setup
# key is how the agent is detected (as Microsoft's xASR DSC module and Windows Admin Center do), never Win32_Product.
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

# A version from text such as "5.24.0902.3" or "5.24.0902.3 (winmain.240902)" (FileVersion may carry a
# suffix after the numbers), $null when it starts with no dotted numbers.
function ConvertTo-VersionOrNull {
    param([string]$Text)
    if ($Text -match '^\s*(\d+(\.\d+){1,3})') {
        return [version]$Matches[1]
    }
    return $null
}

# A file's version as dotted numbers: FileVersion without any suffix, or built from its parts when the text
# does not start with numbers; $null for a file without version information.
function Get-FileVersion {
    param($Item)
    $info = $Item.VersionInfo
    if ($info.FileVersion -match '^\s*(\d+(\.\d+){1,3})') {
        return $Matches[1]
    }
    if ($info.FileMajorPart -or $info.FileMinorPart -or $info.FileBuildPart -or $info.FilePrivatePart) {
        return '{0}.{1}.{2}.{3}' -f $info.FileMajorPart, $info.FileMinorPart, $info.FileBuildPart, $info.FilePrivatePart
    }
    return $null
}

# Add/Remove Programs entries whose DisplayName matches, as {name, uninstall_string}. Each value is read on
# its own: a third-party entry with a malformed value (a REG_DWORD of the wrong size makes Get-ItemProperty
# throw "Specified cast is not valid") is skipped, instead of failing the whole read.
function Get-UninstallEntry {
    param([string]$Pattern)
    foreach ($root in 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall') {
        foreach ($key in @(Get-ChildItem -LiteralPath $root -ErrorAction Ignore)) {
            try {
                $name = [string]$key.GetValue('DisplayName')
                $uninstallString = [string]$key.GetValue('UninstallString')
            }
            catch {
                continue
            }
            if ($name -like $Pattern -and $uninstallString) {
                [ordered]@{ name = $name; uninstall_string = $uninstallString }
            }
        }
    }
}

# Polls a condition every 5 s until it holds ($true) or the timeout passes ($false).
function Wait-Condition {
    param([scriptblock]$Condition, [int]$TimeoutSeconds)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        if ((Get-Date) -ge $deadline) {
            return $false
        }
        Start-Sleep -Seconds 5
    }
    return $true
}

# Starts a program the way Microsoft's procedures do, from its own folder (WorkingDirectory), and returns its
# exit code. System.Diagnostics.Process, not Start-Process: ExitCode is always set (Start-Process -PassThru
# can leave it $null, PowerShell/PowerShell#5421), and property sets and method calls are not module-logged.
# The proxy password reaches only the program's command line: the arguments carry the placeholder
# '/proxypassword "(hidden)"', replaced here from the script's $secrets (above; not a parameter, so that no
# command binds it). A program still running at the timeout is stopped and reported with its process id and
# its arguments as given (the placeholder).
function Start-Installer {
    param([string]$FilePath, [string]$Arguments, [string]$WorkingDirectory, [int]$TimeoutSeconds)
    $startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo
    $startInfo.FileName = $FilePath
    # pslint: allow secret-leak: DRConfigurator.exe takes the proxy password only as /proxypassword on its command line (learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v)
    $startInfo.Arguments = $Arguments.Replace('/proxypassword "(hidden)"', '/proxypassword "' + $secrets.proxy_password + '"')
    $startInfo.WorkingDirectory = $WorkingDirectory
    $startInfo.UseShellExecute = $false
    $startInfo.CreateNoWindow = $true
    $process = [System.Diagnostics.Process]::Start($startInfo)
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        if (-not $process.HasExited) {
            $process.Kill()
        }
        throw "$FilePath $Arguments (process $($process.Id), started in $WorkingDirectory) was still running after $TimeoutSeconds s and was stopped"
    }
    $process.WaitForExit()
    return $process.ExitCode
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

# The names of an object's properties, as a comma-separated list, for a message.
function Get-PropertyNameList {
    param($InputObject)
    if ($null -eq $InputObject) {
        return '(none)'
    }
    return @($InputObject.PSObject.Properties | ForEach-Object { $_.Name }) -join ', '
}

# The throttle as host_info/1 and upload_throttle_*/1 report it, read with Get-OBMachineSetting, which asks the
# running engine: import MSOnlineBackup first, and call it only while obengine runs. Only the parameters of
# Set-OBMachineSetting are documented, not the properties of its result (Microsoft Learn: Get-OBMachineSetting), so the names
# read here are an assumption: a ThrottleSetting sub-object, like the documented ProxySetting one, with a bool
# Enabled and the parameter names. When they are not all there, nothing is guessed: the read fails and lists
# what the agent does expose. Once -NoThrottle is set the agent may keep the last schedule (the MMC shows it
# greyed out): with Enabled false the schedule is not in effect, so it is reported as null.
function Get-ThrottleSetting {
    $machineSetting = Get-OBMachineSetting
    $setting = $machineSetting.ThrottleSetting
    $expected = 'Enabled', 'WorkDay', 'StartWorkHour', 'EndWorkHour', 'WorkHourBandwidth', 'NonWorkHourBandwidth'
    $exposed = @($setting.PSObject.Properties | ForEach-Object { $_.Name })
    if ($setting.Enabled -isnot [bool] -or @($expected | Where-Object { $exposed -notcontains $_ }).Count) {
        throw "Get-OBMachineSetting does not expose the throttle as expected (ThrottleSetting with a bool $($expected -join ', ')): its properties are $(Get-PropertyNameList $machineSetting); ThrottleSetting's are $(Get-PropertyNameList $setting)"
    }
    $throttle = [ordered]@{ enabled = $setting.Enabled; work_days = @(); work_hour_start = $null; work_hour_end = $null; work_hour_bandwidth = $null; non_work_hour_bandwidth = $null }
    if ($setting.Enabled) {
        # DayOfWeek values as names ([string]): ConvertTo-Json in 5.1 writes enums as numbers.
        $throttle.work_days = @(foreach ($day in @($setting.WorkDay)) {
                [string]$day
            })
        # TimeSpans as "hh:mm:ss" (ConvertTo-Json would write their fields); the controller reads the time.
        $throttle.work_hour_start = [string]$setting.StartWorkHour
        $throttle.work_hour_end = [string]$setting.EndWorkHour
        $throttle.work_hour_bandwidth = $setting.WorkHourBandwidth
        $throttle.non_work_hour_bandwidth = $setting.NonWorkHourBandwidth
    }
    return $throttle
}

# upload_threads_read/1's document, which upload_threads_set/1 prints too once it has written: the agent and
# both registry values with their types.
function Get-ThreadsDocument {
    return [ordered]@{ agent = (Get-AgentState); replication_registry = (Get-ThreadsRegistryValue) }
}

# upload_throttle_read/1's document, which upload_throttle_set/1 prints too once it has set the throttle: the
# agent and its throttle. Get-OBMachineSetting asks the running engine, so without obengine running the
# throttle stays null.
function Get-ThrottleDocument {
    $agent = Get-AgentState
    $throttle = $null
    if ($null -ne $agent -and $agent.service_status -eq 'Running') {
        # Setup adds the module folder to the machine PSModulePath, which a WinRM session started before the
        # install does not see (learn.microsoft.com/azure/backup/backup-client-automation): import by full path.
        Import-Module -Name (Join-Path -Path $agent.path -ChildPath 'bin\Modules\MSOnlineBackup')
        # Matched by property name, exactly as host_info/1 reads it.
        $throttle = Get-ThrottleSetting
    }
    return [ordered]@{ agent = $agent; throttle = $throttle }
}

# Whether a folder is owned by SYSTEM or Administrators, does not inherit, and lets nobody else in: the staging
# folder replication_provider_apply/1 makes, and where replication_provider_read/1 trusts a staged setup file.
function Test-AdminsOnlyFolder {
    param([string]$Path)
    $admins = @('S-1-5-18', 'S-1-5-32-544')
    $security = (Get-Item -LiteralPath $Path -Force).GetAccessControl()
    if (-not $security.AreAccessRulesProtected -or $admins -notcontains $security.GetOwner([System.Security.Principal.SecurityIdentifier]).Value) {
        return $false
    }
    foreach ($rule in $security.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
        if ($rule.AccessControlType -eq 'Allow' -and $admins -notcontains $rule.IdentityReference.Value) {
            return $false
        }
    }
    return $true
}
