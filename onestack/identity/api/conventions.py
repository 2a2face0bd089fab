"""What identity adds to the shared request layer: Keystone's wording, booleans and policy shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onestack.core.api.faults import ApiError, BadRequest
from onestack.core.api.parse import KEYSTONE_BOOLEANS
from onestack.core.api.request import ApiRoutes, Conventions
from onestack.core.api.request import Req as CoreReq
from onestack.core.api.validation import SchemaFailure
from onestack.core.auth import AuthContext
from onestack.identity.state import Identity

Req = CoreReq[Identity]
IdentityRoutes = ApiRoutes[Identity]


def _schema_error(failure: SchemaFailure) -> ApiError:
    """Keystone's "Invalid input for field 'x': …"; a missing property is named as the field."""
    field = failure.field
    if failure.keyword == "required" and "'" in failure.message:
        field = failure.message.split("'")[1]
    return BadRequest(f"Invalid input for field '{field}': {failure.message}")


def _bad_value(name: str, value: str, reason: str) -> ApiError:
    return BadRequest(f"Invalid input for field '{name}': {reason}.")


def _policy_target(ctx: AuthContext, target: Mapping[str, Any] | None) -> dict[str, Any]:
    """The caller's own token under ``target.token`` (for ``%(target.token.user_id)s`` rules), then ``target``.

    A handler's ``{"target": {...}}`` is merged into that (and may name another token); any other
    key is passed as given.
    """
    full: dict[str, Any] = {"target": {"token": {"user_id": ctx.user_id}}}
    for key, value in (target or {}).items():
        if key == "target" and isinstance(value, dict):
            full["target"].update(value)
        else:
            full[key] = value
    return full


def _policy_credentials(ctx: AuthContext) -> dict[str, Any]:
    creds = ctx.credentials()
    # Keystone's rules also look at the scoped project's domain: "token.project.domain.id".
    if ctx.project_domain_id:
        creds["token"] = {**creds["token"], "project": {"domain": {"id": ctx.project_domain_id}}}
    return creds


CONVENTIONS = Conventions(schema_error=_schema_error, schema_draft=4, bad_value=_bad_value,
                          booleans=KEYSTONE_BOOLEANS, policy_target=_policy_target,
                          policy_credentials=_policy_credentials)


def caller_domain(ctx: AuthContext) -> str:
    """Where a new resource lands when the body names no domain: the token's domain."""
    return ctx.domain_id or ctx.project_domain_id or "default"


def query(req: Req) -> dict[str, str]:
    """Query parameters as a plain dict (the last value wins), as the list filters take them."""
    return dict(req.params.items())
