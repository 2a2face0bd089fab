"""What a simulated host keeps on disk, so its guests outlive a restart of its agent.

A real hypervisor keeps its guests when nova-compute restarts (libvirt's domains run on, their
definitions and disks are files); the fake does the same with one JSON file per instance uuid in
``<data-dir>/compute/<host>/guests/``: the guest (spec, power state, ports, console log, VNC
port, rescue flag, boot time) and the disks a resize set aside. A file is replaced atomically
(temporary file, fsync, ``os.replace``, fsync of the directory) on every change, so a crash —
even SIGKILL — leaves each guest as it was after its last completed operation. One file per
guest keeps a change O(1) however many guests the host has.

Not kept: work in flight (a guest being spawned, a live migration prepared here) — after a
restart it is as if it never started, and the reconcile loop redoes it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onestack.compute.virt.driver import InstanceSpec, NetworkInfo, PowerState
from onestack.core.files import private_dir

log = logging.getLogger("onestack.compute.virt.fake")

CONSOLE_LINES = 2000  # ~160 KiB of typical lines: more than the 64 KiB the contract promises
FORMAT = 1  # bump when a record's shape changes incompatibly


@dataclass
class Guest:
    spec: InstanceSpec
    state: PowerState
    network_info: NetworkInfo = field(default_factory=list)
    console: deque[str] = field(default_factory=lambda: deque(maxlen=CONSOLE_LINES))
    booted_at: float | None = None  # wall-clock time of the last boot while running (survives restarts)
    building: bool = False
    rescued: bool = False
    # Attached volumes: device name -> the block-storage service's connection_info.
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def uptime(self) -> int:
        return max(0, int(time.time() - self.booted_at)) if self.booted_at is not None else 0

    def to_json(self) -> dict[str, Any]:
        return {"spec": asdict(self.spec), "state": int(self.state),
                "network_info": self.network_info, "console": list(self.console), "booted_at": self.booted_at,
                "rescued": self.rescued, "volumes": self.volumes}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Guest:
        return cls(spec=InstanceSpec(**doc["spec"]), state=PowerState(doc["state"]),
                   network_info=list(doc["network_info"]),
                   console=deque((str(line) for line in doc["console"]), maxlen=CONSOLE_LINES),
                   booted_at=None if doc["booted_at"] is None else float(doc["booted_at"]),
                   rescued=bool(doc["rescued"]), volumes=dict(doc.get("volumes") or {}))


class GuestFiles:
    """The guest records of one simulated host. Writes are synchronous: each is one step on the
    event loop with the change it records, so no other coroutine sees one without the other."""

    def __init__(self, directory: Path, host: str) -> None:
        self.directory = directory
        self.host = host

    def _path(self, uuid: str) -> Path:
        if Path(uuid).name != uuid or uuid.startswith("."):
            raise ValueError(f"not a usable instance uuid: {uuid!r}")
        return self.directory / f"{uuid}.json"

    def load(self) -> tuple[dict[str, Guest], dict[str, InstanceSpec]]:
        """Every saved guest and set-aside resize source. An unreadable record is logged and
        renamed ``*.corrupt``: that guest is gone, as if undefined by hand."""
        guests: dict[str, Guest] = {}
        set_aside: dict[str, InstanceSpec] = {}
        if not self.directory.is_dir():
            log.info("fake host %s: no saved guests in %s; starting empty", self.host, self.directory)
            return guests, set_aside
        for leftover in self.directory.glob(".*.tmp"):  # a write cut off by a crash; its old file stands
            leftover.unlink(missing_ok=True)
        for path in sorted(self.directory.glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                if doc.get("format") != FORMAT or doc.get("uuid") != path.stem:
                    raise ValueError(f"format {doc.get('format')!r}, uuid {doc.get('uuid')!r}")
                if doc.get("guest") is not None:
                    guests[path.stem] = Guest.from_json(doc["guest"])
                if doc.get("set_aside") is not None:
                    set_aside[path.stem] = InstanceSpec(**doc["set_aside"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("fake host %s: guest record %s is unreadable (%s: %s); starting without it, "
                            "kept as %s.corrupt", self.host, path, type(exc).__name__, exc, path.name)
                guests.pop(path.stem, None)
                set_aside.pop(path.stem, None)
                self._set_apart(path)
        log.info("fake host %s: %d guests and %d resize sources restored from %s", self.host, len(guests),
                 len(set_aside), self.directory)
        return guests, set_aside

    def _set_apart(self, path: Path) -> None:
        # Renamed so the next start does not trip over it again, kept for whoever investigates.
        try:
            os.replace(path, path.with_name(path.name + ".corrupt"))
        except OSError as exc:
            log.warning("fake host %s: could not rename %s: %s", self.host, path, exc)

    def save(self, uuid: str, guest: Guest | None, set_aside: InstanceSpec | None) -> None:
        """Record what the host has for ``uuid`` now; nothing at all removes the record."""
        path = self._path(uuid)
        if guest is None and set_aside is None:
            if path.exists():
                path.unlink()
                self._sync_directory()
            return
        doc = {"format": FORMAT, "uuid": uuid, "guest": None if guest is None else guest.to_json(),
               "set_aside": None if set_aside is None else asdict(set_aside)}
        data = json.dumps(doc, separators=(",", ":")).encode()
        private_dir(self.directory)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{uuid}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        # The rename (or unlink) is durable only once the directory entry is on disk too.
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
