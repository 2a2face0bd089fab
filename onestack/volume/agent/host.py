"""One host's volume agent (Cinder's ``cinder-volume`` and ``cinder-backup`` of a host).

It serves ``VolumeAgentAPI`` on the route of its host name, runs every driver call in a thread,
and reports the end of each piece of work through ``VolumeServerAPI``; it holds no database.
Each accepted piece of work is first written to a journal (``<data dir>/volumes/<host>/.journal``)
and removed from it only once the server has heard the outcome, so work cut short by a crash, or
whose report was lost, is done again (driver calls are idempotent) by the reconcile pass
(``agent/reconcile.py``): at start, every ``volume.reconcile_interval`` seconds, and on the
``resync`` fanout. Heartbeats (``report_state``, with each backend's capacity) go every
``volume.report_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.rpc import serve
from onestack.core.service import wait_event
from onestack.volume.agent import reconcile
from onestack.volume.agent.backup_store import BackupStore
from onestack.volume.agent.driver import ManageExisting, VolumeDriver, VolumeDriverError
from onestack.volume.agent.images import ImageTransfer
from onestack.volume.rpcapi import (
    BackendReport,
    BackupSpec,
    ConnectionInfo,
    DesiredState,
    ModelUpdate,
    SnapshotSpec,
    SourceSpec,
    VolumeAgentAPI,
    VolumeServerAPI,
    VolumeSpec,
)

log = logging.getLogger("onestack.volume.agent")


def backend_name(host: str) -> str:
    """``backend`` of ``node@backend#pool``."""
    return host.split("#", 1)[0].split("@", 1)[-1]


class VolumeAgent:
    server_api: type[VolumeServerAPI] = VolumeServerAPI
    agent_api: type[VolumeAgentAPI] = VolumeAgentAPI

    def __init__(self, config: Config, host: str, drivers: list[VolumeDriver], bus: Bus,
                 images: ImageTransfer | None = None, backups: BackupStore | None = None) -> None:
        self.config = config
        self.host = host
        self.drivers = {d.backend: d for d in drivers}
        self.bus = bus
        self.images = images
        self.backups = backups
        self.server = self.server_api(bus, timeout=config.volume.rpc_timeout)
        self.journal_dir = config.data_dir / "volumes" / host / ".journal"
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        # Seconds a volume may sit in creating here with no disk and no journal (its cast may be
        # on its way), and a file with no row may stay (its row may be on its way), before the
        # reconcile pass acts.
        self.grace = max(5.0, 6 * config.volume.reconcile_interval)
        self._busy: dict[str, int] = {}  # id → pieces of work accepted and not finished
        self.first_seen: dict[str, float] = {}  # id → when a pass first saw it waiting (monotonic)
        self.passes = 0
        self.last_desired: DesiredState | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[Any]] = []
        self._work: set[asyncio.Task[Any]] = set()
        # volume id → its snapshots' deletes running here: a cascade delete casts them before the
        # volume's, and the volume goes after them, as Cinder's does (the volume gone, so are they).
        self._snapshot_deletes: dict[str, set[asyncio.Task[Any]]] = {}
        self._serving: Subscription | None = None

    async def start(self) -> None:
        self._serving = await serve(self.bus, self.agent_api, self, route=self.host)
        self._wake.set()  # the first pass runs at once
        self._loops = [asyncio.create_task(self._heartbeats(), name=f"volume-heartbeat-{self.host}"),
                       asyncio.create_task(self._reconciling(), name=f"volume-reconcile-{self.host}")]

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        self._stopping.set()
        self._wake.set()
        for task in [*self._loops, *self._work]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._work, return_exceptions=True)

    # --- plumbing ------------------------------------------------------------------------------

    def driver_for(self, volume: VolumeSpec) -> VolumeDriver:
        name = backend_name(volume["host"])
        driver = self.drivers.get(name)
        if driver is None:
            raise VolumeDriverError(f"host {self.host} has no backend {name!r}")
        return driver

    def _journal_path(self, obj_id: str, method: str) -> Path:
        return self.journal_dir / f"{obj_id}.{method}.json"

    def journal(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Accepted work not yet reported: (object id, method, keyword arguments), oldest first."""
        out: list[tuple[float, str, str, dict[str, Any]]] = []
        for entry in os.scandir(self.journal_dir):
            if entry.name.endswith(".tmp"):
                # An entry a crash cut off before its rename: the work was never accepted, and the
                # pass decides from the rows. (A live write renames before anything else runs.)
                Path(entry.path).unlink(missing_ok=True)
                continue
            if not entry.name.endswith(".json"):
                continue
            try:
                body = json.loads(Path(entry.path).read_text())
            except (OSError, ValueError):
                Path(entry.path).unlink(missing_ok=True)  # torn by a crash mid-write: the pass decides anew
                continue
            out.append((entry.stat().st_mtime, body["id"], body["method"], body["kwargs"]))
        return [(i, m, k) for _, i, m, k in sorted(out, key=lambda t: (t[0], t[1]))]

    def _write_journal(self, obj_id: str, method: str, kwargs: dict[str, Any]) -> None:
        path = self._journal_path(obj_id, method)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"id": obj_id, "method": method, "kwargs": kwargs}))
        os.replace(tmp, path)

    def _forget(self, obj_id: str, method: str) -> None:
        self._journal_path(obj_id, method).unlink(missing_ok=True)

    async def run(self, obj_id: str, method: str, kwargs: dict[str, Any]) -> None:
        """Do one piece of work on one object (one at a time per object) and report it; the
        journal entry goes once the report got through."""
        lock = self._locks.setdefault(obj_id, asyncio.Lock())
        try:
            async with lock:
                await getattr(self, f"_do_{method}")(**kwargs)
                self._forget(obj_id, method)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the report failed: the journal keeps the work for the next pass
            log.warning("%s: %s %s not reported (the next pass retries): %s", self.host, method, obj_id, exc)
        finally:
            self._done(obj_id)

    def _done(self, obj_id: str) -> None:
        self._busy[obj_id] -= 1
        if not self._busy[obj_id]:
            del self._busy[obj_id]
            self._locks.pop(obj_id, None)

    @property
    def busy(self) -> set[str]:
        """Ids with work accepted and not finished (their temporary files are in use)."""
        return set(self._busy)

    def spawn(self, obj_id: str, method: str, kwargs: dict[str, Any]) -> None:
        """Do the work in the background (``run``)."""
        self._busy[obj_id] = self._busy.get(obj_id, 0) + 1
        task = asyncio.create_task(self.run(obj_id, method, kwargs), name=f"volume-{method}-{obj_id}")
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        if method == "delete_snapshot":
            volume_id = kwargs["volume"]["id"]
            self._snapshot_deletes.setdefault(volume_id, set()).add(task)
            task.add_done_callback(lambda done: self._snapshot_done(volume_id, done))

    def _snapshot_done(self, volume_id: str, task: asyncio.Task[Any]) -> None:
        tasks = self._snapshot_deletes.get(volume_id, set())
        tasks.discard(task)
        if not tasks:
            self._snapshot_deletes.pop(volume_id, None)

    def _accept(self, obj_id: str, method: str, kwargs: dict[str, Any]) -> None:
        """Journal the work, then do it in the background: a cast's handler returns at once."""
        self._write_journal(obj_id, method, kwargs)
        self.spawn(obj_id, method, kwargs)

    async def _driver(self, fn: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
        """(result, None) or (None, the error), the call run in a thread."""
        try:
            return await asyncio.to_thread(fn, *args), None
        except Exception as exc:  # noqa: BLE001 - a failed driver call is reported, never raised at the bus
            log.warning("%s: %s failed: %s", self.host, getattr(fn, "__name__", fn), exc)
            return None, str(exc) or type(exc).__name__

    # --- VolumeAgentAPI --------------------------------------------------------------------------

    async def create_volume(self, volume: VolumeSpec, source: SourceSpec) -> None:
        self._accept(volume["id"], "create_volume", {"volume": volume, "source": source})

    async def delete_volume(self, volume: VolumeSpec) -> None:
        self._accept(volume["id"], "delete_volume", {"volume": volume})

    async def extend_volume(self, volume: VolumeSpec, new_size: int) -> None:
        self._accept(volume["id"], "extend_volume", {"volume": volume, "new_size": new_size})

    async def create_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec) -> None:
        self._accept(snapshot["id"], "create_snapshot", {"snapshot": snapshot, "volume": volume})

    async def delete_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec) -> None:
        self._accept(snapshot["id"], "delete_snapshot", {"snapshot": snapshot, "volume": volume})

    async def revert_to_snapshot(self, volume: VolumeSpec, snapshot: SnapshotSpec) -> None:
        self._accept(volume["id"], "revert_to_snapshot", {"volume": volume, "snapshot": snapshot})

    async def initialize_connection(self, volume: VolumeSpec, connector: dict[str, Any]) -> ConnectionInfo:
        driver = self.driver_for(volume)
        info: ConnectionInfo = await asyncio.to_thread(driver.initialize_connection, volume, connector)
        return info

    async def update_migrated_volume(self, volume: VolumeSpec, new_volume: VolumeSpec) -> ModelUpdate:
        update: ModelUpdate = await asyncio.to_thread(self.driver_for(new_volume).update_migrated_volume, volume,
                                                      new_volume)
        return update

    async def terminate_connection(self, volume: VolumeSpec, connector: dict[str, Any]) -> None:
        driver = self.driver_for(volume)
        await asyncio.to_thread(driver.terminate_connection, volume, connector)

    async def copy_volume_to_image(self, volume: VolumeSpec, image_id: str, disk_format: str) -> None:
        self._accept(volume["id"], "copy_volume_to_image",
                     {"volume": volume, "image_id": image_id, "disk_format": disk_format})

    async def reimage(self, volume: VolumeSpec, image_id: str) -> None:
        self._accept(volume["id"], "reimage", {"volume": volume, "image_id": image_id})

    async def create_backup(self, backup: BackupSpec, volume: VolumeSpec) -> None:
        self._accept(backup["id"], "create_backup", {"backup": backup, "volume": volume})

    async def restore_backup(self, backup: BackupSpec, volume: VolumeSpec) -> None:
        self._accept(volume["id"], "restore_backup", {"backup": backup, "volume": volume})

    async def delete_backup(self, backup: BackupSpec) -> None:
        self._accept(backup["id"], "delete_backup", {"backup": backup})

    async def manage_existing(self, volume: VolumeSpec, ref: dict[str, Any]) -> None:
        self._accept(volume["id"], "manage_existing", {"volume": volume, "ref": ref})

    async def manage_existing_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec, ref: dict[str, Any]) -> None:
        self._accept(snapshot["id"], "manage_existing_snapshot", {"snapshot": snapshot, "volume": volume, "ref": ref})

    async def list_manageable(self, backend: str, kind: str) -> list[dict[str, Any]]:
        driver = self.drivers.get(backend)
        if not isinstance(driver, ManageExisting):
            return []
        found: list[dict[str, Any]] = await asyncio.to_thread(driver.list_manageable, kind)
        return found

    async def resync(self, hosts: list[str] | None = None) -> None:
        if hosts is None or self.host in hosts:
            self._wake.set()

    # --- the work (each ends with its report) -------------------------------------------------------

    async def _do_create_volume(self, volume: VolumeSpec, source: SourceSpec) -> None:
        update: ModelUpdate | None
        try:
            driver = self.driver_for(volume)
        except VolumeDriverError as exc:
            await self.server.volume_created(volume["id"], {}, str(exc))
            return
        if "snapshot" in source:
            update, error = await self._driver(driver.create_volume_from_snapshot, volume, source["snapshot"])
        elif "volume" in source:
            update, error = await self._driver(driver.create_cloned_volume, volume, source["volume"])
        elif "image_id" in source:
            update, error = await self._from_image(driver, volume, source["image_id"])
        elif "backup" in source:
            update, error = await self._from_backup(driver, volume, source["backup"])
        else:
            update, error = await self._driver(driver.create_volume, volume)
        if error is not None:
            # Nothing half-made stays: the volume is in error and its row's deletion removes it.
            await self._driver(driver.delete_volume, volume)
        await self.server.volume_created(volume["id"], update or {}, error)

    async def _from_image(self, driver: VolumeDriver, volume: VolumeSpec, image_id: str) -> tuple[ModelUpdate | None, str | None]:
        if self.images is None:
            return None, "this agent has no image service"
        try:
            update = await self.images.create_from_image(driver, volume, image_id)
        except Exception as exc:  # noqa: BLE001 - reported as the volume's error
            log.warning("%s: volume %s from image %s failed: %s", self.host, volume["id"], image_id, exc)
            return None, str(exc) or type(exc).__name__
        return update, None

    async def _from_backup(self, driver: VolumeDriver, volume: VolumeSpec, backup: BackupSpec) -> tuple[ModelUpdate | None, str | None]:
        if self.backups is None:
            return None, "this agent has no backup store"
        _, error = await self._driver(driver.create_volume, volume)
        if error is None:
            _, error = await self._driver(self.backups.restore, backup, driver, volume)
        return (None, error) if error else (driver_update(driver, volume), None)

    async def _do_delete_volume(self, volume: VolumeSpec) -> None:
        snapshots = self._snapshot_deletes.get(volume["id"])
        if snapshots:
            await asyncio.wait(set(snapshots))
        try:
            driver = self.driver_for(volume)
        except VolumeDriverError:
            await self.server.volume_deleted(volume["id"], None)  # no backend here: nothing to remove
            return
        _, error = await self._driver(driver.delete_volume, volume)
        await self.server.volume_deleted(volume["id"], error)

    async def _do_extend_volume(self, volume: VolumeSpec, new_size: int) -> None:
        _, error = await self._driver(lambda: self.driver_for(volume).extend_volume(volume, new_size))
        await self.server.volume_extended(volume["id"], new_size, error)

    async def _do_create_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec) -> None:
        update, error = await self._driver(lambda: self.driver_for(volume).create_snapshot(snapshot, volume))
        await self.server.snapshot_created(snapshot["id"], update or ModelUpdate(), error)

    async def _do_delete_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec) -> None:
        _, error = await self._driver(lambda: self.driver_for(volume).delete_snapshot(snapshot))
        await self.server.snapshot_deleted(snapshot["id"], error)

    async def _do_revert_to_snapshot(self, volume: VolumeSpec, snapshot: SnapshotSpec) -> None:
        _, error = await self._driver(lambda: self.driver_for(volume).revert_to_snapshot(volume, snapshot))
        await self.server.volume_reverted(volume["id"], snapshot["id"], error)

    async def _do_copy_volume_to_image(self, volume: VolumeSpec, image_id: str, disk_format: str) -> None:
        error: str | None = None
        if self.images is None:
            error = "this agent has no image service"
        else:
            try:
                await self.images.upload_volume(self.driver_for(volume), volume, image_id, disk_format)
            except Exception as exc:  # noqa: BLE001 - reported to the server
                log.warning("%s: upload of volume %s to image %s failed: %s", self.host, volume["id"], image_id, exc)
                error = str(exc) or type(exc).__name__
        await self.server.image_uploaded(volume["id"], image_id, error)

    async def _do_reimage(self, volume: VolumeSpec, image_id: str) -> None:
        # The image is written beside the disk and replaces it whole: a failure leaves the old data.
        try:
            driver = self.driver_for(volume)
        except VolumeDriverError as exc:
            await self.server.volume_reimaged(volume["id"], {}, str(exc))
            return
        update, error = await self._from_image(driver, volume, image_id)
        await self.server.volume_reimaged(volume["id"], update or {}, error)

    async def _do_create_backup(self, backup: BackupSpec, volume: VolumeSpec) -> None:
        if self.backups is None:
            await self.server.backup_created(backup["id"], {}, "this agent has no backup store")
            return
        store = self.backups
        # The volume's raw copy is a temporary named after the volume: keep the pass off it.
        self._busy[volume["id"]] = self._busy.get(volume["id"], 0) + 1
        try:
            update, error = await self._driver(lambda: store.backup(backup, self.driver_for(volume), volume))
        finally:
            self._done(volume["id"])
        await self.server.backup_created(backup["id"], update or ModelUpdate(), error)

    async def _do_restore_backup(self, backup: BackupSpec, volume: VolumeSpec) -> None:
        if self.backups is None:
            await self.server.backup_restored(backup["id"], volume["id"], "this agent has no backup store")
            return
        store = self.backups
        _, error = await self._driver(lambda: store.restore(backup, self.driver_for(volume), volume))
        await self.server.backup_restored(backup["id"], volume["id"], error)

    def _manager_for(self, volume: VolumeSpec) -> ManageExisting:
        driver = self.driver_for(volume)
        if not isinstance(driver, ManageExisting):
            raise VolumeDriverError(f"backend {driver.backend} cannot manage existing volumes")
        return driver

    async def _do_manage_existing(self, volume: VolumeSpec, ref: dict[str, Any]) -> None:
        update, error = await self._driver(lambda: self._manager_for(volume).manage_existing(volume, ref))
        await self.server.volume_managed(volume["id"], update or ModelUpdate(), error)

    async def _do_manage_existing_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec, ref: dict[str, Any]) -> None:
        update, error = await self._driver(
            lambda: self._manager_for(volume).manage_existing_snapshot(snapshot, volume, ref))
        await self.server.snapshot_managed(snapshot["id"], update or ModelUpdate(), error)

    async def _do_delete_backup(self, backup: BackupSpec) -> None:
        if self.backups is None:
            await self.server.backup_deleted(backup["id"], None)
            return
        _, error = await self._driver(self.backups.delete, backup)
        await self.server.backup_deleted(backup["id"], error)

    # --- loops -------------------------------------------------------------------------------------

    def backend_reports(self) -> list[BackendReport]:
        allocated: dict[str, int] = {}
        for v in (self.last_desired or {"volumes": []})["volumes"]:
            name = backend_name(v["host"])
            allocated[name] = allocated.get(name, 0) + v["size"]
        return [BackendReport(backend_host=f"{self.host}@{name}",
                              availability_zone=self.config.volume.storage_availability_zone,
                              pools=driver.pools(allocated.get(name, 0)))
                for name, driver in sorted(self.drivers.items())]

    async def report(self) -> None:
        backends = await asyncio.to_thread(self.backend_reports)
        await self.server.report_state(self.host, backends)

    async def reconcile(self) -> None:
        await reconcile.run_pass(self)
        self.passes += 1

    async def _heartbeats(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.report()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the server is away: the next heartbeat tries again
                log.warning("%s: volume heartbeat failed: %s", self.host, exc)
            await wait_event(self._stopping, self.config.volume.report_interval)

    async def _reconciling(self) -> None:
        while not self._stopping.is_set():
            await wait_event(self._wake, self.config.volume.reconcile_interval)
            if self._stopping.is_set():
                return
            self._wake.clear()
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad pass must not stop the loop
                log.warning("%s: volume reconcile pass failed: %s", self.host, exc)


def driver_update(driver: VolumeDriver, volume: VolumeSpec) -> ModelUpdate:
    """What a made volume's row records: where the driver keeps it."""
    info = driver.initialize_connection(volume, {})
    return ModelUpdate(provider_location=str(info["data"].get("device_path", "")))
