"""Networks through openstacksdk and raw HTTP: fields, defaults, sharing, external, errors, paging."""

from __future__ import annotations

from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


def test_create_show_list_delete(demo: Any) -> None:
    net = demo.network.create_network(name="nt-basic")
    try:
        assert net.status == "ACTIVE" and net.is_admin_state_up is True
        assert net.project_id == demo.current_project_id
        assert net.is_shared is False and net.is_router_external is False
        assert net.mtu == 1500 and net.is_port_security_enabled is True
        assert net.revision_number == 0 and net.subnet_ids == []
        found = demo.network.get_network(net.id)
        assert found.name == "nt-basic"
        assert net.id in [n.id for n in demo.network.networks(name="nt-basic")]
        updated = demo.network.update_network(net, name="nt-renamed", description="d")
        assert updated.name == "nt-renamed" and updated.revision_number == 1
    finally:
        demo.network.delete_network(net.id)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_network(net.id)


def test_error_shape_and_unknown_network(cloud: RunningCloud) -> None:
    r = neutron(cloud).get("/v2.0/networks/5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11")
    assert r.status_code == 404
    err = error_of(r)
    assert err["type"] == "NetworkNotFound" and err["detail"] == ""
    assert "5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11" in err["message"]


def test_bad_input_changes_nothing(cloud: RunningCloud) -> None:
    http = neutron(cloud)
    before = http.get("/v2.0/networks").json()["networks"]
    for body, fragment in (({"network": {"admin_state_up": "maybe"}}, "admin_state_up"),
                           ({"network": {"bogus": 1}}, "Unrecognized attribute"),
                           ({"network": {"shared": True}}, "disallowed by policy"),
                           ({"netwrk": {}}, "Unable to find 'network'")):
        r = http.post("/v2.0/networks", json=body)
        assert r.status_code in (400, 403), r.text
        assert fragment in error_of(r)["message"]
    assert http.get("/v2.0/networks").json()["networks"] == before


def test_shared_network_visible_to_other_projects(admin: Any, alt: Any) -> None:
    net = admin.network.create_network(name="nt-shared", shared=True)
    try:
        seen = alt.network.get_network(net.id)
        assert seen.is_shared is True
        with pytest.raises(sdk_exc.ForbiddenException):
            alt.network.update_network(net.id, name="mine")
    finally:
        admin.network.delete_network(net.id)


def test_private_network_invisible_to_other_projects(demo: Any, alt: Any) -> None:
    net = demo.network.create_network(name="nt-private")
    try:
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.get_network(net.id)
        assert net.id not in [n.id for n in alt.network.networks()]
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.delete_network(net.id, ignore_missing=False)
    finally:
        demo.network.delete_network(net.id)


def test_provider_attributes_admin_only(admin: Any, demo: Any) -> None:
    net = admin.network.create_network(name="nt-prov", provider_network_type="vlan",
                                       provider_physical_network="physnet1", provider_segmentation_id=101,
                                       project_id=demo.current_project_id)
    try:
        assert admin.network.get_network(net.id).provider_segmentation_id == 101
        assert demo.network.get_network(net.id).provider_network_type is None
    finally:
        admin.network.delete_network(net.id)


def test_paging_sorting_and_fields(cloud: RunningCloud, demo: Any) -> None:
    made = [demo.network.create_network(name=f"nt-page-{i}") for i in range(5)]
    try:
        http = neutron(cloud)
        url = "/v2.0/networks?name=nt-page-0&name=nt-page-1&name=nt-page-2&name=nt-page-3" \
              "&name=nt-page-4&sort_key=name&sort_dir=desc&limit=2&fields=name&fields=id"
        names: list[str] = []
        while url:
            body = http.get(url).json()
            names += [n["name"] for n in body["networks"]]
            assert all(set(n) == {"id", "name"} for n in body["networks"])
            nxt = [link["href"] for link in body.get("networks_links", []) if link["rel"] == "next"]
            url = nxt[0].split("/networking", 1)[1] if nxt else ""
        assert names == [f"nt-page-{i}" for i in (4, 3, 2, 1, 0)]
        assert http.get("/v2.0/networks?bogus=1").status_code == 400
    finally:
        for n in made:
            demo.network.delete_network(n.id)


def test_if_match_revision(cloud: RunningCloud, demo: Any) -> None:
    net = demo.network.create_network(name="nt-rev")
    try:
        http = neutron(cloud)
        r = http.put(f"/v2.0/networks/{net.id}", json={"network": {"name": "x"}},
                     headers={"If-Match": "revision_number=7"})
        assert r.status_code == 412 and error_of(r)["type"] == "RevisionNumberConstraintFailed"
        r = http.put(f"/v2.0/networks/{net.id}", json={"network": {"name": "x"}},
                     headers={"If-Match": "revision_number=0"})
        assert r.status_code == 200 and r.json()["network"]["revision_number"] == 1
    finally:
        demo.network.delete_network(net.id)


def test_extensions_listed(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"external-net", "provider", "net-mtu", "pagination", "sorting"} <= aliases


def test_bulk_create_is_all_or_nothing(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    r = http.post("/v2.0/networks", json={"networks": [{"name": "nt-bulk-1"}, {"name": "nt-bulk-2"}]})
    assert r.status_code == 201, r.text
    made = r.json()["networks"]
    assert [n["name"] for n in made] == ["nt-bulk-1", "nt-bulk-2"]
    try:
        bad = http.post("/v2.0/networks", json={"networks": [{"name": "nt-bulk-3"}, {"mtu": "x"}]})
        assert bad.status_code == 400
        assert not [n for n in demo.network.networks(name="nt-bulk-3")]
    finally:
        for n in made:
            demo.network.delete_network(n["id"])


def test_deleting_an_external_network_takes_its_free_floating_ips(cloud: RunningCloud, admin: Any) -> None:
    # Neutron deletes the floating IPs no port or router holds with their network (Tempest's
    # test_delete_external_networks_with_floating_ip); a router's gateway keeps it in use.
    http = neutron(cloud, "devstack-admin")
    net = admin.network.create_network(name="nt-ext-fips", is_router_external=True)
    try:
        admin.network.create_subnet(network_id=net.id, ip_version=4, cidr="198.51.100.0/24")
        fip = admin.network.create_ip(floating_network_id=net.id)
        router = admin.network.create_router(name="nt-ext-fips-router", external_gateway_info={"network_id": net.id})
        try:
            r = http.delete(f"/v2.0/networks/{net.id}")
            assert r.status_code == 409 and error_of(r)["type"] == "NetworkInUse", r.text
            # The refused delete changed nothing: the floating IP and its port remain.
            assert admin.network.get_ip(fip.id).floating_network_id == net.id
            assert admin.network.get_port(_fip_port(admin, fip.id)).network_id == net.id
        finally:
            admin.network.delete_router(admin.network.update_router(router, external_gateway_info={}).id)
        port_id = _fip_port(admin, fip.id)
        r = http.delete(f"/v2.0/networks/{net.id}")
        assert r.status_code == 204, r.text
        for path in (f"/v2.0/floatingips/{fip.id}", f"/v2.0/ports/{port_id}", f"/v2.0/networks/{net.id}"):
            assert http.get(path).status_code == 404, path
    finally:
        admin.network.delete_network(net.id, ignore_missing=True)


def _fip_port(admin: Any, fip_id: str) -> str:
    [port] = list(admin.network.ports(device_id=fip_id, device_owner="network:floatingip"))
    return str(port.id)


def test_mtu_below_1280_is_refused_while_the_network_has_ipv6_subnets(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    net = demo.network.create_network(name="nt-mtu")
    try:
        assert demo.network.update_network(net, mtu=68).mtu == 68  # no subnet: any MTU Neutron takes
        demo.network.update_network(net, mtu=1500)
        demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.61.0.0/24")
        assert demo.network.update_network(net, mtu=1279).mtu == 1279  # IPv4 needs 68 only
        demo.network.update_network(net, mtu=1500)
        demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="fd00:61::/64")
        before = demo.network.get_network(net.id)
        r = http.put(f"/v2.0/networks/{net.id}", json={"network": {"mtu": 1279, "name": "nt-mtu-low"}})
        assert r.status_code == 409, r.text
        assert error_of(r)["type"] == "NetworkMTUSubnetConflict"
        assert error_of(r)["message"] == f"MTU of {net.id} is not valid, subnet requires a minimum of 1280"
        after = demo.network.get_network(net.id)
        assert (after.mtu, after.name, after.revision_number) == (1500, "nt-mtu", before.revision_number)
        assert demo.network.update_network(net, mtu=1280).mtu == 1280
    finally:
        demo.network.delete_network(net.id)


def test_service_providers(cloud: RunningCloud) -> None:
    http = neutron(cloud)
    providers = http.get("/v2.0/service-providers").json()["service_providers"]
    assert providers == [{"service_type": "L3_ROUTER_NAT", "name": "onestack", "default": True}]
    assert http.get("/v2.0/service-providers?service_type=LOADBALANCERV2").json()["service_providers"] == []
    assert http.get("/v2.0/service-providers?bogus=1").status_code == 400
