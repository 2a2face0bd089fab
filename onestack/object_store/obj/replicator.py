"""The object replicator of one host (Swift's object-replicator, pushing with object-server
requests instead of rsync).

Per local device, per partition directory found on it:

- on a **primary** of the partition: ask the other primaries for their suffix hashes
  (``REPLICATE``), and for each suffix that differs push every object of that suffix the other
  side lacks or has older — ``PUT`` of the newest ``.data`` (its bytes read back through the
  verified read, so a corrupt copy is never spread), ``POST`` of a newer ``.meta``, ``DELETE``
  of a tombstone — all with ``X-Backend-Replication: true`` and the original timestamps, so the
  copies become identical and no container update is sent; a primary whose device answers 507
  is stood in for by the next handoff (Swift's replicator), so the replica count is kept;
- on a **handoff** (a device the ring no longer or never made primary: a write that found a
  primary down, or a rebalance): push everything to the primaries, and remove the partition
  locally once every primary has every object (or a newer one);
- on a local device that is **no longer in the ring** (the operator removed it: ``onestack ring
  remove``): every partition is a handoff's, so the device drains to the primaries. Swift's
  replicator leaves such a device alone (its data is only found again from the other replicas);
  draining it also saves the objects whose other replicas were lost.

Level-triggered: a pass computes what differs now; whatever a failure (a node down, a crash)
left undone is found and redone by the next pass. Each side only pushes, so two primaries with
different newer objects converge when both have run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from onestack.object_store.daemon import Periodic
from onestack.object_store.obj.client import ObjectServerClient, Unmounted
from onestack.object_store.obj.diskfile import FileBackend, classify, parse_name, read_trailer
from onestack.object_store.ring.ring import Device, Ring
from onestack.object_store.state import RingHolder
from onestack.object_store.timestamp import Timestamp

log = logging.getLogger("onestack.object_store.replicator")

REPLICATION = {"x-backend-replication": "true"}
# Headers of a GET that describe the response, not the stored object: not sent with the push.
_NOT_STORED = frozenset({
    "content-length", "last-modified", "accept-ranges", "date", "connection", "transfer-encoding",
    "content-range", "x-timestamp", "x-trans-id", "x-openstack-request-id"})
# What a POST replaces (the object server's POST contract).
_POSTED = ("content-type", "x-delete-at")

# Reads an object's name ("/account/container/object") from one of its files (.data or .ts): the
# diskfile's metadata. None when the file has none (it is then left to the auditor).
NameReader = Callable[[Path], "str | None"]


@dataclass
class PassStats:
    partitions: int = 0
    suffixes_synced: int = 0
    objects_pushed: int = 0
    tombstones_pushed: int = 0
    metas_pushed: int = 0
    handoffs_removed: int = 0
    failures: int = 0

    def add(self, other: PassStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class LocalObject:
    """The newest state of one object in a hash directory, from its file names."""

    hash_dir: Path
    newest: Path  # the .data or .ts that wins
    timestamp: Timestamp
    deleted: bool
    meta: Path | None  # a .meta newer than the .data
    meta_timestamp: Timestamp | None


def scan_hash_dir(hash_dir: Path) -> LocalObject | None:
    """The winning files of an object directory, by the diskfile's rules (newest ``.data`` or
    ``.ts`` wins, a ``.ts`` wins a tie, a ``.meta`` counts when newer than the ``.data``)."""
    try:
        files = classify(os.listdir(hash_dir))
    except OSError:
        return None
    winner = files.tombstone or files.data
    parsed = parse_name(winner) if winner else None
    if winner is None or parsed is None:
        return None
    meta = parse_name(files.meta) if files.meta else None
    if files.meta is None or meta is None:
        return LocalObject(hash_dir, hash_dir / winner, parsed[0], files.tombstone is not None, None, None)
    return LocalObject(hash_dir, hash_dir / winner, parsed[0], False, hash_dir / files.meta, meta[0])


def read_name(path: Path) -> str | None:
    """``/account/container/object`` from a .data's or .ts's metadata; None when the file is gone
    or damaged (the auditor, or a read, quarantines it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        name = read_trailer(fd).metadata.get("name")
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return name if isinstance(name, str) and name.startswith("/") else None


def _timestamp(value: str | None) -> Timestamp | None:
    if not value:
        return None
    try:
        return Timestamp.parse(value)
    except ValueError:
        return None


class Replicator(Periodic):
    def __init__(self, host: str, devices_root: Path, rings: RingHolder, client: ObjectServerClient,
                 interval: float = 30.0, name_of: NameReader = read_name) -> None:
        self.host = host
        self.root = devices_root
        self.rings = rings
        self.client = client
        self.name_of = name_of
        self.interval = interval
        self.task_name = f"object-replicator-{host}"
        self.passes = 0
        self.last = PassStats()

    # --- one pass -----------------------------------------------------------------------------

    async def run_once(self) -> PassStats:
        total = PassStats()
        ring = self.rings.ring  # one ring for the whole pass
        for device in ring.devices_of(self.host) + await asyncio.to_thread(self._removed_devices, ring):
            backend = FileBackend(self.root / device.device, fsync=False)
            if not (backend.root / "objects").is_dir():
                continue  # unmounted or not made yet: nothing of it to push
            # Writes a crash abandoned (their tmp files) go after an hour, as Swift's replicator does.
            await asyncio.to_thread(backend.cleanup_tmp)
            for part in await asyncio.to_thread(backend.partitions):
                if part >= ring.partition_count:
                    continue
                primaries = ring.get_part_nodes(part)
                handoff = device.id not in {d.id for d in primaries}
                targets = primaries if handoff else [d for d in primaries if d.id != device.id]
                # A primary's stand-ins for an unmounted primary: the handoffs in the ring's order
                # (the order the proxy writes to them), computed only when one is needed.
                spares = iter(()) if handoff else ring.get_more_nodes(part)
                try:
                    total.add(await self.sync_partition(device, part, targets, handoff, spares))
                except asyncio.CancelledError:
                    raise
                except Exception:  # one partition's trouble must not stop the pass
                    log.exception("replicating partition %d of %s failed", part, device.device)
                    total.failures += 1
        self.passes += 1
        self.last = total
        return total

    def _removed_devices(self, ring: Ring) -> list[Device]:
        """This host's device directories the ring no longer has, as devices of no ring id (-1):
        only their own host's client reaches them, in-process."""
        in_ring = {d.device for d in ring.devices_of(self.host)}
        try:
            names = sorted(os.listdir(self.root))
        except OSError:
            return []
        return [Device(id=-1, host=self.host, device=n) for n in names
                if n not in in_ring and (self.root / n / "objects").is_dir()]

    async def sync_partition(self, device: Device, part: int, targets: list[Device], handoff: bool,
                             spares: Iterator[Device]) -> PassStats:
        stats = PassStats(partitions=1)
        part_dir = self.root / device.device / "objects" / str(part)
        suffixes = _suffixes(part_dir)
        # Recomputed from the files: files removed behind the server's back (or quarantined) count.
        local = await self.client.replicate(device, part, suffixes)
        everywhere = True
        # A primary pushes to the other primaries; one whose device is unmounted (507) is stood in
        # for by the next handoff, so the partition keeps its replica count (Swift's update()). A
        # handoff pushes to the primaries only: its copy stays until every one has it.
        pending = list(targets)
        while pending:
            target = pending.pop(0)
            try:
                remote = await self.client.replicate(target, part, [])
                differ = [s for s, h in local.items() if remote.get(s) != h]
                if differ:  # the remote's cached hashes may be stale: recompute those and compare again
                    remote = await self.client.replicate(target, part, differ)
                    differ = [s for s in differ if remote.get(s) != local.get(s)]
            except Unmounted:
                log.info("replication: %s/%s unmounted for partition %d", target.host, target.device, part)
                stats.failures += 1
                everywhere = False
                spare = next(spares, None)
                if spare is not None:
                    pending.append(spare)
                continue
            except ConnectionError:
                log.info("replication: %s/%s unreachable for partition %d", target.host, target.device, part)
                stats.failures += 1
                everywhere = False
                continue
            for suffix in differ:
                ok = await self._sync_suffix(device, part, suffix, target, stats)
                stats.suffixes_synced += 1
                everywhere = everywhere and ok
        # A handoff's copy goes once the primaries have it all, and only when nothing was
        # written to it since the pass read it.
        if handoff and everywhere:
            # The files as they are now; then the hashes again: equal to the pass's start means
            # these are exactly the files the primaries were compared with.
            snapshot = await asyncio.to_thread(_snapshot, part_dir)
            if (await self.client.replicate(device, part, suffixes) == local
                    and await asyncio.to_thread(_remove_partition, part_dir, snapshot)):
                stats.handoffs_removed += 1
        return stats

    async def _sync_suffix(self, device: Device, part: int, suffix: str, target: Device, stats: PassStats) -> bool:
        """Push the suffix's objects ``target`` lacks; True when it has them all afterwards."""
        suffix_dir = self.root / device.device / "objects" / str(part) / suffix
        ok = True
        for name in sorted(_listdir(suffix_dir)):
            obj = scan_hash_dir(suffix_dir / name)
            if obj is None:
                continue
            try:
                ok = await self._sync_object(device, part, obj, target, stats) and ok
            except ConnectionError:
                stats.failures += 1
                return False
        return ok

    async def _sync_object(self, device: Device, part: int, obj: LocalObject, target: Device, stats: PassStats) -> bool:
        path = await asyncio.to_thread(self.name_of, obj.newest)
        if path is None:
            log.warning("replication: %s has no name; left to the auditor", obj.newest)
            return False
        head = await self.client.request(target, part, "HEAD", path, dict(REPLICATION))
        await head.close()
        if head.status == 507:
            raise ConnectionError(f"{target.device} unmounted")
        # The remote's data (or tombstone) timestamp, and its newest one (a .meta's when it has one).
        remote_data = (_timestamp(head.headers.get("x-backend-data-timestamp"))
                       or _timestamp(head.headers.get("x-backend-timestamp")))
        remote_newest = _timestamp(head.headers.get("x-backend-meta-timestamp")) or remote_data
        if remote_data is not None and obj.timestamp < remote_data:
            return True  # the remote has a newer state: its own replicator pushes it
        if obj.deleted:
            if remote_data is not None and remote_data == obj.timestamp and head.status == 404:
                return True
            resp = await self.client.request(target, part, "DELETE", path,
                                             {**REPLICATION, "x-timestamp": obj.timestamp.internal})
            await resp.close()
            if resp.status in (204, 404, 409):
                stats.tombstones_pushed += 1
                return True
            stats.failures += 1
            return False
        if remote_data is None or remote_data < obj.timestamp or head.status != 200:
            if not await self._push_data(device, part, path, obj, target):
                stats.failures += 1
                return False
            stats.objects_pushed += 1
            remote_newest = obj.timestamp
        if obj.meta_timestamp is not None and (remote_newest is None or remote_newest < obj.meta_timestamp):
            if not await self._push_meta(device, part, path, obj, target):
                stats.failures += 1
                return False
            stats.metas_pushed += 1
        return True

    async def _push_data(self, device: Device, part: int, path: str, obj: LocalObject, target: Device) -> bool:
        local = await self.client.request(device, part, "GET", path, dict(REPLICATION))
        if local.status != 200:
            # Gone, expired or quarantined while we looked: the next pass sees the new state.
            await local.close()
            return False
        headers = {k: v for k, v in local.headers.items() if k not in _NOT_STORED and not k.startswith("x-backend-")}
        headers.update(REPLICATION)
        headers["x-timestamp"] = obj.timestamp.internal
        if "content-length" in local.headers:
            headers["content-length"] = local.headers["content-length"]
        try:
            resp = await self.client.request(target, part, "PUT", path, headers, local.body)
        finally:
            await local.close()
        await resp.close()
        return resp.status in (201, 409)  # 409: the remote got a newer one meanwhile

    async def _push_meta(self, device: Device, part: int, path: str, obj: LocalObject, target: Device) -> bool:
        local = await self.client.request(device, part, "HEAD", path, dict(REPLICATION))
        await local.close()
        if local.status != 200 or obj.meta_timestamp is None:
            return False
        headers = {k: v for k, v in local.headers.items()
                   if k.startswith(("x-object-meta-", "x-object-transient-sysmeta-")) or k in _POSTED}
        headers.update(REPLICATION)
        headers["x-timestamp"] = obj.meta_timestamp.internal
        resp = await self.client.request(target, part, "POST", path, headers)
        await resp.close()
        return resp.status in (202, 409)

    # --- the daemon ---------------------------------------------------------------------------

    async def tick(self) -> None:
        stats = await self.run_once()
        if stats.objects_pushed or stats.tombstones_pushed or stats.handoffs_removed or stats.failures:
            log.info("replication pass on %s: %s", self.host, stats)


def _snapshot(part_dir: Path) -> dict[Path, list[str]]:
    """Blocking: every hash dir of a partition and its file names (the diskfile's walk)."""
    backend = FileBackend(part_dir.parent.parent, fsync=False)
    part = int(part_dir.name)
    return {part_dir / suffix / hsh: _listdir(part_dir / suffix / hsh) for suffix, hsh in backend.iter_hashes(part)}


def _remove_partition(part_dir: Path, snapshot: dict[Path, list[str]]) -> bool:
    """Blocking: remove a handoff partition the primaries have: the snapshot's files one by one,
    then the directories with ``rmdir``, never a recursive delete — a write that landed since
    keeps its file, its directories and the partition, and the next pass pushes it."""
    for hash_dir, names in snapshot.items():
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(hash_dir / name)
        with contextlib.suppress(OSError):
            os.rmdir(hash_dir)
    for suffix in _suffixes(part_dir):
        with contextlib.suppress(OSError):
            os.rmdir(part_dir / suffix)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part_dir / "hashes.json")
    try:
        os.rmdir(part_dir)
    except OSError:
        return False
    return True


def _suffixes(part_dir: Path) -> list[str]:
    """The suffix dirs of a partition (not its hashes.json and the like)."""
    return sorted(s for s in _listdir(part_dir) if len(s) == 3 and (part_dir / s).is_dir())


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []
