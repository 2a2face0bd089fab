"""Assemble the identity service: its routes, its state, its in-process token validator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onestack.core.api.app import Service
from onestack.core.api.faults import keystone_error
from onestack.core.api.request import ApiService
from onestack.core.auth import AuthContext, context_from_token_body
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.service import CatalogEntry, Migrations, Running, ServiceDefinition
from onestack.identity import models
from onestack.identity.api import (
    app_creds,
    auth,
    catalog,
    credentials,
    domain_config,
    domains,
    ec2tokens,
    ep_filter,
    federation,
    federation_auth,
    grants,
    groups,
    limits,
    oauth1,
    policies,
    projects,
    revoke,
    role_assignments,
    roles,
    trusts,
    users,
    versions,
)
from onestack.identity.api.conventions import CONVENTIONS
from onestack.identity.directory import LocalDirectory
from onestack.identity.policies import DEFAULT_RULES
from onestack.identity.service import ec2tokens as ec2tokens_service
from onestack.identity.service import tokens
from onestack.identity.state import Identity

if TYPE_CHECKING:
    from onestack.process import Process

API_MODULES = (
    versions, auth, projects, domains, users, groups, roles, grants, role_assignments,
    app_creds, credentials, trusts, catalog, ep_filter, limits, domain_config, policies, revoke,
    ec2tokens, oauth1, federation, federation_auth,
)
PREFIX = "/identity"


class InProcessValidator:
    """Token validation by direct call: what every service in ``onestack up`` uses."""

    def __init__(self, ident: Identity) -> None:
        self.ident = ident

    async def validate(self, token: str, *, allow_expired: bool = False) -> AuthContext:
        try:
            _, doc = await tokens.validate_payload(
                self.ident, token, include_catalog=False, allow_expired=allow_expired
            )
        except tokens.TokenNotFound:
            from onestack.core.api.faults import Unauthorized

            raise Unauthorized() from None
        return context_from_token_body(token, {"token": doc})


def build_identity(config: Config, db: Database) -> tuple[Service, Identity, InProcessValidator]:
    ident = Identity(config, db)
    validator = InProcessValidator(ident)
    routes = [route for module in API_MODULES for route in module.routes.routes]
    service = Service(
        name="identity",
        prefix=PREFIX,
        routes=routes,
        render_error=keystone_error,
        state={"identity": ident, "token_validator": validator,
               "api": ApiService(ident, db, ident.enforcer, CONVENTIONS)},
    )
    return service, ident, validator


# --- the service's declaration (server.py runs it) ---------------------------------------------


@dataclass
class IdentityHandles:
    """What identity shares with the other services of its process: in-process token checks and lookups."""

    ident: Identity
    validator: InProcessValidator
    directory: LocalDirectory

    async def s3_token(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``POST /v3/s3tokens?nocatalog`` by direct call (Swift's s3api in this process)."""
        return await ec2tokens_service.authenticate(self.ident, body, "s3", include_catalog=False)


def build(process: Process) -> Running:
    service, ident, validator = build_identity(process.config, process.database())
    handles = IdentityHandles(ident, validator, LocalDirectory(process.database()))
    return Running("identity", api=service, state=handles)


SERVICE = ServiceDefinition(
    name="identity", summary="Keystone v3 at /identity", build=build,
    migrations=(Migrations("identity", Path(models.__file__).parent / "migrations", models.Base.metadata),),
    catalog=(CatalogEntry("identity", "keystone", PREFIX),), policies=DEFAULT_RULES)
