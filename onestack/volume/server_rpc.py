"""The server's side of the volume agents' bus: ``VolumeServerAPI`` answered with the database.

Runs in every process that runs the volume API (a worker of that service, app.py). Agents hold
no database credentials: they report their backends and pools (``report_state``), ask what
their host should have (``desired_state``, for their reconcile pass), and report the end of
each piece of work; service/completions.py turns each report into the row transition.

After an attached volume was extended, compute hears ``volume-extended`` for each server
(``POST /os-server-external-events``, microversion 2.51, as Cinder's nova notifier sends it);
after a failed upload the queued image is deleted. Both are best effort, after the commit: the
report they follow has been recorded already.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from onestack.core.bus import Bus, Subscription
from onestack.core.db import Database
from onestack.core.rpc import serve
from onestack.volume.rpcapi import (
    BackendReport,
    DesiredState,
    ModelUpdate,
    VolumeAgentAPI,
    VolumeServerAPI,
    VolumeSpec,
)
from onestack.volume.service import completions, heartbeats, migrate_attached, migration, reimage
from onestack.volume.service.specs import agent_host

log = logging.getLogger("onestack.volume.server_rpc")

# The microversion that knows volume-extended (Nova 2.51).
_EVENTS_VERSION = "2.51"


class Session(Protocol):
    async def request(self, method: str, path: str, *, service: str, **kwargs: Any) -> Any: ...


class Images(Protocol):
    async def delete(self, image_id: str) -> None: ...


async def notify_extended(session: Session | None, volume_id: str, servers: list[str]) -> None:
    """Tell compute the volume grew under each server (best effort)."""
    await notify_compute(session, "volume-extended", volume_id, servers, _EVENTS_VERSION)


async def notify_compute(session: Session | None, name: str, volume_id: str, servers: list[str],
                         version: str) -> None:
    """Send compute the external event ``name`` for the volume under each server (best effort)."""
    if session is None or not servers:
        return
    events = [{"name": name, "server_uuid": server, "tag": volume_id} for server in servers]
    try:
        resp = await session.request(
            "POST", "/os-server-external-events", service="compute", json={"events": events},
            headers={"OpenStack-API-Version": f"compute {version}", "X-OpenStack-Nova-API-Version": version})
    except Exception as exc:  # noqa: BLE001 - no compute in this cloud, or it is away
        log.warning("%s for volume %s not delivered: %s", name, volume_id, exc)
        return
    if resp.status_code not in (200, 207, 404):
        log.warning("compute refused %s for %s (%s): %s", name, volume_id, resp.status_code, resp.text[:200])


class VolumeServer:
    """``VolumeServerAPI``'s implementation; a worker of the volume API service."""

    def __init__(self, db: Database, bus: Bus, session: Callable[[], Session | None] | None = None,
                 images: Callable[[], Images | None] | None = None) -> None:
        self.db = db
        self.bus = bus
        # Callables: the process assembles its clients after building the services.
        self._session = session
        self._images = images
        self.agents = VolumeAgentAPI(bus)
        self._serving: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._serving = await serve(self.bus, VolumeServerAPI, self)

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """The agent's report does not wait for compute or the image service to answer."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- VolumeServerAPI ---------------------------------------------------------------------------

    async def report_state(self, host: str, backends: list[BackendReport]) -> None:
        try:
            await self.db.write(heartbeats.report_state, host, backends)
        except IntegrityError:
            # Two first registrations at once (another API process, the scheduler) took the same
            # service id or pool name: the other one is committed now, so once more succeeds.
            await self.db.write(heartbeats.report_state, host, backends)

    async def desired_state(self, host: str) -> DesiredState:
        return await self.db.read(migration.desired_state, host)

    async def volume_created(self, volume_id: str, update: ModelUpdate, error: str | None) -> None:
        done = await self.db.write(completions.volume_created_report, volume_id, update or ModelUpdate(), error)
        if done.old is not None:  # a migration's copy is made: the disk it came from goes
            self._background(self._delete_old_disk(done.old))
        if done.swap is not None:  # an attached volume's copy is made: compute moves its servers onto it
            self._background(self._swap(done.swap))

    async def _swap(self, swap: migrate_attached.Swap) -> None:
        """Compute's swap for each server (as the service user); compute then calls
        ``os-migrate_volume_completion``. A refusal ends the migration ``error``."""
        session = self._session() if self._session is not None else None
        reason = ("the copy failed" if swap.copy_failed else "no compute service" if session is None
                  else None if swap.servers else "no server has it attached")
        for server in swap.servers:
            if session is None or reason:
                break
            try:
                resp = await session.request(
                    "PUT", f"/servers/{server}/os-volume_attachments/{swap.old_id}", service="compute",
                    json={"volumeAttachment": {"volumeId": swap.new_id}})
                if resp.status_code != 202:
                    reason = f"{resp.status_code} {resp.text[:200]}"
            except Exception as exc:  # noqa: BLE001 - compute away: the migration fails, the volume stays
                reason = str(exc) or type(exc).__name__
            if reason:
                break
        if reason is None:
            return
        log.warning("volume %s: compute did not swap to %s: %s", swap.old_id, swap.new_id, reason)
        target = await self.db.write(migrate_attached.failed, swap.old_id, swap.new_id)
        if target is not None:
            await self._delete_old_disk(target)

    async def _delete_old_disk(self, old: VolumeSpec) -> None:
        try:
            await self.agents.delete_volume(host=agent_host(old["host"]) or "", volume=old)
        except Exception as exc:  # noqa: BLE001 - best effort: the disk stays, the volume is fine
            log.warning("old disk of migrated volume %s not deleted: %s", old["id"], exc)

    async def volume_deleted(self, volume_id: str, error: str | None) -> None:
        await self.db.write(completions.volume_deleted, volume_id, error)

    async def volume_extended(self, volume_id: str, new_size: int, error: str | None) -> None:
        done = await self.db.write(completions.volume_extended, volume_id, new_size, error)
        if done is not None and done.servers:
            session = self._session() if self._session is not None else None
            self._background(notify_extended(session, volume_id, done.servers))

    async def volume_reverted(self, volume_id: str, snapshot_id: str, error: str | None) -> None:
        await self.db.write(completions.volume_reverted, volume_id, snapshot_id, error)

    async def volume_reimaged(self, volume_id: str, update: ModelUpdate, error: str | None) -> None:
        done = await self.db.write(reimage.finish, volume_id, update or ModelUpdate(), error)
        if done.servers:
            session = self._session() if self._session is not None else None
            # Nova's rebuild of a volume-backed server waits for this event (2.93).
            self._background(notify_compute(session, "volume-reimaged", volume_id, done.servers, "2.93"))

    async def snapshot_created(self, snapshot_id: str, update: ModelUpdate, error: str | None) -> None:
        await self.db.write(completions.snapshot_created, snapshot_id, update or ModelUpdate(), error)

    async def snapshot_deleted(self, snapshot_id: str, error: str | None) -> None:
        await self.db.write(completions.snapshot_deleted, snapshot_id, error)

    async def volume_managed(self, volume_id: str, update: ModelUpdate, error: str | None) -> None:
        await self.db.write(completions.volume_managed, volume_id, update or ModelUpdate(), error)

    async def snapshot_managed(self, snapshot_id: str, update: ModelUpdate, error: str | None) -> None:
        await self.db.write(completions.snapshot_managed, snapshot_id, update or ModelUpdate(), error)

    async def image_uploaded(self, volume_id: str, image_id: str, error: str | None) -> None:
        failed = await self.db.write(completions.image_uploaded, volume_id, image_id, error)
        if failed:
            images = self._images() if self._images is not None else None
            if images is not None:
                self._background(_delete_image(images, image_id))

    async def backup_created(self, backup_id: str, update: ModelUpdate, error: str | None) -> None:
        await self.db.write(completions.backup_created, backup_id, update or ModelUpdate(), error)

    async def backup_restored(self, backup_id: str, volume_id: str, error: str | None) -> None:
        await self.db.write(completions.backup_restored, backup_id, volume_id, error)

    async def backup_deleted(self, backup_id: str, error: str | None) -> None:
        await self.db.write(completions.backup_deleted, backup_id, error)


async def _delete_image(images: Images, image_id: str) -> None:
    try:
        await images.delete(image_id)
    except Exception as exc:  # noqa: BLE001 - best effort: an orphan queued image is visible and deletable
        log.warning("image %s of a failed upload not deleted: %s", image_id, exc)
