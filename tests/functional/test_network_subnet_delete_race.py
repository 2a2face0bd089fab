"""A subnet delete against the DHCP agent's re-addressing of the network's DHCP port (PostgreSQL).

The sync holds the network's row lock while it gives the DHCP port an address on each DHCP subnet
it read; a subnet delete takes that lock first too, so it waits, then sees and deletes the address
the sync committed, instead of deleting the subnet under an address inserted behind its back (a
foreign-key failure, a 500). SQLite has one writer, so there is no interleaving to test there.
This pins the order down; it does not reproduce the original window (a sync committing between the
delete's removal of the subnet's addresses and of its row), which no test hook can hold open."""

from __future__ import annotations

import concurrent.futures
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from onestack.network import models
from tests.functional.cloud import RunningCloud, wait_until


def test_subnet_delete_waits_for_the_dhcp_sync_and_deletes_its_address(admin: Any, cloud: RunningCloud) -> None:
    if not cloud.db_url.startswith("postgresql"):
        pytest.skip("row locks interleave only on a server database (ONESTACK_TEST_DB=postgresql)")
    net = admin.network.create_network(name=f"race-{uuid.uuid4().hex[:6]}")
    admin.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.83.0.0/28")
    doomed = admin.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.83.1.0/28", is_dhcp_enabled=False)
    (dhcp,) = admin.network.ports(network_id=net.id, device_owner="network:dhcp")
    with cloud.engine() as engine, Session(engine) as sync:
        sync.begin()
        # What dhcp_ports.sync_network does: the network's row lock, then an address on a subnet it read.
        assert sync.scalar(select(models.Network.id).where(models.Network.id == net.id).with_for_update())
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            deleting = pool.submit(admin.network.delete_subnet, doomed.id)

            def delete_waits() -> bool:
                with engine.connect() as conn:
                    return bool(conn.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'")))

            wait_until(delete_waits, timeout=30, what="the subnet delete to wait on the network's row lock")
            assert not deleting.done()
            # Nothing of the subnet's is touched yet by the waiting delete: the address goes in at once.
            sync.execute(text("SET LOCAL lock_timeout = '5s'"))
            sync.add(models.IPAllocation(subnet_id=doomed.id, ip_address="10.83.1.2", port_id=dhcp.id,
                                         network_id=net.id))
            sync.flush()
            sync.commit()
            deleting.result(timeout=30)  # no 500: the delete saw the committed address and took it
    assert admin.network.find_subnet(doomed.id) is None
    port = admin.network.get_port(dhcp.id)
    assert [f["ip_address"] for f in port.fixed_ips] == ["10.83.0.2"]
    admin.network.delete_network(net)
