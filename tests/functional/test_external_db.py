"""`onestack up --db-url` against the local PostgreSQL and MariaDB servers (fresh database per run).

A server that does not answer skips its tests, unless ``ONESTACK_REQUIRE_SERVICES`` is set (as in
CI): then it fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.functional.cloud import (
    RunningCloud,
    create_test_database,
    drop_test_database,
    make_cloud,
)

pytestmark = pytest.mark.external_db

EMOJI_NAME = "\u2601\ufe0f \U0001f680 '; DROP TABLE project; --"


def _unavailable(what: str) -> NoReturn:
    """Skip, or fail when the environment promises the local services (ONESTACK_REQUIRE_SERVICES)."""
    if os.environ.get("ONESTACK_REQUIRE_SERVICES"):
        pytest.fail(f"{what} (ONESTACK_REQUIRE_SERVICES is set)")
    pytest.skip(what)


def _postgres_db() -> Generator[str, None, None]:
    try:
        url = create_test_database("postgresql")
    except RuntimeError as exc:
        _unavailable(str(exc))
    try:
        yield url
    finally:
        drop_test_database(url)


def _mysql_db() -> Generator[str, None, None]:
    import pymysql

    name = f"onestack_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3, autocommit=True)
    except pymysql.err.MySQLError as exc:
        _unavailable(f"MariaDB not reachable: {exc}")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(params=["postgresql", "mariadb"])
def external_cloud(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningCloud]:
    databases = _postgres_db() if request.param == "postgresql" else _mysql_db()
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

