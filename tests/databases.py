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


@contextmanager
def in_process_cloud(overrides: dict[str, Any]) -> Iterator[TestClient]:
    """The app `onestack up` serves, with its lifespan (and so its compute runtime) running;
    ``client.cloud`` is the built cloud, so a test can reach into its simulated hosts."""
    config = load_config(None, overrides=overrides)
    db = server.open_database(config)
    server.upgrade_schema(db)
    server.bootstrap(config, db)
    built = server.build_cloud(config, db)
    with TestClient(built.app, base_url=config.base_url) as client:
        client.cloud = built  # type: ignore[attr-defined]
        yield client
    db.dispose()


def _fresh(admin: Any, name: str, create: str, drop: str, url: str) -> Generator[str, None, None]:
    with admin.cursor() as cur:
        cur.execute(create.format(name=name))
    try:
        yield url.format(name=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(drop.format(name=name))
        admin.close()


def postgres_database() -> Generator[str, None, None]:
    """The URL of a new database, dropped when the generator is closed; skips without a server."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    admin.autocommit = True
    return _fresh(admin, f"onestack_test_{uuid.uuid4().hex[:10]}", 'CREATE DATABASE "{name}"',
                  'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "postgresql://postgres@127.0.0.1:5432/{name}")


def mysql_database() -> Generator[str, None, None]:
    """As ``postgres_database``, on MariaDB."""
    pymysql = pytest.importorskip("pymysql")
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3, autocommit=True)
    except pymysql.err.MySQLError as exc:
        pytest.skip(f"MariaDB not reachable: {exc}")
    return _fresh(admin, f"onestack_test_{uuid.uuid4().hex[:10]}",
                  "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                  "DROP DATABASE IF EXISTS `{name}`", "mysql://root@127.0.0.1:3306/{name}")
