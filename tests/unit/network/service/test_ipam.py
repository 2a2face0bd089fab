"""IPAM's address arithmetic and the fixed_ips update plan (no database)."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from onestack.network import models
from onestack.network.service import ipam


def test_eui64_from_mac() -> None:
    assert ipam.eui64("2001:db8::/64", "fa:16:3e:12:34:56") == "2001:db8::f816:3eff:fe12:3456"
    assert ipam.eui64("fd00:1:2:3::/64", "00:00:5e:00:53:01") == "fd00:1:2:3:200:5eff:fe00:5301"


def test_default_pools() -> None:
    def text(pools: list[tuple[ipam.IP, ipam.IP]]) -> list[str]:
        return [f"{a}-{b}" for a, b in pools]

    assert text(ipam.default_pools("10.0.0.0/24", "10.0.0.1")) == ["10.0.0.2-10.0.0.254"]
    assert text(ipam.default_pools("10.0.0.0/24", None)) == ["10.0.0.1-10.0.0.254"]
    assert text(ipam.default_pools("10.0.0.0/24", "10.0.0.100")) == ["10.0.0.1-10.0.0.99", "10.0.0.101-10.0.0.254"]
    assert text(ipam.default_pools("10.0.0.0/24", "192.168.0.1")) == ["10.0.0.1-10.0.0.254"]
    assert text(ipam.default_pools("10.0.0.0/31", None)) == ["10.0.0.0-10.0.0.1"]  # RFC 3021
    assert text(ipam.default_pools("10.0.0.7/32", None)) == ["10.0.0.7-10.0.0.7"]
    # IPv6 has no broadcast: the last address is usable.
    assert text(ipam.default_pools("fd00::/120", "fd00::1")) == ["fd00::2-fd00::ff"]
    assert text(ipam.default_pools("fd00::/120", "fd00::")) == ["fd00::1-fd00::ff"]


def test_default_gateway() -> None:
    assert ipam.default_gateway("10.0.0.0/24") == "10.0.0.1"
    assert ipam.default_gateway("fd00:1::/64") == "fd00:1::"  # the subnet-router anycast address


def test_ip_valid_on_subnet() -> None:
    assert ipam.ip_valid_on_subnet("10.0.0.0/24", "10.0.0.5")
    assert not ipam.ip_valid_on_subnet("10.0.0.0/24", "10.0.0.0")
    assert not ipam.ip_valid_on_subnet("10.0.0.0/24", "10.0.0.255")
    assert not ipam.ip_valid_on_subnet("10.0.0.0/24", "10.0.1.5")
    assert not ipam.ip_valid_on_subnet("10.0.0.0/24", "fd00::5")
    assert not ipam.ip_valid_on_subnet("fd00::/64", "fd00::", "compute:nova")
    assert ipam.ip_valid_on_subnet("fd00::/64", "fd00::", "network:router_interface")


def test_auto_address_modes() -> None:
    assert ipam.is_auto_address(6, None, "slaac")
    assert ipam.is_auto_address(6, "dhcpv6-stateless", None)
    assert not ipam.is_auto_address(6, "slaac", "dhcpv6-stateful")
    assert not ipam.is_auto_address(6, None, None)
    assert not ipam.is_auto_address(4, "slaac", "slaac")


def _info(subnet_id: str, cidr: str, mode: str | None = None) -> ipam.SubnetInfo:
    net = ipaddress.ip_network(cidr)
    row = models.Subnet(id=subnet_id, network_id="n", ip_version=net.version, cidr=cidr, ipv6_address_mode=mode,
                        ipv6_ra_mode=None, enable_dhcp=True, created_at=datetime(2026, 1, 1))
    return ipam.SubnetInfo(row, [(int(net.network_address) + 2, int(net.broadcast_address) - 1)])


def test_changes_keep_release_add() -> None:
    v4, slaac = _info("v4", "10.0.0.0/24"), _info("v6", "fd00::/64", "slaac")
    original = [("v4", "10.0.0.5"), ("v4", "10.0.0.6"), ("v6", "fd00::f816:3eff:fe00:1")]
    # Keep .5, drop .6, add .7; the SLAAC address stays on an ordinary port.
    add, remove = ipam.changes(original, [ipam.Wanted((v4,), "10.0.0.5"), ipam.Wanted((v4,), "10.0.0.7")],
                               [v4, slaac], "compute:nova")
    assert [w.ip for w in add] == ["10.0.0.7"] and remove == [("v4", "10.0.0.6")]
    # A bare subnet reuses an address the port holds there.
    add, remove = ipam.changes(original, [ipam.Wanted((v4,))], [v4, slaac], "")
    assert add == [] and len(remove) == 1 and remove[0][0] == "v4"
    # A router's SLAAC address goes when not asked for.
    add, remove = ipam.changes(original, [], [v4, slaac], "network:router_interface")
    assert len(remove) == 3
