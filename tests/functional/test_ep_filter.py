"""OS-EP-FILTER: project endpoint associations and endpoint groups, seen in a project's catalog."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}
EP = "/v3/OS-EP-FILTER"


def call(conn: Any, method: str, path: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"endpoint_filter": IDENTITY, "raise_exc": False}
    if body is not None:
        kwargs["json"] = body
    return conn.session.request(path, method, **kwargs)


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _service_with_endpoint(admin: Any) -> tuple[str, str, str]:
    stype = uniq("eptype")
    sid = call(admin, "POST", "/v3/services", {"service": {"type": stype, "name": uniq("n")}}).json()["service"]["id"]
    body = {"endpoint": {"service_id": sid, "interface": "public", "url": f"http://{stype}.example/"}}
    eid = call(admin, "POST", "/v3/endpoints", body).json()["endpoint"]["id"]
    return stype, sid, eid


@pytest.fixture
def tenant(cloud: RunningCloud) -> dict[str, str]:
    """A new project and a member user of it, with the CLI arguments to act as that user."""
    project = cloud.cli("project", "create", "--domain", "default", uniq("epf"))
    password = uuid.uuid4().hex
    user = cloud.cli("user", "create", "--domain", "default", "--password", password, uniq("epfu"))
    cloud.cli("role", "add", "--project", project["id"], "--user", user["id"], "member", json_out=False)
    auth = ["--os-username", user["name"], "--os-password", password, "--os-project-name", project["name"],
            "--os-user-domain-id", "default", "--os-project-domain-id", "default"]
    return {"project_id": project["id"], "user_id": user["id"], "password": password, "args": " ".join(auth)}


def _catalog_types(cloud: RunningCloud, tenant: dict[str, str]) -> set[str]:
    rows = cloud.cli(*tenant["args"].split(), "catalog", "list", cloud="devstack")
    return {row["Type"] for row in rows}


def test_project_endpoint_filters_catalog(cloud: RunningCloud, admin: Any, tenant: dict[str, str],
                                          tmp_path: Path) -> None:
    type1, _, eid1 = _service_with_endpoint(admin)
    type2, sid2, eid2 = _service_with_endpoint(admin)
    pid = tenant["project_id"]
    assert {type1, type2, "identity"} <= _catalog_types(cloud, tenant)

    cloud.cli("endpoint", "add", "project", eid1, pid, json_out=False)
    assert _catalog_types(cloud, tenant) == {type1}
    assert [e["ID"] for e in cloud.cli("endpoint", "list", "--project", pid)] == [eid1]
    assert call(admin, "HEAD", f"{EP}/projects/{pid}/endpoints/{eid1}").status_code == 204
    assert call(admin, "GET", f"{EP}/projects/{pid}/endpoints/{eid2}").status_code == 404
    projects = call(admin, "GET", f"{EP}/endpoints/{eid1}/projects").json()["projects"]
    assert [p["id"] for p in projects] == [pid]

    # An endpoint group adds every endpoint its filters match.
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"service_id": sid2}))
    group = cloud.cli("endpoint", "group", "create", "--description", "second", uniq("g"), str(filters))
    cloud.cli("endpoint", "group", "add", "project", group["id"], pid, json_out=False)
    assert _catalog_types(cloud, tenant) == {type1, type2}
    in_group = call(admin, "GET", f"{EP}/endpoint_groups/{group['id']}/endpoints").json()["endpoints"]
    assert [e["id"] for e in in_group] == [eid2]
    listed = call(admin, "GET", f"{EP}/projects/{pid}/endpoints").json()["endpoints"]
    assert {e["id"] for e in listed} == {eid1, eid2}
    pair = call(admin, "GET", f"{EP}/endpoint_groups/{group['id']}/projects/{pid}")
    assert pair.status_code == 200 and pair.json()["project_endpoint_group"]["project_id"] == pid
    groups = call(admin, "GET", f"{EP}/projects/{pid}/endpoint_groups").json()["endpoint_groups"]
    assert [g["id"] for g in groups] == [group["id"]]

    cloud.cli("endpoint", "group", "remove", "project", group["id"], pid, json_out=False)
    cloud.cli("endpoint", "remove", "project", eid1, pid, json_out=False)
    assert {type1, type2, "identity"} <= _catalog_types(cloud, tenant)
    assert call(admin, "DELETE", f"{EP}/projects/{pid}/endpoints/{eid1}").status_code == 404


def test_endpoint_group_crud_and_negatives(admin: Any, demo: Any) -> None:
    _, sid, eid = _service_with_endpoint(admin)
    body = {"endpoint_group": {"name": uniq("g"), "description": "d", "filters": {"service_id": sid}}}
    made = call(admin, "POST", f"{EP}/endpoint_groups", body)
    assert made.status_code == 201
    group = made.json()["endpoint_group"]
    assert group in call(admin, "GET", f"{EP}/endpoint_groups").json()["endpoint_groups"]
    assert call(admin, "HEAD", f"{EP}/endpoint_groups/{group['id']}").status_code == 200
    upd = call(admin, "PATCH", f"{EP}/endpoint_groups/{group['id']}",
               {"endpoint_group": {"filters": {"interface": "public", "service_id": sid}}})
    assert upd.status_code == 200 and upd.json()["endpoint_group"]["filters"]["interface"] == "public"

    before = call(admin, "GET", f"{EP}/endpoint_groups").json()["endpoint_groups"]
    bad = [{"name": "x", "filters": {"colour": "red"}}, {"name": "x", "filters": {"interface": "sideways"}},
           {"name": "x"}, {"filters": {}}, {"name": "x", "filters": "service_id"}]
    for item in bad:
        assert call(admin, "POST", f"{EP}/endpoint_groups", {"endpoint_group": item}).status_code == 400, item
    assert call(admin, "PATCH", f"{EP}/endpoint_groups/{group['id']}",
                {"endpoint_group": {"filters": {"tenant": "x"}}}).status_code == 400
    assert call(demo, "POST", f"{EP}/endpoint_groups", body).status_code == 403
    assert call(admin, "GET", f"{EP}/endpoint_groups").json()["endpoint_groups"] == before

    demo_pid = demo.current_project_id
    missing = uniq("nope")
    assert call(admin, "PUT", f"{EP}/projects/{missing}/endpoints/{eid}").status_code == 404
    assert call(admin, "PUT", f"{EP}/projects/{demo_pid}/endpoints/{missing}").status_code == 404
    assert call(admin, "PUT", f"{EP}/endpoint_groups/{group['id']}/projects/{missing}").status_code == 404
    assert call(admin, "PUT", f"{EP}/endpoint_groups/{missing}/projects/{demo_pid}").status_code == 404
    assert call(demo, "PUT", f"{EP}/projects/{demo_pid}/endpoints/{eid}").status_code == 403
    assert call(admin, "GET", f"{EP}/endpoints/{eid}/projects").json()["projects"] == []

    assert call(admin, "DELETE", f"{EP}/endpoint_groups/{group['id']}").status_code == 204
    assert call(admin, "GET", f"{EP}/endpoint_groups/{group['id']}").status_code == 404
