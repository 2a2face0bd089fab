"""Backups in a POSIX directory (Cinder's posix backup driver): chunks, digests, a manifest.

``<backup_dir>/<container>/<backup id>/``: ``manifest.json`` and ``chunk-NNNNNN`` files. A full
backup stores every chunk of the volume's raw bytes that is not all zeroes; an incremental one
stores only the chunks whose digest differs from its parent's manifest and points at where the
others are kept (the parent, or further up), so a parent must outlive its incrementals (the API
refuses to delete a backup that has some). Digests are blake3 where the ``blake3`` package is
installed, else sha256; the manifest's ``hash`` names the algorithm (a manifest without it is
sha256: the format before blake3) and each chunk's digest is under that name. An incremental
hashes as its parent did, so a chain made before blake3 stays sha256. Chunks are stored
uncompressed (Cinder defaults to zlib, tens of MB/s a core, which would cap a backup far below
the disk's speed; what a thin volume saves is mostly its zero chunks, never stored). A backup is
written under a temporary name and renamed into place: a crash leaves no half backup. As in
Cinder's posix driver nothing is fsynced: a chunk or manifest lost to a power cut fails that
backup's restore (digest check, unreadable manifest) rather than restoring wrong bytes. Restore
checks every stored chunk's digest and hands the driver the chunk files and the zero runs
between them, which the file driver's one ``qemu-img convert`` lays end to end into the volume in
its own format, flushed (as Cinder fsyncs a restored volume): each byte read once and written
once. A driver that cannot (no qemu-img), or a backup of more than ``RAW_PARTS_MAX`` parts, gets
the raw bytes rebuilt into one file first (sparse where chunks are zeroes)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from onestack.core.config import Config
from onestack.volume.agent.backup_chunks import (
    Chunk,
    data_chunks,
    default_hash,
    hash_of,
    new_hasher,
    pieces,
    run_pool,
    stream,
    to_file,
)
from onestack.volume.agent.driver import (
    RAW_PARTS_MAX,
    DataRun,
    RawPart,
    ReadsDataRuns,
    VolumeDriver,
    VolumeDriverError,
    WritesRawParts,
    data_ranges,
)
from onestack.volume.rpcapi import BackupSpec, ModelUpdate, VolumeSpec

CHUNK_SIZE = 32 * 1024 * 1024
DEFAULT_CONTAINER = "volumebackups"  # Cinder's default container name
MANIFEST = "manifest.json"


def store_dir(config: Config) -> Path:
    return Path(config.volume.backup_dir) if config.volume.backup_dir else config.data_dir / "backups"


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
        algorithm = default_hash()
        if backup["is_incremental"] and backup["parent_id"]:
            above = self.manifest(backup["parent_id"])
            parent, algorithm = above["chunks"], hash_of(above)  # a chain keeps one algorithm
        tmp = self.root / container / f".tmp-{backup['id']}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            if isinstance(driver, ReadsDataRuns):  # a snapshot's backup reads the snapshot
                with driver.read_data_runs(volume, backup["snapshot_id"]) as (f, size, runs):
                    entries = self._store_chunks(f, size, runs, tmp, parent, backup["id"], algorithm)
            else:
                with driver.read_raw(volume, backup["snapshot_id"]) as f:
                    size = os.fstat(f.fileno()).st_size
                    runs = [(a, b, a) for a, b in data_ranges(f.fileno(), size)]
                    entries = self._store_chunks(f, size, runs, tmp, parent, backup["id"], algorithm)
            stored = sum(1 for e in entries if e["stored_in"] == backup["id"])
            manifest = {"backup_id": backup["id"], "volume_id": volume["id"], "parent_id": backup["parent_id"],
                        "size_bytes": size, "chunk_size": self.chunk_size, "object_count": stored,
                        "hash": algorithm, "chunks": entries}
            (tmp / MANIFEST).write_text(json.dumps(manifest))
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return ModelUpdate(object_count=stored, container=container)

    def _store_chunks(self, f: BinaryIO, size: int, runs: list[DataRun], tmp: Path,
                      parent: list[dict[str, Any]], backup_id: str, algorithm: str) -> list[dict[str, Any]]:
        """The manifest entries of the volume's chunks (its ``size`` bytes, whose data lies in
        ``f`` as ``runs`` say), the stored ones written into ``tmp``, each with its ``algorithm``
        digest (under that name).

        Chunks outside every run are zeroes with no read at all; the others go to the pool of
        ``backup_chunks`` (read, hashed and written a cache-sized piece at a time, on every core).
        A chunk with no parent chunk to compare with is written as it is hashed; one with a parent
        is hashed first and read again to be written only if it changed."""
        entries: list[dict[str, Any]] = [{}] * -(-size // self.chunk_size)
        fd = f.fileno()

        def store(work: Chunk, buf: bytearray) -> None:
            index, start, end, mine = work
            before = parent[index] if index < len(parent) else None
            path = tmp / f"chunk-{index:06d}"
            opened: list[int] = []

            def out() -> int:
                opened.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                return opened[0]

            try:
                data, hexdigest = stream(fd, pieces(mine, start, end), algorithm,
                                         to_file(out) if before is None else None, buf)
                if not data:  # zeroes written out (not a hole): nothing stored
                    entries[index] = {algorithm: None, "length": end - start, "stored_in": None}
                    return
                if before is not None:
                    if before.get(algorithm) == hexdigest and before["length"] == end - start:
                        entries[index] = before  # unchanged: kept where the parent keeps it
                        return
                    stream(fd, pieces(mine, start, end), None, to_file(out), buf)
                os.ftruncate(opened[0], end - start)  # trailing zero pieces: a hole
            finally:
                for opened_fd in opened:
                    os.close(opened_fd)
            entries[index] = {algorithm: hexdigest, "length": end - start, "stored_in": backup_id, "index": index}

        run_pool(store, data_chunks(runs, size, self.chunk_size, algorithm, entries))
        return entries

    def rebuild(self, backup_id: str, dest: Path) -> int:
        """Write the backup's raw bytes to ``dest`` (sparse for zeroes); returns the size. The
        stored chunks are checked against their digests as they are copied, on the pool of
        ``backup_chunks``; a bad one fails the whole (the caller drops ``dest``)."""
        manifest = self.manifest(backup_id)
        algorithm = hash_of(manifest)
        new_hasher(algorithm)  # fails before any write where the algorithm is not installed
        dirs: dict[str, Path] = {}
        work: list[tuple[Path, int, dict[str, Any]]] = []
        offset = 0
        for entry in manifest["chunks"]:
            owner = entry["stored_in"]
            if owner is not None:
                where = dirs.get(owner) or self._find(owner)
                if where is None:
                    raise VolumeDriverError(f"backup {backup_id} needs backup {owner}, which is gone")
                dirs[owner] = where
                work.append((where / f"chunk-{entry['index']:06d}", offset, entry))
            offset += entry["length"]
        size = int(manifest["size_bytes"])
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.ftruncate(fd, size)  # zero chunks stay holes

            def restore_chunk(item: tuple[Path, int, dict[str, Any]], buf: bytearray) -> None:
                path, at, entry = item
                length = entry["length"]
                with open(path, "rb", buffering=0) as chunk:
                    whole = os.fstat(chunk.fileno()).st_size == length
                    _, hexdigest = stream(chunk.fileno(), pieces([(0, length, 0)], 0, length), algorithm,
                                          to_file(lambda: fd, at), buf) if whole else (False, "")
                if hexdigest != entry[algorithm]:
                    raise VolumeDriverError(f"backup {backup_id}: chunk {entry['index']} is corrupt")

            run_pool(restore_chunk, iter(work))
        finally:
            os.close(fd)
        return size

    def verified_parts(self, backup_id: str) -> list[RawPart] | None:
        """The backup's raw bytes as parts laid end to end — its stored chunk files (each checked
        against its digest, on the pool) and the zero runs between them — for a driver that
        writes a volume from them (no raw copy assembled first); None where the chunks are not
        files here or there are too many parts for one write."""
        manifest = self.manifest(backup_id)
        algorithm = hash_of(manifest)
        new_hasher(algorithm)
        dirs: dict[str, Path] = {}
        parts: list[RawPart] = []
        checks: list[tuple[Path, dict[str, Any]]] = []
        for entry in manifest["chunks"]:
            owner = entry["stored_in"]
            if owner is None:
                if parts and parts[-1][0] is None:  # one zero run, not one part a chunk
                    parts[-1] = (None, parts[-1][1] + entry["length"])
                else:
                    parts.append((None, entry["length"]))
                continue
            where = dirs.get(owner) or self._find(owner)
            if where is None:
                raise VolumeDriverError(f"backup {backup_id} needs backup {owner}, which is gone")
            dirs[owner] = where
            path = where / f"chunk-{entry['index']:06d}"
            parts.append((path, entry["length"]))
            checks.append((path, entry))
        if len(parts) > RAW_PARTS_MAX:
            return None

        def check(item: tuple[Path, dict[str, Any]], buf: bytearray) -> None:
            path, entry = item
            length = entry["length"]
            with open(path, "rb", buffering=0) as chunk:
                whole = os.fstat(chunk.fileno()).st_size == length
                _, hexdigest = stream(chunk.fileno(), pieces([(0, length, 0)], 0, length), algorithm,
                                      None, buf) if whole else (False, "")
            if hexdigest != entry[algorithm]:
                raise VolumeDriverError(f"backup {backup_id}: chunk {entry['index']} is corrupt")

        run_pool(check, iter(checks))
        return parts

    def restore(self, backup: BackupSpec, driver: VolumeDriver, volume: VolumeSpec) -> None:
        if isinstance(driver, WritesRawParts):
            parts = self.verified_parts(backup["id"])
            if parts is not None:
                size = sum(n for _, n in parts)
                if size > volume["size"] * 1024 ** 3:
                    raise VolumeDriverError(f"backup {backup['id']} ({size} bytes) does not fit in volume "
                                            f"{volume['id']} ({volume['size']} GiB)")
                if driver.write_raw_parts(volume, parts):
                    return
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
