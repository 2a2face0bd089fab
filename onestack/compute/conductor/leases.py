"""Which conductor works on a server's pending task: a lease in the row, taken by a conditional UPDATE.

Several conductors may run at once, each with its own periodic pass, and a cast may be
delivered twice. So a conductor acts on a boot request (task ``scheduling``) or an unshelve
(``unshelving``) only once it holds the row's lease: one UPDATE whose WHERE says the task is
still pending and no live lease is held, setting ``task_lease`` to a token of this attempt. The
database decides — under PostgreSQL's READ COMMITTED a second UPDATE of the row waits for the
first to commit and re-checks its WHERE against what the first wrote — so one conductor gets
rowcount 1 and every other one 0 and drops the message. Every later write of the attempt
(placing the row, failing it) is conditional on the same token and clears it, so a conductor
whose lease was taken over cannot overwrite the new owner's work.

Nothing is locked across a bus call: a lease lapses ``ConductorContext.lease_time`` after the
row's last write, when another conductor's periodic pass may take it over (the first conductor
died mid-attempt). In-memory sets would not do: each conductor has its own.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from onestack.compute.models import Instance, Migration


def new_token() -> str:
    return uuidlib.uuid4().hex


def take(s: Session, uuids: list[str], token: str, *, vm_state: str, task_state: str, now: datetime,
         lapse: timedelta, idle: timedelta | None = None, placed: bool = False) -> list[str]:
    """Lease each of ``uuids`` whose task is still pending; the ones this attempt now holds.

    A new request (``idle`` None) takes only rows nobody leased yet, still without a host. A
    re-drive (``idle``: untouched that long) also takes a lapsed lease, and with ``placed`` a row
    that has a host (its cast to the agent was lost): the host is cleared in the same write, so
    a late copy of that cast finds the row no longer placed there."""
    where: list[ColumnElement[bool]] = [
        Instance.uuid.in_(uuids), Instance.deleted.is_(False), Instance.vm_state == vm_state,
        Instance.task_state == task_state]
    if idle is None:
        where += [Instance.task_lease.is_(None), Instance.host.is_(None)]
    else:
        where += [Instance.updated_at < now - idle,
                  or_(Instance.task_lease.is_(None), Instance.updated_at < now - lapse)]
        if not placed:
            where.append(Instance.host.is_(None))
    values: dict[str, object] = {"task_lease": token, "updated_at": now}
    if placed:
        values.update(host=None, node=None)
    stmt = update(Instance).where(*where).values(**values).execution_options(synchronize_session=False)
    if s.get_bind().dialect.update_returning:  # one statement per boot fewer (not on MySQL)
        return list(s.execute(stmt.returning(Instance.uuid)).scalars())
    result = s.execute(stmt)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return []
    return list(s.scalars(select(Instance.uuid).where(Instance.task_lease == token)))


def settle(s: Session, uuid: str, token: str, task_state: str, values: Mapping[str, object], now: datetime,
           *, row: Instance | None = None) -> bool:
    """Write ``values`` and end the lease, if this attempt still holds it and the task is still
    ``task_state``; False when it lost the row (deleted, or taken over). With ``row`` (the row as
    this session loaded it) the session then holds it as written: the UPDATE's RETURNING where the
    database has it, else (MySQL/MariaDB) a refresh."""
    stmt = update(Instance).where(
        Instance.uuid == uuid, Instance.deleted.is_(False), Instance.task_lease == token,
        Instance.task_state == task_state).values(**values, task_lease=None, updated_at=now).execution_options(
        synchronize_session=False)
    if row is not None and s.get_bind().dialect.update_returning:
        return bool(s.execute(stmt.returning(Instance).execution_options(populate_existing=True)).scalars().all())
    if s.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        return False
    if row is not None:
        s.refresh(row)
    return True


def take_migration(s: Session, migration_uuid: str, token: str) -> bool:
    """Take the move a migration row stands for (the API writes one per request); False when a
    conductor already took it, i.e. the cast was delivered again. This one never lapses: a move
    is not re-driven (the agents' reconcile pass clears a task state left idle)."""
    result = s.execute(update(Migration).where(Migration.uuid == migration_uuid, Migration.conductor_token.is_(None))
                       .values(conductor_token=token).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
