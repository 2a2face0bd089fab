"""The object auditor of one host (Swift's object-auditor): re-read every object's data through the
diskfile's verified read, so a bad block or a wrong MD5 is found before a client asks for it.

The verified read quarantines the file it finds bad (moves it under ``<device>/quarantined/`` and
invalidates the partition's hashes); the replicator then restores a good copy from another
replica. The auditor reads at most ``bytes_per_second`` per pass so that it never starves the
host's reads and writes, and yields to the event loop between chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from onestack.object_store.obj.replicator import scan_hash_dir

log = logging.getLogger("onestack.object_store.auditor")


class Corrupt(Exception):
    """Raised by a verified read that found (and quarantined) a bad file."""


# Opens a .data file for a verified read: its chunks, raising when a chunk (or the whole file's
# MD5 at the end) does not match — the reader has quarantined the file by then.
VerifiedReader = Callable[[Path], AsyncIterator[bytes]]


@dataclass
class AuditStats:
    files: int = 0
    bytes: int = 0
    quarantined: int = 0
    errors: int = 0


class Throttle:
    """At most ``rate`` bytes per second over the pass (Swift's bytes_per_second)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start = time.monotonic()
        self.done = 0

    async def spent(self, n: int) -> None:
        self.done += n
        if self.rate <= 0:
            await asyncio.sleep(0)
            return
        ahead = self.done / self.rate - (time.monotonic() - self.start)
        await asyncio.sleep(max(0.0, ahead))


def data_files(device_dir: Path) -> list[Path]:
    """The winning .data of every object directory of a device (older ones are not served)."""
    found: list[Path] = []
    objects = device_dir / "objects"
    for part in _ls(objects):
        if not part.isdigit():
            continue
        for suffix in _ls(objects / part):
            for hash_name in _ls(objects / part / suffix):
                obj = scan_hash_dir(objects / part / suffix / hash_name)
                if obj is not None and not obj.deleted:
                    found.append(obj.newest)
    return found


class Auditor:
    def __init__(self, host: str, devices_root: Path, device_names: Callable[[], list[str]], read: VerifiedReader,
                 interval: float = 60.0, bytes_per_second: float = 10 * 1024 * 1024) -> None:
        self.host = host
        self.root = devices_root
        self.device_names = device_names
        self.read = read
        self.interval = interval
        self.bytes_per_second = bytes_per_second
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        self.last = AuditStats()

    async def run_once(self) -> AuditStats:
        stats = AuditStats()
        for name in self.device_names():
            throttle = Throttle(self.bytes_per_second)  # the rate is per device, as Swift's
            for path in data_files(self.root / name):
                await self.audit_file(path, stats, throttle)
        self.passes += 1
        self.last = stats
        return stats

    async def audit_file(self, path: Path, stats: AuditStats, throttle: Throttle) -> None:
        try:
            async for chunk in self.read(path):
                stats.bytes += len(chunk)
                await throttle.spent(len(chunk))
        except Corrupt:
            stats.quarantined += 1
            log.warning("auditor: quarantined %s", path)
        except FileNotFoundError:
            return  # replaced or deleted while we walked: the next pass sees the new file
        except Exception:
            stats.errors += 1
            log.exception("auditor: reading %s failed", path)
        else:
            stats.files += 1

    async def _loop(self) -> None:
        while True:
            try:
                stats = await self.run_once()
                if stats.quarantined or stats.errors:
                    log.info("audit pass on %s: %s", self.host, stats)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("audit pass on %s failed", self.host)
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"object-auditor-{self.host}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _ls(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []
