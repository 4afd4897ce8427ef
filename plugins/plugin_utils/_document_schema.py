# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The shape of a JSON document, and how a document differs from it.

A schema is plain data: a dict gives an object's exact keys, a one-item list a list of such items, None a
scalar (or anything the reader takes as it is). Any object may also be null: a host script writes null for
what it could not read, never leaves a key out (docs/host-scripts.md: "null, never absent"). The host
scripts' schemas are declared in _host_contracts.py.
"""

from __future__ import annotations

import re
import typing as t


def schema_paths(schema: t.Any, prefix: str = "") -> set[str]:
    """Every key path of a schema: ``os.caption``, ``vms[].disks[].path``, ..."""
    paths: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= schema_paths(value, path)
    elif isinstance(schema, list):
        paths |= schema_paths(schema[0], prefix + "[]")
    return paths


def schema_key_names(schema: t.Any) -> set[str]:
    """Every key name a schema uses, at any depth."""
    return {re.split(r"[.\[\]]+", path)[-1] for path in schema_paths(schema)}


def schema_mismatches(document: t.Any, schema: t.Any, path: str = "") -> list[str]:
    """How ``document`` differs from ``schema``: missing and unexpected keys, wrong containers.

    Empty when every object in the document has exactly the keys the schema gives for its place;
    a null anywhere matches (a missing source is null).
    """
    if document is None or schema is None:
        return []
    if isinstance(schema, dict):
        if not isinstance(document, dict):
            return [f"{path or 'the document'} is {type(document).__name__}, expected an object"]
        prefix = f"{path}." if path else ""
        problems = [f"missing {prefix}{key}" for key in schema if key not in document]
        problems += [f"unexpected {prefix}{key}" for key in document if key not in schema]
        for key in schema:
            if key in document:
                problems += schema_mismatches(document[key], schema[key], prefix + key)
        return problems
    if not isinstance(document, list):
        return [f"{path} is {type(document).__name__}, expected a list"]
    problems = []
    for item in document:
        problems += [problem for problem in schema_mismatches(item, schema[0], path + "[]") if problem not in problems]
    return problems
