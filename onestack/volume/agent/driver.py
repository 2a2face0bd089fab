"""The volume driver interface: the contract every backend a volume agent drives is held to.

A volume agent owns one host's backends and touches their data only through a ``VolumeDriver``
(one instance per backend, Cinder's ``host@backend``). The contract is written for real disks:
operations are slow, can fail halfway, and the agent may die between two steps.

Rules that hold for every method:

- Methods are plain blocking functions: the agent runs each in a thread (``asyncio.to_thread``).
  Calls on different objects may run concurrently; the agent never runs two calls on one object
  at once.
- Creating is atomic under the final name: a volume or snapshot either exists complete or not at
  all (a crash leaves at most temporary files, which ``remove_leftovers`` clears). Repeating a
  create of something that exists replaces nothing and succeeds (the agent may retry after a
  crash). Deleting what is absent succeeds.
- A failed call raises ``VolumeDriverError`` and leaves nothing half-made under a final name.
- ``observed()`` reports what the backend holds now; state outlives the agent (a driver built
  again on the same directory sees everything the previous one made).
- The driver holds no database and asks no one: what to do is what it is told.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from onestack.core.rpc import remote_error
from onestack.volume.rpcapi import ConnectionInfo, ModelUpdate, PoolReport, SnapshotSpec, VolumeSpec

GiB = 1024 ** 3


@remote_error
class VolumeDriverError(Exception):
    """A backend operation failed; nothing half-made is left under a final name."""


@dataclass
class Observed:
    """What a backend holds: volume and snapshot ids with the age (seconds) of their data."""

    volumes: dict[str, float] = field(default_factory=dict)
    snapshots: dict[str, float] = field(default_factory=dict)


class VolumeDriver(Protocol):
    """One backend of a host. See the module docstring for the rules every method keeps."""

    @property
    def backend(self) -> str:
        """The backend's name (``volume_backend_name``; the ``backend`` of ``host@backend#pool``)."""

    def pools(self, allocated_gb: int) -> list[PoolReport]:
        """The backend's pools with real capacity; ``allocated_gb`` is what the volumes placed
        on it add up to (from the server's desired state; the driver counts its own otherwise)."""

    def observed(self) -> Observed:
        """The complete volumes and snapshots it holds now."""

    def create_volume(self, volume: VolumeSpec) -> ModelUpdate:
        """A blank volume of ``volume['size']`` GiB (zeroes); exists already → unchanged."""

    def delete_volume(self, volume: VolumeSpec) -> None:
        """Remove the volume's data; absent is fine. Its snapshots are separate and stay."""

    def extend_volume(self, volume: VolumeSpec, new_size: int) -> None:
        """Grow the volume to ``new_size`` GiB keeping its data; already that size → nothing."""

    def create_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec) -> ModelUpdate:
        """A point-in-time copy of the volume's data; exists already → unchanged."""

    def delete_snapshot(self, snapshot: SnapshotSpec) -> None:
        """Remove the snapshot; absent is fine. Volumes made from it keep their data."""

    def create_volume_from_snapshot(self, volume: VolumeSpec, snapshot: SnapshotSpec) -> ModelUpdate:
        """A new volume holding the snapshot's data, grown to ``volume['size']``."""

    def create_cloned_volume(self, volume: VolumeSpec, source: VolumeSpec) -> ModelUpdate:
        """A new volume holding the source volume's data, grown to ``volume['size']``."""

    def revert_to_snapshot(self, volume: VolumeSpec, snapshot: SnapshotSpec) -> None:
        """Put the snapshot's data back into the volume (its size stays ``volume['size']``)."""

    def initialize_connection(self, volume: VolumeSpec, connector: dict[str, Any]) -> ConnectionInfo:
        """How the connector's host reaches the volume (idempotent)."""

    def update_migrated_volume(self, volume: VolumeSpec, new_volume: VolumeSpec) -> ModelUpdate:
        """Cinder's: a migration target's disk (``new_volume``) takes the volume's own name, as
        the volume's id now names it (idempotent); where the disk is now."""

    def terminate_connection(self, volume: VolumeSpec, connector: dict[str, Any]) -> None:
        """Stop exporting the volume to the connector's host (idempotent)."""

    def read_raw(self, volume: VolumeSpec, snapshot_id: str | None = None) -> AbstractContextManager[BinaryIO]:
        """The volume's data (or its snapshot's) as raw bytes: a file open for reading,
        seekable, for backups and image uploads; the agent changes neither meanwhile."""

    def write_raw_from(self, volume: VolumeSpec, source: Path, source_format: str) -> None:
        """Replace the volume's data with the file ``source`` (``raw``, ``qcow2``, …), grown
        or kept at ``volume['size']``; the volume exists complete before and after."""

    def remove_leftovers(self, busy: set[str]) -> list[str]:
        """Remove temporary files of interrupted work, except those of ids in ``busy``; returns
        what it removed."""


@runtime_checkable
class ExtendAttached(Protocol):
    """A backend that can grow a volume while a consumer has it attached (Cinder 3.42)."""

    def extend_attached(self, volume: VolumeSpec, new_size: int) -> None: ...


@runtime_checkable
class ManageExisting(Protocol):
    """A backend that can adopt data it holds under another name (Cinder's manage_existing):
    a disk left by an unmanage, or put there by an operator. ``ref`` is Cinder's reference
    (``{"source-name": ...}``); a ref naming nothing raises ``VolumeDriverError``. Adopting
    again what was adopted already (the source gone, the final name there) succeeds."""

    def manage_existing_get_size(self, volume: VolumeSpec, ref: dict[str, Any]) -> int:
        """The size (GiB, rounded up) of the disk ``ref`` names."""

    def manage_existing(self, volume: VolumeSpec, ref: dict[str, Any]) -> ModelUpdate:
        """The disk ``ref`` names becomes the volume's (with ``size``)."""

    def manage_existing_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec, ref: dict[str, Any]) -> ModelUpdate:
        """The snapshot ``ref`` names becomes the snapshot's (with ``size``)."""

    def list_manageable(self, kind: str) -> list[dict[str, Any]]:
        """Every volume (``kind`` ``volumes``) or snapshot (``snapshots``) the backend holds:
        ``{"reference": {"source-name": ...}, "size": GiB}``, by name."""


def data_ranges(fd: int, size: int) -> list[tuple[int, int]]:
    """The [start, end) ranges of a file that may hold data (the rest are holes: zeroes), found
    with SEEK_DATA/SEEK_HOLE; the whole file where the filesystem cannot tell."""
    ranges: list[tuple[int, int]] = []
    offset = 0
    try:
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # nothing but a hole up to the end
                    break
                raise
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
            ranges.append((start, end))
            offset = end
    except (OSError, AttributeError):  # no SEEK_DATA here: read everything
        return [(0, size)] if size else []
    return ranges


# A run of a volume's raw bytes that may hold data: (start, end) in the volume, and the offset
# in the file where byte ``start`` is. Between the runs the volume reads as zeroes.
DataRun = tuple[int, int, int]


@runtime_checkable
class ReadsDataRuns(Protocol):
    """A backend that tells where a volume's data lies in its file, so a reader (a backup)
    skips the zeroes and needs no raw copy of a volume kept in another format."""

    def read_data_runs(self, volume: VolumeSpec,
                       snapshot_id: str | None = None) -> AbstractContextManager[tuple[BinaryIO, int, list[DataRun]]]:
        """(file open for reading, the volume's size in bytes, its data runs in order) for the
        volume's data or its snapshot's; the agent changes neither meanwhile."""


RawPart = tuple[Path | None, int]  # (a file holding that many raw bytes, or None: zeroes; its length)
RAW_PARTS_MAX = 256  # the most parts one write takes (each an open file in one process)


@runtime_checkable
class WritesRawParts(Protocol):
    """A backend that writes a volume from raw parts laid end to end (a restore's stored chunks
    and zero runs) in one pass, with no whole raw copy assembled first."""

    def write_raw_parts(self, volume: VolumeSpec, parts: list[RawPart]) -> bool:
        """Write the parts into the volume (flushed, as ``write_raw_from``); False, having
        written nothing, when this backend cannot here (the caller assembles a raw copy)."""


def chunks(f: BinaryIO, size: int) -> Iterator[bytes]:
    """``f`` read in pieces of ``size`` bytes (the last may be shorter)."""
    while True:
        piece = f.read(size)
        if not piece:
            return
        yield piece
