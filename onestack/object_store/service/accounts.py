"""Accounts in the database (Swift's account server): auto-created on their owner's first write,
metadata kept as ``{header: value}``, statistics summed over the account's containers.

Session-level functions: ``service/containers.py`` runs them inside its transactions."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from onestack.object_store.models import Account, Container
from onestack.object_store.service.info import AccountInfo
from onestack.object_store.service.listing import ListingParams, iterate
from onestack.object_store.timestamp import Timestamp

POLICY = "Policy-0"


def merge_meta(meta: dict[str, Any], updates: dict[str, str]) -> dict[str, Any]:
    """Swift's metadata update: a header with an empty value removes it, others replace."""
    merged = dict(meta or {})
    for key, value in updates.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def ensure(session: Session, name: str, now: Timestamp) -> Account:
    """The account, created when it is not there yet (Swift's account_autocreate)."""
    account = session.get(Account, name)
    if account is None:
        account = Account(name=name, created_at=now.internal, put_timestamp=now.internal, meta={})
        session.add(account)
        session.flush()  # a concurrent creator makes this raise IntegrityError: the caller retries
    return account


_A, _C = cast(Table, Account.__table__), cast(Table, Container.__table__)
_MINE = _C.c.account == _A.c.name
# Every object request reads it (quotas, ACLs): one statement, built once (see containers.py).
_INFO = select(_A.c.created_at, _A.c.put_timestamp, _A.c.meta,
               select(func.count(_C.c.id)).where(_MINE).scalar_subquery(),
               select(func.coalesce(func.sum(_C.c.object_count), 0)).where(_MINE).scalar_subquery(),
               select(func.coalesce(func.sum(_C.c.bytes_used), 0)).where(_MINE).scalar_subquery()) \
    .where(_A.c.name == bindparam("account"))


def info(session: Session, name: str) -> AccountInfo | None:
    row = session.connection().execute(_INFO, {"account": name}).one_or_none()
    if row is None:
        return None
    created_at, put_timestamp, meta, containers, objects, used = row
    return AccountInfo(name=name, created_at=created_at, put_timestamp=put_timestamp,
                       container_count=int(containers or 0), object_count=int(objects or 0),
                       bytes_used=int(used or 0), meta=dict(meta or {}))


def update_meta(session: Session, name: str, updates: dict[str, str], now: Timestamp) -> None:
    account = ensure(session, name, now)
    account.meta = merge_meta(account.meta, updates)


def list_containers(session: Session, name: str, params: ListingParams) -> list[dict[str, Any]]:
    """One page of the account's listing: Swift's JSON records (``name``, ``count``, ``bytes``,
    ``last_modified``) and ``subdir`` entries."""
    base = select(Container.name, Container.object_count, Container.bytes_used, Container.put_timestamp) \
        .where(Container.account == name)
    rows = iterate(params, Container.name, base, lambda stmt: list(session.execute(stmt).all()),
                   lambda row: row[0])
    out: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, dict):
            out.append(row)
            continue
        out.append({"name": row[0], "count": int(row[1]), "bytes": int(row[2]),
                    "last_modified": Timestamp.parse(row[3]).isoformat})
    return out
