"""The lab's state as JSON: plain data (dicts, lists, numbers, strings) and the lab's own data classes, nothing else.

A world snapshot (lab/persist.py) is written with `to_json` and read back with `from_json`. What JSON has no
type for is tagged with a one-key object whose key starts with "$":

    {"$datetime": "2026-12-06T15:20:58+00:00"}   {"$bytes": "<base64>"}   {"$tuple": [...]}
    {"$set": [...]}   {"$frozenset": [...]}   {"$dict": [[key, value], ...]} (keys that are not strings)
    {"$object": "lab.azure.state:ProtectedItem", "fields": {...}}   (an instance of a class of the lab)

Only classes of the lab's own modules are rebuilt (never a callable, never a class from elsewhere), so reading a
snapshot runs no code from the state dir. A value of any other type (a function, a socket, a task) is refused
when the snapshot is written, with the path to it: the lab's state is plain data by design (jobs and operations
name their hooks, lab/azure/jobs.py). One of the lab's objects reached by two paths is refused too: JSON would read
it back as two objects, and a change to one would no longer show in the other. A dict or list reached by two paths
(a request body's tags kept both in an item's input and its settings) is written twice and read back as two equal
copies; one that contains itself is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
from typing import Any

LAB_PACKAGE = "lab"


class PlainDataError(ValueError):
    """The value is not plain data the snapshot can keep, or a document is not one `to_json` wrote."""


def _class_name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def _lab_class(name: str) -> type:
    module_name, qualname = (name.split(":", 1) + [""])[:2]
    if module_name != LAB_PACKAGE and not module_name.startswith(LAB_PACKAGE + "."):
        raise PlainDataError(f"the snapshot names the class {name!r}, which is not one of the lab's")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if not isinstance(target, type):
        raise PlainDataError(f"the snapshot names the class {name!r}, which this lab does not have")
    return target


class _Encoder:
    def __init__(self) -> None:
        self._seen: dict[int, str] = {}     # id of one of the lab's objects -> the first path it was found at
        self._keep: list[Any] = []          # keeps those objects alive while encoding, so ids stay unique
        self._open: set[int] = set()        # ids of the containers being encoded (a cycle comes back to one)

    def _once(self, value: Any, path: str) -> None:
        first = self._seen.setdefault(id(value), path)
        if first != path:
            raise PlainDataError(f"{path} is the same object as {first}: the snapshot would read it back as two")
        self._keep.append(value)

    def encode(self, value: Any, path: str) -> Any:
        if isinstance(value, (list, set, dict)) or type(value).__module__.split(".")[0] == LAB_PACKAGE:
            if id(value) in self._open:
                raise PlainDataError(f"{path} contains itself: JSON has no way to say so")
            self._open.add(id(value))
            try:
                return self._encode(value, path)
            finally:
                self._open.discard(id(value))
        return self._encode(value, path)

    def _encode(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, dt.datetime):
            return {"$datetime": value.isoformat()}
        if isinstance(value, bytes):
            return {"$bytes": base64.b64encode(value).decode("ascii")}
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(x, f"{path}[{i}]") for i, x in enumerate(value)]}
        if isinstance(value, frozenset):
            return {"$frozenset": sorted((self.encode(x, f"{path}{{}}") for x in value), key=repr)}
        if isinstance(value, list):
            return [self.encode(x, f"{path}[{i}]") for i, x in enumerate(value)]
        if isinstance(value, set):
            return {"$set": sorted((self.encode(x, f"{path}{{}}") for x in value), key=repr)}
        if isinstance(value, dict):
            return self._dict(value, path)
        kind = type(value)
        if kind.__module__.split(".")[0] == LAB_PACKAGE and hasattr(value, "__dict__") and not callable(value):
            if not getattr(getattr(kind, "__dataclass_params__", None), "frozen", False):
                self._once(value, path)
            return {"$object": _class_name(kind),
                    "fields": {name: self.encode(x, f"{path}.{name}") for name, x in vars(value).items()}}
        raise PlainDataError(f"{path} is a {kind.__module__}.{kind.__qualname__}, which the snapshot cannot keep "
                             "(only plain data and the lab's data classes)")

    def _dict(self, value: dict, path: str) -> Any:
        if all(isinstance(key, str) and not key.startswith("$") for key in value):
            return {key: self.encode(x, f"{path}[{key!r}]") for key, x in value.items()}
        return {"$dict": [[self.encode(key, f"{path}<key>"), self.encode(x, f"{path}[{key!r}]")]
                          for key, x in value.items()]}


def to_json(value: Any, path: str = "state") -> Any:
    """`value` as JSON-ready data; PlainDataError names the first part that is not plain data."""
    return _Encoder().encode(value, path)


def from_json(value: Any) -> Any:
    """The value `to_json` encoded (new objects: the lab's classes are rebuilt without running their __init__)."""
    if isinstance(value, list):
        return [from_json(x) for x in value]
    if not isinstance(value, dict):
        return value
    if value.keys() == {"$object", "fields"}:
        return _tagged("$object", value)
    if len(value) == 1:
        tag = next(iter(value))
        if tag.startswith("$"):
            return _tagged(tag, value)
    return {key: from_json(x) for key, x in value.items()}


def _tagged(tag: str, value: dict) -> Any:
    data = value[tag]
    if tag == "$datetime":
        return dt.datetime.fromisoformat(data)
    if tag == "$bytes":
        return base64.b64decode(data)
    if tag == "$tuple":
        return tuple(from_json(x) for x in data)
    if tag == "$set":
        return {from_json(x) for x in data}
    if tag == "$frozenset":
        return frozenset(from_json(x) for x in data)
    if tag == "$dict":
        return {from_json(key): from_json(x) for key, x in data}
    if tag == "$object":
        instance = object.__new__(_lab_class(data))
        vars(instance).update({name: from_json(x) for name, x in value["fields"].items()})
        return instance
    raise PlainDataError(f"unknown tag {tag!r} in the snapshot")
