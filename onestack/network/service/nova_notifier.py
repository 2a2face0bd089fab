"""Telling compute what happened to a server's ports: Neutron's nova notifier.

The events, each for a port of a server (device_owner ``compute:*``, device_id the server's UUID),
tagged with the port's id, POSTed to compute's ``/v2.1/os-server-external-events`` as the service
user (contracts.md item 3):

- ``network-vif-plugged`` / ``network-vif-unplugged``: the agent reported the port wired (ACTIVE) /
  taken off (ACTIVE → DOWN) — server_rpc.py; a booting server waits for the former;
- ``network-changed``: a floating IP was associated with or disassociated from the port (both
  ports when it moves), the port's fixed IPs changed, or its device changed (the old server and
  the new one) — compute refreshes the server's info cache, so ``addresses`` follows at once;
- ``network-vif-deleted``: the port was deleted — compute drops it from the server.

The service layer queues events in its write's session (``port_changed`` ...); ``Notifier`` takes
them when the transaction commits and sends each write's events as one request, in the
background. Delivery is best effort, as in Neutron: a failure is logged, the API call it came
from has succeeded already; compute's periodic heal of its caches covers a lost event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session as DbSession

from onestack.core.db import Database
from onestack.network import models
from onestack.network.service.port_status import ACTIVE, Changed

log = logging.getLogger("onestack.network.nova_notifier")

PLUGGED, UNPLUGGED = "network-vif-plugged", "network-vif-unplugged"
CHANGED, DELETED = "network-changed", "network-vif-deleted"
_KEY = "nova_events"  # the events a write transaction queued, in its session's info

Event = dict[str, str]


class Session(Protocol):
    async def request(self, method: str, path: str, *, service: str, **kwargs: Any) -> Any: ...


def is_server_port(device_id: str | None, device_owner: str | None) -> bool:
    """A server's port (Neutron's _is_compute_port): compute would refuse a batch holding an
    event whose server_uuid is not a UUID, so such a device is nobody to tell."""
    if not device_id or not (device_owner or "").startswith("compute:"):
        return False
    try:
        uuid.UUID(device_id)
    except ValueError:
        return False
    return True


def _event(name: str, server: str, port_id: str) -> Event:
    return {"name": name, "server_uuid": server, "tag": port_id, "status": "completed"}


def status_events(changed: Sequence[Changed], status: str) -> list[Event]:
    """The agent's report: plugged for ports that went ACTIVE, unplugged for ones that went DOWN."""
    name = PLUGGED if status == ACTIVE else UNPLUGGED
    return [_event(name, c.device_id, c.port_id) for c in changed if is_server_port(c.device_id, c.device_owner)]


def vif_plugged_events(changed: Sequence[Changed]) -> list[Event]:
    return status_events(changed, ACTIVE)


# --- queued by the service layer, in the write's transaction -------------------------------------

def _queue(s: DbSession, name: str, device_id: str | None, device_owner: str | None, port_id: str) -> None:
    if is_server_port(device_id, device_owner):
        queued: list[Event] = s.info.setdefault(_KEY, [])
        ev = _event(name, str(device_id), port_id)
        if ev not in queued:  # one per server and port a batch is enough
            queued.append(ev)


def port_changed(s: DbSession, port: models.Port, device_id: str | None = None,
                 device_owner: str | None = None) -> None:
    """``network-changed`` for the port's server (or the given former device of the port)."""
    _queue(s, CHANGED, port.device_id if device_id is None else device_id,
           port.device_owner if device_owner is None else device_owner, port.id)


def port_id_changed(s: DbSession, port_id: str | None) -> None:
    """``network-changed`` for the server of the port ``port_id`` (a floating IP's), if any."""
    port = s.get(models.Port, port_id) if port_id else None
    if port is not None:
        port_changed(s, port)


def port_deleted(s: DbSession, port: models.Port) -> None:
    _queue(s, DELETED, port.device_id, port.device_owner, port.id)


def queued(s: DbSession) -> list[Event]:
    return list(s.info.get(_KEY) or [])


# --- sent after the commit ------------------------------------------------------------------------

async def send(session: Session | None, events: list[Event]) -> None:
    if not events or session is None:
        return
    names = sorted({e["name"] for e in events})
    try:
        resp = await session.request("POST", "/os-server-external-events", service="compute",
                                     json={"events": events})
    except Exception as exc:  # noqa: BLE001 - no compute in this cloud, or it is away: best effort
        log.warning("%s for %d port(s) not delivered: %s", ", ".join(names), len(events), exc)
        return
    # 404: none of the servers exists any more (deleted meanwhile) — nothing to tell; 207: some
    # did not (or are on no host, 422): also nothing to tell them.
    if resp.status_code not in (200, 207, 404):
        log.warning("compute refused %s (%s): %s", ", ".join(names), resp.status_code, resp.text[:200])


class Notifier:
    """Sends what each write queued once it committed, one request per write, in the background."""

    def __init__(self, db: Database, session: Callable[[], Session] | None) -> None:
        # HTTP as the service user (None: no compute to tell); made on first use, once the
        # process has assembled its own API (requests to it then stay in-process).
        self._session = session
        self._committed: list[Event] = []
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        db.in_write(self._collect)
        db.after_write(self._send_committed)

    def _collect(self, s: DbSession) -> None:
        """End of a write transaction (its thread): its events wait for its commit."""
        events: list[Event] = s.info.pop(_KEY, None) or []
        if events and self._session is not None:
            event.listen(s, "after_commit", lambda _s: self._commit(events), once=True)

    def _commit(self, events: list[Event]) -> None:
        with self._lock:
            self._committed.extend(events)

    def _send_committed(self) -> None:
        """After a write (on the loop): what has committed by now goes out (a rolled-back write's
        events never reached the list)."""
        with self._lock:
            events, self._committed = self._committed, []
        self.send_soon(events)

    def send_soon(self, events: list[Event]) -> None:
        """Send in the background: the caller (an API request, an agent's report) does not wait."""
        if events and self._session is not None:
            self._background(send(self._session(), events))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
