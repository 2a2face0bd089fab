"""What the agent and its daemons take from the disk backend (the storage helper's diskfile,
object server and updater), in one place: an object's name from its file, the verified read,
the object server's HTTP app, the async-pending updater."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from onestack.object_store.container_updates import ContainerUpdater


def name_reader(path: Path) -> str | None:
    """``/account/container/object`` from a .data or .ts file's metadata."""
    raise NotImplementedError("needs obj/diskfile.py")


def verified_reader(path: Path) -> AsyncIterator[bytes]:
    """The chunks of a .data file, each checked; raises ``auditor.Corrupt`` after quarantining it."""
    raise NotImplementedError("needs obj/diskfile.py")


def http_app(devices_root: Path, host: str, updates: ContainerUpdater) -> Any:
    """The ASGI app of the object server over this host's devices."""
    raise NotImplementedError("needs obj/http.py")


def object_updater(devices_root: Path, updates: ContainerUpdater, interval: float, timeout: float) -> Any:
    """The async-pending replayer (``run(stop_event)``)."""
    raise NotImplementedError("needs obj/updater.py")
