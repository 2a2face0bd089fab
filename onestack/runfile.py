"""Who runs on a data dir, and where: its lock, its run record, and the port check before start-up.

``onestack up`` holds an exclusive ``flock`` on ``<data dir>/onestack.lock`` for its whole life
(the kernel drops it when the process dies, however it dies), so a second ``up`` on the same data
dir refuses before it migrates, bootstraps or rewrites anything. It binds its port before start-up
too and hands that socket to uvicorn: a busy port is refused before the data dir is touched, and
nothing can take the port between the check and the serving.

The run record ``<data dir>/run.json`` (0600) says where the cloud listens, so ``onestack status``
and ``onestack env`` find a cloud started on another port; it is removed on a clean stop, and one
left by a killed process is recognised as stale because nobody holds the lock any more.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onestack.core.config import ConfigError
from onestack.core.files import open_private, write_private

LOCK_FILE = "onestack.lock"
RUN_FILE = "run.json"


class Refused(ConfigError):
    """Another process already has the data dir or the port: nothing was started or changed."""


@dataclass(frozen=True)
class RunRecord:
    pid: int
    url: str
    data_dir: str
    clouds_yaml: str
    command: str

    @property
    def openrc(self) -> str:
        return str(Path(self.data_dir) / "openrc")


class DataDirLock:
    """An exclusive ``flock`` on the data dir's lock file, held until ``release`` or process exit."""

    def __init__(self, data_dir: Path, what: str = LOCK_FILE) -> None:
        self.path = data_dir / what
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = open_private(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_record(self.path.parent)
            where = f" (pid {holder.pid}, serving {holder.url})" if holder else ""
            raise Refused(f"data dir {self.path.parent} is in use by another onestack{where}; "
                          "stop it first or give another --data-dir") from None
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def is_locked(data_dir: Path, what: str = LOCK_FILE) -> bool:
    """Whether some process holds the data dir's lock (without creating anything)."""
    try:
        fd = os.open(data_dir / what, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock taken just to test it
    return False


def bind_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (as uvicorn binds: SO_REUSEADDR), or ``Refused`` when busy."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Refused(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                      "is another onestack running there? give another --port") from None
    sock.set_inheritable(True)  # uvicorn's own bind makes its sockets inheritable the same way
    return sock


def write_record(data_dir: Path, url: str, clouds_yaml: Path, command: str) -> Path:
    path = data_dir / RUN_FILE
    record = {"pid": os.getpid(), "url": url, "data_dir": str(data_dir), "clouds_yaml": str(clouds_yaml),
              "command": command}
    write_private(path, json.dumps(record, indent=1) + "\n")
    return path


def remove_record(data_dir: Path) -> None:
    """On a clean stop: only this process's record (a newer one is another process's)."""
    record = read_record(data_dir)
    if record is not None and record.pid == os.getpid():
        (data_dir / RUN_FILE).unlink(missing_ok=True)


def read_record(data_dir: Path) -> RunRecord | None:
    try:
        doc: Any = json.loads((data_dir / RUN_FILE).read_text())
        return RunRecord(pid=int(doc["pid"]), url=str(doc["url"]), data_dir=str(doc["data_dir"]),
                         clouds_yaml=str(doc["clouds_yaml"]), command=str(doc.get("command", "up")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    return True


def live_record(data_dir: Path) -> tuple[RunRecord | None, str]:
    """The record of the cloud running on ``data_dir``, or None and why not."""
    record = read_record(data_dir)
    if record is None:
        return None, f"no onestack has recorded a run in {data_dir}"
    if not pid_alive(record.pid) or not is_locked(data_dir):
        return None, f"onestack is not running on {data_dir} (stale record: pid {record.pid} is gone)"
    return record, ""


__all__ = [
    "LOCK_FILE",
    "RUN_FILE",
    "DataDirLock",
    "Refused",
    "RunRecord",
    "bind_port",
    "is_locked",
    "live_record",
    "read_record",
    "remove_record",
    "write_record",
]
