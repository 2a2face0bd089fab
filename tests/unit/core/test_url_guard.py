"""URLs whose text cannot reach the database faithfully are refused at the edge, in the service's shape."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from onestack.core.api.app import Service, build_root_app, url_problem
from onestack.core.api.faults import nova_error


def test_url_problem() -> None:
    for raw, query in ((b"/v2.1/servers/abc", b""), (b"/v3/projects", b"name=%E2%82%AC+x&tags=a,b"),
                       (b"/v2/images/%EF%BF%BD", b"name=%25%30%30")):  # an escaped "%00" is text
        assert url_problem(raw, query) is None, (raw, query)
    for raw, query in ((b"/servers/a%00b", b""), (b"/servers", b"name=a%00"), (b"/servers/%ED%A0%80", b""),
                       (b"/servers", b"name=%FF"), (b"/servers/\xff", b""), (b"/servers/a\x00", b"")):
        assert url_problem(raw, query) is not None, (raw, query)


async def echo(request: Request) -> Response:
    return PlainTextResponse(request.path_params["name"] + "|" + request.query_params.get("q", ""))


def test_refused_in_the_service_shape_before_the_handler() -> None:
    service = Service(name="compute", prefix="/compute", routes=[Route("/things/{name}", echo)],
                      render_error=nova_error)
    client = TestClient(build_root_app([service], max_body_size=1024, log_requests=False))
    resp = client.get("/compute/things/a%00b")
    assert resp.status_code == 400
    assert resp.json() == {"badRequest": {"code": 400, "message": "Invalid URL: it contains a NUL character."}}
    resp = client.get("/compute/things/x?q=%C0%AF")
    assert resp.status_code == 400 and resp.json()["badRequest"]["message"] == "Invalid URL: it is not UTF-8 text."
    assert client.get("/compute/things/%E2%82%AC?q=%F0%9F%9A%80").text == "€|🚀"
