# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of azmigrate.hyperv.upload_throttle (documentation: plugins/modules/upload_throttle.py).

The host_setting pipeline (plugin_utils/_host_setting.py) with THROTTLE_SETTING (plugin_utils/_upload_settings.py):
validate the options, read the agent and its throttle with one host script (upload_throttle_read/1), plan,
and - unless nothing differs or in check mode - apply with a second (upload_throttle_set/1), which reads the
throttle back so success is judged by what the agent reports. A no-change run is one command on the host.

Returned keys: ``changed``, ``changed_fields``, ``before``, ``after``, ``throttle`` (the throttle in
force after the task, or that would be in check mode), ``restart_recommended`` and, in diff mode,
``diff``.
"""

from __future__ import annotations

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_setting import HostSettingAction
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._upload_settings import THROTTLE_SETTING


class ActionModule(HostSettingAction):
    SETTING = THROTTLE_SETTING
