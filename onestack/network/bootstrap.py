"""DevStack's networks, made once at a cloud's first start (``network.bootstrap_networks``):

- ``public``: the admin project's external flat network on physnet ``public`` (the default one
  for auto-allocation), subnet ``public-subnet`` = ``network.public_cidr`` without DHCP;
- ``private``: the demo project's network, subnet ``private-subnet`` = ``network.private_cidr``;
- ``shared``: the admin project's network shared with every project, ``shared-subnet``
  192.168.233.0/24;
- ``router1``: the demo project's router, gateway on ``public``, interface on ``private-subnet``.

"Once": the marker file in the data directory says it ran; a database that already has an
external ``public`` network of the admin project (a data directory reset over a kept external
database) counts as done too, so a restart never makes a second set. DevStack's IPv6 subnets are
not made.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import Config
from onestack.network import models
from onestack.network.service import networks, router_interfaces, routers, subnets
from onestack.network.service.routers import INTERNAL

MARKER = "network-bootstrap.done"
SHARED_CIDR = "192.168.233.0/24"


def marker(config: Config) -> Path:
    return config.data_dir / MARKER


def already_made(s: Session, admin_project: str) -> bool:
    n = models.Network
    return s.scalar(select(n.id).where(n.name == "public", n.project_id == admin_project,
                                       n.router_external.is_(True)).limit(1)) is not None


def make_devstack_networks(s: Session, config: Config, admin_project: str, demo_project: str) -> bool:
    """Create the four resources in one transaction; False (and nothing made) if they exist."""
    if already_made(s, admin_project):
        return False
    net = config.network
    public = networks.create(s, INTERNAL, admin_project, {
        "name": "public", "router:external": True, "is_default": True, "provider:network_type": "flat",
        "provider:physical_network": "public"}, net.default_mtu)
    subnets.create(s, INTERNAL, admin_project, {
        "name": "public-subnet", "network_id": public["id"], "ip_version": 4, "cidr": net.public_cidr,
        "enable_dhcp": False})
    private = networks.create(s, INTERNAL, demo_project, {"name": "private"}, net.default_mtu)
    private_subnet = subnets.create(s, INTERNAL, demo_project, {
        "name": "private-subnet", "network_id": private["id"], "ip_version": 4, "cidr": net.private_cidr})
    shared = networks.create(s, INTERNAL, admin_project, {"name": "shared", "shared": True}, net.default_mtu)
    subnets.create(s, INTERNAL, admin_project, {
        "name": "shared-subnet", "network_id": shared["id"], "ip_version": 4, "cidr": SHARED_CIDR})
    router = routers.create(s, INTERNAL, demo_project, {
        "name": "router1", "external_gateway_info": {"network_id": public["id"]}}, net)
    router_interfaces.add(s, INTERNAL, router["id"], {"subnet_id": private_subnet["id"]}, net)
    return True
