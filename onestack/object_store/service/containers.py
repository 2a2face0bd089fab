"""Accounts, containers and listings in the database (Swift's account and container servers).

The only code that touches the object-storage tables other than the ring. Every method is one
transaction (``db.read`` / ``db.write``). A container's ``object_count``/``bytes_used`` change in
the same transaction as its listing rows, under a lock on the container row (``FOR UPDATE`` on
PostgreSQL and MariaDB; SQLite has one writer), so concurrent updates of one container serialise
and the counts never drift. Creating an account or container that a concurrent request creates
too fails on the unique key; the whole unit is then retried and finds the row.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import BigInteger, Connection, Table, bindparam, delete, false, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.object_store.models import Account, Container, ListedObject
from onestack.object_store.rpcapi import ContainerUpdate
from onestack.object_store.service import accounts
from onestack.object_store.service.accounts import POLICY, merge_meta
from onestack.object_store.service.info import AccountInfo, ContainerInfo
from onestack.object_store.service.info_cache import InfoCache, Infos
from onestack.object_store.service.listing import ListingParams, iterate
from onestack.object_store.timestamp import Timestamp

T = TypeVar("T")
RETRIES = 5


def name_hash(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()


def _container(session: Session, account: str, name: str, *, lock: bool = False) -> Container | None:
    stmt = select(Container).where(Container.account == account, Container.name == name)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def _info(row: Any) -> ContainerInfo:
    """From a ``Container`` or a ``CONTAINER_INFO`` row."""
    return ContainerInfo(account=row.account, name=row.name, created_at=row.created_at,
                         put_timestamp=row.put_timestamp, object_count=int(row.object_count or 0),
                         bytes_used=int(row.bytes_used or 0), storage_policy=row.storage_policy or POLICY,
                         meta=dict(row.meta or {}))


def listing_record(row: Any, account: str) -> dict[str, Any]:
    """Swift's JSON record of an object, with the row's extras as Swift's middleware show them:
    ``swift_bytes`` (an SLO manifest's total) replaces the size, ``slo_etag`` is shown quoted,
    ``symlink_target`` (+ ``_account``, ``_etag``, ``_bytes``) becomes ``symlink_path`` (+
    ``symlink_etag``, ``symlink_bytes``); other extras are shown as they are, but "_..." ones."""
    name, timestamp, size, content_type, etag, extra = row
    record: dict[str, Any] = {"hash": etag, "last_modified": Timestamp.parse(timestamp).isoformat,
                              "bytes": int(size), "name": name, "content_type": content_type}
    rest = dict(extra or {})
    if "swift_bytes" in rest:
        record["bytes"] = int(rest.pop("swift_bytes"))
    if "slo_etag" in rest:
        slo_etag = str(rest.pop("slo_etag")).strip('"')
        record["slo_etag"] = f'"{slo_etag}"'
    target = rest.pop("symlink_target", None)
    target_account = rest.pop("symlink_target_account", None) or account
    if target:
        record["symlink_path"] = f"/v1/{target_account}/{target}"
        if "symlink_target_etag" in rest:
            record["symlink_etag"] = rest.pop("symlink_target_etag")
            record["symlink_bytes"] = int(rest.pop("symlink_target_bytes", 0) or 0)
    for key, value in rest.items():
        if not key.startswith("_"):
            record[key] = value
    return record


# The object PUT's hot path (every write's container update, every request's info read) runs as
# Core statements built once, with bound parameters: building a statement and its cache key, and
# the ORM's bulk-DML layer on top, cost several times what SQLite takes to run them (design.md,
# "Statements on the hot paths are built once"). Executed on the session's connection.
_C = cast(Table, Container.__table__)
_L = cast(Table, ListedObject.__table__)
CONTAINER_INFO = select(_C.c.id, _C.c.account, _C.c.name, _C.c.created_at, _C.c.put_timestamp, _C.c.object_count,
                        _C.c.bytes_used, _C.c.storage_policy, _C.c.meta) \
    .where(_C.c.account == bindparam("account"), _C.c.name == bindparam("container"))
_LOCK_CONTAINER = select(_C.c.id).where(_C.c.account == bindparam("account"), _C.c.name == bindparam("container")) \
    .with_for_update()
_LISTED = select(_L.c.id, _L.c.timestamp, _L.c.deleted, _L.c.size) \
    .where(_L.c.container_id == bindparam("cid"), _L.c.name_hash == bindparam("key"))
_ROW_VALUES: dict[str, Any] = {name: bindparam(f"v_{name}") for name in
               ("timestamp", "deleted", "size", "content_type", "etag", "delete_at", "extra")}
_INSERT_LISTED = insert(_L).values(container_id=bindparam("cid"), name=bindparam("v_name"),
                                   name_hash=bindparam("key"), **_ROW_VALUES)
_UPDATE_LISTED = sql_update(_L).where(_L.c.id == bindparam("row_id")).values(**_ROW_VALUES)
_ADD_COUNTS = sql_update(_C).where(_C.c.id == bindparam("cid")).values(
    object_count=func.coalesce(_C.c.object_count, 0) + bindparam("d_count", type_=BigInteger),
    bytes_used=func.coalesce(_C.c.bytes_used, 0) + bindparam("d_bytes", type_=BigInteger))


def _apply_listed(conn: Connection, cid: int, update: ContainerUpdate) -> tuple[int, int] | None:
    """Upsert one listing row; the (objects, bytes) it adds to its container, or None when the
    row is already as new (newer-timestamp-wins: a repeated or older update changes nothing)."""
    key = name_hash(update["obj"])
    row = conn.execute(_LISTED, {"cid": cid, "key": key}).one_or_none()
    timestamp = Timestamp.parse(update["timestamp"])
    if row is not None and Timestamp.parse(row.timestamp) >= timestamp:
        return None
    deleted = update["op"].upper() == "DELETE"
    size = 0 if deleted else int(update.get("size") or 0)
    count_delta, bytes_delta = (0, 0) if deleted else (1, size)
    if row is not None and not row.deleted:
        count_delta -= 1
        bytes_delta -= int(row.size or 0)
    values = {"cid": cid, "key": key, "v_timestamp": timestamp.internal, "v_deleted": deleted, "v_size": size,
              "v_content_type": "" if deleted else update.get("content_type") or "",
              "v_etag": "" if deleted else update.get("etag") or "",
              "v_delete_at": None if deleted else update.get("delete_at"),
              "v_extra": {} if deleted else dict(update.get("extra") or {})}
    if row is None:
        conn.execute(_INSERT_LISTED, {**values, "v_name": update["obj"]})
    else:
        conn.execute(_UPDATE_LISTED, {**values, "row_id": row.id})
    return count_delta, bytes_delta


def _newest(updates: list[ContainerUpdate]) -> list[ContainerUpdate]:
    """One update per object, its newest: applying the older ones first would end in the same row
    and counts (newer wins), and the replicas of one write report the same update together."""
    newest: dict[tuple[str, str, str], tuple[Timestamp, ContainerUpdate]] = {}
    for update in updates:
        key = (update["account"], update["container"], update["obj"])
        stamp = Timestamp.parse(update["timestamp"])
        if key not in newest or newest[key][0] < stamp:
            newest[key] = (stamp, update)
    return [update for _, update in newest.values()]


def _apply_updates(session: Session, updates: list[ContainerUpdate]) -> None:
    """Record the objects' new states in one transaction: each container is locked once (in name
    order, so two writers lock alike) and its counts change by one UPDATE for the whole batch. An
    update for a container that does not exist is dropped (Swift's container server refuses it)."""
    conn = session.connection()
    ids: dict[tuple[str, str], int | None] = {}
    for account, container in sorted({(u["account"], u["container"]) for u in updates}):
        ids[(account, container)] = conn.execute(
            _LOCK_CONTAINER, {"account": account, "container": container}).scalar_one_or_none()
    deltas: dict[int, list[int]] = {}
    for update in _newest(updates):
        cid = ids[(update["account"], update["container"])]
        if cid is None:
            continue
        added = _apply_listed(conn, cid, update)
        if added is not None:
            total = deltas.setdefault(cid, [0, 0])
            total[0] += added[0]
            total[1] += added[1]
    for cid, (count_delta, bytes_delta) in sorted(deltas.items()):
        if count_delta or bytes_delta:
            conn.execute(_ADD_COUNTS, {"cid": cid, "d_count": count_delta, "d_bytes": bytes_delta})


def _apply_update(session: Session, update: ContainerUpdate) -> None:
    _apply_updates(session, [update])


def _retrieved(future: asyncio.Future[None]) -> None:
    """Marks an update's error as seen: its caller may have stopped waiting (the pending stays)."""
    if not future.cancelled():
        future.exception()


def _container_info(session: Session, account: str, container: str) -> ContainerInfo | None:
    row = session.connection().execute(CONTAINER_INFO, {"account": account, "container": container}).one_or_none()
    return None if row is None else _info(row)


class ContainerService:
    def __init__(self, db: Database, info_cache_ttl: float = 0.0) -> None:
        self.db = db
        # What object requests read about their container and account (info_cache.py).
        self.info_cache = InfoCache(info_cache_ttl)
        # Container updates waiting for the writer, applied together (group commit).
        self._updates: list[tuple[ContainerUpdate, asyncio.Future[None]]] = []
        self._applying: asyncio.Task[None] | None = None

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """A write unit retried when a concurrent creator won a unique key (it then finds the row)."""
        for attempt in range(RETRIES):
            try:
                return await self.db.write(fn, *args)
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # --- reads -----------------------------------------------------------------------------

    async def account_info(self, account: str) -> AccountInfo | None:
        return await self.db.read(accounts.info, account)

    async def container_info(self, account: str, container: str) -> ContainerInfo | None:
        return await self.db.read(_container_info, account, container)

    async def infos(self, account: str, container: str) -> tuple[AccountInfo | None, ContainerInfo | None]:
        """The account's and the container's info in one read (an object PUT needs both)."""
        def read(session: Session) -> tuple[AccountInfo | None, ContainerInfo | None]:
            return accounts.info(session, account), _container_info(session, account, container)

        return await self.db.read(read)

    async def object_infos(self, account: str, container: str) -> Infos:
        """``infos`` for an object request, from the process's short-lived cache when it has them:
        existence, ACLs and metadata as of at most ``info_cache_ttl`` ago, counts as old (read
        ``infos`` where they must be exact)."""
        cache = self.info_cache
        found = cache.get(account, container)
        if found is None:
            generation = cache.generation
            found = await self.infos(account, container)
            cache.put(account, container, generation, found)
        return found

    async def list_containers(self, account: str, params: ListingParams
                              ) -> tuple[AccountInfo | None, list[dict[str, Any]]]:
        """The account's info and one page of its containers (the info and the page from one snapshot)."""
        def read(session: Session) -> tuple[AccountInfo | None, list[dict[str, Any]]]:
            found = accounts.info(session, account)
            if found is None:
                return None, []
            return found, accounts.list_containers(session, account, params)

        return await self.db.read(read)

    async def list_objects(self, account: str, container: str, params: ListingParams
                           ) -> tuple[ContainerInfo | None, list[dict[str, Any]]]:
        """The container's info and one page of its listing (Swift's JSON records and ``subdir``s)."""
        def read(session: Session) -> tuple[ContainerInfo | None, list[dict[str, Any]]]:
            row = _container(session, account, container)
            if row is None:
                return None, []
            base = select(ListedObject.name, ListedObject.timestamp, ListedObject.size,
                          ListedObject.content_type, ListedObject.etag, ListedObject.extra) \
                .where(ListedObject.container_id == row.id, ListedObject.deleted == false())
            page = iterate(params, ListedObject.name, base, lambda stmt: list(session.execute(stmt).all()),
                           lambda r: r[0])
            return _info(row), [r if isinstance(r, dict) else listing_record(r, account) for r in page]

        return await self.db.read(read)

    # --- account writes --------------------------------------------------------------------

    async def ensure_account(self, account: str) -> None:
        def write(session: Session) -> None:
            accounts.ensure(session, account, Timestamp.now())

        await self._write(write)

    async def update_account_meta(self, account: str, updates: dict[str, str]) -> None:
        """Merge ``{header: value}`` into the account's metadata ("" removes); auto-creates it."""
        try:
            await self._write(accounts.update_meta, account, updates, Timestamp.now())
        finally:
            self.info_cache.forget(account)

    # --- container writes ------------------------------------------------------------------

    async def put_container(self, account: str, container: str, updates: dict[str, str],
                            policy: str = POLICY) -> bool:
        """Create the container (True) or refresh its put timestamp and merge ``updates`` (False).
        The account is auto-created."""
        def write(session: Session) -> bool:
            now = Timestamp.now()
            accounts.ensure(session, account, now)
            row = _container(session, account, container, lock=True)
            if row is None:
                session.add(Container(account=account, name=container, created_at=now.internal,
                                      put_timestamp=now.internal, storage_policy=policy,
                                      meta=merge_meta({}, updates), object_count=0, bytes_used=0))
                session.flush()
                return True
            row.put_timestamp = max(Timestamp.parse(row.put_timestamp), now).internal
            row.meta = merge_meta(row.meta, updates)
            return False

        try:
            return await self._write(write)
        finally:
            self.info_cache.forget(account, container)

    async def post_container(self, account: str, container: str, updates: dict[str, str]) -> bool:
        """Merge ``updates`` into the container's metadata; False when there is no such container."""
        def write(session: Session) -> bool:
            row = _container(session, account, container, lock=True)
            if row is None:
                return False
            row.meta = merge_meta(row.meta, updates)
            return True

        try:
            return await self._write(write)
        finally:
            self.info_cache.forget(account, container)

    async def delete_container(self, account: str, container: str) -> str:
        """"deleted", "missing" or "not-empty" (Swift's 204, 404, 409)."""
        def write(session: Session) -> str:
            row = _container(session, account, container, lock=True)
            if row is None:
                return "missing"
            live = session.scalars(select(ListedObject.id).where(
                ListedObject.container_id == row.id, ListedObject.deleted == false()).limit(1)).first()
            if live is not None or int(row.object_count or 0) > 0:
                return "not-empty"
            session.execute(delete(ListedObject).where(ListedObject.container_id == row.id))
            session.delete(row)
            return "deleted"

        try:
            return await self._write(write)
        finally:
            self.info_cache.forget(account, container)

    # --- the object servers' side -------------------------------------------------------------

    async def update_container(self, update: ContainerUpdate) -> None:
        """An object server's report (``container_updates.ContainerUpdater``): upsert the listing row
        when the update is newer than it, and keep the container's counts in the same transaction.
        An update for a container that does not exist is dropped (Swift's container server refuses it)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        future.add_done_callback(_retrieved)
        if self._applying is not None and self._applying.get_loop() is not loop:
            self._applying, self._updates = None, []  # left by a loop that is gone (tests run several)
        self._updates.append((update, future))
        if self._applying is None or self._applying.done():
            self._applying = asyncio.create_task(self._apply_updates())
        await asyncio.shield(future)  # a caller that gives up does not cancel the others' batch

    async def _apply_updates(self) -> None:
        """Applies the waiting updates, those that arrive meanwhile in the next transaction: with
        many concurrent PUTs, one SQLite write (and commit) serves many of them instead of each
        queueing for its own. A batch that fails is applied again one update at a time, so one
        bad update fails only its own caller."""
        while self._updates:
            batch, self._updates = self._updates, []
            try:
                await self.db.write(_apply_updates, [u for u, _ in batch])
            except Exception:  # noqa: BLE001 - each update answers for itself below
                for update, future in batch:
                    try:
                        await self._write(_apply_update, update)
                    except Exception as exc:  # noqa: BLE001 - its caller's error
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(None)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def expired(self, now: float, limit: int) -> list[dict[str, Any]]:
        """Listed objects whose X-Delete-At has passed: [{account, container, obj, delete_at}] (the expirer's queue)."""
        def read(session: Session) -> list[dict[str, Any]]:
            rows = session.execute(
                select(Container.account, Container.name, ListedObject.name, ListedObject.delete_at)
                .join(Container, Container.id == ListedObject.container_id)
                .where(ListedObject.deleted == false(), ListedObject.delete_at.is_not(None),
                       ListedObject.delete_at <= now)
                .order_by(ListedObject.delete_at, ListedObject.id).limit(limit)).all()
            return [{"account": r[0], "container": r[1], "obj": r[2], "delete_at": r[3]} for r in rows]

        return await self.db.read(read)


__all__ = ["Account", "ContainerService", "listing_record", "name_hash"]
