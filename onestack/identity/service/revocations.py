"""Revocation events: rules that make matching tokens invalid without a token table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.identity.models import RevocationEvent
from onestack.identity.token_format import TokenPayload

_MATCH_FIELDS = ("user_id", "project_id", "domain_id", "trust_id", "app_cred_id")


def revoke(s: Session, *, token_lifetime: int, **match: Any) -> None:
    """Revoke every token issued up to now that matches all of ``match``'s fields."""
    now = utcnow()
    s.add(
        RevocationEvent(
            issued_before=now,
            revoked_at=now,
            expires_at=now + timedelta(seconds=token_lifetime * 2 + 60),
            **match,
        )
    )
    # Events outlive every token they could match by the token lifetime; then they go.
    s.execute(delete(RevocationEvent).where(RevocationEvent.expires_at < now))


def active_events(s: Session) -> list[RevocationEvent]:
    return list(s.scalars(select(RevocationEvent).where(RevocationEvent.expires_at >= utcnow())))


def list_events(s: Session, since: datetime | None = None) -> list[dict[str, Any]]:
    """OS-REVOKE's list: live events revoked at or after ``since``, oldest first."""
    events = sorted(active_events(s), key=lambda ev: (ev.revoked_at, ev.id))
    return [event_to_dict(ev) for ev in events if since is None or ev.revoked_at >= since]


def is_revoked(payload: TokenPayload, events: list[RevocationEvent], extra: dict[str, str | None] | None = None) -> bool:
    """``extra`` may carry derived facts, like the project's domain, that events can match."""
    facts: dict[str, Any] = {
        "user_id": payload.user_id,
        "project_id": payload.project_id,
        "domain_id": payload.domain_id,
        "trust_id": payload.trust_id,
        "app_cred_id": payload.app_cred_id,
    }
    facts.update(extra or {})
    for ev in events:
        if payload.issued_at > ev.issued_before:
            continue
        if ev.audit_id is not None:
            if ev.audit_id in payload.audit_ids[:1]:
                return True
            continue
        if ev.audit_chain_id is not None:
            if ev.audit_chain_id == (payload.audit_ids[-1] if payload.audit_ids else None):
                return True
            continue
        fields = [(f, getattr(ev, f)) for f in _MATCH_FIELDS if getattr(ev, f) is not None]
        if fields and all(facts.get(f) == v for f, v in fields):
            return True
    return False


def event_to_dict(ev: RevocationEvent) -> dict[str, Any]:
    doc: dict[str, Any] = {"issued_before": _iso(ev.issued_before)}
    for name in (*_MATCH_FIELDS, "audit_id", "audit_chain_id", "role_id"):
        value = getattr(ev, name)
        if value is not None:
            doc[name] = value
    return doc


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
