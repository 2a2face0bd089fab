"""The router attribute converters: external_gateway_info and routes, with Neutron's wording."""

from __future__ import annotations

import pytest

from onestack.network.api.routers import gateway_info, route_list

NET = "0b0e1d4c-95a8-4d6d-8d1b-5c0d5d1b0a11"


def test_gateway_info_accepts_neutrons_shapes() -> None:
    assert gateway_info(None) is None and gateway_info({}) == {}
    assert gateway_info({"network_id": NET}) == {"network_id": NET}
    got = gateway_info({"network_id": NET, "enable_snat": "false",
                        "external_fixed_ips": [{"ip_address": "172.24.4.9"}]})
    assert got == {"network_id": NET, "enable_snat": False, "external_fixed_ips": [{"ip_address": "172.24.4.9"}]}


@pytest.mark.parametrize("value", [{"enable_snat": True}, {"network_id": NET, "bogus": 1}, {"network_id": "x"},
                                   {"network_id": NET, "external_fixed_ips": [{"ip_address": "nope"}]}, "text"])
def test_gateway_info_refuses(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        gateway_info(value)


def test_routes_normalised_and_checked() -> None:
    assert route_list(None) == []
    assert route_list([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.5"}]) == [
        {"destination": "10.1.0.0/16", "nexthop": "10.0.0.5"}]
    with pytest.raises(ValueError, match="is recommended"):
        route_list([{"destination": "10.1.2.3/16", "nexthop": "10.0.0.5"}])
    with pytest.raises(ValueError, match="Duplicate hostroute"):
        route_list([{"destination": "10.1.0.0/16", "nexthop": "10.0.0.5"}] * 2)
    with pytest.raises(ValueError, match="Invalid data format for hostroute"):
        route_list([{"destination": "10.1.0.0/16"}])
