"""Two conductors and two schedulers on one database: every server is scheduled and built once.

The cloud `onestack up` serves runs in this process (its conductor is A); a second conductor B
and a second scheduler serve the same bus topics against the same database, as two conductor
processes would. Boot requests are written the way the API writes them, then delivered several
times to both conductors at once (at-least-once delivery), or left for both conductors'
periodic passes to find stale. Runs on SQLite and, when they are reachable, on PostgreSQL (READ
COMMITTED, where two transactions really do race for a row) and on MariaDB (no UPDATE ...
RETURNING: the leases and the agents' row updates read the row back with a SELECT there).
"""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from onestack.compute import states
from onestack.compute.conductor.manager import ConductorManager
from onestack.compute.models import (
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
    Migration,
)
from onestack.compute.rpcapi import AgentAPI, ConductorAPI, SchedulerAPI
from onestack.compute.scheduler.manager import SchedulerManager
from onestack.compute.service import builds, instances
from onestack.core.ids import utcnow
from onestack.core.rpc import serve
from tests.databases import in_process_cloud, mysql_database, postgres_database

# Seconds. Well above a second: MariaDB's DATETIME keeps whole seconds, so a row written just now
# may read up to 1 s older, and with a 1 s grace would already count as idle.
GRACE = 3.0
RPC_TIMEOUT = 5.0
FLAVOR = {"flavorid": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 64, "root_gb": 1, "ephemeral_gb": 0,
          "swap": 0, "rxtx_factor": 1.0, "extra_specs": {}, "description": None}
BUILD_EVENT = "compute__do_build_and_run_instance"
REQUEST = "req-twins"  # every boot request here: its events are found by it


class Runtime:
    """What these tests reach in the running cloud: its bus, placement client, conductor A and hosts."""

    def __init__(self, cloud: Any) -> None:
        process = cloud.process
        self.config, self.bus, self.placement = process.config, process.bus, process.placement
        self.conductor: ConductorManager = process.state_of("conductor").manager
        self.drivers = cloud.compute_hosts.drivers
        self.agents = cloud.compute_hosts.agents
        self.agent_api = AgentAPI(process.bus, timeout=process.config.compute.rpc_timeout)
        self.db = process.database()


class Plane:
    """The running cloud's control plane plus conductor B and a second scheduler."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.runtime = Runtime(client.cloud)
        rt = self.runtime
        self.db = rt.db
        self.a = rt.conductor
        self.b = ConductorManager(rt.config, self.db.sibling(), rt.placement, SchedulerAPI(rt.bus), rt.agent_api)
        self.bus_api = ConductorAPI(rt.bus)

    def run(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        assert self.client.portal is not None
        return self.client.portal.call(fn)

    def boot(self, count: int) -> list[str]:
        """The rows of one boot request of ``count`` servers, as the API writes them (no cast)."""
        req = builds.BootRequest(project_id=f"p-{uuidlib.uuid4().hex[:8]}", user_id="u", request_id=REQUEST,
                                 name="twin", flavor=dict(FLAVOR), image_ref="", min_count=count, max_count=count,
                                 networks="none")

        async def write() -> list[str]:
            made: list[str] = await self.db.write(lambda s: [i.uuid for i in builds.create(s, req)])
            return made

        uuids: list[str] = self.run(write)
        return uuids

    def active_server(self) -> tuple[list[str], str]:
        """One server built by conductor A: ([its uuid], its host)."""
        uuids = self.boot(1)
        self.run(lambda: self.a.build_instances(uuids, REQUEST))
        self.assert_built_once(uuids)
        host = self.rows(uuids)[uuids[0]].host
        assert host is not None
        return uuids, host

    def set_rows(self, uuids: list[str], **values: Any) -> None:
        async def write() -> None:
            await self.db.write(lambda s: s.execute(update(Instance).where(Instance.uuid.in_(uuids)).values(**values)))

        self.run(write)

    def rows(self, uuids: list[str]) -> dict[str, Instance]:
        def load(s: Session) -> dict[str, Instance]:
            return {i.uuid: i for i in s.scalars(select(Instance).where(Instance.uuid.in_(uuids)))}

        async def read() -> dict[str, Instance]:
            loaded: dict[str, Instance] = await self.db.read(load)
            return loaded

        found: dict[str, Instance] = self.run(read)
        return found

    def wait_settled(self, uuids: list[str], timeout: float = 30.0) -> dict[str, Instance]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.rows(uuids)
            if all(r.task_state is None for r in rows.values()):
                return rows
            time.sleep(0.05)
        pending = {u: (r.vm_state, r.task_state) for u, r in self.rows(uuids).items() if r.task_state}
        raise TimeoutError(f"servers still busy: {pending}")

    def assert_built_once(self, uuids: list[str]) -> None:
        rows = self.wait_settled(uuids)
        failed = [u for u, r in rows.items() if r.vm_state != states.ACTIVE]
        assert not failed, self.run(lambda: self.db.read(lambda s: [(f.instance_uuid, f.message) for f in s.scalars(
            select(InstanceFault).where(InstanceFault.instance_uuid.in_(failed)))]))
        rt = self.runtime

        async def facts() -> tuple[dict[str, dict[str, Any]], dict[str, list[str]], dict[str, int]]:
            held = {u: (await rt.placement.allocations(u))["allocations"] for u in uuids}
            guests = {host: await driver.list_instances() for host, driver in rt.drivers.items()}
            built = {u: await self.db.read(_build_events, u) for u in uuids}
            return held, guests, built

        held, guests, built = self.run(facts)
        for u, row in rows.items():
            providers = held[u]
            assert len(providers) == 1, f"{u} holds {providers}"
            (rp, alloc), = providers.items()
            assert rp == row.system_metadata["rp_uuid"] and alloc["resources"]["VCPU"] == 1
            on = [host for host, names in guests.items() if u in names]
            assert on == [row.host], f"{u}: row says {row.host}, guests on {on}"
            assert built[u] == 1, f"{u} was built {built[u]} times"


def _build_events(s: Session, uuid: str) -> int:
    """How many builds the agents recorded for the server (each writes one finished event)."""
    return int(s.scalar(select(func.count()).select_from(InstanceActionEvent).join(
        InstanceAction, InstanceAction.id == InstanceActionEvent.action_id).where(
        InstanceAction.instance_uuid == uuid, InstanceActionEvent.event == BUILD_EVENT)) or 0)


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def plane(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    data = Path(tmp_path_factory.mktemp(f"twins-{request.param}"))
    urls = {"postgresql": postgres_database, "mariadb": mysql_database}.get(request.param, lambda: None)()
    overrides: dict[str, Any] = {
        "server.data_dir": str(data), "identity.password_hash_rounds": 4, "log.requests": False,
        "bootstrap.admin_password": "secret", "compute.hosts": 2, "compute.task_grace": GRACE,
        "compute.rpc_timeout": RPC_TIMEOUT,
        # The background loops stay out of the way: the test runs each periodic pass itself.
        "compute.reconcile_interval": 600, "compute.report_interval": 600}
    if urls is not None:
        overrides["database.url"] = next(urls)
    try:
        with in_process_cloud(overrides) as client:
            plane = Plane(client)
            rt = plane.runtime
            second_scheduler = SchedulerManager(rt.config, plane.db.sibling(), rt.placement)

            async def serve_twins() -> None:
                await plane.b.serve(rt.bus)
                await serve(rt.bus, SchedulerAPI, second_scheduler)

            plane.run(serve_twins)
            yield plane
    finally:
        if urls is not None:
            urls.close()


def test_a_request_delivered_many_times_to_both_conductors_is_built_once(plane: Plane) -> None:
    requests = [plane.boot(2) for _ in range(3)]

    async def deliver() -> None:
        # Each request four times at once, to both conductors, and twice more over the bus
        # (where the two conductors take turns).
        await asyncio.gather(*(c.build_instances(uuids, REQUEST) for uuids in requests
                               for c in (plane.a, plane.b, plane.a, plane.b)))
        for uuids in requests:
            await plane.bus_api.build_instances(uuids, REQUEST)
            await plane.bus_api.build_instances(uuids, REQUEST)

    plane.run(deliver)
    plane.assert_built_once([u for uuids in requests for u in uuids])


def test_both_periodic_passes_find_a_lost_request_and_it_is_built_once(plane: Plane) -> None:
    uuids = plane.boot(3)  # its cast was lost: nobody leased the rows
    plane.set_rows(uuids, updated_at=utcnow() - timedelta(seconds=GRACE * 2))

    async def passes() -> None:
        await asyncio.gather(plane.a.periodic(), plane.b.periodic(), plane.a.periodic())

    plane.run(passes)
    plane.assert_built_once(uuids)


def test_a_lapsed_lease_is_taken_over_and_a_live_one_is_left_alone(plane: Plane) -> None:
    dead, live = plane.boot(1), plane.boot(1)
    lapse = timedelta(seconds=RPC_TIMEOUT + GRACE)
    plane.set_rows(dead, task_lease="conductor-that-died", updated_at=utcnow() - lapse - timedelta(seconds=1))
    plane.set_rows(live, task_lease="conductor-still-working", updated_at=utcnow() - timedelta(seconds=GRACE * 2))

    async def passes() -> None:
        await asyncio.gather(plane.a.periodic(), plane.b.periodic())

    plane.run(passes)
    plane.assert_built_once(dead)
    row = plane.rows(live)[live[0]]
    assert (row.task_state, row.host, row.task_lease) == (states.SCHEDULING, None, "conductor-still-working")
    # A repeated cast of the request does not take the live lease either.
    plane.run(lambda: plane.b.build_instances(live, REQUEST))
    assert plane.rows(live)[live[0]].task_lease == "conductor-still-working"
    plane.set_rows(live, deleted=True, vm_state=states.DELETED, task_state=None)


def test_a_repeated_unshelve_is_scheduled_once(plane: Plane) -> None:
    uuids, host = plane.active_server()
    uuid = uuids[0]
    rt = plane.runtime

    async def offload() -> None:  # what shelve-offload leaves: no guest, no claim, no host
        await rt.drivers[host].destroy(uuid)
        await rt.placement.release(uuid)

    plane.run(offload)
    plane.set_rows(uuids, vm_state=states.SHELVED_OFFLOADED, task_state=states.UNSHELVING, host=None, node=None)

    async def deliver() -> None:
        await asyncio.gather(plane.a.shelve.unshelve_instance(uuid), plane.b.shelve.unshelve_instance(uuid),
                             plane.a.shelve.unshelve_instance(uuid), plane.b.periodic())

    plane.run(deliver)
    rows = plane.wait_settled(uuids)
    assert rows[uuid].vm_state == states.ACTIVE

    async def facts() -> tuple[dict[str, Any], list[str]]:
        held = (await rt.placement.allocations(uuid))["allocations"]
        return held, [h for h, d in rt.drivers.items() if uuid in await d.list_instances()]

    held, on = plane.run(facts)
    assert len(held) == 1 and on == [rows[uuid].host]


def test_an_unshelve_message_for_a_host_the_row_left_does_nothing(plane: Plane) -> None:
    """A late copy of an unshelve that was re-driven elsewhere must not spawn a second guest."""
    uuids, here = plane.active_server()
    uuid = uuids[0]
    rt = plane.runtime
    elsewhere = next(h for h in rt.drivers if h != here)
    plane.run(lambda: rt.drivers[here].destroy(uuid))
    # Offloaded, then placed on `here` again by the unshelve now in progress (its claim held).
    plane.set_rows(uuids, vm_state=states.SHELVED_OFFLOADED, task_state=states.UNSHELVING)
    agents = {a.host: a for a in rt.agents}

    async def deliver(host: str) -> None:
        row = await plane.db.read(lambda s: instances.to_dict(instances.get(s, uuid)))
        await agents[host].actions.unshelve_instance(row)

    plane.run(lambda: deliver(elsewhere))
    row = plane.rows(uuids)[uuid]
    assert (row.vm_state, row.task_state, row.host) == (states.SHELVED_OFFLOADED, states.UNSHELVING, here)
    assert uuid not in plane.run(rt.drivers[elsewhere].list_instances)
    plane.run(lambda: deliver(here))
    assert plane.wait_settled(uuids)[uuid].vm_state == states.ACTIVE
    assert uuid in plane.run(rt.drivers[here].list_instances)


def test_a_repeated_migrate_request_moves_the_server_once(plane: Plane) -> None:
    uuids, source = plane.active_server()
    uuid = uuids[0]
    rt = plane.runtime

    def start(s: Session) -> str:  # what the API writes for `migrate` before its cast
        inst = instances.get(s, uuid)
        inst.task_state, inst.system_metadata = states.RESIZE_PREP, {**inst.system_metadata, "old_vm_state": "active"}
        instances.start_action(s, uuid, "migrate", REQUEST, inst.project_id, inst.user_id)
        mig = Migration(uuid=str(uuidlib.uuid4()), instance_uuid=uuid, project_id=inst.project_id,
                        user_id=inst.user_id, migration_type="migration", status="pre-migrating",
                        source_compute=inst.host, source_node=inst.node, old_flavorid="1", new_flavorid="1",
                        created_at=utcnow(), updated_at=utcnow())
        s.add(mig)
        return mig.uuid

    async def deliver() -> str:
        migration: str = await plane.db.write(start)
        await asyncio.gather(*(c.moves.migrate_server(uuid, migration, dict(FLAVOR), request_id=REQUEST)
                               for c in (plane.a, plane.b, plane.a, plane.b)))
        await plane.bus_api.migrate_server(uuid, migration, dict(FLAVOR), request_id=REQUEST)
        return migration

    migration = plane.run(deliver)
    row = plane.wait_settled(uuids)[uuid]
    assert (row.vm_state, row.task_state) == (states.RESIZED, None) and row.host not in (None, source)

    async def facts() -> tuple[dict[str, Any], dict[str, Any], str]:
        held = (await rt.placement.allocations(uuid))["allocations"]
        parked = (await rt.placement.allocations(migration))["allocations"]
        status = await plane.db.read(lambda s: s.scalar(select(Migration.status).where(Migration.uuid == migration)))
        return held, parked, status

    held, parked, status = plane.run(facts)
    nodes = {host: d for host, d in rt.drivers.items()}
    assert status == "finished"
    # The server holds its destination; the migration holds the source, once each.
    assert list(held) == [row.system_metadata["rp_uuid"]] and len(parked) == 1 and list(parked) != list(held)
    assert uuid in plane.run(nodes[row.host].list_instances)
