"""Test clouds in this process, and fresh databases on the local PostgreSQL and MariaDB servers."""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient

from onestack import server
from onestack.core.config import load_config
from onestack.core.db import open_database
from tests.functional.cloud import create_test_database, drop_test_database
from tests.services import require_or_skip


@contextmanager
def in_process_cloud(overrides: dict[str, Any]) -> Iterator[TestClient]:
    """The app `onestack up` serves, with its lifespan (and so its compute runtime) running;
    ``client.cloud`` is the built cloud, so a test can reach into its simulated hosts."""
    config = load_config(None, overrides=overrides)
    db = open_database(config)
    server.upgrade_schema(db)
    server.bootstrap(config, db)
    built = server.build_cloud(config, db)
    with TestClient(built.app, base_url=config.base_url) as client:
        client.cloud = built
        yield client
    db.dispose()


def postgres_database() -> Generator[str, None, None]:
    """The URL of a new database (UTF-8, code-point collation), dropped when the generator is closed.

    Without a reachable server the test skips, or fails when ONESTACK_REQUIRE_SERVICES=1."""
    try:
        url = create_test_database("postgresql")
    except RuntimeError as exc:
        require_or_skip(str(exc))
    try:
        yield url
    finally:
        drop_test_database(url)


def mysql_database() -> Generator[str, None, None]:
    """As ``postgres_database``, on MariaDB (utf8mb4, binary collation)."""
    pymysql = pytest.importorskip("pymysql")
    name = f"onestack_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3, autocommit=True)
    except pymysql.err.MySQLError as exc:
        require_or_skip(f"MariaDB not reachable: {exc}")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
