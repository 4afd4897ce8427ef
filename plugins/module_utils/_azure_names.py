# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""Option values checked on their real domain before any request: Azure names, numbers, GUIDs, URLs.

Every function is pure and returns a message naming the option, the value as the user gave it and
what is allowed, or None when the value is fine; ``problems(...)`` collects the messages of several
checks. Modules fail with all the messages at once, before anything changes.

Name rules are the ones Azure Resource Manager enforces per resource type, from "Naming rules and
restrictions for Azure resources":
https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
Site Recovery's own names (replication policies, Hyper-V sites) are not on that page; their rule here is
an assumption (see NAME_RULES), kept as strict as the names Azure PowerShell and the portal create.
"""

import os
import re

from ansible_collections.azmigrate.hyperv.plugins.module_utils._arm import is_guid

# A DNS domain name (contoso.onmicrosoft.com, contoso.com): labels of letters, digits and hyphens.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


# kind -> (pattern, what is allowed, in the words a message uses)
NAME_RULES = {
    # Microsoft.Resources/resourcegroups: 1-90 letters (Unicode), digits, '_', '-', '.', '(' and ')'; not ending in '.'.
    "resource_group": (re.compile(r"^[-\w.()]{0,89}[-\w()]$", re.UNICODE),
                       "1 to 90 letters, digits, '-', '_', '.', '(' and ')', not ending with '.'"),
    # Microsoft.RecoveryServices/vaults: 2-50 alphanumerics and hyphens, starting with a letter.
    "vault": (re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,49}$"),
              "2 to 50 letters, digits and hyphens, starting with a letter"),
    # Microsoft.Storage/storageAccounts: 3-24 lowercase letters and digits.
    "storage_account": (re.compile(r"^[a-z0-9]{3,24}$"), "3 to 24 lowercase letters and digits"),
    # Microsoft.Network/virtualNetworks: 2-64 alphanumerics, '_', '.', '-'; starts alphanumeric, ends alphanumeric or '_'.
    "virtual_network": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]$"),
                        "2 to 64 letters, digits, '_', '.' and '-', starting with a letter or digit and ending with "
                        "a letter, digit or '_'"),
    # virtualNetworks/subnets: 1-80, same characters and ends.
    "subnet": (re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"),
               "1 to 80 letters, digits, '_', '.' and '-', starting with a letter or digit and ending with a letter, "
               "digit or '_'"),
    # The Azure VM Site Recovery creates (Hyper-V to Azure support matrix, "Azure VM requirements"): 1-63 letters,
    # digits and hyphens, starting and ending with a letter or digit.
    "vm": (re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"),
           "1 to 63 letters, digits and hyphens, starting and ending with a letter or digit"),
    # Site Recovery replication policies and Hyper-V sites (fabrics): **assumption** - the service's rule is not
    # published; the portal and Azure PowerShell create names of letters, digits, '-' and '_'. Characters that need
    # URL encoding (space, '%', '/', '?', '#', '&', ...) never make a name the service can find again.
    "policy": (re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$"),
               "1 to 64 letters, digits, '-' and '_', starting and ending with a letter or digit"),
    "site": (re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$"),
             "1 to 64 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"),
}


def name_problem(option, value, kind):
    """A message when ``value`` is not an Azure name of ``kind`` (a key of NAME_RULES), else None.

    None (option not given) is fine; an empty or blank string is not.
    """
    if value is None:
        return None
    pattern, allowed = NAME_RULES[kind]
    if not value.strip():
        return f"{option} is empty; it must be {allowed}"
    if pattern.match(value):
        return None
    return f"{option} is {value!r}; it must be {allowed}"


def name_or_id_problem(option, value, kind, resource_type):
    """Like name_problem, but an ARM id of ``resource_type`` (its last segment a valid name) is fine too."""
    if value is None or not value.startswith("/"):
        return name_problem(option, value, kind)
    parts = value.strip("/").split("/")
    if (len(parts) < 8 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups"
            or "/".join(parts[4:7]).lower() != f"providers/{resource_type}".lower()):
        return ("%s is %r; it must be a name or the ARM id of a %s (/subscriptions/<id>/resourceGroups/<group>/"
                "providers/%s/<name>)" % (option, value, resource_type, resource_type))
    return name_problem(option, parts[7], kind)


def text_problem(option, value):
    """A message when a given ``value`` is an empty or blank string."""
    if value is not None and not value.strip():
        return f"{option} is empty; give a value or leave the option out"
    return None


def int_problem(option, value, low, high=None, unit=""):
    """A message when ``value`` is given and outside [low, high] (high None: no upper bound)."""
    if value is None or (low <= value and (high is None or value <= high)):
        return None
    unit = f" {unit}" if unit else ""
    if high is None:
        return f"{option} is {value}; it must be at least {low}{unit}"
    return f"{option} is {value}; it must be a whole number from {low} to {high}{unit}"


def tenant_problem(value):
    """The tenant must be a directory id (GUID) or a domain name (contoso.onmicrosoft.com)."""
    if value is None or is_guid(value) or _DOMAIN.match(value):
        return None
    return ("tenant is %r; it must be the directory (tenant) id, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47, "
            "or one of the tenant's domain names such as contoso.onmicrosoft.com" % value)


def https_problem(option, value):
    """Cloud endpoints must be https: credentials and tokens never travel in clear text."""
    if value is None or not value.lower().startswith(("http://", "https://")):
        return None
    if value.lower().startswith("https://"):
        return None
    return ("%s is %r; it must be an https:// URL (Azure Resource Manager and Entra ID refuse tokens and credentials "
            "over plain http)" % (option, value))


def file_problem(option, path):
    """A message when a given file ``path`` does not exist or is not a readable file."""
    if path is None:
        return None
    if not os.path.isfile(path):
        return f"{option} is {path!r}; no such file"
    if not os.access(path, os.R_OK):
        return f"{option} is {path!r}; the file is not readable"
    return None


def problems(*messages):
    """The messages that are not None, in order."""
    return [message for message in messages if message]
