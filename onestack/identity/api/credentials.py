"""``/v3/credentials`` and ``/v3/users/{user_id}/credentials/OS-EC2``."""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, Forbidden
from onestack.core.api.http import json_response, no_content
from onestack.core.auth import AuthContext
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.schemas import entity
from onestack.identity.service import credentials

routes = IdentityRoutes()

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


def _doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(req, f"credentials/{doc['id']}")
    return doc


async def _key_hash(req: Req) -> str:
    return await anyio.to_thread.run_sync(credentials.primary_key_hash, req.state.credential_keys)


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
async def create_credential(req: Req) -> Response:
    await req.caller()
    data = dict(await req.body(_CREATE, wrapper="credential"))
    ctx = await req.enforce("identity:create_credential", {"target": {"credential": {"user_id": data["user_id"]}}})
    _stamp_delegation(ctx, data)
    keys = req.state.credential_keys
    doc = await req.write(credentials.create, keys, await _key_hash(req), data)
    return json_response({"credential": _doc(req, doc)}, status=201)


async def _may_see_all(req: Req) -> bool:
    """Admins and system readers list everyone's credentials; others only their own."""
    try:
        await req.enforce("identity:list_credentials", {"target": {"credential": {"user_id": None}}})
    except Forbidden:
        return False
    return True


@routes.get("/v3/credentials")
async def list_credentials(req: Req) -> Response:
    ctx = await req.caller()
    user_id = req.params.get("user_id")
    if not await _may_see_all(req):
        if user_id is not None and user_id != ctx.user_id:
            docs: list[dict[str, Any]] = []  # Keystone filters out what the caller may not see
            return json_response(collection(req, "credentials", docs))
        user_id = ctx.user_id
    docs = await req.read(credentials.list_credentials, req.state.credential_keys, user_id, req.params.get("type"))
    return json_response(collection(req, "credentials", [_doc(req, d) for d in docs]))


async def _owned(req: Req, rule: str) -> dict[str, Any]:
    """The credential in the path once the caller may act on it (401, then 404, then 403)."""
    await req.caller()
    doc = await req.read(credentials.get, req.state.credential_keys, req.path("credential_id"))
    await req.enforce(rule, {"target": {"credential": {"user_id": doc["user_id"]}}})
    return doc


@routes.get("/v3/credentials/{credential_id}")
async def show_credential(req: Req) -> Response:
    doc = await _owned(req, "identity:get_credential")
    return json_response({"credential": _doc(req, doc)})


@routes.patch("/v3/credentials/{credential_id}")
async def update_credential(req: Req) -> Response:
    current = await _owned(req, "identity:update_credential")
    changes = dict(await req.body(_UPDATE, wrapper="credential"))
    if changes.get("user_id", current["user_id"]) != current["user_id"]:
        # Handing a credential to someone else needs the right to create one for them.
        await req.enforce("identity:create_credential", {"target": {"credential": {"user_id": changes["user_id"]}}})
    if "type" in changes and changes["type"] != current["type"] and "blob" not in changes:
        raise BadRequest("Changing the type of a credential requires a new blob.")
    keys = req.state.credential_keys
    doc = await req.write(credentials.update, keys, await _key_hash(req), current["id"], changes)
    return json_response({"credential": _doc(req, doc)})


@routes.delete("/v3/credentials/{credential_id}")
async def delete_credential(req: Req) -> Response:
    doc = await _owned(req, "identity:delete_credential")
    await req.write(credentials.delete, doc["id"])
    return no_content()


# --- OS-EC2 ----------------------------------------------------------------------------------


def _ec2_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(req, f"users/{doc['user_id']}/credentials/OS-EC2/{doc['access']}")
    return doc


@routes.post("/v3/users/{user_id}/credentials/OS-EC2")
async def create_ec2(req: Req) -> Response:
    user_id = req.path("user_id")
    ctx = await req.enforce("identity:ec2_create_credential", {"user_id": user_id})
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get("tenant_id"), str) or not body["tenant_id"]:
        raise BadRequest("Invalid input for field 'tenant_id': 'tenant_id' is a required property")
    keys = req.state.credential_keys
    doc = await req.write(credentials.ec2_create, keys, await _key_hash(req), user_id, body["tenant_id"], ctx.trust_id)
    return json_response({"credential": _ec2_doc(req, doc)}, status=201)


@routes.get("/v3/users/{user_id}/credentials/OS-EC2")
async def list_ec2(req: Req) -> Response:
    user_id = req.path("user_id")
    await req.enforce("identity:ec2_list_credentials", {"user_id": user_id})
    docs = await req.read(credentials.ec2_list, req.state.credential_keys, user_id)
    return json_response(collection(req, "credentials", [_ec2_doc(req, d) for d in docs]))


async def _ec2_owned(req: Req, rule: str) -> dict[str, Any]:
    await req.caller()
    doc = await req.read(credentials.ec2_get, req.state.credential_keys, req.path("user_id"), req.path("access"))
    await req.enforce(rule, {"target": {"credential": {"user_id": doc["user_id"]}}})
    return doc


@routes.get("/v3/users/{user_id}/credentials/OS-EC2/{access}")
async def show_ec2(req: Req) -> Response:
    doc = await _ec2_owned(req, "identity:ec2_get_credential")
    return json_response({"credential": _ec2_doc(req, doc)})


@routes.delete("/v3/users/{user_id}/credentials/OS-EC2/{access}")
async def delete_ec2(req: Req) -> Response:
    doc = await _ec2_owned(req, "identity:ec2_delete_credential")
    await req.write(credentials.delete, credentials.ec2_id(doc["access"]))
    return no_content()
