"""The agent's level-triggered pass: compare what the rows want with what the hypervisor has.

- a row being deleted: remove the guest and the row (again, if a message was lost);
- a row still building with nothing in flight here: build it (spawn is idempotent);
- any other task state left with nothing in flight for ``task_grace`` seconds: clear it;
- power state drift: Nova's ``_sync_instance_power_state`` (see ``_sync_power_state``);
- a server shelved on this host for ``shelved_offload_time`` seconds: offloaded;
- guests no row places on this host (an orphan after a crash or a local delete): destroyed.

One row's failure is logged with its uuid and never stops the pass for the others.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from onestack.compute import states
from onestack.compute.agent.actions import ServerActions
from onestack.compute.rpcapi import ConductorAPI, InstanceDict
from onestack.compute.virt.driver import ComputeDriver, InstanceNotFound, PowerState
from onestack.core.bus import RemoteError
from onestack.core.config import Config
from onestack.core.ids import parse_isotime, utcnow

log = logging.getLogger("onestack.compute.reconcile")


class ComputeAgent(Protocol):
    """What the pass needs of the agent (``agent/manager.py`` imports this module, not the reverse)."""

    config: Config
    host: str
    driver: ComputeDriver
    conductor: ConductorAPI
    inflight: dict[str, asyncio.Task[Any]]
    actions: ServerActions

    async def build_and_run_instance(self, instance: InstanceDict, request_id: str | None = None) -> None: ...

    async def terminate_instance(self, instance: InstanceDict, request_id: str | None = None) -> None: ...


def _age(row: dict[str, Any]) -> timedelta:
    updated: datetime = parse_isotime(row["updated_at"]) if row.get("updated_at") else utcnow()
    return utcnow() - updated


async def run_pass(agent: ComputeAgent) -> None:
    rows = await agent.conductor.instances_on_host(agent.host)
    guests = set(await agent.driver.list_instances())
    grace = timedelta(seconds=agent.config.compute.task_grace)
    for row in rows:
        if row["uuid"] in agent.inflight:
            continue
        try:
            await _converge(agent, row, guests, grace)
        except (RemoteError, InstanceNotFound) as exc:  # the row or guest changed under us: next pass
            log.info("%s: reconcile of %s skipped: %s", agent.host, row["uuid"], exc)
        except Exception:  # one bad row must not keep the others from converging
            log.exception("%s: reconcile of %s failed", agent.host, row["uuid"])
    await _reap_orphans(agent, guests - {r["uuid"] for r in rows})


async def _converge(agent: ComputeAgent, row: dict[str, Any], guests: set[str], grace: timedelta) -> None:
    uuid, task, vm_state = row["uuid"], row.get("task_state"), row["vm_state"]
    if task == states.DELETING:
        if _age(row) > grace / 3:
            await agent.terminate_instance(row)
        return
    if vm_state == states.BUILDING:
        if _age(row) > grace:
            log.warning("%s: resuming the interrupted build of %s", agent.host, uuid)
            await agent.build_and_run_instance(row)
        return
    if task is not None:
        if _age(row) > grace:
            log.warning("%s: clearing task state %s of %s (nothing in flight)", agent.host, task, uuid)
            await agent.conductor.instance_update(uuid, {"task_state": None}, expected_task_state=[task])
        return
    if vm_state == states.SHELVED and _offload_due(agent, row):
        await agent.conductor.instance_update(uuid, {"task_state": states.SHELVING_OFFLOADING},
                                              expected_task_state=[None], expected_vm_state=[states.SHELVED])
        await agent.actions.shelve_offload_instance(row, clean_shutdown=False)
        return
    if vm_state == states.SHELVED_OFFLOADED:  # no guest anywhere by design
        return
    await _sync_power_state(agent, row, await _observe(agent, uuid, guests))


async def _observe(agent: ComputeAgent, uuid: str, guests: set[str]) -> PowerState:
    if uuid not in guests:
        return PowerState.NOSTATE
    try:
        return await agent.driver.get_power_state(uuid)
    except InstanceNotFound:  # gone since list_instances: the same as not listed (Nova)
        return PowerState.NOSTATE


OFF = (PowerState.SHUTDOWN, PowerState.CRASHED)


async def _sync_power_state(agent: ComputeAgent, row: dict[str, Any], observed: PowerState) -> None:
    """Nova's ``_sync_instance_power_state`` for a row with no task: the recorded power state
    always becomes the hypervisor's (NOSTATE when the guest is not found), then by vm_state:

    - active: a guest that shut down or crashed by itself → the server is stopped (SHUTOFF); a
      suspended guest → powered off and stopped; paused or not found → only logged ("Instance is
      unexpectedly not found. Ignore."): a vanished guest is neither rebuilt nor deleted;
    - stopped: a guest running, paused or suspended → powered off; not found → nothing more;
    - paused: a guest that shut down or crashed → stopped; not found → nothing more;
    - soft-deleted: a guest still running is logged;
    - suspended, rescued, resized, shelved, error: only the power state is recorded.
    """
    uuid, vm_state, recorded = row["uuid"], row["vm_state"], row.get("power_state")
    where = f"{agent.host}: [instance: {uuid}]"
    values: dict[str, Any] = {}
    if int(observed) != recorded:
        values["power_state"] = int(observed)
    # Drift that is only logged is a warning when first seen, then quiet: passes are frequent.
    ignored = logging.WARNING if "power_state" in values else logging.DEBUG
    power_off = False
    if vm_state == states.ACTIVE:
        if observed in OFF:
            # Nova calls the stop API; as before, the row is written directly and keeps CRASHED visible.
            log.warning("%s Instance shutdown by itself (power state %s). Stopping the server.", where, observed.name)
            values["vm_state"] = states.STOPPED
        elif observed == PowerState.SUSPENDED:
            log.warning("%s Instance is suspended unexpectedly. Stopping the server.", where)
            power_off = True
        elif observed == PowerState.PAUSED:
            log.log(ignored, "%s Instance is paused unexpectedly. Ignore.", where)
        elif observed == PowerState.NOSTATE:
            log.log(ignored, "%s Instance is unexpectedly not found. Ignore.", where)
    elif vm_state == states.STOPPED and observed not in (PowerState.NOSTATE, *OFF):
        log.warning("%s Instance is not stopped (power state %s). Powering it off.", where, observed.name)
        power_off = True
    elif vm_state == states.PAUSED and observed in OFF:
        log.warning("%s Paused instance shutdown by itself. Stopping the server.", where)
        power_off = True
    elif vm_state == states.SOFT_DELETED and observed not in (PowerState.NOSTATE, PowerState.SHUTDOWN):
        log.log(ignored, "%s Instance is not (soft-)deleted.", where)
    if power_off:  # Nova's stop / force_stop: the guest is powered off, the server is SHUTOFF
        await agent.driver.power_off(uuid, timeout=0)
        values["power_state"] = int(await agent.driver.get_power_state(uuid))
        if vm_state != states.STOPPED:
            values["vm_state"] = states.STOPPED
    if values:
        await agent.conductor.instance_update(uuid, values, expected_task_state=[None], expected_vm_state=[vm_state])


def _offload_due(agent: ComputeAgent, row: dict[str, Any]) -> bool:
    """A shelved server kept on its host for ``shelved_offload_time`` seconds is offloaded."""
    after = agent.config.compute.shelved_offload_time
    shelved_at = (row.get("system_metadata") or {}).get("shelved_at")
    if after <= 0 or not shelved_at:
        return False
    return utcnow() - parse_isotime(shelved_at) >= timedelta(seconds=after)


async def _reap_orphans(agent: ComputeAgent, orphans: set[str]) -> None:
    for uuid in orphans:
        if uuid in agent.inflight:
            continue
        try:
            where = await agent.conductor.instance_location(uuid)
            # Leave guests another host is moving here (live migration) or that the row still owns.
            if where is not None and (where.get("task_state") is not None or where.get("host") == agent.host):
                continue
            log.warning("%s: destroying orphan guest %s", agent.host, uuid)
            await agent.driver.destroy(uuid)
        except Exception as exc:  # noqa: BLE001 - the next pass tries again; the other orphans go now
            log.warning("%s: could not destroy orphan guest %s: %s", agent.host, uuid, exc)
