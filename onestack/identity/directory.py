"""The in-process IdentityDirectory other services use in ``onestack up``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.identity.models import Limit, Project, RegisteredLimit, Service


class LocalDirectory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def project_exists(self, project_id: str) -> bool:
        def find(s: Session) -> bool:
            row = s.get(Project, project_id)
            return row is not None and not row.is_domain

        return self.db.run_sync(find, write=False)

    def limit(self, service_type: str, resource_name: str, project_id: str) -> int | None:
        def find(s: Session) -> int | None:
            services = list(s.scalars(select(Service.id).where(Service.type == service_type)))
            if not services:
                return None
            own = s.scalar(select(Limit.resource_limit).where(
                Limit.project_id == project_id, Limit.resource_name == resource_name, Limit.service_id.in_(services)))
            if own is not None:
                return int(own)
            default = s.scalar(select(RegisteredLimit.default_limit).where(
                RegisteredLimit.resource_name == resource_name, RegisteredLimit.service_id.in_(services)))
            return None if default is None else int(default)

        return self.db.run_sync(find, write=False)
