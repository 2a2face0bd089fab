"""Waiting for network-vif-plugged: who waits for which event, and what ends the wait."""

from __future__ import annotations

import asyncio

from onestack.compute.agent.network import PLUGGED, NoNetwork, VifEvents


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
