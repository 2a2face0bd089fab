"""The shared request object: caller, enforce, microversions, bodies, query parsers, paging.

Real HTTP calls into a tiny service built on ``ApiRoutes`` (Starlette's TestClient); the token
validator is a static table, the one seam the request layer reads tokens through.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.testclient import TestClient

from onestack.core.api.app import Service, build_root_app
from onestack.core.api.faults import ApiError, BadRequest, Unauthorized, nova_error
from onestack.core.api.http import json_response
from onestack.core.api.microversion import MicroversionPolicy, Version
from onestack.core.api.request import ApiRoutes, ApiService, Conventions, Req
from onestack.core.api.validation import SchemaFailure
from onestack.core.auth import AuthContext
from onestack.core.policy import Enforcer

TOKENS = {"admin-token": AuthContext(token="admin-token", user_id="u-admin", project_id="p-admin", roles=["admin"]),
          "demo-token": AuthContext(token="demo-token", user_id="u-demo", project_id="p-demo", roles=["member"])}


class StaticTokens:
    async def validate(self, token: str, *, allow_expired: bool = False) -> AuthContext:
        if token not in TOKENS:
            raise Unauthorized()
        return TOKENS[token]


def nova_words(failure: SchemaFailure) -> ApiError:
    return BadRequest(f"Invalid input for field/attribute {failure.field}. Value: {failure.value}. "
                      f"{failure.message}")


State = dict[str, Any]
routes: ApiRoutes[State] = ApiRoutes()
THING = {"type": "object", "properties": {"size": {"type": "integer", "maximum": 10}}, "required": ["size"],
         "additionalProperties": False}


@routes.post("/things", rule="things:create")
async def create(req: Req[State]) -> Response:
    body = await req.body(THING, wrapper="thing")
    return json_response({"thing": body, "by": (await req.caller()).user_id}, status=201)


@routes.get("/things")
async def list_things(req: Req[State]) -> Response:
    await req.enforce("things:list", {"project_id": req.params.get("project", (await req.caller()).project_id)})
    page = req.page(max_limit=3)
    items = [{"id": f"t{i}"} for i in range(10)]
    start = int(page.marker[1:]) + 1 if page.marker else 0
    shown = items[start:start + (page.limit or 10)]
    return json_response({"things": shown, "things_links": req.next_links(shown, page),
                          "deleted": req.flag("deleted", False), "mv": str(req.version)})


@routes.get("/sorted")
async def sorted_things(req: Req[State]) -> Response:
    page = req.page(default=2, sort_keys=("name", "size"), sort_key="name")
    return json_response({"limit": page.limit, "marker": page.marker, "sort": [page.sort_key, page.sort_dir],
                          "first": req.link(drop=("marker",), absolute=False),
                          "next": req.next_href("t9", absolute=False, limit=page.limit)})


@routes.post("/patch")
async def patch_thing(req: Req[State]) -> Response:
    return json_response({"ops": await req.json(media_types=("application/x-thing-patch",))})


@routes.put("/things")
async def replace(req: Req[State]) -> Response:
    raw = await req.json()  # e.g. for a policy target, before the body is validated
    body = await req.body(THING, wrapper="thing")
    return json_response({"raw": raw, "thing": body})


@routes.get("/new", since=Version(2, 5))
async def new(req: Req[State]) -> Response:
    return json_response({"ok": req.at_least(2, 7)})


def client() -> TestClient:
    enforcer = Enforcer({"things:create": "role:admin", "things:list": "project_id:%(project_id)s",
                         "context_is_admin": "role:admin"}, "")
    api: ApiService[State] = ApiService({}, db=None, enforcer=enforcer,  # type: ignore[arg-type]
                                        conventions=Conventions(schema_error=nova_words))
    service = Service(name="things", prefix="/things-api", routes=routes.routes, render_error=nova_error,
                      state={"api": api, "token_validator": StaticTokens()},
                      microversion=MicroversionPolicy("compute", Version(2, 1), Version(2, 10)))
    return TestClient(build_root_app([service], max_body_size=1000, log_requests=False))


def test_rule_is_enforced_before_the_body_is_read() -> None:
    c = client()
    assert c.post("/things-api/things", content=b"{not json").status_code == 401
    assert c.post("/things-api/things", content=b"{not json", headers={"X-Auth-Token": "demo-token"}).json() == {
        "forbidden": {"code": 403, "message": "You are not authorized to perform the requested action: things:create."}}
    resp = c.post("/things-api/things", json={"thing": {"size": 3}}, headers={"X-Auth-Token": "admin-token"})
    assert resp.status_code == 201
    assert resp.json() == {"thing": {"size": 3}, "by": "u-admin"}


def test_schema_failures_are_worded_by_the_service() -> None:
    c = client()
    headers = {"X-Auth-Token": "admin-token"}
    resp = c.post("/things-api/things", json={"thing": {"size": 11}}, headers=headers)
    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"] == (
        "Invalid input for field/attribute size. Value: 11. 11 is greater than the maximum of 10")
    missing = c.post("/things-api/things", json={"other": {}}, headers=headers).json()["badRequest"]["message"]
    assert "'thing' is a required property" in missing


def test_json_the_parser_cannot_hold_is_a_400() -> None:
    c = client()
    headers = {"X-Auth-Token": "admin-token", "Content-Type": "application/json"}
    for raw in (b'{"thing": {"size": ' + b"9" * 5000 + b"}}", b"[" * 20000 + b"]" * 20000,
                b'{"thing": {"size": 1, "name": "\\ud800"}}'):
        resp = c.post("/things-api/things", content=raw, headers=headers)
        assert resp.status_code in (400, 413), raw[:40]
        assert "badRequest" in resp.json() or "overLimit" in resp.json()


def test_json_that_cannot_be_stored_and_returned_faithfully_is_a_400() -> None:
    """NUL (PostgreSQL's text refuses it), lone surrogates (no UTF-8 for them), integers wider than any
    column, and numbers JSON cannot carry back (NaN, 1e400 read as inf): refused before the handler."""
    c = client()
    headers = {"X-Auth-Token": "admin-token", "Content-Type": "application/json"}
    cases = {
        b'{"thing": {"size": 1, "name": "a\\u0000b"}}': "a NUL character",
        b'{"thing": {"size": 1, "a\\u0000": 1}}': "a NUL character",
        b'{"thing": {"size": 1, "name": ["\\udfff"]}}': "not valid Unicode",
        b'{"thing": {"size": 9223372036854775808}}': "the number 9223372036854775808 is out of range",
        b'{"thing": {"size": -9223372036854775809}}': "out of range",
        b'{"thing": {"size": ' + b"9" * 400 + b"}}": "out of range",
        b'{"thing": {"size": NaN}}': "the number NaN is out of range",
        b'{"thing": {"size": -Infinity}}': "out of range",
        b'{"thing": {"size": 1e400}}': "the number 1e400 is out of range",
    }
    for raw, reason in cases.items():
        resp = c.post("/things-api/things", content=raw, headers=headers)
        assert resp.status_code == 400, raw
        assert reason in resp.json()["badRequest"]["message"], (raw, resp.text)
    # The widest values that fit still arrive as numbers.
    widest = c.post("/things-api/patch", content=b'{"n": -9223372036854775808, "f": 1.5e308}', headers=headers)
    assert widest.json() == {"ops": {"n": -(2**63), "f": 1.5e308}}


def test_enforce_target_defaults_to_the_callers_project() -> None:
    c = client()
    headers = {"X-Auth-Token": "demo-token"}
    assert c.get("/things-api/things", headers=headers).status_code == 200
    assert c.get("/things-api/things?project=p-other", headers=headers).status_code == 403


def test_paging_caps_the_limit_and_links_the_next_page() -> None:
    c = client()
    body = c.get("/things-api/things?limit=50&deleted=yes", headers={"X-Auth-Token": "demo-token"}).json()
    assert [t["id"] for t in body["things"]] == ["t0", "t1", "t2"]
    assert body["deleted"] is True
    href = body["things_links"][0]["href"]
    assert href == "http://testserver/things-api/things?limit=50&deleted=yes&marker=t2"
    follow = c.get(href, headers={"X-Auth-Token": "demo-token"}).json()
    assert [t["id"] for t in follow["things"]] == ["t3", "t4", "t5"]


def test_bad_query_values_are_400() -> None:
    c = client()
    headers = {"X-Auth-Token": "demo-token"}
    assert c.get("/things-api/things?limit=-1", headers=headers).status_code == 400
    assert c.get("/things-api/things?limit=" + "9" * 40, headers=headers).status_code == 400
    assert c.get("/things-api/things?deleted=maybe", headers=headers).status_code == 400


def test_routes_outside_their_microversions_are_404() -> None:
    c = client()
    headers = {"X-Auth-Token": "demo-token"}
    assert c.get("/things-api/new", headers=headers).status_code == 404
    old = {**headers, "OpenStack-API-Version": "compute 2.5"}
    assert c.get("/things-api/new", headers=old).json() == {"ok": False}
    assert c.get("/things-api/new", headers={**headers, "OpenStack-API-Version": "compute 2.8"}).json() == {"ok": True}


def test_sort_key_and_dir_are_checked_against_the_listing() -> None:
    c = client()
    headers = {"X-Auth-Token": "demo-token"}
    assert c.get("/things-api/sorted", headers=headers).json() == {
        "limit": 2, "marker": None, "sort": ["name", "desc"], "first": "/sorted", "next": "/sorted?limit=2&marker=t9"}
    body = c.get("/things-api/sorted?sort_key=size&limit=5000&sort_dir=asc&marker=t1", headers=headers).json()
    assert body["limit"] == 1000 and body["marker"] == "t1" and body["sort"] == ["size", "asc"]
    assert body["first"] == "/sorted?sort_key=size&limit=5000&sort_dir=asc"
    assert body["next"] == "/sorted?sort_key=size&sort_dir=asc&limit=1000&marker=t9"
    bad_key = c.get("/things-api/sorted?sort_key=owner", headers=headers)
    assert bad_key.status_code == 400
    assert bad_key.json()["badRequest"]["message"] == (
        "Invalid value 'owner' for query parameter sort_key: must be one of: name, size")
    assert c.get("/things-api/sorted?sort_dir=up", headers=headers).status_code == 400


def test_json_bodies_may_come_in_a_services_own_media_type() -> None:
    c = client()
    headers = {"X-Auth-Token": "demo-token", "Content-Type": "application/x-thing-patch"}
    assert c.post("/things-api/patch", content=b'[{"op": "add"}]', headers=headers).json() == {"ops": [{"op": "add"}]}
    other = {**headers, "Content-Type": "application/x-other-patch"}
    assert c.post("/things-api/patch", content=b"[]", headers=other).status_code == 415


def test_the_body_is_read_once_and_may_be_looked_at_before_validation() -> None:
    c = client()
    headers = {"X-Auth-Token": "demo-token"}
    resp = c.put("/things-api/things", json={"thing": {"size": 2}}, headers=headers)
    assert resp.json() == {"raw": {"thing": {"size": 2}}, "thing": {"size": 2}}
    assert c.put("/things-api/things", json={"thing": {"size": 20}}, headers=headers).status_code == 400
