# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every Azure-side module shares, documented once: where it runs, and (info modules) check and diff
mode. A module documents its own check_mode and diff_mode beside these."""


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
attributes:
  platform:
    description: Runs where the task runs (the controller); talks to Azure Resource Manager over HTTPS.
    platforms: posix
    support: full
"""

    # An info module: reads only.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Runs in check mode, and reads as usual since it changes nothing.
    support: full
  diff_mode:
    description: Returns no diff, since it changes nothing.
    support: none
"""
