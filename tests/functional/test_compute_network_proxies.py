"""Nova's network proxies over the network service: os-networks, os-tenant-networks,
os-security-groups and rules, os-floating-ips and pools, and a server's security groups and
floating IPs (the sub-resource, the server views, the add/remove actions) — raw HTTP with
microversions as novaclient and Tempest send it, and the openstack CLI where it uses them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import act, call, message

OLD = "2.35"  # the proxies' last microversion
MISSING = str(uuid.uuid4())


def neutron(conn: Any, method: str, path: str, body: Any = None) -> Any:
    return call(conn, method, f"/v2.0{path}", body=body, service="network")


@pytest.fixture
def group(demo: Any) -> Iterator[dict[str, Any]]:
    resp = call(demo, "POST", "/os-security-groups", OLD,
                {"security_group": {"name": f"np-{uuid.uuid4().hex[:8]}", "description": "proxy test"}})
    assert resp.status_code == 200, resp.text
    made: dict[str, Any] = resp.json()["security_group"]
    yield made
    call(demo, "DELETE", f"/os-security-groups/{made['id']}", OLD)


# --- os-networks, os-tenant-networks ---------------------------------------------------------

def test_networks_in_nova_shape(admin: Any, demo: Any, alt: Any) -> None:
    mine = neutron(demo, "POST", "/networks", {"network": {"name": "np-net"}}).json()["network"]
    theirs = neutron(alt, "POST", "/networks", {"network": {"name": "np-alt-net"}}).json()["network"]
    try:
        listed = call(demo, "GET", "/os-networks", OLD).json()["networks"]
        ids = [n["id"] for n in listed]
        assert mine["id"] in ids and theirs["id"] not in ids  # the network service decides visibility
        shown = call(demo, "GET", f"/os-networks/{mine['id']}", OLD).json()["network"]
        assert shown["label"] == "np-net" and shown["id"] == mine["id"]
        assert set(shown) == {"id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6",
                              "gateway_v6", "label", "netmask_v6"}
        assert all(v is None for k, v in shown.items() if k not in ("id", "label"))
        as_admin = call(admin, "GET", f"/os-networks/{mine['id']}", OLD).json()["network"]
        assert "project_id" in as_admin and "vlan" in as_admin and as_admin["project_id"] is None

        other = call(demo, "GET", f"/os-networks/{theirs['id']}", OLD)
        assert other.status_code == 404 and message(other) == "Network not found"
        assert call(demo, "GET", f"/os-networks/{MISSING}", OLD).status_code == 404

        tenant = call(demo, "GET", f"/os-tenant-networks/{mine['id']}", OLD).json()["network"]
        assert tenant == {"id": mine["id"], "cidr": "None", "label": "np-net"}
        assert mine["id"] in [n["id"] for n in call(demo, "GET", "/os-tenant-networks", OLD).json()["networks"]]
    finally:
        neutron(demo, "DELETE", f"/networks/{mine['id']}")
        neutron(alt, "DELETE", f"/networks/{theirs['id']}")


def test_networks_gone_after_2_35_and_writes_gone(demo: Any) -> None:
    for path in ("/os-networks", "/os-tenant-networks", f"/os-networks/{MISSING}"):
        resp = call(demo, "GET", path, "2.36")
        assert resp.status_code == 404, path
    # nova-network's writes answer 410 at every microversion, as Nova's removed controllers do.
    for method, path, body in (("POST", "/os-networks", {"network": {}}), ("POST", "/os-networks/add", {}),
                               ("DELETE", f"/os-networks/{MISSING}", None),
                               ("POST", f"/os-networks/{MISSING}/action", {"disassociate": None}),
                               ("POST", f"/os-networks/{MISSING}/action", {"associate_host": "h"}),
                               ("POST", "/os-tenant-networks", {"network": {}}),
                               ("DELETE", f"/os-tenant-networks/{MISSING}", None)):
        for mv in ("2.1", "2.90"):
            resp = call(demo, method, path, mv, body)
            assert resp.status_code == 410, (method, path, mv, resp.text)
    resp = call(demo, "POST", f"/os-networks/{MISSING}/action", OLD, {"bogus": None})
    assert resp.status_code == 400 and message(resp) == "There is no such action: bogus"


# --- os-security-groups ----------------------------------------------------------------------

def test_security_group_lifecycle(demo: Any, group: dict[str, Any]) -> None:
    assert group["rules"] == [] and group["description"] == "proxy test"  # egress rules are not shown
    assert group["tenant_id"] == demo.current_project_id
    shown = call(demo, "GET", f"/os-security-groups/{group['id']}", OLD).json()["security_group"]
    assert shown == group
    listed = call(demo, "GET", "/os-security-groups", OLD).json()["security_groups"]
    assert group in listed and "default" in [g["name"] for g in listed]
    assert [(g["tenant_id"], g["name"]) for g in listed] == sorted((g["tenant_id"], g["name"]) for g in listed)
    assert len(call(demo, "GET", "/os-security-groups?limit=1", OLD).json()["security_groups"]) == 1

    resp = call(demo, "PUT", f"/os-security-groups/{group['id']}", OLD,
                {"security_group": {"name": group["name"] + "-x", "description": "new"}})
    assert resp.status_code == 200 and resp.json()["security_group"]["description"] == "new"
    assert neutron(demo, "GET", f"/security-groups/{group['id']}").json()["security_group"]["name"] == \
        group["name"] + "-x"

    resp = call(demo, "DELETE", f"/os-security-groups/{group['id']}", OLD)
    assert resp.status_code == 202
    resp = call(demo, "GET", f"/os-security-groups/{group['id']}", OLD)
    assert resp.status_code == 404 and "itemNotFound" in resp.json()


def test_security_group_errors(demo: Any, alt: Any, group: dict[str, Any]) -> None:
    assert call(demo, "GET", "/os-security-groups", "2.36").status_code == 404
    assert call(demo, "GET", f"/os-security-groups/{group['id']}", "2.36").status_code == 404
    resp = call(alt, "GET", f"/os-security-groups/{group['id']}", OLD)  # another project's
    assert resp.status_code == 404
    assert group["id"] not in [g["id"] for g in call(alt, "GET", "/os-security-groups", OLD).json()["security_groups"]]
    resp = call(demo, "GET", "/os-security-groups/not-a-uuid", OLD)
    assert resp.status_code == 400 and message(resp) == "Security group id should be uuid"
    assert call(demo, "DELETE", f"/os-security-groups/{MISSING}", OLD).status_code == 404
    assert call(demo, "DELETE", "/os-security-groups/", OLD).status_code == 404
    resp = call(demo, "POST", "/os-security-groups", OLD, {"security_group": {"name": "x"}})
    assert resp.status_code == 400 and "description" in message(resp)
    resp = call(demo, "POST", "/os-security-groups", OLD,
                {"security_group": {"name": "x" * 256, "description": ""}})
    assert resp.status_code == 400
    resp = call(demo, "GET", "/os-security-groups?limit=-1", OLD)
    assert resp.status_code == 400
    default = next(g for g in call(demo, "GET", "/os-security-groups", OLD).json()["security_groups"]
                   if g["name"] == "default")
    resp = call(demo, "DELETE", f"/os-security-groups/{default['id']}", OLD)
    assert resp.status_code == 400 and "badRequest" in resp.json()  # Neutron's 409, Nova's Invalid


def test_security_group_rules(demo: Any, group: dict[str, Any]) -> None:
    gid = group["id"]

    def rule(**attrs: Any) -> Any:
        return call(demo, "POST", "/os-security-group-rules", OLD,
                    {"security_group_rule": {"parent_group_id": gid, **attrs}})

    resp = rule(ip_protocol="tcp", from_port=22, to_port=22, cidr="10.0.0.0/8")
    assert resp.status_code == 200, resp.text
    ssh = resp.json()["security_group_rule"]
    assert ssh == {"id": ssh["id"], "parent_group_id": gid, "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
                   "group": {}, "ip_range": {"cidr": "10.0.0.0/8"}}
    back = neutron(demo, "GET", f"/security-group-rules/{ssh['id']}").json()["security_group_rule"]
    assert back["direction"] == "ingress" and back["ethertype"] == "IPv4"
    assert (back["port_range_min"], back["port_range_max"]) == (22, 22)

    resp = rule(ip_protocol="icmp", group_id=gid)  # remote group only: every ICMP type
    assert resp.status_code == 200, resp.text
    icmp = resp.json()["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"], icmp["ip_range"]) == (-1, -1, {})
    assert icmp["group"] == {"name": group["name"], "tenant_id": demo.current_project_id}
    v6 = rule(ip_protocol="udp", from_port=53, to_port=53, cidr="2001:db8::/32").json()["security_group_rule"]
    assert neutron(demo, "GET", f"/security-group-rules/{v6['id']}").json()["security_group_rule"]["ethertype"] \
        == "IPv6"

    shown = call(demo, "GET", f"/os-security-groups/{gid}", OLD).json()["security_group"]
    assert sorted(r["id"] for r in shown["rules"]) == sorted([ssh["id"], icmp["id"], v6["id"]])

    for attrs, text in (
            ({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"},
             f"This rule already exists in group {gid}"),
            ({"ip_protocol": "tcp", "from_port": 90, "to_port": 80},
             "Invalid port range 90:80. Former value cannot be greater than the later"),
            ({"ip_protocol": "tcp", "from_port": 0, "to_port": 80},
             "Invalid port range 0:80. Valid TCP ports should be between 1-65535"),
            ({"ip_protocol": "icmp", "from_port": 256, "to_port": 0},
             "Invalid port range 256:0. For ICMP, the type:code must be valid"),
            ({"ip_protocol": "gre", "from_port": 1, "to_port": 2}, "Invalid IP protocol gre."),
            ({"ip_protocol": "tcp", "from_port": "a", "to_port": 2},
             "Invalid input received: To and From ports must be integers"),
            ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "10.0.0.300/8"},
             "10.0.0.300/8 is not a valid IP network."),
            ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "10.0.0.0/0"},
             "Bad prefix for network in cidr 10.0.0.0/0"),
            ({}, "Not enough parameters to build a valid rule.")):
        resp = rule(**attrs)
        assert resp.status_code == 400 and message(resp) == text, (attrs, resp.text)
    resp = call(demo, "POST", "/os-security-group-rules", OLD, {"security_group_rule": {"parent_group_id": MISSING,
                                                                                         "ip_protocol": "tcp"}})
    assert resp.status_code == 404
    resp = call(demo, "POST", "/os-security-group-rules", OLD, {"security_group_rule": {"parent_group_id": "x"}})
    assert resp.status_code == 400 and "parent_group_id" in message(resp)
    after = call(demo, "GET", f"/os-security-groups/{gid}", OLD).json()["security_group"]
    assert len(after["rules"]) == 3  # bad input changed nothing

    assert call(demo, "DELETE", f"/os-security-group-rules/{ssh['id']}", OLD).status_code == 202
    assert call(demo, "DELETE", f"/os-security-group-rules/{ssh['id']}", OLD).status_code == 404
    assert call(demo, "DELETE", f"/os-security-group-rules/{icmp['id']}", "2.36").status_code == 404
    resp = call(demo, "DELETE", "/os-security-group-rules/nope", OLD)
    assert resp.status_code == 400


def test_another_projects_rules_are_hidden(demo: Any, alt: Any, group: dict[str, Any]) -> None:
    made = call(demo, "POST", "/os-security-group-rules", OLD,
                {"security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 80,
                                         "to_port": 80, "cidr": "0.0.0.0/0"}}).json()["security_group_rule"]
    assert call(alt, "DELETE", f"/os-security-group-rules/{made['id']}", OLD).status_code == 404
    resp = call(alt, "POST", "/os-security-group-rules", OLD,
                {"security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 81,
                                         "to_port": 81}})
    assert resp.status_code == 404


# --- os-floating-ip-pools --------------------------------------------------------------------

def test_floating_ip_pools_are_external_networks(admin: Any, demo: Any) -> None:
    ext = neutron(admin, "POST", "/networks", {"network": {"name": "np-ext", "router:external": True}})
    assert ext.status_code == 201, ext.text
    net = ext.json()["network"]
    try:
        pools = call(demo, "GET", "/os-floating-ip-pools", OLD).json()["floating_ip_pools"]
        assert {"name": "np-ext"} in pools
        assert all(set(p) == {"name"} for p in pools)
        assert call(demo, "GET", "/os-floating-ip-pools", "2.36").status_code == 404
        resp = call(demo, "POST", "/os-floating-ips", OLD, {"pool": "no-such-pool"})
        assert resp.status_code == 404 and message(resp) == "Floating IP pool not found."
    finally:
        neutron(admin, "DELETE", f"/networks/{net['id']}")


def test_proxies_need_a_token(cloud: RunningCloud) -> None:
    import httpx

    for path in ("/os-networks", "/os-security-groups", "/os-floating-ips", "/os-floating-ip-pools"):
        assert httpx.get(f"{cloud.base_url}/compute/v2.1{path}").status_code == 401


# --- servers: their groups and floating IPs --------------------------------------------------

IMAGE = "onestack-tiny-x86_64-disk"


def made(resp: Any, key: str) -> dict[str, Any]:
    assert resp.status_code == 201, resp.text
    return resp.json()[key]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def subnet(demo: Any, admin: Any) -> Iterator[dict[str, Any]]:
    """demo's network and subnet, routed (router1-like) to an external network of its own."""
    net = made(neutron(demo, "POST", "/networks", {"network": {"name": "np-srv-net"}}), "network")
    sub = made(neutron(demo, "POST", "/subnets", {"subnet": {"network_id": net["id"], "cidr": "10.66.0.0/24",
                                                             "ip_version": 4}}), "subnet")
    yield sub
    neutron(demo, "DELETE", f"/networks/{net['id']}")


@pytest.fixture
def server(demo: Any, subnet: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A demo server with one port on ``subnet`` (ports exist once the build has made them)."""
    image = demo.image.find_image(IMAGE, ignore_missing=False).id
    resp = call(demo, "POST", "/servers", "2.37", {"server": {
        "name": f"np-{uuid.uuid4().hex[:6]}", "flavorRef": "1", "imageRef": image,
        "networks": [{"uuid": subnet["network_id"]}]}})
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    wait_until(lambda: ports_of(demo, sid), timeout=60, what=f"the ports of {sid}")
    yield {"id": sid}
    call(demo, "DELETE", f"/servers/{sid}")
    wait_until(lambda: call(demo, "GET", f"/servers/{sid}").status_code == 404, timeout=60, what=f"{sid} gone")


def ports_of(conn: Any, sid: str) -> list[dict[str, Any]]:
    return neutron(conn, "GET", f"/ports?device_id={sid}").json()["ports"]  # type: ignore[no-any-return]


def names_shown(conn: Any, sid: str, mv: str = "2.1") -> list[str]:
    return sorted(g["name"] for g in call(conn, "GET", f"/servers/{sid}", mv).json()["server"]
                  .get("security_groups", []))


def test_add_and_remove_security_groups(demo: Any, alt: Any, server: dict[str, Any],
                                        group: dict[str, Any]) -> None:
    sid = server["id"]
    assert names_shown(demo, sid) == ["default"]  # the port's groups, from the network service
    resp = act(demo, sid, {"addSecurityGroup": {"name": group["name"]}})
    assert resp.status_code == 202, resp.text
    [port] = ports_of(demo, sid)
    assert group["id"] in port["security_groups"]
    assert names_shown(demo, sid) == sorted(["default", group["name"]])
    assert names_shown(demo, sid, "2.90") == sorted(["default", group["name"]])  # every microversion
    detail = call(demo, "GET", "/servers/detail").json()["servers"]
    assert sorted(g["name"] for g in next(s for s in detail if s["id"] == sid)["security_groups"]) == \
        sorted(["default", group["name"]])
    listed = call(demo, "GET", f"/servers/{sid}/os-security-groups").json()["security_groups"]
    assert sorted(g["id"] for g in listed) == sorted(port["security_groups"])
    assert next(g for g in listed if g["id"] == group["id"]) == \
        call(demo, "GET", f"/os-security-groups/{group['id']}", OLD).json()["security_group"]

    again = act(demo, sid, {"addSecurityGroup": {"name": group["name"]}})
    assert again.status_code == 400, again.text  # the network service refuses the duplicate
    unknown = act(demo, sid, {"addSecurityGroup": {"name": "np-no-such-group"}})
    assert unknown.status_code == 404
    assert message(unknown) == f"Security group np-no-such-group is not found for project {demo.current_project_id}"
    blank = act(demo, sid, {"addSecurityGroup": {"name": "  "}})
    assert blank.status_code == 400 and message(blank) == "Security group name cannot be empty"
    assert act(demo, sid, {"addSecurityGroup": {}}).status_code == 400
    assert act(alt, sid, {"addSecurityGroup": {"name": "default"}}).status_code == 404  # not alt's server

    in_use = call(demo, "DELETE", f"/os-security-groups/{group['id']}", OLD)
    assert in_use.status_code == 400  # Tempest's test_server_security_groups

    resp = act(demo, sid, {"removeSecurityGroup": {"name": group["id"]}}, "2.90")  # by id, at any version
    assert resp.status_code == 202, resp.text
    assert group["id"] not in ports_of(demo, sid)[0]["security_groups"]
    assert names_shown(demo, sid) == ["default"]
    resp = act(demo, sid, {"removeSecurityGroup": {"name": group["name"]}})
    assert resp.status_code == 404
    assert message(resp) == f"Security group {group['name']} not associated with the instance {sid}"


def test_cli_adds_and_removes_a_security_group(cloud: RunningCloud, demo: Any, server: dict[str, Any],
                                               group: dict[str, Any]) -> None:
    sid = server["id"]
    cloud.cli("server", "add", "security", "group", sid, group["name"], cloud="devstack", json_out=False)
    assert group["id"] in ports_of(demo, sid)[0]["security_groups"]
    cloud.cli("server", "remove", "security", "group", sid, group["name"], cloud="devstack", json_out=False)
    assert group["id"] not in ports_of(demo, sid)[0]["security_groups"]


@pytest.fixture(scope="module")
def pool(admin: Any, demo: Any, subnet: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """An external network with a subnet, and a demo router from ``subnet`` to it."""
    ext = made(neutron(admin, "POST", "/networks", {"network": {"name": "np-pool", "router:external": True}}),
               "network")
    made(neutron(admin, "POST", "/subnets", {"subnet": {"network_id": ext["id"], "cidr": "172.31.66.0/24",
                                                        "ip_version": 4}}), "subnet")
    router = made(neutron(demo, "POST", "/routers", {"router": {
        "name": "np-router", "external_gateway_info": {"network_id": ext["id"]}}}), "router")
    resp = neutron(demo, "PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    assert resp.status_code == 200, resp.text
    yield ext
    neutron(demo, "PUT", f"/routers/{router['id']}/remove_router_interface", {"subnet_id": subnet["id"]})
    neutron(demo, "DELETE", f"/routers/{router['id']}")
    neutron(admin, "DELETE", f"/networks/{ext['id']}")


def test_floating_ips(demo: Any, alt: Any, server: dict[str, Any], pool: dict[str, Any]) -> None:
    sid = server["id"]
    resp = call(demo, "POST", "/os-floating-ips", OLD, {"pool": "np-pool"})
    assert resp.status_code == 200, resp.text
    fip = resp.json()["floating_ip"]
    assert fip["pool"] == "np-pool" and fip["instance_id"] is None and fip["fixed_ip"] is None
    assert fip in call(demo, "GET", "/os-floating-ips", OLD).json()["floating_ips"]
    assert fip not in call(alt, "GET", "/os-floating-ips", OLD).json()["floating_ips"]
    assert call(alt, "GET", f"/os-floating-ips/{fip['id']}", OLD).status_code == 404
    assert call(demo, "GET", f"/os-floating-ips/{fip['id']}", "2.36").status_code == 404
    try:
        fixed = ports_of(demo, sid)[0]["fixed_ips"][0]["ip_address"]
        wrong = act(demo, sid, {"addFloatingIp": {"address": fip["ip"], "fixed_address": "10.66.0.250"}})
        assert wrong.status_code == 400 and message(wrong) == "Specified fixed address not assigned to instance"
        assert act(demo, sid, {"addFloatingIp": {"address": fip["ip"]}}, "2.44").status_code == 404
        missing = act(demo, sid, {"addFloatingIp": {"address": "172.31.66.254"}})
        assert missing.status_code == 404 and message(missing) == "floating IP not found"

        assert act(demo, sid, {"addFloatingIp": {"address": fip["ip"]}}).status_code == 202
        shown = call(demo, "GET", f"/os-floating-ips/{fip['id']}", OLD).json()["floating_ip"]
        assert (shown["instance_id"], shown["fixed_ip"]) == (sid, fixed)
        # the server's addresses show it once its host has refreshed the network info cache
        wait_until(lambda: fip["ip"] in addresses_of(demo, sid), timeout=30, what="the floating IP in addresses")

        resp = act(demo, str(uuid.uuid4()), {"removeFloatingIp": {"address": fip["ip"]}})
        assert resp.status_code == 404  # no such server
        assert act(demo, sid, {"removeFloatingIp": {"address": fip["ip"]}}).status_code == 202
        shown = call(demo, "GET", f"/os-floating-ips/{fip['id']}", OLD).json()["floating_ip"]
        assert shown["instance_id"] is None and shown["fixed_ip"] is None
        wait_until(lambda: fip["ip"] not in addresses_of(demo, sid), timeout=30, what="the floating IP gone")
        again = act(demo, sid, {"removeFloatingIp": {"address": fip["ip"]}})
        assert again.status_code == 409
        assert message(again) == f"Floating IP {fip['ip']} is not associated with instance {sid}."
    finally:
        assert call(demo, "DELETE", f"/os-floating-ips/{fip['id']}", OLD).status_code == 202
    resp = call(demo, "GET", f"/os-floating-ips/{fip['id']}", OLD)
    assert resp.status_code == 404 and message(resp) == f"Floating IP not found for ID {fip['id']}"


def addresses_of(conn: Any, sid: str) -> list[str]:
    addresses = call(conn, "GET", f"/servers/{sid}").json()["server"]["addresses"]
    return [a["addr"] for addrs in addresses.values() for a in addrs]


def test_floating_ip_moves_to_another_server(demo: Any, server: dict[str, Any], subnet: dict[str, Any],
                                             pool: dict[str, Any]) -> None:
    """Tempest's test_associate_already_associated_floating_ip: the second association wins."""
    image = demo.image.find_image(IMAGE, ignore_missing=False).id
    other = call(demo, "POST", "/servers", "2.37", {"server": {
        "name": "np-other", "flavorRef": "1", "imageRef": image,
        "networks": [{"uuid": subnet["network_id"]}]}}).json()["server"]["id"]
    fip = call(demo, "POST", "/os-floating-ips", OLD, {"pool": "np-pool"}).json()["floating_ip"]
    try:
        wait_until(lambda: ports_of(demo, other), timeout=60, what="the other server's port")
        assert act(demo, server["id"], {"addFloatingIp": {"address": fip["ip"]}}, "2.43").status_code == 202
        assert act(demo, other, {"addFloatingIp": {"address": fip["ip"]}}, "2.43").status_code == 202
        shown = call(demo, "GET", f"/os-floating-ips/{fip['id']}", OLD).json()["floating_ip"]
        assert shown["instance_id"] == other
        assert act(demo, server["id"], {"removeFloatingIp": {"address": fip["ip"]}}, "2.43").status_code == 409
        assert act(demo, other, {"removeFloatingIp": {"address": fip["ip"]}}, "2.43").status_code == 202
    finally:
        call(demo, "DELETE", f"/os-floating-ips/{fip['id']}", OLD)
        call(demo, "DELETE", f"/servers/{other}")


def test_allocate_from_the_default_pool(demo: Any) -> None:
    """Without a pool, DevStack's default_floating_pool: the bootstrap's "public" network."""
    resp = call(demo, "POST", "/os-floating-ips", OLD)
    assert resp.status_code == 200, resp.text
    fip = resp.json()["floating_ip"]
    try:
        assert fip["pool"] == "public" and fip["instance_id"] is None
    finally:
        assert call(demo, "DELETE", f"/os-floating-ips/{fip['id']}", OLD).status_code == 202


def test_cli_adds_a_floating_ip(cloud: RunningCloud, demo: Any, server: dict[str, Any],
                                pool: dict[str, Any]) -> None:
    fip = call(demo, "POST", "/os-floating-ips", OLD, {"pool": pool["id"]}).json()["floating_ip"]  # pool by id
    try:
        cloud.cli("server", "add", "floating", "ip", server["id"], fip["ip"], cloud="devstack", json_out=False)
        shown = call(demo, "GET", f"/os-floating-ips/{fip['id']}", OLD).json()["floating_ip"]
        assert shown["instance_id"] == server["id"]
        cloud.cli("server", "remove", "floating", "ip", server["id"], fip["ip"], cloud="devstack", json_out=False)
        assert call(demo, "GET", f"/os-floating-ips/{fip['id']}", OLD).json()["floating_ip"]["instance_id"] is None
    finally:
        call(demo, "DELETE", f"/os-floating-ips/{fip['id']}", OLD)
