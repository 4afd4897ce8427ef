# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use within the azmigrate.hyperv
# collection and may change in any release.
"""The skeleton every Azure-side module shares: ``AzureModule``.

It supplies the authentication options (doc fragment ``azmigrate.hyperv.azure_auth``) and, for the modules that
work on a Recovery Services vault, the vault options (``azmigrate.hyperv.vault``) with their rules; it owns the
task's one deadline (``job_runner``); it turns the collection's one error tree (``InvalidOptions``, ``Blocked``,
``AzureModuleError``) into ``fail_json``; and ``run`` takes a task through read, plan (data), apply unless in check
mode, then report, so that check mode reports the very plan the real run carries out.
"""

from __future__ import annotations

import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import (
    VAULT_OPTION_RULES,
    VAULT_OPTIONS,
    resolve_vault,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.waiters import JobRunner
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_auth import azure_argument_spec
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_clients import AzureSession
from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import (
    AzureModuleError,
    Blocked,
    InvalidOptions,
)


# The VM a per-VM module works on (doc fragment azmigrate.hyperv.replicated_vm).
VM_OPTIONS = dict(name=dict(type="str", required=True), site=dict(type="str"))


def _with_rules(kwargs: dict[str, t.Any], rules: dict[str, list]) -> dict[str, t.Any]:
    """AnsibleModule's keyword arguments with ``rules`` (required_one_of, mutually_exclusive, ...) added to the
    module's own."""
    merged = dict(kwargs)
    for key, value in rules.items():
        merged[key] = list(merged.get(key) or []) + list(value)
    return merged


class AzureModule(AnsibleModule):
    """An AnsibleModule with the Azure options, the vault, the deadline and the error tree of this collection.

    ``vault=True`` (the default) adds the vault options and rules, and ``session()`` then resolves
    ``migrate_project`` to the vault, so that ``params["resource_group"]`` and ``params["vault_name"]`` name it.
    ``vm=True`` adds the options naming the VM of a per-VM module (``name``, ``site``).
    """

    def __init__(self, argument_spec: dict[str, dict] | None = None, vault: bool = True, vm: bool = False,
                 **kwargs: t.Any) -> None:
        options = dict(VM_OPTIONS) if vm else {}
        options.update(argument_spec or {})
        if vault:
            options.update(VAULT_OPTIONS)
            kwargs = _with_rules(kwargs, VAULT_OPTION_RULES)
        super().__init__(argument_spec=azure_argument_spec(**options), **kwargs)
        self.started = time.monotonic()
        self._vault = vault

    def elapsed(self) -> float:
        """Seconds since the task started, rounded for the result."""
        return round(time.monotonic() - self.started, 1)

    def fail_invalid(self, problems: t.Iterable[str | None], **result: t.Any) -> None:
        """Fail with "Invalid options: ..." when any of ``problems`` is a message; otherwise return."""
        error = InvalidOptions(*problems)
        if error.problems:
            self.fail_json(msg=str(error), **result)

    def session(self, *packages: str) -> AzureSession:
        """The Azure session (fails the task when an SDK in ``packages`` is missing), with the vault resolved."""
        session = AzureSession.from_module(self, *packages)
        if self._vault:
            resolve_vault(self, session)
        return session

    def job_runner(self, session: AzureSession, **options: t.Any) -> JobRunner:
        """The task's jobs, each waited for within the one deadline of O(timeout) seconds from now (``options``:
        JobRunner's)."""
        return JobRunner(session.site_recovery(), self.params["resource_group"], self.params["vault_name"],
                         self.params["timeout"], **options)

    def fail_error(self, error: Exception, blocked: str = "", **result: t.Any) -> t.NoReturn:
        """Fail the task with an error of the collection's tree: ``InvalidOptions`` as it reads, ``Blocked`` after
        ``blocked`` (what could not be done: "Can't migrate 'vm1'"), ``AzureModuleError`` with its ``error`` data."""
        if isinstance(error, AzureModuleError):
            self.fail_json(**result, **error.fail_kwargs())
        if isinstance(error, Blocked):
            self.fail_json(msg=f"{blocked}: {error}.", **result)
        self.fail_json(msg=str(error), **result)

    def run(self, read: t.Callable[[], t.Any], plan: t.Callable[[t.Any], t.Any],
            apply: t.Callable[[t.Any, t.Any], t.Any], report: t.Callable[[t.Any, t.Any, t.Any], dict],
            changes: t.Callable[[t.Any], bool], **failure: t.Any) -> t.NoReturn:
        """read() -> world; plan(world) -> the plan (data); apply(world, plan) -> the world after, unless in check
        mode or ``changes(plan)`` is false; then exit with ``report(world, plan, after)`` (``after`` is None when
        nothing was applied) and ``changed=changes(plan)``. Check mode reports the plan the real run applies.
        An error of the collection's tree fails the task, with ``failure`` in the result."""
        changed, result = False, {}
        try:
            world = read()
            todo = plan(world)
            changed = changes(todo)
            after = apply(world, todo) if changed and not self.check_mode else None
            result = report(world, todo, after)
        except (AzureModuleError, InvalidOptions) as exc:
            self.fail_error(exc, **{key: value() if callable(value) else value for key, value in failure.items()})
        self.exit_json(changed=changed, **result)
