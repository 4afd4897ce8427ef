"""Microsoft.Migrate projects and their solutions: how a Migrate project names its replication vault.

Shapes from the azure-rest-api-specs migrate examples (Microsoft.Migrate 2018-09-01-preview,
MigrateProjects_GetMigrateProject.json and Solutions_GetSolution.json). The Server Migration
solution `Servers-Migration-ServerMigration` carries the project's Recovery Services vault in
`properties.details.extendedDetails.vaultId` (Az.Migrate reads it there:
`$solution.DetailExtendedDetail.AdditionalProperties.vaultId`); whether a Hyper-V-only project
fills it the same way is an assumption (lab/FIDELITY.md).
"""

from __future__ import annotations

from lab.azure import ids
from lab.azure.arm import Arm, ArmCall, ArmError, json_body
from lab.azure.resources import location_of, require_group
from lab.azure.state import AzureCloud
from lab.http import Response

PROJECT = "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Migrate/migrateProjects/{project}"
PROJECT_TYPE = "Microsoft.Migrate/migrateProjects"
SOLUTION_TYPE = PROJECT_TYPE + "/solutions"
SERVER_MIGRATION = "Servers-Migration-ServerMigration"
SOLUTIONS = {   # name -> (tool, purpose)
    "Servers-Discovery-ServerDiscovery": ("ServerDiscovery", "Discovery"),
    "Servers-Assessment-ServerAssessment": ("ServerAssessment", "Assessment"),
    SERVER_MIGRATION: ("ServerMigration", "Migration"),
}


def project_id(cloud: AzureCloud, resource_group: str, name: str) -> str:
    return ids.arm_id(cloud.subscription_id, resource_group, PROJECT_TYPE, name)


def solution_json(project: dict, name: str, vault_id: str | None) -> dict:
    tool, purpose = SOLUTIONS[name]
    extended = {"vaultId": vault_id} if vault_id and name == SERVER_MIGRATION else {}
    return {"id": f"{project['id']}/solutions/{name}", "name": name, "type": SOLUTION_TYPE,
            "etag": f'"{ids.stable_guid("solution", project["id"], name)}"',
            "properties": {"tool": tool, "purpose": purpose, "goal": "Servers", "status": "Active",
                           "cleanupState": "None",
                           "summary": {"instanceType": "Servers", "discoveredCount": 0, "assessedCount": 0,
                                       "replicatingCount": 0, "testMigratedCount": 0, "migratedCount": 0},
                           "details": {"groupCount": 0, "assessmentCount": 0, "extendedDetails": extended}}}


def create_project(cloud: AzureCloud, resource_group: str, name: str, location: str, vault_id: str | None = None) -> dict:
    """A Migrate project with its three solutions; the Server Migration one names `vault_id` (None: not set up yet)."""
    document = {"id": project_id(cloud, resource_group, name), "name": name, "type": PROJECT_TYPE,
                "location": location, "tags": {}, "eTag": f'"{ids.stable_guid("project", resource_group, name)}"',
                "properties": {"provisioningState": "Succeeded", "registeredTools": ["ServerMigration"],
                               "refreshSummaryState": "Completed", "summary": {}}}
    cloud.put(document)
    for solution in SOLUTIONS:
        cloud.put(solution_json(document, solution, vault_id))
    return document


def _project(call: ArmCall) -> dict:
    require_group(call)
    document = call.cloud.get(project_id(call.cloud, call.params["rg"], call.params["project"]))
    if document is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{PROJECT_TYPE}/{call.params['project']}' under resource "
                       f"group '{call.params['rg']}' was not found. For more details please go to "
                       "https://aka.ms/ARMResourceNotFoundFix")
    return document


def get_project(call: ArmCall) -> Response:
    return json_body(200, _project(call))


def put_project(call: ArmCall) -> Response:
    group = require_group(call)
    body = call.require_body()
    existing = call.cloud.get(project_id(call.cloud, group["name"], call.params["project"]))
    if existing is not None:
        return json_body(200, existing)
    return json_body(201, create_project(call.cloud, group["name"], call.params["project"],
                                         location_of(call, body, group)))


def list_solutions(call: ArmCall) -> Response:
    project = _project(call)
    return json_body(200, {"value": [call.cloud.get(f"{project['id']}/solutions/{name}") for name in SOLUTIONS],
                           "nextLink": None})


def get_solution(call: ArmCall) -> Response:
    project = _project(call)
    document = call.cloud.get(f"{project['id']}/solutions/{call.params['solution']}")
    if document is None:
        raise ArmError(404, "SolutionNotFound", f"The solution '{call.params['solution']}' was not found in migrate "
                       f"project '{project['name']}'.")
    return json_body(200, document)


def register(arm: Arm) -> None:
    add = arm.router.add
    add("GET", PROJECT, get_project)
    add("PUT", PROJECT, put_project)
    add("GET", PROJECT + "/solutions", list_solutions)
    add("GET", PROJECT + "/solutions/{solution}", get_solution)
