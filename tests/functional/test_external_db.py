"""`onestack up --db-url` against the local PostgreSQL and MariaDB servers (fresh database per run).

A server that does not answer skips its tests, unless ``ONESTACK_REQUIRE_SERVICES`` is set (as in
CI): then it fails them.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tests.databases import mysql_database, postgres_database
from tests.functional.cloud import RunningCloud, make_cloud, wait_until

pytestmark = pytest.mark.external_db

EMOJI_NAME = "\u2601\ufe0f \U0001f680 '; DROP TABLE project; --"


@pytest.fixture(params=["postgresql", "mariadb"])
def external_cloud(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningCloud]:
    databases = postgres_database() if request.param == "postgresql" else mysql_database()
    url = next(databases)
    running = make_cloud(tmp_path, db_url=url)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        databases.close()  # runs the generator's finally: drop the database


def test_tokens_and_crud(external_cloud: RunningCloud) -> None:
    admin: Any = external_cloud.sdk("devstack-admin")
    demo: Any = external_cloud.sdk("devstack")
    assert demo.session.get_token().startswith("gAAAAA")
    assert external_cloud.sdk("devstack-system-admin").session.get_token()

    project = admin.identity.create_project(name=f"ext-{uuid.uuid4().hex[:8]}", description=EMOJI_NAME,
                                            domain_id="default")
    assert admin.identity.get_project(project.id).description == EMOJI_NAME
    assert [p.id for p in admin.identity.projects(name=project.name)] == [project.id]
    admin.identity.update_project(project, description="changed")
    assert admin.identity.get_project(project.id).description == "changed"

    role = admin.identity.create_role(name=f"ext-role-{uuid.uuid4().hex[:6]}")
    assert role.id in {r.id for r in admin.identity.roles()}

    user = admin.identity.create_user(name=f"ext {EMOJI_NAME}", password="s3cret-ext", domain_id="default",
                                      default_project_id=project.id)
    admin.identity.assign_project_role_to_user(project, user, role)
    assert admin.identity.validate_user_has_project_role(project, user, role)
    conn = external_cloud.sdk("devstack", auth={"username": user.name, "password": "s3cret-ext",
                                                "project_name": project.name})
    assert conn.session.get_token()

    admin.identity.delete_user(user)
    admin.identity.delete_role(role)
    admin.identity.delete_project(project)
    assert project.id not in {p.id for p in admin.identity.projects()}


def test_data_survives_restart(external_cloud: RunningCloud) -> None:
    admin: Any = external_cloud.sdk("devstack-admin")
    project = admin.identity.create_project(name=f"keep-{uuid.uuid4().hex[:8]}", domain_id="default")
    token = admin.session.get_token()
    assert external_cloud.stop() == 0
    external_cloud.start()
    admin = external_cloud.sdk("devstack-admin")
    assert admin.identity.get_project(project.id).name == project.name
    resp = admin.session.get("/v3/auth/tokens", endpoint_filter={"service_type": "identity"},
                             headers={"X-Subject-Token": token})
    assert resp.status_code == 200


# --- races SQLite's single writer hides ---------------------------------------------------------
# Two transactions, held apart deterministically: the first writes and keeps its row locks; the
# second runs in a thread until PostgreSQL shows it waiting on a lock; then the first commits.


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    from onestack.core.db import Database, create_db_engine
    from onestack.server import upgrade_schema

    databases = postgres_database()
    engine = create_db_engine(next(databases))
    try:
        upgrade_schema(Database(engine))
        yield engine
    finally:
        engine.dispose()
        databases.close()


def _race(engine: Engine, first: Callable[[Session], None], second: Callable[[Session], None]) -> None:
    """``first`` runs and holds its transaction open until ``second`` (another thread) waits on its locks."""
    with Session(engine) as s1:
        s1.begin()
        first(s1)
        s1.flush()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            def run_second() -> None:
                with Session(engine) as s2, s2.begin():
                    second(s2)

            done = pool.submit(run_second)

            def second_waits() -> bool:
                with engine.connect() as conn:
                    return bool(conn.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'")))

            wait_until(second_waits, timeout=30, what="the second transaction to wait on the first's locks")
            s1.commit()
            done.result(timeout=30)


def test_racing_claims_on_one_provider_both_land(pg_engine: Engine) -> None:
    """The loser of the generation swap retries from a savepoint (Placement's allocation_conflict_retry_count)."""
    from onestack.core.api.microversion import Version
    from onestack.placement import models as pm
    from onestack.placement.service import allocations, classes, inventories, providers

    with Session(pg_engine) as s, s.begin():
        classes.seed(s)
        rp = providers.create(s, "host-1", None, None)["uuid"]
        inventories.replace_all(s, rp, {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}},
                                Version(1, 39))

    def claim(consumer: str) -> Callable[[Session], None]:
        return lambda s: allocations.set_allocations(s, [allocations.ConsumerWrite(
            uuid=consumer, allocations={rp: {"VCPU": 1}}, project_id="p", user_id="u")])

    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    _race(pg_engine, claim(first), claim(second))
    with Session(pg_engine) as s:
        held = {row.consumer_id: row.used for row in s.execute(select(pm.Allocation.consumer_id, pm.Allocation.used))}
        assert held == {first: 1, second: 1}
        assert s.scalar(select(pm.ResourceProvider.generation).where(pm.ResourceProvider.uuid == rp)) == 3


@pytest.mark.parametrize("where", ["tokens", "users"])
def test_racing_failed_authentications_all_count(pg_engine: Engine, where: str) -> None:
    """Each failure counts toward the lockout, however many arrive at once (the row is locked, not overwritten)."""
    from onestack.identity.models import User
    from onestack.identity.service import bootstrap, tokens, users

    with Session(pg_engine) as s, s.begin():
        bootstrap.bootstrap(s, admin_password="a", demo_password="d", service_password="s", rounds=4,
                            region="RegionOne")
        user_id = users.find_user_by_name(s, "demo", "default").id
    record = tokens._record_failure if where == "tokens" else users.record_failure

    _race(pg_engine, lambda s: record(s, user_id, 1800), lambda s: record(s, user_id, 1800))
    with Session(pg_engine) as s:
        assert s.scalar(select(User.failed_auth_count).where(User.id == user_id)) == 2
