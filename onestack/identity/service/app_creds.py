"""Application credentials and their access rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.identity.models import AccessRule, AppCredAccessRule


def access_rules_of(s: Session, app_cred_id: str) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(AccessRule)
        .join(AppCredAccessRule, AppCredAccessRule.access_rule_id == AccessRule.id)
        .where(AppCredAccessRule.application_credential_id == app_cred_id)
    )
    return [{"id": r.id, "service": r.service, "path": r.path, "method": r.method} for r in rows]
