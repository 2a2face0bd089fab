"""Finding a subnet's next free addresses without reading all its allocations.

Per process and subnet a cursor keeps ``low``, a hint that no address below it was free when this
process last looked, and ``claimed``, the addresses its open write transactions are inserting.
A search probes the allocations table one window of candidate addresses at a time from ``low``
(an ``IN`` query on the primary key), so a create costs the same with 10 or 10,000 ports on the
subnet. Writers of this process skip each other's claims instead of queueing on the same
primary-key row lock.

The hint is never trusted for correctness: the primary key decides who holds an address. It may
be stale: another process frees an address below it (the search still finds it when it wraps
around from the pools' start), or a transaction that claimed addresses rolls back (its end lowers
``low`` again). A release here lowers ``low`` at once.

Cursors are bounded: at most ``MAX_CURSORS`` per process, the least recently used without a
claim in flight dropped first, and a deleted subnet's dropped at once (``forget``). A dropped
cursor costs its next search probes from the pools' start, never an address.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import cast

from sqlalchemy import Table, bindparam, event, select
from sqlalchemy.orm import Session, SessionTransaction

from onestack.network import models

A = models.IPAllocation
FIRST_WINDOW, MAX_WINDOW = 32, 1024
CONTENDED_S = 10.0  # how long one lost race makes this process spread its picks (``contended``)
MAX_CURSORS = 4096  # a cursor is ~200 bytes: a bound on a long-lived server's memory, not a tuning knob
_CLAIMS = "ipam_claims"
_COMMITTED = "ipam_committed"
_LISTENING = "ipam_listening"


@dataclass
class _Cursor:
    low: int = 0
    releases: int = 0  # bumped by every release, so a search that started before one leaves ``low`` alone
    claimed: set[int] = field(default_factory=set)
    # Until when (monotonic) another process's writers are known to race this one on the subnet.
    contended_until: float = 0.0


_cursors: OrderedDict[str, _Cursor] = OrderedDict()  # least recently used first
_lock = threading.Lock()


def _cursor(subnet_id: str) -> _Cursor:
    """The subnet's cursor, made if missing; callers hold ``_lock``."""
    cur = _cursors.get(subnet_id)
    if cur is not None:
        _cursors.move_to_end(subnet_id)
        return cur
    cur = _cursors[subnet_id] = _Cursor()
    if len(_cursors) > MAX_CURSORS:
        # Claimed addresses must stay visible to this process's other writers: skip busy cursors.
        idle = [k for k, c in islice(_cursors.items(), len(_cursors) - MAX_CURSORS + 8)
                if not c.claimed and k != subnet_id]
        for k in idle[:len(_cursors) - MAX_CURSORS]:
            del _cursors[k]
    return cur


def forget(subnet_id: str) -> None:
    """The subnet is gone: drop its cursor unless a writer of this process still holds a claim."""
    with _lock:
        cur = _cursors.get(subnet_id)
        if cur is not None and not cur.claimed:
            del _cursors[subnet_id]


def cursor_count() -> int:
    with _lock:
        return len(_cursors)


def _walk(pools: Sequence[tuple[int, int]], start: int) -> Iterator[int]:
    for first, last in pools:
        n = max(first, start)
        while n <= last:
            yield n
            n += 1


def _text(n: int, version: int) -> str:
    return str(ipaddress.IPv4Address(n) if version == 4 else ipaddress.IPv6Address(n))


def find(s: Session, subnet_id: str, version: int, pools: Sequence[tuple[int, int]], skip: set[int],
         limit: int = 8) -> list[int]:
    """Up to ``limit`` addresses of ``pools`` neither allocated, nor claimed here, nor in ``skip``."""
    if not pools:
        return []
    with _lock:
        cur = _cursor(subnet_id)
        hint, releases = cur.low, cur.releases
    origins = [hint] if hint <= pools[0][0] else [hint, pools[0][0]]
    for origin in origins:
        out = _search(s, subnet_id, version, pools, origin, skip, limit, cur, releases if origin == hint else None)
        if out:
            return out
    return []


# Which of a window of addresses are allocated: built once, a create runs it every time. Core (the
# table's columns): allocations are inserted flushed, so the ORM's autoflush would add nothing.
_A = cast(Table, A.__table__).c
_PROBE = select(_A.ip_address).where(_A.subnet_id == bindparam("subnet"),
                                     _A.ip_address.in_(bindparam("ips", expanding=True)))


def _search(s: Session, subnet_id: str, version: int, pools: Sequence[tuple[int, int]], origin: int,
            skip: set[int], limit: int, cur: _Cursor, releases: int | None) -> list[int]:
    out: list[int] = []
    walk = _walk(pools, origin)
    window = FIRST_WINDOW
    all_taken = True  # every address from origin so far is allocated: ``low`` may move past them
    while len(out) < limit:
        chunk = list(islice(walk, window))
        if not chunk:
            break
        texts = [_text(n, version) for n in chunk]
        taken = {int(ipaddress.ip_address(t)) for t in s.scalars(_PROBE, {"subnet": subnet_id, "ips": texts})}
        with _lock:
            for n in chunk:
                if n in taken:
                    if all_taken and releases is not None and cur.releases == releases:
                        cur.low = max(cur.low, n + 1)
                    continue
                all_taken = False
                if n not in cur.claimed and n not in skip:
                    out.append(n)
                    if len(out) >= limit:
                        break
        window = min(window * 2, MAX_WINDOW)
    return out


def claim(s: Session, subnet_id: str, candidates: Sequence[int]) -> int | None:
    """The first of ``candidates`` no other writer of this process claimed meanwhile, now claimed
    by ``s``'s transaction until it ends."""
    with _lock:
        cur = _cursor(subnet_id)
        n = next((c for c in candidates if c not in cur.claimed), None)
        if n is None:
            return None
        cur.claimed.add(n)
    if _LISTENING not in s.info:  # once per session; the listeners stay for its later transactions
        s.info[_LISTENING] = True
        event.listen(s, "after_commit", _committed)
        event.listen(s, "after_transaction_end", _ended)
    s.info.setdefault(_CLAIMS, []).append((subnet_id, n))
    return n


def unclaim(subnet_id: str, n: int) -> None:
    """``n`` was lost to another process's writer: no longer ours to hold back, and for the next
    ``CONTENDED_S`` seconds the subnet is contended (``contended``)."""
    with _lock:
        cur = _cursors.get(subnet_id)
        if cur is not None:
            cur.claimed.discard(n)
            cur.contended_until = time.monotonic() + CONTENDED_S


def contended(subnet_id: str) -> bool:
    """Whether another process's writer took an address this one was inserting lately.

    Several processes' cursors all start at the lowest free address, and a writer that loses to
    another process's uncommitted insert waits for that transaction to end (PostgreSQL, MariaDB) —
    the processes' creates on one subnet would run one after the other. While contended, a writer
    picks at random among the next free addresses (as Neutron's IPAM does), so most do not meet."""
    with _lock:
        cur = _cursors.get(subnet_id)
        return cur is not None and cur.contended_until > time.monotonic()


def released(subnet_id: str, addresses: Sequence[str]) -> None:
    """Addresses given back: the next search starts low enough to see them."""
    if not addresses:
        return
    lowest = min(int(ipaddress.ip_address(a)) for a in addresses)
    with _lock:
        cur = _cursor(subnet_id)
        cur.low = min(cur.low, lowest)
        cur.releases += 1


def _committed(session: Session) -> None:
    if session.get_nested_transaction() is None:  # the outermost transaction, not a savepoint
        session.info[_COMMITTED] = True


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    claims: list[tuple[str, int]] = session.info.pop(_CLAIMS, [])
    committed = session.info.pop(_COMMITTED, False)
    with _lock:
        for subnet_id, n in claims:
            cur = _cursors.get(subnet_id)  # its claims kept it from eviction and from ``forget``
            if cur is None:
                continue
            cur.claimed.discard(n)
            if not committed:  # rolled back: the address is free again
                cur.low = min(cur.low, n)
                cur.releases += 1


__all__ = ["claim", "contended", "cursor_count", "find", "forget", "released", "unclaim"]
