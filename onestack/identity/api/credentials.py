"""``/v3/credentials`` and ``/v3/users/{user_id}/credentials/OS-EC2``."""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, Forbidden
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext, authenticate
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.validation import entity, validate
from onestack.identity.service import credentials

routes = RouteTable()

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_CREATE = entity(
    {
        "id": _ID,
        "user_id": _ID,
        "project_id": {"type": ["string", "null"], "maxLength": 64},
        "type": {"type": "string", "minLength": 1, "maxLength": 255},
        "blob": {"type": "string"},
    },
    ("user_id", "type", "blob"),
)
_UPDATE = {
    **entity(
        {
            "user_id": _ID,
            "project_id": {"type": ["string", "null"], "maxLength": 64},
            "type": {"type": "string", "minLength": 1, "maxLength": 255},
            "blob": {"type": "string"},
        }
    ),
    "minProperties": 1,
}


def _doc(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(request, f"credentials/{doc['id']}")
    return doc


async def _key_hash(request: Request) -> str:
    return await anyio.to_thread.run_sync(credentials.primary_key_hash, identity_of(request).credential_keys)


def _stamp_delegation(ctx: AuthContext, data: dict[str, Any]) -> None:
    """An ec2 credential made with a trust or app-cred token remembers it, as Keystone does."""
    if data["type"] != credentials.EC2:
        return
    blob = credentials.ec2_access(data["blob"])
    if ctx.trust_id:
        blob["trust_id"] = ctx.trust_id
    if ctx.application_credential_id:
        blob["app_cred_id"] = ctx.application_credential_id
    if ctx.trust_id or ctx.application_credential_id:
        data["blob"] = json.dumps(blob)


@routes.post("/v3/credentials")
async def create_credential(request: Request) -> Response:
    await authenticate(request)
    data = dict(validate(await json_body(request), _CREATE, wrapper="credential"))
    ctx = await enforce(request, "identity:create_credential", {"target": {"credential": {"user_id": data["user_id"]}}})
    _stamp_delegation(ctx, data)
    ident = identity_of(request)
    key_hash = await _key_hash(request)
    doc = await ident.db.write(credentials.create, ident.credential_keys, key_hash, data)
    return json_response({"credential": _doc(request, doc)}, status=201)


async def _may_see_all(request: Request) -> bool:
    """Admins and system readers list everyone's credentials; others only their own."""
    try:
        await enforce(request, "identity:list_credentials", {"target": {"credential": {"user_id": None}}})
    except Forbidden:
        return False
    return True


@routes.get("/v3/credentials")
async def list_credentials(request: Request) -> Response:
    ctx = await authenticate(request)
    user_id = request.query_params.get("user_id")
    if not await _may_see_all(request):
        if user_id is not None and user_id != ctx.user_id:
            docs: list[dict[str, Any]] = []  # Keystone filters out what the caller may not see
            return json_response(collection(request, "credentials", docs))
        user_id = ctx.user_id
    ident = identity_of(request)
    docs = await ident.db.read(
        lambda s: credentials.list_credentials(s, ident.credential_keys, user_id=user_id,
                                               type_=request.query_params.get("type"))
    )
    return json_response(collection(request, "credentials", [_doc(request, d) for d in docs]))


async def _owned(request: Request, rule: str) -> dict[str, Any]:
    """The credential in the path once the caller may act on it (401, then 404, then 403)."""
    await authenticate(request)
    ident = identity_of(request)
    doc = await ident.db.read(credentials.get, ident.credential_keys, request.path_params["credential_id"])
    await enforce(request, rule, {"target": {"credential": {"user_id": doc["user_id"]}}})
    return doc


@routes.get("/v3/credentials/{credential_id}")
async def show_credential(request: Request) -> Response:
    doc = await _owned(request, "identity:get_credential")
    return json_response({"credential": _doc(request, doc)})


@routes.patch("/v3/credentials/{credential_id}")
async def update_credential(request: Request) -> Response:
    current = await _owned(request, "identity:update_credential")
    changes = dict(validate(await json_body(request), _UPDATE, wrapper="credential"))
    if changes.get("user_id", current["user_id"]) != current["user_id"]:
        # Handing a credential to someone else needs the right to create one for them.
        await enforce(request, "identity:create_credential", {"target": {"credential": {"user_id": changes["user_id"]}}})
    if "type" in changes and changes["type"] != current["type"] and "blob" not in changes:
        raise BadRequest("Changing the type of a credential requires a new blob.")
    ident = identity_of(request)
    key_hash = await _key_hash(request)
    doc = await ident.db.write(credentials.update, ident.credential_keys, key_hash, current["id"], changes)
    return json_response({"credential": _doc(request, doc)})


@routes.delete("/v3/credentials/{credential_id}")
async def delete_credential(request: Request) -> Response:
    doc = await _owned(request, "identity:delete_credential")
    await identity_of(request).db.write(credentials.delete, doc["id"])
    return no_content()


# --- OS-EC2 ----------------------------------------------------------------------------------


def _ec2_doc(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(request, f"users/{doc['user_id']}/credentials/OS-EC2/{doc['access']}")
    return doc


@routes.post("/v3/users/{user_id}/credentials/OS-EC2")
async def create_ec2(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    ctx = await enforce(request, "identity:ec2_create_credential", {"user_id": user_id})
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("tenant_id"), str) or not body["tenant_id"]:
        raise BadRequest("Invalid input for field 'tenant_id': 'tenant_id' is a required property")
    ident = identity_of(request)
    key_hash = await _key_hash(request)
    doc = await ident.db.write(
        credentials.ec2_create, ident.credential_keys, key_hash, user_id, body["tenant_id"], ctx.trust_id
    )
    return json_response({"credential": _ec2_doc(request, doc)}, status=201)


@routes.get("/v3/users/{user_id}/credentials/OS-EC2")
async def list_ec2(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await enforce(request, "identity:ec2_list_credentials", {"user_id": user_id})
    ident = identity_of(request)
    docs = await ident.db.read(credentials.ec2_list, ident.credential_keys, user_id)
    return json_response(collection(request, "credentials", [_ec2_doc(request, d) for d in docs]))


async def _ec2_owned(request: Request, rule: str) -> dict[str, Any]:
    await authenticate(request)
    user_id, access = request.path_params["user_id"], request.path_params["access"]
    ident = identity_of(request)

    def load(s: Session) -> dict[str, Any]:
        return credentials.ec2_doc(ident.credential_keys, credentials.ec2_row(s, user_id, access))

    doc = await ident.db.read(load)
    await enforce(request, rule, {"target": {"credential": {"user_id": doc["user_id"]}}})
    return doc


@routes.get("/v3/users/{user_id}/credentials/OS-EC2/{access}")
async def show_ec2(request: Request) -> Response:
    doc = await _ec2_owned(request, "identity:ec2_get_credential")
    return json_response({"credential": _ec2_doc(request, doc)})


@routes.delete("/v3/users/{user_id}/credentials/OS-EC2/{access}")
async def delete_ec2(request: Request) -> Response:
    doc = await _ec2_owned(request, "identity:ec2_delete_credential")
    await identity_of(request).db.write(credentials.delete, credentials.ec2_id(doc["access"]))
    return no_content()
