"""The proxy's answer from mixed object-server answers, as Swift's proxy gives it: three replicas
over four devices on one host, with replicas removed from some devices behind the cloud's back
(the replicator's interval is an hour here, so nothing restores them during a test).

- DELETE: [204, 404, 404] is 404 (a quorum never had the object), [204, 204, 404] is 204, and a
  primary that is down is stood in for by the handoff;
- GET/HEAD: a primary without the object is passed over for the next replica; a primary's
  tombstone newer than another replica's data makes the object gone (404);
- POST: found on fewer than a quorum of primaries, the handoffs are asked for the 404s; 202
  when they have it, 503 (never 404) when the object exists somewhere but not on a quorum.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import swiftclient.client
import swiftclient.exceptions

from onestack.object_store.ring.ring import Device
from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import module_cloud
from tests.functional.object_support import NO_ERROR_LIMIT, raw, ring_of
from tests.functional.object_support import swift as swift_of

HOST = "quo"
ENV = {
    **NO_ERROR_LIMIT,
    "ONESTACK_OBJECT_STORE__HOST": HOST,
    "ONESTACK_OBJECT_STORE__REPLICAS": "3",
    "ONESTACK_OBJECT_STORE__DEVICES": "q1,q2,q3,q4",
    "ONESTACK_OBJECT_STORE__PART_POWER": "6",
    "ONESTACK_OBJECT_STORE__REPLICATOR_INTERVAL": "3600",
    "ONESTACK_OBJECT_STORE__AUDITOR_INTERVAL": "3600",
}
CONTAINER = "quorum"

qcloud = module_cloud("object-quorum", ENV)


@pytest.fixture(scope="module")
def swift(qcloud: RunningCloud) -> swiftclient.client.Connection:
    conn = swift_of(qcloud, "devstack-admin")[0]
    conn.put_container(CONTAINER)
    return conn


class Placed:
    """An object's primaries and handoff on this host, and its files on each."""

    def __init__(self, cloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
        self.name = f"o-{uuid.uuid4().hex}"
        ring = ring_of(cloud)
        account = swift.url.rstrip("/").rsplit("/", 1)[1]
        self.part, self.primaries = ring.get_nodes(account, CONTAINER, self.name)
        self.handoff: Device = next(ring.get_more_nodes(self.part))
        self.hash = ring.hash(account, CONTAINER, self.name)
        self.root = cloud.data_dir / "objects" / HOST

    def hash_dir(self, device: Device) -> Path:
        return self.root / device.device / "objects" / str(self.part) / self.hash[-3:] / self.hash

    def files(self, device: Device, ext: str) -> list[Path]:
        d = self.hash_dir(device)
        return sorted(d.glob(f"*{ext}")) if d.is_dir() else []

    def lose(self, *devices: Device) -> None:
        """The replica disappears from these devices (a lost disk's content)."""
        for device in devices:
            for path in self.files(device, ""):
                path.unlink()

    @contextlib.contextmanager
    def unmounted(self, *devices: Device) -> Iterator[None]:
        """The devices answer 507 while inside (their directory is away)."""
        moved = [(self.root / d.device, self.root / f"{d.device}.away") for d in devices]
        for home, away in moved:
            home.rename(away)
        try:
            yield
        finally:
            for home, away in moved:
                away.rename(home)


def status_of(swift: swiftclient.client.Connection, method: str, name: str, **headers: str) -> int:
    return raw(swift, method, f"{CONTAINER}/{name}", headers)[0]


def test_a_delete_a_quorum_never_had_is_404(qcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    placed = Placed(qcloud, swift)
    swift.put_object(CONTAINER, placed.name, b"one copy left")
    placed.lose(placed.primaries[1], placed.primaries[2])
    assert status_of(swift, "DELETE", placed.name) == 404  # [204, 404, 404]
    for device in placed.primaries:  # the tombstone is everywhere all the same
        assert placed.files(device, ".data") == [] and len(placed.files(device, ".ts")) == 1
    assert status_of(swift, "HEAD", placed.name) == 404


def test_a_delete_a_quorum_had_is_204(qcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    placed = Placed(qcloud, swift)
    swift.put_object(CONTAINER, placed.name, b"two copies left")
    placed.lose(placed.primaries[2])
    assert status_of(swift, "DELETE", placed.name) == 204  # [204, 204, 404]
    assert status_of(swift, "GET", placed.name) == 404


def test_a_delete_with_a_primary_down_goes_to_the_handoff(qcloud: RunningCloud,
                                                          swift: swiftclient.client.Connection) -> None:
    placed = Placed(qcloud, swift)
    swift.put_object(CONTAINER, placed.name, b"x")
    with placed.unmounted(placed.primaries[0]):
        assert status_of(swift, "DELETE", placed.name) == 204  # [404 (the handoff), 204, 204]
    assert len(placed.files(placed.handoff, ".ts")) == 1


def test_a_read_passes_over_a_primary_without_the_object(qcloud: RunningCloud,
                                                         swift: swiftclient.client.Connection) -> None:
    placed = Placed(qcloud, swift)
    swift.put_object(CONTAINER, placed.name, b"still here")
    placed.lose(placed.primaries[0], placed.primaries[1])
    assert swift.get_object(CONTAINER, placed.name)[1] == b"still here"
    assert status_of(swift, "HEAD", placed.name) == 200


def test_a_newer_tombstone_hides_an_older_replica(qcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    placed = Placed(qcloud, swift)
    swift.put_object(CONTAINER, placed.name, b"deleted later")
    first, second, third = placed.primaries
    with placed.unmounted(second, third):
        # [204, 404 (the handoff), 507]: no quorum as is; the handoff's 404 stands in for a 204
        assert status_of(swift, "DELETE", placed.name) == 204
    assert len(placed.files(first, ".ts")) == 1 and len(placed.files(second, ".data")) == 1
    # The first primary answers 404 with its tombstone's time; the second's older data is not served.
    assert status_of(swift, "GET", placed.name) == 404
    assert status_of(swift, "HEAD", placed.name) == 404


def test_a_post_found_on_a_handoff_is_accepted(qcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    placed = Placed(qcloud, swift)
    first, second, third = placed.primaries
    with placed.unmounted(second):
        swift.put_object(CONTAINER, placed.name, b"on a handoff")
    assert len(placed.files(placed.handoff, ".data")) == 1
    placed.lose(third)
    # [202, 404, 404] from the primaries; the handoff asked for the 404s has it: 202
    assert status_of(swift, "POST", placed.name, **{"X-Object-Meta-Color": "red"}) == 202
    assert len(placed.files(first, ".meta")) == 1 and len(placed.files(placed.handoff, ".meta")) == 1


def test_a_post_found_below_quorum_is_503(qcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    placed = Placed(qcloud, swift)
    swift.put_object(CONTAINER, placed.name, b"one copy")
    placed.lose(placed.primaries[1], placed.primaries[2])
    # [202, 404, 404, 404 (the handoff)]: the object exists, so 404 cannot be right
    assert status_of(swift, "POST", placed.name, **{"X-Object-Meta-Color": "red"}) == 503
    gone = Placed(qcloud, swift)
    assert status_of(swift, "POST", gone.name, **{"X-Object-Meta-Color": "red"}) == 404
