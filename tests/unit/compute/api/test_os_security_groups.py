"""Nova's conversions between its security group rules and Neutron's (os_security_groups.py)."""

from __future__ import annotations

import pytest

from onestack.compute.api.os_security_groups import (
    group_view,
    neutron_rule,
    new_rule,
    nova_rule,
    parse_cidr,
)
from onestack.core.api.faults import BadRequest

GID = "5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11"


def neutron(**attrs: object) -> dict[str, object]:
    rule: dict[str, object] = {"id": "r1", "security_group_id": GID, "direction": "ingress", "protocol": None,
                               "port_range_min": None, "port_range_max": None, "remote_group_id": None,
                               "remote_ip_prefix": None}
    rule.update(attrs)
    return rule


def test_neutron_rule_in_nova_shape() -> None:
    assert nova_rule(neutron(protocol="tcp"))["from_port"] == 1
    assert nova_rule(neutron(protocol="udp"))["to_port"] == 65535
    icmp = nova_rule(neutron(protocol="icmp"))
    assert (icmp["from_port"], icmp["to_port"]) == (-1, -1)
    any_proto = nova_rule(neutron())
    assert (any_proto["protocol"], any_proto["from_port"], any_proto["cidr"]) == (None, None, "0.0.0.0/0")
    ranged = nova_rule(neutron(protocol="tcp", port_range_min=80, port_range_max=81, remote_ip_prefix="10.0.0.0/8"))
    assert (ranged["from_port"], ranged["to_port"], ranged["cidr"]) == (80, 81, "10.0.0.0/8")


def test_group_view_shows_ingress_and_visible_remote_groups() -> None:
    group = {"id": GID, "name": "g", "description": "d", "tenant_id": "p", "security_group_rules": [
        neutron(id="in", protocol="tcp", remote_ip_prefix="10.0.0.0/8"),
        neutron(id="out", direction="egress"),
        neutron(id="self", remote_group_id=GID),
        neutron(id="hidden", remote_group_id="other")]}
    view = group_view(group, {GID: {"name": "g", "tenant_id": "p"}, "other": None})
    assert [r["id"] for r in view["rules"]] == ["in", "self"]
    assert view["rules"][0]["ip_range"] == {"cidr": "10.0.0.0/8"} and view["rules"][0]["group"] == {}
    assert view["rules"][1]["group"] == {"name": "g", "tenant_id": "p"} and view["rules"][1]["ip_range"] == {}


@pytest.mark.parametrize(("args", "expected"), [
    (("tcp", None, None, GID, None), {"group_id": GID, "protocol": "tcp", "from_port": 1, "to_port": 65535}),
    (("ICMP", None, None, GID, None), {"group_id": GID, "protocol": "ICMP", "from_port": -1, "to_port": -1}),
    ((None, None, None, GID, None), {"group_id": GID}),
    (("tcp", "22", 22, None, "10.0.0.0/8"), {"cidr": "10.0.0.0/8", "protocol": "tcp", "from_port": 22,
                                              "to_port": 22}),
    (("tcp", None, None, None, "0.0.0.0/0"), None),
])
def test_new_rule(args: tuple[object, ...], expected: object) -> None:
    assert new_rule(*args) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "message"), [
    (("tcp", 2, 1, None, "0.0.0.0/0"), "Invalid port range 2:1. Former value cannot be greater than the later"),
    (("udp", 0, 1, None, "0.0.0.0/0"), "Invalid port range 0:1. Valid UDP ports should be between 1-65535"),
    (("icmp", -2, 0, None, "0.0.0.0/0"), "Invalid port range -2:0. For ICMP, the type:code must be valid"),
    (("icmp", "x", 0, None, "0.0.0.0/0"), ("Invalid input received: Type and Code must be integers for ICMP "
                                           "protocol type")),
    (("sctp", 1, 2, None, "0.0.0.0/0"), "Invalid IP protocol sctp."),
])
def test_new_rule_refusals(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        new_rule(*args)  # type: ignore[arg-type]
    assert caught.value.message == message


def test_parse_cidr() -> None:
    assert parse_cidr(None) == "0.0.0.0/0"
    assert parse_cidr("10.0.0.0%2F8") == "10.0.0.0/8"  # Nova unquotes it
    for bad in ("10.0.0.0", "nope", "10.0.0.300/8"):
        with pytest.raises(BadRequest):
            parse_cidr(bad)


def test_neutron_rule() -> None:
    rule = neutron_rule({"parent_group_id": GID, "protocol": "icmp", "from_port": -1, "to_port": -1,
                         "cidr": "2001:db8::/32"})
    assert rule["ethertype"] == "IPv6" and rule["direction"] == "ingress"
    assert "port_range_min" not in rule and "port_range_max" not in rule
    grouped = neutron_rule({"parent_group_id": GID, "group_id": GID, "protocol": "tcp", "from_port": 1,
                            "to_port": 65535})
    assert grouped["ethertype"] == "IPv4" and grouped["remote_group_id"] == GID
    assert (grouped["port_range_min"], grouped["port_range_max"], grouped["remote_ip_prefix"]) == (1, 65535, None)
