"""Identity API: stored policies (/v3/policies) and OS-ENDPOINT-POLICY associations."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.identity.api.catalog import endpoint_doc
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link, with_link
from onestack.identity.api.validation import validate
from onestack.identity.service import policies

routes = RouteTable()

_PROPS: dict[str, Any] = {"blob": {"type": "string"}, "type": {"type": "string", "maxLength": 255}}
POLICY_CREATE = {"type": "object", "properties": _PROPS, "required": ["blob", "type"], "additionalProperties": True}
POLICY_UPDATE = {"type": "object", "properties": _PROPS, "additionalProperties": True, "minProperties": 1}
EXT = "OS-ENDPOINT-POLICY"


def _doc(request: Request, row: Any) -> dict[str, Any]:
    return with_link(request, policies.policy_to_dict(row), "policies")


@routes.get("/v3/policies")
async def list_policies(request: Request) -> Response:
    await enforce(request, "identity:list_policies")
    rows = await identity_of(request).db.read(policies.list_policies, request.query_params.get("type"))
    return json_response(collection(request, "policies", [_doc(request, r) for r in rows]))


@routes.post("/v3/policies")
async def create_policy(request: Request) -> Response:
    await enforce(request, "identity:create_policy")
    data = validate(await json_body(request), POLICY_CREATE, wrapper="policy")
    row = await identity_of(request).db.write(policies.create_policy, data)
    return json_response({"policy": _doc(request, row)}, status=201)


@routes.get("/v3/policies/{policy_id}")
async def get_policy(request: Request) -> Response:
    await enforce(request, "identity:get_policy")
    row = await identity_of(request).db.read(policies.get_policy, request.path_params["policy_id"])
    return json_response({"policy": _doc(request, row)})


@routes.patch("/v3/policies/{policy_id}")
async def update_policy(request: Request) -> Response:
    await enforce(request, "identity:update_policy")
    data = validate(await json_body(request), POLICY_UPDATE, wrapper="policy")
    row = await identity_of(request).db.write(policies.update_policy, request.path_params["policy_id"], data)
    return json_response({"policy": _doc(request, row)})


@routes.delete("/v3/policies/{policy_id}")
async def delete_policy(request: Request) -> Response:
    await enforce(request, "identity:delete_policy")
    await identity_of(request).db.write(policies.delete_policy, request.path_params["policy_id"])
    return no_content()


# --- OS-ENDPOINT-POLICY ----------------------------------------------------------------------


def _target(request: Request) -> dict[str, str | None]:
    p = request.path_params
    return {"endpoint_id": p.get("endpoint_id"), "service_id": p.get("service_id"), "region_id": p.get("region_id")}


async def _associate(request: Request, kind: str) -> Response:
    await enforce(request, f"identity:create_policy_association_for_{kind}")
    await identity_of(request).db.write(
        lambda s: policies.associate(s, request.path_params["policy_id"], **_target(request)))
    return no_content()


async def _check(request: Request, kind: str) -> Response:
    await enforce(request, f"identity:check_policy_association_for_{kind}")
    await identity_of(request).db.read(
        lambda s: policies.check_association(s, request.path_params["policy_id"], **_target(request)))
    return no_content()


async def _dissociate(request: Request, kind: str) -> Response:
    await enforce(request, f"identity:delete_policy_association_for_{kind}")
    await identity_of(request).db.write(
        lambda s: policies.dissociate(s, request.path_params["policy_id"], **_target(request)))
    return no_content()


_ENDPOINT = f"/v3/policies/{{policy_id}}/{EXT}/endpoints/{{endpoint_id}}"
_SERVICE = f"/v3/policies/{{policy_id}}/{EXT}/services/{{service_id}}"
_REGION = f"/v3/policies/{{policy_id}}/{EXT}/services/{{service_id}}/regions/{{region_id}}"

for _path, _kind in ((_ENDPOINT, "endpoint"), (_SERVICE, "service"), (_REGION, "region_and_service")):
    # Bind the loop values now; each path answers PUT, GET/HEAD and DELETE.
    async def _put(request: Request, kind: str = _kind) -> Response:
        return await _associate(request, kind)

    async def _get(request: Request, kind: str = _kind) -> Response:
        return await _check(request, kind)

    async def _delete(request: Request, kind: str = _kind) -> Response:
        return await _dissociate(request, kind)

    routes.put(_path)(_put)
    routes.get(_path)(_get)
    routes.delete(_path)(_delete)


@routes.get(f"/v3/policies/{{policy_id}}/{EXT}/endpoints")
async def list_endpoints_for_policy(request: Request) -> Response:
    await enforce(request, "identity:list_endpoints_for_policy")
    rows = await identity_of(request).db.read(policies.endpoints_for_policy, request.path_params["policy_id"])
    return json_response(collection(request, "endpoints", [endpoint_doc(request, r) for r in rows]))


@routes.get(f"/v3/endpoints/{{endpoint_id}}/{EXT}/policy")
async def get_policy_for_endpoint(request: Request) -> Response:
    await enforce(request, "identity:get_policy_for_endpoint")
    row = await identity_of(request).db.read(policies.policy_for_endpoint, request.path_params["endpoint_id"])
    body = {"policy": _doc(request, row),
            "links": self_link(request, f"endpoints/{request.path_params['endpoint_id']}/{EXT}/policy")}
    return json_response(body)
