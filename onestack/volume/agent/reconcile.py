"""The volume agent's level-triggered pass: drive the host's disks to what the database says.

From the server's desired state (every volume, snapshot and backup placed on this host, with
its status), the journal of accepted work and what the drivers hold:

- journalled work whose object still waits for it (a volume still ``creating``…) runs again
  (driver calls are idempotent; a crash or a lost report is repaired); the rest is forgotten;
- a ``deleting`` volume, snapshot or backup with no work for longer than the grace period is
  deleted and reported (its request was lost). Not at once: an admin's os-reset_status may set a
  snapshot ``deleting``, which Cinder leaves for a later os-force_delete (Tempest forces it right
  after the reset and expects it still there);
- a ``creating`` volume or snapshot whose disk exists is reported made; one with no disk and no
  work for longer than the agent's grace period goes to ``error`` (its request never came), as
  do an ``extending`` volume (to ``error_extending``), a ``downloading`` one (an os-reimage, to
  ``error``) and a ``creating`` backup with no work;
- a ``managing`` volume or snapshot with no work for longer than the grace period goes to
  ``error_managing``;
- a volume being migrated onto this host (``migrations``) is copied again when its journalled
  copy did not finish, reported made when its disk is there, and reported lost (the migration
  ends in ``error``) after the grace period otherwise;
- a disk whose creation was journalled and whose row is gone (deleted while it was being made),
  or lives elsewhere (a migration here that failed), is removed, as is a disk on one backend
  of a volume whose row is on another backend of this host (what a migration left, once the
  volume is in none: an attached migration's renamed target is such a disk until its row moves); any other disk with no row stays — it is what os-unmanage leaves (Cinder keeps
  it for a later manage) or what an operator put there — and temporary files of work that no
  longer runs are removed at once.

Nothing is remembered between passes but when a waiting object was first seen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from onestack.volume.agent.backup_store import BackupStore
from onestack.volume.agent.driver import Observed, VolumeDriver
from onestack.volume.rpcapi import DesiredState, SnapshotSpec, VolumeServerAPI, VolumeSpec

log = logging.getLogger("onestack.volume.agent")

# What each piece of work is for: (kind of object, the status it waits in).
WAITS_IN: dict[str, tuple[str, str]] = {
    "create_volume": ("volume", "creating"),
    "delete_volume": ("volume", "deleting"),
    "extend_volume": ("volume", "extending"),
    "revert_to_snapshot": ("volume", "reverting"),
    "copy_volume_to_image": ("volume", "uploading"),
    "reimage": ("volume", "downloading"),
    "restore_backup": ("volume", "restoring-backup"),
    "manage_existing": ("volume", "managing"),
    "create_snapshot": ("snapshot", "creating"),
    "manage_existing_snapshot": ("snapshot", "managing"),
    "delete_snapshot": ("snapshot", "deleting"),
    "create_backup": ("backup", "creating"),
    "delete_backup": ("backup", "deleting"),
}
NEVER_CAME = "The volume agent never received the request (it was lost or the agent was down)."


class Agent(Protocol):
    host: str
    server: VolumeServerAPI
    drivers: dict[str, VolumeDriver]
    backups: BackupStore | None
    grace: float
    first_seen: dict[str, float]
    last_desired: DesiredState | None

    @property
    def busy(self) -> set[str]: ...

    def journal(self) -> list[tuple[str, str, dict[str, Any]]]: ...

    def _forget(self, obj_id: str, method: str) -> None: ...

    def spawn(self, obj_id: str, method: str, kwargs: dict[str, Any]) -> None: ...


def _backend(host: str) -> str:
    return host.split("#", 1)[0].split("@", 1)[-1]


def _waited(agent: Agent, obj_id: str, now: float) -> bool:
    """Whether ``obj_id`` has waited longer than the grace period (the first call starts the clock)."""
    return now - agent.first_seen.setdefault(obj_id, now) > agent.grace


async def run_pass(agent: Agent) -> None:
    desired = await agent.server.desired_state(agent.host)
    agent.last_desired = desired
    statuses: dict[str, dict[str, str]] = {
        "volume": {v["id"]: v["status"] for v in desired["volumes"]},
        "snapshot": {s["id"]: s["status"] for s in desired["snapshots"]},
        "backup": {b["id"]: b["status"] for b in desired["backups"]},
    }
    migrating = {m["id"]: m for m in desired.get("migrations", [])}
    hosts = {v["id"]: v["host"] for v in desired["volumes"]}
    observed: dict[str, Observed] = {}
    for name, driver in agent.drivers.items():
        observed[name] = await asyncio.to_thread(driver.observed)
    busy = agent.busy
    journalled: set[str] = set()
    for obj_id, method, kwargs in agent.journal():
        kind, status = WAITS_IN.get(method, ("", ""))
        if obj_id in busy:
            journalled.add(obj_id)
        elif statuses.get(kind, {}).get(obj_id) == status or (method == "create_volume" and obj_id in migrating):
            journalled.add(obj_id)
            log.info("%s: %s %s again (accepted before and not reported)", agent.host, method, obj_id)
            agent.spawn(obj_id, method, kwargs)
        else:
            agent._forget(obj_id, method)
            if method in ("create_volume", "create_snapshot") and (
                    obj_id not in statuses[kind]
                    or (method == "create_volume" and hosts[obj_id] != kwargs["volume"]["host"])):
                await _abandoned(agent, method, kwargs)
    skip = busy | journalled
    now = time.monotonic()
    waiting: set[str] = set()

    for v in desired["volumes"]:
        if v["id"] in skip:
            continue
        has_disk = v["id"] in observed.get(_backend(v["host"]), Observed()).volumes
        if v["status"] == "deleting":
            waiting.add(v["id"])
            if _waited(agent, v["id"], now):
                agent.spawn(v["id"], "delete_volume", {"volume": v})
        elif v["status"] == "creating" and has_disk:
            agent.spawn(v["id"], "create_volume", {"volume": v, "source": {}})  # made: report it
        elif v["status"] == "creating":
            waiting.add(v["id"])
            if _waited(agent, v["id"], now):
                await agent.server.volume_created(v["id"], {}, NEVER_CAME)
        elif v["status"] == "managing":
            waiting.add(v["id"])
            if _waited(agent, v["id"], now):
                await agent.server.volume_managed(v["id"], {}, NEVER_CAME)
        elif v["status"] == "extending":  # its size is unchanged: the request never came
            waiting.add(v["id"])
            if _waited(agent, v["id"], now):
                await agent.server.volume_extended(v["id"], v["size"], NEVER_CAME)
        elif v["status"] == "downloading":  # an os-reimage whose request never came: its data is as it was
            waiting.add(v["id"])
            if _waited(agent, v["id"], now):
                await agent.server.volume_reimaged(v["id"], {}, NEVER_CAME)

    for m in migrating.values():
        if m["id"] in skip:
            continue
        if m["id"] in observed.get(_backend(m["host"]), Observed()).volumes:
            agent.spawn(m["id"], "create_volume", {"volume": m, "source": {}})  # copied: report it
        else:
            waiting.add(m["id"])
            if _waited(agent, m["id"], now):
                await agent.server.volume_created(m["id"], {}, NEVER_CAME)

    volume_by_id = {v["id"]: v for v in desired["volumes"]}
    for snap in desired["snapshots"]:
        volume = volume_by_id.get(snap["volume_id"])
        if snap["id"] in skip or volume is None:
            continue
        has_file = snap["id"] in observed.get(_backend(volume["host"]), Observed()).snapshots
        if snap["status"] == "deleting":
            waiting.add(snap["id"])
            if _waited(agent, snap["id"], now):
                agent.spawn(snap["id"], "delete_snapshot", {"snapshot": snap, "volume": volume})
        elif snap["status"] == "creating" and has_file:
            agent.spawn(snap["id"], "create_snapshot", {"snapshot": snap, "volume": volume})
        elif snap["status"] == "creating":
            waiting.add(snap["id"])
            if _waited(agent, snap["id"], now):
                await agent.server.snapshot_created(snap["id"], {}, NEVER_CAME)
        elif snap["status"] == "managing":
            waiting.add(snap["id"])
            if _waited(agent, snap["id"], now):
                await agent.server.snapshot_managed(snap["id"], {}, NEVER_CAME)

    for b in desired["backups"]:
        if b["id"] in skip:
            continue
        if b["status"] == "deleting":
            waiting.add(b["id"])
            if _waited(agent, b["id"], now):
                agent.spawn(b["id"], "delete_backup", {"backup": b})
        elif b["status"] == "creating":
            waiting.add(b["id"])
            if _waited(agent, b["id"], now):
                await agent.server.backup_created(b["id"], {}, NEVER_CAME)

    await _remove_migrated_away(agent, desired["volumes"], observed,
                                skip | set(migrating) | set(desired.get("moving", [])))

    for driver in agent.drivers.values():
        removed = await asyncio.to_thread(driver.remove_leftovers, agent.busy)
        if removed:
            log.info("%s: removed leftovers of interrupted work: %s", agent.host, ", ".join(removed))
    if agent.backups is not None:
        removed = await asyncio.to_thread(agent.backups.remove_leftovers, agent.busy)
        if removed:
            log.info("%s: removed leftovers of interrupted backups: %s", agent.host, ", ".join(removed))
    for gone in set(agent.first_seen) - waiting:
        del agent.first_seen[gone]


async def _remove_migrated_away(agent: Agent, volumes: list[VolumeSpec], observed: dict[str, Observed],
                                skip: set[str]) -> None:
    """A disk on one backend of a volume whose row lives on another backend of this host is
    what a migration left: the source after a success whose delete was lost, the target after
    a failure. Nothing else makes one (clones and volumes from snapshots stay on their source's
    backend), so it goes; volumes in a migration now, or busy, are left alone."""
    for v in volumes:
        if v["id"] in skip:
            continue
        for name, seen in observed.items():
            # Older than the grace period only: a disk a migration has just made may be newer
            # than the desired state read at the start of the pass.
            if name != _backend(v["host"]) and seen.volumes.get(v["id"], 0.0) > agent.grace:
                log.info("%s: removing the disk of volume %s left on %s by its migration", agent.host, v["id"], name)
                await asyncio.to_thread(agent.drivers[name].delete_volume, v)


async def _abandoned(agent: Agent, method: str, kwargs: dict[str, Any]) -> None:
    """The disk of a create whose row went meanwhile (the journal proves the agent made it)."""
    volume: VolumeSpec = kwargs["volume"]
    driver = agent.drivers.get(_backend(volume["host"]))
    if driver is None:
        return
    if method == "create_volume":
        log.info("%s: removing disk of volume %s (deleted or migrated elsewhere meanwhile)", agent.host, volume["id"])
        await asyncio.to_thread(driver.delete_volume, volume)
    else:
        snapshot: SnapshotSpec = kwargs["snapshot"]
        log.info("%s: removing snapshot %s (deleted while being made)", agent.host, snapshot["id"])
        await asyncio.to_thread(driver.delete_snapshot, snapshot)
