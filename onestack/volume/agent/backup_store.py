"""Backups in a POSIX directory (Cinder's posix backup driver): chunks, hashes, a manifest.

``<backup_dir>/<container>/<backup id>/``: ``manifest.json`` and ``chunk-NNNNNN`` files. A full
backup stores every chunk of the volume's raw bytes that is not all zeroes; an incremental one
stores only the chunks whose sha256 differs from its parent's manifest and points at where the
others are kept (the parent, or further up), so a parent must outlive its incrementals (the API
refuses to delete a backup that has some). A backup is written under a temporary name and
renamed into place: a crash leaves no half backup. Restore rebuilds the raw bytes (sparse where
chunks are zeroes) and has the driver write them into the volume in its own format.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import os
import shutil
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from onestack.core.config import Config
from onestack.volume.agent.driver import (
    DataRun,
    ReadsDataRuns,
    VolumeDriver,
    VolumeDriverError,
    data_ranges,
)
from onestack.volume.rpcapi import BackupSpec, ModelUpdate, VolumeSpec

CHUNK_SIZE = 32 * 1024 * 1024
DEFAULT_CONTAINER = "volumebackups"  # Cinder's default container name
MANIFEST = "manifest.json"


def store_dir(config: Config) -> Path:
    return Path(config.volume.backup_dir) if config.volume.backup_dir else config.data_dir / "backups"


def _read_exactly(fd: int, into: memoryview, offset: int) -> None:
    got = 0
    while got < len(into):
        n = os.preadv(fd, [into[got:]], offset + got)
        if n == 0:
            raise VolumeDriverError(f"the volume's data ended at byte {offset + got}")
        got += n


def _safe(name: str) -> str:
    """A container name usable as one directory name."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return cleaned or DEFAULT_CONTAINER


def _leftover_owner(name: str) -> str | None:
    """The id whose work made temporary ``name`` (None: not a temporary)."""
    for prefix in (".tmp-", ".restore-"):
        if name.startswith(prefix):
            return name[len(prefix):].rsplit("-", 1)[0]
    if name.startswith(".deleting-"):
        return name[len(".deleting-"):]
    return None


class BackupStore:
    def __init__(self, root: Path, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = root
        self.chunk_size = chunk_size
        root.mkdir(parents=True, exist_ok=True)

    def container_of(self, backup: BackupSpec) -> str:
        return _safe(backup["container"] or DEFAULT_CONTAINER)

    def path_of(self, backup_id: str, container: str) -> Path:
        return self.root / container / backup_id

    def _find(self, backup_id: str) -> Path | None:
        """A backup's directory in whichever container it is (a parent's container may differ)."""
        for container in sorted(os.listdir(self.root)):
            candidate = self.root / container / backup_id
            if (candidate / MANIFEST).exists():
                return candidate
        return None

    def manifest(self, backup_id: str) -> dict[str, Any]:
        where = self._find(backup_id)
        if where is None:
            raise VolumeDriverError(f"backup {backup_id} is not in the backup store")
        body: dict[str, Any] = json.loads((where / MANIFEST).read_text())
        return body

    def backup(self, backup: BackupSpec, driver: VolumeDriver, volume: VolumeSpec) -> ModelUpdate:
        container = self.container_of(backup)
        final = self.path_of(backup["id"], container)
        if (final / MANIFEST).exists():  # done before (the report was lost)
            done = json.loads((final / MANIFEST).read_text())
            return ModelUpdate(object_count=int(done["object_count"]), container=container)
        parent: list[dict[str, Any]] = []
        if backup["is_incremental"] and backup["parent_id"]:
            parent = self.manifest(backup["parent_id"])["chunks"]
        tmp = self.root / container / f".tmp-{backup['id']}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            if isinstance(driver, ReadsDataRuns):  # a snapshot's backup reads the snapshot
                with driver.read_data_runs(volume, backup["snapshot_id"]) as (f, size, runs):
                    entries = self._store_chunks(f, size, runs, tmp, parent, backup["id"])
            else:
                with driver.read_raw(volume, backup["snapshot_id"]) as f:
                    size = os.fstat(f.fileno()).st_size
                    runs = [(a, b, a) for a, b in data_ranges(f.fileno(), size)]
                    entries = self._store_chunks(f, size, runs, tmp, parent, backup["id"])
            stored = sum(1 for e in entries if e["stored_in"] == backup["id"])
            manifest = {"backup_id": backup["id"], "volume_id": volume["id"], "parent_id": backup["parent_id"],
                        "size_bytes": size, "chunk_size": self.chunk_size, "object_count": stored,
                        "chunks": entries}
            (tmp / MANIFEST).write_text(json.dumps(manifest))
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return ModelUpdate(object_count=stored, container=container)

    def _store_chunks(self, f: BinaryIO, size: int, runs: list[DataRun], tmp: Path,
                      parent: list[dict[str, Any]], backup_id: str) -> list[dict[str, Any]]:
        """The manifest entries of the volume's chunks (its ``size`` bytes, whose data lies in
        ``f`` as ``runs`` say), the stored ones written into ``tmp``.

        Where the time goes is reading, hashing and writing: chunks outside every run are zeroes
        with no read at all; the others are read into one of two reused buffers while a worker
        thread checks, hashes (hashlib releases the GIL) and writes the previous one (a chunk
        with no parent to compare with is written by a third thread while it is hashed), so
        reading, hashing and writing overlap."""
        count = -(-size // self.chunk_size)
        entries: list[dict[str, Any]] = [{}] * count
        zero = bytes(self.chunk_size)
        buffers = [bytearray(self.chunk_size), bytearray(self.chunk_size)]

        def save(index: int, piece: bytearray) -> None:
            with open(tmp / f"chunk-{index:06d}", "wb") as out:
                out.write(piece)

        def finish(index: int, buf: bytearray, length: int) -> None:
            piece = buf if length == len(buf) else buf[:length]
            if piece == zero[:length]:  # zeroes written out (not a hole): nothing stored, no hash
                entries[index] = {"sha256": None, "length": length, "stored_in": None}
                return
            before = parent[index] if index < len(parent) else None
            # No parent chunk to compare with: it is stored whatever its hash, so write it
            # while hashing it (both release the GIL).
            writing = writer.submit(save, index, piece) if before is None else None
            digest = hashlib.sha256(piece).hexdigest()
            if writing is not None:
                writing.result()
            elif before is not None and before["sha256"] == digest and before["length"] == length:
                entries[index] = before  # unchanged: kept where the parent keeps it
                return
            else:
                save(index, piece)
            entries[index] = {"sha256": digest, "length": length, "stored_in": backup_id, "index": index}

        ends = [b for _, b, _ in runs]  # runs are in order: the first that may touch a chunk by bisection
        pending: list[Future[None] | None] = [None, None]
        with ThreadPoolExecutor(1, thread_name_prefix="backup") as worker, \
                ThreadPoolExecutor(1, thread_name_prefix="backup-write") as writer:
            for index in range(count):
                start = index * self.chunk_size
                length = min(self.chunk_size, size - start)
                end = start + length
                mine: list[DataRun] = []
                for a, b, at in itertools.islice(runs, bisect.bisect_right(ends, start), None):
                    if a >= end:
                        break
                    mine.append((max(a, start), min(b, end), at + max(a, start) - a))
                if not mine:  # all zeroes: nothing to read
                    entries[index] = {"sha256": None, "length": length, "stored_in": None}
                    continue
                slot = index % 2
                if (job := pending[slot]) is not None:
                    job.result()  # the buffer is free again
                buf = buffers[slot]
                if sum(b - a for a, b, _ in mine) < length:
                    buf[:] = zero  # the parts between runs read as zeroes
                view = memoryview(buf)
                for a, b, at in mine:
                    _read_exactly(f.fileno(), view[a - start:b - start], at)
                pending[slot] = worker.submit(finish, index, buf, length)
            for job in pending:
                if job is not None:
                    job.result()
        return entries

    def rebuild(self, backup_id: str, dest: Path) -> int:
        """Write the backup's raw bytes to ``dest`` (sparse for zero chunks); returns the size."""
        manifest = self.manifest(backup_id)
        dirs: dict[str, Path] = {}
        with open(dest, "wb") as out:
            offset = 0
            for entry in manifest["chunks"]:
                owner = entry["stored_in"]
                if owner is not None:
                    where = dirs.get(owner) or self._find(owner)
                    if where is None:
                        raise VolumeDriverError(f"backup {backup_id} needs backup {owner}, which is gone")
                    dirs[owner] = where
                    piece = (where / f"chunk-{entry['index']:06d}").read_bytes()
                    if hashlib.sha256(piece).hexdigest() != entry["sha256"]:
                        raise VolumeDriverError(f"backup {backup_id}: chunk {entry['index']} is corrupt")
                    out.seek(offset)
                    out.write(piece)
                offset += entry["length"]
            out.truncate(manifest["size_bytes"])
        return int(manifest["size_bytes"])

    def restore(self, backup: BackupSpec, driver: VolumeDriver, volume: VolumeSpec) -> None:
        tmp = self.root / f".restore-{volume['id']}-{uuid.uuid4().hex[:8]}"
        try:
            size = self.rebuild(backup["id"], tmp)
            if size > volume["size"] * 1024 ** 3:
                raise VolumeDriverError(f"backup {backup['id']} ({size} bytes) does not fit in volume "
                                        f"{volume['id']} ({volume['size']} GiB)")
            driver.write_raw_from(volume, tmp, "raw")
        finally:
            tmp.unlink(missing_ok=True)

    def remove_leftovers(self, busy: set[str]) -> list[str]:
        """Remove what interrupted work left (``.tmp-<backup>-*`` and ``.deleting-<backup>`` in a
        container, ``.restore-<volume>-*`` at the root), except that of ids in ``busy``."""
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        places = [self.root, *(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))]
        for place in places:
            for entry in place.iterdir():
                owner = _leftover_owner(entry.name)
                if owner is None or owner in busy:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(str(entry.relative_to(self.root)))
        return removed

    def delete(self, backup: BackupSpec) -> None:
        where = self._find(backup["id"])
        if where is not None:
            # Renamed first so a crash midway leaves no backup that looks whole.
            doomed = where.with_name(f".deleting-{backup['id']}")
            os.replace(where, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
