# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record every task result and the play recap as one JSON file, for the integration tests.

Enabled by tests/integration/conftest.py (ANSIBLE_CALLBACKS_ENABLED) next to the default stdout
callback, so a test asserts on results as data and still shows the usual output when it fails.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: integration_results
type: aggregate
short_description: Write task results and the recap to the file named by AZMIGRATE_TEST_RESULTS
description:
  - Test helper of azmigrate.hyperv's integration tests; not part of the collection.
requirements:
  - AZMIGRATE_TEST_RESULTS names the file to write
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "integration_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.results = []

    def _record(self, result, status):
        # CallbackTaskResult.result from ansible-core 2.19; _result before it.
        data = getattr(result, "result", None)
        if data is None:
            data = result._result
        self.results.append({"host": result._host.get_name(), "task": result._task.get_name(), "status": status, "result": data})

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        recap = {host: stats.summarize(host) for host in sorted(stats.processed)}
        with open(os.environ["AZMIGRATE_TEST_RESULTS"], "w", encoding="utf-8") as results_file:
            json.dump({"results": self.results, "stats": recap}, results_file, default=str)
