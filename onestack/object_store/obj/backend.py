"""What the agent and its daemons take from the disk backend (the storage helper's diskfile,
object server and updater), in one place: an object's name from its file, the verified read,
the object server's HTTP app, the async-pending updater."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onestack.object_store.container_updates import ContainerUpdater
from onestack.object_store.obj.auditor import AuditBackend


def name_reader(path: Path) -> str | None:
    """``/account/container/object`` from a .data or .ts file's metadata."""
    raise NotImplementedError("needs obj/diskfile.py")


def audit_backend(device_dir: Path) -> AuditBackend:
    """One device's backend for the auditor (its verified read)."""
    raise NotImplementedError("needs obj/diskfile.py")


# What the verified read raises after quarantining a bad file.
CORRUPT: tuple[type[Exception], ...] = ()


def http_app(devices_root: Path, host: str, updates: ContainerUpdater) -> Any:
    """The ASGI app of the object server over this host's devices."""
    raise NotImplementedError("needs obj/http.py")


def object_updater(devices_root: Path, updates: ContainerUpdater, interval: float, timeout: float) -> Any:
    """The async-pending replayer (``run(stop_event)``)."""
    raise NotImplementedError("needs obj/updater.py")
