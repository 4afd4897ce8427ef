# azmigrate-host-script: host_info/1
# Gathers everything azmigrate.hyperv.host_info reports, in one call, and prints one JSON document.
# Protocol and output schema: docs/host-scripts.md ("host_info/1"). Values are raw; the controller
# normalises them (plugins/plugin_utils/_host_facts.py).
# Windows PowerShell 5.1 syntax only. Products are detected from the registry and services, never
# from Win32_Product: enumerating it makes Windows Installer check, and sometimes repair, every MSI.
# Enums are written as their names ([string] casts): ConvertTo-Json in 5.1 writes enums as numbers.
# The runner inserts prelude.ps1 after the marker.

# Warning records would reach the controller as text on stdout.
$WarningPreference = 'SilentlyContinue'

function Get-ServiceState {
    param([string]$Name)
    $service = Get-Service -Name $Name -ErrorAction Ignore
    if ($null -eq $service) {
        return $null
    }
    [ordered]@{ status = [string]$service.Status; start_type = [string]$service.StartType }
}

function Get-GuestOsName {
    # The guest's OSName from the KVP integration service (one XML instance per exchange item); null when the VM
    # does not run or its integration services do not report it.
    param([string]$VmId)
    $kvp = Get-CimInstance -Namespace root/virtualization/v2 -ClassName Msvm_KvpExchangeComponent -Filter "SystemName='$VmId'" -ErrorAction Ignore
    foreach ($exchangeItem in @($kvp.GuestIntrinsicExchangeItems)) {
        $document = [xml]$exchangeItem
        if ($document.SelectSingleNode("//PROPERTY[@NAME='Name']/VALUE").InnerText -eq 'OSName') {
            return $document.SelectSingleNode("//PROPERTY[@NAME='Data']/VALUE").InnerText
        }
    }
}

$step = 'reading the parameters from stdin'
try {
    $request = Read-HostScriptRequest -Line @($input)
    $gatherVms = [bool]$request.params.gather_vms

    $step = 'reading Win32_ComputerSystem and Win32_OperatingSystem'
    $computerSystem = Get-CimInstance -ClassName Win32_ComputerSystem
    $operatingSystem = Get-CimInstance -ClassName Win32_OperatingSystem

    $step = 'reading services'
    $services = [ordered]@{
        dra = Get-ServiceState -Name 'dra'
        obengine = Get-ServiceState -Name 'obengine'
        vmms = Get-ServiceState -Name 'vmms'
        clussvc = Get-ServiceState -Name 'ClusSvc'
    }

    $step = 'reading the Hyper-V role (Get-WindowsFeature)'
    # Get-WindowsFeature (ServerManager) exists on Windows Server only; elsewhere the Hyper-V
    # management service is the sign of the role.
    if ($null -ne (Get-Command -Name Get-WindowsFeature -ErrorAction Ignore)) {
        $hypervFeature = Get-WindowsFeature -Name Hyper-V
        $hypervRole = ($null -ne $hypervFeature) -and [bool]$hypervFeature.Installed
    }
    else {
        $hypervRole = $null -ne $services.vmms
    }

    $step = 'reading .NET Framework and TLS settings'
    $ndp = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -ErrorAction Ignore
    $crypto64 = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\.NETFramework\v4.0.30319' -ErrorAction Ignore
    $crypto32 = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319' -ErrorAction Ignore
    $tls = [ordered]@{ strong_crypto_64 = $crypto64.SchUseStrongCrypto; strong_crypto_32 = $crypto32.SchUseStrongCrypto }

    $step = 'reading the failover cluster (Get-Cluster, Get-ClusterNode)'
    # Only a node whose cluster service runs can answer Get-Cluster; the service state is reported anyway.
    $cluster = $null
    $clusterServiceRunning = ($null -ne $services.clussvc) -and ($services.clussvc.status -eq 'Running')
    if ($clusterServiceRunning -and $null -ne (Get-Module -ListAvailable -Name FailoverClusters)) {
        Import-Module -Name FailoverClusters
        $clusterNodes = @(foreach ($node in @(Get-ClusterNode)) {
                [ordered]@{ name = [string]$node.Name; state = [string]$node.State; id = [string]$node.Id }
            })
        $cluster = [ordered]@{ name = [string](Get-Cluster).Name; nodes = $clusterNodes }
    }

    $step = 'reading the Azure Site Recovery provider registry keys'
    $asr = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery' -ErrorAction Ignore
    $provider = $null
    if ($asr.Version) {
        # The provider's setup takes no install folder; DRConfigurator.exe lives in the default one.
        $providerPath = Join-Path -Path $env:ProgramFiles -ChildPath 'Microsoft Azure Site Recovery Provider'
        if (-not (Test-Path -LiteralPath "$providerPath\DRConfigurator.exe")) { $providerPath = $null }
        $provider = [ordered]@{ version = [string]$asr.Version; dra_id = $asr.DraID; path = $providerPath }
    }
    $asrRegistration = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Azure Site Recovery\Registration' -ErrorAction Ignore
    $registration = $null
    # Registered means these four are set: the same test Windows Admin Center makes.
    if ($asrRegistration.VaultLocation -and $asrRegistration.SubscriptionId -and
        $asrRegistration.ResourceName -and $asrRegistration.ResourceGroupName) {
        $registration = [ordered]@{
            vault_location = $asrRegistration.VaultLocation
            subscription_id = $asrRegistration.SubscriptionId
            vault_name = $asrRegistration.ResourceName
            resource_group = $asrRegistration.ResourceGroupName
            site_name = $asrRegistration.SiteName
            container_id = $asrRegistration.ContainerId
        }
    }

    $step = 'reading the Recovery Services agent registry keys'
    $agentPath = Get-AgentInstallPath
    $agent = $null
    if ($agentPath) {
        $agent = [ordered]@{ version = (Get-AgentVersion -InstallPath $agentPath); path = $agentPath }
    }
    $threads = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows Azure Backup\Replication' -ErrorAction Ignore
    $replicationRegistry = [ordered]@{ UploadThreadsPerVM = $threads.UploadThreadsPerVM; DownloadThreadsPerVM = $threads.DownloadThreadsPerVM }

    $step = 'reading the throttle (Get-OBMachineSetting)'
    # The settings come from the agent's engine, so they are read only while obengine runs.
    $throttle = $null
    $warnings = @()
    if ($null -ne $agent -and $null -ne $services.obengine -and $services.obengine.status -eq 'Running') {
        # Setup adds the module folder to the machine PSModulePath, which a session started before the
        # install does not see: refresh it, and import the module by full path anyway.
        $env:PSModulePath = $env:PSModulePath + ';' + [Environment]::GetEnvironmentVariable('PSModulePath', 'Machine')
        Import-Module -Name (Join-Path -Path $agentPath -ChildPath 'bin\Modules\MSOnlineBackup')
        # The throttle is one optional field: an agent that cannot answer (not registered yet, engine busy,
        # property names other than assumed in Get-ThrottleSetting) leaves it null with a warning.
        try {
            $throttle = Get-ThrottleSetting
        }
        catch {
            $warnings += "the throttle was not read (Get-OBMachineSetting): $($_.Exception.Message)"
        }
    }

    $vms = $null
    $volumes = $null
    if ($gatherVms -and $null -ne (Get-Command -Name Get-VM -ErrorAction Ignore)) {
        $step = 'reading Hyper-V replication (Get-VMReplication)'
        $replicationByVmId = @{}
        foreach ($replication in @(Get-VMReplication)) {
            $replicaServer = $replication.CurrentReplicaServerName
            if (-not $replicaServer) {
                $replicaServer = $replication.ReplicaServerName
            }
            $replicationByVmId[[string]$replication.VMId] = [ordered]@{
                state = [string]$replication.State
                health = [string]$replication.Health
                mode = [string]$replication.Mode
                replica_server = $replicaServer
            }
        }

        $step = 'reading virtual machines and disks (Get-VM, Get-VMHardDiskDrive, Get-VHD, Get-VMFirmware)'
        $vms = @(foreach ($vm in @(Get-VM)) {
                $drives = @(Get-VMHardDiskDrive -VM $vm)
                # The boot disk, whatever order the disks are listed in: generation 1 boots from IDE 0:0,
                # generation 2 from the first hard drive of its firmware boot order.
                $bootDrives = @($drives | Where-Object { "$($_.ControllerType) $($_.ControllerNumber):$($_.ControllerLocation)" -eq 'IDE 0:0' })
                if ($vm.Generation -eq 2) {
                    $bootDrives = @((Get-VMFirmware -VM $vm).BootOrder.Device | Where-Object { $_.GetType().Name -eq 'HardDiskDrive' })
                }
                $disks = @(foreach ($drive in $drives) {
                        $sizeBytes = $null
                        if ($drive.Path) {
                            # A VHD the host cannot open (missing file, share without delegation) keeps a null size.
                            $vhd = Get-VHD -Path $drive.Path -ErrorAction Ignore
                            if ($null -ne $vhd) {
                                $sizeBytes = $vhd.Size
                            }
                        }
                        [ordered]@{ path = [string]$drive.Path; size_bytes = $sizeBytes; controller = "$($drive.ControllerType) $($drive.ControllerNumber):$($drive.ControllerLocation)" }
                    })
                [ordered]@{
                    name = $vm.Name
                    id = [string]$vm.VMId
                    state = [string]$vm.State
                    generation = $vm.Generation
                    disks = $disks
                    boot_disk = @($bootDrives | ForEach-Object { [string]$_.Path })[0]
                    guest_os = Get-GuestOsName -VmId $vm.VMId
                    replication = $replicationByVmId[[string]$vm.VMId]
                }
            })

        $step = 'reading the volumes that hold VM disks (Win32_Volume)'
        # Win32_Volume also names mount points and cluster shared volumes (C:\ClusterStorage\Volume1\),
        # which Get-Volume does not. A disk is on the volume with the longest name that starts its path.
        $fixedVolumes = @(Get-CimInstance -ClassName Win32_Volume -Filter 'DriveType = 3' | Where-Object { $_.Name } |
                Sort-Object -Property { $_.Name.Length } -Descending)
        $usedVolumes = @{}
        foreach ($disk in @($vms | ForEach-Object { $_.disks } | Where-Object { $_.path })) {
            $holder = $fixedVolumes | Where-Object { $disk.path.StartsWith($_.Name, [StringComparison]::OrdinalIgnoreCase) } |
                Select-Object -First 1
            if ($holder) { $usedVolumes[$holder.Name] = $holder }
        }
        $volumes = @(foreach ($volume in @($usedVolumes.Values | Sort-Object -Property Name)) {
                [ordered]@{ name = $volume.Name; size_bytes = $volume.Capacity; free_bytes = $volume.FreeSpace }
            })
    }

    $result = [ordered]@{
        computer_name = $computerSystem.Name
        domain = $computerSystem.Domain
        domain_role = [int]$computerSystem.DomainRole
        os = [ordered]@{
            caption = $operatingSystem.Caption
            version = $operatingSystem.Version
            build = [int]$operatingSystem.BuildNumber
        }
        hyperv_role = $hypervRole
        dotnet_release = $ndp.Release
        tls = $tls
        cluster = $cluster
        services = $services
        provider = $provider
        agent = $agent
        registration = $registration
        replication_registry = $replicationRegistry
        throttle = $throttle
        warnings = @($warnings)
        vms = $vms
        volumes = $volumes
    }
    Write-HostScriptResult -Result $result
    exit 0
}
catch {
    Write-HostScriptFailure -Message "host_info failed while $($step): $($_.Exception.Message)"
    exit 1
}
