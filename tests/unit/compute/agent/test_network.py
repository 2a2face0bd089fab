"""Waiting for network-vif-plugged: who waits for which event, and what ends the wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from onestack.compute.agent.network import (
    PLUGGED,
    NeutronNetwork,
    NoNetwork,
    VifEvents,
    VirtualInterfaceCreateFailed,
)


def test_an_event_completes_only_its_own_waiter() -> None:
    async def scenario() -> None:
        events = VifEvents()
        futures = events.expect("srv", PLUGGED, ["p1", "p2"])
        assert events.deliver("srv", PLUGGED, "p1", "completed")
        assert not events.deliver("srv", PLUGGED, "p1", "completed")  # already done
        assert not events.deliver("other", PLUGGED, "p2", "completed")  # another server's
        assert not events.deliver("srv", "network-changed", "p2", "completed")
        assert futures["p1"].result() == "completed" and not futures["p2"].done()
        events.forget("srv", PLUGGED, ["p1", "p2"])
        assert not events.deliver("srv", PLUGGED, "p2", "completed")  # nobody waits any more

    asyncio.run(scenario())


def test_no_network_gives_no_ports_and_waits_for_nothing() -> None:
    async def scenario() -> None:
        seam = NoNetwork()
        assert await seam.allocate({"uuid": "srv"}) == []
        async with seam.plugged({"uuid": "srv"}, []):
            pass
        assert not seam.deliver("srv", PLUGGED, "p1", "completed")

    asyncio.run(scenario())


class _Ports:
    """Stands in for the network service's answer to "the server's ports" (its status only)."""

    def __init__(self, status: str) -> None:
        self.status = status

    async def ports_of(self, uuid: str, *, user_token: str | None = None) -> list[dict[str, Any]]:
        return [{"id": "p1", "status": self.status, "network_id": "n1"}]

    async def networks_by_id(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return {"n1": {"id": "n1", "name": "private"}}

    async def floating_ips_of(self, port_ids: list[str]) -> list[dict[str, Any]]:
        return []


def _seam(status: str, timeout: float, fatal: bool) -> NeutronNetwork:
    async def write_cache(uuid: str, info: list[dict[str, Any]], extra: dict[str, Any]) -> None:
        return None

    return NeutronNetwork(_Ports(status), "compute-1", write_cache, timeout, fatal)  # type: ignore[arg-type]


VIF = [{"id": "p1", "active": False}]


def test_the_spawn_waits_for_the_plug_event() -> None:
    async def scenario() -> None:
        seam = _seam("DOWN", 5, True)
        async with seam.plugged({"uuid": "srv"}, VIF):
            # The network agent wires the port while the guest spawns; its event arrives.
            asyncio.get_running_loop().call_soon(seam.deliver, "srv", PLUGGED, "p1", "completed")
        assert not seam.deliver("srv", PLUGGED, "p1", "completed")  # nobody waits after the spawn

    asyncio.run(scenario())


def test_no_event_fails_the_build_when_fatal_and_not_otherwise() -> None:
    async def scenario() -> None:
        with pytest.raises(VirtualInterfaceCreateFailed):
            async with _seam("DOWN", 0.05, True).plugged({"uuid": "srv"}, VIF):
                pass
        async with _seam("DOWN", 0.05, False).plugged({"uuid": "srv"}, VIF):
            pass  # vif_plugging_is_fatal off: the server goes on

    asyncio.run(scenario())


def test_a_failed_event_fails_the_build() -> None:
    async def scenario() -> None:
        seam = _seam("DOWN", 5, True)
        with pytest.raises(VirtualInterfaceCreateFailed):
            async with seam.plugged({"uuid": "srv"}, VIF):
                seam.deliver("srv", PLUGGED, "p1", "failed")

    asyncio.run(scenario())


def test_a_port_wired_before_the_wait_began_is_not_waited_for() -> None:
    async def scenario() -> None:
        # ACTIVE when re-read after the waiter was registered: its event came before we listened.
        async with _seam("ACTIVE", 0.01, True).plugged({"uuid": "srv"}, VIF):
            pass

    asyncio.run(scenario())
