"""MAC addresses of ports: random under ``network.base_mac``'s prefix, unique per network."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    decides; with 2**24 choices that is a 500 once in many millions, not worth a savepoint.
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
