"""Leases on image data work: who runs an upload, stage, import or copy, and whether it still lives.

Every write of image bytes (``PUT …/file``, ``PUT …/stage``, a glance-direct import, a copy)
holds a row in ``image_data_leases``, inserted in the transaction that moves the image into
its busy status and deleted in the one that moves it out. The running process renews its
rows every ``HEARTBEAT`` seconds. A lease is dead when

- its heartbeat is older than ``GRACE`` (the process stopped renewing: crashed, hung, or its
  host is gone) — the only test for a lease held on another node, or
- it was taken on this node (same host, boot and pid namespace) by a process that no longer
  exists, or by an earlier incarnation of this one — provable at once, so a restart heals its
  own interrupted uploads without waiting out the grace.

A heartbeat rather than the image's ``updated_at``: an upload of a large image from a slow
client writes nothing to the row for minutes, and several image API processes may share one
database and store, so "old" alone would cut off a live upload elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.image.models import DataLease

HEARTBEAT = 10.0  # seconds between renewals by the holder
GRACE = timedelta(seconds=60)  # six missed renewals: the holder is gone


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def this_node() -> str:
    """Who can see this process's pids: host name, boot and pid namespace, hashed to a fixed width."""
    ident = "|".join((socket.gethostname(), _read("/proc/sys/kernel/random/boot_id"), _pid_namespace()))
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Holder:
    """This process's side of the leases: its identity and the tokens it holds now."""

    def __init__(self, node: str | None = None, pid: int | None = None) -> None:
        self.node = node or this_node()
        self.pid = os.getpid() if pid is None else pid
        self.tokens: set[str] = set()

    def take(self, s: Session, image_id: str, kind: str, task_id: str | None = None) -> str:
        """Insert a lease (in the caller's transaction); its token also names the work's temp files."""
        token = uuid.uuid4().hex
        s.add(DataLease(token=token, image_id=image_id, kind=kind, task_id=task_id, node=self.node,
                        pid=self.pid, heartbeat_at=utcnow()))
        self.tokens.add(token)
        return token

    def forget(self, token: str | None) -> None:
        """The lease's row is gone (or its transaction failed): stop renewing it."""
        if token is not None:
            self.tokens.discard(token)

    def is_dead(self, lease: DataLease, now: datetime) -> bool:
        if lease.heartbeat_at < now - GRACE:
            return True
        if lease.node != self.node:
            return False
        if lease.pid == self.pid:
            return lease.token not in self.tokens  # an earlier process with our pid: gone
        return not _pid_alive(lease.pid)

    def renew(self, s: Session) -> int:
        """Move the heartbeat of every lease this process holds; how many rows it still has."""
        tokens = list(self.tokens)
        if not tokens:
            return 0
        result = s.execute(update(DataLease).where(DataLease.token.in_(tokens)).values(heartbeat_at=utcnow())
                           .execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]


def release(s: Session, token: str) -> bool:
    """Delete a lease in the transaction that ends its work; False when it was gone already.

    Gone means the recovery pass took the work for dead (its process stalled past the grace)
    and put the image back: the late finish must then change nothing.
    """
    result = s.execute(delete(DataLease).where(DataLease.token == token).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]
