"""MAC addresses of ports: random under ``network.base_mac``'s prefix, unique per network."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.core.db import insert_unless_taken
from onestack.network import models
from onestack.network.errors import MacAddressInUse

ATTEMPTS = 16  # Neutron's mac_generation_retries


def random_mac(base_mac: str) -> str:
    """A MAC with ``base_mac``'s first three octets (four when its fourth is not 00), the rest random."""
    base = [int(x, 16) for x in base_mac.split(":")]
    fixed = 4 if base[3] else 3
    octets = base[:fixed] + [random.getrandbits(8) for _ in range(6 - fixed)]
    return ":".join(f"{o:02x}" for o in octets)


def in_use(s: Session, network_id: str, mac: str) -> bool:
    p = models.Port
    return s.scalar(select(p.id).where(p.network_id == network_id, p.mac_address == mac).limit(1)) is not None


def choose(s: Session, network_id: str, base_mac: str, given: str | None = None) -> str:
    """``given`` if free on the network (else 409 ``MacAddressInUse``), or a fresh random one.

    Between concurrent writers on a server database the unique constraint on (network, MAC)
    decides (``insert_with_mac``).
    """
    if given is not None:
        if in_use(s, network_id, given):
            raise MacAddressInUse(given, network_id)
        return given
    for _ in range(ATTEMPTS):
        mac = random_mac(base_mac)
        if not in_use(s, network_id, mac):
            return mac
    raise MacAddressInUse(mac, network_id)  # Neutron's MacAddressGenerationFailure is as rare


def _sqlite(s: Session) -> bool:
    return s.get_bind().dialect.name == "sqlite"


def insert_with_mac(s: Session, row: models.Port, base_mac: str, given: str | None) -> None:
    """Add the new port ``row`` with ``given`` or a random MAC. On a server database two writers
    may pick one MAC at once: the (network, MAC) constraint stops the second (on PostgreSQL an
    INSERT ... ON CONFLICT DO NOTHING, elsewhere inside a savepoint), which then answers
    ``MacAddressInUse`` for a given MAC or tries another random one."""
    if s.get_bind().dialect.name != "postgresql":
        _settle(s, row, base_mac, given, lambda: s.add(row))
        return
    for _ in range(ATTEMPTS):
        row.mac_address = given if given is not None else random_mac(base_mac)
        if insert_unless_taken(s, row, ("network_id", "mac_address")):
            return
        if given is not None:
            raise MacAddressInUse(given, row.network_id)
    raise MacAddressInUse(row.mac_address, row.network_id)


def change_mac(s: Session, row: models.Port, base_mac: str, given: str | None) -> None:
    """Give the existing port ``row`` ``given`` or (null: port-mac-address-regenerate) a fresh MAC."""
    _settle(s, row, base_mac, given, lambda: None)


def _settle(s: Session, row: models.Port, base_mac: str, given: str | None, stage: Any) -> None:
    sqlite = _sqlite(s)
    for _ in range(ATTEMPTS):
        if not sqlite:
            # The (network, MAC) constraint decides below; asking first would cost a round trip per port.
            mac = given if given is not None else random_mac(base_mac)
        else:
            mac = choose(s, row.network_id, base_mac, given)
        if sqlite:  # one writer at a time: what choose() read is current
            row.mac_address = mac
            stage()
            s.flush()
            return
        try:
            with s.begin_nested():
                row.mac_address = mac
                stage()
            return
        except IntegrityError:
            if given is not None:
                raise MacAddressInUse(given, row.network_id) from None
    raise MacAddressInUse(mac, row.network_id)
