"""Bus details outside the transport contract (that is tests/contract/test_bus_transports.py)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from onestack.core.amqp import AmqpTransport, BrokerAddress, BrokerUnreachable
from onestack.core.bus import Bus, BusTimeout, MemoryTransport, Message, transport_from_url


def test_memory_consumers_take_strict_turns() -> None:
    async def scenario() -> list[str]:
        bus = Bus(MemoryTransport(), default_timeout=5)
        for name in ("one", "two"):
            async def who(message: Message, name: str = name) -> str:
                return name

            await bus.serve("conductor", who)
        try:
            return [await bus.call("conductor", Message("who", {})) for _ in range(4)]
        finally:
            await bus.close()

    assert asyncio.run(scenario()) == ["one", "two", "one", "two"]


def test_the_bus_default_timeout_applies() -> None:
    async def scenario() -> None:
        bus = Bus(MemoryTransport(), default_timeout=0.05)

        async def stuck(message: Message) -> None:
            await asyncio.Event().wait()

        await bus.serve("agent", stuck)
        try:
            await bus.call("agent", Message("stuck", {}))
        finally:
            await bus.close()

    with pytest.raises(BusTimeout, match=r"agent\.stuck timed out after 0\.05s"):
        asyncio.run(scenario())


def test_transport_from_url() -> None:
    assert isinstance(transport_from_url("memory://"), MemoryTransport)
    amqp = transport_from_url("rabbit://nova:s%40cret@mq.example:5673/cloud")
    assert isinstance(amqp, AmqpTransport)
    assert amqp.address == BrokerAddress("mq.example", 5673, "nova", "s@cret", "cloud", ssl=False)
    assert amqp.prefetch == 64
    assert transport_from_url("amqp://h/", prefetch=5).prefetch == 5  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown transport URL"):
        transport_from_url("kafka://x")


@pytest.mark.parametrize(("url", "expected"), [
    ("amqp://127.0.0.1", BrokerAddress("127.0.0.1", 5672, "guest", "guest", "/", ssl=False)),
    ("rabbit://u:p@h/", BrokerAddress("h", 5672, "u", "p", "/", ssl=False)),
    ("amqps://u:p@h/%2Fprod", BrokerAddress("h", 5671, "u", "p", "/prod", ssl=True)),
])
def test_broker_address(url: str, expected: BrokerAddress) -> None:
    assert BrokerAddress.parse(url) == expected


def test_one_broker_per_url() -> None:
    with pytest.raises(ValueError, match="one broker per URL"):
        BrokerAddress.parse("rabbit://u:p@h1:5672,u:p@h2:5672/")


def test_an_unreachable_broker_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def scenario() -> Any:
        transport = AmqpTransport(f"rabbit://nova:secret@127.0.0.1:{port}/cloud")
        try:
            await transport.cast("compute", Message("build", {}))
        finally:
            await transport.close()

    with pytest.raises(BrokerUnreachable) as info:
        asyncio.run(scenario())
    assert str(info.value).startswith(f"cannot reach the message broker at rabbit://nova@127.0.0.1:{port}/cloud: ")
    assert "secret" not in str(info.value)
