"""Placement answered in-process: the scheduler's and conductor's calls without HTTP.

When compute runs in the same process as placement (``onestack up``), a claim or a
candidates query through the in-process HTTP transport spends most of its time in the
client, the middleware and JSON, not in placement. ``LocalPlacement`` answers the calls the
boot and delete paths make (candidates, claim, allocations, release, move) with placement's
own service functions, in placement's own transactions, with the same results and errors as
the REST API; the agents' occasional provider and inventory reports still go over HTTP.
A compute service running apart uses the plain ``PlacementClient``.
"""

from __future__ import annotations

from typing import Any

from onestack.client.placement import (
    CLAIM_ATTEMPTS,
    CONSUMER_CONFLICT,
    PROVIDER_RACE,
    Candidate,
    PlacementClient,
    PlacementError,
)
from onestack.client.session import ServiceSession
from onestack.core.api.faults import ApiError, NotFound
from onestack.placement.service import allocations, candidates
from onestack.placement.service.allocations import ConsumerWrite
from onestack.placement.service.candidates import CandidateQuery, RequestGroup
from onestack.placement.service.common import norm_uuid
from onestack.placement.service.query import MemberOf
from onestack.placement.state import PlacementState


class LocalPlacement(PlacementClient):
    def __init__(self, session: ServiceSession, state: PlacementState) -> None:
        super().__init__(session)
        self.state = state

    async def _write(self, writes: list[ConsumerWrite]) -> None:
        await self.state.ensure_seeded()
        await self.state.db.write(allocations.set_allocations, writes)

    async def candidates(self, resources: dict[str, int], *, limit: int = 1000,
                         member_of: list[str] | None = None) -> list[Candidate]:
        await self.state.ensure_seeded()
        group = RequestGroup(suffix="", resources={rc: n for rc, n in resources.items() if n > 0})
        if member_of:
            group.member_of = MemberOf([(frozenset(norm_uuid(a) for a in member_of), False)])
        query = CandidateQuery(groups=[group], limit=limit,
                               max_candidates=self.state.config.placement.max_allocation_candidates)
        try:
            found, snap = await self.state.db.read(candidates.find, query)
        except ApiError as exc:
            raise PlacementError(f"allocation candidates: {exc.status} {exc}") from exc
        # As the REST API at 1.39 shows them: every class of each provider in the whole tree.
        summaries = candidates.summaries(snap, found, set(group.resources), all_classes=True, whole_trees=True)
        out: list[Candidate] = []
        for cand in found:
            if len(cand.allocations) != 1:
                continue  # compute nodes are single providers here
            rp_uuid, alloc = next(iter(cand.allocations.items()))
            summary = summaries.get(rp_uuid, {})
            out.append(Candidate(rp_uuid, dict(alloc), summary.get("resources", {}), summary.get("traits", [])))
        return out

    async def claim(self, consumer: str, rp_uuid: str, resources: dict[str, int], project_id: str,
                    user_id: str, consumer_generation: int | None = None, *, replace: bool = False) -> bool:
        write = ConsumerWrite(uuid=norm_uuid(consumer), allocations={norm_uuid(rp_uuid): {
            k: v for k, v in resources.items() if v > 0}}, project_id=project_id, user_id=user_id,
            generation=consumer_generation, consumer_type="INSTANCE")
        for _attempt in range(CLAIM_ATTEMPTS):
            try:
                await self._write([write])
                return True
            except ApiError as exc:
                if exc.status != 409:
                    raise PlacementError(f"claiming for {consumer}: {exc.status} {exc}") from exc
                if replace and CONSUMER_CONFLICT in str(exc):  # the caller's own earlier claim: replace it
                    write.generation = (await self.allocations(consumer)).get("consumer_generation")
                    continue
                if PROVIDER_RACE not in str(exc):
                    return False
        raise PlacementError(f"claiming for {consumer}: lost {CLAIM_ATTEMPTS} races for the provider")

    async def allocations(self, consumer: str) -> dict[str, Any]:
        held, row = await self.state.db.read(allocations.for_consumer, norm_uuid(consumer))
        doc: dict[str, Any] = {"allocations": held}
        if row is not None:
            doc.update(project_id=row.project_id, user_id=row.user_id, consumer_generation=row.generation,
                       consumer_type=row.consumer_type)
        return doc

    async def provider_allocations(self, rp_uuid: str) -> dict[str, dict[str, int]]:
        try:
            doc = await self.state.db.read(allocations.for_provider, norm_uuid(rp_uuid))
        except NotFound:
            return {}
        return {consumer: dict(held["resources"]) for consumer, held in doc["allocations"].items()}

    async def release(self, consumer: str) -> None:
        await self.state.ensure_seeded()
        try:
            await self.state.db.write(allocations.delete_for_consumer, consumer)
        except NotFound:
            return

    async def move(self, source: str, target: str, project_id: str, user_id: str,
                   target_type: str = "MIGRATION", source_type: str = "INSTANCE") -> None:
        held = await self.allocations(source)
        moved = {rp: dict(a["resources"]) for rp, a in held.get("allocations", {}).items()}
        if not moved:
            return
        gen_target = (await self.allocations(target)).get("consumer_generation")
        writes = [
            ConsumerWrite(uuid=norm_uuid(source), allocations={}, project_id=project_id, user_id=user_id,
                          generation=held.get("consumer_generation"), consumer_type=source_type),
            ConsumerWrite(uuid=norm_uuid(target), allocations=moved, project_id=project_id, user_id=user_id,
                          generation=gen_target, consumer_type=target_type),
        ]
        try:
            await self._write(writes)
        except ApiError as exc:
            raise PlacementError(f"moving allocations {source} -> {target}: {exc.status} {exc}") from exc
