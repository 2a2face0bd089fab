"""Sync SQLAlchemy in worker threads vs SQLAlchemy asyncio, for the queries services make.

Prints a table: primary-key reads and small write transactions per second, sequential and
with 8 concurrent tasks. Used to choose the DB access model (docs/design.md).

    python bench/db_access.py [--n 2000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from onestack.core.db import Database, create_db_engine


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bench_row"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


async def timed(n: int, concurrency: int, op: Callable[[int], Awaitable[None]]) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await op(i)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - start)


async def run_sync_threads(url: str, n: int) -> dict[str, float]:
    db = Database(create_db_engine(url))
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    db.run_sync(lambda s: s.add_all([Row(id=str(i), name=f"r{i}") for i in range(100)]))

    async def read(i: int) -> None:
        await db.read(lambda s: s.get(Row, str(i % 100)))

    async def write(i: int) -> None:
        def fn(s):  # type: ignore[no-untyped-def]
            s.get(Row, str(i % 100)).name = f"w{i}"
        await db.write(fn)

    out = {
        "read x1": await timed(n, 1, read), "read x8": await timed(n, 8, read),
        "write x1": await timed(n // 4, 1, write), "write x8": await timed(n // 4, 8, write),
    }
    Base.metadata.drop_all(db.engine)
    db.dispose()
    return out


async def run_asyncio(url: str, n: int) -> dict[str, float]:
    engine = create_async_engine(url)
    if url.startswith("sqlite"):
        from sqlalchemy import event

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(conn, _rec):  # type: ignore[no-untyped-def]
            # The same pragmas as core.db gives the sync engine, so the comparison is fair.
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s, s.begin():
        s.add_all([Row(id=str(i), name=f"r{i}") for i in range(100)])

    async def read(i: int) -> None:
        async with sessions() as s:
            await s.scalar(select(Row).where(Row.id == str(i % 100)))

    async def write(i: int) -> None:
        async with sessions() as s, s.begin():
            row = await s.get(Row, str(i % 100))
            assert row is not None
            row.name = f"w{i}"

    out = {
        "read x1": await timed(n, 1, read), "read x8": await timed(n, 8, read),
        "write x1": await timed(n // 4, 1, write), "write x8": await timed(n // 4, 8, write),
    }
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
    await engine.dispose()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pg", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    rows: list[tuple[str, dict[str, float]]] = []
    rows.append(("sqlite: sync in threads", await run_sync_threads(f"sqlite:///{tmp}/a.db", args.n)))
    rows.append(("sqlite: asyncio (aiosqlite)", await run_asyncio(f"sqlite+aiosqlite:///{tmp}/b.db", args.n)))
    if args.pg:
        rows.append(("postgresql: sync in threads (psycopg2)", await run_sync_threads(args.pg, args.n)))
        async_url = args.pg.replace("postgresql://", "postgresql+asyncpg://")
        try:
            rows.append(("postgresql: asyncio (asyncpg)", await run_asyncio(async_url, args.n)))
        except ImportError:
            pass
    cols = ["read x1", "read x8", "write x1", "write x8"]
    print(f"{'model':42} " + " ".join(f"{c + ' /s':>12}" for c in cols))
    for name, res in rows:
        print(f"{name:42} " + " ".join(f"{res[c]:12.0f}" for c in cols))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
