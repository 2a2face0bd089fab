"""What compute asks placement: providers and inventories (agents), candidates and claims (scheduler)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from onestack.client.session import ServiceSession

MICROVERSION = "1.39"
SERVICE = "placement"
# A claim that raced another consumer's claim on the same provider (not this consumer's, and not
# for room) is tried again, as Nova's report client does: the loser re-reads the generation, and
# every such loss means another claim went through, so the retries make progress.
PROVIDER_RACE = "resource provider generation conflict"
# What placement says when the consumer already holds allocations (or changed since it was read).
CONSUMER_CONFLICT = "consumer generation conflict"
CLAIM_ATTEMPTS = 10


class PlacementError(RuntimeError):
    pass


@dataclass
class Candidate:
    """One compute node placement could fit the request on, with its capacity and usage."""

    provider_uuid: str
    allocation: dict[str, int]
    inventories: dict[str, dict[str, Any]] = field(default_factory=dict)  # class -> {capacity, used}
    traits: list[str] = field(default_factory=list)


class PlacementClient:
    def __init__(self, session: ServiceSession) -> None:
        self.session = session

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.session.request(method, path, service=SERVICE,
                                          headers={"OpenStack-API-Version": f"placement {MICROVERSION}"}, **kwargs)

    # --- what agents report ---

    async def ensure_provider(self, rp_uuid: str, name: str) -> int:
        """Create the compute node's provider if missing; returns its generation."""
        resp = await self._call("GET", f"/resource_providers/{rp_uuid}")
        if resp.status_code == 200:
            return int(resp.json()["generation"])
        resp = await self._call("POST", "/resource_providers", json={"uuid": rp_uuid, "name": name})
        if resp.status_code == 409:  # a stale provider of that name (e.g. the host was rebuilt)
            found = await self._call("GET", "/resource_providers", params={"name": name})
            for old in found.json().get("resource_providers", []):
                await self._call("DELETE", f"/resource_providers/{old['uuid']}")
            resp = await self._call("POST", "/resource_providers", json={"uuid": rp_uuid, "name": name})
        if resp.status_code not in (200, 201):
            raise PlacementError(f"creating provider {name}: {resp.status_code} {resp.text}")
        return int(resp.json()["generation"])

    async def set_inventory(self, rp_uuid: str, inventories: dict[str, dict[str, Any]]) -> None:
        """Replace the provider's inventory, retrying on generation conflicts."""
        for _attempt in range(5):
            current = await self._call("GET", f"/resource_providers/{rp_uuid}/inventories")
            if current.status_code != 200:
                raise PlacementError(f"reading inventory of {rp_uuid}: {current.status_code}")
            doc = current.json()
            if doc["inventories"] == inventories:
                return
            resp = await self._call("PUT", f"/resource_providers/{rp_uuid}/inventories", json={
                "resource_provider_generation": doc["resource_provider_generation"],
                "inventories": inventories})
            if resp.status_code == 200:
                return
            if resp.status_code != 409:
                raise PlacementError(f"setting inventory of {rp_uuid}: {resp.status_code} {resp.text}")
        raise PlacementError(f"setting inventory of {rp_uuid}: too many generation conflicts")

    async def add_traits(self, rp_uuid: str, traits: Iterable[str]) -> None:
        """Give the provider ``traits`` (standard ones: no trait creation), keeping the traits it has
        (an operator's custom ones), as Nova's report client merges driver capability traits."""
        wanted = set(traits)
        await self._change_list(rp_uuid, "traits", lambda current: sorted(set(current) | wanted))

    async def set_aggregate_member(self, rp_uuid: str, agg_uuid: str, member: bool) -> None:
        """Add ``agg_uuid`` to (or remove it from) the provider's aggregates, retrying on generation conflicts."""
        await self._change_list(rp_uuid, "aggregates", lambda current: sorted(set(current) | {agg_uuid}) if member
                                else [a for a in current if a != agg_uuid])

    async def _change_list(self, rp_uuid: str, what: str, change: Callable[[list[str]], list[str]]) -> None:
        """Read-modify-write of a provider's ``aggregates`` or ``traits`` at its generation, retried on 409."""
        path = f"/resource_providers/{rp_uuid}/{what}"
        for _attempt in range(5):
            resp = await self._call("GET", path)
            if resp.status_code != 200:
                raise PlacementError(f"reading {what} of {rp_uuid}: {resp.status_code}")
            doc = resp.json()
            current = list(doc.get(what, []))
            wanted = change(current)
            if sorted(wanted) == sorted(current):
                return
            put = await self._call("PUT", path, json={
                what: wanted, "resource_provider_generation": doc["resource_provider_generation"]})
            if put.status_code != 409:
                if put.status_code != 200:
                    raise PlacementError(f"setting {what} of {rp_uuid}: {put.status_code} {put.text}")
                return
        raise PlacementError(f"{what} of {rp_uuid} kept changing under us")

    async def delete_provider(self, rp_uuid: str) -> None:
        await self._call("DELETE", f"/resource_providers/{rp_uuid}")

    # --- what the scheduler asks and claims ---

    async def candidates(self, resources: dict[str, int], *, limit: int = 1000,
                         member_of: list[str] | None = None) -> list[Candidate]:
        wanted = ",".join(f"{rc}:{amount}" for rc, amount in resources.items() if amount > 0)
        params: dict[str, Any] = {"resources": wanted, "limit": str(limit)}
        if member_of:
            params["member_of"] = "in:" + ",".join(member_of)
        resp = await self._call("GET", "/allocation_candidates", params=params)
        if resp.status_code != 200:
            raise PlacementError(f"allocation candidates: {resp.status_code} {resp.text}")
        doc = resp.json()
        summaries = doc.get("provider_summaries", {})
        found: list[Candidate] = []
        for request in doc.get("allocation_requests", []):
            allocations = request["allocations"]
            if len(allocations) != 1:
                continue  # compute nodes are single providers here
            rp_uuid, alloc = next(iter(allocations.items()))
            summary = summaries.get(rp_uuid, {})
            found.append(Candidate(rp_uuid, dict(alloc["resources"]), summary.get("resources", {}),
                                   summary.get("traits", [])))
        return found

    async def claim(self, consumer: str, rp_uuid: str, resources: dict[str, int], project_id: str,
                    user_id: str, consumer_generation: int | None = None, *, replace: bool = False) -> bool:
        """Allocate atomically; False when the provider no longer has room or the consumer
        already holds allocations (another claim won).

        With ``replace`` the caller owns the consumer (it holds the instance's build lease): what
        the consumer already holds — an earlier attempt's claim, say from before a crash — is
        replaced in the same write, at the consumer's current generation."""
        body = {"allocations": {rp_uuid: {"resources": {k: v for k, v in resources.items() if v > 0}}},
                "project_id": project_id, "user_id": user_id, "consumer_generation": consumer_generation,
                "consumer_type": "INSTANCE"}
        for _attempt in range(CLAIM_ATTEMPTS):
            resp = await self._call("PUT", f"/allocations/{consumer}", json=body)
            if resp.status_code == 204:
                return True
            if resp.status_code != 409:
                break
            if replace and CONSUMER_CONFLICT in resp.text:
                body["consumer_generation"] = (await self.allocations(consumer)).get("consumer_generation")
                continue
            if PROVIDER_RACE not in resp.text:
                return False
        raise PlacementError(f"claiming for {consumer}: {resp.status_code} {resp.text}")

    async def allocations(self, consumer: str) -> dict[str, Any]:
        resp = await self._call("GET", f"/allocations/{consumer}")
        found: dict[str, Any] = resp.json() if resp.status_code == 200 else {"allocations": {}}
        return found

    async def provider_allocations(self, rp_uuid: str) -> dict[str, dict[str, int]]:
        """consumer uuid -> resources it holds on the provider ({} when the provider is unknown)."""
        resp = await self._call("GET", f"/resource_providers/{rp_uuid}/allocations")
        if resp.status_code == 404:
            return {}
        if resp.status_code != 200:
            raise PlacementError(f"allocations on {rp_uuid}: {resp.status_code} {resp.text}")
        return {consumer: dict(held["resources"]) for consumer, held in resp.json()["allocations"].items()}

    async def release(self, consumer: str) -> None:
        resp = await self._call("DELETE", f"/allocations/{consumer}")
        if resp.status_code not in (204, 404):
            raise PlacementError(f"releasing {consumer}: {resp.status_code} {resp.text}")

    async def move(self, source: str, target: str, project_id: str, user_id: str,
                   target_type: str = "MIGRATION", source_type: str = "INSTANCE") -> None:
        """Hand ``source``'s allocations to ``target`` (a resize keeps the old size on the migration;
        a revert hands them back with ``target_type="INSTANCE"``), replacing what ``target`` held."""
        held = await self.allocations(source)
        moved = {rp: {"resources": a["resources"]} for rp, a in held.get("allocations", {}).items()}
        if not moved:
            return
        gen_target = (await self.allocations(target)).get("consumer_generation")
        body = {
            source: {"allocations": {}, "project_id": project_id, "user_id": user_id,
                     "consumer_generation": held.get("consumer_generation"), "consumer_type": source_type},
            target: {"allocations": moved, "project_id": project_id, "user_id": user_id,
                     "consumer_generation": gen_target, "consumer_type": target_type},
        }
        resp = await self._call("POST", "/allocations", json=body)
        if resp.status_code != 204:
            raise PlacementError(f"moving allocations {source} -> {target}: {resp.status_code} {resp.text}")


def node_uuid(host: str, nodename: str) -> str:
    """A compute node's provider uuid, stable across restarts of its agent."""
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"onestack-compute-node:{host}:{nodename}"))
