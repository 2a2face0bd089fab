"""The service app factory: microversion middleware and the indexed router, through real HTTP calls
into the ASGI app (Starlette's TestClient), with tiny handlers standing in for a service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from onestack.core.api.app import Service, build_root_app
from onestack.core.api.faults import NotFound, nova_error
from onestack.core.api.microversion import MicroversionPolicy, Version, microversion_of

POLICY = MicroversionPolicy("compute", Version(2, 1), Version(2, 10), legacy_header="X-OpenStack-Nova-API-Version")


async def show_version(request: Request) -> Response:
    return PlainTextResponse(str(microversion_of(request)))


async def named(request: Request) -> Response:
    return PlainTextResponse(f"named:{request.path_params['name']}")


async def literal(request: Request) -> Response:
    return PlainTextResponse("literal")


async def generic(request: Request) -> Response:
    return PlainTextResponse(f"generic:{request.path_params['first']}")


async def missing(request: Request) -> Response:
    raise NotFound("no such thing")


def client() -> TestClient:
    routes = [
        Route("/v2.1/things/{name}", named, methods=["GET"]),
        Route("/v2.1/things/special", literal, methods=["GET", "POST"]),  # shadowed by the route above
        Route("/v2.1/other/special", literal, methods=["POST"]),
        Route("/v2.1/version", show_version, methods=["GET"]),
        Route("/v2.1/missing", missing, methods=["GET"]),
        Route("/{first}/deep/path", generic, methods=["GET"]),
    ]
    service = Service(name="compute", prefix="/compute", routes=routes, render_error=nova_error,
                      microversion=POLICY, versioned_prefix="/v2.1/")
    return TestClient(build_root_app([service], max_body_size=1024, log_requests=False))


def test_version_is_negotiated_and_echoed() -> None:
    resp = client().get("/compute/v2.1/version", headers={"OpenStack-API-Version": "compute 2.5"})
    assert resp.text == "2.5"
    assert resp.headers["OpenStack-API-Version"] == "compute 2.5"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.5"
    assert "OpenStack-API-Version" in resp.headers["Vary"]


def test_latest_and_legacy_header() -> None:
    c = client()
    assert c.get("/compute/v2.1/version", headers={"OpenStack-API-Version": "compute latest"}).text == "2.10"
    assert c.get("/compute/v2.1/version", headers={"X-OpenStack-Nova-API-Version": "2.3"}).text == "2.3"
    assert c.get("/compute/v2.1/version").text == "2.1"


def test_out_of_range_is_406_in_the_service_shape_and_errors_carry_headers() -> None:
    c = client()
    resp = c.get("/compute/v2.1/version", headers={"OpenStack-API-Version": "compute 2.11"})
    assert resp.status_code == 406
    assert resp.json()["notAcceptable"]["code"] == 406
    bad = c.get("/compute/v2.1/version", headers={"OpenStack-API-Version": "compute two"})
    assert bad.status_code == 400 and "badRequest" in bad.json()
    err = c.get("/compute/v2.1/missing", headers={"OpenStack-API-Version": "compute 2.4"})
    assert err.status_code == 404 and err.json()["itemNotFound"]["message"] == "no such thing"
    assert err.headers["OpenStack-API-Version"] == "compute 2.4"


def test_router_keeps_declaration_order() -> None:
    c = client()
    # Starlette would pick the earlier parameterised route for GET; so must the index.
    assert c.get("/compute/v2.1/things/special").text == "named:special"
    # For POST only the literal route allows the method.
    assert c.post("/compute/v2.1/things/special").text == "literal"
    # A route starting with a parameter is still found.
    assert c.get("/compute/anything/deep/path").text == "generic:anything"


def test_router_405_and_404() -> None:
    c = client()
    assert c.get("/compute/v2.1/other/special").status_code == 405
    resp = c.get("/compute/v2.1/nothing/here")
    assert resp.status_code == 404 and "itemNotFound" in resp.json()
    assert "x-openstack-request-id" in resp.headers
