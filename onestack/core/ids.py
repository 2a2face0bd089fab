"""Identifiers and timestamps in the formats OpenStack APIs use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A 32-hex-digit id, as Keystone and Glance mint them."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Now in UTC, naive (the database stores naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def isotime(dt: datetime | None, *, micro: bool = True) -> str | None:
    """``2026-01-02T03:04:05.000000Z`` (Keystone tokens) or without microseconds."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def parse_isotime(text: str) -> datetime:
    """Parse an ISO 8601 timestamp into naive UTC; raises ValueError."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt
