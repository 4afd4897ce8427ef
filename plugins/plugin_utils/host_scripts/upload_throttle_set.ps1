# azmigrate-host-script: upload_throttle_set/2
# Applies the throttle that azmigrate.hyperv.upload_throttle planned with Set-OBMachineSetting, then
# reads it back with Get-OBMachineSetting and prints the same document as upload_throttle_read/1, so
# the controller judges success by what the agent reports, with the throttle it found before setting
# under "replaced" (hyperv_host_state sets the throttle in the command that installs the agent, with no
# read first). Protocol: docs/host-scripts.md ("upload_throttle_set/2"). Parameters: {"throttle": null}
# turns throttling off (-NoThrottle);
# {"throttle": {"work_days": ["Monday"], "work_hour_start": "08:00:00", "work_hour_end": "18:00:00",
# "work_hour_bandwidth": 524288, "non_work_hour_bandwidth": 2097152}} sets all five throttle
# parameters together, as the cmdlet requires (Microsoft Learn: Set-OBMachineSetting); bandwidths are bytes/s.
# Windows PowerShell 5.1 syntax only. The runner inserts prelude.ps1 after the marker.

$WarningPreference = 'SilentlyContinue'

$step = 'reading the parameters from stdin'
try {
    $request = Read-HostScriptRequest -Line @($input)
    $wanted = $request.params.throttle

    $step = 'reading the Recovery Services agent (HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup)'
    $agentPath = Get-AgentInstallPath
    if (-not $agentPath) {
        throw 'the Recovery Services agent is not installed (no InstallPath under HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Setup)'
    }

    $step = 'reading the throttle it replaces (Get-OBMachineSetting)'
    # Get-ThrottleDocument imports MSOnlineBackup by its full path: a powershell.exe started before the agent's
    # setup (this one, when the same command installed the agent) does not see the module folder that setup adds
    # to the machine's PSModulePath (learn.microsoft.com/azure/backup/backup-client-automation).
    $replaced = Get-ThrottleDocument
    if ($null -eq $replaced.throttle) {
        $status = $replaced.agent.service_status
        if (-not $status) {
            $status = 'missing'
        }
        throw "the Recovery Services agent's service obengine is $status, not Running: start it (Start-Service obengine); the throttle is read and set through the running agent"
    }

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
    $after = Get-ThrottleDocument
    Write-HostScriptResult -Result ([ordered]@{ agent = $after.agent; throttle = $after.throttle; replaced = $replaced })
    exit 0
}
catch {
    Write-HostScriptFailure -Message "upload_throttle_set failed while $($step): $($_.Exception.Message)"
    exit 1
}
