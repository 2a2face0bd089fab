"""Bad and hostile input against a real cloud: error shapes, status codes, and no side effects."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until

REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HOSTILE_NAMES = ["'; DROP TABLE user; --", "\u2601\ufe0f\U0001f680 \u30d7\u30ed\u30b8\u30a7\u30af\u30c8",
                 'quote" back\\slash %s %(x)s <b>', "Ünïcødé ñame"]


def unique(prefix: str = "bad") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def assert_keystone_error(resp: httpx.Response, code: int) -> dict[str, Any]:
    assert resp.status_code == code, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert error["title"] == {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                              409: "Conflict", 413: "Request Entity Too Large"}.get(code, error["title"])
    assert isinstance(error["message"], str) and error["message"]
    assert REQUEST_ID.match(resp.headers["x-openstack-request-id"])
    return dict(error)


@pytest.fixture(scope="module")
def admin_token(admin: Any) -> str:
    return str(admin.session.get_token())


@pytest.fixture(scope="module")
def http(cloud: RunningCloud, admin_token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud.identity_url, headers={"X-Auth-Token": admin_token}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def anon(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud.identity_url, timeout=30) as client:
        yield client


def password_auth(cloud: RunningCloud, user: str = "admin", project: str = "admin") -> dict[str, Any]:
    return {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": cloud.password(user)}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}},
    }}


COLLECTIONS = ["/v3/projects", "/v3/domains", "/v3/roles", "/v3/users", "/v3/groups", "/v3/regions"]


def snapshot(http: httpx.Client) -> dict[str, Any]:
    """Everything a failed request could have touched, as the API lists it."""
    state: dict[str, Any] = {}
    for path in COLLECTIONS:
        resp = http.get(path)
        state[path] = (resp.status_code, resp.json() if resp.status_code == 200 else None)
    return state


# --- malformed bodies ---------------------------------------------------------------------------

MALFORMED = [b"{", b"{'auth': 1}", b"[1, 2", b"\xff\xfe garbage", b'{"auth": {"identity": }}', b"nul\x00l"]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_json_on_auth_is_400(anon: httpx.Client, raw: bytes) -> None:
    resp = anon.post("/v3/auth/tokens", content=raw, headers={"Content-Type": "application/json"})
    assert_keystone_error(resp, 400)


@pytest.mark.parametrize("raw", MALFORMED[:3])
def test_malformed_json_on_create_is_400_and_changes_nothing(http: httpx.Client, raw: bytes) -> None:
    before = snapshot(http)
    for path in ("/v3/projects", "/v3/roles", "/v3/domains", "/v3/users"):
        resp = http.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert_keystone_error(resp, 400)
    assert snapshot(http) == before


@pytest.mark.parametrize("body", [
    [],
    "project",
    {"project": []},
    {"project": {"name": 123}},
    {"project": {"name": ""}},
    {"project": {"name": "x" * 65}},
    # Keystone's booleans accept "yes"/"true"/"1" and friends, but nothing else.
    {"project": {"name": unique(), "enabled": "sometimes"}},
    {"project": {"name": unique(), "description": 5}},
    {"project": {"name": unique(), "is_domain": "maybe"}},
    {"project": {"name": unique(), "tags": "not-a-list"}},
    {"project": {"name": unique(), "tags": ["has/slash"]}},
    {"projects": {"name": unique()}},
])
def test_wrong_types_on_project_create_are_400(http: httpx.Client, body: Any) -> None:
    before = snapshot(http)
    assert_keystone_error(http.post("/v3/projects", json=body), 400)
    assert snapshot(http) == before


@pytest.mark.parametrize("body", [
    {"role": {"name": 7}},
    {"role": {}},
    {"role": {"name": ""}},
    {"role": {"name": "x" * 256}},
])
def test_wrong_types_on_role_create_are_400(http: httpx.Client, body: Any) -> None:
    before = snapshot(http)
    assert_keystone_error(http.post("/v3/roles", json=body), 400)
    assert snapshot(http) == before


@pytest.mark.parametrize("auth", [
    {},
    {"auth": {}},
    {"auth": {"identity": {"methods": "password"}}},
    {"auth": {"identity": {"methods": []}}},
    {"auth": {"identity": {"methods": [1]}}},
    {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": 5}}}}},
])
def test_wrong_types_on_auth_are_400(anon: httpx.Client, auth: Any) -> None:
    assert_keystone_error(anon.post("/v3/auth/tokens", json=auth), 400)


def test_extra_fields_on_password_change_are_400(http: httpx.Client, anon: httpx.Client) -> None:
    # A user of our own: if the server wrongly accepts the body, nobody else's password changes.
    name, password = unique("pw"), "old-" + unique()
    created = http.post("/v3/users", json={"user": {"name": name, "password": password}})
    assert created.status_code == 201, created.text
    user_id = created.json()["user"]["id"]
    body = {"user": {"original_password": password, "password": "new-" + unique(), "surprise": True}}
    try:
        assert_keystone_error(anon.post(f"/v3/users/{user_id}/password", json=body), 400)
        again = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": user_id, "password": password}}}}}
        assert anon.post("/v3/auth/tokens", json=again).status_code == 201  # old password still works
    finally:
        http.delete(f"/v3/users/{user_id}")


# --- size limit ---------------------------------------------------------------------------------

def big_body() -> bytes:
    return json.dumps({"project": {"name": unique(), "description": "x" * (1024 * 1024 + 10)}}).encode()


def test_megabyte_body_is_413(http: httpx.Client) -> None:
    before = snapshot(http)
    resp = http.post("/v3/projects", content=big_body(), headers={"Content-Type": "application/json"})
    assert_keystone_error(resp, 413)
    assert snapshot(http) == before


def test_megabyte_chunked_body_is_413(http: httpx.Client) -> None:
    data = big_body()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        for start in range(0, len(data), 64 * 1024):
            yield data[start:start + 64 * 1024]

    resp = http.post("/v3/projects", content=chunks(), headers={"Content-Type": "application/json"})
    assert_keystone_error(resp, 413)


def test_megabyte_auth_body_is_413(anon: httpx.Client) -> None:
    resp = anon.post("/v3/auth/tokens", content=big_body(), headers={"Content-Type": "application/json"})
    assert_keystone_error(resp, 413)


# --- unknown ids and duplicates -----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v3/projects/{id}", "/v3/domains/{id}", "/v3/roles/{id}", "/v3/users/{id}",
                                  "/v3/groups/{id}", "/v3/regions/{id}", "/v3/services/{id}",
                                  "/v3/endpoints/{id}"])
def test_unknown_ids_are_404(http: httpx.Client, path: str) -> None:
    url = path.format(id=uuid.uuid4().hex)
    assert_keystone_error(http.get(url), 404)
    before = snapshot(http)
    assert_keystone_error(http.delete(url), 404)
    assert snapshot(http) == before


def test_unknown_path_is_404_in_keystone_shape(http: httpx.Client) -> None:
    assert_keystone_error(http.get("/v3/no-such-collection"), 404)


def test_duplicate_project_is_409(http: httpx.Client) -> None:
    name = unique("dup")
    created = http.post("/v3/projects", json={"project": {"name": name}})
    assert created.status_code == 201, created.text
    before = snapshot(http)
    assert_keystone_error(http.post("/v3/projects", json={"project": {"name": name}}), 409)
    assert snapshot(http) == before
    http.delete(f"/v3/projects/{created.json()['project']['id']}")


def test_duplicate_role_and_domain_are_409(http: httpx.Client) -> None:
    for path, key in (("/v3/roles", "role"), ("/v3/domains", "domain")):
        name = unique("dup")
        created = http.post(path, json={key: {"name": name}})
        assert created.status_code == 201, created.text
        before = snapshot(http)
        assert_keystone_error(http.post(path, json={key: {"name": name}}), 409)
        assert snapshot(http) == before
        new_id = created.json()[key]["id"]
        if key == "domain":  # a domain must be disabled before it can go
            http.patch(f"{path}/{new_id}", json={"domain": {"enabled": False}})
        assert http.delete(f"{path}/{new_id}").status_code == 204


# --- hostile names are data, stored verbatim ----------------------------------------------------

@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_project_names_round_trip(http: httpx.Client, name: str) -> None:
    full = f"{name} {uuid.uuid4().hex[:6]}"
    created = http.post("/v3/projects", json={"project": {"name": full, "description": name}})
    assert created.status_code == 201, created.text
    project = created.json()["project"]
    assert project["name"] == full and project["description"] == name
    shown = http.get(f"/v3/projects/{project['id']}").json()["project"]
    assert shown["name"] == full
    listed = http.get("/v3/projects", params={"name": full}).json()["projects"]
    assert [p["id"] for p in listed] == [project["id"]]
    assert http.delete(f"/v3/projects/{project['id']}").status_code == 204
    assert http.get("/v3/users").status_code in (200, 404)  # the "user" table is still there


@pytest.mark.parametrize("name", HOSTILE_NAMES[:2])
def test_hostile_role_and_user_names_round_trip(http: httpx.Client, name: str) -> None:
    full = f"{name} {uuid.uuid4().hex[:6]}"
    role = http.post("/v3/roles", json={"role": {"name": full}})
    assert role.status_code == 201, role.text
    assert http.get(f"/v3/roles/{role.json()['role']['id']}").json()["role"]["name"] == full
    http.delete(f"/v3/roles/{role.json()['role']['id']}")
    user = http.post("/v3/users", json={"user": {"name": full, "password": "secret-" + full}})
    assert user.status_code == 201, user.text
    user_id = user.json()["user"]["id"]
    assert http.get(f"/v3/users/{user_id}").json()["user"]["name"] == full
    assert [u["id"] for u in http.get("/v3/users", params={"name": full}).json()["users"]] == [user_id]
    http.delete(f"/v3/users/{user_id}")


# --- tokens -------------------------------------------------------------------------------------

def test_no_token_is_401(anon: httpx.Client) -> None:
    for path in ("/v3/projects", "/v3/auth/projects", "/v3/auth/catalog"):
        assert_keystone_error(anon.get(path), 401)


def test_tampered_token_is_401(cloud: RunningCloud, anon: httpx.Client, http: httpx.Client,
                               admin_token: str) -> None:
    middle = len(admin_token) // 2
    tampered = admin_token[:middle] + ("A" if admin_token[middle] != "A" else "B") + admin_token[middle + 1:]
    assert_keystone_error(anon.get("/v3/auth/projects", headers={"X-Auth-Token": tampered}), 401)
    assert_keystone_error(anon.get("/v3/projects", headers={"X-Auth-Token": tampered}), 401)
    assert_keystone_error(anon.get("/v3/projects", headers={"X-Auth-Token": "garbage"}), 401)
    # As the subject of validation, a forged token is simply not found.
    assert_keystone_error(http.get("/v3/auth/tokens", headers={"X-Subject-Token": tampered}), 404)
    assert http.get("/v3/auth/tokens", headers={"X-Subject-Token": admin_token}).status_code == 200


def test_wrong_password_is_401_and_reveals_nothing(cloud: RunningCloud, anon: httpx.Client) -> None:
    body = password_auth(cloud)
    body["auth"]["identity"]["password"]["user"]["password"] = "wrong"
    wrong = assert_keystone_error(anon.post("/v3/auth/tokens", json=body), 401)
    body["auth"]["identity"]["password"]["user"]["name"] = unique("nobody")
    missing = assert_keystone_error(anon.post("/v3/auth/tokens", json=body), 401)
    assert wrong["message"] == missing["message"]  # no user enumeration


def test_expired_token_is_rejected(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.env["ONESTACK_IDENTITY__TOKEN_EXPIRATION"] = "2"
    fresh_cloud.start()
    with httpx.Client(base_url=fresh_cloud.identity_url, timeout=30) as client:
        issued = client.post("/v3/auth/tokens", json=password_auth(fresh_cloud))
        assert issued.status_code == 201, issued.text
        token = issued.headers["X-Subject-Token"]
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        assert client.get("/v3/auth/tokens", headers=headers).status_code == 200

        def rejected() -> bool:
            return client.get("/v3/auth/projects", headers={"X-Auth-Token": token}).status_code == 401

        wait_until(rejected, timeout=30, interval=0.2, what="the token to expire")
        assert_keystone_error(client.get("/v3/auth/tokens", headers=headers), 401)
        fresh = client.post("/v3/auth/tokens", json=password_auth(fresh_cloud))
        assert fresh.status_code == 201  # the cloud itself is fine


# --- request ids --------------------------------------------------------------------------------

def test_request_id_on_every_response(cloud: RunningCloud, anon: httpx.Client, http: httpx.Client) -> None:
    responses = [
        anon.get("/"), anon.get("/v3"), anon.get("/v3/projects"), anon.post("/v3/auth/tokens", content=b"{"),
        http.get("/v3/projects"), http.get(f"/v3/projects/{uuid.uuid4().hex}"), http.delete("/v3/projects"),
        httpx.get(f"{cloud.base_url}/healthz"), httpx.get(f"{cloud.base_url}/nothing-here"),
    ]
    ids = [r.headers.get("x-openstack-request-id", "") for r in responses]
    assert all(REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_incoming_request_id_is_accepted_not_echoed(http: httpx.Client) -> None:
    theirs = f"req-{uuid.uuid4()}"
    resp = http.get("/v3/projects", headers={"X-OpenStack-Request-ID": theirs})
    assert resp.status_code == 200
    ours = resp.headers["x-openstack-request-id"]
    assert REQUEST_ID.match(ours) and ours != theirs
    assert resp.headers.get_list("x-openstack-request-id") == [ours]
    bogus = http.get("/v3/projects", headers={"X-OpenStack-Request-ID": "not-a-request-id"})
    assert bogus.status_code == 200 and REQUEST_ID.match(bogus.headers["x-openstack-request-id"])
