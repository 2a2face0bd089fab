"""IP availability counted from allocation pools and allocations (SQLite session)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from onestack.network import errors, models
from onestack.network.service import ip_availability
from onestack.network.service.common import new_id, stamp_new


def add(s: Session, row: object) -> None:
    if hasattr(row, "created_at"):
        stamp_new(row)
    s.add(row)
    s.flush()


def test_totals_used_and_filters(s: Session) -> None:
    net, empty = models.Network(id="n1", project_id="p1", name="a"), models.Network(id="n2", project_id="p2", name="b")
    for row in (net, empty):
        add(s, row)
    add(s, models.Subnet(id="s4", project_id="p1", network_id="n1", ip_version=4, cidr="10.0.0.0/24", name="v4"))
    add(s, models.Subnet(id="s6", project_id="p1", network_id="n1", ip_version=6, cidr="2001:db8::/120"))
    add(s, models.AllocationPool(subnet_id="s4", first_ip="10.0.0.2", last_ip="10.0.0.11"))
    add(s, models.AllocationPool(subnet_id="s4", first_ip="10.0.0.100", last_ip="10.0.0.100"))
    port = models.Port(id=new_id(), project_id="p1", network_id="n1", mac_address="fa:16:3e:00:00:01")
    add(s, port)
    for ip in ("10.0.0.2", "10.0.0.3"):
        add(s, models.IPAllocation(subnet_id="s4", ip_address=ip, port_id=port.id, network_id="n1"))
    got = ip_availability.availability(s, "n1")
    assert got["total_ips"] == 11 + 256 and got["used_ips"] == 2  # a subnet without pools counts its whole cidr
    assert [x["subnet_id"] for x in got["subnet_ip_availability"]] == ["s4", "s6"]
    assert got["subnet_ip_availability"][0] == {"subnet_id": "s4", "subnet_name": "v4", "cidr": "10.0.0.0/24",
                                                "ip_version": 4, "used_ips": 2, "total_ips": 11}
    assert [n["network_id"] for n in ip_availability.availabilities(s, {})] == ["n1", "n2"]
    assert [n["network_id"] for n in ip_availability.availabilities(s, {"project_id": ["p2"]})] == ["n2"]
    only6 = ip_availability.availabilities(s, {"ip_version": [6]})
    assert [(n["network_id"], n["total_ips"]) for n in only6] == [("n1", 256)]
    with pytest.raises(errors.NetworkNotFound):
        ip_availability.availability(s, "nope")
