"""The network unit tests' database: every network table in a private in-memory SQLite database
(or, for the tests of MariaDB's behaviour, in a fresh MariaDB database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from onestack.core.db import create_db_engine
from onestack.network import models


def memory_engine(foreign_keys: bool) -> Engine:
    engine = create_engine("sqlite://")
    if foreign_keys:
        event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    models.Base.metadata.create_all(engine)
    return engine


@pytest.fixture
def s() -> Iterator[Session]:
    """A session inside one transaction, foreign keys enforced as PostgreSQL does."""
    engine = memory_engine(foreign_keys=True)
    with Session(engine) as session, session.begin():
        yield session
    engine.dispose()


@pytest.fixture
def session() -> Iterator[Session]:
    """A session in no transaction (the test begins its own); foreign keys not enforced (SQLite's
    default), for tests that write child rows alone, e.g. allocations without their ports."""
    engine = memory_engine(foreign_keys=False)
    with Session(engine) as sess:
        yield sess
    engine.dispose()


@pytest.fixture
def mariadb_engine() -> Iterator[Engine]:
    """Every network table in a new MariaDB database (dropped after; skips without the server)."""
    from tests.databases import mysql_database  # imports the whole server: only for these tests

    urls = mysql_database()
    engine = create_db_engine(next(urls))
    models.Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        urls.close()
