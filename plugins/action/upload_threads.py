# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.upload_threads (documentation: plugins/modules/upload_threads.py).

The host_setting pipeline (plugin_utils/_host_setting.py) with THREADS_SETTING (plugin_utils/_upload_settings.py):
validate the options, read the agent and the Replication key's values with one host script
(upload_threads_read/1), plan, and - unless nothing differs or in check mode - write with a second
(upload_threads_set/1), which reads the values back so success is judged by what the registry holds. A
no-change run is one command.

Returned keys: ``changed``, ``changed_values``, ``before``, ``after``, ``upload_threads`` and
``download_threads`` (in force after the task, or that would be in check mode), ``agent_installed``,
``restart_recommended`` and, in diff mode, ``diff``.
"""

from __future__ import annotations

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_setting import HostSettingAction
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import THREADS_SETTING


class ActionModule(HostSettingAction):
    SETTING = THREADS_SETTING
