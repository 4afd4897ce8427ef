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

So a run that changes nothing is one command, and a run that changes something two: also the first
install. Without the agent there is no throttle to read yet, so the install's bundle sets both settings
right after the install step, without a plan, and each set script reports what it replaced; the plans
are made from those documents afterwards, so ``changed``, ``before`` and the diff are what they would be
with a read first. Staging a setup file and pushing it from the controller cost what they cost
replication_provider. The provider's flow (planning, staging and the decision after it, the result) is
replication_provider's own: this plugin runs that action's steps on the state it already read.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleConnectionFailure
from ansible.utils.display import Display

from ansible_collections.azmigrate.hyperv.plugins.action.host_info import ARGUMENT_SPEC as HOST_INFO_SPEC
from ansible_collections.azmigrate.hyperv.plugins.action.replication_provider import ActionModule as ProviderAction
from ansible_collections.azmigrate.hyperv.plugins.action.replication_provider import name_the_key
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_action import HostAction, TaskFailed
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_facts import normalise_host_facts
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError, load_host_script
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script_bundle import Part, run_host_script_bundle
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_setting import setting_diff, setting_result
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_options import (
    ARGUMENT_SPEC as PROVIDER_SPEC,
    MUTUALLY_EXCLUSIVE as PROVIDER_MUTUALLY_EXCLUSIVE,
    REQUIRED_TOGETHER as PROVIDER_REQUIRED_TOGETHER,
    OptionError,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_plan import merge_applied, setup_file_request, script_batches
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import (
    THREADS_SETTING,
    THROTTLE_SETTING,
    HostNotReady,
    InvalidOption,
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
    **THREADS_SETTING.argument_spec,
    "throttle": {"type": "dict", "options": THROTTLE_SETTING.argument_spec},
}

# The upload settings this plugin manages, each under its module's name in the result.
SETTINGS = (("upload_threads", THREADS_SETTING), ("upload_throttle", THROTTLE_SETTING))


class _ProviderFlow(ProviderAction):
    """replication_provider's own steps, on the state this task read, its apply bundled with the settings writes.

    ``current`` is the replication_provider_read/1 document already read; ``following`` are the parts that
    run in the same command right after one of the provider's applies (the settings writes): the first, or
    with ``following_step`` the first whose steps hold that action (the install, which brings the agent the
    settings are written to). ``following_documents`` are their documents once they ran.
    """

    current: dict[str, t.Any]
    following: list[Part]
    following_step: str | None
    following_documents: list[dict[str, t.Any]] | None
    commands: int

    validated: tuple[t.Any, str | None] | None

    def _options(self, args):
        # Validated once, before the first command; replication_provider's flow asks again.
        if self.validated is None:
            self.validated = super()._options(args)
        return self.validated

    def _read(self, options):
        # The read this task already made, in its first bundle (the apply prints the registration it leaves).
        return self.current

    def _apply(self, steps, secrets, options):
        parts = [Part(script, {"steps": batch}, secrets if script == "replication_provider_apply" else None) for script, batch in script_batches(steps)]
        following = []
        if self.following_step is None or any(step["action"] == self.following_step for step in steps):
            following, self.following = self.following, []
        try:
            self.commands += 1
            documents = run_host_script_bundle(self, parts + following)
        except HostScriptError as error:
            failure = TaskFailed(str(error), rc=error.exit_code)
            if error.script in {load_host_script(part.name).label for part in following}:
                failure.msg += "; the provider's steps before it completed, and a re-run goes on from there"
            name_the_key(failure, options)
            raise failure from None
        except (AnsibleConnectionFailure, OSError) as error:
            raise TaskFailed(f"the connection to the host failed while applying the provider's steps ({error}); what was started on the host may "
                             "still be running - run the task again to converge") from None
        if following:
            self.following_documents = documents[len(parts):]
        return merge_applied(documents[:len(parts)])


class _Settings:
    """The upload settings asked for, validated: result key -> desired state (the throttle's may be None: no throttle)."""

    def __init__(self, options: dict[str, t.Any]) -> None:
        self.desired: dict[str, t.Any] = {}
        if options.get("upload_threads") is not None or options.get("download_threads") is not None:
            self.desired["upload_threads"] = THREADS_SETTING.validate(options)
        if options.get("throttle") is not None:
            self.desired["upload_throttle"] = THROTTLE_SETTING.validate(options["throttle"])
        self.managed_settings = [(key, setting) for key, setting in SETTINGS if key in self.desired]

    @property
    def managed(self) -> bool:
        return bool(self.desired)

    def read_parts(self) -> list[Part]:
        return [Part(setting.read_script, {}) for dummy, setting in self.managed_settings]

    def enforce_parts(self) -> list[Part]:
        """The set scripts that make the host hold every desired setting, sent with no read before them."""
        return [Part(setting.apply_script, setting.enforce_params(self.desired[key])) for key, setting in self.managed_settings]


class ActionModule(HostAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    FAILS_WITH_MESSAGE = (InvalidOption, HostNotReady)

    def _run_task(self, result, options, task_vars):
        self._commands = 0
        self._report = result
        result["changed"] = False
        try:
            self._run(options)
        finally:
            result["host_commands"] = self._commands

    # --- options ------------------------------------------------------------------------------------

    def _provider_flow(self) -> _ProviderFlow:
        flow = _ProviderFlow(self._task, self._connection, self._play_context, self._loader, self._templar, self._shared_loader_obj)
        flow.following, flow.following_step, flow.following_documents, flow.commands, flow.validated = [], None, None, 0, None
        return flow

    def _validated(self, options: dict[str, t.Any]):
        """(provider flow, provider options, provider args, settings); TaskFailed or InvalidOption for any bad option, before any command."""
        flow, provider_options, provider_args = None, None, None
        if options.get("provider") is not None:
            # The argument spec checked it with replication_provider's own spec (nested options keep no_log).
            provider_args = options["provider"]
            flow = self._provider_flow()
            try:
                provider_options, dummy = flow._options(provider_args)
            except TaskFailed as failure:
                raise TaskFailed(f"provider: {failure.msg}") from None
            except OptionError as error:
                raise TaskFailed(f"provider: {error}") from None
        settings = _Settings(options)
        if provider_options is not None and provider_options.state == "absent" and settings.managed:
            given = [name for name in ("upload_threads", "download_threads", "throttle") if options.get(name) is not None]
            raise TaskFailed(f"provider.state 'absent' removes the Recovery Services agent, which {', '.join(given)} configure: "
                             "leave them out, or keep provider.state 'present'")
        return flow, provider_options, provider_args, settings

    # --- the host -----------------------------------------------------------------------------------

    def _bundle(self, parts: list[Part], doing: str) -> list[dict[str, t.Any]]:
        self._commands += 1
        try:
            return run_host_script_bundle(self, parts)      # a HostScriptError fails the task as HostAction says
        except (AnsibleConnectionFailure, OSError) as error:
            raise TaskFailed(f"the connection to {self._host} failed while {doing} ({error}); run the task again to converge") from None

    # --- the task -----------------------------------------------------------------------------------

    def _run(self, options: dict[str, t.Any]) -> None:
        flow, provider_options, provider_args, settings = self._validated(options)
        host_info, provider_document, settings_documents, warnings = self._read_host(options, flow, provider_options, settings)
        # Without the agent there is no throttle to read: the provider's install brings the agent, and the settings are
        # set in the install's own command, planned afterwards from what they replaced.
        installs_agent = flow is not None and not host_info["agent"]["installed"] and provider_options.state == "present"
        pending = self._plan_settings(settings, settings_documents) if settings.managed and not installs_agent else None
        if flow is not None:
            pending = self._run_provider(flow, provider_options, provider_args, provider_document, settings, pending, warnings)
        if settings.managed:
            self._run_settings(settings, pending, settings_documents, warnings)
        self._finish(options, host_info, warnings)

    def _read_host(self, options: dict[str, t.Any], flow: _ProviderFlow | None, provider_options: t.Any,
                   settings: _Settings) -> tuple[dict[str, t.Any], dict[str, t.Any] | None, list[dict[str, t.Any]], list[str]]:
        """One command that reads everything managed; (host_info, provider read, settings reads, warnings) once the host
        passed the readiness gate."""
        reads = [Part("host_info", {"gather_vms": options["gather_vms"]})]
        if flow is not None:
            reads.append(Part("replication_provider_read", {"setup_file": setup_file_request(provider_options)}))
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
            raise TaskFailed(f"{self._host} cannot be prepared: {'; '.join(item['msg'] for item in blocking)}")
        provider_document = documents.pop(0) if flow is not None else None
        return host_info, provider_document, documents, warnings

    def _run_provider(self, flow: _ProviderFlow, provider_options: t.Any, provider_args: dict[str, t.Any], provider_document: dict[str, t.Any],
                      settings: _Settings, pending: dict[str, t.Any] | None, warnings: list[str]) -> dict[str, t.Any] | None:
        """replication_provider's flow, with the settings writes in its apply's command; the settings' pending plans."""
        flow.current = provider_document
        if not self._task.check_mode and provider_options.state == "present":
            if pending is not None:
                flow.following = pending["parts"]
            elif settings.managed:
                flow.following, flow.following_step = settings.enforce_parts(), "install"
        try:
            provider = flow._run(provider_args)
        finally:
            self._commands += flow.commands
        self._report["provider"] = provider
        self._report["changed"] |= provider["changed"]
        warnings += provider.pop("warnings", [])
        if flow.following_documents is None:
            return pending
        if pending is None:
            return self._plan_replaced(settings, flow.following_documents)
        pending["documents"] = flow.following_documents
        return pending

    def _run_settings(self, settings: _Settings, pending: dict[str, t.Any] | None, settings_documents: list[dict[str, t.Any]],
                      warnings: list[str]) -> None:
        """The upload settings' results: planned and written already, or still to plan and write here."""
        if pending is None and self._task.check_mode:
            skipped = {"skipped": True, "skip_reason": f"the Recovery Services agent is not installed on {self._host} yet: it comes with the provider"}
            self._report.update({key: skipped if key in settings.desired else None for key, dummy in SETTINGS})
            return
        if pending is None and not self._report["provider"]["changed"]:
            pending = self._plan_settings(settings, settings_documents)
        elif pending is None:
            # The agent came with this run's provider but not with an install step of it: read the settings now that it runs.
            pending = self._plan_settings(settings, self._bundle(settings.read_parts(), "reading the upload settings"))
        if pending["parts"] and "documents" not in pending and not self._task.check_mode:
            pending["documents"] = self._bundle(pending["parts"], "writing the upload settings")
        self._settings_results(settings, pending, warnings)

    def _finish(self, options: dict[str, t.Any], host_info: dict[str, t.Any], warnings: list[str]) -> None:
        """The restart warning, the overall changed, warnings, facts for the role and the diff."""
        if (self._report.get("provider") or {}).get("reboot_required"):
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
        """Each setting's read document and plan, and the parts that write what differs (``parts``)."""
        pending: dict[str, t.Any] = {"parts": [], "read": {}, "plans": {}}
        for (key, setting), document in zip(settings.managed_settings, documents):
            plan = setting.plan(document, settings.desired[key], self._host)
            pending["read"][key], pending["plans"][key] = document, plan
            if plan.changed:
                pending["parts"].append(Part(setting.apply_script, setting.apply_params(plan)))
        return pending

    def _plan_replaced(self, settings: _Settings, documents: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        """_plan_settings's answer for settings written with no read first: each plan made from what its set script replaced."""
        pending = self._plan_settings(settings, [document["replaced"] for document in documents])
        pending["parts"], pending["documents"] = settings.enforce_parts(), documents
        return pending

    def _settings_results(self, settings: _Settings, pending: dict[str, t.Any], warnings: list[str]) -> None:
        """upload_threads and upload_throttle as those modules return them, from the plans and what was read back."""
        written = dict(zip((part.name for part in pending["parts"]), pending.get("documents") or []))
        for key, setting in settings.managed_settings:
            self._report[key], setting_warnings, failure = setting_result(
                setting, pending["plans"][key], settings.desired[key], pending["read"][key], written.get(setting.apply_script), self._host)
            if failure:
                raise TaskFailed(failure)
            warnings += setting_warnings

    def _diffs(self) -> list[dict[str, t.Any]]:
        """One diff per concern that has one, each headed with the host and what it shows."""
        check = " (check mode)" if self._task.check_mode else ""
        diffs = []
        provider = self._report.get("provider") or {}
        if "diff" in provider:
            diffs.append({**provider.pop("diff"), "before_header": f"{self._host}: provider and registration",
                          "after_header": f"{self._host}: provider and registration{check}"})
        for key, setting in SETTINGS:
            if "before" in (self._report.get(key) or {}):
                diffs.append(setting_diff(setting, self._report[key], self._host, self._task.check_mode))
        return diffs
