"""ARM resource ids: building, parsing and comparing them.

ASR writes its ids with a capital S (`/Subscriptions/...`, in the azure-rest-api-specs examples and every recording),
while Compute, Network and Storage ids start `/subscriptions/`. Clients must compare ids
case-insensitively (azure-sdk-for-go#2824), so the lab does too, everywhere.
"""

from __future__ import annotations

import uuid

VAULT_TYPE = "Microsoft.RecoveryServices/vaults"


def new_guid() -> str:
    return str(uuid.uuid4())


def stable_guid(*parts: str) -> str:
    """A GUID that is the same every run for the same inputs (provider ids, VM-derived names)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "azmigrate-lab:" + ":".join(p.lower() for p in parts)))


def arm_id(subscription: str, resource_group: str | None = None, *segments: str) -> str:
    """`/subscriptions/{sub}[/resourceGroups/{rg}[/providers/...segments]]` (lower-case s)."""
    path = f"/subscriptions/{subscription}"
    if resource_group is not None:
        path += f"/resourceGroups/{resource_group}"
    if segments:
        path += "/providers/" + "/".join(segments)
    return path


def asr_id(path: str) -> str:
    """The same id with ASR's `/Subscriptions/` spelling."""
    if path.lower().startswith("/subscriptions/"):
        return "/Subscriptions/" + path[len("/subscriptions/"):]
    return path


def key(resource_id: str) -> str:
    """Dictionary key for an id: ids compare case-insensitively."""
    return resource_id.rstrip("/").lower()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and key(a) == key(b)


def parse(resource_id: str) -> dict[str, str]:
    """Split an ARM id into subscription, resource_group, namespace, type and name.

    Nested types join with '/': `.../providers/Microsoft.Network/virtualNetworks/v/subnets/s`
    gives type `virtualNetworks/subnets` and name `s`; `parent` is the id of the parent.
    """
    parts = [p for p in resource_id.split("/") if p]
    out: dict[str, str] = {}
    lowered = [p.lower() for p in parts]
    if "subscriptions" in lowered:
        out["subscription"] = parts[lowered.index("subscriptions") + 1]
    if "resourcegroups" in lowered:
        out["resource_group"] = parts[lowered.index("resourcegroups") + 1]
    if "providers" in lowered:
        at = lowered.index("providers")
        out["namespace"] = parts[at + 1]
        rest = parts[at + 2:]
        out["type"] = "/".join(rest[0::2])
        out["name"] = rest[-1] if len(rest) % 2 == 0 and rest else ""
        out["parent"] = "/" + "/".join(parts[:-2]) if len(rest) > 2 else ""
    return out


def last_segment(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]
