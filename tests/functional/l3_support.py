"""What the router, floating IP and port forwarding tests share: a project's network + subnet, a
router joining it to ``public``, and cleanup that undoes them in the order Neutron requires."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from openstack import exceptions as sdk_exc


@dataclass
class Topology:
    conn: Any
    network: Any
    subnet: Any
    router: Any = None
    ports: list[Any] = field(default_factory=list)
    fips: list[Any] = field(default_factory=list)

    def port(self, **attrs: Any) -> Any:
        port = self.conn.network.create_port(network_id=self.network.id, **attrs)
        self.ports.append(port)
        return port

    def fip(self, public: Any, **attrs: Any) -> Any:
        fip = self.conn.network.create_ip(floating_network_id=public.id, **attrs)
        self.fips.append(fip)
        return fip


def public_network(conn: Any) -> Any:
    return conn.network.find_network("public", ignore_missing=False)


@contextmanager
def topology(conn: Any, name: str, cidr: str, *, routed: bool = True) -> Iterator[Topology]:
    """A network and subnet of ``conn``'s project; with ``routed`` a router with its gateway on
    ``public`` and an interface on the subnet. Everything goes afterwards, whatever the test left."""
    net = conn.network.create_network(name=name)
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr=cidr, name=f"{name}-subnet")
    topo = Topology(conn, net, sub)
    try:
        if routed:
            topo.router = conn.network.create_router(
                name=f"{name}-router", external_gateway_info={"network_id": public_network(conn).id})
            conn.network.add_interface_to_router(topo.router, subnet_id=sub.id)
        yield topo
    finally:
        cleanup(topo)


def cleanup(topo: Topology) -> None:
    net = topo.conn.network
    for fip in topo.fips:
        net.delete_ip(fip.id, ignore_missing=True)
    if topo.router is not None:
        for port in net.ports(device_id=topo.router.id, device_owner="network:router_interface"):
            try:
                net.remove_interface_from_router(topo.router, port_id=port.id)
            except sdk_exc.NotFoundException:
                pass
        net.delete_router(topo.router.id, ignore_missing=True)
    for port in topo.ports:
        net.delete_port(port.id, ignore_missing=True)
    net.delete_network(topo.network.id, ignore_missing=True)
