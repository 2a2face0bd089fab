"""Unified limits: registered limits, project limits and the limit model."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}


def call(conn: Any, method: str, path: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"endpoint_filter": IDENTITY, "raise_exc": False}
    if body is not None:
        kwargs["json"] = body
    return conn.session.request(path, method, **kwargs)


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _service(admin: Any) -> str:
    resp = call(admin, "POST", "/v3/services", {"service": {"type": uniq("lt"), "name": uniq("ls")}})
    return str(resp.json()["service"]["id"])


def test_limits_cli_lifecycle(cloud: RunningCloud, admin: Any) -> None:
    sid = _service(admin)
    region = cloud.cli("region", "create", uniq("lreg"))["region"]
    resource = uniq("cores")
    reg = cloud.cli("registered", "limit", "create", "--service", sid, "--default-limit", "10",
                    "--region", region, "--description", "default cores", resource)
    assert reg["default_limit"] == 10 and reg["resource_name"] == resource and reg["region_id"] == region
    listed = cloud.cli("registered", "limit", "list", "--service", sid)
    assert [r["ID"] for r in listed] == [reg["id"]]
    cloud.cli("registered", "limit", "set", "--default-limit", "12", reg["id"])
    assert cloud.cli("registered", "limit", "show", reg["id"])["default_limit"] == 12

    demo_project = cloud.cli("project", "show", "demo")["id"]
    lim = cloud.cli("limit", "create", "--project", demo_project, "--service", sid, "--region", region,
                    "--resource-limit", "20", resource)
    assert lim["resource_limit"] == 20 and lim["project_id"] == demo_project
    # A system-scoped admin sees every limit; the demo member sees its own project's.
    all_limits = cloud.cli("limit", "list", "--service", sid, cloud="devstack-system-admin")
    assert [r["ID"] for r in all_limits] == [lim["id"]]
    assert [r["ID"] for r in cloud.cli("limit", "list", cloud="devstack") if r["ID"] == lim["id"]] == [lim["id"]]
    assert [r for r in cloud.cli("limit", "list", cloud="devstack-alt") if r["ID"] == lim["id"]] == []
    cloud.cli("limit", "set", "--resource-limit", "25", lim["id"])
    assert cloud.cli("limit", "show", lim["id"])["resource_limit"] == 25

    # A registered limit in use cannot be deleted or re-keyed.
    proc = cloud.cli("registered", "limit", "delete", reg["id"], check=False, json_out=False)
    assert proc.returncode != 0
    cloud.cli("limit", "delete", lim["id"], json_out=False)
    cloud.cli("registered", "limit", "delete", reg["id"], json_out=False)
    assert cloud.cli("registered", "limit", "list", "--service", sid) == []


def test_limit_model_and_reads(admin: Any, demo: Any) -> None:
    model = call(demo, "GET", "/v3/limits/model")
    assert model.status_code == 200 and model.json()["model"]["name"] == "flat"
    assert model.json()["model"]["description"]
    assert call(demo, "GET", "/v3/registered_limits").status_code == 200


def test_limit_negatives_leave_db_unchanged(admin: Any, demo: Any) -> None:
    sid = _service(admin)
    resource = uniq("ram")
    base = {"service_id": sid, "resource_name": resource, "default_limit": 5}
    made = call(admin, "POST", "/v3/registered_limits", {"registered_limits": [base]})
    assert made.status_code == 201
    reg = made.json()["registered_limits"][0]
    assert reg["links"]["self"].endswith(f"/v3/registered_limits/{reg['id']}") and reg["region_id"] is None

    before = call(admin, "GET", f"/v3/registered_limits?service_id={sid}").json()["registered_limits"]
    other = {**base, "resource_name": uniq("disk")}
    bad_registered = [
        ([base], 409),
        ([other, other], 409),  # a duplicate inside one request: nothing of it is kept
        ([{**other, "service_id": uniq("nosvc")}], 400),
        ([{**other, "region_id": uniq("noreg")}], 400),
        ([{**other, "default_limit": "5"}], 400),
        ([{**other, "colour": "red"}], 400),
        ([], 400),
    ]
    for items, status in bad_registered:
        resp = call(admin, "POST", "/v3/registered_limits", {"registered_limits": items})
        assert resp.status_code == status, (items, resp.text)
    assert call(demo, "POST", "/v3/registered_limits", {"registered_limits": [other]}).status_code == 403
    assert call(admin, "GET", f"/v3/registered_limits?service_id={sid}").json()["registered_limits"] == before

    pid = demo.current_project_id
    good = {"project_id": pid, "service_id": sid, "resource_name": resource, "resource_limit": 7}
    bad_limits = [
        ({**good, "resource_name": uniq("unregistered")}, 403),
        ({**good, "project_id": uniq("noproj")}, 400),
        ({k: v for k, v in good.items() if k != "project_id"}, 400),
        ({**good, "domain_id": "default"}, 400),
        ({**good, "resource_limit": "7"}, 400),
    ]
    for item, status in bad_limits:
        resp = call(admin, "POST", "/v3/limits", {"limits": [item]})
        assert resp.status_code == status, (item, resp.text)
    assert call(demo, "POST", "/v3/limits", {"limits": [good]}).status_code == 403
    assert call(admin, "GET", f"/v3/limits?service_id={sid}&project_id={pid}").json()["limits"] == []

    lim = call(admin, "POST", "/v3/limits", {"limits": [good]}).json()["limits"][0]
    assert call(admin, "POST", "/v3/limits", {"limits": [good]}).status_code == 409
    assert call(demo, "GET", f"/v3/limits/{lim['id']}").status_code == 200
    assert call(admin, "PATCH", f"/v3/limits/{lim['id']}", {"limit": {"project_id": "x"}}).status_code == 400
    rekey = {"registered_limit": {"resource_name": uniq("renamed")}}
    assert call(admin, "PATCH", f"/v3/registered_limits/{reg['id']}", rekey).status_code == 403
    assert call(admin, "DELETE", f"/v3/registered_limits/{reg['id']}").status_code == 403
    assert call(admin, "DELETE", f"/v3/limits/{lim['id']}").status_code == 204
    assert call(admin, "GET", f"/v3/limits/{lim['id']}").status_code == 404
    assert call(admin, "DELETE", f"/v3/registered_limits/{reg['id']}").status_code == 204
