# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.hyperv_host_state (documentation: plugins/modules/hyperv_host_state.py).

One host, every concern of its preparation, as few commands as the changes allow:

1. validate every option before the host is asked anything, with the same checks as the per-concern
   actions (replication_provider_options, upload_settings);
2. read everything in one command: a bundle (plugin_utils/_host_script_bundle.py) of host_info/1 and the
   reads of the concerns managed (replication_provider_read/1, upload_threads_read/1, upload_throttle_read/1);
3. gate on readiness, then plan every concern on the controller with the existing planners;
4. apply what differs in one more bundle: the provider's steps (if any) followed by the threads and
   throttle writes, each of which reads its values back.

So a run that changes nothing is one command and a run that changes settings two. A run that installs
the agent plans the throttle only once the agent runs, so it reads the upload settings again after the
install (two more commands); staging a setup file and pushing it from the controller cost what they cost
replication_provider. The provider's flow (planning, staging, replanning after staging, the result) is
replication_provider's own: this plugin runs that action's steps on the state it already read.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.azmigrate.hyperv.plugins.action.host_info import ARGUMENT_SPEC as HOST_INFO_SPEC
from ansible_collections.azmigrate.hyperv.plugins.action.replication_provider import ActionModule as ProviderAction
from ansible_collections.azmigrate.hyperv.plugins.action.replication_provider import _TaskFailed, name_the_key
from ansible_collections.azmigrate.hyperv.plugins.action.upload_throttle import ARGUMENT_SPEC as THROTTLE_SPEC
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import RAW_SCHEMA, normalise_host_facts
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script_bundle import Part, run_host_script_bundle
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_options import (
    ARGUMENT_SPEC as PROVIDER_SPEC,
    MUTUALLY_EXCLUSIVE as PROVIDER_MUTUALLY_EXCLUSIVE,
    REQUIRED_TOGETHER as PROVIDER_REQUIRED_TOGETHER,
    OptionError,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_plan import READ_SCHEMA, setup_file_request, script_batches
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import (
    THREADS_DOCUMENT_SCHEMA,
    THROTTLE_DOCUMENT_SCHEMA,
    HostNotReady,
    InvalidOption,
    check_agent,
    plan_threads,
    plan_throttle,
    read_throttle,
    threads_mismatches,
    threads_restart_recommended,
    threads_view,
    throttle_mismatches,
    throttle_view,
    validate_threads_options,
    validate_throttle_options,
)

display = Display()

ARGUMENT_SPEC = {
    **HOST_INFO_SPEC,
    "readiness_gate": {"type": "bool", "default": True},
    "role_facts": {"type": "bool", "default": False},
    "provider": {
        "type": "dict",
        "options": PROVIDER_SPEC,
        "mutually_exclusive": PROVIDER_MUTUALLY_EXCLUSIVE,
        "required_together": PROVIDER_REQUIRED_TOGETHER,
    },
    "upload_threads": {"type": "int"},
    "download_threads": {"type": "int"},
    "throttle": {"type": "dict", "options": THROTTLE_SPEC},
}

THREADS_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Azure Backup\Replication"


class _Failed(Exception):
    """Ends the task with failed=true, this message and any extra keys; what was done so far stays in the result."""

    def __init__(self, msg: str, **extra: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


class _ProviderFlow(ProviderAction):
    """replication_provider's own steps, on the state this task read, its apply bundled with the settings writes.

    ``current`` is the replication_provider_read/1 document already read; ``following`` are the parts that
    run in the same command right after the provider's first apply (the settings writes), and
    ``following_documents`` their documents once they ran.
    """

    current: dict[str, t.Any]
    following: list[Part]
    following_documents: list[dict[str, t.Any]] | None
    commands: int

    validated: tuple[t.Any, str | None] | None

    def _options(self, args):
        # Validated once, before the first command; replication_provider's flow asks again.
        if self.validated is None:
            self.validated = super()._options(args)
        return self.validated

    def _read(self, options):
        # The first read is the one this task already made; a later one (the registration read back after
        # "register", as replication_provider does) asks the host again.
        if self.current is not None:
            current, self.current = self.current, None
            return current
        self.commands += 1
        return super()._read(options)

    def _apply(self, steps, secrets, options):
        parts = [Part(script, {"steps": batch}, secrets if script == "replication_provider_apply" else None) for script, batch in script_batches(steps)]
        following, self.following = self.following, []
        try:
            self.commands += 1
            documents = run_host_script_bundle(self, parts + following)
        except HostScriptError as error:
            failure = _TaskFailed(str(error), rc=error.exit_code)
            name_the_key(failure, options)
            raise failure from None
        except (AnsibleConnectionFailure, OSError) as error:
            raise _TaskFailed(f"the connection to the host failed while applying the provider's steps ({error}); what was started on the host may "
                              "still be running - run the task again to converge") from None
        if following:
            self.following_documents = documents[len(parts):]
        merged: dict[str, t.Any] = {"steps": [], "reboot_required": False, "setup_file_version": None}
        for applied in documents[:len(parts)]:
            merged["steps"] += applied.get("steps") or []
            merged["reboot_required"] = merged["reboot_required"] or bool(applied.get("reboot_required"))
            merged["setup_file_version"] = applied.get("setup_file_version") or merged["setup_file_version"]
            merged["provider_version"], merged["agent_version"] = applied.get("provider_version"), applied.get("agent_version")
        return merged


class _Settings:
    """The upload settings asked for, validated: the threads' registry values and the throttle (None: none)."""

    def __init__(self, options: dict[str, t.Any]) -> None:
        self.threads = None
        if options.get("upload_threads") is not None or options.get("download_threads") is not None:
            self.threads = validate_threads_options(options)
        self.throttle_managed = options.get("throttle") is not None
        self.throttle = validate_throttle_options(options["throttle"]) if self.throttle_managed else None

    @property
    def managed(self) -> bool:
        return self.threads is not None or self.throttle_managed

    def read_parts(self) -> list[tuple[Part, t.Any]]:
        parts = []
        if self.threads is not None:
            parts.append((Part("upload_threads_read", {}), THREADS_DOCUMENT_SCHEMA))
        if self.throttle_managed:
            parts.append((Part("upload_throttle_read", {}), THROTTLE_DOCUMENT_SCHEMA))
        return parts


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        self._host = (task_vars or {}).get("inventory_hostname", self._play_context.remote_addr)
        self._commands = 0
        self._report: dict[str, t.Any] = {"changed": False}
        dummy, options = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            self._run(options)
        except _Failed as failure:
            self._report.update(failed=True, msg=failure.msg, **failure.extra)
        self._report["host_commands"] = self._commands
        result.update(self._report)
        return result

    # --- options ------------------------------------------------------------------------------------

    def _provider_flow(self) -> _ProviderFlow:
        flow = _ProviderFlow(self._task, self._connection, self._play_context, self._loader, self._templar, self._shared_loader_obj)
        flow.following, flow.following_documents, flow.commands, flow.validated = [], None, 0, None
        return flow

    def _validated(self, options: dict[str, t.Any]):
        """(provider flow, provider options, provider args, settings); _Failed for any bad option, before any command."""
        flow, provider_options, provider_args = None, None, None
        try:
            if options.get("provider") is not None:
                # The argument spec checked it with replication_provider's own spec (nested options keep no_log).
                provider_args = options["provider"]
                flow = self._provider_flow()
                provider_options, dummy = flow._options(provider_args)
            settings = _Settings(options)
            if provider_options is not None and provider_options.state == "absent" and settings.managed:
                given = [name for name in ("upload_threads", "download_threads", "throttle") if options.get(name) is not None]
                raise _Failed(f"provider.state 'absent' removes the Recovery Services agent, which {', '.join(given)} configure: "
                              "leave them out, or keep provider.state 'present'")
        except _TaskFailed as failure:
            raise _Failed(f"provider: {failure.msg}") from None
        except OptionError as error:
            raise _Failed(f"provider: {error}") from None
        except InvalidOption as error:
            raise _Failed(str(error)) from None
        return flow, provider_options, provider_args, settings

    # --- the host -----------------------------------------------------------------------------------

    def _bundle(self, parts: list[tuple[Part, t.Any]], doing: str) -> list[dict[str, t.Any]]:
        self._commands += 1
        try:
            return run_host_script_bundle(self, [part for part, dummy in parts], [schema for dummy, schema in parts])
        except HostScriptError as error:
            extra = {"rc": error.exit_code} if error.exit_code is not None else {}
            raise _Failed(str(error), **extra) from None
        except (AnsibleConnectionFailure, OSError) as error:
            raise _Failed(f"the connection to {self._host} failed while {doing} ({error}); run the task again to converge") from None

    # --- the task -----------------------------------------------------------------------------------

    def _run(self, options: dict[str, t.Any]) -> None:
        flow, provider_options, provider_args, settings = self._validated(options)

        reads = [(Part("host_info", {"gather_vms": options["gather_vms"]}), RAW_SCHEMA)]
        if flow is not None:
            reads.append((Part("replication_provider_read", {"setup_file": setup_file_request(provider_options)}), READ_SCHEMA))
        reads += settings.read_parts()
        documents = self._bundle(reads, "reading the host")
        raw_info, documents = documents[0], documents[1:]
        host_info = {"changed": False, **normalise_host_facts(raw_info)}
        self._report["host_info"] = host_info
        # What hurts replication later (low disk space, the throttle not read, ...): warnings, never a failure.
        warnings = list(raw_info["warnings"]) + [item["msg"] for item in host_info["readiness"]["warnings"]]

        blocking = host_info["readiness"]["blocking"]
        if options["readiness_gate"] and blocking:
            self._warn(warnings)
            raise _Failed(f"{self._host} cannot be prepared: {'; '.join(item['msg'] for item in blocking)}")

        provider_document = documents.pop(0) if flow is not None else None
        settings_documents = documents
        # Without the agent, the provider's install brings it: its settings are planned once it runs.
        installs_agent = flow is not None and raw_info["agent"] is None and provider_options.state == "present"

        pending = self._plan_settings(settings, settings_documents) if settings.managed and not installs_agent else None
        if flow is not None:
            flow.current = provider_document
            if pending is not None and not self._task.check_mode and provider_options.state == "present":
                flow.following = pending["parts"]
            try:
                provider = flow._run(provider_args)
            except _TaskFailed as failure:
                self._commands += flow.commands
                raise _Failed(failure.msg, **failure.extra) from None
            self._commands += flow.commands
            self._report["provider"] = provider
            self._report["changed"] |= provider["changed"]
            warnings += provider.pop("warnings", [])
            if flow.following_documents is not None:
                pending["documents"] = flow.following_documents

        if settings.managed:
            if pending is None and self._task.check_mode:
                skipped = {"skipped": True, "skip_reason": f"the Recovery Services agent is not installed on {self._host} yet: it comes with the provider"}
                self._report.update(upload_threads=skipped if settings.threads is not None else None,
                                    upload_throttle=skipped if settings.throttle_managed else None)
            else:
                if pending is None and not self._report["provider"]["changed"]:
                    pending = self._plan_settings(settings, settings_documents)
                elif pending is None:
                    # The agent came with this run's provider install: its settings are read now that it runs.
                    pending = self._plan_settings(settings, self._bundle(settings.read_parts(), "reading the upload settings"))
                if pending["parts"] and "documents" not in pending and not self._task.check_mode:
                    pending["documents"] = self._bundle(list(zip(pending["parts"], pending["schemas"])), "writing the upload settings")
                self._settings_results(settings, pending, warnings)
        reboot_required = (self._report.get("provider") or {}).get("reboot_required")
        if reboot_required:
            warnings.append(f"{self._host} needs a restart to finish the provider's installation; restart it at a convenient time")
        self._report["upload_settings_changed"] = any((self._report.get(key) or {}).get("changed") for key in ("upload_threads", "upload_throttle"))
        self._report["changed"] |= self._report["upload_settings_changed"]
        self._warn(warnings)
        if options["role_facts"]:
            self._report["ansible_facts"] = {"hyperv_host_info": host_info, "hyperv_host_provider": self._report.get("provider")}
        if self._task.diff:
            self._report["diff"] = self._diffs()

    def _warn(self, warnings: list[str]) -> None:
        if warnings:
            self._report["warnings"] = warnings

    def _plan_settings(self, settings: _Settings, documents: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        """The plans of the threads and the throttle, and the parts that write what differs (``parts``, ``schemas``)."""
        pending: dict[str, t.Any] = {"parts": [], "schemas": []}
        documents = list(documents)
        if settings.threads is not None:
            pending["threads_read"] = documents.pop(0)
            pending["threads"] = plan_threads(pending["threads_read"], settings.threads)
            if pending["threads"].changed:
                pending["parts"].append(Part("upload_threads_set", {"writes": pending["threads"].writes}))
                pending["schemas"].append(THREADS_DOCUMENT_SCHEMA)
        if settings.throttle_managed:
            document = documents.pop(0)
            try:
                check_agent(document, self._host)
            except HostNotReady as error:
                raise _Failed(str(error)) from None
            pending["throttle"] = plan_throttle(read_throttle(document["throttle"]), settings.throttle)
            if pending["throttle"].changed:
                pending["parts"].append(Part("upload_throttle_set", pending["throttle"].set_params))
                pending["schemas"].append(THROTTLE_DOCUMENT_SCHEMA)
        return pending

    def _settings_results(self, settings: _Settings, pending: dict[str, t.Any], warnings: list[str]) -> None:
        """upload_threads and upload_throttle as those modules return them, from the plans and what was read back."""
        written = dict(zip((part.name for part in pending["parts"]), pending.get("documents") or []))
        if settings.threads is not None:
            plan = pending["threads"]
            document = written.get("upload_threads_set", pending["threads_read"])
            threads_result = {"changed": plan.changed, "changed_values": sorted(plan.writes), "before": plan.before, "after": plan.after}
            if "upload_threads_set" in written:
                threads_result["after"] = threads_view(document)
                mismatches = threads_mismatches(document, settings.threads)
                if mismatches:
                    self._report["upload_threads"] = threads_result
                    raise _Failed(f"wrote the Replication key's values on {self._host}, but reading them back shows {'; '.join(mismatches)}")
            threads_result["agent_installed"] = document["agent"] is not None
            if not threads_result["agent_installed"]:
                warnings.append(f"the Recovery Services agent is not installed on {self._host}: the thread counts are stored and take effect once it is")
            threads_result.update(threads_result["after"])
            threads_result["restart_recommended"] = threads_restart_recommended(document, plan.changed)
            self._report["upload_threads"] = threads_result
        if settings.throttle_managed:
            plan = pending["throttle"]
            throttle_result = {"changed": plan.changed, "changed_fields": plan.changed_fields, "before": plan.before, "after": plan.after}
            if "upload_throttle_set" in written:
                read_back = read_throttle(written["upload_throttle_set"]["throttle"] or {})
                throttle_result["after"] = throttle_view(read_back)
                mismatches = throttle_mismatches(read_back, settings.throttle)
                if mismatches:
                    self._report["upload_throttle"] = throttle_result
                    raise _Failed(f"Set-OBMachineSetting ran on {self._host}, but Get-OBMachineSetting then reports {'; '.join(mismatches)}. "
                                  "Its throttle properties are not documented, so the read may have missed them: compare "
                                  "(Get-OBMachineSetting).ThrottleSetting | Format-List * with Get-ThrottleSetting in "
                                  "plugins/plugin_utils/host_scripts/prelude.ps1")
            throttle_result["throttle"] = throttle_result["after"]
            throttle_result["restart_recommended"] = False
            self._report["upload_throttle"] = throttle_result

    def _diffs(self) -> list[dict[str, t.Any]]:
        """One diff per concern that has one, each headed with the host and what it shows."""
        check = " (check mode)" if self._task.check_mode else ""
        diffs = []
        provider = self._report.get("provider") or {}
        if "diff" in provider:
            diffs.append({**provider.pop("diff"), "before_header": f"{self._host}: provider and registration",
                          "after_header": f"{self._host}: provider and registration{check}"})
        threads_result = self._report.get("upload_threads") or {}
        if "before" in threads_result:
            diffs.append({"before": threads_result["before"], "after": threads_result["after"],
                          "before_header": f"{self._host}: {THREADS_KEY}", "after_header": f"{self._host}: {THREADS_KEY}{check}"})
        throttle_result = self._report.get("upload_throttle") or {}
        if "before" in throttle_result:
            diffs.append({"before": throttle_result["before"], "after": throttle_result["after"],
                          "before_header": f"{self._host}: throttle (Get-OBMachineSetting)", "after_header": f"{self._host}: throttle{check}"})
        return diffs
