"""The network service tells compute what changed on a server's ports (Neutron's nova notifier),
so the server's ``addresses`` and interfaces follow within seconds through openstacksdk.

On the shared cloud, whose compute heals its info caches only every minute: a change seen within
a few seconds is the event's doing (network-changed, network-vif-deleted), not the heal's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.cloud import wait_until

IMAGE = "onestack-tiny-x86_64-disk"
SOON = 10  # seconds: far below the heal interval (60 s) and its batches


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def addrs(demo: Any, sid: str) -> list[tuple[str, str]]:
    """(address, type) of every address the server shows."""
    server = demo.compute.get_server(sid)
    return sorted((a["addr"], a["OS-EXT-IPS:type"]) for entries in (server.addresses or {}).values()
                  for a in entries)


@pytest.fixture(scope="module")
def setup(admin: Any, demo: Any) -> Iterator[dict[str, Any]]:
    """demo's network behind a router to an external network, and a server booted on a port of it."""
    ext = admin.network.create_network(name=uniq("ext"), is_router_external=True)
    admin.network.create_subnet(network_id=ext.id, ip_version=4, cidr="198.18.77.0/24")
    net = demo.network.create_network(name=uniq("net"))
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.177.0.0/24")
    router = demo.network.create_router(name=uniq("r"), external_gateway_info={"network_id": ext.id})
    demo.network.add_interface_to_router(router, subnet_id=sub.id)
    port = demo.network.create_port(network_id=net.id, name=uniq("port"))
    image = admin.image.find_image(IMAGE, ignore_missing=False)
    server = demo.compute.create_server(name=uniq("srv"), flavor_id="1", image_id=image.id,
                                        networks=[{"port": port.id}])
    server = demo.compute.wait_for_server(server, wait=90)
    try:
        yield {"ext": ext, "net": net, "sub": sub, "port": port, "server": server.id}
    finally:
        for fip in demo.network.ips(floating_network_id=ext.id):
            demo.network.delete_ip(fip)
        demo.compute.delete_server(server.id)
        demo.compute.wait_for_delete(server, wait=60)
        demo.network.delete_port(port, ignore_missing=True)
        demo.network.remove_interface_from_router(router, subnet_id=sub.id)
        demo.network.delete_router(router)
        demo.network.delete_network(net)
        admin.network.delete_network(ext)


def test_a_floating_ip_shows_at_once_and_goes_at_once(demo: Any, setup: dict[str, Any]) -> None:
    sid, port = setup["server"], setup["port"]
    fixed = port.fixed_ips[0]["ip_address"]
    assert addrs(demo, sid) == [(fixed, "fixed")]
    fip = demo.network.create_ip(floating_network_id=setup["ext"].id, port_id=port.id)
    wait_until(lambda: addrs(demo, sid) == sorted([(fixed, "fixed"), (fip.floating_ip_address, "floating")]),
               timeout=SOON, what="the floating IP in the server's addresses")
    demo.network.update_ip(fip, port_id=None)
    wait_until(lambda: addrs(demo, sid) == [(fixed, "fixed")], timeout=SOON,
               what="the disassociated floating IP gone from the server's addresses")
    # Associated again, then deleted: the delete tells compute too.
    demo.network.update_ip(fip, port_id=port.id)
    wait_until(lambda: (fip.floating_ip_address, "floating") in addrs(demo, sid), timeout=SOON,
               what="the floating IP back")
    demo.network.delete_ip(fip)
    wait_until(lambda: addrs(demo, sid) == [(fixed, "fixed")], timeout=SOON,
               what="the deleted floating IP gone from the server's addresses")


def test_new_fixed_ips_show_at_once(demo: Any, setup: dict[str, Any]) -> None:
    sid, port = setup["server"], setup["port"]
    demo.network.update_port(port, fixed_ips=[{"subnet_id": setup["sub"].id, "ip_address": "10.177.0.200"}])
    wait_until(lambda: addrs(demo, sid) == [("10.177.0.200", "fixed")], timeout=SOON,
               what="the server's new fixed IP")


def test_a_deleted_port_leaves_the_server_at_once(demo: Any, setup: dict[str, Any]) -> None:
    sid, port = setup["server"], setup["port"]
    assert [i.port_id for i in demo.compute.server_interfaces(sid)] == [port.id]
    demo.network.delete_port(port)
    wait_until(lambda: addrs(demo, sid) == [] and list(demo.compute.server_interfaces(sid)) == [],
               timeout=SOON, what="the deleted port gone from the server's addresses and interfaces")
