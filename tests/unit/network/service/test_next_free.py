"""next_free's search and claims on a real SQLite database (the allocations table only)."""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict

import pytest
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.service import next_free

FIRST = int(ipaddress.ip_address("10.0.0.2"))
LAST = int(ipaddress.ip_address("10.0.0.254"))
POOLS = [(FIRST, LAST)]


def _take(s: Session, subnet: str, *numbers: int) -> None:
    with s.begin():
        for n in numbers:
            s.add(models.IPAllocation(subnet_id=subnet, ip_address=str(ipaddress.ip_address(n)), port_id=f"p{n}",
                                      network_id="net"))


def test_find_skips_allocated_and_given_addresses(session: Session) -> None:
    subnet = "s-find"
    _take(session, subnet, FIRST, FIRST + 1, FIRST + 3)
    with session.begin():
        assert next_free.find(session, subnet, 4, POOLS, set(), limit=3) == [FIRST + 2, FIRST + 4, FIRST + 5]
        assert next_free.find(session, subnet, 4, POOLS, {FIRST + 2}, limit=2) == [FIRST + 4, FIRST + 5]


def test_an_exhausted_pool_gives_nothing(session: Session) -> None:
    subnet = "s-full"
    _take(session, subnet, *range(FIRST, LAST + 1))
    with session.begin():
        assert next_free.find(session, subnet, 4, POOLS, set()) == []


def test_a_claim_hides_the_address_until_its_transaction_ends(session: Session) -> None:
    subnet = "s-claim"
    with session.begin():
        got = next_free.claim(session, subnet, next_free.find(session, subnet, 4, POOLS, set(), limit=1))
        assert got == FIRST
        # Another writer of this process looking now skips the claimed address.
        assert next_free.find(session, subnet, 4, POOLS, set(), limit=1) == [FIRST + 1]
        session.rollback()
    # Rolled back: the address is free again and found first.
    with session.begin():
        assert next_free.find(session, subnet, 4, POOLS, set(), limit=1) == [FIRST]


def test_a_release_below_the_hint_is_found_again(session: Session) -> None:
    subnet = "s-release"
    _take(session, subnet, *range(FIRST, FIRST + 40))
    with session.begin():
        assert next_free.find(session, subnet, 4, POOLS, set(), limit=1) == [FIRST + 40]
    with session.begin():
        session.query(models.IPAllocation).filter_by(subnet_id=subnet, ip_address="10.0.0.7").delete()
    next_free.released(subnet, ["10.0.0.7"])
    with session.begin():
        assert next_free.find(session, subnet, 4, POOLS, set(), limit=1) == [int(ipaddress.ip_address("10.0.0.7"))]


def test_a_stale_hint_still_finds_an_address_freed_by_another_process(session: Session) -> None:
    subnet = "s-stale"
    _take(session, subnet, *range(FIRST, LAST + 1))
    with session.begin():
        assert next_free.find(session, subnet, 4, POOLS, set()) == []  # the hint is now past the pool
    with session.begin():  # freed elsewhere: no released() call reaches this process
        session.query(models.IPAllocation).filter_by(subnet_id=subnet, ip_address="10.0.0.9").delete()
    with session.begin():
        assert next_free.find(session, subnet, 4, POOLS, set(), limit=1) == [int(ipaddress.ip_address("10.0.0.9"))]


def test_cursors_are_bounded_and_busy_ones_kept(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(next_free, "MAX_CURSORS", 4)
    monkeypatch.setattr(next_free, "_cursors", OrderedDict())
    with session.begin():
        busy = next_free.claim(session, "s-busy", next_free.find(session, "s-busy", 4, POOLS, set(), limit=1))
        assert busy == FIRST
        for i in range(10):
            next_free.find(session, f"s-lru-{i}", 4, POOLS, set(), limit=1)
        # Never more than the bound, the least recently used idle ones dropped, the one with a claim in
        # flight kept: this process's other writers still skip its claimed address.
        assert next_free.cursor_count() == 4
        assert "s-busy" in next_free._cursors and "s-lru-9" in next_free._cursors
        assert "s-lru-0" not in next_free._cursors
        assert next_free.find(session, "s-busy", 4, POOLS, set(), limit=1) == [FIRST + 1]
    # The transaction ended: its claim is gone and the cursor is idle, so evictable again.
    assert not next_free._cursors["s-busy"].claimed


def test_forget_drops_a_deleted_subnets_cursor_unless_claimed(session: Session,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(next_free, "_cursors", OrderedDict())
    with session.begin():
        next_free.find(session, "s-gone", 4, POOLS, set(), limit=1)
        assert next_free.claim(session, "s-claimed", [FIRST]) == FIRST
        next_free.forget("s-gone")
        next_free.forget("s-claimed")
        next_free.forget("s-never-seen")
        assert list(next_free._cursors) == ["s-claimed"]
    next_free.forget("s-claimed")
    assert next_free.cursor_count() == 0


def test_a_race_lost_to_another_process_marks_the_subnet_contended_for_a_while(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    subnet = "s-contended"
    with session.begin():
        n = next_free.claim(session, subnet, next_free.find(session, subnet, 4, POOLS, set()))
        assert n == FIRST
        assert not next_free.contended(subnet)  # this process's own writers never race each other
        next_free.unclaim(subnet, n)  # another process's insert won it
        assert next_free.contended(subnet)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + next_free.CONTENDED_S + 1)
    assert not next_free.contended(subnet)
