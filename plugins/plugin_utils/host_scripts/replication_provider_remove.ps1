# azmigrate-host-script: replication_provider_remove/1
# Performs the removing steps planned by azmigrate.hyperv.replication_provider - unregister (the local
# cleanup) and uninstall - in order, and prints the same document as replication_provider_apply/1.
# The host cannot remove itself from its vault: the controller runs unregister only once the user has
# removed it there (or it was never fully registered). Windows PowerShell 5.1 syntax only. The runner
# inserts prelude.ps1 after the marker.

$asrKey = 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery'
$done = New-Object -TypeName System.Collections.ArrayList
$rebootRequired = $false

# Installed as the read script sees it: a Version (provider) or InstallPath (agent), or an Uninstall entry.
function Test-ComponentInstalled {
    param([string]$Component, [string]$Pattern)
    $present = if ($Component -eq 'provider') { (Get-ItemProperty -LiteralPath $asrKey -ErrorAction Ignore).Version } else { Get-AgentInstallPath }
    return [bool]($present -or @(Get-UninstallEntry -Pattern $Pattern).Count)
}

$step = 'reading the parameters from stdin'
try {
    $request = Read-HostScriptRequest -Line @($input)
    foreach ($s in @($request.params.steps)) {
        $step = $s.action
        $exitCode = $null
        switch ($s.action) {
            'unregister' {
                # Microsoft's cleanup script for a Hyper-V host, non-interactive
                # (learn.microsoft.com/azure/site-recovery/site-recovery-manage-registration-and-protection), including the
                # IdMgmtCloudContainerId value its current version removes. The vault side was removed before.
                Stop-Service -Name dra -Force -ErrorAction Ignore
                foreach ($key in @("$asrKey\Registration", "$asrKey\ProxySettings")) {
                    Remove-Item -LiteralPath $key -Recurse -Force -ErrorAction Ignore
                }
                foreach ($name in @('DraID', 'IdMgmtCloudContainerId')) {
                    Remove-ItemProperty -LiteralPath $asrKey -Name $name -ErrorAction Ignore
                }
                Get-ChildItem -Path 'Cert:\LocalMachine\My' | Where-Object {
                    $_.FriendlyName -like 'ASR_SRSAUTH_CERT_KEY_CONTAINER*' -or $_.FriendlyName -like 'ASR_HYPER_V_HOST_CERT_KEY_CONTAINER*' } | Remove-Item -Force
            }
            'uninstall' {
                $pattern = if ($s.component -eq 'provider') { 'Microsoft Azure Site Recovery Provider*' } else { 'Microsoft Azure Recovery Services Agent*' }
                foreach ($entry in @(Get-UninstallEntry -Pattern $pattern)) {
                    # UninstallString reads "MsiExec.exe /I{code}" or "/X{code}": run /X quietly (the provider's product code is not published).
                    $productCode = [regex]::Match($entry.uninstall_string, '\{[0-9A-Fa-f-]{36}\}').Value
                    if (-not $productCode) {
                        throw "cannot uninstall $($entry.name): its UninstallString names no MSI product code"
                    }
                    $exitCode = Start-Installer -FilePath 'msiexec.exe' -Arguments "/X$productCode /qn /norestart" -WorkingDirectory ([Environment]::SystemDirectory) -TimeoutSeconds $s.timeout
                    if ($exitCode -eq 3010 -or $exitCode -eq 1641) {
                        $rebootRequired = $true
                    }
                    elseif ($exitCode -ne 0) {
                        throw "msiexec /X$productCode for $($entry.name) exited with $exitCode"
                    }
                }
                # Not installed as the read sees it: no Version (provider) or InstallPath (agent), and no Uninstall
                # entry. The Azure Site Recovery key itself may stay, holding values written at run time.
                $component = $s.component
                if (-not (Wait-Condition -Condition { -not (Test-ComponentInstalled -Component $component -Pattern $pattern) } -TimeoutSeconds $s.timeout)) {
                    throw "the $component is still installed (version or Uninstall entry present) $($s.timeout) s after msiexec /X"
                }
            }
            default {
                throw "unknown step $($s.action)"
            }
        }
        [void]$done.Add([ordered]@{ action = $s.action; exit_code = $exitCode })
    }

    $step = 'reading the versions'
    Write-ProviderStepsResult -Done @($done) -RebootRequired $rebootRequired -SetupFileVersion $null
    exit 0
}
catch {
    $completed = @($done | ForEach-Object { $_.action }) -join ', '
    Write-HostScriptFailure -Message "replication_provider_remove failed at step $($step) (completed before it: $completed): $($_.Exception.Message)"
    exit 1
}
