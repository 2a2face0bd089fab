"""Auto-allocated topology ("get me a network") through openstacksdk and raw HTTP."""

from __future__ import annotations

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
        [subnet] = list(alt.network.subnets(network_id=net.id))
        # No default subnet pool in this cloud: the first free /26 of the fallback range.
        assert subnet.subnet_pool_id is None and subnet.cidr == "10.128.0.0/26"
        [router] = [r for r in alt.network.routers() if r.name == "auto_allocated_router"]
        public = alt.network.find_network("public", ignore_missing=False)
        assert router.external_gateway_info["network_id"] == public.id
        [iface] = list(alt.network.ports(device_id=router.id, device_owner="network:router_interface"))
        assert iface.fixed_ips[0]["subnet_id"] == subnet.id
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


def test_subnet_from_the_default_pool(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    admin = fresh_cloud.sdk("devstack-admin")
    pool = admin.network.create_subnet_pool(name="aat-default", prefixes=["10.90.0.0/20"], default_prefix_length=26,
                                            is_shared=True, is_default=True)
    demo = fresh_cloud.sdk("devstack")
    http = neutron(fresh_cloud)
    topo = http.get(f"/v2.0/auto-allocated-topology/{demo.current_project_id}").json()["auto_allocated_topology"]
    [subnet] = list(demo.network.subnets(network_id=topo["id"]))
    assert subnet.subnet_pool_id == pool.id and subnet.cidr == "10.90.0.0/26"
    assert http.delete(f"/v2.0/auto-allocated-topology/{demo.current_project_id}").status_code == 204
