"""Database layer: SQLAlchemy 2 engines, sessions run in worker threads, Alembic migrations.

Service logic is plain synchronous SQLAlchemy; the async API layer calls it through
``Database.read`` / ``Database.write``, which run it in a worker thread inside one
transaction. docs/design.md records why (measured) we chose sync-in-threads over asyncio
drivers. SQLite writes are serialised by a lock because SQLite has one writer anyway and
a deferred transaction that upgrades to a write can otherwise fail with "database is locked".
Async SQLite writes also go to one writer thread: with a pool of threads queued on the lock,
each holder kept losing the GIL to the others (a lock convoy); bench/compute.py measured
16.2 -> 18.8 boots/s and 48 -> 61 deletes/s with the single writer.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, MetaData, and_, create_engine, event, inspect, make_url, not_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from onestack.core.config import Config
from onestack.core.files import private_file, secure_data_dir

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept the short URLs users type and pick the drivers we ship."""
    if url.startswith(("mysql://", "mariadb://")):
        return "mysql+pymysql://" + url.split("://", 1)[1]
    if url.startswith(("postgres://", "postgresql://")):
        # SQLAlchemy 2.1 defaults to psycopg 3; we ship psycopg2's binary wheel.
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def _private_sqlite_file(url: str) -> None:
    """The database file is made 0600 before SQLite opens it, so its -wal and -shm are too."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():  # else SQLite itself says what is wrong
        private_file(path)


def create_db_engine(url: str, *, sqlite_busy_timeout: float = 30.0, autocommit: bool = False,
                     pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": sqlite_busy_timeout},
            pool_size=8,
            max_overflow=16,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    kwargs: dict[str, Any] = {"pool_size": pool_size, "max_overflow": 20, "pool_recycle": 3600}
    if autocommit:
        kwargs["isolation_level"] = "AUTOCOMMIT"
    elif url.startswith("mysql"):
        # PostgreSQL's default level, which every unit of work is written for: MySQL/MariaDB's
        # REPEATABLE READ gives a transaction one snapshot, so a retry after a lost race, or a read
        # after waiting for a row lock, would not see the row that won (docs/design.md).
        kwargs["isolation_level"] = "READ COMMITTED"
    if url.startswith("mysql") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine, PING_AFTER_IDLE_S)
    if autocommit:
        _stream_in_a_transaction(engine)
    return engine


def _stream_in_a_transaction(engine: Engine) -> None:
    """A streamed read (``yield_per``: a server-side cursor) needs a transaction, even in autocommit."""
    @event.listens_for(engine, "before_cursor_execute")
    def _begin(conn: Any, _cursor: Any, _sql: Any, _params: Any, context: Any, _many: bool) -> None:
        if context is not None and getattr(context, "_is_server_side", False):  # no public name
            conn.connection.dbapi_connection.autocommit = False  # the driver begins one with this statement

    @event.listens_for(engine, "checkin")
    def _autocommit_again(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None and not dbapi_conn.autocommit:
            try:
                dbapi_conn.rollback()  # read-only: nothing to keep
                dbapi_conn.autocommit = True
            except Exception as exc:  # noqa: BLE001 - a broken connection is not reused
                record.invalidate(exc)


# A pooled connection unused for this long is pinged before use. SQLAlchemy's pool_pre_ping
# pings on every checkout: a round trip per unit of work (~9 per boot on PostgreSQL). A
# connection in steady use has just proven itself; one that sat idle may have been dropped
# (server restart, idle timeout, failover), and the ping replaces it before any work runs on it.
PING_AFTER_IDLE_S = 1.0


def _ping_after_idle(engine: Engine, idle_s: float) -> None:
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_s:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def open_database(config: Config) -> Database:
    """The configured database (the data dir, where SQLite's file goes, made private first).

    Here rather than in server.py so a command that needs only the database (``onestack ring``)
    does not import every service."""
    secure_data_dir(config.data_dir)
    database = config.database
    engine = create_db_engine(config.database_url, sqlite_busy_timeout=database.sqlite_busy_timeout)
    return Database(engine, read_threads=database.read_threads, write_threads=database.write_threads)


class RetryInNewTransaction(Exception):
    """A unit of work lost a race that its reads cannot see past inside this transaction — at MySQL's
    and MariaDB's own REPEATABLE READ a transaction keeps its first snapshot, so rereading after a
    savepoint sees the same state that lost (onestack's engines run READ COMMITTED there now; this
    stays correct at either level). ``Database.write`` runs the unit again in a new transaction, ``attempts``
    times in all, then raises ``final`` (e.g. the API's 409). The default, 2, is for a first-use
    race (two inserts of one key): the loser's next transaction sees the winner's committed row.
    Only where the database is a server: SQLite has one writer and nothing to lose to."""

    def __init__(self, final: Exception, attempts: int = 2) -> None:
        super().__init__(str(final))
        self.final, self.attempts = final, attempts


class Database:
    """One engine and the way to run a unit of work against it off the event loop.

    Units of work run in two small thread pools of their own: reads in ``read_threads``
    threads, writes in ``write_threads`` (always one on SQLite, which has one writer anyway).
    Few threads on purpose: the work is Python holding the GIL between round trips, and many
    threads handing the GIL back and forth cost more CPU than they save waiting (measured in
    docs/design.md). Siblings share the engine and both pools.
    """

    def __init__(self, engine: Engine, write_lock: threading.Lock | None = None,
                 writer: ThreadPoolExecutor | None = None, reader: ThreadPoolExecutor | None = None, *,
                 read_threads: int = 4, write_threads: int = 1, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # PostgreSQL reads run without BEGIN/COMMIT (autocommit): at its default READ COMMITTED
        # each statement takes its own snapshot inside a transaction too, so a read sees the same
        # rows either way, and saves two round trips. Not yet MySQL (not measured there); SQLite's
        # driver does not begin a transaction for reads anyway. A pool of
        # their own: switching a pooled connection to autocommit and back costs psycopg2 a
        # ``SET default_transaction_isolation`` round trip per checkout.
        if read_engine is None and engine.dialect.name == "postgresql":
            read_engine = create_db_engine(engine.url.render_as_string(hide_password=False), autocommit=True,
                                           pool_size=max(1, read_threads))
        self._read_engine = read_engine
        self._read_sessions = sessionmaker(read_engine or engine, expire_on_commit=False)
        self._write_lock = write_lock or threading.Lock()
        writers = 1 if self.is_sqlite else max(1, write_threads)
        self._writer = writer or ThreadPoolExecutor(writers, thread_name_prefix="db-writer")
        self._reader = reader or ThreadPoolExecutor(max(1, read_threads), thread_name_prefix="db-reader")
        self._after_write: list[Callable[[], None]] = []
        self._in_write: list[Callable[[Session], None]] = []

    def sibling(self) -> Database:
        """The same engine, writer lock and writer thread, with hooks of its own: one per service."""
        return Database(self.engine, self._write_lock, self._writer, self._reader, read_engine=self._read_engine)

    def after_write(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` on the event loop after every write committed through ``write`` (e.g. to drop caches)."""
        self._after_write.append(hook)

    def in_write(self, hook: Callable[[Session], None]) -> None:
        """Run ``hook(session)`` at the end of every write transaction, before it commits."""
        self._in_write.append(hook)

    def run_sync(self, fn: Callable[..., T], *args: Any, write: bool = True) -> T:
        """Run ``fn(session, *args)`` in one transaction in the calling thread."""
        if write and self.is_sqlite:
            with self._write_lock:
                return self._transaction(fn, args, write)
        return self._transaction(fn, args, write)

    def _transaction(self, fn: Callable[..., T], args: tuple[Any, ...], write: bool) -> T:
        if not write or self.is_sqlite:
            return self._once(fn, args, write)
        # On a server database writers of several processes (and of several services' databases in one
        # process) run at once, so the database may pick a write transaction as a deadlock's victim. As
        # oslo.db's wrap_db_retry on DBDeadlock: the unit of work is run again in a new transaction.
        deadlocks = races = 0
        while True:
            try:
                return self._once(fn, args, write)
            except RetryInNewTransaction as raced:
                races += 1
                if races >= raced.attempts:
                    raise raced.final from None
            except DBAPIError as exc:
                deadlocks += 1
                if not _lost_to_a_deadlock(exc) or deadlocks == DEADLOCK_RETRIES:
                    raise
                time.sleep(random.uniform(0.005, 0.05) * deadlocks)  # apart, so they do not meet again

    def _once(self, fn: Callable[..., T], args: tuple[Any, ...], write: bool) -> T:
        sessions = self._sessions if write else self._read_sessions
        with sessions() as session, session.begin():
            result = fn(session, *args)
            if write:
                for hook in self._in_write:
                    hook(session)
            return result

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, lambda: self.run_sync(fn, *args, write=False))

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._writer, lambda: self.run_sync(fn, *args, write=True))
        finally:
            # Also after a failed write: a transaction may have committed before the error
            # reached us, and dropping a cache needlessly is harmless. On the loop thread,
            # so hooks never race the request handlers that read the caches.
            for hook in self._after_write:
                hook()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()
        self._writer.shutdown(wait=False)
        self._reader.shutdown(wait=False)


DEADLOCK_RETRIES = 5
# PostgreSQL's deadlock_detected and serialization_failure; MySQL/MariaDB's deadlock and lock wait timeout.
_PG_RETRY_CODES = ("40P01", "40001")
_MYSQL_RETRY_CODES = (1213, 1205)


def _is_deadlock(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "pgcode", None) in _PG_RETRY_CODES:
        return True
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    return len(args) > 0 and args[0] in _MYSQL_RETRY_CODES


def _lost_to_a_deadlock(exc: DBAPIError) -> bool:
    """A deadlock, or what a savepoint's rollback raises after one: MySQL/MariaDB roll back the whole
    transaction when they pick it as a deadlock's victim, savepoints with it, so leaving a
    ``begin_nested()`` block then fails with "SAVEPOINT … does not exist" (1305) and the deadlock is
    only that error's context."""
    if _is_deadlock(exc):
        return True
    context = exc.__context__
    return isinstance(context, DBAPIError) and _is_deadlock(context)


def migrate(engine: Engine, script_location: Path, version_table: str, metadata: MetaData) -> None:
    """Bring one service's tables to the newest revision (Alembic, batch mode on SQLite)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["version_table"] = version_table
    cfg.attributes["target_metadata"] = metadata
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def run_migrations_online() -> None:
    """Shared body of every service's Alembic ``env.py``."""
    from alembic import context

    cfg = context.config
    conn = cfg.attributes["connection"]
    context.configure(
        connection=conn,
        target_metadata=cfg.attributes["target_metadata"],
        version_table=cfg.attributes["version_table"],
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


__all__ = ["Database", "Session", "create_db_engine", "migrate", "normalise_url", "run_migrations_online"]


TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")


_INSERTS: dict[tuple[Any, tuple[str, ...]], Any] = {}
_INSERTABLE: set[Any] = set()  # mappers _refuse_what_it_cannot_insert has let through


def _refuse_what_it_cannot_insert(mapper: Any) -> None:
    """``insert_unless_taken`` redoes by hand only the part of a flush its models need: plain
    columns of one table with scalar defaults, and ``after_insert``. A model needing more would be
    inserted wrong without an error (a callable or SQL default left NULL, a server default or an
    autoincrement key not read back, a ``before_insert`` listener or a relationship ignored), so
    it is refused at its first use, before anything is written."""
    table = mapper.local_table
    wrong = []
    if mapper.inherits is not None or len(mapper.tables) != 1:
        wrong.append("it maps more than one table")
    if mapper.version_id_col is not None:
        wrong.append("it has a version counter")
    if mapper.relationships:
        wrong.append("it has relationships")
    if mapper.dispatch.before_insert:
        wrong.append("it has before_insert listeners")
    if table.autoincrement_column is not None:
        wrong.append(f"{table.autoincrement_column.name} is generated by the database")
    mapped = set()
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if len(prop.columns) != 1 or getattr(column, "table", None) is not table:
            wrong.append(f"{prop.key} is not one column of {table.name}")
            continue
        mapped.add(column)
        if column.default is not None and not column.default.is_scalar:
            wrong.append(f"{column.name} has a default computed at insert")
    for column in table.columns:
        if column.server_default is not None:
            wrong.append(f"{column.name} has a server default")
        if column not in mapped and column.default is not None:
            wrong.append(f"{column.name} has a default but is not mapped")
    if wrong:
        raise TypeError(f"insert_unless_taken cannot insert {mapper.class_.__name__}: " + "; ".join(wrong))
    _INSERTABLE.add(mapper)


def insert_unless_taken(s: Session, row: Any, unique: tuple[str, ...]) -> bool:
    """PostgreSQL: INSERT the new ORM object ``row`` unless a row with its ``unique`` columns is
    there (ON CONFLICT DO NOTHING): False then, and ``row`` stays out of the session. One round
    trip where a savepoint around a flush takes three; a writer still holding that key
    uncommitted is waited for, as the unique index does either way. Columns left unset take
    their scalar default or NULL (nothing is loaded back: no server defaults). On success
    ``row`` joins ``s`` as persistent and the model's ``after_insert`` listeners run, as after a
    flush. A foreign key that fails still raises (and, without a savepoint, ends the transaction).
    A model it would insert differently from a flush is refused: TypeError at its first use."""
    mapper = inspect(row).mapper
    if mapper not in _INSERTABLE:
        _refuse_what_it_cannot_insert(mapper)
    s.flush()  # what is pending goes first, as beginning a savepoint would flush it
    values = {}
    for prop in mapper.column_attrs:
        column, value = prop.columns[0], getattr(row, prop.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg  # what a flush would have inserted, on the object too
            setattr(row, prop.key, value)
        values[column.name] = value
    key = (mapper.local_table, unique)
    stmt = _INSERTS.get(key)
    if stmt is None:  # built once per table: building and cache-keying one costs more than running it
        table = mapper.local_table
        stmt = _INSERTS[key] = (pg_insert(table).on_conflict_do_nothing(index_elements=[table.c[c] for c in unique])
                                .returning(*[table.c[c.name] for c in mapper.primary_key]))
    if s.execute(stmt, values).first() is None:
        return False
    make_transient_to_detached(row)
    s.add(row)
    mapper.dispatch.after_insert(mapper, s.connection(), inspect(row))  # listeners get the state, as in a flush
    return True


def time_condition(column: Any, op: str, when: datetime) -> Any:
    """``column <op> when`` compared at the precision clients see.

    APIs show times to the second, so a bound without a fraction stands for that whole second:
    ``lte``/``changes-before`` T takes in a row shown as T although stored as T.4, ``gt`` T leaves
    it out. A bound with a fraction is compared exactly.
    """
    exact = when.microsecond != 0
    end = when if exact else when + timedelta(seconds=1)
    if op == "gt":
        return column > when if exact else column >= end
    if op == "gte":
        return column >= when
    if op == "lt":
        return column < when
    if op == "lte":
        return column <= when if exact else column < end
    if op not in ("eq", "neq"):
        raise ValueError(f"unknown time operator {op!r}")
    inside = (column == when) if exact else and_(column >= when, column < end)
    return inside if op == "eq" else not_(inside)
