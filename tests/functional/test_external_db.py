"""`onestack up --db-url` against the local PostgreSQL and MariaDB servers (fresh database per run)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.databases import mysql_database, postgres_database
from tests.functional.cloud import RunningCloud, make_cloud

pytestmark = pytest.mark.external_db

EMOJI_NAME = "\u2601\ufe0f \U0001f680 '; DROP TABLE project; --"


@pytest.fixture(params=["postgresql", "mariadb"])
def external_cloud(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningCloud]:
    databases = postgres_database() if request.param == "postgresql" else mysql_database()
    url = next(databases)
    running = make_cloud(tmp_path, extra_args=["--db-url", url])
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
