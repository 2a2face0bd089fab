"""Identity API: stored policies (/v3/policies) and OS-ENDPOINT-POLICY associations."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.identity.api.catalog import endpoint_doc
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link, with_link
from onestack.identity.service import policies

routes = IdentityRoutes()

_PROPS: dict[str, Any] = {"blob": {"type": "string"}, "type": {"type": "string", "maxLength": 255}}
POLICY_CREATE = {"type": "object", "properties": _PROPS, "required": ["blob", "type"], "additionalProperties": True}
POLICY_UPDATE = {"type": "object", "properties": _PROPS, "additionalProperties": True, "minProperties": 1}
EXT = "OS-ENDPOINT-POLICY"


def _doc(req: Req, row: Any) -> dict[str, Any]:
    return with_link(req, policies.policy_to_dict(row), "policies")


@routes.get("/v3/policies")
async def list_policies(req: Req) -> Response:
    await req.enforce("identity:list_policies")
    rows = await req.read(policies.list_policies, req.params.get("type"))
    return json_response(collection(req, "policies", [_doc(req, r) for r in rows]))


@routes.post("/v3/policies")
async def create_policy(req: Req) -> Response:
    await req.enforce("identity:create_policy")
    data = await req.body(POLICY_CREATE, wrapper="policy")
    row = await req.write(policies.create_policy, data)
    return json_response({"policy": _doc(req, row)}, status=201)


@routes.get("/v3/policies/{policy_id}")
async def get_policy(req: Req) -> Response:
    await req.enforce("identity:get_policy")
    row = await req.read(policies.get_policy, req.path("policy_id"))
    return json_response({"policy": _doc(req, row)})


@routes.patch("/v3/policies/{policy_id}")
async def update_policy(req: Req) -> Response:
    await req.enforce("identity:update_policy")
    data = await req.body(POLICY_UPDATE, wrapper="policy")
    row = await req.write(policies.update_policy, req.path("policy_id"), data)
    return json_response({"policy": _doc(req, row)})


@routes.delete("/v3/policies/{policy_id}")
async def delete_policy(req: Req) -> Response:
    await req.enforce("identity:delete_policy")
    await req.write(policies.delete_policy, req.path("policy_id"))
    return no_content()


# --- OS-ENDPOINT-POLICY ----------------------------------------------------------------------


def _association(req: Req) -> tuple[str, str | None, str | None, str | None]:
    """The policy and the endpoint, service or service-and-region the path names."""
    params = req.request.path_params
    return req.path("policy_id"), params.get("endpoint_id"), params.get("service_id"), params.get("region_id")


async def _associate(req: Req, kind: str) -> Response:
    await req.enforce(f"identity:create_policy_association_for_{kind}")
    await req.write(policies.associate, *_association(req))
    return no_content()


async def _check(req: Req, kind: str) -> Response:
    await req.enforce(f"identity:check_policy_association_for_{kind}")
    await req.read(policies.check_association, *_association(req))
    return no_content()


async def _dissociate(req: Req, kind: str) -> Response:
    await req.enforce(f"identity:delete_policy_association_for_{kind}")
    await req.write(policies.dissociate, *_association(req))
    return no_content()


_ENDPOINT = f"/v3/policies/{{policy_id}}/{EXT}/endpoints/{{endpoint_id}}"
_SERVICE = f"/v3/policies/{{policy_id}}/{EXT}/services/{{service_id}}"
_REGION = f"/v3/policies/{{policy_id}}/{EXT}/services/{{service_id}}/regions/{{region_id}}"

for _path, _kind in ((_ENDPOINT, "endpoint"), (_SERVICE, "service"), (_REGION, "region_and_service")):
    # Bind the loop values now; each path answers PUT, GET/HEAD and DELETE.
    async def _put(req: Req, kind: str = _kind) -> Response:
        return await _associate(req, kind)

    async def _get(req: Req, kind: str = _kind) -> Response:
        return await _check(req, kind)

    async def _delete(req: Req, kind: str = _kind) -> Response:
        return await _dissociate(req, kind)

    routes.put(_path)(_put)
    routes.get(_path)(_get)
    routes.delete(_path)(_delete)


@routes.get(f"/v3/policies/{{policy_id}}/{EXT}/endpoints")
async def list_endpoints_for_policy(req: Req) -> Response:
    await req.enforce("identity:list_endpoints_for_policy")
    rows = await req.read(policies.endpoints_for_policy, req.path("policy_id"))
    return json_response(collection(req, "endpoints", [endpoint_doc(req, r) for r in rows]))


@routes.get(f"/v3/endpoints/{{endpoint_id}}/{EXT}/policy")
async def get_policy_for_endpoint(req: Req) -> Response:
    await req.enforce("identity:get_policy_for_endpoint")
    row = await req.read(policies.policy_for_endpoint, req.path("endpoint_id"))
    body = {"policy": _doc(req, row), "links": self_link(req, f"endpoints/{req.path('endpoint_id')}/{EXT}/policy")}
    return json_response(body)
