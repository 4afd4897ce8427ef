# azmigrate-host-script: replication_provider_apply/1
# Performs the change list planned by azmigrate.hyperv.replication_provider, in order, and prints one JSON
# document: the steps run with their exit codes, reboot_required and the versions found afterwards.
# Installer exit codes are undocumented (windows-host.md §2.3, §2.4): success is judged by post-conditions
# in the registry and services, waited for with a bound, since setup finishes after its process exits.
# Secrets (vault credentials, proxy password, a download URL with a SAS) come on stdin only.
# Windows PowerShell 5.1 syntax only. The runner inserts prelude.ps1 after the marker.

$asrKey = 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery'
$agentKey = 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup'
$configurator = Join-Path -Path $env:ProgramFiles -ChildPath 'Microsoft Azure Site Recovery Provider\DRConfigurator.exe'
$logDir = Join-Path -Path $env:ProgramData -ChildPath 'ASRLogs'
$uninstallRoots = @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall', 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall')
$done = New-Object -TypeName System.Collections.ArrayList
$rebootRequired = $false
$setupVersion = $null

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

# Start-Process -PassThru, then a bounded wait for the process: returns its exit code.
function Start-Installer {
    param([string]$FilePath, [string]$Arguments, [int]$TimeoutSeconds)
    $process = Start-Process -FilePath $FilePath -ArgumentList $Arguments -PassThru -WindowStyle Hidden
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        throw "$(Split-Path -Leaf $FilePath) is still running after $TimeoutSeconds s"
    }
    return $process.ExitCode
}

# The last lines of the newest log in %ProgramData%\ASRLogs (DRASetupWizard.log for setup): the real reason.
function Get-LogTail {
    $log = Get-ChildItem -LiteralPath $logDir -Filter '*.log' -ErrorAction Ignore | Sort-Object -Property LastWriteTime -Descending | Select-Object -First 1
    if ($null -eq $log) {
        return "no log in $logDir"
    }
    return "$($log.Name): " + (@(Get-Content -LiteralPath $log.FullName -Tail 4) -join ' | ')
}

function Test-Installed {
    param([string]$ExpectedVersion)
    $asr = Get-ItemProperty -LiteralPath $asrKey -ErrorAction Ignore
    $versionReached = $asr.Version -and (-not $ExpectedVersion -or [version]$asr.Version -ge [version]$ExpectedVersion)
    return [bool]($versionReached -and (Get-AgentInstallPath) -and (Get-Service -Name dra -ErrorAction Ignore) -and (Get-Service -Name obengine -ErrorAction Ignore))
}

function Test-Registered {
    $reg = Get-ItemProperty -LiteralPath "$asrKey\Registration" -ErrorAction Ignore
    return [bool]($reg.VaultLocation -and $reg.SubscriptionId -and $reg.ResourceName -and $reg.ResourceGroupName)
}

# DRConfigurator takes the proxy password only on its command line (windows-host.md §2.4): it is visible
# in the host's process list while DRConfigurator runs, never on the WinRM command line.
function Get-ProxyArgument {
    param($Proxy)
    if ($null -eq $Proxy) {
        return ''
    }
    $text = " /proxyaddress `"$($Proxy.address)`" /proxyport $($Proxy.port)"
    if ($Proxy.username) {
        $text += " /proxyusername `"$($Proxy.username)`" /proxypassword `"$($secrets.proxy_password)`""
    }
    if (@($Proxy.bypass_urls).Count -gt 0) {
        $text += " /AddBypassUrls `"$(@($Proxy.bypass_urls) -join ';')`""
    }
    return $text
}

function Test-SetupHash {
    param([string]$Path, [string]$Expected)
    $hash = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
    if ($hash -ne $Expected) {
        Remove-Item -LiteralPath $Path -Force
        throw "$Path has SHA-256 $hash, not the expected $Expected; removed it"
    }
}

$step = 'reading the parameters from stdin'
try {
    $request = Read-HostScriptRequest -Line @($input)
    $secrets = $request.secrets
    foreach ($s in @($request.params.steps)) {
        $step = $s.action
        $exitCode = $null
        switch ($s.action) {
            'download' {
                [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
                New-Item -ItemType Directory -Force -Path (Split-Path -Parent $s.path) | Out-Null
                $partial = "$($s.path).partial"
                (New-Object -TypeName System.Net.WebClient).DownloadFile([string]$secrets.setup_file_url, $partial)
                Test-SetupHash -Path $partial -Expected $s.sha256
                Move-Item -LiteralPath $partial -Destination $s.path -Force
                $setupVersion = (Get-Item -LiteralPath $s.path).VersionInfo.FileVersion
            }
            'verify' {
                # The controller copied the file to its temporary folder: move it into the staging folder.
                New-Item -ItemType Directory -Force -Path (Split-Path -Parent $s.path) | Out-Null
                Move-Item -LiteralPath $s.source -Destination $s.path -Force
                Test-SetupHash -Path $s.path -Expected $s.sha256
                $setupVersion = (Get-Item -LiteralPath $s.path).VersionInfo.FileVersion
            }
            'extract' {
                Remove-Item -LiteralPath $s.dir -Recurse -Force -ErrorAction Ignore
                $exitCode = Start-Installer -FilePath $s.setup_file -Arguments "/x:`"$($s.dir)`" /q" -TimeoutSeconds 600
                $setupdr = Join-Path -Path $s.dir -ChildPath 'setupdr.exe'
                if (-not (Wait-Condition -Condition { Test-Path -LiteralPath $setupdr } -TimeoutSeconds 60)) {
                    throw "$($s.setup_file) /x /q exited with $exitCode and left no setupdr.exe in $($s.dir)"
                }
            }
            'install' {
                $exitCode = Start-Installer -FilePath (Join-Path -Path $s.dir -ChildPath 'setupdr.exe') -Arguments '/i' -TimeoutSeconds $s.timeout
                if ($exitCode -eq 1618) {
                    throw 'setupdr.exe /i exited with 1618: another installation is in progress; run again once it has finished'
                }
                if ($exitCode -eq 3010 -or $exitCode -eq 1641) {
                    $rebootRequired = $true
                }
                $expected = $s.expected_version
                if (-not (Wait-Condition -Condition { Test-Installed -ExpectedVersion $expected } -TimeoutSeconds $s.timeout)) {
                    throw "setupdr.exe /i exited with $exitCode and the provider and agent were not in place within $($s.timeout) s; $(Get-LogTail)"
                }
            }
            'remove_extracted' {
                Remove-Item -LiteralPath $s.dir -Recurse -Force -ErrorAction Ignore
            }
            'register' {
                # The key file exists only in a folder readable by SYSTEM and Administrators, and only while used.
                $credentialsDir = Join-Path -Path $env:ProgramData -ChildPath ('azmigrate\' + [guid]::NewGuid().ToString('N'))
                try {
                    New-Item -ItemType Directory -Path $credentialsDir -Force | Out-Null
                    $acl = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
                    $acl.SetAccessRuleProtection($true, $false)
                    foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
                        $identity = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid
                        $acl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $identity, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow'))
                    }
                    Set-Acl -LiteralPath $credentialsDir -AclObject $acl
                    $credentialsFile = Join-Path -Path $credentialsDir -ChildPath 'host.VaultCredentials'
                    [IO.File]::WriteAllText($credentialsFile, [string]$secrets.vault_credentials, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
                    $arguments = "/r /Credentials `"$credentialsFile`" /Friendlyname `"$($s.friendly_name)`"" + (Get-ProxyArgument -Proxy $s.proxy)
                    $exitCode = Start-Installer -FilePath $configurator -Arguments $arguments -TimeoutSeconds $s.timeout
                    if (-not (Wait-Condition -Condition { Test-Registered } -TimeoutSeconds $s.timeout)) {
                        throw "DRConfigurator.exe /r exited with $exitCode and the host is not registered; $(Get-LogTail)"
                    }
                }
                finally {
                    Remove-Item -LiteralPath $credentialsDir -Recurse -Force -ErrorAction Ignore
                }
                Start-Service -Name dra
            }
            'configure_proxy' {
                $exitCode = Start-Installer -FilePath $configurator -Arguments ('/configure' + (Get-ProxyArgument -Proxy $s.proxy)) -TimeoutSeconds 300
                $wanted = $s.proxy.address
                if (-not (Wait-Condition -Condition { (Get-ItemProperty -LiteralPath "$asrKey\ProxySettings" -ErrorAction Ignore).ProxyAddress -eq $wanted } -TimeoutSeconds 120)) {
                    throw "DRConfigurator.exe /configure exited with $exitCode and the proxy is not $wanted; $(Get-LogTail)"
                }
            }
            'unregister' {
                # Microsoft's cleanup script for a Hyper-V host, non-interactive (windows-host.md §3.3).
                Stop-Service -Name dra -Force -ErrorAction Ignore
                foreach ($key in @("$asrKey\Registration", "$asrKey\ProxySettings")) {
                    Remove-Item -LiteralPath $key -Recurse -Force -ErrorAction Ignore
                }
                Remove-ItemProperty -LiteralPath $asrKey -Name DraID -ErrorAction Ignore
                Get-ChildItem -Path 'Cert:\LocalMachine\My' | Where-Object {
                    $_.FriendlyName -like 'ASR_SRSAUTH_CERT_KEY_CONTAINER*' -or $_.FriendlyName -like 'ASR_HYPER_V_HOST_CERT_KEY_CONTAINER*' } | Remove-Item -Force
            }
            'uninstall' {
                $pattern = if ($s.component -eq 'provider') { 'Microsoft Azure Site Recovery Provider*' } else { 'Microsoft Azure Recovery Services Agent*' }
                $entries = @(foreach ($root in $uninstallRoots) {
                        Get-ChildItem -LiteralPath $root -ErrorAction Ignore | Get-ItemProperty | Where-Object { $_.DisplayName -like $pattern -and $_.UninstallString } })
                foreach ($entry in $entries) {
                    # UninstallString reads "MsiExec.exe /I{code}" or "/X{code}": run /X quietly (windows-host.md §8.5).
                    if ($entry.UninstallString -notmatch '\{[0-9A-Fa-f-]{36}\}') {
                        throw "cannot uninstall $($entry.DisplayName): its UninstallString names no MSI product code"
                    }
                    $exitCode = Start-Installer -FilePath 'msiexec.exe' -Arguments "/X$($Matches[0]) /qn /norestart" -TimeoutSeconds $s.timeout
                    if ($exitCode -eq 3010 -or $exitCode -eq 1641) {
                        $rebootRequired = $true
                    }
                    elseif ($exitCode -ne 0) {
                        throw "msiexec /X for $($entry.DisplayName) exited with $exitCode"
                    }
                }
                $removedKey = if ($s.component -eq 'provider') { $asrKey } else { $agentKey }
                if (-not (Wait-Condition -Condition { -not (Test-Path -LiteralPath $removedKey) } -TimeoutSeconds $s.timeout)) {
                    throw "the $($s.component) is still installed ($removedKey exists) $($s.timeout) s after msiexec /X"
                }
            }
            default {
                throw "unknown step $($s.action)"
            }
        }
        [void]$done.Add([ordered]@{ action = $s.action; exit_code = $exitCode })
    }

    $step = 'reading the versions'
    $agentVersion = $null
    $agentPath = Get-AgentInstallPath
    if ($agentPath) {
        $agentVersion = Get-AgentVersion -InstallPath $agentPath
    }
    $result = [ordered]@{
        steps = @($done)
        reboot_required = $rebootRequired
        setup_file_version = $setupVersion
        provider_version = (Get-ItemProperty -LiteralPath $asrKey -ErrorAction Ignore).Version
        agent_version = $agentVersion
    }
    Write-HostScriptResult -Result $result
    exit 0
}
catch {
    $completed = @($done | ForEach-Object { $_.action }) -join ', '
    Write-HostScriptFailure -Message "replication_provider_apply failed at step $($step) (completed before it: $completed): $($_.Exception.Message)"
    exit 1
}
