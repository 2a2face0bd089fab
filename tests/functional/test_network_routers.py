"""Routers through openstacksdk, the CLI and raw HTTP: fields, the external gateway, interfaces by
subnet and by port, the router rules (a subnet on two routers, deleting a router in use), extra
routes, admin-only attributes and isolation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from onestack.network.agent.fake import read
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.l3_support import public_network, topology
from tests.functional.network_support import error_of, neutron


def test_create_show_update_delete(demo: Any) -> None:
    router = demo.network.create_router(name="rt-basic")
    try:
        assert router.status == "ACTIVE" and router.is_admin_state_up is True
        assert router.external_gateway_info is None and router.routes == []
        assert router.project_id == demo.current_project_id
        assert router.availability_zone_hints == [] and router.flavor_id is None
        assert router.revision_number == 0
        updated = demo.network.update_router(router, name="rt-renamed", description="d")
        assert updated.name == "rt-renamed" and updated.description == "d" and updated.revision_number == 1
        assert router.id in [r.id for r in demo.network.routers(name="rt-renamed")]
    finally:
        demo.network.delete_router(router.id)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_router(router.id)


def test_ha_and_distributed_are_admin_only_and_false(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    router = demo.network.create_router(name="rt-attrs")
    try:
        body = neutron(cloud, "devstack-admin").get(f"/v2.0/routers/{router.id}").json()["router"]
        assert body["ha"] is False and body["distributed"] is False
        own = neutron(cloud).get(f"/v2.0/routers/{router.id}").json()["router"]
        assert "ha" not in own and "distributed" not in own
        r = neutron(cloud).post("/v2.0/routers", json={"router": {"name": "x", "distributed": False}})
        assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
        r = neutron(cloud, "devstack-admin").post("/v2.0/routers", json={"router": {"name": "x", "ha": True}})
        assert r.status_code == 400 and "not supported" in error_of(r)["message"]
    finally:
        demo.network.delete_router(router.id)


def test_other_projects_cannot_see_a_router(demo: Any, alt: Any) -> None:
    router = demo.network.create_router(name="rt-private")
    try:
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.get_router(router.id)
        assert router.id not in [r.id for r in alt.network.routers()]
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.delete_router(router.id, ignore_missing=False)
    finally:
        demo.network.delete_router(router.id)


def test_gateway_through_the_cli(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    created = cloud.cli("router", "create", "rt-cli", cloud="devstack")
    try:
        cloud.cli("router", "set", "--external-gateway", "public", "rt-cli", cloud="devstack", json_out=False)
        shown = cloud.cli("router", "show", "rt-cli", cloud="devstack")
        gw = shown["external_gateway_info"]
        public = public_network(admin)
        assert gw["network_id"] == public.id and gw["enable_snat"] is True
        [fixed] = [f for f in gw["external_fixed_ips"] if ":" not in f["ip_address"]]  # and one on ipv6-public
        assert fixed["ip_address"].startswith("172.24.4.")
        [port] = list(admin.network.ports(device_id=created["id"], device_owner="network:router_gateway"))
        assert port.project_id == "" and port.network_id == public.id
        # The gateway port belongs to no project: the router's owner does not see it.
        assert list(demo.network.ports(device_id=created["id"])) == []
        # The external network stays external while a router has its gateway there.
        r = neutron(cloud, "devstack-admin").put(f"/v2.0/networks/{public.id}",
                                                 json={"network": {"router:external": False}})
        assert r.status_code == 409 and error_of(r)["type"] == "ExternalNetworkInUse"
        cloud.cli("router", "unset", "--external-gateway", "rt-cli", cloud="devstack", json_out=False)
        assert cloud.cli("router", "show", "rt-cli", cloud="devstack")["external_gateway_info"] is None
        assert list(admin.network.ports(device_id=created["id"])) == []
    finally:
        cloud.cli("router", "delete", "rt-cli", cloud="devstack", json_out=False)


def test_gateway_rules(cloud: RunningCloud, demo: Any) -> None:
    net = demo.network.create_network(name="rt-notext")
    router = demo.network.create_router(name="rt-gw")
    http = neutron(cloud)
    try:
        r = http.put(f"/v2.0/routers/{router.id}", json={"router": {"external_gateway_info": {"network_id": net.id}}})
        assert r.status_code == 400 and error_of(r)["type"] == "BadRequest"
        assert f"Network {net.id} is not an external network" in error_of(r)["message"]
        public = public_network(demo)
        r = http.put(f"/v2.0/routers/{router.id}", json={"router": {"external_gateway_info": {
            "network_id": public.id, "enable_snat": False}}})
        assert r.status_code == 403, r.text
        r = http.put(f"/v2.0/routers/{router.id}", json={"router": {"external_gateway_info": {"enable_snat": False}}})
        assert r.status_code == 400
        assert demo.network.get_router(router.id).external_gateway_info is None
    finally:
        demo.network.delete_router(router.id)
        demo.network.delete_network(net.id)


def test_admin_sets_snat_and_fixed_gateway_ip(admin: Any, demo: Any) -> None:
    public = public_network(admin)
    subnet_id = next(iter(admin.network.subnets(network_id=public.id, ip_version=4))).id
    router = admin.network.create_router(name="rt-snat", project_id=demo.current_project_id, external_gateway_info={
        "network_id": public.id, "enable_snat": False,
        "external_fixed_ips": [{"subnet_id": subnet_id, "ip_address": "172.24.4.200"}]})
    try:
        gw = router.external_gateway_info
        assert gw["enable_snat"] is False
        assert gw["external_fixed_ips"] == [{"subnet_id": subnet_id, "ip_address": "172.24.4.200"}]
        with pytest.raises(sdk_exc.BadRequestException):
            admin.network.update_router(router, external_gateway_info={
                "network_id": public.id, "external_fixed_ips": [{"ip_address": "172.24.4.1"}]})
    finally:
        admin.network.delete_router(router.id)


def test_interface_by_subnet(cloud: RunningCloud, demo: Any) -> None:
    with topology(demo, "rt-if", "10.50.1.0/24", routed=False) as topo:
        router = demo.network.create_router(name="rt-if-router")
        topo.router = router
        answer = demo.network.add_interface_to_router(router, subnet_id=topo.subnet.id)
        assert set(answer) >= {"subnet_id", "subnet_ids", "port_id", "id", "network_id", "project_id", "tenant_id"}
        assert answer["id"] == router.id and answer["subnet_ids"] == [topo.subnet.id]
        assert answer["network_id"] == topo.network.id and answer["project_id"] == demo.current_project_id
        port = demo.network.get_port(answer["port_id"])
        assert port.device_owner == "network:router_interface" and port.device_id == router.id
        assert port.fixed_ips == [{"subnet_id": topo.subnet.id, "ip_address": "10.50.1.1"}]
        # The same subnet twice on one router.
        r = neutron(cloud).put(f"/v2.0/routers/{router.id}/add_router_interface", json={"subnet_id": topo.subnet.id})
        assert r.status_code == 400 and "already has a port on subnet" in error_of(r)["message"]
        # A port of a router cannot be deleted through the port API.
        with pytest.raises(sdk_exc.ConflictException):
            demo.network.delete_port(port.id, ignore_missing=False)
        removed = demo.network.remove_interface_from_router(router, subnet_id=topo.subnet.id)
        assert removed["port_id"] == port.id
        with pytest.raises(sdk_exc.NotFoundException):
            demo.network.get_port(port.id)
        r = neutron(cloud).put(f"/v2.0/routers/{router.id}/remove_router_interface",
                               json={"subnet_id": topo.subnet.id})
        assert r.status_code == 404 and error_of(r)["type"] == "RouterInterfaceNotFoundForSubnet"


def test_subnet_on_another_router_is_409(demo: Any) -> None:
    with topology(demo, "rt-two", "10.50.2.0/24") as topo:
        other = demo.network.create_router(name="rt-two-other")
        try:
            with pytest.raises(sdk_exc.ConflictException):
                demo.network.add_interface_to_router(other, subnet_id=topo.subnet.id)
            assert list(demo.network.ports(device_id=other.id)) == []
        finally:
            demo.network.delete_router(other.id)


def test_delete_router_with_interfaces_is_router_in_use(cloud: RunningCloud, demo: Any) -> None:
    with topology(demo, "rt-inuse", "10.50.3.0/24") as topo:
        r = neutron(cloud).delete(f"/v2.0/routers/{topo.router.id}")
        assert r.status_code == 409 and error_of(r)["type"] == "RouterInUse"
        assert "has ports still attached" in error_of(r)["message"]
        # Nor may the subnet go while the router's interface is on it.
        r = neutron(cloud).delete(f"/v2.0/subnets/{topo.subnet.id}")
        assert r.status_code == 409 and error_of(r)["type"] == "SubnetInUse"
        assert demo.network.get_router(topo.router.id).external_gateway_info is not None


def test_interface_rules(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    with topology(demo, "rt-rules", "10.50.4.0/24") as topo:
        rid = topo.router.id
        # Overlapping subnets on one router.
        net2 = demo.network.create_network(name="rt-rules-2")
        try:
            sub2 = demo.network.create_subnet(network_id=net2.id, ip_version=4, cidr="10.50.4.0/25")
            r = http.put(f"/v2.0/routers/{rid}/add_router_interface", json={"subnet_id": sub2.id})
            assert r.status_code == 400 and "overlaps with cidr" in error_of(r)["message"]
            nogw = demo.network.create_subnet(network_id=net2.id, ip_version=4, cidr="10.50.5.0/24",
                                              gateway_ip=None)
            r = http.put(f"/v2.0/routers/{rid}/add_router_interface", json={"subnet_id": nogw.id})
            assert r.status_code == 400
            assert "Subnet for router interface must have a gateway IP" in error_of(r)["message"]
        finally:
            demo.network.delete_network(net2.id)
        for body, fragment in (({}, "Either subnet_id or port_id must be specified"),
                               ({"subnet_id": "nope"}, "is not a valid UUID"),
                               ({"subnet_id": topo.subnet.id, "port_id": topo.subnet.id},
                                "Cannot specify both subnet-id and port-id")):
            r = http.put(f"/v2.0/routers/{rid}/add_router_interface", json=body)
            assert r.status_code == 400 and fragment in error_of(r)["message"], r.text
        # By port: a port with a device already attached is in use.
        used = topo.port(device_id="some-server", device_owner="compute:nova")
        r = http.put(f"/v2.0/routers/{rid}/add_router_interface", json={"port_id": used.id})
        assert r.status_code == 409 and error_of(r)["type"] == "PortInUse"
        r = http.put(f"/v2.0/routers/{rid}/remove_router_interface", json={"port_id": used.id})
        assert r.status_code == 404 and error_of(r)["type"] == "RouterInterfaceNotFound"


def test_interface_by_port(demo: Any) -> None:
    with topology(demo, "rt-byport", "10.50.6.0/24", routed=False) as topo:
        router = demo.network.create_router(name="rt-byport-router")
        topo.router = router
        port = topo.port(fixed_ips=[{"subnet_id": topo.subnet.id, "ip_address": "10.50.6.10"}])
        answer = demo.network.add_interface_to_router(router, port_id=port.id)
        assert answer["port_id"] == port.id and answer["subnet_id"] == topo.subnet.id
        attached = demo.network.get_port(port.id)
        assert attached.device_id == router.id and attached.device_owner == "network:router_interface"
        demo.network.remove_interface_from_router(router, port_id=port.id)
        # A port given by the user goes when detached, as Neutron deletes it.
        with pytest.raises(sdk_exc.NotFoundException):
            demo.network.get_port(port.id)


def test_extra_routes(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    with topology(demo, "rt-routes", "10.50.7.0/24") as topo:
        rid = topo.router.id
        route = {"destination": "192.168.77.0/24", "nexthop": "10.50.7.5"}
        updated = demo.network.update_router(topo.router, routes=[route])
        assert updated.routes == [route]
        r = http.put(f"/v2.0/routers/{rid}", json={"router": {"routes": [
            {"destination": "192.168.78.0/24", "nexthop": "10.99.0.1"}]}})
        assert r.status_code == 400 and error_of(r)["type"] == "InvalidRoutes"
        assert "the nexthop is not connected with router" in error_of(r)["message"]
        r = http.put(f"/v2.0/routers/{rid}", json={"router": {"routes": [
            {"destination": "192.168.78.0/24", "nexthop": "10.50.7.1"}]}})
        assert r.status_code == 400 and "the nexthop is used by router" in error_of(r)["message"]
        extra = {"destination": "192.168.79.0/24", "nexthop": "10.50.7.6"}
        r = http.put(f"/v2.0/routers/{rid}/add_extraroutes", json={"router": {"routes": [extra]}})
        assert r.status_code == 200, r.text
        assert sorted(x["destination"] for x in r.json()["router"]["routes"]) == ["192.168.77.0/24",
                                                                                "192.168.79.0/24"]
        # The interface a route's nexthop needs stays.
        r = http.put(f"/v2.0/routers/{rid}/remove_router_interface", json={"subnet_id": topo.subnet.id})
        assert r.status_code == 409 and error_of(r)["type"] == "RouterInterfaceInUseByRoute"
        r = http.put(f"/v2.0/routers/{rid}/remove_extraroutes", json={"router": {"routes": [route, extra]}})
        assert r.status_code == 200 and r.json()["router"]["routes"] == []


def test_quota_and_filters(cloud: RunningCloud, demo: Any) -> None:
    made = [demo.network.create_router(name=f"rt-filter-{i}", admin_state_up=i == 0) for i in range(2)]
    try:
        http = neutron(cloud)
        down = http.get("/v2.0/routers?admin_state_up=false&name=rt-filter-0&name=rt-filter-1").json()["routers"]
        assert [r["name"] for r in down] == ["rt-filter-1"]
        assert http.get("/v2.0/routers?bogus=1").status_code == 400
        fields = http.get(f"/v2.0/routers/{made[0].id}?fields=name").json()["router"]
        assert fields == {"name": "rt-filter-0"}
    finally:
        for r in made:
            demo.network.delete_router(r.id)


def test_extensions_listed(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic", "router_availability_zone"} <= aliases
    assert "dvr" not in aliases and "l3-ha" not in aliases


def test_router_add_and_remove_subnet_through_the_cli(cloud: RunningCloud, demo: Any) -> None:
    with topology(demo, "rt-cli-if", "10.50.8.0/24", routed=False) as topo:
        router = cloud.cli("router", "create", "rt-cli-if-router", cloud="devstack")
        topo.router = demo.network.get_router(router["id"])
        cloud.cli("router", "set", "--external-gateway", "public", router["id"], cloud="devstack", json_out=False)
        cloud.cli("router", "add", "subnet", router["id"], topo.subnet.id, cloud="devstack", json_out=False)
        ports = cloud.cli("port", "list", "--router", router["id"], "--long", cloud="devstack")
        assert [p["Device Owner"] for p in ports] == ["network:router_interface"]
        assert "10.50.8.1" in str(ports[0]["Fixed IP Addresses"])
        proc = cloud.cli("router", "delete", router["id"], cloud="devstack", check=False, json_out=False)
        assert proc.returncode != 0
        cloud.cli("router", "remove", "subnet", router["id"], topo.subnet.id, cloud="devstack", json_out=False)
        assert cloud.cli("port", "list", "--router", router["id"], cloud="devstack") == []


def test_another_project_cannot_attach_my_subnet(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    with topology(demo, "fip-iso-rt", "10.60.8.0/24") as topo:
        theirs = alt.network.create_router(name="alt-router")
        try:
            r = neutron(cloud, "devstack-alt").put(f"/v2.0/routers/{theirs.id}/add_router_interface",
                                                   json={"subnet_id": topo.subnet.id})
            assert r.status_code == 404 and error_of(r)["type"] == "SubnetNotFound"
            r = neutron(cloud, "devstack-alt").put(f"/v2.0/routers/{topo.router.id}/add_router_interface",
                                                   json={"subnet_id": topo.subnet.id})
            assert r.status_code == 404 and error_of(r)["type"] == "RouterNotFound"
        finally:
            alt.network.delete_router(theirs.id)


def test_overlapping_interfaces_added_at_once(cloud: RunningCloud, demo: Any) -> None:
    nets = [demo.network.create_network(name=f"rt-race-{i}") for i in range(4)]
    router = demo.network.create_router(name="rt-race")
    try:
        subs = [demo.network.create_subnet(network_id=n.id, ip_version=4, cidr="10.51.0.0/24") for n in nets]

        def attach(subnet_id: str) -> int:
            with neutron(cloud) as http:
                r = http.put(f"/v2.0/routers/{router.id}/add_router_interface", json={"subnet_id": subnet_id})
                return r.status_code

        with ThreadPoolExecutor(len(subs)) as pool:
            codes = sorted(pool.map(attach, [s.id for s in subs]))
        assert codes == [200, 400, 400, 400], codes
        assert len(list(demo.network.ports(device_id=router.id))) == 1
    finally:
        for port in demo.network.ports(device_id=router.id):
            demo.network.remove_interface_from_router(router, port_id=port.id)
        demo.network.delete_router(router.id)
        for n in nets:
            demo.network.delete_network(n.id)


def test_ipv6_prefixes_share_one_router_port(demo: Any) -> None:
    net = demo.network.create_network(name="rt-v6")
    router = demo.network.create_router(name="rt-v6-router")
    try:
        subs = [demo.network.create_subnet(network_id=net.id, ip_version=6, cidr=f"fd00:51:{i}::/64",
                                           ipv6_ra_mode="slaac", ipv6_address_mode="slaac") for i in range(2)]
        first = demo.network.add_interface_to_router(router, subnet_id=subs[0].id)
        second = demo.network.add_interface_to_router(router, subnet_id=subs[1].id)
        assert second["port_id"] == first["port_id"] and second["subnet_ids"] == [subs[1].id]
        port = demo.network.get_port(first["port_id"])
        assert sorted(f["subnet_id"] for f in port.fixed_ips) == sorted(s.id for s in subs)
        demo.network.remove_interface_from_router(router, subnet_id=subs[0].id)
        port = demo.network.get_port(first["port_id"])
        assert [f["subnet_id"] for f in port.fixed_ips] == [subs[1].id]
        demo.network.remove_interface_from_router(router, subnet_id=subs[1].id)
        with pytest.raises(sdk_exc.NotFoundException):
            demo.network.get_port(first["port_id"])
    finally:
        demo.network.delete_router(router.id)
        demo.network.delete_network(net.id)


def _router_namespace(cloud: RunningCloud, router_id: str) -> dict[str, Any] | None:
    """The router's namespace on whichever host runs the routers (the fake data plane's model)."""
    for datapath in sorted((cloud.data_dir / "network").glob("*/datapath")):
        ns = read(datapath)["namespaces"].get(f"qrouter-{router_id}")
        if ns is not None and ns.get("router") is not None:
            found: dict[str, Any] = ns
            return found
    return None


def test_an_admin_down_routers_ports_go_active(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    # Tempest creates its routers admin-down and waits for each interface port to go ACTIVE, as
    # OVN shows them: the routers' host wires the router, which forwards nothing while down.
    with topology(demo, "rt-down", "10.52.1.0/24", routed=False) as topo:
        topo.router = router = demo.network.create_router(
            name="rt-down-router", admin_state_up=False, external_gateway_info={"network_id": public_network(demo).id})
        assert router.is_admin_state_up is False
        answer = demo.network.add_interface_to_router(router, subnet_id=topo.subnet.id)
        [gateway] = list(admin.network.ports(device_id=router.id, device_owner="network:router_gateway"))
        # Well within the agents' periodic pass: the change nudges the routers' host.
        for port_id in (answer["port_id"], gateway.id):
            wait_until(lambda: admin.network.get_port(port_id).status == "ACTIVE", timeout=8, interval=0.2,  # noqa: B023
                       what=f"router port {port_id} ACTIVE")
        ns = _router_namespace(cloud, router.id)
        assert ns is not None and ns["forwarding"] is False
        assert [i["port_id"] for i in ns["router"]["interfaces"]] == [answer["port_id"]]
        demo.network.update_router(router, admin_state_up=True)
        wait_until(lambda: (_router_namespace(cloud, router.id) or {}).get("forwarding") is True, timeout=8,
                   interval=0.2, what="the router forwarding once admin-up")
        assert demo.network.get_port(answer["port_id"]).status == "ACTIVE"
