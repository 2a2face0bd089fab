"""IPAM on MariaDB when the subnet goes under a port's allocation (REPEATABLE READ).

A port create reads the subnet, another transaction deletes it and commits, then the create inserts
the address: the foreign key fails. A retry that rereads to tell "taken" from "gone" sees its own
transaction's snapshot, in which the subnet is still there, so it took every address of the pools
for taken, one savepoint each, and answered "no address" (409) instead of the subnet's 404, as
PostgreSQL's path does. The error itself says which parent went."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import SubnetNotFound
from onestack.network.service import ipam


def test_an_allocation_on_a_subnet_deleted_meanwhile_is_the_subnets_404(mariadb_engine: Engine) -> None:
    engine = mariadb_engine
    now = datetime.now(UTC).replace(tzinfo=None)
    stamps = {"created_at": now, "updated_at": now}
    with Session(engine) as s, s.begin():
        s.add(models.Network(id="net", project_id="p", **stamps))
        s.flush()
        s.add(models.Subnet(id="sub", project_id="p", network_id="net", ip_version=4, cidr="10.9.0.0/28",
                            gateway_ip="10.9.0.1", **stamps))
        s.add(models.Port(id="port", project_id="p", network_id="net", mac_address="fa:16:3e:00:00:01", **stamps))
        s.flush()
        s.add(models.AllocationPool(subnet_id="sub", first_ip="10.9.0.2", last_ip="10.9.0.14"))
    with Session(engine) as s, s.begin():
        (info,) = ipam.subnets_of(s, "net")  # the create's snapshot: the subnet is there
        with engine.begin() as other:  # another request deletes it meanwhile
            other.execute(delete(models.AllocationPool).where(models.AllocationPool.subnet_id == "sub"))
            other.execute(delete(models.Subnet).where(models.Subnet.id == "sub"))
        with pytest.raises(SubnetNotFound):
            ipam.allocate_free(s, info, "port")
