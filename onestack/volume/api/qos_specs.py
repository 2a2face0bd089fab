"""QoS specs (``/qos-specs``): CRUD, keys, and their association with volume types."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes, as_bool, list_query, self_links
from onestack.volume.api.types import parse_specs
from onestack.volume.errors import InvalidInput, InvalidQoSSpecs
from onestack.volume.service import qos as svc

routes = VolumeRoutes()
CONSUMERS = ("front-end", "back-end", "both")


def _render(v: svc.QosView) -> dict[str, Any]:
    return {"id": v.row.id, "name": v.row.name, "consumer": v.row.consumer, "specs": v.specs}


def _specs_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("qos_specs"), dict):
        raise InvalidInput("Missing required element 'qos_specs' in request body.")
    return dict(body["qos_specs"])


@routes.get("/v3/qos-specs")
async def list_specs(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:get_all")
    lq = list_query(req, sort_keys=svc.SORT_COLUMNS, filters=())
    found = await req.read(svc.list_specs, lq)
    return json_response({"qos_specs": [_render(v) for v in found]})


@routes.post("/v3/qos-specs")
async def create_specs(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:create")
    specs = _specs_body(await req.json())
    name = specs.pop("name", None)
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("Please specify a name for QoS specs.")
    if len(name) > 255:
        raise InvalidInput("name has a maximum length of 255 characters.")
    consumer = specs.pop("consumer", "back-end")
    if consumer not in CONSUMERS:
        raise InvalidQoSSpecs(f"Valid consumer of QoS specs are: {list(CONSUMERS)}")
    created = await req.write(svc.create, name.strip(), consumer, parse_specs(specs, "qos_specs"))
    return json_response({"qos_specs": _render(created), "links": self_links(req, "qos-specs", created.row.id)})


@routes.get("/v3/qos-specs/{specs_id}")
async def show_specs(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:get")
    found = await req.read(svc.get, req.path("specs_id"))
    return json_response({"qos_specs": _render(found), "links": self_links(req, "qos-specs", found.row.id)})


@routes.put("/v3/qos-specs/{specs_id}/delete_keys")
async def delete_keys(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:update")
    body = await req.json()
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidInput("Missing required element 'keys' in request body.")
    await req.write(svc.delete_keys, req.path("specs_id"), keys)
    return Response(status_code=202)


@routes.put("/v3/qos-specs/{specs_id}")
async def set_keys(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:update")
    specs = _specs_body(await req.json())
    if "consumer" in specs and specs["consumer"] not in CONSUMERS:
        raise InvalidQoSSpecs(f"Valid consumer of QoS specs are: {list(CONSUMERS)}")
    parsed = parse_specs(specs, "qos_specs")
    await req.write(svc.set_keys, req.path("specs_id"), parsed)
    return json_response({"qos_specs": parsed})


@routes.delete("/v3/qos-specs/{specs_id}")
async def delete_specs(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:delete")
    force = as_bool(req.params.get("force", "False"), "force")
    await req.write(svc.delete_specs, req.path("specs_id"), force)
    return Response(status_code=202)


@routes.get("/v3/qos-specs/{specs_id}/associations")
async def associations(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:get")
    found = await req.read(svc.associations, req.path("specs_id"))
    return json_response({"qos_associations": found})


def _type_id(req: Req) -> str:
    type_id = req.params.get("vol_type_id")
    if not type_id:
        raise InvalidInput("Volume Type id must not be None.")
    return type_id


@routes.get("/v3/qos-specs/{specs_id}/associate")
async def associate(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:update")
    await req.write(svc.associate, req.path("specs_id"), _type_id(req))
    return Response(status_code=202)


@routes.get("/v3/qos-specs/{specs_id}/disassociate")
async def disassociate(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:update")
    await req.write(svc.disassociate, req.path("specs_id"), _type_id(req))
    return Response(status_code=202)


@routes.get("/v3/qos-specs/{specs_id}/disassociate_all")
async def disassociate_all(req: Req) -> Response:
    await req.enforce("volume_extension:qos_specs_manage:update")
    await req.write(svc.disassociate_all, req.path("specs_id"))
    return Response(status_code=202)
