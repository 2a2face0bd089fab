"""Object storage as separate processes: the cloud (with the proxy) and an ``onestack agent object``
process for another host, no database in the agent, over a RabbitMQ vhost of this run's own.

The agent reports its devices on the bus and joins the ring with its HTTP address; objects whose
partition the ring gives its devices are stored by it (PUT/GET through the proxy, the files in the
agent's data dir, the listing updated over the bus). An agent killed with SIGKILL in the middle
of a large PUT never makes a partial object visible: GETs answer the previous version or an
error, never other bytes, and once the agent is back the object and its listing row are the
previous version's.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import swiftclient.client
import swiftclient.exceptions

from tests.functional.agent_process import bus_cloud
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.object_agents_support import (
    ENV,
    NODE,
    ObjectAgentProcess,
    agent_in_ring,
    object_agent,
)
from tests.functional.object_support import ring_of
from tests.functional.object_support import swift as swift_of


@pytest.fixture(scope="module")
def mcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with bus_cloud(Path(tmp_path_factory.mktemp("object-agents")), ENV) as running:
        yield running


@pytest.fixture(scope="module")
def agent(mcloud: RunningCloud) -> Iterator[ObjectAgentProcess]:
    with object_agent(mcloud) as proc:
        yield proc


@pytest.fixture(scope="module")
def swift(mcloud: RunningCloud) -> swiftclient.client.Connection:
    conn = swift_of(mcloud, "devstack-admin")[0]
    conn.put_container("remote")
    return conn


def name_on_agent(cloud: RunningCloud, swift: swiftclient.client.Connection, prefix: str) -> tuple[str, str, int, str]:
    """An object name the ring places on one of the agent's devices: (name, device, part, hash)."""
    ring = ring_of(cloud)
    account = swift.url.rstrip("/").rsplit("/", 1)[1]
    for _ in range(1000):
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        part, nodes = ring.get_nodes(account, "remote", name)
        if nodes[0].host == NODE:
            return name, nodes[0].device, part, ring.hash(account, "remote", name)
    raise AssertionError("the ring placed nothing on the agent")


def listing_row(swift: swiftclient.client.Connection, name: str) -> dict[str, Any] | None:
    _, rows = swift.get_container("remote", prefix=name)
    return next((r for r in rows if r["name"] == name), None)


def test_objects_placed_on_the_agent_are_stored_by_it(mcloud: RunningCloud, agent: ObjectAgentProcess,
                                                       swift: swiftclient.client.Connection) -> None:
    name, device, part, hsh = name_on_agent(mcloud, swift, "placed")
    body = os.urandom(300_000)
    etag = swift.put_object("remote", name, body, headers={"X-Object-Meta-Where": "node"})
    assert etag == hashlib.md5(body).hexdigest()
    assert [f for f in agent.files(device, part, hsh) if f.endswith(".data")]  # in the agent's data dir
    assert not (mcloud.data_dir / "objects" / NODE).exists()  # not in the cloud's
    headers, got = swift.get_object("remote", name)
    assert got == body and headers["x-object-meta-where"] == "node"
    row = wait_until(lambda: listing_row(swift, name), timeout=30, what="the listing row sent over the bus")
    assert row["bytes"] == len(body) and row["hash"] == etag
    swift.delete_object("remote", name)
    with pytest.raises(swiftclient.exceptions.ClientException) as err:
        swift.get_object("remote", name)
    assert err.value.http_status == 404
    wait_until(lambda: listing_row(swift, name) is None, timeout=30, what="the listing row gone")


def test_an_agent_killed_mid_put_never_serves_a_partial_object(mcloud: RunningCloud, agent: ObjectAgentProcess,
                                                                 swift: swiftclient.client.Connection) -> None:
    name, device, part, hsh = name_on_agent(mcloud, swift, "killed")
    v1 = os.urandom(100_000)
    v1_md5 = swift.put_object("remote", name, v1)
    wait_until(lambda: listing_row(swift, name), timeout=30, what="v1's listing row")

    streamed, killed = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}
    total = 64 * 1024 * 1024  # more than the agent can take before it is killed

    class Big:
        """A file-like body swiftclient streams with a Content-Length; pauses after 4 MiB until the kill."""

        def __init__(self) -> None:
            self.sent = 0
            self.block = os.urandom(64 * 1024)

        def read(self, size: int = -1) -> bytes:
            n = min(len(self.block), total - self.sent, size if size > 0 else len(self.block))
            self.sent += n
            if self.sent >= 4 * 1024 * 1024 and not streamed.is_set():
                streamed.set()
                killed.wait(60)  # the rest of the body only once the agent is dead: mid-body for sure
            return self.block[:n]

    def upload() -> None:
        try:
            outcome["etag"] = swift.put_object("remote", name, Big(), content_length=total)
        except Exception as exc:  # noqa: BLE001 — the expected end of this PUT
            outcome["error"] = exc

    thread = threading.Thread(target=upload)
    thread.start()
    assert streamed.wait(60), f"the large PUT never started streaming: {outcome}"
    agent.kill()
    killed.set()
    thread.join(120)
    assert not thread.is_alive()
    assert "error" in outcome, "a PUT whose only object server died mid-body must fail"

    # while the agent is down: no partial object, whatever the proxy answers
    for _ in range(5):
        try:
            _, got = swift.get_object("remote", name)
            assert hashlib.md5(got).hexdigest() == v1_md5
        except swiftclient.exceptions.ClientException as exc:
            assert exc.http_status in (404, 503)

    agent.start()
    wait_until(lambda: agent_in_ring(mcloud, agent.port), timeout=60, what="the agent back in the ring")

    served: list[str] = []

    def v1_served() -> bool:
        try:
            _, got = swift.get_object("remote", name)
        except swiftclient.exceptions.ClientException:
            return False
        served.append(hashlib.md5(got).hexdigest())
        return True

    wait_until(v1_served, timeout=60, what="v1 served again")
    assert served == [v1_md5], "the agent served other bytes than v1"
    datas = [f for f in agent.files(device, part, hsh) if f.endswith(".data")]
    assert len(datas) == 1  # v2 never landed
    row = listing_row(swift, name)
    assert row is not None and row["hash"] == v1_md5 and row["bytes"] == len(v1)
