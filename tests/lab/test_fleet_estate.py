"""A fleet from one estate file: `count: N` hosts (lab/estate.py) on addresses past .254 (lab/runtime.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.estate import EstateError, build_world, load_estate
from lab.runtime import host_address

FLEET = Path(__file__).resolve().parents[2] / "lab" / "estates" / "fleet.yml"


def test_the_fleet_estate_is_a_thousand_alike_hosts():
    world = load_estate(FLEET)
    names = [host.name for host in world.hosts]
    assert len(names) == len(set(names)) == 1000
    assert (names[0], names[-1]) == ("FL0001", "FL1000")
    assert all(host.vms[0].name == "app01" and host.domain == "contoso.local" for host in world.hosts)


@pytest.mark.parametrize("host", [{"name": "FL{index}", "count": 0}, {"name": "FL", "count": 3}, {"name": "FL{index}", "count": True}])
def test_a_count_needs_a_whole_number_and_an_index_in_the_name(host):
    with pytest.raises(EstateError, match="a host with count needs"):
        build_world({"hosts": [host]})


def test_addresses_run_on_into_the_next_slash_24s_and_stop_at_the_last():
    assert [host_address("127.42.0", index) for index in (1, 254, 255, 1000)] == ["127.42.0.1", "127.42.0.254", "127.42.1.1", "127.42.3.238"]
    assert host_address("127.0.1", 3) == "127.0.1.3"
    with pytest.raises(ValueError, match="do not fit after --address-prefix 127.0.255"):
        host_address("127.0.255", 255)
