"""Backups in the object store (Cinder's swift backup driver), beside the POSIX one.

Container ``volumebackups`` (or the one the backup request names) in the onestack service
user's account; per backup the objects ``backup_<id>/chunk-NNNNNN`` (one per stored chunk of the
volume's raw bytes) and the metadata object ``backup_<id>/manifest`` (the same manifest as the
POSIX store's, each stored chunk also naming its container). The manifest is written last, so a
backup cut off midway has no manifest and is no backup; a retry writes the chunks again.
Incrementals store only the chunks whose digest differs from the parent's and point at the rest.

The agent has no database: it reaches the object store over HTTP through the catalog with the
service user's token. Its methods run in a worker thread (the agent's ``_driver``), so they use a
blocking HTTP client, shared by the chunk pool of ``backup_chunks`` (the POSIX store's pieces and
threads): one chunk in memory per pool thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from onestack.core.config import Config, ConfigError
from onestack.volume.agent.backup_chunks import (
    Chunk,
    data_chunks,
    default_hash,
    digest,
    hash_of,
    new_hasher,
    pieces,
    run_pool,
    stream,
    to_memory,
    write_at,
)
from onestack.volume.agent.backup_store import BackupStore, store_dir
from onestack.volume.agent.driver import (
    DataRun,
    RawPart,
    ReadsDataRuns,
    VolumeDriver,
    VolumeDriverError,
    data_ranges,
)
from onestack.volume.rpcapi import BackupSpec, ModelUpdate, VolumeSpec

SERVICE = "object-store"


def build_backup_store(config: Config) -> BackupStore:
    """The store ``volume.backup_driver`` names: ``posix`` (a directory) or ``swift`` (the object store)."""
    if config.volume.backup_driver == "swift":
        return SwiftBackupStore(config)
    if config.volume.backup_driver != "posix":
        raise ConfigError(f"volume.backup_driver {config.volume.backup_driver!r} is not posix or swift")
    return BackupStore(store_dir(config))


def prefix_of(backup_id: str) -> str:
    return f"backup_{backup_id}/"


class _Swift:
    """Blocking HTTP to the service account, authenticated once per store operation."""

    def __init__(self, config: Config) -> None:
        from onestack.process import service_password  # the composition root knows the secret

        auth = config.auth
        identity = auth.identity_url.rstrip("/") or f"{config.base_url.rstrip('/')}/identity"
        self.http = httpx.Client(timeout=300.0)
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": auth.service_username, "domain": {"id": "default"}, "password": service_password(config)}}},
            "scope": {"project": {"name": auth.service_project, "domain": {"id": "default"}}},
        }}
        try:
            resp = self.http.post(f"{identity}/v3/auth/tokens", json=body)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            self.http.close()
            raise VolumeDriverError(f"cannot authenticate to reach the object store: {exc}") from exc
        self.token = resp.headers["X-Subject-Token"]
        self.account = ""
        for entry in resp.json()["token"].get("catalog", []):
            for ep in entry.get("endpoints", []):
                if entry.get("type") == SERVICE and ep.get("interface") == "public" and (
                        not config.bootstrap.region or ep.get("region_id") == config.bootstrap.region):
                    self.account = str(ep["url"]).rstrip("/")
        if not self.account:
            self.http.close()
            raise VolumeDriverError("the catalog has no public object-store endpoint")

    def call(self, method: str, container: str, obj: str | None = None, **kwargs: Any) -> httpx.Response:
        url = self.account + (f"/{quote(container, safe='')}" if container else "") + (
            "" if obj is None else f"/{quote(obj)}")
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        try:
            return self.http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise VolumeDriverError(f"object store: {method} {container}/{obj or ''}: {exc}") from exc

    def expect(self, resp: httpx.Response, *ok: int) -> httpx.Response:
        if resp.status_code not in ok:
            raise VolumeDriverError(f"object store answered {resp.status_code} to {resp.request.method} "
                                    f"{resp.request.url.path}: {resp.text[:200]}")
        return resp

    def names(self, container: str, prefix: str) -> list[str]:
        found: list[str] = []
        while True:
            params = {"format": "json", "prefix": prefix, **({"marker": found[-1]} if found else {})}
            resp = self.call("GET", container, params=params)
            if resp.status_code in (204, 404):
                return found
            rows = self.expect(resp, 200).json()
            if not rows:
                return found
            found.extend(str(row["name"]) for row in rows)

    def close(self) -> None:
        self.http.close()


class SwiftBackupStore(BackupStore):
    """The POSIX store's manifest and restore, with chunks and manifest as objects."""

    def __init__(self, config: Config) -> None:
        # The local root only holds a restore's temporary raw file (BackupStore.restore).
        super().__init__(config.data_dir / "backups-swift-scratch", config.volume.backup_swift_object_size)
        self.config = config

    @contextlib.contextmanager
    def _swift(self) -> Iterator[_Swift]:
        swift = _Swift(self.config)
        try:
            yield swift
        finally:
            swift.close()

    def _manifest_in(self, swift: _Swift, container: str, backup_id: str) -> dict[str, Any] | None:
        resp = swift.call("GET", container, prefix_of(backup_id) + "manifest")
        if resp.status_code == 404:
            return None
        body: dict[str, Any] = swift.expect(resp, 200).json()
        return body

    def _containers(self, swift: _Swift, hint: str | None) -> list[str]:
        """Where a backup may be: the hint, the default container, then every container of the account."""
        resp = swift.call("GET", "", params={"format": "json"})  # the account listing
        listed = [str(row["name"]) for row in resp.json()] if resp.status_code == 200 else []
        order = [hint or "", self.container_of({"container": None}), *listed]  # type: ignore[typeddict-item]
        return [c for i, c in enumerate(order) if c and c not in order[:i]]

    def _find_manifest(self, swift: _Swift, backup_id: str, hint: str | None = None) -> tuple[str, dict[str, Any]]:
        for container in self._containers(swift, hint):
            manifest = self._manifest_in(swift, container, backup_id)
            if manifest is not None:
                return container, manifest
        raise VolumeDriverError(f"backup {backup_id} is not in the object store")

    def manifest(self, backup_id: str) -> dict[str, Any]:
        with self._swift() as swift:
            return self._find_manifest(swift, backup_id)[1]

    def backup(self, backup: BackupSpec, driver: VolumeDriver, volume: VolumeSpec) -> ModelUpdate:
        container = self.container_of(backup)
        with self._swift() as swift:
            done = self._manifest_in(swift, container, backup["id"])
            if done is not None:  # done before (the report was lost)
                return ModelUpdate(object_count=int(done["object_count"]), container=container)
            swift.expect(swift.call("PUT", container), 201, 202, 204)
            parent: list[dict[str, Any]] = []
            algorithm = default_hash()
            if backup["is_incremental"] and backup["parent_id"]:
                above = self._find_manifest(swift, backup["parent_id"], container)[1]
                parent, algorithm = above["chunks"], hash_of(above)  # a chain keeps one algorithm
            if isinstance(driver, ReadsDataRuns):  # a snapshot's backup reads the snapshot
                with driver.read_data_runs(volume, backup["snapshot_id"]) as (f, size, runs):
                    entries = self._put_chunks(swift, container, f, size, runs, parent, backup["id"], algorithm)
            else:
                with driver.read_raw(volume, backup["snapshot_id"]) as f:
                    size = os.fstat(f.fileno()).st_size
                    runs = [(a, b, a) for a, b in data_ranges(f.fileno(), size)]
                    entries = self._put_chunks(swift, container, f, size, runs, parent, backup["id"], algorithm)
            stored = sum(1 for e in entries if e["stored_in"] == backup["id"])
            manifest = {"backup_id": backup["id"], "volume_id": volume["id"], "parent_id": backup["parent_id"],
                        "size_bytes": size, "chunk_size": self.chunk_size, "object_count": stored,
                        "hash": algorithm, "chunks": entries}
            swift.expect(swift.call("PUT", container, prefix_of(backup["id"]) + "manifest",
                                    content=json.dumps(manifest).encode(),
                                    headers={"Content-Type": "application/json"}), 201)
        return ModelUpdate(object_count=stored, container=container)

    def _put_chunks(self, swift: _Swift, container: str, f: BinaryIO, size: int, runs: list[DataRun],
                    parent: list[dict[str, Any]], backup_id: str, algorithm: str) -> list[dict[str, Any]]:
        """One object per chunk that holds data and differs from the parent's (zero chunks are
        not read). The chunks are split, read, zero-checked and hashed as the POSIX store does
        (``backup_chunks``: pieces, on its pool), each gathered into its thread's buffer for the PUT."""
        entries: list[dict[str, Any]] = [{}] * -(-size // self.chunk_size)
        fd = f.fileno()
        local = threading.local()

        def put(work: Chunk, buf: bytearray) -> None:
            index, start, end, mine = work
            length = end - start
            if not hasattr(local, "body"):
                local.body = bytearray(self.chunk_size)  # one chunk in memory a thread
            body = memoryview(local.body)[:length]
            body[:] = bytes(length)  # gaps and zero pieces are not copied in
            data, hexdigest = stream(fd, pieces(mine, start, end), algorithm, to_memory(body), buf)
            before = parent[index] if index < len(parent) else None
            if not data:
                entries[index] = {algorithm: None, "length": length, "stored_in": None}
            elif before is not None and before.get(algorithm) == hexdigest and before["length"] == length:
                entries[index] = before  # unchanged: kept where the parent keeps it
            else:
                content = bytes(body)
                swift.expect(swift.call("PUT", container, f"{prefix_of(backup_id)}chunk-{index:06d}", content=content,
                                        headers={"ETag": hashlib.md5(content, usedforsecurity=False).hexdigest()}),
                             201)
                entries[index] = {algorithm: hexdigest, "length": length, "stored_in": backup_id, "index": index,
                                  "container": container}

        run_pool(put, data_chunks(runs, size, self.chunk_size, algorithm, entries))
        return entries

    def verified_parts(self, backup_id: str) -> list[RawPart] | None:
        return None  # the chunks are objects, not files here: restore downloads them (rebuild)

    def rebuild(self, backup_id: str, dest: Path) -> int:
        """The backup's raw bytes into ``dest`` (sparse for zero chunks): the objects fetched,
        checked against their digests and written at their offsets on the chunk pool."""
        with self._swift() as swift:
            manifest = self._find_manifest(swift, backup_id)[1]
            algorithm = hash_of(manifest)
            new_hasher(algorithm)  # fails before any download where the algorithm is not installed
            work: list[tuple[int, dict[str, Any]]] = []
            offset = 0
            for entry in manifest["chunks"]:
                if entry["stored_in"] is not None:
                    work.append((offset, entry))
                offset += entry["length"]
            size = int(manifest["size_bytes"])
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.ftruncate(fd, size)

                def fetch(item: tuple[int, dict[str, Any]], buf: bytearray) -> None:
                    at, entry = item
                    name = f"{prefix_of(entry['stored_in'])}chunk-{entry['index']:06d}"
                    resp = swift.call("GET", entry.get("container") or self.container_of(
                        {"container": None}), name)  # type: ignore[typeddict-item]
                    if resp.status_code == 404:
                        raise VolumeDriverError(f"backup {backup_id} needs backup {entry['stored_in']}, which is gone")
                    piece = swift.expect(resp, 200).content
                    if len(piece) != entry["length"] or digest(algorithm, piece) != entry[algorithm]:
                        raise VolumeDriverError(f"backup {backup_id}: chunk {entry['index']} is corrupt")
                    write_at(fd, memoryview(piece), at)

                run_pool(fetch, iter(work))
            finally:
                os.close(fd)
        return size

    def delete(self, backup: BackupSpec) -> None:
        """The manifest first (no half backup looks whole), then every object under the backup's prefix."""
        with self._swift() as swift:
            try:
                container, _ = self._find_manifest(swift, backup["id"], backup["container"])
            except VolumeDriverError:
                container = self.container_of(backup)  # no manifest: a cut-off backup's chunks may remain
            swift.expect(swift.call("DELETE", container, prefix_of(backup["id"]) + "manifest"), 204, 404)
            for name in swift.names(container, prefix_of(backup["id"])):
                swift.expect(swift.call("DELETE", container, name), 204, 404)
