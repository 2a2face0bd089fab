"""Security group rule converters and checks: Neutron's normalisation and its 400s."""

from __future__ import annotations

from typing import Any

import pytest

from onestack.network import errors
from onestack.network.service import security_group_rules as rules


@pytest.mark.parametrize(("given", "stored"), [
    ("TCP", "tcp"), ("icmpv6", "icmpv6"), ("6", "6"), (6, "6"), (0, "0"), (255, "255"), ("any", None), (None, None),
])
def test_protocols(given: Any, stored: str | None) -> None:
    assert rules.convert_protocol(given) == stored


@pytest.mark.parametrize("given", ["bogus", 256, -1, True, 1.5j])
def test_bad_protocols(given: Any) -> None:
    with pytest.raises(errors.SecurityGroupRuleInvalidProtocol):
        rules.convert_protocol(given)


def test_ports() -> None:
    assert rules.convert_port("22") == 22 and rules.convert_port(None) is None
    for bad in (-1, 65536, "x", True):
        with pytest.raises(errors.SecurityGroupInvalidPortValue):
            rules.convert_port(bad)


@pytest.mark.parametrize(("given", "stored", "network"), [
    ("10.0.0.5/24", "10.0.0.5/24", "10.0.0.0/24"),
    ("10.1.2.3", "10.1.2.3/32", "10.1.2.3/32"),
    ("2001:DB8::1/64", "2001:db8::1/64", "2001:db8::/64"),
    ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"),
])
def test_prefixes_keep_host_bits_and_normalise_apart(given: str, stored: str, network: str) -> None:
    assert rules.convert_prefix(given) == stored
    assert rules.normalized(stored) == network


@pytest.mark.parametrize("given", ["10.0.0.0/33", "nonsense", 5])
def test_bad_prefixes(given: Any) -> None:
    with pytest.raises(errors.InvalidCIDR):
        rules.convert_prefix(given)


def _rule(**attrs: Any) -> dict[str, Any]:
    return {"direction": "ingress", "ethertype": "IPv4", "protocol": None, "port_range_min": None,
            "port_range_max": None, "remote_ip_prefix": None, "remote_group_id": None, **attrs}


def test_ipv6_icmp_gets_its_one_name() -> None:
    for legacy in ("icmp", "icmpv6"):
        rule = _rule(ethertype="IPv6", protocol=legacy)
        rules.validate(rule)
        assert rule["protocol"] == "ipv6-icmp"


@pytest.mark.parametrize(("attrs", "error"), [
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "g"}, errors.SecurityGroupRemoteGroupAndRemoteIpPrefix),
    ({"protocol": "58"}, errors.SecurityGroupEthertypeConflictWithProtocol),
    ({"remote_ip_prefix": "::/0"}, errors.SecurityGroupRuleParameterConflict),
    ({"port_range_min": 1}, errors.SecurityGroupProtocolRequiredWithPorts),
    ({"protocol": "tcp", "port_range_min": 9, "port_range_max": 8}, errors.SecurityGroupInvalidPortRange),
    ({"protocol": "sctp", "port_range_max": 8}, errors.SecurityGroupInvalidPortRange),
    ({"protocol": "udp", "port_range_min": 0, "port_range_max": 8}, errors.SecurityGroupInvalidPortValue),
    ({"protocol": "icmp", "port_range_min": 1, "port_range_max": 300}, errors.SecurityGroupInvalidIcmpValue),
    ({"protocol": "1", "port_range_max": 0}, errors.SecurityGroupMissingIcmpType),
    ({"protocol": "vrrp", "port_range_min": 1, "port_range_max": 1}, errors.SecurityGroupInvalidProtocolForPortRange),
])
def test_conflicting_fields(attrs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        rules.validate(_rule(**attrs))


def test_accepted_ranges() -> None:
    for attrs in ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 65535},
                  {"protocol": "udp", "port_range_min": 53, "port_range_max": 53},
                  {"protocol": "icmp", "port_range_min": 8},
                  {"protocol": "icmp", "port_range_min": 0, "port_range_max": 0}):
        rules.validate(_rule(**attrs))


def test_same_rule_keys() -> None:
    def key(**attrs: Any) -> tuple[Any, ...]:
        r = _rule(**attrs)
        return rules.rule_key(r["direction"], r["ethertype"], r["protocol"], r["port_range_min"], r["port_range_max"],
                          r["remote_ip_prefix"], r["remote_group_id"])

    assert key(protocol="tcp") == key(protocol="6")
    assert key(remote_ip_prefix="0.0.0.0/0") == key()
    assert key(remote_ip_prefix="10.0.0.5/24") == key(remote_ip_prefix="10.0.0.0/24")
    assert key(protocol="tcp") != key(protocol="udp")
    assert key(direction="egress") != key()
