"""Async pendings (Swift's ``async_pending``): the container updates an object server still owes.

The object server writes one before it renames a ``.data``/``.ts``/``.meta`` into place and
removes it once the container took the update, so a crash or a failed update leaves it on the
device. ``ObjectUpdater`` replays them: one pass over a host's devices (``run_once``) or a loop
(``run``). Replays are idempotent (the listing ignores updates older than its row).

Layout: ``<device>/async_pending/<suffix>/<hash>-<timestamp>``, JSON ``{"update": ContainerUpdate,
"part": int, "file": "<timestamp>.<ext>"}``. The pending is written to the device's ``tmp`` and
renamed (a reader never sees half of one). It is not fsynced: it protects against process
crashes, which the page cache survives; a power loss may lose the pending of the last writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onestack.core.service import wait_event
from onestack.object_store.container_updates import ContainerUpdater
from onestack.object_store.obj.diskfile import run_io, tmp_name
from onestack.object_store.rpcapi import ContainerUpdate

log = logging.getLogger("onestack.object_store.updater")

ASYNC_DIR = "async_pending"
# A pending whose file is not on disk is dropped only once it is this old: the object server
# writes the pending a moment before it renames the file in.
GRACE_SECONDS = 60.0


def pending_path(device_root: Path, hsh: str, timestamp: str) -> Path:
    return device_root / ASYNC_DIR / hsh[-3:] / f"{hsh}-{timestamp}"


def write_pending(device_root: Path, hsh: str, part: int, file_name: str, update: ContainerUpdate) -> Path:
    """Blocking: record ``update`` as owed (tmp file + rename)."""
    path = pending_path(device_root, hsh, update["timestamp"])
    tmp = device_root / "tmp" / tmp_name("pending-")
    body = json.dumps({"update": update, "part": part, "file": file_name}, separators=(",", ":")).encode()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        if not device_root.is_dir():
            raise
        tmp.parent.mkdir(exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, body)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)
    return path


def remove_pending(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@dataclass
class Pending:
    path: Path
    hsh: str
    timestamp: str
    body: dict[str, Any]


def list_pendings(device_root: Path) -> list[Pending]:
    """Blocking: the device's pendings, newest first per object hash; unreadable ones removed."""
    out: list[Pending] = []
    base = device_root / ASYNC_DIR
    try:
        suffixes = os.listdir(base)
    except FileNotFoundError:
        return out
    for suffix in suffixes:
        sdir = base / suffix
        try:
            names = os.listdir(sdir)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if not names:
            # Left in place: the next PUT of that suffix would make it again (a mkdir on the
            # write path), and there are at most 4096 of them per device.
            continue
        for name in names:
            hsh, _, ts = name.partition("-")
            path = sdir / name
            try:
                body = json.loads(path.read_bytes())
                if not isinstance(body["update"]["timestamp"], str):
                    raise TypeError("timestamp")
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("removing unreadable async pending %s", path)
                remove_pending(path)
                continue
            out.append(Pending(path, hsh, ts, body))
    out.sort(key=lambda p: (p.hsh, p.timestamp), reverse=True)
    return out


def _file_landed(device_root: Path, pending: Pending) -> bool | None:
    """Whether the file the pending reports is on disk (True), never landed (False), or it is
    too early to say (None)."""
    part, file_name = pending.body.get("part"), pending.body.get("file")
    if part is None or not file_name:
        return True  # nothing to check against: replay
    hdir = device_root / "objects" / str(part) / pending.hsh[-3:] / pending.hsh
    if (hdir / file_name).exists():
        return True
    try:
        age = time.time() - pending.path.stat().st_mtime
    except FileNotFoundError:
        return False
    return False if age > GRACE_SECONDS else None


class ObjectUpdater:
    """Replays the async pendings of every device under ``devices_root`` (Swift's object-updater)."""

    def __init__(self, devices_root: Path, updater: ContainerUpdater, interval: float = 10.0,
                 timeout: float = 10.0) -> None:
        self.devices_root = devices_root
        self.updater = updater
        self.interval = interval
        self.timeout = timeout
        self.stats = {"successes": 0, "failures": 0, "dropped": 0}

    def _devices(self) -> list[Path]:
        try:
            return sorted(p for p in self.devices_root.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []

    async def run_once(self) -> dict[str, int]:
        """One pass; answers this pass's counts."""
        counts = {"successes": 0, "failures": 0, "dropped": 0}
        for device in await run_io(self._devices):
            await self._device_pass(device, counts)
        for key, value in counts.items():
            self.stats[key] += value
        return counts

    async def _device_pass(self, device: Path, counts: dict[str, int]) -> None:
        pendings = await run_io(list_pendings, device)
        newest_done: set[str] = set()
        for pending in pendings:
            if pending.hsh in newest_done:
                # An older update of an object whose newer one was replayed: the listing ignores it.
                remove_pending(pending.path)
                counts["dropped"] += 1
                continue
            landed = await run_io(_file_landed, device, pending)
            if landed is None:
                continue
            if landed is False:
                # The write crashed before its file was renamed in (or a newer write replaced it,
                # and that one owes its own update).
                remove_pending(pending.path)
                counts["dropped"] += 1
                continue
            try:
                await asyncio.wait_for(self.updater.update_container(pending.body["update"]), self.timeout)
            except Exception as exc:  # noqa: BLE001 - any failure means retry on the next pass
                log.info("async pending %s not replayed yet: %s", pending.path, exc)
                counts["failures"] += 1
                continue
            remove_pending(pending.path)
            newest_done.add(pending.hsh)
            counts["successes"] += 1

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Passes every ``interval`` seconds until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a daemon keeps going
                log.exception("object updater pass failed")
            await wait_event(stop, self.interval)
