"""next_free's search and claims on a real SQLite database (the allocations table only)."""

from __future__ import annotations

import ipaddress

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
