"""Server sub-resources: metadata, tags, instance actions, diagnostics, server password, ips.

One cloud with one fake host; servers named ``FAIL_NAME`` fail to spawn (and end in ERROR with
no host), which gives error events and the "not ready"/vm_state conflicts.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call, message, module_cloud

FAIL_NAME = "h3-spawn-fails"
IMAGE = "onestack-tiny-x86_64-disk"


ccloud = module_cloud("compute-subres", {"ONESTACK_COMPUTE__FAKE_FAIL_SPAWN": FAIL_NAME})


def boot(conn: Any, name: str, status: str = "ACTIVE") -> Any:
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none")
    return wait_until(lambda: (s := conn.compute.get_server(server.id)).status == status and s,
                      timeout=60, what=f"{name} {status}")


@pytest.fixture(scope="module")
def server(cdemo: Any) -> Any:
    return boot(cdemo, "h3-vm")


@pytest.fixture(scope="module")
def failed(cdemo: Any) -> Any:
    return boot(cdemo, FAIL_NAME, "ERROR")


# --- metadata --------------------------------------------------------------------------------

def test_metadata_sdk(cdemo: Any, server: Any) -> None:
    cdemo.compute.set_server_metadata(server, colour="blue", size="xl")
    assert cdemo.compute.get_server_metadata(server).metadata == {"colour": "blue", "size": "xl"}
    cdemo.compute.set_server_metadata(server, size="s")
    # The SDK drops deleted keys from the resource it is given, so give it a fresh one.
    cdemo.compute.delete_server_metadata(cdemo.compute.get_server(server.id), ["colour"])
    assert cdemo.compute.get_server_metadata(server).metadata == {"size": "s"}
    cdemo.compute.delete_server_metadata(server)
    assert cdemo.compute.get_server(server.id).metadata == {}


def test_metadata_cli(ccloud: RunningCloud, server: Any) -> None:
    ccloud.cli("server", "set", "--property", "a=1", "--property", "b=2", server.id, cloud="devstack",
               json_out=False)
    ccloud.cli("server", "unset", "--property", "a", server.id, cloud="devstack", json_out=False)
    shown = ccloud.cli("server", "show", server.id, cloud="devstack")
    assert shown["properties"] == {"b": "2"}


def test_metadata_raw(cdemo: Any, server: Any) -> None:
    base = f"/servers/{server.id}/metadata"
    put = call(cdemo, "PUT", base, body={"metadata": {"k1": "v1", "k:2.x y-_": "v2"}})
    assert put.status_code == 200 and put.json() == {"metadata": {"k1": "v1", "k:2.x y-_": "v2"}}
    post = call(cdemo, "POST", base, body={"metadata": {"k3": "v3", "k1": "new"}})
    assert post.status_code == 200
    assert post.json()["metadata"] == {"k1": "new", "k:2.x y-_": "v2", "k3": "v3"}
    one = call(cdemo, "PUT", f"{base}/k4", body={"meta": {"k4": "v4"}})
    assert one.status_code == 200 and one.json() == {"meta": {"k4": "v4"}}
    assert call(cdemo, "GET", f"{base}/k4").json() == {"meta": {"k4": "v4"}}
    assert call(cdemo, "DELETE", f"{base}/k4").status_code == 204
    missing = call(cdemo, "GET", f"{base}/k4")
    assert missing.status_code == 404 and message(missing) == "Metadata item was not found"
    assert call(cdemo, "DELETE", f"{base}/k4").status_code == 404
    replaced = call(cdemo, "PUT", base, body={"metadata": {}})
    assert replaced.json() == {"metadata": {}}
    assert call(cdemo, "GET", base).json() == {"metadata": {}}


@pytest.mark.parametrize(("method", "suffix", "body", "text"), [
    ("PUT", "/k", {"meta": {"other": "v"}}, "Request body and URI mismatch"),
    ("PUT", "/k", {"meta": {"k": "v", "j": "w"}}, "has too many properties"),
    ("PUT", "/k", {"meta": {}}, "does not have enough properties"),
    ("POST", "", {"metadata": {"a/b": "v"}}, "does not match any of the regexes"),
    ("POST", "", {"metadata": {"": "v"}}, "does not match any of the regexes"),
    ("POST", "", {"metadata": {"k" * 256: "v"}}, "does not match any of the regexes"),
    ("POST", "", {"metadata": {"k": "v" * 256}}, "is too long"),
    ("POST", "", {"metadata": {"k": 1}}, "is not of type 'string'"),
    ("POST", "", {"metadata": ["k"]}, "is not of type 'object'"),
    ("PUT", "", {"meta": {"k": "v"}}, "'metadata' is a required property"),
    ("PUT", "", {"metadata": {}, "extra": 1}, "Additional properties are not allowed"),
])
def test_metadata_bad_bodies(cdemo: Any, server: Any, method: str, suffix: str, body: Any, text: str) -> None:
    resp = call(cdemo, method, f"/servers/{server.id}/metadata{suffix}", body=body)
    assert resp.status_code == 400, resp.text
    assert text in message(resp)


def test_metadata_quota(cadmin: Any, cdemo: Any, server: Any) -> None:
    project = cdemo.current_project_id
    base = f"/servers/{server.id}/metadata"
    assert call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"metadata_items": 2}}).ok
    try:
        assert call(cdemo, "PUT", base, body={"metadata": {"a": "1", "b": "2"}}).status_code == 200
        over = call(cdemo, "POST", base, body={"metadata": {"c": "3"}})
        assert over.status_code == 403 and message(over) == "Maximum number of metadata items exceeds 2"
        assert call(cdemo, "PUT", f"{base}/a", body={"meta": {"a": "changed"}}).status_code == 200
        assert call(cdemo, "PUT", base, body={"metadata": {"x": "1", "y": "2", "z": "3"}}).status_code == 403
        assert call(cdemo, "GET", base).json() == {"metadata": {"a": "changed", "b": "2"}}
    finally:
        assert call(cadmin, "DELETE", f"/os-quota-sets/{project}").ok
    assert call(cdemo, "PUT", base, body={"metadata": {}}).status_code == 200


def test_metadata_refused_in_error_state(cdemo: Any, failed: Any) -> None:
    base = f"/servers/{failed.id}/metadata"
    assert call(cdemo, "GET", base).json() == {"metadata": {}}
    for method, path, body in (("POST", base, {"metadata": {"a": "b"}}), ("PUT", base, {"metadata": {}}),
                               ("PUT", f"{base}/a", {"meta": {"a": "b"}})):
        resp = call(cdemo, method, path, body=body)
        assert resp.status_code == 409
        assert message(resp) == f"Cannot 'update metadata' instance {failed.id} while it is in vm_state error"


def test_locked_server_refuses_metadata(cadmin: Any, cdemo: Any, server: Any) -> None:
    lock = call(cdemo, "POST", f"/servers/{server.id}/action", body={"lock": None})
    assert lock.status_code == 202
    try:
        wait_until(lambda: cdemo.compute.get_server(server.id).is_locked, what="lock")
        base = f"/servers/{server.id}/metadata"
        refused = call(cdemo, "POST", base, body={"metadata": {"a": "b"}})
        assert refused.status_code == 409 and message(refused) == f"Instance {server.id} is locked"
        assert call(cadmin, "POST", base, body={"metadata": {"by": "admin"}}).status_code == 200
        assert call(cdemo, "DELETE", f"{base}/by").status_code == 409
        assert call(cadmin, "DELETE", f"{base}/by").status_code == 204
    finally:
        assert call(cadmin, "POST", f"/servers/{server.id}/action", body={"unlock": None}).status_code == 202


# --- tags ------------------------------------------------------------------------------------

def test_tags_sdk(cdemo: Any, server: Any) -> None:
    cdemo.compute.add_tag_to_server(server, "alpha")
    cdemo.compute.add_tag_to_server(server, "beta")
    fetched = cdemo.compute.get_server(server.id).fetch_tags(cdemo.compute)
    assert sorted(fetched.tags) == ["alpha", "beta"]
    cdemo.compute.remove_tag_from_server(server, "alpha")
    res = cdemo.compute.get_server(server.id)
    res.set_tags(cdemo.compute, ["x", "y", "x"])
    assert sorted(res.fetch_tags(cdemo.compute).tags) == ["x", "y"]
    cdemo.compute.remove_tags_from_server(server)
    assert res.fetch_tags(cdemo.compute).tags == []


def test_tags_cli(ccloud: RunningCloud, server: Any) -> None:
    ccloud.cli("server", "set", "--tag", "one", "--tag", "two", server.id, cloud="devstack", json_out=False)
    ccloud.cli("server", "unset", "--tag", "one", server.id, cloud="devstack", json_out=False)
    assert ccloud.cli("server", "show", server.id, cloud="devstack")["tags"] == ["two"]
    ccloud.cli("server", "unset", "--tag", "two", server.id, cloud="devstack", json_out=False)


def test_tags_raw(cdemo: Any, server: Any) -> None:
    base = f"/servers/{server.id}/tags"
    assert call(cdemo, "GET", base, mv="2.25").status_code == 404
    assert call(cdemo, "PUT", f"{base}/t1", mv="2.25").status_code == 404
    added = call(cdemo, "PUT", f"{base}/t1", mv="2.26")
    assert added.status_code == 201 and added.headers["Location"].endswith(f"/v2.1/servers/{server.id}/tags/t1")
    assert call(cdemo, "PUT", f"{base}/t1", mv="2.26").status_code == 204
    assert call(cdemo, "GET", f"{base}/t1", mv="2.26").status_code == 204
    absent = call(cdemo, "GET", f"{base}/nope", mv="2.26")
    assert absent.status_code == 404 and message(absent) == f"Server {server.id} has no tag 'nope'"
    gone = call(cdemo, "DELETE", f"{base}/nope", mv="2.26")
    assert gone.status_code == 404 and message(gone) == f"Instance {server.id} has no tag 'nope'"
    replaced = call(cdemo, "PUT", base, mv="2.26", body={"tags": ["b", "a", "b"]})
    assert replaced.status_code == 200 and sorted(replaced.json()["tags"]) == ["a", "b"]
    assert sorted(call(cdemo, "GET", base, mv="2.26").json()["tags"]) == ["a", "b"]
    shown = call(cdemo, "GET", f"/servers/{server.id}", mv="2.26").json()["server"]
    assert sorted(shown["tags"]) == ["a", "b"]
    assert call(cdemo, "DELETE", f"{base}/a", mv="2.26").status_code == 204
    assert call(cdemo, "DELETE", base, mv="2.26").status_code == 204
    assert call(cdemo, "GET", base, mv="2.26").json() == {"tags": []}


def test_tags_limits_and_bad_input(cdemo: Any, server: Any) -> None:
    base = f"/servers/{server.id}/tags"
    too_many = call(cdemo, "PUT", base, mv="2.26", body={"tags": [f"t{i}" for i in range(51)]})
    assert too_many.status_code == 400 and "is too long" in message(too_many)
    for bad in ({"tags": ["a,b"]}, {"tags": ["x" * 61]}, {"tags": [""]}, {"tags": [1]}, {"tags": "a"}, {}):
        assert call(cdemo, "PUT", base, mv="2.26", body=bad).status_code == 400, bad
    comma = call(cdemo, "PUT", f"{base}/a,b", mv="2.26")
    assert comma.status_code == 400 and message(comma).startswith("Tag 'a,b' is invalid.")
    assert call(cdemo, "PUT", f"{base}/{'x' * 61}", mv="2.26").status_code == 400
    assert call(cdemo, "PUT", f"{base}/t", mv="2.26", body={"x": 1}).status_code == 400
    full = [f"t{i}" for i in range(50)]
    assert call(cdemo, "PUT", base, mv="2.26", body={"tags": full}).status_code == 200
    over = call(cdemo, "PUT", f"{base}/t50", mv="2.26")
    assert over.status_code == 400 and message(over) == "The number of tags exceeded the per-server limit 50"
    assert call(cdemo, "PUT", f"{base}/t0", mv="2.26").status_code == 400  # Nova counts before it looks
    assert call(cdemo, "DELETE", base, mv="2.26").status_code == 204


def test_tags_refused_in_error_state(cdemo: Any, failed: Any) -> None:
    base = f"/servers/{failed.id}/tags"
    assert call(cdemo, "GET", base, mv="2.26").json() == {"tags": []}
    for method, path, body, action in (("PUT", base, {"tags": ["a"]}, "update tags"),
                                       ("DELETE", base, None, "delete tags"),
                                       ("PUT", f"{base}/a", None, "update tag"),
                                       ("DELETE", f"{base}/a", None, "delete tag")):
        resp = call(cdemo, method, path, mv="2.26", body=body)
        assert resp.status_code == 409
        assert message(resp) == f"Cannot '{action}' instance {failed.id} while it is in vm_state error"


# --- instance actions ------------------------------------------------------------------------

def test_actions_cli(ccloud: RunningCloud, server: Any) -> None:
    events = ccloud.cli("server", "event", "list", server.id, cloud="devstack")
    assert events[-1]["Action"] == "create"  # newest first; other tests may have acted since
    created = events[-1]["Request ID"]
    shown = ccloud.cli("server", "event", "show", server.id, created, cloud="devstack")
    assert shown["action"] == "create" and shown["request_id"] == created
    assert [e["event"] for e in shown["events"]] == ["compute__do_build_and_run_instance"]
    assert shown["events"][0]["result"] == "Success"


def test_action_fields_per_version(cadmin: Any, cdemo: Any, failed: Any) -> None:
    listed = call(cdemo, "GET", f"/servers/{failed.id}/os-instance-actions").json()["instanceActions"]
    assert len(listed) == 1 and listed[0]["action"] == "create" and "updated_at" not in listed[0]
    assert listed[0]["project_id"] == cdemo.current_project_id and listed[0]["message"]
    path = f"/servers/{failed.id}/os-instance-actions/{listed[0]['request_id']}"

    def show(conn: Any, mv: str) -> dict[str, Any]:
        resp = call(conn, "GET", path, mv=mv)
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["instanceAction"])

    assert "events" not in show(cdemo, "2.50")
    admin_21 = show(cadmin, "2.1")
    assert {e["result"] for e in admin_21["events"]} == {"Error"}
    assert all(set(e) == {"event", "start_time", "finish_time", "result", "traceback"} for e in admin_21["events"])
    assert any(e["traceback"] for e in admin_21["events"])
    owner_251 = show(cdemo, "2.51")
    assert all(set(e) == {"event", "start_time", "finish_time", "result"} for e in owner_251["events"])
    owner_262 = show(cdemo, "2.62")
    assert "updated_at" in owner_262
    assert all(set(e) == {"event", "start_time", "finish_time", "result", "hostId"} for e in owner_262["events"])
    admin_262 = show(cadmin, "2.62")
    assert all({"host", "hostId", "traceback"} <= set(e) and "details" not in e for e in admin_262["events"])
    assert all("details" in e for e in show(cadmin, "2.84")["events"])
    assert all("details" not in e for e in show(cdemo, "2.84")["events"])
    missing = call(cdemo, "GET", f"/servers/{failed.id}/os-instance-actions/req-nope")
    assert missing.status_code == 404 and message(missing) == "Action req-nope not found"


def test_event_host_and_host_id(ccloud: RunningCloud, cadmin: Any, cdemo: Any, server: Any) -> None:
    actions = call(cdemo, "GET", f"/servers/{server.id}/os-instance-actions").json()["instanceActions"]
    path = f"/servers/{server.id}/os-instance-actions/{actions[-1]['request_id']}"
    admin = call(cadmin, "GET", path, mv="2.62").json()["instanceAction"]["events"]
    owner = call(cdemo, "GET", path, mv="2.62").json()["instanceAction"]["events"]
    assert [e["host"] for e in admin] == [ccloud.compute_host()] and "host" not in owner[0]
    host_id = call(cdemo, "GET", f"/servers/{server.id}").json()["server"]["hostId"]
    assert owner[0]["hostId"] == admin[0]["hostId"] == host_id != ""


def test_actions_of_deleted_server_and_paging(cadmin: Any, cdemo: Any) -> None:
    doomed = boot(cdemo, "h3-doomed")
    cdemo.compute.delete_server(doomed)
    wait_until(lambda: call(cdemo, "GET", f"/servers/{doomed.id}").status_code == 404, what="server gone")
    base = f"/servers/{doomed.id}/os-instance-actions"
    assert call(cdemo, "GET", base, mv="2.20").status_code == 404
    every = call(cdemo, "GET", base, mv="2.21").json()["instanceActions"]
    assert [a["action"] for a in every] == ["delete", "create"]
    first = call(cdemo, "GET", f"{base}?limit=1", mv="2.58").json()
    assert [a["action"] for a in first["instanceActions"]] == ["delete"]
    nxt = first["links"][0]
    assert nxt["rel"] == "next" and f"marker={every[0]['request_id']}" in nxt["href"]
    second = call(cdemo, "GET", f"{base}?limit=1&marker={every[0]['request_id']}", mv="2.58").json()
    assert [a["action"] for a in second["instanceActions"]] == ["create"]
    assert call(cdemo, "GET", f"{base}?limit=5", mv="2.58").json().get("links") is None
    assert call(cdemo, "GET", f"{base}?limit=0", mv="2.58").json() == {"instanceActions": []}
    bad_marker = call(cdemo, "GET", f"{base}?marker=req-nope", mv="2.58")
    assert bad_marker.status_code == 400 and "req-nope" in message(bad_marker)
    shown = call(cdemo, "GET", f"{base}/{every[0]['request_id']}", mv="2.21")
    assert shown.status_code == 200 and shown.json()["instanceAction"]["action"] == "delete"
    admin = call(cadmin, "GET", base, mv="2.21").json()["instanceActions"]
    assert [a["request_id"] for a in admin] == [a["request_id"] for a in every]


def test_actions_time_filters(cdemo: Any, server: Any) -> None:
    base = f"/servers/{server.id}/os-instance-actions"
    actions = call(cdemo, "GET", base, mv="2.58").json()["instanceActions"]
    newest, oldest = actions[0]["updated_at"], actions[-1]["updated_at"]

    def listed(query: str, mv: str) -> list[dict[str, Any]]:
        resp = call(cdemo, "GET", f"{base}?{query}", mv=mv)
        assert resp.status_code == 200, resp.text
        return list(resp.json()["instanceActions"])

    since = listed(f"changes-since={newest}", "2.58")
    assert since and all(a["updated_at"] >= newest for a in since)
    before = listed(f"changes-before={oldest}", "2.66")
    assert before[-1]["action"] == "create" and all(a["updated_at"] <= oldest for a in before)
    assert listed("changes-since=2999-01-01T00:00:00Z", "2.58") == []
    assert listed("changes-before=2000-01-01T00:00:00Z", "2.66") == []
    for query, mv in (("changes-before=2000-01-01T00:00:00Z", "2.58"), ("bogus=1", "2.58"),
                      ("changes-since=yesterday", "2.58"), ("limit=-1", "2.58"), ("limit=1&limit=2", "2.58"),
                      ("changes-since=2030-01-01T00:00:00Z&changes-before=2020-01-01T00:00:00Z", "2.66")):
        assert call(cdemo, "GET", f"{base}?{query}", mv=mv).status_code == 400, query
    # Before 2.58 the query is not looked at.
    assert len(listed("bogus=1&limit=0", "2.57")) == len(actions)


# --- diagnostics -----------------------------------------------------------------------------

def test_diagnostics(ccloud: RunningCloud, cadmin: Any, cdemo: Any, server: Any, failed: Any) -> None:
    path = f"/servers/{server.id}/diagnostics"
    legacy = call(cadmin, "GET", path, mv="2.47")
    assert legacy.status_code == 200
    assert {"cpu0_time", "memory", "vda_read", "vda_write_req"} <= set(legacy.json())
    standard = call(cadmin, "GET", path, mv="2.48").json()
    assert standard["state"] == "running" and standard["driver"] == "libvirt" and standard["num_cpus"] == 1
    assert standard["memory_details"]["maximum"] == 512 and len(standard["cpu_details"]) == 1
    assert set(standard["disk_details"][0]) == {"read_bytes", "read_requests", "write_bytes", "write_requests",
                                                "errors_count"}
    shown = ccloud.cli("server", "show", "--diagnostics", server.id)
    assert shown["state"] == "running" and shown["num_cpus"] == 1
    denied = call(cdemo, "GET", path)
    assert denied.status_code == 403
    not_ready = call(cadmin, "GET", f"/servers/{failed.id}/diagnostics")
    assert not_ready.status_code == 409 and message(not_ready) == f"Instance {failed.id} is not ready"
    assert call(cadmin, "GET", f"/servers/{uuid.uuid4()}/diagnostics").status_code == 404


def test_diagnostics_of_stopped_server(cadmin: Any, cdemo: Any, server: Any) -> None:
    stop = call(cdemo, "POST", f"/servers/{server.id}/action", body={"os-stop": None})
    assert stop.status_code == 202
    try:
        wait_until(lambda: cdemo.compute.get_server(server.id).status == "SHUTOFF", timeout=60, what="SHUTOFF")
        resp = call(cadmin, "GET", f"/servers/{server.id}/diagnostics", mv="2.48")
        assert resp.status_code == 409
        assert message(resp) == f"Cannot 'get_diagnostics' instance {server.id} while it is in power state shutdown"
    finally:
        assert call(cdemo, "POST", f"/servers/{server.id}/action", body={"os-start": None}).status_code == 202
        wait_until(lambda: cdemo.compute.get_server(server.id).status == "ACTIVE", timeout=60, what="ACTIVE")


# --- server password -------------------------------------------------------------------------

def test_server_password(ccloud: RunningCloud, cdemo: Any, server: Any) -> None:
    assert cdemo.compute.get_server_password(server) == ""
    # The guest posts its encrypted password through the metadata service, which onestack does
    # not serve yet; write the column it would fill.
    with ccloud.engine() as engine, engine.begin() as db:
        db.execute(text("UPDATE compute_instances SET encrypted_password = :pw WHERE uuid = :uuid"),
                   {"pw": "c2VjcmV0", "uuid": server.id})
    path = f"/servers/{server.id}/os-server-password"
    assert call(cdemo, "GET", path).json() == {"password": "c2VjcmV0"}
    assert cdemo.compute.get_server_password(server) == "c2VjcmV0"
    cdemo.compute.clear_server_password(server)
    assert call(cdemo, "GET", path).json() == {"password": ""}
    assert call(cdemo, "DELETE", path).status_code == 204


# --- ips -------------------------------------------------------------------------------------

def test_ips(cdemo: Any, server: Any) -> None:
    assert list(cdemo.compute.server_ips(server)) == []
    assert call(cdemo, "GET", f"/servers/{server.id}/ips").json() == {"addresses": {}}
    absent = call(cdemo, "GET", f"/servers/{server.id}/ips/private")
    assert absent.status_code == 404 and message(absent) == "Instance is not a member of specified network"


# --- visibility ------------------------------------------------------------------------------

def test_other_projects_server_is_not_found(calt: Any, cadmin: Any, server: Any) -> None:
    sid = server.id
    requests: list[tuple[str, str, str | None, Any]] = [
        ("GET", f"/servers/{sid}/metadata", None, None),
        ("POST", f"/servers/{sid}/metadata", None, {"metadata": {"a": "b"}}),
        ("PUT", f"/servers/{sid}/metadata", None, {"metadata": {}}),
        ("GET", f"/servers/{sid}/metadata/a", None, None),
        ("PUT", f"/servers/{sid}/metadata/a", None, {"meta": {"a": "b"}}),
        ("DELETE", f"/servers/{sid}/metadata/a", None, None),
        ("GET", f"/servers/{sid}/tags", "2.26", None),
        ("PUT", f"/servers/{sid}/tags", "2.26", {"tags": []}),
        ("DELETE", f"/servers/{sid}/tags", "2.26", None),
        ("GET", f"/servers/{sid}/tags/a", "2.26", None),
        ("PUT", f"/servers/{sid}/tags/a", "2.26", None),
        ("DELETE", f"/servers/{sid}/tags/a", "2.26", None),
        ("GET", f"/servers/{sid}/os-instance-actions", None, None),
        ("GET", f"/servers/{sid}/os-instance-actions/req-x", None, None),
        ("GET", f"/servers/{sid}/diagnostics", None, None),
        ("GET", f"/servers/{sid}/os-server-password", None, None),
        ("DELETE", f"/servers/{sid}/os-server-password", None, None),
        ("GET", f"/servers/{sid}/ips", None, None),
        ("GET", f"/servers/{sid}/ips/private", None, None),
    ]
    for method, path, mv, body in requests:
        resp = call(calt, method, path, mv=mv, body=body)
        assert resp.status_code == 404, (method, path, resp.status_code)
        assert message(resp) == f"Instance {sid} could not be found."
    # Admins reach every project's server.
    assert call(cadmin, "GET", f"/servers/{sid}/metadata").status_code == 200
    assert call(cadmin, "GET", f"/servers/{sid}/tags", mv="2.26").status_code == 200
    assert call(cadmin, "GET", f"/servers/{sid}/os-instance-actions").status_code == 200
