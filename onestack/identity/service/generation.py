"""The shared counter of committed identity writes (``identity_generation``).

Every identity write moves it inside its own transaction; every identity process compares it
with what it last saw before serving from its caches (``Identity.fresh``), so a write made by
one process drops the caches of all of them within about a second.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onestack.identity.models import Generation


def bump(s: Session) -> None:
    s.execute(update(Generation).where(Generation.id == 1).values(value=Generation.value + 1))


def current(s: Session) -> int:
    return int(s.scalar(select(Generation.value).where(Generation.id == 1)) or 0)
