# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The Site Recovery names and value sets the package shares, each defined once."""


STATES = ("enabling", "initial_replication", "failed", "protected", "test_failover", "in_progress",
          "failed_over", "committed")


# Where _asr.api.with_scenario_job puts the job currentScenario names (REST JSON), or None when it is gone.
SCENARIO_JOB_KEY = "currentScenarioJob"


# Job states (the SDK's JobProperties.state): NotStarted and InProgress run; the others are final for a wait.
RUNNING_JOB_STATES = ("NotStarted", "InProgress")


FAILED_JOB_STATES = ("Failed", "Cancelled", "Suspended")


# protectionState names of failed enables and initial replications (the Microsoft.DataReplication enum
# ASR's strings match: azure-mgmt-recoveryservicesdatareplication ProtectionState); read as a hint besides the job and the health.
FAILED_PROTECTION_STATES = ("EnablingFailed", "InitialReplicationFailed")


HEALTH_VALUES = ("Normal", "Warning", "Critical", "None")
FAILOVER_OPERATIONS = ("TestFailover", "PlannedFailover", "UnplannedFailover")


# currentScenario of an idle item: scenarioName "None", jobId ".../replicationJobs/None",
# startTime 1753-01-01T01:01:01Z (planned_failover.json entry 6; Azure/azure-rest-api-specs ReplicationProtectedItems_Get.json).
IDLE_SCENARIOS = (None, "", "None")


# PowerShell's WaitForJobCompletion stops on these (Azure/azure-powershell, AsrCmdletBase.cs). "Suspended" waits for
# a person (resume with a comment), so an automated wait treats it as the end.
TERMINAL_STATES = ("Succeeded", "Failed", "Cancelled", "Suspended")


# Without any Retry-After, poll as Az.RecoveryServices does: every 30 s (PSAsrClient.cs).
DEFAULT_POLL_INTERVAL = 30.0


# 429 and 5xx that outlive the SDK's own retries, and network errors, end one poll, not the wait.
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)


# The Azure side of every Hyper-V-to-Azure mapping is named, not referenced by id
# (create_container_mapping.json entry 5; Azure/azure-rest-api-specs ReplicationProtectionContainerMappings_Create.json).
AZURE_RECOVERY_CONTAINER = "Microsoft Azure"


# The Hyper-V side of every failover action (the SDK's HyperVReplicaAzure* failover inputs).
PRIMARY_TO_RECOVERY = "PrimaryToRecovery"


PROVIDER = "HyperVReplicaAzure"
DISK_TYPES = ("Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "PremiumV2_LRS", "UltraSSD_LRS",
              "StandardSSD_ZRS", "Premium_ZRS")
LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "WindowsServer")
SQL_LICENSE_TYPES = ("NotSpecified", "NoLicenseType", "PAYG", "AHUB")
MIGRATION_STATES = ("failed_over", "committed", "completed")


# Disk types whose IOPS and throughput must be given per disk; the module does not expose those yet.
PERFORMANCE_DISK_TYPES = ("PremiumV2_LRS", "UltraSSD_LRS")


OS_TYPES = ("Windows", "Linux")
HYPERV_SITE = "HyperVSite"


# Site Recovery writes replication logs to a standard general-purpose account in the target region
# (Learn: "Azure Site Recovery support matrix" - cache storage; premium and blob-only accounts are not
# supported as cache storage). Which redundancy options it accepts beyond LRS/GRS is an assumption.
LOG_STORAGE_KINDS = ("StorageV2", "Storage")


LOG_STORAGE_SKUS = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS")
