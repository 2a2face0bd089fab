"""An object agent whose process is stopped (no answer, no heartbeat), with three replicas: two
of the cloud's devices and the agent's device as primaries of the objects tested here.

As Swift with an unreachable node: the proxy reads from the other replicas and writes the
third copy to a handoff; after a connection error the node is error limited (skipped without
waiting out ``node_timeout``). When the agent runs again the handoff's replicator pushes the
copy home and empties the handoff partition.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import swiftclient.client
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.object_store import models
from tests.functional.agent_process import bus_cloud
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.object_agents_support import ENV as AGENT_ENV
from tests.functional.object_agents_support import (
    MAIN,
    NODE,
    ObjectAgentProcess,
    object_agent,
)
from tests.functional.object_support import ring_of
from tests.functional.object_support import swift as swift_of

NODE_TIMEOUT = 4.0
ENV = {**AGENT_ENV, "ONESTACK_OBJECT_STORE__REPLICAS": "3", "ONESTACK_OBJECT_STORE__PART_POWER": "4",
       "ONESTACK_OBJECT_STORE__NODE_TIMEOUT": str(NODE_TIMEOUT),
       # One timeout limits the node: the test needs the second request to skip it.
       "ONESTACK_OBJECT_STORE__ERROR_SUPPRESSION_LIMIT": "0",
       "ONESTACK_OBJECT_STORE__ERROR_SUPPRESSION_INTERVAL": "600"}


@pytest.fixture(scope="module")
def dcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with bus_cloud(Path(tmp_path_factory.mktemp("object-agent-down")), ENV) as running:
        yield running


@pytest.fixture(scope="module")
def agent(dcloud: RunningCloud) -> Iterator[ObjectAgentProcess]:
    with object_agent(dcloud) as proc:
        yield proc


def _files(root: Path, part: int, hsh: str) -> list[str]:
    d = root / "objects" / str(part) / hsh[-3:] / hsh
    return sorted(f for f in os.listdir(d) if f.endswith(".data")) if d.is_dir() else []


def _last_seen(cloud: RunningCloud, host: str) -> list[datetime | None]:
    """When the host's devices were last reported (as the proxy side recorded it)."""
    with cloud.engine() as engine, Session(engine) as session:
        return list(session.scalars(select(models.RingDevice.last_seen).where(models.RingDevice.host == host)))


def test_a_stopped_agent_is_stood_in_for_and_gets_its_copies_back(
        dcloud: RunningCloud, agent: ObjectAgentProcess) -> None:
    swift: swiftclient.client.Connection = swift_of(dcloud, "devstack-admin")[0]
    swift.put_container("down")
    ring = ring_of(dcloud)
    account = swift.url.rstrip("/").rsplit("/", 1)[1]

    def name_first_on_agent(prefix: str) -> tuple[str, int, str]:
        for _ in range(2000):
            name = f"{prefix}-{uuid.uuid4().hex[:10]}"
            part, nodes = ring.get_nodes(account, "down", name)
            if nodes[0].host == NODE and sum(n.host == NODE for n in nodes) == 1:
                return name, part, ring.hash(account, "down", name)
        raise AssertionError("no object placed first on the agent")

    def device_root(host: str, device: str) -> Path:
        base = agent.data_dir / "objects" / NODE if host == NODE else dcloud.data_dir / "objects" / MAIN
        return base / device

    before, before_part, before_hash = name_first_on_agent("before")
    old = os.urandom(50_000)
    swift.put_object("down", before, old)
    agent_dev = ring.get_part_nodes(before_part)[0]
    assert _files(device_root(NODE, agent_dev.device), before_part, before_hash)

    agent.pause()  # alive to the kernel (connections queue), never answers
    try:
        # The first read waits out node_timeout on the agent, then reads another replica.
        _, got = swift.get_object("down", before)
        assert got == old
        # Now it is error limited: the next read does not wait for it.
        started = time.monotonic()
        _, got = swift.get_object("down", before)
        assert got == old
        assert time.monotonic() - started < NODE_TIMEOUT / 2

        name, part, hsh = name_first_on_agent("during")
        body = os.urandom(200_000)
        assert swift.put_object("down", name, body) == hashlib.md5(body).hexdigest()
        primaries = ring.get_part_nodes(part)
        holders = [d for d in [*primaries, *ring.get_more_nodes(part)]
                   if d.host == MAIN and _files(device_root(d.host, d.device), part, hsh)]
        handoffs = [d for d in holders if d.id not in {p.id for p in primaries}]
        assert len(holders) == 3 and len(handoffs) == 1  # three copies: two primaries and a handoff
        _, got = swift.get_object("down", name)
        assert got == body
    finally:
        agent.resume()
        resumed = datetime.now(UTC).replace(tzinfo=None)

    agent_root = device_root(NODE, primaries[0].device)
    handoff_part = device_root(MAIN, handoffs[0].device) / "objects" / str(part)
    # The handoff's replicator pushes the copy home, then removes its partition (nothing else
    # was written to it: the only object of this partition on that device is ours).
    wait_until(lambda: bool(_files(agent_root, part, hsh)), timeout=60, what="the copy pushed to the agent")
    wait_until(lambda: not _files(device_root(MAIN, handoffs[0].device), part, hsh), timeout=60,
               what="the handoff's copy removed")
    assert not handoff_part.exists() or not any(handoff_part.iterdir())
    # The agent's reports after SIGCONT name the devices it had: they refresh its devices' last_seen
    # (older than the heartbeat refresh by now) and make no new ring, so no partition moved and
    # what the agent held before stays on its device (the device of *that* partition: the agent
    # has two, and the object written while it was stopped may well be on the other).
    wait_until(lambda: all(seen is not None and seen >= resumed for seen in _last_seen(dcloud, NODE)),
               timeout=60, what="a device report from the resumed agent")
    assert ring_of(dcloud).version == ring.version
    assert _files(device_root(NODE, agent_dev.device), before_part, before_hash)
    assert swift.get_object("down", before)[1] == old
    _, got = swift.get_object("down", name)
    assert got == body
