"""The conductor's level-triggered allocation audit: placement's consumers against compute's rows.

Deleting a server and releasing its claim are two writes (the row in compute's database, the
allocation in placement's), and so are failing a build and dropping its claim; a process killed
between them leaves the claim behind. The row is the durable intent — a deleted server, or one
with no host and no task, must hold nothing — and this pass, run by every conductor's periodic
loop, does the second write for any row whose first one happened:

- an allocation on a compute node held by a deleted server, a live one with no host and no task
  (a failed build, an offloaded shelve) or a migration that ended, is released;
- a live server on a host, with no task and no unfinished migration, that holds nothing — or
  holds it on another node — is claimed again on its own node (logged when it has no room).

Rows are read *after* placement: compute writes a row before it claims anything for it, so a
claim the pass sees always has its row, and a boot being created right now is never mistaken for
a leak. Consumers neither table knows are only logged: they are not compute's (Nova's resource
tracker leaves them too). A deleted server's claim goes at once (nobody may hold one for it);
other rows touched within ``task_grace`` are left to whoever is working on them. Every step is idempotent, so any number of conductors may run the pass at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute.bdm_flags import VOLUME_BACKED
from onestack.compute.conductor.actions import FINAL_STATUSES
from onestack.compute.conductor.context import ConductorContext
from onestack.compute.models import ComputeNode, Instance, Migration
from onestack.compute.scheduler.manager import resources_of
from onestack.core.ids import utcnow

log = logging.getLogger("onestack.compute.conductor")


@dataclass(frozen=True)
class Reclaim:
    """A live server's claim to make again: on provider ``rp_uuid`` for ``resources``, in place of
    what it holds on ``seen`` (other providers than its host's; empty when it holds nothing)."""

    uuid: str
    rp_uuid: str
    resources: dict[str, int]
    project_id: str
    user_id: str
    seen: frozenset[str] = frozenset()


@dataclass
class Plan:
    release: list[str] = field(default_factory=list)
    reclaim: list[Reclaim] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # consumers neither table knows
    homeless: list[str] = field(default_factory=list)  # servers to claim for on a host with no node


def nodes(s: Session) -> dict[str, tuple[str, str]]:
    """Provider uuid -> (host, node) of every compute node."""
    return {n.uuid: (n.host, n.hypervisor_hostname)
            for n in s.scalars(select(ComputeNode).order_by(ComputeNode.id))}


def _idle(updated_at: datetime | None, cutoff: datetime) -> bool:
    return updated_at is None or updated_at < cutoff


def plan(s: Session, held: dict[str, set[str]], providers: dict[str, tuple[str, str]], cutoff: datetime) -> Plan:
    """What to release and what to claim again, given ``held`` (consumer -> providers it holds)."""
    out = Plan()
    consumers = sorted(held)
    # Only the columns the decision needs: every consumer of every node is looked at each pass.
    rows = {r.uuid: r for r in s.execute(select(
        Instance.uuid, Instance.deleted, Instance.host, Instance.task_state, Instance.updated_at)
        .where(Instance.uuid.in_(consumers)))} if consumers else {}
    others = [c for c in consumers if c not in rows]
    moves = {m.uuid: m for m in s.execute(select(Migration.uuid, Migration.status, Migration.updated_at)
                                          .where(Migration.uuid.in_(others)))} if others else {}
    moving = set(s.scalars(select(Migration.instance_uuid).where(Migration.status.not_in(FINAL_STATUSES))))
    homes: dict[str, set[str]] = {}
    for rp, (host, _node) in providers.items():
        homes.setdefault(host, set()).add(rp)
    misplaced: list[str] = []  # servers at rest whose claims sit off their host
    for consumer in consumers:
        inst, move = rows.get(consumer), moves.get(consumer)
        if inst is not None:
            if inst.deleted or (inst.host is None and inst.task_state is None and consumer not in moving
                                and _idle(inst.updated_at, cutoff)):
                out.release.append(consumer)
            elif inst.host is not None and inst.task_state is None and consumer not in moving \
                    and _idle(inst.updated_at, cutoff) and not held[consumer] <= homes.get(inst.host, set()):
                misplaced.append(consumer)
        elif move is not None:
            if move.status in FINAL_STATUSES and _idle(move.updated_at, cutoff):
                out.release.append(consumer)
        else:
            out.unknown.append(consumer)
    # The other way round: live servers on a host, at rest, that hold nothing.
    at_rest = set(s.scalars(select(Instance.uuid).where(
        Instance.deleted.is_(False), Instance.host.is_not(None), Instance.task_state.is_(None),
        Instance.updated_at < cutoff)))
    bare = sorted(at_rest - set(held) - moving) + misplaced  # only these rows are loaded whole
    by_node = {(host, node): rp for rp, (host, node) in providers.items()}
    for server in s.scalars(select(Instance).where(Instance.uuid.in_(bare))) if bare else ():
        home = (server.system_metadata or {}).get("rp_uuid") or by_node.get((server.host or "", server.node or ""))
        if home is None or home not in providers:
            out.homeless.append(server.uuid)
            continue
        out.reclaim.append(Reclaim(server.uuid, home, resources_of(server.flavor, bool((server.system_metadata or {}).get(VOLUME_BACKED))),
                                   server.project_id, server.user_id, frozenset(held.get(server.uuid, ()))))
    return out


class AllocationAudit:
    def __init__(self, c: ConductorContext) -> None:
        self.c = c
        self._reported: set[str] = set()  # only to log each oddity once per process, not for correctness

    async def run(self) -> Plan:
        providers = await self.c.db.read(nodes)
        held: dict[str, set[str]] = {}
        for rp_uuid in providers:  # placement first, then the rows (see the module's docstring)
            for consumer in await self.c.placement.provider_allocations(rp_uuid):
                held.setdefault(consumer, set()).add(rp_uuid)
        cutoff = utcnow() - self.c.task_grace
        todo: Plan = await self.c.db.read(lambda s: plan(s, held, providers, cutoff))
        for consumer in todo.release:
            log.warning("releasing the allocation of %s: its server or migration is gone or holds no host",
                        consumer)
            await self.c.placement.release(consumer)
        for claim in todo.reclaim:
            await self._reclaim(claim)
        for consumer in todo.unknown:
            self._once(consumer, "allocation of %s on a compute node, which is neither a server nor a migration: "
                                 "left alone")
        for consumer in todo.homeless:
            self._once(consumer, "%s runs on a host with no compute node: its allocation is not made again")
        return todo

    async def _reclaim(self, claim: Reclaim) -> None:
        """Claim on the server's own node, at the generation just read: any change since the pass
        read placement (a move parking the claim, a delete) makes placement refuse it (409)."""
        generation: int | None = None
        if claim.seen:
            doc = await self.c.placement.allocations(claim.uuid)
            if set(doc.get("allocations", {})) != claim.seen:
                return  # changed since: the next pass looks again
            generation = doc.get("consumer_generation")
            log.warning("%s runs on provider %s but holds its allocation on %s: moving it home", claim.uuid,
                        claim.rp_uuid, sorted(claim.seen))
        else:
            log.warning("%s runs on provider %s but held no allocation: claiming it again", claim.uuid,
                        claim.rp_uuid)
        if not await self.c.placement.claim(claim.uuid, claim.rp_uuid, claim.resources, claim.project_id,
                                            claim.user_id, generation):
            self._once(claim.uuid, "%s: its host has no room left for its allocation (or it changed meanwhile)")

    def _once(self, consumer: str, message: str, *args: Any) -> None:
        if consumer not in self._reported:
            self._reported.add(consumer)
            log.warning(message, consumer, *args)
