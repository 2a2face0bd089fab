"""The scheduler service: ``select_destinations`` over the bus (``rpcapi.SchedulerAPI``).

Asks placement for candidates, builds the host snapshot, runs the pure filter/weigh/claim
function (scheduler/select.py) in a worker thread, and claims each choice in placement
atomically — a lost race falls through to the next host. It keeps nothing between requests
(every snapshot is read afresh, every claim is placement's), so any number of schedulers may
serve the topic at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select

from onestack.client.placement import PlacementClient
from onestack.compute.bdm_flags import VOLUME_BACKED
from onestack.compute.models import Instance
from onestack.compute.rpcapi import Destination, FlavorDict, ScheduleRequest
from onestack.compute.scheduler import registry
from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.select import NoValidHost, select_with_alternates
from onestack.compute.scheduler.snapshot import host_states, request_spec
from onestack.core.config import Config
from onestack.core.db import Database

log = logging.getLogger("onestack.compute.scheduler")


def resources_of(flavor: FlavorDict, volume_backed: bool = False) -> dict[str, int]:
    """What a server claims in placement; a volume-backed server's root disk is a volume, not
    the host's disk (Nova's is_bfv: no root_gb in DISK_GB)."""
    swap_gb = -(-int(flavor.get("swap") or 0) // 1024)
    root_gb = 0 if volume_backed else int(flavor["root_gb"])
    return {"VCPU": int(flavor["vcpus"]), "MEMORY_MB": int(flavor["memory_mb"]),
            "DISK_GB": root_gb + int(flavor.get("ephemeral_gb") or 0) + swap_gb}


class SchedulerManager:
    def __init__(self, config: Config, db: Database, placement: PlacementClient) -> None:
        self.config = config
        self.db = db
        self.placement = placement
        self.filters, self.weighers = registry.from_config(config.scheduler)

    async def select_destinations(self, spec: ScheduleRequest) -> list[Destination]:
        """One claimed destination per instance of ``spec`` (see ``rpcapi.ScheduleRequest``)."""
        uuids: list[str] = spec["instance_uuids"]

        def load(s: Any) -> Any:
            rows = list(s.scalars(select(Instance).where(Instance.uuid.in_(uuids)).order_by(Instance.launch_index)))
            if not rows:
                raise NoValidHost("The instances no longer exist.")
            if spec.get("flavor"):
                for row in rows:
                    s.expunge(row)
                    row.flavor = spec["flavor"]
            return rows, request_spec(s, rows, spec.get("ignore_hosts") or [])

        rows, rspec = await self.db.read(load)
        if spec.get("force_hosts") is not None:
            rspec.force_hosts = list(spec["force_hosts"])
        if spec.get("force_nodes") is not None:
            rspec.force_nodes = list(spec["force_nodes"])
        resources = resources_of(rows[0].flavor, volume_backed=bool((rows[0].system_metadata or {}).get(VOLUME_BACKED)))
        candidates = await self.placement.candidates(resources)
        states = await self.db.read(lambda s: host_states(s, candidates, rspec, self.config.compute.service_down_time))
        if spec.get("requested_host"):
            # Nova's requested_destination: only this host is considered, but it still has to
            # pass the filters (unlike force_hosts, which skips them).
            states = [h for h in states if h.host == spec["requested_host"]]
        loop = asyncio.get_running_loop()
        first = rows[0]
        consumers = [spec.get("consumer") or r.uuid for r in rows]
        replace = bool(spec.get("replace_claim"))

        def claim(host: HostState, index: int) -> bool:
            return asyncio.run_coroutine_threadsafe(self.placement.claim(
                consumers[index], host.uuid, resources, first.project_id, first.user_id, replace=replace),
                loop).result()

        def unclaim(host: HostState, index: int) -> None:
            asyncio.run_coroutine_threadsafe(self.placement.release(consumers[index]), loop).result()

        cfg = self.config.scheduler
        chosen = await asyncio.to_thread(
            select_with_alternates, states, rspec, self.filters, self.weighers, claim=claim, unclaim=unclaim,
            host_subset_size=cfg.host_subset_size, max_attempts=cfg.max_attempts)
        return [{"host": sel.host.host, "node": sel.host.nodename, "rp_uuid": sel.host.uuid,
                 "availability_zone": min(sel.host.zones()),
                 "alternates": [{"host": a.host, "node": a.nodename, "rp_uuid": a.uuid} for a in sel.alternates]}
                for sel in chosen]
