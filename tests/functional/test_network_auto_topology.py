"""Auto-allocated topology ("get me a network") through openstacksdk and raw HTTP."""

from __future__ import annotations

import ipaddress
from typing import Any

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


def test_get_provisions_once_and_delete_removes(cloud: RunningCloud, alt: Any) -> None:
    project = alt.current_project_id
    http = neutron(cloud, "devstack-alt")
    r = http.get(f"/v2.0/auto-allocated-topology/{project}?fields=dry-run")
    assert r.status_code == 200 and r.json()["auto_allocated_topology"]["id"] == "dry-run=pass"
    try:
        first = http.get(f"/v2.0/auto-allocated-topology/{project}").json()["auto_allocated_topology"]
        assert first["project_id"] == project
        again = http.get(f"/v2.0/auto-allocated-topology/{project}").json()["auto_allocated_topology"]
        assert again["id"] == first["id"]
        net = alt.network.get_network(first["id"])
        assert net.name == "auto_allocated_network" and net.is_admin_state_up is True
        # A subnet from each of DevStack's default pools (the bootstrap's), as Neutron.
        pools = {p.ip_version: p for p in alt.network.subnet_pools(is_default=True)}
        subnets = {s.ip_version: s for s in alt.network.subnets(network_id=net.id)}
        assert sorted(subnets) == [4, 6]
        assert {v: s.subnet_pool_id for v, s in subnets.items()} == {4: pools[4].id, 6: pools[6].id}
        assert ipaddress.IPv4Network(subnets[4].cidr).subnet_of(ipaddress.IPv4Network("10.0.0.0/22"))
        assert subnets[4].cidr.endswith("/26") and subnets[6].cidr.endswith("/64")
        [router] = [r for r in alt.network.routers() if r.name == "auto_allocated_router"]
        public = alt.network.find_network("public", ignore_missing=False)
        assert router.external_gateway_info["network_id"] == public.id
        ifaces = alt.network.ports(device_id=router.id, device_owner="network:router_interface")
        assert sorted(f["subnet_id"] for i in ifaces for f in i.fixed_ips) == sorted(s.id for s in subnets.values())
        # "None" is the caller's own project, as python-neutronclient sends it.
        mine = http.get("/v2.0/auto-allocated-topology/None").json()["auto_allocated_topology"]
        assert mine["id"] == first["id"]
    finally:
        assert http.delete(f"/v2.0/auto-allocated-topology/{project}").status_code == 204
    assert [n for n in alt.network.networks(name="auto_allocated_network")] == []
    assert [r for r in alt.network.routers(name="auto_allocated_router")] == []


def test_other_projects_and_bad_fields(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    r = neutron(cloud, "devstack-alt").get(f"/v2.0/auto-allocated-topology/{demo.current_project_id}")
    assert r.status_code == 403
    r = neutron(cloud).get(f"/v2.0/auto-allocated-topology/{demo.current_project_id}?fields=name")
    assert r.status_code == 400 and "Unrecognized field" in error_of(r)["message"]


def test_extension_listed(demo: Any) -> None:
    assert "auto-allocated-topology" in {e.alias for e in demo.network.extensions()}


def test_without_default_pools_the_fallback_range(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    admin = fresh_cloud.sdk("devstack-admin")
    for pool in list(admin.network.subnet_pools(is_default=True)):  # DevStack's, unmade as default
        admin.network.update_subnet_pool(pool, is_default=False)
    demo = fresh_cloud.sdk("devstack")
    http = neutron(fresh_cloud)
    topo = http.get(f"/v2.0/auto-allocated-topology/{demo.current_project_id}").json()["auto_allocated_topology"]
    [subnet] = list(demo.network.subnets(network_id=topo["id"]))
    assert subnet.subnet_pool_id is None and subnet.cidr == "10.128.0.0/26"
    assert http.delete(f"/v2.0/auto-allocated-topology/{demo.current_project_id}").status_code == 204
