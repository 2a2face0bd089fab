"""``/v3/OS-OAUTH1/*`` and ``/v3/users/{user_id}/OS-OAUTH1/access_tokens``: OAuth1 delegation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.schemas import DESCRIPTION, ROLE_REF
from onestack.identity.service import oauth1

routes = IdentityRoutes()

_CONSUMER = {"type": "object", "properties": {"description": DESCRIPTION}, "additionalProperties": True}
_CONSUMER_UPDATE = {**_CONSUMER, "not": {"required": ["secret"]}, "minProperties": 1}
_ROLES = {"type": "array", "items": ROLE_REF}
_MANAGE = "Cannot manage OAuth access tokens with a token issued via delegation."


def _consumer_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(req, f"OS-OAUTH1/consumers/{doc['id']}")
    return doc


async def _wrapped(req: Req, key: str, default: Any) -> Any:
    """Keystone reads ``body[key]`` leniently: no body, or no such key, is ``default``."""
    data = await req.json(required=False)
    return data.get(key, default) if isinstance(data, dict) else default


@routes.post("/v3/OS-OAUTH1/consumers")
async def create_consumer(req: Req) -> Response:
    await req.enforce("identity:create_consumer")
    data = await _wrapped(req, "consumer", {})
    req.validate(data, _CONSUMER, wrapper="consumer")
    doc = await req.write(oauth1.create_consumer, data)
    return json_response({"consumer": _consumer_doc(req, doc)}, status=201)


@routes.get("/v3/OS-OAUTH1/consumers")
async def list_consumers(req: Req) -> Response:
    await req.enforce("identity:list_consumers")
    docs = await req.read(oauth1.list_consumers)
    return json_response(collection(req, "consumers", [_consumer_doc(req, d) for d in docs]))


@routes.get("/v3/OS-OAUTH1/consumers/{consumer_id}")
async def show_consumer(req: Req) -> Response:
    await req.enforce("identity:get_consumer")
    doc = await req.read(oauth1.get_consumer, req.path("consumer_id"))
    return json_response({"consumer": _consumer_doc(req, doc)})


@routes.patch("/v3/OS-OAUTH1/consumers/{consumer_id}")
async def update_consumer(req: Req) -> Response:
    await req.enforce("identity:update_consumer")
    data = await _wrapped(req, "consumer", {})
    req.validate(data, _CONSUMER_UPDATE, wrapper="consumer")
    doc = await req.write(oauth1.update_consumer, req.path("consumer_id"), data)
    return json_response({"consumer": _consumer_doc(req, doc)})


@routes.delete("/v3/OS-OAUTH1/consumers/{consumer_id}")
async def delete_consumer(req: Req) -> Response:
    await req.enforce("identity:delete_consumer")
    await req.write(oauth1.delete_consumer, req.path("consumer_id"))
    return no_content()


# --- the OAuth1 dance: request token, authorization, access token -----------------------------


def _form(doc: dict[str, Any]) -> Response:
    """``oauth_token=…&oauth_token_secret=…[&oauth_expires_at=…]``, 201, as Keystone answers."""
    fields = {k: v for k, v in doc.items() if v is not None}
    return Response(urlencode(fields, safe=":"), status_code=201,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})


@routes.post("/v3/OS-OAUTH1/request_token")
async def create_request_token(req: Req) -> Response:
    duration = req.state.config.identity.oauth1_request_token_duration
    return _form(await req.write(oauth1.create_request_token, str(req.request.url), req.headers, duration))


@routes.post("/v3/OS-OAUTH1/access_token")
async def create_access_token(req: Req) -> Response:
    duration = req.state.config.identity.oauth1_access_token_duration
    return _form(await req.write(oauth1.create_access_token, str(req.request.url), req.headers, duration))


@routes.put("/v3/OS-OAUTH1/authorize/{request_token_id}")
async def authorize_request_token(req: Req) -> Response:
    ctx = await req.enforce("identity:authorize_request_token")
    roles = await _wrapped(req, "roles", [])
    req.validate(roles, _ROLES, wrapper="roles")
    oauth1.refuse_delegated(ctx.body)
    verifier = await req.write(oauth1.authorize, req.path("request_token_id"), ctx.user_id, roles)
    return json_response({"token": {"oauth_verifier": verifier}})


# --- a user's access tokens -------------------------------------------------------------------

_TOKENS = "/v3/users/{user_id}/OS-OAUTH1/access_tokens"


def _token_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    base = f"users/{doc['authorizing_user_id']}/OS-OAUTH1/access_tokens/{doc['id']}"
    doc["links"] = {**self_link(req, base), "roles": req.url_for(f"/v3/{base}/roles")}
    return doc


def _role_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "links": self_link(req, f"roles/{doc['id']}")}


async def _manage(req: Req, rule: str) -> str:
    """The path's user, once the caller may manage access tokens with a token of its own."""
    ctx = await req.enforce(rule)
    oauth1.refuse_delegated(ctx.body, _MANAGE)
    return req.path("user_id")


@routes.get(_TOKENS)
async def list_access_tokens(req: Req) -> Response:
    user_id = await _manage(req, "identity:list_access_tokens")
    docs = await req.read(oauth1.list_access_tokens, user_id)
    return json_response(collection(req, "access_tokens", [_token_doc(req, d) for d in docs]))


@routes.get(_TOKENS + "/{access_token_id}")
async def show_access_token(req: Req) -> Response:
    user_id = await _manage(req, "identity:get_access_token")
    doc = await req.read(oauth1.get_access_token, user_id, req.path("access_token_id"))
    return json_response({"access_token": _token_doc(req, doc)})


@routes.delete(_TOKENS + "/{access_token_id}")
async def delete_access_token(req: Req) -> Response:
    user_id = await _manage(req, "identity:delete_access_token")
    await req.write(oauth1.delete_access_token, user_id, req.path("access_token_id"))
    return no_content()


@routes.get(_TOKENS + "/{access_token_id}/roles")
async def list_access_token_roles(req: Req) -> Response:
    await req.enforce("identity:list_access_token_roles")
    docs = await req.read(oauth1.access_token_roles, req.path("user_id"), req.path("access_token_id"))
    return json_response(collection(req, "roles", [_role_doc(req, d) for d in docs]))


@routes.get(_TOKENS + "/{access_token_id}/roles/{role_id}")
async def show_access_token_role(req: Req) -> Response:
    await req.enforce("identity:get_access_token_role")
    doc = await req.read(oauth1.access_token_role, req.path("user_id"), req.path("access_token_id"),
                         req.path("role_id"))
    return json_response({"role": _role_doc(req, doc)})
