# azmigrate-host-script: replication_provider_apply/1
# Performs the change list planned by azmigrate.hyperv.replication_provider, in order, and prints one JSON
# document: the steps run with their exit codes, reboot_required and the versions found afterwards. The
# steps that remove (unregister, uninstall) are replication_provider_remove/1's, in the same protocol.
# Microsoft documents no exit codes for setupdr.exe or DRConfigurator.exe: success is judged by post-conditions
# in the registry and services, waited for with a bound, since setup finishes after its process exits.
# Secrets (vault credentials, proxy password, a download URL with a SAS) come on stdin only, and reach no
# cmdlet as a parameter value (module logging, event 4103, records those): programs are started with
# System.Diagnostics.Process, objects built with .NET calls and property sets.
# Windows PowerShell 5.1 syntax only. The runner inserts prelude.ps1 after the marker.

$asrKey = 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery'
$providerDir = Join-Path -Path $env:ProgramFiles -ChildPath 'Microsoft Azure Site Recovery Provider'
$configurator = Join-Path -Path $providerDir -ChildPath 'DRConfigurator.exe'
$logDir = Join-Path -Path $env:ProgramData -ChildPath 'ASRLogs'
$done = New-Object -TypeName System.Collections.ArrayList
$rebootRequired = $false
$setupVersion = $null

# The last lines of the failing program's own log in %ProgramData%\ASRLogs (DRASetupWizard*.log for setup,
# DRConfigurator*.log for registration): the real reason. The newest log of any program would quote setup's log
# when registration fails right after an install.
function Get-LogTail {
    param([string]$Filter)
    $log = Get-ChildItem -LiteralPath $logDir -Filter $Filter -ErrorAction Ignore | Sort-Object -Property LastWriteTime -Descending | Select-Object -First 1
    if ($null -eq $log) {
        return "no log $Filter in $logDir"
    }
    return "$($log.Name): " + (@(Get-Content -LiteralPath $log.FullName -Tail 4) -join ' | ')
}

function Test-Installed {
    param([string]$ExpectedVersion)
    $installed = ConvertTo-VersionOrNull -Text (Get-ItemProperty -LiteralPath $asrKey -ErrorAction Ignore).Version
    $versionReached = $installed -and (-not $ExpectedVersion -or $installed -ge (ConvertTo-VersionOrNull -Text $ExpectedVersion))
    return [bool]($versionReached -and (Get-AgentInstallPath) -and (Get-Service -Name dra -ErrorAction Ignore) -and (Get-Service -Name obengine -ErrorAction Ignore))
}

function Test-Registered {
    $reg = Get-ItemProperty -LiteralPath "$asrKey\Registration" -ErrorAction Ignore
    return [bool]($reg.VaultLocation -and $reg.SubscriptionId -and $reg.ResourceName -and $reg.ResourceGroupName)
}

# DRConfigurator takes the proxy password only on its command line (/proxypassword,
# learn.microsoft.com/azure/migrate/tutorial-migrate-hyper-v): it is visible in the host's process list (and
# process auditing, event 4688) while DRConfigurator runs, never on the WinRM command line nor in module logging.
# Here it stays a placeholder, "(hidden)".
function Get-ProxyArgument {
    param($Proxy)
    if ($null -eq $Proxy) {
        return ''
    }
    $text = " /proxyaddress `"$($Proxy.address)`" /proxyport $($Proxy.port)"
    if ($Proxy.username) {
        # The password itself is put in by Start-Installer, so that no command ever receives it.
        $text += " /proxyusername `"$($Proxy.username)`" /proxypassword `"(hidden)`""
    }
    if (@($Proxy.bypass_urls).Count -gt 0) {
        $text += " /AddBypassUrls `"$(@($Proxy.bypass_urls) -join ';')`""
    }
    return $text
}

# The Recovery Services agent gets the provider's proxy too (Set-OBMachineSetting, then restart obengine), as
# the Site Recovery docs ask. The cmdlet takes the password as a SecureString, built here with .NET calls, so
# module logging records only its type name.
function Set-AgentProxy {
    param($Proxy)
    Import-Module -Name (Join-Path -Path (Get-AgentInstallPath) -ChildPath 'bin\Modules\MSOnlineBackup')
    if ($Proxy.username) {
        $password = New-Object -TypeName System.Security.SecureString
        foreach ($character in ([string]$secrets.proxy_password).ToCharArray()) {
            $password.AppendChar($character)
        }
        $null = Set-OBMachineSetting -ProxyServer $Proxy.address -ProxyPort ([int]$Proxy.port) -ProxyUsername $Proxy.username -ProxyPassword $password -Confirm:$false
    }
    else {
        $null = Set-OBMachineSetting -ProxyServer $Proxy.address -ProxyPort ([int]$Proxy.port) -Confirm:$false
    }
    Restart-Service -Name obengine
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
                $webClient = New-Object -TypeName System.Net.WebClient
                if ($null -ne $s.proxy) {
                    # Behind a mandatory proxy the session's own (usually none) would not reach the URL.
                    $webClient.Proxy = New-Object -TypeName System.Net.WebProxy -ArgumentList "$($s.proxy.address):$($s.proxy.port)"
                    if ($s.proxy.username) {
                        $credential = New-Object -TypeName System.Net.NetworkCredential
                        $credential.UserName = $s.proxy.username
                        $credential.Password = $secrets.proxy_password
                        $webClient.Proxy.Credentials = $credential
                    }
                }
                $webClient.DownloadFile([string]$secrets.setup_file_url, $partial)
                Test-SetupHash -Path $partial -Expected $s.sha256
                Move-Item -LiteralPath $partial -Destination $s.path -Force
                $setupVersion = Get-FileVersion -Item (Get-Item -LiteralPath $s.path)
            }
            'verify' {
                # The controller copied the file to its temporary folder: move it into the staging folder.
                New-Item -ItemType Directory -Force -Path (Split-Path -Parent $s.path) | Out-Null
                Move-Item -LiteralPath $s.source -Destination $s.path -Force
                Test-SetupHash -Path $s.path -Expected $s.sha256
                $setupVersion = Get-FileVersion -Item (Get-Item -LiteralPath $s.path)
            }
            'extract' {
                Remove-Item -LiteralPath $s.dir -Recurse -Force -ErrorAction Ignore
                $exitCode = Start-Installer -FilePath $s.setup_file -Arguments "/x:`"$($s.dir)`" /q" -WorkingDirectory (Split-Path -Parent $s.setup_file) -TimeoutSeconds 600
                $setupdr = Join-Path -Path $s.dir -ChildPath 'setupdr.exe'
                if (-not (Wait-Condition -Condition { Test-Path -LiteralPath $setupdr } -TimeoutSeconds 60)) {
                    throw "$($s.setup_file) /x /q exited with $exitCode and left no setupdr.exe in $($s.dir)"
                }
            }
            'install' {
                $exitCode = Start-Installer -FilePath (Join-Path -Path $s.dir -ChildPath 'setupdr.exe') -Arguments '/i' -WorkingDirectory $s.dir -TimeoutSeconds $s.timeout
                if ($exitCode -eq 1618) {
                    throw 'setupdr.exe /i exited with 1618: another installation is in progress; run again once it has finished'
                }
                if ($exitCode -eq 3010 -or $exitCode -eq 1641) {
                    $rebootRequired = $true
                }
                $expected = $s.expected_version
                if (-not (Wait-Condition -Condition { Test-Installed -ExpectedVersion $expected } -TimeoutSeconds $s.timeout)) {
                    throw "setupdr.exe /i exited with $exitCode and the provider and agent were not in place within $($s.timeout) s; $(Get-LogTail -Filter 'DRASetupWizard*.log')"
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
                    $exitCode = Start-Installer -FilePath $configurator -Arguments $arguments -WorkingDirectory $providerDir -TimeoutSeconds $s.timeout
                    if (-not (Wait-Condition -Condition { Test-Registered } -TimeoutSeconds $s.timeout)) {
                        throw "DRConfigurator.exe /r exited with $exitCode and the host is not registered; $(Get-LogTail -Filter 'DRConfigurator*.log')"
                    }
                }
                finally {
                    Remove-Item -LiteralPath $credentialsDir -Recurse -Force -ErrorAction Ignore
                }
                Start-Service -Name dra
                if ($null -ne $s.proxy) {
                    Set-AgentProxy -Proxy $s.proxy
                }
            }
            'configure_proxy' {
                $exitCode = Start-Installer -FilePath $configurator -Arguments ('/configure' + (Get-ProxyArgument -Proxy $s.proxy)) -WorkingDirectory $providerDir -TimeoutSeconds 300
                $wanted = $s.proxy.address
                if (-not (Wait-Condition -Condition { (Get-ItemProperty -LiteralPath "$asrKey\ProxySettings" -ErrorAction Ignore).ProxyAddress -eq $wanted } -TimeoutSeconds 120)) {
                    throw "DRConfigurator.exe /configure exited with $exitCode and the proxy is not $wanted; $(Get-LogTail -Filter 'DRConfigurator*.log')"
                }
                # The running provider service reads its proxy when it starts (DRA proxy procedure, Site Recovery docs).
                Restart-Service -Name dra
                Set-AgentProxy -Proxy $s.proxy
            }
            default {
                throw "unknown step $($s.action)"
            }
        }
        [void]$done.Add([ordered]@{ action = $s.action; exit_code = $exitCode })
    }

    $step = 'reading the versions'
    Write-ProviderStepsResult -Done @($done) -RebootRequired $rebootRequired -SetupFileVersion $setupVersion
    exit 0
}
catch {
    $completed = @($done | ForEach-Object { $_.action }) -join ', '
    Write-HostScriptFailure -Message "replication_provider_apply failed at step $($step) (completed before it: $completed): $($_.Exception.Message)"
    exit 1
}
