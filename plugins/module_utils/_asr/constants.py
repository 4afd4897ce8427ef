# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The Site Recovery names and value sets the package shares, each defined once."""

# --- the replication provider and its sites ---

# The replication provider of Hyper-V to Azure: the instanceType of every policy, enable, update and failover input.
PROVIDER = "HyperVReplicaAzure"
# The instanceType of a Hyper-V site (fabric).
HYPERV_SITE = "HyperVSite"
# The Hyper-V side of every failover action (the SDK's HyperVReplicaAzure* failover inputs).
PRIMARY_TO_RECOVERY = "PrimaryToRecovery"
# The Azure side of every Hyper-V-to-Azure mapping is named, not referenced by id
# (Azure/azure-rest-api-specs ReplicationProtectionContainerMappings_Create.json).
AZURE_RECOVERY_CONTAINER = "Microsoft Azure"

# --- a replicated item's lifecycle (see _asr.lifecycle) ---

STATES = ("enabling", "initial_replication", "failed", "protected", "test_failover", "in_progress",
          "failed_over", "committed")
# Where _asr.api.with_scenario_job puts the job currentScenario names (REST JSON), or None when it is gone.
SCENARIO_JOB_KEY = "currentScenarioJob"
# currentScenario of an idle item: scenarioName "None", jobId ".../replicationJobs/None",
# startTime 1753-01-01T01:01:01Z (Azure/azure-rest-api-specs ReplicationProtectedItems_Get.json).
IDLE_SCENARIOS = (None, "", "None")
# The operations that fail an item over (a test failover included); their presence in allowedOperations means the
# first copy is done. Compared as a set, so the order means nothing.
FAILOVER_OPERATIONS = ("TestFailover", "PlannedFailover", "UnplannedFailover")
# protectionState names of failed enables and initial replications (the Microsoft.DataReplication enum
# ASR's strings match: azure-mgmt-recoveryservicesdatareplication ProtectionState); read as a hint besides the job
# and the health.
FAILED_PROTECTION_STATES = ("EnablingFailed", "InitialReplicationFailed")
HEALTH_VALUES = ("Normal", "Warning", "Critical", "None")
# Where the migration modules can take an item: failed over, committed, completed (replication removed).
MIGRATION_STATES = ("failed_over", "committed", "completed")

# --- jobs ---

# Job states (the SDK's JobProperties.state): NotStarted and InProgress run; the others are final for a wait.
RUNNING_JOB_STATES = ("NotStarted", "InProgress")
FAILED_JOB_STATES = ("Failed", "Cancelled", "Suspended")
# PowerShell's WaitForJobCompletion stops on these (Azure/azure-powershell, AsrCmdletBase.cs). "Suspended" waits for
# a person (resume with a comment), so an automated wait treats it as the end.
TERMINAL_STATES = ("Succeeded", "Failed", "Cancelled", "Suspended")
# Without any Retry-After, poll as Az.RecoveryServices does: every 30 s (PSAsrClient.cs).
DEFAULT_POLL_INTERVAL = 30.0
# 429 and 5xx that outlive the SDK's own retries, and network errors, end one poll, not the wait.
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)

# --- target settings ---

# The managed-disk types a replicated VM's disks can be given in Azure (HyperVReplicaAzure diskType).
DISK_TYPES = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "PremiumV2_LRS", "UltraSSD_LRS",
              "StandardSSD_ZRS", "Premium_ZRS")
# Disk types whose IOPS and throughput must be given per disk; the modules do not expose those yet, so an enable
# naming them is refused.
PERFORMANCE_DISK_TYPES = ("PremiumV2_LRS", "UltraSSD_LRS")
# The SKUs a migrated VM's managed disk can be changed to after cutover (Disks - Update of sku.name): DISK_TYPES
# without PERFORMANCE_DISK_TYPES, because a disk is not switched to Premium SSD v2 or Ultra Disk by changing its SKU
# (learn.microsoft.com/azure/virtual-machines/disks-convert-types covers the other types; converting to those two
# goes through a snapshot). Listed in the order the migration modules document them.
DISK_SKUS = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS")
LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "WindowsServer")
SQL_LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "PAYG", "AHUB")
OS_TYPES = ("Windows", "Linux")

# --- log (cache) storage ---

# Site Recovery writes replication logs to a standard general-purpose account in the target region
# (Learn: "Azure Site Recovery support matrix" - cache storage; premium and blob-only accounts are not
# supported as cache storage). Which redundancy options it accepts beyond LRS/GRS is an assumption.
LOG_STORAGE_KINDS = ("StorageV2", "Storage")
LOG_STORAGE_SKUS = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS")
