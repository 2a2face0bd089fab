"""Authenticate the caller and check an identity policy rule in one step."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from onestack.core.auth import AuthContext, authenticate
from onestack.identity.state import Identity


def identity_of(request: Request) -> Identity:
    ident: Identity = request.app.state.identity
    return ident


async def enforce(request: Request, rule: str, target: dict[str, Any] | None = None) -> AuthContext:
    """401 without a valid token, 403 if the rule denies; returns the caller.

    The target always carries the caller's own token under ``target.token`` so rules like
    ``user_id:%(target.token.user_id)s`` work, plus whatever the handler passes.
    """
    ctx = await authenticate(request)
    full: dict[str, Any] = {"target": {"token": {"user_id": ctx.user_id}}}
    for key, value in (target or {}).items():
        if key == "target" and isinstance(value, dict):
            full["target"].update(value)
        else:
            full[key] = value
    creds = ctx.credentials()
    # Keystone's rules also look at the scoped project's domain: "token.project.domain.id".
    if ctx.project_domain_id:
        creds["token"] = {**creds["token"], "project": {"domain": {"id": ctx.project_domain_id}}}
    identity_of(request).enforcer.enforce(rule, full, creds)
    return ctx
