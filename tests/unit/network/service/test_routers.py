"""Routers and floating IPs as the service layer runs them: quotas ``router`` and ``floatingip``,
and DevStack's networks made once by the bootstrap."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.core.config import Config, NetworkConfig
from onestack.network import bootstrap, models
from onestack.network.errors import OverQuota
from onestack.network.service import floating_ips, networks, routers, subnets
from onestack.network.service.common import Caller

ADMIN = Caller(project_id=None, is_admin=True)
CONFIG = NetworkConfig()


def _public(s: Session) -> str:
    net = networks.create(s, ADMIN, "admin", {"name": "public", "router:external": True}, 1500)
    subnets.create(s, ADMIN, "admin", {"network_id": net["id"], "ip_version": 4, "cidr": "172.24.4.0/24"}, CONFIG)
    return str(net["id"])


def test_router_quota(s: Session) -> None:
    s.add(models.Quota(project_id="p1", resource="router", limit=1))
    routers.create(s, ADMIN, "p1", {"name": "r1"}, CONFIG)
    with pytest.raises(OverQuota, match="router"):
        routers.create(s, ADMIN, "p1", {"name": "r2"}, CONFIG)
    routers.create(s, ADMIN, "p2", {"name": "r3"}, CONFIG)  # another project's own quota


def test_floatingip_quota_and_network_owned_port(s: Session) -> None:
    public = _public(s)
    s.add(models.Quota(project_id="p1", resource="floatingip", limit=1))
    fip = floating_ips.create(s, ADMIN, "p1", {"floating_network_id": public}, CONFIG)
    row = s.get(models.FloatingIP, fip["id"])
    assert row is not None and fip["status"] == "DOWN"
    port = s.get(models.Port, row.floating_port_id)
    assert port is not None and port.project_id == "" and port.device_id == fip["id"]
    with pytest.raises(OverQuota, match="floatingip"):
        floating_ips.create(s, ADMIN, "p1", {"floating_network_id": public}, CONFIG)


def test_bootstrap_makes_devstacks_networks_once(s: Session) -> None:
    config = Config()
    assert bootstrap.make_devstack_networks(s, config, "admin", "demo") is True
    assert bootstrap.make_devstack_networks(s, config, "admin", "demo") is False
    names = sorted(s.scalars(select(models.Network.name)))
    assert names == ["private", "public", "shared"]
    assert s.scalar(select(func.count()).select_from(models.Router)) == 1
