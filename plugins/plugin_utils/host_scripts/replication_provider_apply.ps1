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
# The extraction folder the extract step creates; install and remove_extracted act on it.
$extractDir = $null

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

# SYSTEM and Administrators only, inheritance off, owned by Administrators: what the staging and credentials
# folders get. ProgramData's own ACL lets BUILTIN\Users create files and folders in every folder below it, and
# a program run elevated from a folder a user could write loads a DLL planted next to it (the application's
# folder is searched first, learn.microsoft.com/windows/win32/dlls/dynamic-link-library-search-order).
function New-AdminsOnlyDirectorySecurity {
    $security = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
    $security.SetAccessRuleProtection($true, $false)
    $security.SetOwner((New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'))
    foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
        $identity = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid
        $security.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $identity, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow'))
    }
    return $security
}

# The staging folder, admins-only before anything is written to it or run from it. A folder that exists but that
# others may write to (created by an earlier version, inheriting ProgramData's ACL, or created by a user) may hold
# planted files: when it holds only what this script puts there (staged setup files, extraction folders) it is
# deleted and created again; anything else in it is refused, as the folder may be a user's own. The ACL is given
# in the creating call, so there is no moment when the new folder is open.
function Initialize-StagingFolder {
    param([string]$Path)
    if (Test-Path -LiteralPath $Path -PathType Container) {
        if (Test-AdminsOnlyFolder -Path $Path) {
            return
        }
        $foreign = @(Get-ChildItem -LiteralPath $Path -Force | Where-Object { $_.Name -notlike 'AzureSiteRecoveryProvider-*' -and $_.Name -notlike 'extracted-*' })
        if ($foreign.Count -gt 0) {
            throw "staging_dir $Path exists and non-administrators may write to it, and it holds $(@($foreign | ForEach-Object { $_.Name }) -join ', '), which this module did not put there; remove the folder (it is created again for SYSTEM and Administrators only) or choose another staging_dir"
        }
        # Directory.Delete does not follow junctions or symbolic links planted inside, unlike Remove-Item -Recurse in 5.1.
        [IO.Directory]::Delete($Path, $true)
    }
    [void][IO.Directory]::CreateDirectory($Path, (New-AdminsOnlyDirectorySecurity))
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
                Initialize-StagingFolder -Path (Split-Path -Parent $s.path)
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
                Initialize-StagingFolder -Path (Split-Path -Parent $s.path)
                Move-Item -LiteralPath $s.source -Destination $s.path -Force
                Test-SetupHash -Path $s.path -Expected $s.sha256
                $setupVersion = Get-FileVersion -Item (Get-Item -LiteralPath $s.path)
            }
            'extract' {
                Initialize-StagingFolder -Path $s.staging_dir
                if ((Split-Path -Parent $s.setup_file) -eq $s.staging_dir -and -not (Test-Path -LiteralPath $s.setup_file -PathType Leaf)) {
                    throw "$($s.setup_file) is not there: a staged setup file in a folder non-administrators could write is removed with that folder; run again to stage it in the protected folder"
                }
                # A new folder with a name nobody can guess, inside the admins-only staging folder: no one else can
                # have created it or put a file in it before setupdr.exe runs from it.
                $extractDir = Join-Path -Path $s.staging_dir -ChildPath ('extracted-' + [guid]::NewGuid().ToString('N'))
                New-Item -ItemType Directory -Path $extractDir | Out-Null
                $exitCode = Start-Installer -FilePath $s.setup_file -Arguments "/x:`"$extractDir`" /q" -WorkingDirectory (Split-Path -Parent $s.setup_file) -TimeoutSeconds 600
                $setupdr = Join-Path -Path $extractDir -ChildPath 'setupdr.exe'
                if (-not (Wait-Condition -Condition { Test-Path -LiteralPath $setupdr } -TimeoutSeconds 60)) {
                    throw "$($s.setup_file) /x /q exited with $exitCode and left no setupdr.exe in $extractDir"
                }
            }
            'install' {
                $exitCode = Start-Installer -FilePath (Join-Path -Path $extractDir -ChildPath 'setupdr.exe') -Arguments '/i' -WorkingDirectory $extractDir -TimeoutSeconds $s.timeout
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
                # A failure is reported, not ignored: the provider is installed, and the admins-only folder named in
                # the message is left for an administrator to remove.
                try {
                    [IO.Directory]::Delete($extractDir, $true)
                }
                catch {
                    throw "the provider is installed, but its extracted setup files in $extractDir could not be removed: $($_.Exception.Message)"
                }
            }
            'register' {
                # The key file exists only in a folder readable by SYSTEM and Administrators, and only while used.
                $credentialsDir = Join-Path -Path $env:ProgramData -ChildPath ('azmigrate\' + [guid]::NewGuid().ToString('N'))
                if (Test-Path -LiteralPath $credentialsDir) {
                    throw "$credentialsDir already exists; the key file goes only into a folder this script creates"
                }
                try {
                    # Created with its ACL in one call: no moment when the folder is open. Checked afterwards, since
                    # CreateDirectory also succeeds on a folder someone else created in the meantime.
                    [void][IO.Directory]::CreateDirectory($credentialsDir, (New-AdminsOnlyDirectorySecurity))
                    if (-not (Test-AdminsOnlyFolder -Path $credentialsDir) -or @(Get-ChildItem -LiteralPath $credentialsDir -Force).Count -gt 0) {
                        throw "$credentialsDir is not an empty folder for SYSTEM and Administrators only; the key file was not written"
                    }
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
