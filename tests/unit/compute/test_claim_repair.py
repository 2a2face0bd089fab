"""Claims a crash left behind: a re-driven build replaces its own, the audit heals leaks both ways.

The cloud runs in this process (tests/unit/compute/test_multi_conductor.py's ``Plane``: conductor
A of the cloud plus a second conductor B on the same database); each test writes what a process
killed at the wrong moment leaves — an allocation whose server is gone, a server whose allocation
is gone, a claim of a build attempt that never placed its row — and runs the periodic passes
itself. On SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy.orm import Session

from onestack.client.placement import PlacementClient
from onestack.compute import states
from onestack.compute.conductor.audit import nodes
from onestack.compute.models import Migration
from onestack.compute.scheduler.manager import resources_of
from onestack.core.ids import utcnow
from tests.unit.compute.test_multi_conductor import FLAVOR, GRACE, RPC_TIMEOUT, Plane, plane

__all__ = ["plane"]  # the fixture, shared with test_multi_conductor.py

RESOURCES = resources_of(FLAVOR)
OLD = timedelta(seconds=GRACE * 3)


def held(p: Plane, consumer: str) -> dict[str, Any]:
    found: dict[str, Any] = p.run(lambda: p.runtime.placement.allocations(consumer))["allocations"]
    return found


def audit_twice(p: Plane) -> None:
    """Both conductors' audits at once, as two conductor processes would run them."""
    async def passes() -> None:
        await asyncio.gather(p.a.audit.run(), p.b.audit.run())

    p.run(passes)


def providers(p: Plane) -> list[str]:
    """The compute nodes' provider uuids."""
    async def read() -> list[str]:
        return sorted(await p.db.read(nodes))

    found: list[str] = p.run(read)
    return found


@pytest.mark.parametrize("client", ["local", "http"])
def test_a_claim_replaces_the_consumers_own_only_when_asked(plane: Plane, client: str) -> None:
    """The same contract in-process (LocalPlacement) and over HTTP (PlacementClient)."""
    rt = plane.runtime
    placement = rt.placement if client == "local" else PlacementClient(rt.placement.session)
    first, second = providers(plane)[:2]
    consumer = str(uuidlib.uuid4())

    async def claims() -> tuple[bool, bool, bool, dict[str, dict[str, int]], dict[str, dict[str, int]]]:
        made = await placement.claim(consumer, first, RESOURCES, "p", "u")
        refused = await placement.claim(consumer, second, RESOURCES, "p", "u")
        replaced = await placement.claim(consumer, second, RESOURCES, "p", "u", replace=True)
        return made, refused, replaced, await placement.provider_allocations(first), \
            await placement.provider_allocations(second)

    made, refused, replaced, on_first, on_second = plane.run(claims)
    assert (made, refused, replaced) == (True, False, True)
    assert consumer not in on_first and on_second[consumer] == RESOURCES
    assert list(held(plane, consumer)) == [second]
    assert plane.run(lambda: placement.provider_allocations(str(uuidlib.uuid4()))) == {}
    plane.run(lambda: placement.release(consumer))


def test_a_redriven_build_replaces_the_claim_of_the_attempt_that_died(plane: Plane) -> None:
    """A conductor died after the scheduler claimed but before it placed the row: the re-drive
    claims under the same consumer and must not be refused for the stale claim (it was, with
    "No valid host was found" on empty hosts)."""
    uuids = plane.boot(2)
    rt = plane.runtime
    stale = providers(plane)[0]
    for uuid in uuids:
        assert plane.run(partial(rt.placement.claim, uuid, stale, RESOURCES, "p", "u"))
    lapse = timedelta(seconds=RPC_TIMEOUT + GRACE)
    plane.set_rows(uuids, task_lease="conductor-that-died", updated_at=utcnow() - lapse - timedelta(seconds=1))

    async def passes() -> None:
        await asyncio.gather(plane.a.periodic(), plane.b.periodic())

    plane.run(passes)
    plane.assert_built_once(uuids)  # ACTIVE, built once, one allocation on the provider it runs on


def test_a_redriven_unshelve_replaces_the_claim_of_the_attempt_that_died(plane: Plane) -> None:
    """An unshelve placed on a host whose cast was lost, its conductor dead: the re-drive takes it
    with the claim still held there, and ends with one claim on the host it runs on."""
    uuids, host = plane.active_server()
    uuid = uuids[0]
    rt = plane.runtime
    plane.run(lambda: rt.drivers[host].destroy(uuid))  # offloaded: no guest; the claim is the attempt's
    lapse = timedelta(seconds=RPC_TIMEOUT + GRACE)
    plane.set_rows(uuids, vm_state=states.SHELVED_OFFLOADED, task_state=states.UNSHELVING,
                   task_lease="conductor-that-died", updated_at=utcnow() - lapse - timedelta(seconds=1))

    async def passes() -> None:
        await asyncio.gather(plane.a.periodic(), plane.b.periodic())

    plane.run(passes)
    row = plane.wait_settled(uuids)[uuid]
    assert row.vm_state == states.ACTIVE
    assert list(held(plane, uuid)) == [row.system_metadata["rp_uuid"]]


def test_the_audit_releases_what_deleted_servers_and_ended_moves_hold(plane: Plane) -> None:
    deleted, _ = plane.active_server()
    failed, _ = plane.active_server()
    fresh_failure, _ = plane.active_server()
    # Killed between marking the row deleted (or failed) and releasing its claim.
    plane.set_rows(deleted, deleted=True, vm_state=states.DELETED, task_state=None, deleted_at=utcnow())
    plane.set_rows(failed, vm_state=states.ERROR, host=None, node=None, updated_at=utcnow() - OLD)
    plane.set_rows(fresh_failure, vm_state=states.ERROR, host=None, node=None)  # within the grace: left alone
    rp = providers(plane)[0]
    ended, running = str(uuidlib.uuid4()), str(uuidlib.uuid4())

    def migrations(s: Session) -> None:
        for uuid, status in ((ended, "confirmed"), (running, "migrating")):
            s.add(Migration(uuid=uuid, instance_uuid=str(uuidlib.uuid4()), project_id="p", user_id="u", migration_type="migration",
                            status=status, created_at=utcnow(), updated_at=utcnow() - OLD))

    plane.run(lambda: plane.db.write(migrations))
    for consumer in (ended, running):
        assert plane.run(partial(plane.runtime.placement.claim, consumer, rp, RESOURCES, "p", "u"))
    audit_twice(plane)
    assert held(plane, deleted[0]) == {} and held(plane, failed[0]) == {} and held(plane, ended) == {}
    assert held(plane, fresh_failure[0]) != {} and list(held(plane, running)) == [rp]
    for consumer in (fresh_failure[0], running):  # leave nothing to the next test
        plane.run(partial(plane.runtime.placement.release, consumer))
    plane.set_rows(failed + fresh_failure, deleted=True, vm_state=states.DELETED)


def test_the_audit_claims_again_for_a_live_server_that_lost_its_allocation(plane: Plane) -> None:
    uuids, _host = plane.active_server()
    uuid = uuids[0]
    rp = plane.rows(uuids)[uuid].system_metadata["rp_uuid"]
    plane.run(lambda: plane.runtime.placement.release(uuid))
    audit_twice(plane)
    assert held(plane, uuid) == {}  # touched within the grace: someone may be working on it
    plane.set_rows(uuids, updated_at=utcnow() - OLD)
    audit_twice(plane)
    assert held(plane, uuid) == {rp: {"generation": held(plane, uuid)[rp]["generation"], "resources": RESOURCES}}
    audit_twice(plane)  # and again changes nothing
    assert list(held(plane, uuid)) == [rp]


def test_the_audit_moves_home_a_claim_left_on_another_node(plane: Plane) -> None:
    """A stale attempt's claim landed after the new owner's (the row says one host, placement
    another): the row wins once it has been at rest for the grace."""
    uuids, _host = plane.active_server()
    uuid = uuids[0]
    home = plane.rows(uuids)[uuid].system_metadata["rp_uuid"]
    away = next(rp for rp in providers(plane) if rp != home)
    assert plane.run(lambda: plane.runtime.placement.claim(uuid, away, RESOURCES, "p", "u", replace=True))
    audit_twice(plane)
    assert list(held(plane, uuid)) == [away]  # touched within the grace: left alone
    plane.set_rows(uuids, updated_at=utcnow() - OLD)
    audit_twice(plane)
    assert list(held(plane, uuid)) == [home]
    assert held(plane, uuid)[home]["resources"] == RESOURCES


def test_the_audit_leaves_consumers_compute_does_not_know_alone(plane: Plane) -> None:
    rp = providers(plane)[0]
    stranger = str(uuidlib.uuid4())
    assert plane.run(lambda: plane.runtime.placement.claim(stranger, rp, RESOURCES, "p", "u"))
    audit_twice(plane)
    assert list(held(plane, stranger)) == [rp]
    plane.run(lambda: plane.runtime.placement.release(stranger))
