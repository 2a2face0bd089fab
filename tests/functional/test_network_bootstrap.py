"""DevStack's networks at a cloud's first start: the default subnet pools, public, private (IPv4
and IPv6), shared and router1, as DevStack names and shapes them; made once (a restart makes no
second set); none when switched off."""

from __future__ import annotations

from typing import Any

from tests.functional.cloud import RunningCloud


def _one(items: Any) -> Any:
    found = list(items)
    assert len(found) == 1, found
    return found[0]


def test_a_fresh_cloud_has_devstacks_networks(admin: Any, demo: Any, alt: Any) -> None:
    public = _one(admin.network.networks(name="public"))
    assert public.is_router_external is True and public.is_default is True
    assert public.project_id == admin.current_project_id
    assert public.provider_network_type == "flat" and public.provider_physical_network == "public"
    public_subnet = _one(admin.network.subnets(name="public-subnet"))
    assert public_subnet.network_id == public.id and public_subnet.cidr == "172.24.4.0/24"
    assert public_subnet.gateway_ip == "172.24.4.1" and public_subnet.is_dhcp_enabled is False

    public_v6 = _one(admin.network.subnets(name="ipv6-public-subnet"))
    assert public_v6.network_id == public.id and public_v6.cidr == "2001:db8::/64"
    assert public_v6.gateway_ip == "2001:db8::2" and public_v6.is_dhcp_enabled is False

    pools = {p.ip_version: p for p in admin.network.subnet_pools(is_default=True)}
    assert pools[4].name == "shared-default-subnetpool-v4" and pools[4].prefixes == ["10.0.0.0/22"]
    assert pools[6].name == "shared-default-subnetpool-v6" and pools[6].prefixes == ["2001:db8:8000::/48"]
    assert pools[4].is_shared and pools[6].is_shared and pools[4].default_prefix_length == 26
    assert pools[6].default_prefix_length == 64

    private = _one(demo.network.networks(name="private"))
    assert private.project_id == demo.current_project_id and private.is_shared is False
    private_subnet = _one(demo.network.subnets(name="private-subnet"))
    assert private_subnet.network_id == private.id and private_subnet.cidr == "10.0.0.0/26"
    assert private_subnet.subnet_pool_id == pools[4].id
    private_v6 = _one(demo.network.subnets(name="ipv6-private-subnet"))
    assert private_v6.network_id == private.id and private_v6.cidr == "2001:db8:8000::/64"
    assert private_v6.subnet_pool_id == pools[6].id
    assert private_v6.ipv6_ra_mode == "slaac" and private_v6.ipv6_address_mode == "slaac"

    shared = _one(admin.network.networks(name="shared"))
    assert shared.is_shared is True and shared.project_id == admin.current_project_id
    assert _one(admin.network.subnets(name="shared-subnet")).cidr == "192.168.233.0/24"

    router = _one(demo.network.routers(name="router1"))
    assert router.project_id == demo.current_project_id
    assert router.external_gateway_info["network_id"] == public.id
    gateway_ips = {f["subnet_id"]: f["ip_address"] for f in router.external_gateway_info["external_fixed_ips"]}
    assert set(gateway_ips) == {public_subnet.id, public_v6.id} and gateway_ips[public_v6.id] == "2001:db8::1"
    interfaces = demo.network.ports(device_id=router.id, device_owner="network:router_interface")
    assert sorted((f["subnet_id"], f["ip_address"]) for i in interfaces for f in i.fixed_ips) == sorted(
        [(private_subnet.id, private_subnet.gateway_ip), (private_v6.id, private_v6.gateway_ip)])

    # Another project sees the public and shared networks, not demo's private one.
    seen = {n.name for n in alt.network.networks()}
    assert {"public", "shared"} <= seen and "private" not in seen


def test_made_once_and_only_when_asked(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.env["ONESTACK_NETWORK__BOOTSTRAP_NETWORKS"] = "false"
    fresh_cloud.start()
    admin = fresh_cloud.sdk("devstack-admin")
    assert list(admin.network.networks()) == [] and list(admin.network.routers()) == []
    fresh_cloud.stop()
    fresh_cloud.env.pop("ONESTACK_NETWORK__BOOTSTRAP_NETWORKS")
    for _ in range(2):  # the first start with the switch on makes them; the restart makes none again
        fresh_cloud.start()
        admin = fresh_cloud.sdk("devstack-admin")
        names = sorted(n.name for n in admin.network.networks())
        assert names == ["private", "public", "shared"]
        assert [r.name for r in admin.network.routers()] == ["router1"]
        fresh_cloud.stop()
