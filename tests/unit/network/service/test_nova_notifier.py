"""Neutron's nova notifier (contracts.md item 3): which events which change of a server's ports
queues, the body sent, once per committed write, and best effort."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.core.db import Database
from onestack.network import models
from onestack.network.service import (
    floating_ips,
    networks,
    nova_notifier,
    ports,
    router_interfaces,
    routers,
    subnets,
)
from onestack.network.service.common import Caller
from onestack.network.service.port_status import ACTIVE, DOWN, Changed

ADMIN = Caller(project_id=None, is_admin=True)
CONFIG = NetworkConfig()
VM1, VM2 = "0b6a5c5e-6d3f-4f36-9d55-0f8f3a0c1a01", "0b6a5c5e-6d3f-4f36-9d55-0f8f3a0c1a02"


class Compute:
    """Compute's side as an HTTP session sees it: records requests, answers with ``status``."""

    def __init__(self, status: int = 200, fail: bool = False) -> None:
        self.status, self.fail = status, fail
        self.requests: list[tuple[str, str, str, Any]] = []

    async def request(self, method: str, path: str, *, service: str, **kwargs: Any) -> Any:
        self.requests.append((method, path, service, kwargs.get("json")))
        if self.fail:
            raise httpx.ConnectError("compute is away")
        return httpx.Response(self.status, json={})


def ev(name: str, server: str, port: str) -> dict[str, str]:
    return {"name": name, "server_uuid": server, "tag": port, "status": "completed"}


# --- the agent's reports ----------------------------------------------------------------------------

def test_only_server_ports_are_told() -> None:
    changed = [Changed("p1", VM1, "compute:nova"), Changed("p2", VM2, "network:router_interface"),
               Changed("p3", "", "compute:nova"), Changed("p4", VM2, "compute:az2"),
               Changed("p5", "not-a-uuid", "compute:nova")]  # compute would refuse the whole batch
    assert nova_notifier.status_events(changed, ACTIVE) == [
        ev("network-vif-plugged", VM1, "p1"), ev("network-vif-plugged", VM2, "p4")]
    assert nova_notifier.status_events(changed, DOWN) == [
        ev("network-vif-unplugged", VM1, "p1"), ev("network-vif-unplugged", VM2, "p4")]


# --- what the API's changes queue -------------------------------------------------------------------

def _net(s: Session) -> tuple[str, str]:
    net = networks.create(s, ADMIN, "p1", {"name": "private"}, 1500)
    sub = subnets.create(s, ADMIN, "p1", {"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/24"}, CONFIG)
    return net["id"], sub["id"]


def _server_port(s: Session, net_id: str, server: str = VM1) -> str:
    port = ports.create(s, ADMIN, "p1", {"network_id": net_id, "device_id": server, "device_owner": "compute:nova"},
                        CONFIG)
    return str(port["id"])


def _sent(s: Session) -> list[dict[str, str]]:
    events = nova_notifier.queued(s)
    s.info.pop("nova_events", None)
    return events


def test_creating_a_port_tells_nothing(s: Session) -> None:
    net_id, _ = _net(s)
    _server_port(s, net_id)
    assert _sent(s) == []  # as Neutron: compute created it, or binds it itself


def test_fixed_ips_change_is_network_changed(s: Session) -> None:
    net_id, sub_id = _net(s)
    port_id = _server_port(s, net_id)
    ports.update(s, ADMIN, port_id, {"name": "renamed", "admin_state_up": False}, CONFIG)
    assert _sent(s) == []  # nothing compute shows
    ports.update(s, ADMIN, port_id, {"fixed_ips": [{"subnet_id": sub_id, "ip_address": "10.0.0.50"}]}, CONFIG)
    assert _sent(s) == [ev("network-changed", VM1, port_id)]
    ports.update(s, ADMIN, port_id, {"fixed_ips": [{"subnet_id": sub_id, "ip_address": "10.0.0.50"}]}, CONFIG)
    assert _sent(s) == []  # the same addresses: no change


def test_device_change_tells_the_server_left_and_the_new_one(s: Session) -> None:
    net_id, _ = _net(s)
    port_id = _server_port(s, net_id)
    ports.update(s, ADMIN, port_id, {"device_id": VM2}, CONFIG)
    assert _sent(s) == [ev("network-changed", VM1, port_id), ev("network-changed", VM2, port_id)]
    ports.update(s, ADMIN, port_id, {"device_id": "", "device_owner": ""}, CONFIG)
    assert _sent(s) == [ev("network-changed", VM2, port_id)]
    ports.update(s, ADMIN, port_id, {"device_id": "some-dhcp-thing", "device_owner": "network:dhcp"}, CONFIG)
    assert _sent(s) == []


def test_delete_is_vif_deleted_for_server_ports_only(s: Session) -> None:
    net_id, _ = _net(s)
    port_id = _server_port(s, net_id)
    other = ports.create(s, ADMIN, "p1", {"network_id": net_id}, CONFIG)["id"]
    ports.delete(s, ADMIN, other)
    assert _sent(s) == []
    ports.delete(s, ADMIN, port_id)
    assert _sent(s) == [ev("network-vif-deleted", VM1, port_id)]


def _routed(s: Session) -> tuple[str, str]:
    """A private network behind a router with a gateway on an external one: (private, public)."""
    public = networks.create(s, ADMIN, "admin", {"name": "public", "router:external": True}, 1500)["id"]
    subnets.create(s, ADMIN, "admin", {"network_id": public, "ip_version": 4, "cidr": "172.24.4.0/24"}, CONFIG)
    net_id, sub_id = _net(s)
    router = routers.create(s, ADMIN, "p1", {"name": "r", "external_gateway_info": {"network_id": public}}, CONFIG)
    router_interfaces.add(s, ADMIN, router["id"], {"subnet_id": sub_id}, CONFIG)
    return net_id, public


def test_floating_ip_association_tells_the_servers_of_both_ports(s: Session) -> None:
    net_id, public = _routed(s)
    p1, p2 = _server_port(s, net_id, VM1), _server_port(s, net_id, VM2)
    _sent(s)
    fip = floating_ips.create(s, ADMIN, "p1", {"floating_network_id": public, "port_id": p1}, CONFIG)
    assert _sent(s) == [ev("network-changed", VM1, p1)]
    floating_ips.update(s, ADMIN, fip["id"], {"description": "d"})
    assert _sent(s) == []
    floating_ips.update(s, ADMIN, fip["id"], {"port_id": p2})  # moved without a disassociation
    assert _sent(s) == [ev("network-changed", VM1, p1), ev("network-changed", VM2, p2)]
    floating_ips.update(s, ADMIN, fip["id"], {"port_id": None})
    assert _sent(s) == [ev("network-changed", VM2, p2)]
    floating_ips.update(s, ADMIN, fip["id"], {"port_id": p1})
    _sent(s)
    floating_ips.delete_floating_ip(s, ADMIN, fip["id"])
    assert _sent(s) == [ev("network-changed", VM1, p1)]
    free = floating_ips.create(s, ADMIN, "p1", {"floating_network_id": public}, CONFIG)
    floating_ips.delete_floating_ip(s, ADMIN, free["id"])
    assert _sent(s) == []  # no server concerned (its own port is the network's)


# --- sending ------------------------------------------------------------------------------------------

def test_one_post_to_compute_external_events_as_the_service() -> None:
    compute = Compute()
    events = [ev("network-changed", VM1, "p1")]
    asyncio.run(nova_notifier.send(compute, events))
    assert compute.requests == [("POST", "/os-server-external-events", "compute", {"events": events})]
    asyncio.run(nova_notifier.send(compute, []))
    assert len(compute.requests) == 1  # nothing to tell: no request


def test_failures_are_logged_not_raised() -> None:
    events = [ev("network-vif-plugged", VM1, "p1")]
    asyncio.run(nova_notifier.send(Compute(fail=True), events))
    asyncio.run(nova_notifier.send(Compute(status=500), events))
    asyncio.run(nova_notifier.send(None, events))


def test_each_committed_write_is_one_request_a_rolled_back_one_none() -> None:
    db = Database(create_engine("sqlite://"))
    models.Base.metadata.create_all(db.engine)
    compute = Compute()
    notifier = nova_notifier.Notifier(db, lambda: compute)

    def write(s: Session, events: list[dict[str, str]], fail: bool) -> None:
        s.info.setdefault("nova_events", []).extend(events)
        if fail:
            raise RuntimeError("the write fails")

    async def run() -> None:
        await db.write(write, [ev("network-changed", VM1, "p1"), ev("network-vif-deleted", VM2, "p2")], False)
        with pytest.raises(RuntimeError):
            await db.write(write, [ev("network-changed", VM1, "p3")], True)
        await db.write(write, [], False)
        await asyncio.gather(*notifier._tasks)
        await notifier.stop()

    asyncio.run(run())
    db.dispose()
    assert [r[3] for r in compute.requests] == [
        {"events": [ev("network-changed", VM1, "p1"), ev("network-vif-deleted", VM2, "p2")]}]
