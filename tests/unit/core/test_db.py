"""Database helpers: URL normalisation, SQLite set-up, transactions, migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from onestack.core.db import Database, create_db_engine, migrate, normalise_url


@pytest.mark.parametrize(("given", "expected"), [
    ("mysql://root@127.0.0.1:3306/onestack", "mysql+pymysql://root@127.0.0.1:3306/onestack"),
    ("mariadb://u:p@db/x", "mysql+pymysql://u:p@db/x"),
    # psycopg2 explicitly: SQLAlchemy 2.1 would pick psycopg 3, which we do not ship.
    ("postgres://postgres@127.0.0.1/x", "postgresql+psycopg2://postgres@127.0.0.1/x"),
    ("postgresql://postgres@127.0.0.1/x", "postgresql+psycopg2://postgres@127.0.0.1/x"),
    ("postgresql+psycopg2://h/x", "postgresql+psycopg2://h/x"),
    ("mysql+pymysql://h/x", "mysql+pymysql://h/x"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ("sqlite://", "sqlite://"),
])
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_mysql_engine_uses_pymysql_and_utf8mb4() -> None:
    engine = create_db_engine("mysql://root@127.0.0.1:3306/x")  # no connection is made
    assert engine.dialect.name == "mysql" and engine.dialect.driver == "pymysql"
    assert engine.url.query["charset"] == "utf8mb4"
    explicit = create_db_engine("mysql://root@127.0.0.1/x?charset=utf8")
    assert explicit.url.query["charset"] == "utf8"


def test_postgres_engine() -> None:
    engine = create_db_engine("postgres://postgres@127.0.0.1:5432/x")
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg2"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(create_db_engine(f"sqlite:///{tmp_path / 't.db'}"))
    yield database
    database.dispose()


METADATA = MetaData()
THINGS = Table("things", METADATA, Column("id", Integer, primary_key=True), Column("name", String(40)))


def test_sqlite_pragmas(db: Database) -> None:
    assert db.is_sqlite
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_write_commits_and_errors_roll_back(db: Database) -> None:
    METADATA.create_all(db.engine)

    def insert(s: Session, name: str) -> None:
        s.execute(THINGS.insert().values(name=name))

    def insert_then_fail(s: Session) -> None:
        s.execute(THINGS.insert().values(name="ghost"))
        raise RuntimeError("boom")

    def names(s: Session) -> list[str]:
        return list(s.execute(select(THINGS.c.name).order_by(THINGS.c.id)).scalars())

    db.run_sync(insert, "one")
    with pytest.raises(RuntimeError):
        db.run_sync(insert_then_fail)
    assert db.run_sync(names, write=False) == ["one"]

    async def both() -> list[str]:
        await db.write(insert, "two")
        return await db.read(names)

    assert asyncio.run(both()) == ["one", "two"]


def test_concurrent_sqlite_writes_are_serialised(db: Database) -> None:
    METADATA.create_all(db.engine)

    def bump(s: Session, i: int) -> None:
        count = s.execute(select(THINGS.c.id)).all()
        s.execute(THINGS.insert().values(name=f"n{len(count)}-{i}"))

    async def many() -> int:
        await asyncio.gather(*(db.write(bump, i) for i in range(20)))
        return await db.read(lambda s: len(s.execute(select(THINGS.c.id)).all()))

    assert asyncio.run(many()) == 20


def test_every_services_migrations_apply_and_are_idempotent(db: Database) -> None:
    from onestack.server import SERVICES

    for m in (m for d in SERVICES for m in d.migrations):
        migrate(db.engine, m.location, f"alembic_version_{m.name}", m.metadata)
        migrate(db.engine, m.location, f"alembic_version_{m.name}", m.metadata)  # second run is a no-op
    tables = set(inspect(db.engine).get_table_names())
    assert "alembic_version_identity" in tables
    from onestack.identity.models import Base

    assert set(Base.metadata.tables) <= tables


@pytest.fixture
def pg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    import onestack.core.db as dbmod
    from tests.databases import postgres_database

    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_S", 0.0)  # every reuse counts as after idle
    databases = postgres_database()
    database = Database(create_db_engine(next(databases)))
    yield database
    database.dispose()
    databases.close()


def _backend(s: Session) -> int:
    return int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_postgres_pool_replaces_a_connection_the_server_dropped(pg: Database) -> None:
    writing, reading = pg.run_sync(_backend), pg.run_sync(_backend, write=False)
    killer = create_db_engine(pg.engine.url.render_as_string(hide_password=False))
    with killer.connect() as other:  # the server drops the pooled connections, idle in their pools
        for pid in (writing, reading):
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()
    killer.dispose()
    # The pool pings an idle connection, finds it dead and opens another: no error reaches the work.
    assert pg.run_sync(_backend, write=False) not in (writing, reading)
    assert pg.run_sync(_backend) not in (writing, reading)


def _outside_a_transaction(s: Session) -> bool:
    s.execute(text("SELECT pg_sleep(0.01)"))
    # In a transaction now() is the transaction's start, before the sleep; outside one it is this statement's.
    return bool(s.execute(text("SELECT now() = statement_timestamp()")).scalar_one())


def test_postgres_reads_run_outside_a_transaction_and_writes_inside_one(pg: Database) -> None:
    assert pg.run_sync(_outside_a_transaction, write=False) is True
    assert pg.run_sync(_outside_a_transaction, write=True) is False
    assert asyncio.run(pg.read(_outside_a_transaction)) is True


def test_postgres_streamed_reads_work_in_autocommit(pg: Database) -> None:
    def streamed(s: Session) -> list[int]:
        query = text("SELECT generate_series(1, 1000)").execution_options(yield_per=100)
        return [row[0] for row in s.execute(query)]

    assert asyncio.run(pg.read(streamed)) == list(range(1, 1001))
    assert pg.run_sync(_outside_a_transaction, write=False) is True  # the connection is back in autocommit


def test_postgres_a_deadlock_victim_is_run_again(pg: Database) -> None:
    """Two writers lock two rows in opposite orders: PostgreSQL aborts one, which is run again."""
    import threading

    pg.run_sync(lambda s: s.execute(text("CREATE TABLE dl (id int PRIMARY KEY, n int)")))
    pg.run_sync(lambda s: s.execute(text("INSERT INTO dl VALUES (1, 0), (2, 0)")))
    both_hold_one = threading.Barrier(2, timeout=10)
    attempts: list[int] = []

    def bump(s: Session, first: int, second: int) -> None:
        attempts.append(first)
        s.execute(text("UPDATE dl SET n = n + 1 WHERE id = :id"), {"id": first})
        if len(attempts) <= 2:  # only the first round meets at the barrier
            both_hold_one.wait()
        s.execute(text("UPDATE dl SET n = n + 1 WHERE id = :id"), {"id": second})

    errors: list[BaseException] = []

    def run(first: int, second: int) -> None:
        try:
            pg.run_sync(bump, first, second)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(1, 2)), threading.Thread(target=run, args=(2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(attempts) == 3  # one of the two ran twice
    assert pg.run_sync(lambda s: list(s.execute(text("SELECT n FROM dl ORDER BY id")).scalars()),
                       write=False) == [2, 2]


# --- insert_unless_taken ------------------------------------------------------------------------

class _Base(DeclarativeBase):
    pass


class Plain(_Base):  # what ports and IP allocations are: scalar defaults only
    __tablename__ = "plain"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


# Models insert_unless_taken would insert differently from a flush.
class CallableDefault(_Base):
    __tablename__ = "callable_default"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    made: Mapped[str] = mapped_column(String(36), default=lambda: "now")


class ServerDefault(_Base):
    __tablename__ = "server_default"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    made: Mapped[str] = mapped_column(String(36), server_default="x")


class SqlDefault(_Base):
    __tablename__ = "sql_default"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    made: Mapped[str] = mapped_column(String(36), default=func.lower("X"))


class Serial(_Base):
    __tablename__ = "serial"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class Listened(_Base):
    __tablename__ = "listened"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)


event.listen(Listened, "before_insert", lambda *_: None)


class Parent(_Base):
    __tablename__ = "parent"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    children: Mapped[list[Child]] = relationship()


class Child(_Base):
    __tablename__ = "child"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    parent_id: Mapped[str] = mapped_column(ForeignKey("parent.id"))


def test_insert_unless_taken_refuses_models_it_would_insert_differently_from_a_flush(db: Database) -> None:
    from onestack.core.db import insert_unless_taken

    refused = (CallableDefault, ServerDefault, SqlDefault, Serial, Listened, Parent)
    reasons = {"CallableDefault": "made has a default computed at insert", "ServerDefault": "made has a server default",
               "SqlDefault": "made has a default computed at insert", "Serial": "id is generated by the database",
               "Listened": "before_insert listeners", "Parent": "it has relationships"}
    with Session(db.engine) as s:
        for model in refused:
            with pytest.raises(TypeError, match=reasons[model.__name__]):
                insert_unless_taken(s, model(id=1 if model.__name__ == "Serial" else "a"), ("id",))
            assert not s.new and not s.dirty  # refused before anything was flushed or added


def test_insert_unless_taken_accepts_its_users_models() -> None:
    from onestack.core.db import _refuse_what_it_cannot_insert
    from onestack.network import models

    for model in (models.Port, models.IPAllocation):
        _refuse_what_it_cannot_insert(inspect(model))  # no TypeError


def test_postgres_insert_unless_taken_inserts_as_a_flush_would(pg: Database) -> None:
    from onestack.core.db import insert_unless_taken

    plain = Plain
    Plain.metadata.tables[Plain.__tablename__].create(pg.engine)  # __table__ is typed as any FromClause
    inserted: list[str] = []
    event.listen(plain, "after_insert", lambda _m, _c, target: inserted.append(target.id))

    def insert(s: Session, id_: str, key: str) -> tuple[bool, str | None, bool]:
        row = plain(id=id_, key=key)
        return insert_unless_taken(s, row, ("key",)), row.status, row in s

    assert pg.run_sync(insert, "a", "k1") == (True, "DOWN", True)  # the scalar default, on the row too
    assert pg.run_sync(insert, "b", "k1") == (False, "DOWN", False)  # key taken: not inserted, not added
    assert inserted == ["a"]
    assert pg.run_sync(lambda s: [tuple(r) for r in s.execute(text("SELECT id, key, status FROM plain"))],
                       write=False) == [("a", "k1", "DOWN")]


def test_a_savepoint_lost_to_a_deadlock_is_retried_as_a_deadlock() -> None:
    # MariaDB rolls back the whole transaction of a deadlock's victim; leaving a begin_nested() block then
    # fails with 1305 "SAVEPOINT does not exist" and the deadlock (1213) is only that error's context. The
    # unit of work must be run again, as for the deadlock itself — not fail (seen in the multi-conductor tests).
    import pymysql
    from sqlalchemy.exc import OperationalError

    from onestack.core.db import _lost_to_a_deadlock

    deadlock = OperationalError("UPDATE …", {}, pymysql.err.OperationalError(1213, "Deadlock found"))
    gone = OperationalError("ROLLBACK TO SAVEPOINT sa_savepoint_2", {},
                            pymysql.err.OperationalError(1305, "SAVEPOINT sa_savepoint_2 does not exist"))
    assert _lost_to_a_deadlock(deadlock)
    assert not _lost_to_a_deadlock(gone)
    try:
        try:
            raise deadlock
        except OperationalError:
            raise gone from None  # `from None` keeps __context__, as SQLAlchemy's rollback does
    except OperationalError as raised:
        assert raised.__context__ is deadlock
        assert _lost_to_a_deadlock(raised)
    other = OperationalError("SELECT 1", {}, pymysql.err.OperationalError(2013, "Lost connection"))
    assert not _lost_to_a_deadlock(other)


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_a_unit_that_lost_a_race_runs_again_in_a_new_transaction(kind: str) -> None:
    # RetryInNewTransaction: the unit runs again from a fresh transaction (a fresh snapshot on MariaDB's
    # REPEATABLE READ), ``attempts`` times in all, then its ``final`` error is what the caller sees.
    from onestack.core.db import RetryInNewTransaction
    from tests.databases import mysql_database, postgres_database

    urls = postgres_database() if kind == "postgresql" else mysql_database()
    db = Database(create_db_engine(next(urls)))
    try:
        runs: list[int] = []

        def lose_twice(s: Session) -> str:
            runs.append(1)
            if len(runs) < 3:
                raise RetryInNewTransaction(ValueError("gave up"), attempts=3)
            return "won"

        assert db.run_sync(lose_twice, write=True) == "won" and len(runs) == 3
        runs.clear()

        def always_lose(s: Session) -> None:
            runs.append(1)
            raise RetryInNewTransaction(ValueError("gave up"), attempts=2)

        with pytest.raises(ValueError, match="gave up"):
            db.run_sync(always_lose, write=True)
        assert len(runs) == 2
    finally:
        db.dispose()
        urls.close()


def test_mysql_transactions_see_what_others_committed_since_their_first_read() -> None:
    # READ COMMITTED on MySQL/MariaDB, as PostgreSQL's default: under MariaDB's own REPEATABLE READ
    # the second count below would still be 0 (the transaction's snapshot is its first read's).
    from sqlalchemy import text

    from tests.databases import mysql_database

    urls = mysql_database()
    engine = create_db_engine(next(urls))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE seen (id INTEGER PRIMARY KEY)"))
        with engine.connect() as mine, engine.connect() as other, mine.begin():
            assert mine.execute(text("SELECT COUNT(*) FROM seen")).scalar() == 0
            with other.begin():
                other.execute(text("INSERT INTO seen (id) VALUES (1)"))
            assert mine.execute(text("SELECT COUNT(*) FROM seen")).scalar() == 1
    finally:
        engine.dispose()
        urls.close()
