"""The ports service as in-process callers (routers, floating IPs, bootstrap) use it: network-owned
ports without project or groups, and deletes the port API refuses but ``internal=True`` allows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import (
    IpAddressGenerationFailure,
    PortNotFound,
    ServicePortInUse,
    SubnetInUse,
)
from onestack.network.service import networks, ports, quotas, subnets
from onestack.network.service.common import Caller, new_id, stamp_new

ADMIN = Caller(project_id=None, is_admin=True)
CONFIG = NetworkConfig()


@pytest.fixture
def s() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    models.Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        yield session


def _network(s: Session, project: str = "p1", cidr: str = "10.0.0.0/29") -> tuple[str, str]:
    net = networks.create(s, ADMIN, project, {"name": "n"}, 1500)
    sub = subnets.create(s, ADMIN, project, {"network_id": net["id"], "ip_version": 4, "cidr": cidr})
    return net["id"], sub["id"]


def test_network_owned_port_has_no_project_groups_or_quota(s: Session) -> None:
    net_id, _ = _network(s)
    s.add(models.Quota(project_id="", resource="port", limit=0))
    port = ports.create(s, ADMIN, "", {"network_id": net_id, "device_owner": "network:router_gateway",
                                       "device_id": new_id()}, CONFIG)
    assert port["project_id"] == "" and port["security_groups"] == [] and port["status"] == "DOWN"
    assert port["fixed_ips"][0]["ip_address"] == "10.0.0.2"
    assert port["binding:vif_type"] == "unbound" and port["binding:vif_details"] == {}
    assert quotas.usage(s, "p1", "port") == 0


def test_l3_ports_deleted_only_internally(s: Session) -> None:
    net_id, _ = _network(s)
    router = models.Router(id=new_id(), project_id="p1", name="r")
    stamp_new(router)
    s.add(router)
    s.flush()
    port = ports.create(s, ADMIN, "p1", {"network_id": net_id, "device_owner": "network:router_interface",
                                         "device_id": router.id}, CONFIG)
    with pytest.raises(ServicePortInUse):
        ports.delete(s, ADMIN, port["id"])
    ports.delete(s, ADMIN, port["id"], internal=True)
    with pytest.raises(PortNotFound):
        ports.get_row(s, ADMIN, port["id"])


def test_bound_port_and_views(s: Session) -> None:
    net_id, sub_id = _network(s)
    port = ports.create(s, ADMIN, "p1", {"network_id": net_id, "binding:host_id": "node1",
                                         "device_owner": "compute:nova"}, CONFIG)
    assert port["binding:vif_type"] == "ovs" and port["binding:vif_details"]["bridge_name"] == "br-int"
    row = ports.get_row(s, ADMIN, port["id"])
    assert ports.views(s, ADMIN, [row])[0]["fixed_ips"] == [{"subnet_id": sub_id, "ip_address": "10.0.0.2"}]
    # Only the port's project and the network's owner see it.
    assert ports.get_row(s, Caller("p1", False), port["id"]).id == port["id"]
    with pytest.raises(PortNotFound):
        ports.get_row(s, Caller("p2", False), port["id"])


def test_exhaustion_and_subnet_in_use(s: Session) -> None:
    net_id, sub_id = _network(s)  # a /29: .2 to .6
    for _ in range(5):
        ports.create(s, ADMIN, "p1", {"network_id": net_id}, CONFIG)
    with pytest.raises(IpAddressGenerationFailure):
        ports.create(s, ADMIN, "p1", {"network_id": net_id}, CONFIG)
    with pytest.raises(SubnetInUse):
        subnets.delete_subnet(s, ADMIN, sub_id)
