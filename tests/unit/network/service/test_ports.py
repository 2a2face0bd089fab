"""The ports service as in-process callers (routers, floating IPs, bootstrap) use it: network-owned
ports without project or groups, and deletes the port API refuses but ``internal=True`` allows."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import (
    GatewayIpInUse,
    IpAddressGenerationFailure,
    OverQuota,
    PortNotFound,
    ServicePortInUse,
    SubnetInUse,
)
from onestack.network.service import networks, ports, quotas, subnets
from onestack.network.service.common import Caller, new_id, stamp_new

ADMIN = Caller(project_id=None, is_admin=True)
CONFIG = NetworkConfig()


def _network(s: Session, project: str = "p1", cidr: str = "10.0.0.0/29") -> tuple[str, str]:
    net = networks.create(s, ADMIN, project, {"name": "n"}, 1500)
    sub = subnets.create(s, ADMIN, project, {"network_id": net["id"], "ip_version": 4, "cidr": cidr}, CONFIG)
    return net["id"], sub["id"]


def test_network_owned_port_has_no_project_groups_or_quota(s: Session) -> None:
    net_id, _ = _network(s)
    s.add(models.Quota(project_id="", resource="port", limit=0))
    port = ports.create(s, ADMIN, "", {"network_id": net_id, "device_owner": "network:router_gateway",
                                       "device_id": new_id()}, CONFIG)
    assert port["project_id"] == "" and port["security_groups"] == [] and port["status"] == "DOWN"
    assert port["fixed_ips"][0]["ip_address"] == "10.0.0.3"  # the network's DHCP port has .2
    assert port["binding:vif_type"] == "unbound" and port["binding:vif_details"] == {}
    assert quotas.usage(s, "p1", "port") == 1  # the network's DHCP port (the network's project, as Neutron)


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
    assert ports.views(s, ADMIN, [row])[0]["fixed_ips"] == [{"subnet_id": sub_id, "ip_address": "10.0.0.3"}]
    # Only the port's project and the network's owner see it.
    assert ports.get_row(s, Caller("p1", False), port["id"]).id == port["id"]
    with pytest.raises(PortNotFound):
        ports.get_row(s, Caller("p2", False), port["id"])


def test_exhaustion_and_subnet_in_use(s: Session) -> None:
    net_id, sub_id = _network(s)  # a /29: .2 to .6, .2 the DHCP port's
    for _ in range(4):
        ports.create(s, ADMIN, "p1", {"network_id": net_id}, CONFIG)
    with pytest.raises(IpAddressGenerationFailure):
        ports.create(s, ADMIN, "p1", {"network_id": net_id}, CONFIG)
    with pytest.raises(SubnetInUse):
        subnets.delete_subnet(s, ADMIN, sub_id, CONFIG)


def test_gateway_held_by_router_cannot_move(s: Session) -> None:
    net_id, sub_id = _network(s, cidr="10.1.0.0/24")
    ports.create(s, ADMIN, "p1", {"network_id": net_id, "device_owner": "network:router_interface",
                                  "device_id": new_id(), "fixed_ips": [{"subnet_id": sub_id,
                                                                        "ip_address": "10.1.0.1"}]}, CONFIG)
    with pytest.raises(GatewayIpInUse):
        subnets.update(s, ADMIN, sub_id, {"gateway_ip": "10.1.0.254"}, CONFIG)
    # Other changes are fine.
    assert subnets.update(s, ADMIN, sub_id, {"name": "x"}, CONFIG)["name"] == "x"


def test_slaac_subnet_goes_with_addresses_of_ordinary_ports(s: Session) -> None:
    net_id, v4 = _network(s, cidr="10.2.0.0/24")
    v6 = subnets.create(s, ADMIN, "p1", {"network_id": net_id, "ip_version": 6, "cidr": "fd00:2::/64",
                                         "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}, CONFIG)
    port = ports.create(s, ADMIN, "p1", {"network_id": net_id, "mac_address": "fa:16:3e:00:00:01"}, CONFIG)
    assert {f["ip_address"] for f in port["fixed_ips"]} == {"10.2.0.3", "fd00:2::f816:3eff:fe00:1"}
    # A new MAC moves the EUI-64 address.
    moved = ports.update(s, ADMIN, port["id"], {"mac_address": "fa:16:3e:00:00:02"}, CONFIG)
    assert {f["ip_address"] for f in moved["fixed_ips"]} == {"10.2.0.3", "fd00:2::f816:3eff:fe00:2"}
    subnets.delete_subnet(s, ADMIN, v6["id"], CONFIG)
    assert [f["subnet_id"] for f in ports.show(s, ADMIN, port["id"])["fixed_ips"]] == [v4]


def test_quotas_port_and_subnet(s: Session) -> None:
    net_id, _ = _network(s, cidr="10.3.0.0/24")
    # 2: the network's DHCP port is p1's too and counts, though it was made past the quota (Neutron).
    s.add(models.Quota(project_id="p1", resource="port", limit=2))
    s.add(models.Quota(project_id="p1", resource="subnet", limit=1))
    ports.create(s, ADMIN, "p1", {"network_id": net_id}, CONFIG)
    with pytest.raises(OverQuota):
        ports.create(s, ADMIN, "p1", {"network_id": net_id}, CONFIG)
    with pytest.raises(OverQuota):
        subnets.create(s, ADMIN, "p1", {"network_id": net_id, "ip_version": 4, "cidr": "10.4.0.0/24"}, CONFIG)
    # Another project's port on the same network counts against its own quota only.
    assert ports.create(s, ADMIN, "p2", {"network_id": net_id}, CONFIG)["project_id"] == "p2"


def test_router_gateway_gets_slaac_interface_does_not(s: Session) -> None:
    net_id, _ = _network(s, cidr="10.5.0.0/24")
    subnets.create(s, ADMIN, "p1", {"network_id": net_id, "ip_version": 6, "cidr": "fd00:5::/64",
                                    "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}, CONFIG)
    gateway = ports.create(s, ADMIN, "", {"network_id": net_id, "device_owner": "network:router_gateway",
                                          "device_id": new_id()}, CONFIG)
    assert {f["ip_address"].count(":") > 0 for f in gateway["fixed_ips"]} == {True, False}
    interface = ports.create(s, ADMIN, "p1", {"network_id": net_id, "device_owner": "network:router_interface",
                                              "device_id": new_id()}, CONFIG)
    assert [f["ip_address"] for f in interface["fixed_ips"]] == ["10.5.0.4"]
