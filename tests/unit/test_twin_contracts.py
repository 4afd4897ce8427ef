"""Each lab twin (lab/hosts/scripts/<name>.py) is held to its host script (plugins/plugin_utils/host_scripts/<name>.ps1).

The lab never runs PowerShell: it recognises a script by its marker and runs the twin, so a host test passes
whatever the script body says unless the twin is tied to it. Two ties, both read from the script's parse
(tests/pslint/contract.py), so that a change to the script without its twin fails here:

- the request: the twin reads exactly the members of ``params`` and ``secrets`` the script reads
  (tests/pslint/twins.py reads the twin's Python); the output side is the *_contract.py tests';
- the side effects: registry keys and values, services, programs with their arguments and the state-changing
  cmdlets with their parameters equal the twin's SIDE_EFFECTS declaration, which says what it simulates.

The mutation tests change one thing in a copy of a script -- a registry value, a service, a program's
arguments, a cmdlet parameter, a request member -- and show the comparison reports it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

import pslint
from pslint.contract import request_paths, side_effects

from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._document_schema import schema_paths
from ansible_collections.azmigrate.hyperv.plugins.plugin_utils._host_contracts import CONTRACTS
from pslint.source import load_unit
from pslint.twins import TwinReads, twin_reads

SCRIPTS = sorted(path for path in pslint.HOST_SCRIPTS.glob("*.ps1") if path != pslint.PRELUDE)


def twin(name: str):
    return importlib.import_module(f"lab.hosts.scripts.{name}")


def request_differences(script_paths: set[str], reads: TwinReads) -> list[str]:
    """What the twin reads that the script does not, and what the script reads that the twin ignores."""
    def covered(path: str) -> bool:
        parts = path.split(".")
        return path in reads.paths or any(".".join(parts[:end]) in reads.whole for end in range(1, len(parts)))

    def ancestor_of_script_path(path: str) -> bool:
        return any(script.startswith(path + ".") or script.startswith(path + "[].") for script in script_paths)

    differences = [f"the script reads request member {path}, which the twin never reads"
                   for path in sorted(script_paths) if not covered(path)]
    differences += [f"the twin reads request member {path}, which the script never reads"
                    for path in sorted(reads.paths) if path not in script_paths and not ancestor_of_script_path(path)]
    return differences


def side_effect_differences(extracted: dict, declared: dict) -> list[str]:
    differences = []
    for part in sorted(set(extracted) | set(declared)):
        if extracted.get(part) != declared.get(part):
            differences.append(f"{part}: the script has {json.dumps(extracted.get(part))}, the twin's SIDE_EFFECTS "
                               f"{json.dumps(declared.get(part))}")
    return differences


def test_every_host_script_has_a_twin_with_its_side_effects_declared():
    for path in SCRIPTS:
        module = twin(path.stem)
        assert isinstance(getattr(module, "SIDE_EFFECTS", None), dict), f"lab/hosts/scripts/{path.stem}.py declares no SIDE_EFFECTS"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.stem)
def test_the_twin_reads_the_request_members_the_script_reads(path):
    differences = request_differences(request_paths(load_unit(path)), twin_reads(path.stem))
    assert not differences, f"{path.stem}: " + "; ".join(differences)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.stem)
def test_the_twin_declares_the_side_effects_the_script_has(path):
    differences = side_effect_differences(side_effects(load_unit(path)), twin(path.stem).SIDE_EFFECTS)
    assert not differences, f"{path.stem}: " + "; ".join(differences)


def contract_request_paths(name: str) -> set[str]:
    """The request members a script's contract (plugins/plugin_utils/_host_contracts.py) says it reads."""
    contract = CONTRACTS[name]
    return schema_paths({"params": contract.params_schema, "secrets": {secret: None for secret in contract.secrets}}) - {"params", "secrets"}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.stem)
def test_the_script_reads_exactly_the_request_members_of_its_contract(path):
    assert request_paths(load_unit(path)) == contract_request_paths(path.stem)


def test_the_request_extraction_follows_loops_functions_and_the_prelude():
    paths = request_paths(load_unit(pslint.HOST_SCRIPTS / "replication_provider_apply.ps1"))
    # $s in $request.params.steps; $s.proxy handed to Get-ProxyArgument and Set-AgentProxy; Start-Installer's $secrets.
    assert {"params.steps[].action", "params.steps[].proxy.bypass_urls", "params.steps[].proxy.username",
            "secrets.proxy_password", "secrets.vault_credentials"} <= paths


def mutated_unit(tmp_path: Path, name: str, old: str, new: str):
    source = (pslint.HOST_SCRIPTS / f"{name}.ps1").read_text(encoding="utf-8")
    assert old in source, f"{name}.ps1 no longer holds {old!r}: update the mutation"
    folder = tmp_path / "host_scripts"
    folder.mkdir()
    (folder / "prelude.ps1").write_bytes(pslint.PRELUDE.read_bytes())
    copy = folder / f"{name}.ps1"
    copy.write_text(source.replace(old, new, 1), encoding="utf-8")
    return load_unit(copy, prelude=folder / "prelude.ps1")


@pytest.mark.parametrize("name, old, new, expected", [
    # A registry value renamed, and one no longer removed.
    ("replication_provider_remove", "'IdMgmtCloudContainerId'", "'IdMgmtContainerId'", "registry_values_removed"),
    ("replication_provider_remove", "@('DraID', 'IdMgmtCloudContainerId')", "@('DraID')", "registry_values_removed"),
    # A registry key renamed.
    ("upload_threads_set", "Windows Azure Backup\\Replication'", "Windows Azure Backup\\Replications'", "registry_keys_created"),
    ("replication_provider_remove", '"$asrKey\\ProxySettings"', '"$asrKey\\Proxy"', "registry_keys_removed"),
    # A service renamed.
    ("replication_provider_apply", "Start-Service -Name dra", "Start-Service -Name drasvc", "services"),
    ("replication_provider_remove", "Stop-Service -Name dra", "Stop-Service -Name obengine", "services"),
    # A program's arguments changed.
    ("replication_provider_remove", "/qn /norestart", "/qn", "processes"),
    ("replication_provider_apply", "-Arguments '/i'", "-Arguments '/i /q'", "processes"),
    # A cmdlet parameter dropped or renamed.
    ("upload_threads_set", " -PropertyType DWord", "", "cmdlets"),
    ("upload_throttle_set", "$null = Set-OBMachineSetting -NoThrottle", "$null = Set-OBMachineSetting -NoProxy", "cmdlets"),
])
def test_a_side_effect_changed_in_the_script_alone_fails_the_comparison(tmp_path, name, old, new, expected):
    unit = mutated_unit(tmp_path, name, old, new)
    differences = side_effect_differences(side_effects(unit), twin(name).SIDE_EFFECTS)
    assert any(difference.startswith(f"{expected}:") for difference in differences), differences


@pytest.mark.parametrize("name, old, new, expected", [
    ("upload_throttle_set", "$request.params.throttle", "$request.params.schedule", "params.schedule"),
    ("host_info", "[bool]$request.params.gather_vms", "$true", "params.gather_vms"),
    ("replication_provider_apply", "$s.expected_version", "$s.version", "params.steps[].version"),
    ("replication_provider_read", "$request.params.setup_file", "$request.params.installer", "params.installer"),
])
def test_a_request_member_changed_in_the_script_alone_fails_the_comparison(tmp_path, name, old, new, expected):
    unit = mutated_unit(tmp_path, name, old, new)
    differences = request_differences(request_paths(unit), twin_reads(name))
    assert any(expected in difference for difference in differences), differences
