"""What compute asks identity about projects and users (same database in ``onestack up``)."""

from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session


def _identity_tables_present(s: Session) -> bool:
    return bool(inspect(s.connection()).has_table("project"))


def project_exists(s: Session, project_id: str) -> bool:
    """Nova refuses (400) a project identity says does not exist; if identity is elsewhere, trust the caller."""
    if not _identity_tables_present(s):
        return True
    from onestack.identity.models import Project

    return s.scalar(select(Project.id).where(Project.id == project_id, Project.is_domain.is_(False))) is not None
