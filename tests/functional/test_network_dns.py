"""DNS integration (``dns-integration``): ports' ``dns_name`` and ``dns_assignment``, networks' and
floating IPs' names, validated as Neutron does; the assignment under ``network.dns_domain``."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


def test_advertised_extensions(cloud: RunningCloud) -> None:
    with neutron(cloud) as client:
        aliases = {e["alias"] for e in client.get("/v2.0/extensions").json()["extensions"]}
    assert "dns-integration" in aliases
    assert "dns-domain-ports" not in aliases  # ports carry no dns_domain of their own here


def test_ports_dns_assignment_under_the_default_domain(cloud: RunningCloud, demo: Any) -> None:
    net = demo.network.create_network(name=f"dns-{uuid.uuid4().hex[:6]}", dns_domain="example.org.")
    assert demo.network.get_network(net.id).dns_domain == "example.org."
    demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.83.0.0/28")
    port = demo.network.create_port(network_id=net.id, dns_name="web-1")
    assert port.dns_name == "web-1"
    # Under Neutron's default domain the name a port asks for is kept but not assigned (.2: DHCP's).
    assert port.dns_assignment == [{"ip_address": "10.83.0.3", "hostname": "host-10-83-0-3",
                                    "fqdn": "host-10-83-0-3.openstacklocal."}]
    shown = cloud.cli("port", "show", port.id, cloud="devstack")
    assert shown["dns_name"] == "web-1" and shown["dns_assignment"][0]["hostname"] == "host-10-83-0-3"
    assert demo.network.update_port(port, dns_name="").dns_name == ""
    demo.network.delete_port(port)
    demo.network.delete_network(net)


def test_bad_names_are_refused_and_change_nothing(cloud: RunningCloud, demo: Any) -> None:
    net = demo.network.create_network(name=f"dns-{uuid.uuid4().hex[:6]}")
    with neutron(cloud, "devstack") as client:
        for name, reason in (("-bad", "must not start or end with a hyphen"), ("a..b", "empty component"),
                             ("host.123", "must not be all numeric"), ("x" * 64, "1-63 characters")):
            r = client.post("/v2.0/ports", json={"port": {"network_id": net.id, "dns_name": name}})
            assert r.status_code == 400, r.text
            err = error_of(r)
            assert err["type"] == "HTTPBadRequest" and "not a valid PQDN or FQDN" in err["message"]
            assert reason in err["message"]
        r = client.put(f"/v2.0/networks/{net.id}", json={"network": {"dns_domain": "example.org"}})
        assert r.status_code == 400 and "is not a FQDN" in error_of(r)["message"]
    assert list(demo.network.ports(network_id=net.id)) == []
    assert demo.network.get_network(net.id).dns_domain == ""
    demo.network.delete_network(net)


def test_floating_ip_names_are_set_when_made(cloud: RunningCloud, demo: Any) -> None:
    public = next(iter(demo.network.networks(name="public")))
    fip = demo.network.create_ip(floating_network_id=public.id, dns_name="www", dns_domain="example.org.")
    try:
        shown = demo.network.get_ip(fip.id)
        assert shown.dns_name == "www" and shown.dns_domain == "example.org."
        with neutron(cloud, "devstack") as client:
            r = client.put(f"/v2.0/floatingips/{fip.id}", json={"floatingip": {"dns_name": "other"}})
        assert r.status_code == 400, r.text
    finally:
        demo.network.delete_ip(fip)


def test_a_domain_of_the_clouds_own_assigns_ports_names(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.env["ONESTACK_NETWORK__DNS_DOMAIN"] = "cloud.example."
    fresh_cloud.env["ONESTACK_NETWORK__BOOTSTRAP_NETWORKS"] = "false"
    fresh_cloud.start()
    admin = fresh_cloud.sdk("devstack-admin")
    net = admin.network.create_network(name="named")
    admin.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.84.0.0/28")
    port = admin.network.create_port(network_id=net.id, dns_name="db")
    assert port.dns_assignment == [{"ip_address": "10.84.0.3", "hostname": "db", "fqdn": "db.cloud.example."}]
    unnamed = admin.network.create_port(network_id=net.id)
    assert unnamed.dns_assignment[0]["fqdn"] == "host-10-84-0-4.cloud.example."
