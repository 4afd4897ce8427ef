"""Registries of hooks by name: the lab's jobs and long-running operations are data that name the module-level
functions to run (lab/azure/jobs.py, lab/azure/arm.py), so a snapshot keeps no code."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

Function = TypeVar("Function", bound=Callable)


def register_once(table: dict, key: Hashable, function: Function) -> Function:
    """Put `function` in `table` under `key`; a second, different function for the same key is a mistake."""
    if table.setdefault(key, function) is not function:
        raise ValueError(f"a second hook for {key!r}: {function.__module__}.{function.__qualname__}")
    return function
