"""Fixtures of the bus transport tests: a Kit per transport, one RabbitMQ vhost per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from onestack.core.bus import MemoryTransport
from tests.contract.bus_kit import Kit, amqp_transport
from tests.services import rabbit_vhost


@pytest.fixture(scope="session")
def rabbit_url() -> Iterator[str]:
    with rabbit_vhost() as url:
        yield url


@pytest.fixture(params=["memory", "amqp"])
def kit(request: pytest.FixtureRequest) -> Kit:
    if request.param == "memory":
        return Kit("memory", lambda **_: MemoryTransport(), one_process=True)
    url = request.getfixturevalue("rabbit_url")  # only AMQP cases need (or skip for) the broker
    return Kit("amqp", lambda url=url, **options: amqp_transport(url, **options))


@pytest.fixture
def amqp(rabbit_url: str) -> Kit:
    # ``url=`` reaches the broker another way (test_bus_amqp.py's proxy).
    return Kit("amqp", lambda url=rabbit_url, **options: amqp_transport(url, **options))
