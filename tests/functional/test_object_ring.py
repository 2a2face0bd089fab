"""``onestack ring`` (swift-ring-builder's list, show, set-weight, remove, add, rebalance,
pretend-min-part-hours-passed) against a running cloud with three replicas over four devices: what
it lists and shows, what it refuses (changing nothing), an operator's weight and removal that
survive the devices' re-report at a restart (and the weight cleared), a second rebalance within
min_part_hours that saves nothing, and a removed device's object still readable and moved to the
remaining devices by the replicators.

One cloud of this module's own (``--object-replicas 3``): host ``ringhost``, devices d1..d4, 16
partitions, half-second replicator passes and ring reloads.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import swiftclient.client

from onestack.object_store.ring.ring import Device, Ring
from tests.functional.cloud import REPO, RunningCloud, make_cloud, wait_until
from tests.functional.object_support import NO_ERROR_LIMIT, ring_of
from tests.functional.object_support import swift as swift_of

HOST = "ringhost"
DEVICES = ("d1", "d2", "d3", "d4")
PARTS = 16
ENV = {
    **NO_ERROR_LIMIT,
    "ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false",
    "ONESTACK_OBJECT_STORE__HOST": HOST,
    "ONESTACK_OBJECT_STORE__DEVICES": ",".join(DEVICES),
    "ONESTACK_OBJECT_STORE__PART_POWER": "4",
    "ONESTACK_OBJECT_STORE__REPLICATOR_INTERVAL": "0.5",
    "ONESTACK_OBJECT_STORE__RING_CHECK_INTERVAL": "0.5",
}
DEADLINE = 60.0


@pytest.fixture(scope="module")
def rcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = make_cloud(Path(tmp_path_factory.mktemp("object-ring")), ENV, ["--object-replicas", "3"])
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def swift(rcloud: RunningCloud) -> swiftclient.client.Connection:
    conn = swift_of(rcloud, "devstack-admin")[0]
    conn.put_container("ringed")
    return conn


def ring_cmd(cloud: RunningCloud, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "onestack", "ring", *args, "--data-dir", str(cloud.data_dir),
                           "--db-url", cloud.db_url], env=cloud.env, cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


def ok(cloud: RunningCloud, *args: str) -> str:
    done = ring_cmd(cloud, *args)
    assert done.returncode == 0, f"onestack ring {' '.join(args)}: {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def listed(cloud: RunningCloud) -> dict[str, dict[str, Any]]:
    return {d["device"]: d for d in json.loads(ok(cloud, "list", "-f", "json"))}


def hash_dir(cloud: RunningCloud, ring: Ring, device: Device, account: str, name: str) -> Path:
    part = ring.get_part(account, "ringed", name)
    h = ring.hash(account, "ringed", name)
    return cloud.data_dir / "objects" / HOST / device.device / "objects" / str(part) / h[-3:] / h


def has_data(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*.data"))


def test_list_and_show(rcloud: RunningCloud) -> None:
    devices = listed(rcloud)
    assert sorted(devices) == list(DEVICES)
    for d in devices.values():
        assert (d["host"], d["weight"], d["in_ring"], d["removed"]) == (HOST, 100.0, True, False)
        assert 0 < d["partitions"] <= PARTS  # never two replicas of a partition on one device
    assert sum(d["partitions"] for d in devices.values()) == 3 * PARTS
    shown = ok(rcloud, "show")
    assert f"{PARTS} partitions, 3 replicas" in shown and "ringhost" in shown
    assert "min_part_hours 1:" in shown and "moved" in shown and "held" in shown
    one = json.loads(ok(rcloud, "show", f"{HOST}/d2", "-f", "json"))
    assert one["replicas"] == 3 and [d["device"] for d in one["devices"]] == ["d2"]
    assert one["min_part_hours"] == 1 and one["seconds_until_movable"] >= 0
    ring = ring_of(rcloud)
    d2 = next(d.id for d in ring.devices if d.device == "d2")
    held = [p for p in range(PARTS) if d2 in {d.id for d in ring.get_part_nodes(p)}]
    assert len(held) == one["devices"][0]["partitions"]
    line = next(x for x in ok(rcloud, "show", "d2").splitlines() if x.startswith("partitions: "))
    listed_parts: set[int] = set()
    for run in line.removeprefix("partitions: ").split(", "):
        a, _, b = run.partition("-")
        listed_parts.update(range(int(a), int(b or a) + 1))
    assert listed_parts == set(held)


@pytest.mark.parametrize("args", [
    ("set-weight", "nosuch", "10"),
    ("set-weight", "d1", "-5"),
    ("set-weight", "d1", "heavy"),
    ("set-weight", "d1"),  # neither a weight nor --clear
    ("set-weight", "d1", "5", "--clear"),
    ("set-weight", "d1", "--clear"),  # it has no operator weight
    ("remove", "otherhost/d1"),
    ("add", "d1"),  # it is not removed
    ("show", "999"),
])
def test_bad_input_is_refused_and_changes_nothing(rcloud: RunningCloud, args: tuple[str, ...]) -> None:
    before, version = listed(rcloud), ring_of(rcloud).version
    done = ring_cmd(rcloud, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip()
    assert listed(rcloud) == before and ring_of(rcloud).version == version


def test_removing_a_device_below_the_replica_count_is_refused(rcloud: RunningCloud) -> None:
    ok(rcloud, "set-weight", "d1", "0")
    try:
        before = listed(rcloud)
        done = ring_cmd(rcloud, "remove", "d2")  # d3 and d4 alone cannot hold 3 replicas
        assert done.returncode == 2 and "at least 3 devices" in done.stderr
        assert listed(rcloud) == before
    finally:
        ok(rcloud, "set-weight", "d1", "100")


def test_removed_device_drains_and_operator_changes_survive_reports(
        rcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    account = swift.url.rstrip("/").rsplit("/", 1)[1]
    name = f"obj-{uuid.uuid4().hex}"
    body = os.urandom(300 * 1024)
    md5 = hashlib.md5(body).hexdigest()
    assert swift.put_object("ringed", name, body) == md5
    before = ring_of(rcloud)
    victim = before.get_nodes(account, "ringed", name)[1][0]
    victim_dir = hash_dir(rcloud, before, victim, account, name)
    wait_until(lambda: has_data(victim_dir), timeout=DEADLINE, what="the object on the device to remove")
    victim_parts = listed(rcloud)[victim.device]["partitions"]

    ok(rcloud, "remove", str(victim.id))
    assert listed(rcloud)[victim.device]["removed"]
    ok(rcloud, "set-weight", "d4" if victim.device != "d4" else "d3", "50")
    out = ok(rcloud, "rebalance")
    assert f"{victim_parts} of {3 * PARTS} partition replicas reassigned" in out  # its partitions, no more
    after = ring_of(rcloud)
    assert after.version == before.version + 1 and victim.id not in {d.id for d in after.devices}
    shown = json.loads(ok(rcloud, "show", "-f", "json"))
    assert shown["moved_partitions"] == shown["frozen_partitions"] == victim_parts
    assert 3000 < shown["seconds_until_movable"] <= 3600
    assert sum(d["moved_in"] for d in shown["devices"]) == victim_parts
    # Within min_part_hours (1 by default) nothing more may move, and nothing is saved (Swift's exit 1).
    again = ring_cmd(rcloud, "rebalance")
    assert again.returncode == 1, again.stdout + again.stderr
    assert "No partitions could be reassigned" in again.stdout and "min_part_hours: 1 hours" in again.stdout
    assert ring_of(rcloud).version == after.version
    ok(rcloud, "pretend-min-part-hours-passed")
    assert json.loads(ok(rcloud, "show", "-f", "json"))["frozen_partitions"] == 0
    again = ring_cmd(rcloud, "rebalance")  # three devices, three replicas: every one holds every partition
    assert again.returncode == 1 and "There is no need to do so at this time" in again.stdout
    primaries = after.get_nodes(account, "ringed", name)[1]
    assert victim.id not in {d.id for d in primaries}

    served: list[str] = []

    def moved() -> bool:
        _, got = swift.get_object("ringed", name)  # readable all along
        served.append(hashlib.md5(got).hexdigest())
        return all(has_data(hash_dir(rcloud, after, d, account, name)) for d in primaries) \
            and not has_data(victim_dir)

    wait_until(moved, timeout=DEADLINE, interval=0.2, what="the object on the remaining devices, drained from the removed one")
    assert set(served) == {md5}

    # The cloud's restart reports its devices again (weight 100 each, the removed one too).
    rcloud.stop()
    rcloud.start()
    devices = listed(rcloud)
    heavy = "d4" if victim.device != "d4" else "d3"
    assert devices[victim.device]["removed"] and not devices[victim.device]["in_ring"]
    assert (devices[heavy]["weight"], devices[heavy]["operator_weight"]) == (50.0, 50.0)
    assert ring_of(rcloud).version == after.version  # a re-report of known devices rebuilds nothing
    assert ring_of(rcloud).device(next(d.id for d in after.devices if d.device == heavy)).weight == 50.0

    swift = swift_of(rcloud, "devstack-admin")[0]
    assert hashlib.md5(swift.get_object("ringed", name)[1]).hexdigest() == md5
    ok(rcloud, "add", f"{HOST}/{victim.device}")
    ok(rcloud, "rebalance")
    back = listed(rcloud)[victim.device]
    assert back["in_ring"] and not back["removed"] and back["partitions"] > 0
    assert hashlib.md5(swift.get_object("ringed", name)[1]).hexdigest() == md5

    # Clearing the operator's weight: back to the reported 100 (which the restart re-reported).
    out = ok(rcloud, "set-weight", heavy, "--clear")
    assert "back to its reported weight 100" in out
    cleared = listed(rcloud)[heavy]
    assert (cleared["weight"], cleared["operator_weight"], cleared["reported_weight"]) == (100.0, None, 100.0)


def test_a_data_dir_without_a_cloud_is_refused_and_left_alone(rcloud: RunningCloud, tmp_path: Path) -> None:
    nowhere = tmp_path / "no-cloud-here"
    done = subprocess.run([sys.executable, "-m", "onestack", "ring", "list", "--data-dir", str(nowhere)],
                          env=rcloud.env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "no onestack database" in done.stderr
    assert not nowhere.exists()
