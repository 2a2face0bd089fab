"""DevStack's networks, made once at a cloud's first start (``network.bootstrap_networks``), as
DevStack's lib/neutron makes them with its defaults (IP_VERSION=4+6, USE_SUBNETPOOL=True):

- subnet pools ``shared-default-subnetpool-v4`` (``network.subnetpool_prefix_v4``, prefixes of
  /26 by default) and ``shared-default-subnetpool-v6`` (``network.subnetpool_prefix_v6``, /64),
  the admin project's, shared and the default pool of their IP version;
- ``public``: the admin project's external flat network on physnet ``public`` (the default one
  for auto-allocation), subnets ``public-subnet`` = ``network.public_cidr`` and
  ``ipv6-public-subnet`` = ``network.public_cidr_v6`` (gateway its ``::2``), both without DHCP;
- ``private``: the demo project's network, ``private-subnet`` = ``network.private_cidr`` taken
  from the IPv4 pool (a plain subnet when the CIDR lies outside the pool), and
  ``ipv6-private-subnet`` from the IPv6 pool, SLAAC (ra and address mode ``slaac``);
- ``shared``: the admin project's network shared with every project, ``shared-subnet``
  192.168.233.0/24;
- ``router1``: the demo project's router, gateway on ``public`` (an address on each public
  subnet: 172.24.4.x and 2001:db8::1), interfaces on ``private-subnet`` and ``ipv6-private-subnet``.

"Once": the marker file in the data directory says it ran; a database that already has an
external ``public`` network of the admin project (a data directory reset over a kept external
database) counts as done too, so a restart never makes a second set, and a cloud bootstrapped
before the pools and IPv6 subnets existed keeps what it has.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import Config
from onestack.network import models
from onestack.network.service import networks, router_interfaces, routers, subnetpools, subnets
from onestack.network.service.routers import INTERNAL

MARKER = "network-bootstrap.done"
SHARED_CIDR = "192.168.233.0/24"
POOL_V4, POOL_V6 = "shared-default-subnetpool-v4", "shared-default-subnetpool-v6"
POOL_SIZE_V4, POOL_SIZE_V6 = 26, 64  # DevStack's SUBNETPOOL_SIZE_V4 / _V6


def marker(config: Config) -> Path:
    return config.data_dir / MARKER


def already_made(s: Session, admin_project: str) -> bool:
    n = models.Network
    return s.scalar(select(n.id).where(n.name == "public", n.project_id == admin_project,
                                       n.router_external.is_(True)).limit(1)) is not None


def make_devstack_networks(s: Session, config: Config, admin_project: str, demo_project: str) -> bool:
    """Create the resources in one transaction; False (and nothing made) if they exist."""
    if already_made(s, admin_project):
        return False
    net = config.network
    pools = {version: subnetpools.create(s, INTERNAL, admin_project, {
        "name": name, "prefixes": [prefix], "default_prefixlen": size, "shared": True, "is_default": True})
        for version, name, prefix, size in ((4, POOL_V4, net.subnetpool_prefix_v4, POOL_SIZE_V4),
                                            (6, POOL_V6, net.subnetpool_prefix_v6, POOL_SIZE_V6))}
    public = networks.create(s, INTERNAL, admin_project, {
        "name": "public", "router:external": True, "is_default": True, "provider:network_type": "flat",
        "provider:physical_network": "public"}, net.default_mtu)
    subnets.create(s, INTERNAL, admin_project, {
        "name": "public-subnet", "network_id": public["id"], "ip_version": 4, "cidr": net.public_cidr,
        "enable_dhcp": False}, net)
    v6_public = ipaddress.ip_network(net.public_cidr_v6)
    subnets.create(s, INTERNAL, admin_project, {
        "name": "ipv6-public-subnet", "network_id": public["id"], "ip_version": 6, "cidr": str(v6_public),
        "gateway_ip": str(v6_public.network_address + 2), "enable_dhcp": False}, net)  # DevStack's ::2
    private = networks.create(s, INTERNAL, demo_project, {"name": "private"}, net.default_mtu)
    v4_attrs: dict[str, object] = {"name": "private-subnet", "network_id": private["id"], "ip_version": 4,
                                   "cidr": net.private_cidr}
    if ipaddress.IPv4Network(net.private_cidr).subnet_of(ipaddress.IPv4Network(net.subnetpool_prefix_v4)):
        v4_attrs["subnetpool_id"] = pools[4]["id"]
    private_subnet = subnets.create(s, INTERNAL, demo_project, v4_attrs, net)
    private_v6 = subnets.create(s, INTERNAL, demo_project, {
        "name": "ipv6-private-subnet", "network_id": private["id"], "ip_version": 6,
        "subnetpool_id": pools[6]["id"], "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}, net)
    shared = networks.create(s, INTERNAL, admin_project, {"name": "shared", "shared": True}, net.default_mtu)
    subnets.create(s, INTERNAL, admin_project, {
        "name": "shared-subnet", "network_id": shared["id"], "ip_version": 4, "cidr": SHARED_CIDR}, net)
    router = routers.create(s, INTERNAL, demo_project, {
        "name": "router1", "external_gateway_info": {"network_id": public["id"]}}, net)
    for subnet in (private_subnet, private_v6):
        router_interfaces.add(s, INTERNAL, router["id"], {"subnet_id": subnet["id"]}, net)
    return True
