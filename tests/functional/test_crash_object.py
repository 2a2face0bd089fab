"""``kill -9`` of the whole cloud at random points of an object-storage storm, repeated.

Three replicas on the cloud's own devices. Client threads PUT, POST, DELETE and COPY objects
and PUT SLO manifests (over segments they wrote), each thread on names of its own, so what every
name may hold is known: its last acknowledged state, or the state of the one request in flight
when the cloud died. After each restart, within a deadline: every name GETs as one of those
(the acknowledged bytes, by md5, and metadata, or 404) — no half-written object, no lost
acknowledged write; each container's listing has exactly the objects a HEAD finds (same size and
ETag), its stats are the listing's sums and the account's the containers'; no tmp file,
async pending or half-written ``hashes.json`` left on any device. No request may be answered
5xx. Kill points come from a seeded RNG (``ONESTACK_CRASH_SEED``; ``ONESTACK_CRASH_ROUNDS``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import swiftclient.client
import swiftclient.exceptions

from onestack.object_store.obj.updater import GRACE_SECONDS
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import module_cloud
from tests.functional.crash_support import kill_after
from tests.functional.object_support import swift as swift_of

SEED = int(os.environ.get("ONESTACK_CRASH_SEED", "20261207"))
ROUNDS = int(os.environ.get("ONESTACK_CRASH_ROUNDS", "3"))
THREADS = 3
NAMES = 5  # per thread and round
HOST = "crash-obj"
ENV = {
    "ONESTACK_OBJECT_STORE__HOST": HOST,
    "ONESTACK_OBJECT_STORE__REPLICAS": "3",
    "ONESTACK_OBJECT_STORE__PART_POWER": "4",
    "ONESTACK_OBJECT_STORE__UPDATER_INTERVAL": "0.5",
    "ONESTACK_OBJECT_STORE__REPLICATOR_INTERVAL": "1",
}
# A kill between an object server's async pending and the rename of its file leaves a pending whose
# file is absent; the updater keeps such a one for GRACE_SECONDS (the write may still be in flight)
# before it drops it, so the devices settle only after that.
CONVERGE = GRACE_SECONDS + 15.0
DATA, SEGS = "data", "segs"
ABSENT: tuple[str | None, str | None] = (None, None)

crash_cloud = module_cloud("crash-object", ENV)

State = tuple["str | None", "str | None"]  # (md5 of the body, X-Object-Meta-V); (None, None): absent


@dataclass
class Name:
    container: str
    name: str
    acked: State = ABSENT
    pending: State | None = None  # the request in flight at the kill

    def allowed(self) -> set[State]:
        return {self.acked} | ({self.pending} if self.pending is not None else set())


@dataclass
class Storm:
    names: list[Name] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0

    def track(self, container: str, name: str) -> Name:
        entry = Name(container, name)
        with self.lock:
            self.names.append(entry)
        return entry

    def do(self, entry: Name, after: State, call: Any) -> None:
        """Run ``call``; once answered, ``after`` is what ``entry`` holds. A 5xx is recorded; any
        failure leaves the request pending (the kill) and ends the thread."""
        entry.pending = after
        try:
            call()
        except swiftclient.exceptions.ClientException as exc:
            if exc.http_status is not None and exc.http_status >= 500:
                with self.lock:
                    self.errors.append(f"{entry.container}/{entry.name}: {exc.http_status} {exc.http_reason}")
            raise
        entry.acked, entry.pending = after, None
        with self.lock:
            self.done += 1


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _worker(storm: Storm, conn: swiftclient.client.Connection, prefix: str, seed: int) -> None:
    rng = random.Random(seed)
    mine = [storm.track(DATA, f"{prefix}-{i}") for i in range(NAMES)]
    segment_no = 0
    while True:
        entry = rng.choice(mine)
        op = rng.randrange(10)
        meta = str(rng.randrange(1 << 30))
        if op <= 3 or entry.acked == ABSENT and op <= 6:
            body = os.urandom(rng.randrange(1, 300_000))
            storm.do(entry, (_md5(body), meta), partial(
                conn.put_object, DATA, entry.name, body, headers={"X-Object-Meta-V": meta}))
        elif op == 4 and entry.acked != ABSENT:
            storm.do(entry, (entry.acked[0], meta), partial(
                conn.post_object, DATA, entry.name, headers={"X-Object-Meta-V": meta}))
        elif op == 5:
            storm.do(entry, ABSENT, partial(_delete, conn, entry.name))
        elif op in (6, 7):
            source = rng.choice([m for m in mine if m.acked != ABSENT] or [entry])
            if source is entry or source.acked == ABSENT:
                continue
            storm.do(entry, source.acked, partial(
                conn.copy_object, DATA, source.name, destination=f"/{DATA}/{entry.name}"))
        else:
            parts = []
            for _ in range(rng.randint(1, 3)):
                segment_no += 1
                seg = storm.track(SEGS, f"{prefix}-seg-{segment_no}")
                data = os.urandom(rng.randrange(1, 100_000))
                storm.do(seg, (_md5(data), None), partial(conn.put_object, SEGS, seg.name, data))
                parts.append((seg, data))
            manifest = json.dumps([{"path": f"/{SEGS}/{s.name}", "etag": s.acked[0], "size_bytes": len(d)}
                                   for s, d in parts])
            whole = b"".join(d for _, d in parts)
            storm.do(entry, (_md5(whole), meta), partial(
                conn.put_object, DATA, entry.name, manifest, headers={"X-Object-Meta-V": meta},
                query_string="multipart-manifest=put"))


def _delete(conn: swiftclient.client.Connection, name: str) -> None:
    try:
        conn.delete_object(DATA, name)
    except swiftclient.exceptions.ClientException as exc:
        if exc.http_status != 404:  # already gone: what a DELETE wants
            raise


def _settled(conn: swiftclient.client.Connection, storm: Storm, cloud: RunningCloud) -> bool:
    return not _listing_problems(conn, storm) and not _device_litter(cloud)


def _seen(conn: swiftclient.client.Connection, entry: Name) -> State:
    try:
        headers, body = conn.get_object(entry.container, entry.name, headers={"X-Newest": "true"})
    except swiftclient.exceptions.ClientException as exc:
        assert exc.http_status == 404, f"{entry.container}/{entry.name}: {exc}"
        return ABSENT
    return (_md5(body), headers.get("x-object-meta-v"))


def _device_litter(cloud: RunningCloud) -> list[str]:
    """tmp files, async pendings and half-written hashes.json files on the cloud's devices."""
    found: list[str] = []
    for device in (cloud.data_dir / "objects" / HOST).iterdir():
        found += [str(p) for p in (device / "tmp").glob("*")]
        found += [str(p) for p in (device / "async_pending").glob("*/*")]
        found += [str(p) for p in (device / "objects").glob("*/hashes.json.*")]
    return found


def _listing_problems(conn: swiftclient.client.Connection, storm: Storm) -> list[str]:
    problems: list[str] = []
    totals = [0, 0]
    for container in (DATA, SEGS):
        head, rows = conn.get_container(container, full_listing=True)
        # An SLO manifest's row has the manifest's md5 as hash and the ETag a HEAD shows as slo_etag.
        listed = {r["name"]: (r["bytes"], r.get("slo_etag", r["hash"]).strip('"')) for r in rows}
        count, used = int(head["x-container-object-count"]), int(head["x-container-bytes-used"])
        if (count, used) != (len(rows), sum(r["bytes"] for r in rows)):
            problems.append(f"{container} stats {(count, used)} vs its listing {len(rows)}")
        totals[0] += count
        totals[1] += used
        known = {e.name for e in storm.names if e.container == container}
        problems += [f"{container}/{n} listed but never written" for n in set(listed) - known]
        for name in sorted(known):
            try:
                h = conn.head_object(container, name, headers={"X-Newest": "true"})
                there: tuple[int, str] | None = (int(h["content-length"]), h["etag"].strip('"'))
            except swiftclient.exceptions.ClientException as exc:
                assert exc.http_status == 404, exc
                there = None
            if listed.get(name) != there:
                problems.append(f"{container}/{name}: listed {listed.get(name)}, object {there}")
    account = conn.head_account()
    if (int(account["x-account-object-count"]), int(account["x-account-bytes-used"])) != tuple(totals):
        problems.append(f"account stats {account['x-account-object-count']} {account['x-account-bytes-used']}"
                        f" vs containers {totals}")
    return problems


def test_kill_during_object_storms(crash_cloud: RunningCloud) -> None:
    rng = random.Random(SEED)
    storm = Storm()
    conn = swift_of(crash_cloud, "devstack")[0]
    conn.put_container(DATA)
    conn.put_container(SEGS)
    for round_no in range(ROUNDS):
        conns = [swift_of(crash_cloud, "devstack")[0] for _ in range(THREADS)]
        threads = [threading.Thread(target=partial(_guard, _worker, storm, c, f"r{round_no}t{t}", rng.randrange(1 << 30)),
                                    daemon=True) for t, c in enumerate(conns)]
        for thread in threads:
            thread.start()
        delay = rng.uniform(0.5, 4.0)
        kill_after(crash_cloud, delay, threads)
        assert not any(t.is_alive() for t in threads)
        in_flight = sum(e.pending is not None for e in storm.names)
        restarted = time.monotonic()
        crash_cloud.start()
        started = time.monotonic() - restarted
        conn = swift_of(crash_cloud, "devstack")[0]
        try:
            for entry in storm.names:
                assert _seen(conn, entry) in entry.allowed(), (
                    f"seed {SEED} round {round_no}: {entry.container}/{entry.name} is {_seen(conn, entry)}, "
                    f"allowed {entry.allowed()}")
            wait_until(partial(_settled, conn, storm, crash_cloud),
                       timeout=CONVERGE, interval=1.0, what="listings, stats and devices settled")
        except (AssertionError, TimeoutError):
            print(f"seed {SEED} round {round_no} (kill after {delay:.2f}s)",
                  _listing_problems(conn, storm), _device_litter(crash_cloud))
            raise
        assert not storm.errors, storm.errors
        print(f"round {round_no}: killed after {delay:.2f}s, {storm.done} requests answered so far, "
              f"{in_flight} in flight; restarted in {started:.1f}s, settled {time.monotonic() - restarted:.1f}s after the kill")
        # What a request in flight did is settled now: the next rounds know it as acknowledged.
        for entry in storm.names:
            entry.acked, entry.pending = _seen(conn, entry), None
    assert sum(e.acked != ABSENT for e in storm.names) > ROUNDS * THREADS  # the storms did write


def _guard(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - the cloud died under the thread
        return

