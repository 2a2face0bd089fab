"""The object auditor of one host (Swift's object-auditor): re-read every object's data through the
diskfile's verified read, so a bad block or a wrong MD5 is found before a client asks for it.

The verified read quarantines the file it finds bad (moves it under ``<device>/quarantined/`` and
invalidates the partition's hashes); the replicator then restores a good copy from another
replica. The auditor reads at most ``bytes_per_second`` per pass so that it never starves the
host's reads and writes; the reads run in a thread (the diskfile's), one object at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from onestack.object_store.daemon import Periodic

log = logging.getLogger("onestack.object_store.auditor")


class AuditBackend(Protocol):
    """What the auditor needs of one device's disk backend (``diskfile.FileBackend``)."""

    def partitions(self) -> list[int]: ...

    def iter_hashes(self, part: int) -> Iterator[tuple[str, str]]: ...

    async def verify(self, part: int, hsh: str) -> Any:
        """Read the object's whole data checking every block and the MD5; its state (with
        ``data_len``) or None when there is no data; raises after quarantining a bad file."""


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


class Auditor(Periodic):
    def __init__(self, host: str, device_names: Callable[[], list[str]], backend: Callable[[str], AuditBackend],
                 corrupt: tuple[type[Exception], ...], interval: float = 60.0,
                 bytes_per_second: float = 10 * 1024 * 1024) -> None:
        self.host = host
        self.device_names = device_names
        self.backend = backend
        self.corrupt = corrupt
        self.interval = interval
        self.bytes_per_second = bytes_per_second
        self.task_name = f"object-auditor-{host}"
        self.passes = 0
        self.last = AuditStats()

    async def run_once(self) -> AuditStats:
        stats = AuditStats()
        for name in self.device_names():
            backend = self.backend(name)
            throttle = Throttle(self.bytes_per_second)  # the rate is per device, as Swift's
            try:
                parts = backend.partitions()
            except Exception as exc:  # noqa: BLE001 — an unmounted device: nothing to audit on it
                log.debug("auditor on %s: skipping %s: %s", self.host, name, exc)
                continue
            for part in parts:
                for _suffix, hsh in list(backend.iter_hashes(part)):
                    await self.audit(backend, part, hsh, stats, throttle)
        self.passes += 1
        self.last = stats
        return stats

    async def audit(self, backend: AuditBackend, part: int, hsh: str, stats: AuditStats, throttle: Throttle) -> None:
        try:
            state = await backend.verify(part, hsh)
        except self.corrupt as exc:
            stats.quarantined += 1
            log.warning("auditor on %s: quarantined %s/%s: %s", self.host, part, hsh, exc)
            return
        except Exception:
            stats.errors += 1
            log.exception("auditor on %s: verifying %s/%s failed", self.host, part, hsh)
            return
        if state is None:
            return  # a tombstone, or gone meanwhile
        length = int(getattr(state, "data_len", 0))
        stats.files += 1
        stats.bytes += length
        await throttle.spent(length)

    async def tick(self) -> None:
        stats = await self.run_once()
        if stats.quarantined or stats.errors:
            log.info("audit pass on %s: %s", self.host, stats)
