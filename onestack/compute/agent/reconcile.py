"""The agent's level-triggered pass: compare what the rows want with what the hypervisor has.

- a row being deleted: remove the guest and the row (again, if a message was lost);
- a row still building with nothing in flight here: build it (spawn is idempotent);
- any other task state left with nothing in flight for ``task_grace`` seconds: clear it;
- power state drift: record what the hypervisor says; an active server whose guest stopped
  becomes SHUTOFF, a stopped server whose guest runs again is powered off (as Nova does);
- a server shelved on this host for ``shelved_offload_time`` seconds: offloaded;
- guests no row places on this host (an orphan after a crash or a local delete): destroyed.
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
        except (RemoteError, InstanceNotFound) as exc:
            log.info("%s: reconcile of %s skipped: %s", agent.host, row["uuid"], exc)
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
    if vm_state in (states.SHELVED_OFFLOADED, states.ERROR, states.RESIZED):
        return
    observed = await agent.driver.get_power_state(uuid) if uuid in guests else PowerState.NOSTATE
    values: dict[str, Any] = {}
    if int(observed) != row.get("power_state"):
        values["power_state"] = int(observed)
    if vm_state == states.ACTIVE and observed in (PowerState.SHUTDOWN, PowerState.CRASHED):
        values["vm_state"] = states.STOPPED
    elif vm_state == states.STOPPED and observed == PowerState.RUNNING:
        await agent.driver.power_off(uuid, timeout=0)
        values["power_state"] = int(PowerState.SHUTDOWN)
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
        where = await agent.conductor.instance_location(uuid)
        # Leave guests another host is moving here (live migration) or that the row still owns.
        if where is not None and (where.get("task_state") is not None or where.get("host") == agent.host):
            continue
        log.warning("%s: destroying orphan guest %s", agent.host, uuid)
        await agent.driver.destroy(uuid)
