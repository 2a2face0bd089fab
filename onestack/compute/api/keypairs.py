"""Key pairs: ``/os-keypairs`` list, import or generate, show, delete (each user's own namespace)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req, check_keys
from onestack.compute.service import keypairs as svc
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.core.ids import isotime

routes = ComputeRoutes()

_NAME_RE = re.compile(r"^[a-zA-Z0-9 _-]+$")
_NAME_RE_292 = re.compile(r"^[a-zA-Z0-9 _\-@.]+$")  # 2.92 also allows '@' and '.'


def _summary(req: Req, kp: svc.KeyPairRow) -> dict[str, Any]:
    body: dict[str, Any] = {"name": kp.name, "public_key": kp.public_key, "fingerprint": kp.fingerprint}
    if req.at_least(2, 2):
        body["type"] = kp.type
    return body


def _detail(req: Req, kp: svc.KeyPairRow) -> dict[str, Any]:
    body = _summary(req, kp)
    body.update({"user_id": kp.user_id, "deleted": False, "created_at": isotime(kp.created_at, micro=True),
                 "updated_at": None, "deleted_at": None, "id": kp.id})
    return body


async def _target_user(req: Req, rule: str, explicit: Any = None) -> str:
    """Whose key pairs: the caller's, or (2.10+, admin by policy) the ``user_id`` given."""
    user_id = explicit if explicit is not None else req.params.get("user_id")
    if not req.at_least(2, 10) or not user_id:
        user_id = (await req.caller()).user_id
    await req.enforce(rule, {"user_id": user_id})
    return str(user_id)


@routes.get("/v2.1/os-keypairs")
async def list_keypairs(req: Req) -> Response:
    user_id = await _target_user(req, "os_compute_api:os-keypairs:index")
    page = req.page() if req.at_least(2, 35) else None
    found = await req.read(svc.list_keypairs, user_id, page.limit if page else None,
                           page.marker if page else None)
    items = [{"keypair": _summary(req, kp)} for kp in found]
    body: dict[str, Any] = {"keypairs": items}
    if page is not None:
        # The marker of the next page is the last name: key pairs have no id in the API.
        links = req.next_links([kp["keypair"] for kp in items], page, key="name")
        if links:
            body["keypairs_links"] = links
    return json_response(body)


def _parse_create(req: Req, body: dict[str, Any]) -> tuple[str, str | None, str, Any]:
    allowed = {"name", "public_key"} | ({"type"} if req.at_least(2, 2) else set()) \
        | ({"user_id"} if req.at_least(2, 10) else set())
    check_keys(body, allowed, "keypair")
    name = body.get("name")
    pattern = _NAME_RE_292 if req.at_least(2, 92) else _NAME_RE
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or not pattern.match(name):
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}. Keypair names may contain "
                         "letters, digits, spaces, '_' and '-' and be 1 to 255 characters long")
    public_key = body.get("public_key")
    if public_key is not None and not isinstance(public_key, str):
        raise BadRequest(f"Invalid input for field/attribute public_key. Value: {public_key}.")
    if public_key is None and req.at_least(2, 92):
        raise BadRequest("Invalid input for field/attribute keypair. 'public_key' is a required property")
    key_type = body.get("type", "ssh")
    if key_type not in ("ssh", "x509"):
        raise BadRequest(f"Invalid input for field/attribute type. Value: {key_type}. "
                         f"{key_type!r} is not one of ['ssh', 'x509']")
    return name, public_key, key_type, body.get("user_id")


@routes.post("/v2.1/os-keypairs")
async def create_keypair(req: Req) -> Response:
    ctx = await req.caller()
    body = await req.body(wrapper="keypair")
    name, public_key, key_type, explicit_user = _parse_create(req, body)
    user_id = await _target_user(req, "os_compute_api:os-keypairs:create", explicit_user)
    private_key = None
    if public_key is None:
        generated = svc.generate(key_type, user_id)
        public_key, private_key = generated.public_key, generated.private_key
    elif not public_key.strip():
        raise BadRequest(svc.INVALID)
    keypair = await req.write(partial(svc.create_keypair, user_id=user_id, project_id=ctx.project_id or "",
                                      name=name, public_key=public_key, key_type=key_type))
    out = {"name": keypair.name, "public_key": keypair.public_key, "fingerprint": keypair.fingerprint,
           "user_id": keypair.user_id}
    if req.at_least(2, 2):
        out["type"] = keypair.type
    if private_key is not None:
        out["private_key"] = private_key
    return json_response({"keypair": out}, status=201 if req.at_least(2, 2) else 200)


@routes.get("/v2.1/os-keypairs/{name}")
async def show_keypair(req: Req) -> Response:
    user_id = await _target_user(req, "os_compute_api:os-keypairs:show")
    keypair = await req.read(svc.get_keypair, user_id, req.path("name"))
    return json_response({"keypair": _detail(req, keypair)})


@routes.delete("/v2.1/os-keypairs/{name}")
async def delete_keypair(req: Req) -> Response:
    user_id = await _target_user(req, "os_compute_api:os-keypairs:delete")
    await req.write(svc.delete_keypair, user_id, req.path("name"))
    return Response(status_code=204 if req.at_least(2, 2) else 202)
