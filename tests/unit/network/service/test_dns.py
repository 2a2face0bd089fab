"""dns_assignment and the name checks, against Neutron's rules."""

from __future__ import annotations

import pytest

from onestack.network.service import dns

IPS = [{"subnet_id": "s4", "ip_address": "10.0.0.5"}, {"subnet_id": "s6", "ip_address": "fd00::5"}]


def test_default_domain_ignores_the_ports_name() -> None:
    assert dns.assignment(IPS, "web", dns.DEFAULT_DOMAIN) == [
        {"ip_address": "10.0.0.5", "hostname": "host-10-0-0-5", "fqdn": "host-10-0-0-5.openstacklocal."},
        {"ip_address": "fd00::5", "hostname": "host-fd00--5", "fqdn": "host-fd00--5.openstacklocal."}]


def test_own_domain_uses_the_ports_name() -> None:
    assert dns.assignment(IPS[:1], "web", "example.org.") == [
        {"ip_address": "10.0.0.5", "hostname": "web", "fqdn": "web.example.org."}]
    assert dns.assignment(IPS[:1], "web.other.net.", "example.org.")[0]["fqdn"] == "web.other.net."
    assert dns.assignment(IPS[:1], "", "example.org.")[0]["fqdn"] == "host-10-0-0-5.example.org."


@pytest.mark.parametrize("name", ["", "a", "web-1", "a.b.c", "a.b.c.", "x" * 63])
def test_valid_names(name: str) -> None:
    assert dns.dns_name(name) == name


@pytest.mark.parametrize("name", ["-a", "a-", "a..b", "a.123", "x" * 64, "a_b", ("a." * 128) + "b"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid PQDN or FQDN"):
        dns.dns_name(name)


def test_domains_end_with_a_dot() -> None:
    assert dns.dns_domain("example.org.") == "example.org." and dns.dns_domain(None) is None
    assert dns.dns_domain("") == ""
    with pytest.raises(ValueError, match="is not a FQDN"):
        dns.dns_domain("example.org")
