# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.replication_plan (documentation: plugins/modules/replication_plan.py).

Runs on the controller only and never uses the task's connection: it validates the options, reads
``vms_file`` if given, runs the pure planner (``plugin_utils/_planner``: read, plan, render) and returns
the plan with ``changed: false``. Check mode plans as usual, since nothing changes.
"""

from __future__ import annotations

import json
import os

import yaml

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils import _planner as planner

display = Display()

# upload_throttle's names; each older name is its own option (not an alias), so that giving both is refused
# naming both rather than one silently winning. The planner checks which are required and the defaults.
_THROTTLE_OPTIONS = {
    "enabled": {"type": "bool", "default": True},
    "work_days": {"type": "list", "elements": "str"},
    # Times as strings, so that YAML's reading of an unquoted 18:00 as the number 1080 is refused, not taken as seconds.
    **{name: {"type": "str" if "rate" not in name and "bandwidth" not in name else "raw"}
       for pair in planner.THROTTLE_ALIASES.items() for name in pair},
}

ARGUMENT_SPEC = {
    "vms": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "host": {"type": "str", "required": True},
        "disks": {"type": "list", "elements": "raw", "required": True},
        "churn": {"type": "raw"},
    }},
    "vms_file": {"type": "str"},
    "host_info": {"type": "list", "elements": "dict"},
    "vm_churn": {"type": "dict"},
    "default_churn": {"type": "raw", "default": "0"},
    "hosts": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "link_rate": {"type": "str"},
        "upload_threads": {"type": "int"},
        "max_vms_per_wave": {"type": "int"},
        "throttle": {"type": "dict", "options": _THROTTLE_OPTIONS},
        "volumes": {"type": "list", "elements": "dict", "options": {
            "name": {"type": "str", "required": True},
            "free": {"type": "raw", "required": True},
        }},
    }},
    "default_link_rate": {"type": "str"},
    "storage_accounts": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "capacity": {"type": "raw", "required": True},
    }},
    "storage_account_count": {"type": "int"},
    "storage_account_capacity": {"type": "raw"},
    "replication_interval": {"type": "int", "default": 300, "choices": [30, 300, 900]},
    "start_time": {"type": "str"},
    "target_window": {"type": "dict", "options": {
        "start": {"type": "str", "required": True},
        "end": {"type": "str", "required": True},
    }},
    "max_vms_per_wave": {"type": "int", "default": planner.DEFAULT_MAX_VMS_PER_WAVE},
    "link_efficiency": {"type": "float", "default": 0.9},
    "per_thread_rate": {"type": "str", "default": "8 MB/s"},
}

MUTUALLY_EXCLUSIVE = [("storage_accounts", "storage_account_count"), ("start_time", "target_window")]
REQUIRED_ONE_OF = [("vms", "vms_file", "host_info"), ("storage_accounts", "storage_account_count")]
REQUIRED_TOGETHER = [("storage_account_count", "storage_account_capacity")]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp

        dummy, options = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE,
            required_one_of=REQUIRED_ONE_OF, required_together=REQUIRED_TOGETHER)

        request = dict(options)
        try:
            if options["vms_file"]:
                request["vms"] = list(options["vms"] or []) + self._read_vms_file(options["vms_file"])
            with planner.cyclic_gc_paused():
                planning = planner.read(request)
                plan = planner.render(planner.plan(planning))
        except planner.PlanError as error:
            result.update(failed=True, msg=str(error))
            return result

        for old_name in planning.deprecated_keys:
            new_name = next(new for new, old in planner.THROTTLE_ALIASES.items() if old == old_name)
            display.deprecated(f"replication_plan: hosts[].throttle.{old_name} is renamed {new_name}, as upload_throttle names it",
                               version="2.0.0", collection_name="azmigrate.hyperv")

        result.update(changed=False, replicate_waves=planner.waves_for_replicate(plan), plan_warnings=plan.pop("warnings"), **plan)
        return result

    def _read_vms_file(self, name):
        """VM dicts from a CSV, YAML or JSON file found in the play's files/ search path."""
        try:
            path = self._find_needle("files", name)
        except AnsibleError as error:
            raise planner.PlanError(f"vms_file: {name} was not found ({to_text(error)})") from None
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        extension = os.path.splitext(path)[1].lower()
        if extension == ".csv":
            return planner.vms_from_csv(text, source=f"vms_file ({name})")
        try:
            data = json.loads(text) if extension == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as error:
            raise planner.PlanError(f"vms_file ({name}): not valid {'JSON' if extension == '.json' else 'YAML'}: {error}") from None
        return planner.vms_from_yaml_data(data, source=f"vms_file ({name})")
