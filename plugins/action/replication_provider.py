# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.replication_provider (documentation: plugins/modules/replication_provider.py).

Arguments -> validated options -> current state (replication_provider_read/1, one command) -> plan (pure,
plugins/plugin_utils/_replication_provider_plan.py) -> apply (replication_provider_apply/1, and
replication_provider_remove/1 for the unregister and uninstall steps) -> result. Check mode reports the plan the
real run applies. A plan whose setup file must be staged before its version is known has two phases: the staging
apply reports the version, and the plan's ``after_staging`` turns it into the upgrade (or not) and the
registration, applied next; the host is not read and nothing is planned again in between.

Returned keys: changed, steps, provider_version, agent_version, setup_file_version, registration, proxy,
reboot_required, diff (with --diff) and warnings. Verbosity: -vv names the planned steps. Secrets (vault
credentials, proxy password, setup URL) travel on the host script's stdin only and never enter the result.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.utils.display import Display

from ansible_collections.azmigrate.hyperv.plugins.module_utils._files import file_sha256
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_action import HostAction, TaskFailed
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_script import HostScriptError, run_checked_host_script
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_options import (
    ARGUMENT_SPEC,
    MUTUALLY_EXCLUSIVE,
    REQUIRED_TOGETHER,
    OptionError,
    ProviderOptions,
    check_sha256,
    validate_options,
)
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._replication_provider_plan import (
    Plan,
    PlanError,
    describe_state,
    host_time,
    merge_applied,
    plan_absent,
    plan_present,
    predicted_after,
    registration_view,
    script_batches,
    setup_file_request,
)

display = Display()


def name_the_key(failure: TaskFailed, options: ProviderOptions) -> None:
    """After a failed registration, say which key it was: the provider's reason comes first, and the host cannot tell."""
    credentials = options.credentials
    if "at step register" in failure.msg and credentials is not None:
        failure.msg += (f". The vault credentials file is for the {credentials.vault_label()}, site {credentials.site_name}: check that "
                        "they exist (azmigrate.hyperv.vault_info) and that the file is the site's current key; a re-run goes on "
                        "from the registration")


class ActionModule(HostAction):
    # No temporary folder unless the setup file is pushed: a no-change run is one command.
    TRANSFERS_FILES = False
    ARGUMENT_SPEC = ARGUMENT_SPEC
    ARGUMENT_SPEC_RULES = {"mutually_exclusive": MUTUALLY_EXCLUSIVE, "required_together": REQUIRED_TOGETHER}

    def _run_task(self, result, options, task_vars):
        result.update(self._run(options))

    # --- controller-side inputs -------------------------------------------------------------------

    def _controller_file(self, option: str, path: str) -> str:
        try:
            return self._find_needle("files", path)
        except AnsibleError as error:
            raise TaskFailed(f"{option}: {path!r} is not a file on the controller ({error.message})") from None

    def _options(self, args: dict[str, t.Any]) -> tuple[ProviderOptions, str | None]:
        """Validated options, and the controller path of setup_file_src (whose SHA-256 is computed here)."""
        credentials_text = args.get("vault_credentials_content")
        if args.get("vault_credentials_src"):
            with open(self._controller_file("vault_credentials_src", args["vault_credentials_src"]), encoding="utf-8-sig") as handle:
                credentials_text = handle.read()
        local_setup = None
        if args.get("setup_file_src"):
            local_setup = self._controller_file("setup_file_src", args["setup_file_src"])
            computed = file_sha256(local_setup)
            given = check_sha256("setup_file_sha256", args.get("setup_file_sha256"))
            if given and given != computed:
                raise OptionError(f"setup_file_sha256: {given} does not match {args['setup_file_src']}, whose SHA-256 is {computed}")
            args = {**args, "setup_file_sha256": computed}
        return validate_options(args, credentials_text), local_setup

    # --- the host -----------------------------------------------------------------------------------

    def _secrets(self, options: ProviderOptions, args: dict[str, t.Any]) -> dict[str, str]:
        secrets = {}
        if options.credentials is not None:
            secrets["vault_credentials"] = options.credentials.content
        if args.get("proxy_password"):
            secrets["proxy_password"] = args["proxy_password"]
        if args.get("setup_file_url"):
            secrets["setup_file_url"] = args["setup_file_url"]
        return secrets

    def _host_script(self, name: str, params: dict[str, t.Any], secrets: dict[str, str] | None = None) -> dict[str, t.Any]:
        try:
            return run_checked_host_script(self, name, params, secrets)
        except HostScriptError as error:
            raise TaskFailed(str(error), rc=error.exit_code) from None
        except (AnsibleConnectionFailure, OSError) as error:
            # A dropped connection (requests raises OSError subclasses through winrm): the host may still be installing,
            # and the next run reads where it got to and goes on from there.
            raise TaskFailed(f"the connection to the host failed during {name} ({error}); what was started on the host may still be "
                             "running - run the task again to converge") from None

    def _read(self, options: ProviderOptions) -> dict[str, t.Any]:
        return self._host_script("replication_provider_read", {"setup_file": setup_file_request(options)})

    def _push(self, local_setup: str) -> str:
        """Copy the setup file into Ansible's temporary folder and return its path there."""
        try:
            remote = self._connection._shell.join_path(self._make_tmp_path(), "AzureSiteRecoveryProvider.exe")
            self._transfer_file(local_setup, remote)
        except (AnsibleConnectionFailure, OSError) as error:
            raise TaskFailed(f"copying setup_file_src to the host failed: {error}") from None
        return remote

    @staticmethod
    def _with_pushed_source(steps: list[dict[str, t.Any]], remote: str) -> list[dict[str, t.Any]]:
        """The steps to send, the verify step given the pushed copy, which it moves into the staging folder (the plan is left as planned)."""
        return [{**step, "source": remote} if step["action"] == "verify" else step for step in steps]

    def _apply(self, steps: list[dict[str, t.Any]], secrets: dict[str, str], options: ProviderOptions) -> dict[str, t.Any]:
        """Run the steps, each batch with its host script (apply or remove), in order; one merged document."""
        documents = []
        for script, batch in script_batches(steps):
            try:
                documents.append(self._host_script(script, {"steps": batch}, secrets if script == "replication_provider_apply" else None))
            except TaskFailed as failure:
                name_the_key(failure, options)
                raise
        return merge_applied(documents)

    def _plan(self, current: dict[str, t.Any], options: ProviderOptions) -> Plan:
        now = host_time(current, dt.datetime.now(dt.timezone.utc))
        try:
            if options.state == "absent":
                return plan_absent(current, options)
            return plan_present(current, options, now)
        except PlanError as error:
            raise TaskFailed(str(error)) from None

    @staticmethod
    def _check_registered_site(options: ProviderOptions, registration: dict[str, t.Any] | None) -> str | None:
        """Fail when the host is not registered where the options asked; a warning when the key's site name differs."""
        if registration is None:
            raise TaskFailed("DRConfigurator.exe /r reported success, but the host holds no registration afterwards", registration=None)
        site = registration.get("site_name")
        if options.site is not None and (site or "").lower() != options.site.lower():
            raise TaskFailed(f"site: the host was registered to site {site!r} of vault {registration.get('vault_name')}, not to site "
                             f"{options.site!r}: the vault credentials file's SiteId belongs to site {site!r}; download the key of site "
                             f"{options.site} and register again with force_reregister", registration=registration)
        named = options.credentials.site_name if options.credentials is not None else None
        if named and (site or "").lower() != named.lower():
            return (f"the vault credentials file names site {named!r}, but the vault registered the host to site {site!r} "
                    "(the site of the file's SiteId)")
        return None

    # --- the task -----------------------------------------------------------------------------------

    def _run(self, args: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            options, local_setup = self._options(args)
        except OptionError as error:
            raise TaskFailed(str(error)) from None
        current = self._read(options)
        plan = self._plan(current, options)
        display.vv(f"replication_provider: planned steps {plan.names or 'none'}", host=self._play_context.remote_addr)
        setup_version = (current["setup_file"] or {}).get("version")
        before = describe_state(current)
        result: dict[str, t.Any] = {"changed": plan.changed, "steps": plan.names, "reboot_required": bool(current["reboot_pending"])}
        warnings = list(plan.warnings)

        if not plan.changed or self._task.check_mode:
            after = predicted_after(current, options, plan, setup_version)
        else:
            secrets = self._secrets(options, args)
            steps = self._with_pushed_source(plan.steps, self._push(local_setup)) if plan.push else plan.steps
            applied = self._apply(steps, secrets, options)
            names = list(plan.names)
            if plan.after_staging is not None:
                setup_version = applied.get("setup_file_version")
                remaining, remaining_names, staged_warnings = plan.after_staging.steps_for(setup_version)
                names = plan.names[:1] + remaining_names
                warnings += staged_warnings
                if remaining:
                    applied = self._apply(remaining, secrets, options)
            setup_version = applied.get("setup_file_version") or setup_version
            after = predicted_after(current, options, Plan(steps=[], names=names), setup_version)
            after["provider_version"] = applied.get("provider_version")
            after["agent_version"] = applied.get("agent_version")
            result["steps"] = names
            result["reboot_required"] = result["reboot_required"] or bool(applied.get("reboot_required"))
            if "register" in names:
                # What the host registered to, as it holds it after the apply: the vault resolves the site from the key's
                # SiteId, so the site a key file names is not necessarily the one the host ends up in.
                after["registration"] = registration_view(applied["registration"])
                warning = self._check_registered_site(options, after["registration"])
                if warning:
                    warnings.append(warning)
        result.update(
            provider_version=after["provider_version"],
            agent_version=after["agent_version"],
            setup_file_version=setup_version,
            registration=after["registration"],
            proxy=after["proxy"],
        )
        if warnings:
            result["warnings"] = warnings
        if self._task.diff:
            result["diff"] = {"before": before, "after": after}
        return result
