"""network-vif-plugged to compute (contracts.md item 3): which ports, what body, and best effort."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from onestack.network.service import nova_notifier
from onestack.network.service.port_status import Changed


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


def test_only_server_ports_are_told() -> None:
    changed = [Changed("p1", "vm-1", "compute:nova"), Changed("p2", "r-1", "network:router_interface"),
               Changed("p3", "", "compute:nova"), Changed("p4", "vm-2", "compute:az2")]
    assert nova_notifier.vif_plugged_events(changed) == [
        {"name": "network-vif-plugged", "server_uuid": "vm-1", "tag": "p1", "status": "completed"},
        {"name": "network-vif-plugged", "server_uuid": "vm-2", "tag": "p4", "status": "completed"}]


def test_one_post_to_compute_external_events_as_the_service() -> None:
    compute = Compute()
    events = nova_notifier.vif_plugged_events([Changed("p1", "vm-1", "compute:nova")])
    asyncio.run(nova_notifier.send(compute, events))
    assert compute.requests == [("POST", "/os-server-external-events", "compute", {"events": events})]
    asyncio.run(nova_notifier.send(compute, []))
    assert len(compute.requests) == 1  # nothing to tell: no request


def test_failures_are_logged_not_raised() -> None:
    events = nova_notifier.vif_plugged_events([Changed("p1", "vm-1", "compute:nova")])
    asyncio.run(nova_notifier.send(Compute(fail=True), events))
    asyncio.run(nova_notifier.send(Compute(status=500), events))
    asyncio.run(nova_notifier.send(None, events))
