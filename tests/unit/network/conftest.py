"""The network unit tests' database: every network table in a private in-memory SQLite database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

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
