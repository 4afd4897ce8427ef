# azmigrate-host-script: replication_provider_read/1
# Reads what azmigrate.hyperv.replication_provider decides on, in one call, and prints one JSON document:
# provider and agent (registry and services, never Win32_Product), vault registration, the provider's
# proxy, uninstall entries, the setup file (version and SHA-256) and whether a reboot is pending.
# Schema: the replication_provider_read contract in plugins/plugin_utils/_host_contracts.py. Facts:
# learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection.
# Windows PowerShell 5.1 syntax only. The runner inserts prelude.ps1 after the marker.

$step = 'reading the parameters from stdin'
try {
    $request = Read-HostScriptRequest -Line @($input)
    $setupRequest = $request.params.setup_file

    $step = 'reading the provider (HKLM\SOFTWARE\Microsoft\Azure Site Recovery)'
    $asrKey = 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery'
    $asr = Get-ItemProperty -LiteralPath $asrKey -ErrorAction Ignore
    $configurator = Join-Path -Path $env:ProgramFiles -ChildPath 'Microsoft Azure Site Recovery Provider\DRConfigurator.exe'
    $provider = $null
    if ($asr.Version) {
        $provider = [ordered]@{ version = [string]$asr.Version; configurator = (Test-Path -LiteralPath $configurator) }
    }

    $step = 'reading the agent (HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Setup)'
    $agentPath = Get-AgentInstallPath
    $agent = $null
    if ($agentPath) {
        $agent = [ordered]@{ version = (Get-AgentVersion -InstallPath $agentPath); path = $agentPath }
    }

    $step = 'reading services dra and obengine'
    $services = [ordered]@{ dra = $null; obengine = $null }
    foreach ($name in @('dra', 'obengine')) {
        $service = Get-Service -Name $name -ErrorAction Ignore
        if ($null -ne $service) {
            $services[$name] = [string]$service.Status
        }
    }

    $step = 'reading the registration'
    $registration = Get-ProviderRegistration
    # What Microsoft's cleanup script removes that belongs to a registration
    # (learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection, and
    # IdMgmtCloudContainerId, which its current version removes too), in case a half or stale registration left
    # some of it: DRConfigurator /r refuses to register again over it. ProxySettings alone is not a registration.
    $certificates = @(Get-ChildItem -Path 'Cert:\LocalMachine\My' | Where-Object {
            $_.FriendlyName -like 'ASR_SRSAUTH_CERT_KEY_CONTAINER*' -or $_.FriendlyName -like 'ASR_HYPER_V_HOST_CERT_KEY_CONTAINER*' })
    $leftovers = [bool]($asr.DraID -or $asr.IdMgmtCloudContainerId -or (Test-Path -LiteralPath "$asrKey\Registration") -or $certificates.Count)

    $step = 'reading the proxy (ProxySettings)'
    $proxySettings = Get-ItemProperty -LiteralPath "$asrKey\ProxySettings" -ErrorAction Ignore
    $proxy = $null
    if ($proxySettings.ProxyAddress) {
        $bypass = @()
        if ($proxySettings.BypassUrls) {
            $bypass = @([string]$proxySettings.BypassUrls -split ';' | Where-Object { $_ })
        }
        $port = $null
        if ($proxySettings.ProxyPort) {
            $port = [int]$proxySettings.ProxyPort
        }
        $proxy = [ordered]@{ address = [string]$proxySettings.ProxyAddress; port = $port; username = $proxySettings.ProxyUserName; bypass_urls = $bypass }
    }

    $step = 'reading the uninstall entries'
    $uninstall = [ordered]@{
        provider = [bool]@(Get-UninstallEntry -Pattern 'Microsoft Azure Site Recovery Provider*').Count
        agent = [bool]@(Get-UninstallEntry -Pattern 'Microsoft Azure Recovery Services Agent*').Count
    }

    $setupFile = $null
    if ($null -ne $setupRequest) {
        $step = "reading the setup file $($setupRequest.path)"
        $setupFile = [ordered]@{ path = [string]$setupRequest.path; exists = $false; sha256 = $null; version = $null }
        $item = Get-Item -LiteralPath $setupRequest.path -ErrorAction Ignore
        # A copy staged in a folder others may write (by an earlier version) could be swapped after its hash is read:
        # it reads as absent, so the apply stages the file again in the admins-only folder it makes first.
        if ($null -ne $item -and $setupRequest.staged -and -not (Test-AdminsOnlyFolder -Path (Split-Path -Parent $setupRequest.path))) {
            $item = $null
        }
        if ($null -ne $item -and -not $item.PSIsContainer) {
            $setupFile.exists = $true
            $setupFile.version = Get-FileVersion -Item $item
            if ($setupRequest.sha256) {
                $setupFile.sha256 = (Get-FileHash -LiteralPath $setupRequest.path -Algorithm SHA256).Hash.ToLowerInvariant()
            }
        }
    }

    $step = 'reading pending reboots'
    $pendingRename = (Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -ErrorAction Ignore).PendingFileRenameOperations
    $rebootPending = [bool]($pendingRename -or (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'))

    $result = [ordered]@{
        computer_name = $env:COMPUTERNAME
        # DRConfigurator judges the key file's validity by the host's clock, so the controller does too.
        utc_now = [DateTime]::UtcNow.ToString('o')
        provider = $provider
        agent = $agent
        services = $services
        registration = $registration
        registration_leftovers = $leftovers
        proxy = $proxy
        uninstall = $uninstall
        setup_file = $setupFile
        reboot_pending = $rebootPending
    }
    Write-HostScriptResult -Result $result
    exit 0
}
catch {
    Write-HostScriptFailure -Message "replication_provider_read failed while $($step): $($_.Exception.Message)"
    exit 1
}
