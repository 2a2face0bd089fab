"""Placement of networks' DHCP and routers over a real (SQLite) database: the automatic choice, an
admin's placement while its agent serves, and an admin's removal (unhosted)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from onestack.core.db import Database, create_db_engine
from onestack.network import models
from onestack.network.agent.host import ROLES
from onestack.network.service import agent_scheduler as sched
from onestack.network.service import agents
from onestack.network.service.common import now

DOWN = 75


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'network.db'}")
    models.Base.metadata.create_all(engine)
    database = Database(engine)
    yield database
    database.dispose()


def _agent_id(s: Session, host: str, kind: str) -> str:
    return next(a.id for a in s.query(models.Agent).filter_by(host=host, agent_type=kind))


def test_routers_follow_the_automatic_choice_then_an_admins(db: Database) -> None:
    for host in ("host-b", "host-a"):
        db.run_sync(lambda s, h=host: agents.report_state(s, h, ROLES, True))

    def setup(s: Session) -> None:
        for rid in ("r1", "r2", "r3"):
            s.add(models.Router(id=rid, project_id="p", name=rid, admin_state_up=True, status="ACTIVE",
                                enable_snat=True, description="", revision_number=0, created_at=now(),
                                updated_at=now()))
        s.flush()
        sched.pin(s, sched.L3_AGENT_TYPE, "r2", _agent_id(s, "host-b", sched.L3_AGENT_TYPE))
        sched.pin(s, sched.L3_AGENT_TYPE, "r3", None)

    db.run_sync(setup)
    # host-a (first by name) runs every router but the one placed on host-b and the unhosted one.
    assert db.run_sync(lambda s: sched.routers_of(s, "host-a", DOWN), write=False) == (None, {"r2", "r3"})
    assert db.run_sync(lambda s: sched.routers_of(s, "host-b", DOWN), write=False) == ({"r2"}, set())
    # host-b falls silent: its router yields to the automatic choice; the unhosted one stays unhosted.
    db.run_sync(lambda s: [setattr(a, "heartbeat_timestamp", now() - timedelta(seconds=DOWN + 5))
                           for a in s.query(models.Agent).filter_by(host="host-b")])
    assert db.run_sync(lambda s: sched.routers_of(s, "host-a", DOWN), write=False) == (None, {"r3"})
    assert db.run_sync(lambda s: sched.routers_of(s, "host-b", DOWN), write=False) == (set(), set())
    # A deleted agent takes its placements with it.
    db.run_sync(lambda s: s.delete(s.get(models.Agent, _agent_id(s, "host-b", sched.L3_AGENT_TYPE))))
    placed = db.run_sync(lambda s: {r.router_id for r in s.query(models.RouterL3Binding)}, write=False)
    assert placed == {"r3"}


def test_placement_of_a_network(db: Database) -> None:
    db.run_sync(lambda s: agents.report_state(s, "host-a", ROLES, True))
    where = db.run_sync(lambda s: sched.placement(s, sched.DHCP_AGENT_TYPE, DOWN, ["n1"]), write=False)
    assert where.default is not None and where.default.host == "host-a"
    assert where.agent_of("n1").host == "host-a"  # type: ignore[union-attr]
    assert where.agent_of("n1", automatic=False) is None
    assert where.hosts() == {"host-a"}
