"""Regions, services and endpoints through the openstack CLI, openstacksdk and raw HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}


def call(conn: Any, method: str, path: str, body: Any = None) -> Any:
    """A raw identity request that returns the response whatever its status."""
    kwargs: dict[str, Any] = {"endpoint_filter": IDENTITY, "raise_exc": False}
    if body is not None:
        kwargs["json"] = body
    return conn.session.request(path, method, **kwargs)


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_region_lifecycle_cli(cloud: RunningCloud) -> None:
    parent = cloud.cli("region", "create", "--description", "the parent", uniq("rp"))
    child_id = uniq("rc")
    child = cloud.cli("region", "create", "--parent-region", parent["region"], "--description", "kid", child_id)
    assert child["region"] == child_id and child["parent_region"] == parent["region"]
    listed = cloud.cli("region", "list", "--parent-region", parent["region"])
    assert [r["Region"] for r in listed] == [child_id]
    cloud.cli("region", "set", "--description", "renamed", child_id, json_out=False)
    assert cloud.cli("region", "show", child_id)["description"] == "renamed"
    # Deleting the parent takes the child with it (no endpoints in either).
    cloud.cli("region", "delete", parent["region"], json_out=False)
    shown = cloud.cli("region", "show", child_id, check=False)
    assert shown.returncode != 0


def test_region_negatives(admin: Any, demo: Any) -> None:
    rid = uniq("r")
    resp = call(admin, "PUT", f"/v3/regions/{rid}", {"region": {"description": "x"}})
    assert resp.status_code == 201 and resp.json()["region"]["id"] == rid
    assert resp.json()["region"]["parent_region_id"] is None
    assert resp.json()["region"]["links"]["self"].endswith(f"/v3/regions/{rid}")
    assert call(admin, "PUT", f"/v3/regions/{rid}", {"region": {}}).status_code == 409
    assert call(admin, "POST", "/v3/regions", {"region": {"id": rid}}).status_code == 409
    missing = call(admin, "POST", "/v3/regions", {"region": {"parent_region_id": uniq("nope")}})
    assert missing.status_code == 404
    child = call(admin, "POST", "/v3/regions", {"region": {"parent_region_id": rid}}).json()["region"]
    # A loop (parent made the child of its own child) is refused and nothing changes.
    loop = call(admin, "PATCH", f"/v3/regions/{rid}", {"region": {"parent_region_id": child["id"]}})
    assert loop.status_code == 400
    assert call(admin, "PATCH", f"/v3/regions/{rid}", {"region": {"parent_region_id": rid}}).status_code == 400
    assert call(admin, "GET", f"/v3/regions/{rid}").json()["region"]["parent_region_id"] is None
    # Any user may read regions; only admins may change them.
    assert call(demo, "GET", f"/v3/regions/{rid}").status_code == 200
    assert call(demo, "POST", "/v3/regions", {"region": {}}).status_code == 403
    assert call(demo, "DELETE", f"/v3/regions/{rid}").status_code == 403
    assert call(admin, "GET", f"/v3/regions/{uniq('gone')}").status_code == 404
    bad_body = call(admin, "POST", "/v3/regions", {"region": {"description": 5}})
    assert bad_body.status_code == 400


def test_service_lifecycle_cli(cloud: RunningCloud) -> None:
    stype = uniq("type")
    svc = cloud.cli("service", "create", "--name", uniq("svc"), "--description", "first", stype)
    assert svc["type"] == stype and svc["enabled"] is True and svc["description"] == "first"
    listed = cloud.cli("service", "list", "--long")
    assert any(s["ID"] == svc["id"] and s["Description"] == "first" for s in listed)
    cloud.cli("service", "set", "--description", "second", "--disable", svc["id"], json_out=False)
    shown = cloud.cli("service", "show", svc["id"])
    assert shown["description"] == "second" and shown["enabled"] is False
    cloud.cli("service", "delete", svc["id"], json_out=False)
    assert cloud.cli("service", "show", svc["id"], check=False).returncode != 0


def test_service_filter_and_negatives(admin: Any, demo: Any) -> None:
    stype = uniq("t")
    made = call(admin, "POST", "/v3/services", {"service": {"type": stype, "name": "n"}})
    assert made.status_code == 201
    found = call(admin, "GET", f"/v3/services?type={stype}").json()["services"]
    assert [s["id"] for s in found] == [made.json()["service"]["id"]]
    assert call(admin, "POST", "/v3/services", {"service": {"name": "no type"}}).status_code == 400
    assert call(admin, "POST", "/v3/services", {"service": {"type": "x", "enabled": "yes"}}).status_code == 400
    assert call(demo, "GET", "/v3/services").status_code == 403
    assert call(admin, "PATCH", f"/v3/services/{uniq('x')}", {"service": {"name": "a"}}).status_code == 404


def _service(admin: Any) -> str:
    resp = call(admin, "POST", "/v3/services", {"service": {"type": uniq("type"), "name": uniq("svc")}})
    return str(resp.json()["service"]["id"])


def test_endpoint_lifecycle_cli(cloud: RunningCloud, admin: Any) -> None:
    sid = _service(admin)
    region = cloud.cli("region", "create", uniq("reg"))["region"]
    url = f"http://{uniq('h')}.example.com:8080/v1"
    ep = cloud.cli("endpoint", "create", "--region", region, sid, "public", url)
    assert ep["url"] == url and ep["region"] == region and ep["interface"] == "public" and ep["enabled"] is True
    listed = cloud.cli("endpoint", "list", "--service", sid, "--interface", "public")
    assert [e["ID"] for e in listed] == [ep["id"]]
    assert cloud.cli("endpoint", "list", "--service", sid, "--interface", "admin") == []
    assert [e["ID"] for e in cloud.cli("endpoint", "list", "--region", region)] == [ep["id"]]
    # The catalog of a new token shows the endpoint as soon as it exists.
    catalog = cloud.cli("catalog", "list")
    assert url in str(catalog)
    cloud.cli("endpoint", "set", "--disable", "--url", url + "/x", ep["id"], json_out=False)
    shown = cloud.cli("endpoint", "show", ep["id"])
    assert shown["enabled"] is False and shown["url"] == url + "/x"
    # A region with endpoints cannot be deleted.
    assert call(admin, "DELETE", f"/v3/regions/{region}").status_code == 403
    cloud.cli("endpoint", "delete", ep["id"], json_out=False)
    assert call(admin, "GET", f"/v3/endpoints/{ep['id']}").status_code == 404
    assert call(admin, "DELETE", f"/v3/regions/{region}").status_code == 204


def test_endpoint_legacy_region_and_fields(admin: Any) -> None:
    sid = _service(admin)
    region = uniq("legacy")
    body = {"endpoint": {"service_id": sid, "interface": "internal", "url": "http://a.example/", "region": region}}
    resp = call(admin, "POST", "/v3/endpoints", body)
    assert resp.status_code == 201
    ep = resp.json()["endpoint"]
    assert ep["region"] == region and ep["region_id"] == region
    assert call(admin, "GET", f"/v3/regions/{region}").status_code == 200  # created for the old client
    new_region = uniq("legacy2")
    upd = call(admin, "PATCH", f"/v3/endpoints/{ep['id']}", {"endpoint": {"region": new_region, "enabled": False}})
    assert upd.status_code == 200 and upd.json()["endpoint"]["region_id"] == new_region
    assert upd.json()["endpoint"]["enabled"] is False


def test_endpoint_negatives_leave_db_unchanged(admin: Any, demo: Any) -> None:
    sid = _service(admin)
    before = call(admin, "GET", "/v3/endpoints").json()["endpoints"]
    regions_before = call(admin, "GET", "/v3/regions").json()["regions"]
    good = {"service_id": sid, "interface": "public", "url": "http://ok.example/"}
    cases = [
        ({**good, "interface": "private"}, 400),
        ({**good, "enabled": "False"}, 400),
        ({**good, "service_id": uniq("nosvc"), "region": uniq("never")}, 400),
        ({**good, "region_id": uniq("noregion")}, 400),
        ({k: v for k, v in good.items() if k != "url"}, 400),
        ({**good, "url": "not a url"}, 400),
    ]
    for body, status in cases:
        resp = call(admin, "POST", "/v3/endpoints", {"endpoint": body})
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["code"] == status
    assert call(demo, "POST", "/v3/endpoints", {"endpoint": good}).status_code == 403
    assert call(admin, "GET", "/v3/endpoints").json()["endpoints"] == before
    assert call(admin, "GET", "/v3/regions").json()["regions"] == regions_before
    ep = call(admin, "POST", "/v3/endpoints", {"endpoint": good}).json()["endpoint"]
    assert call(admin, "PATCH", f"/v3/endpoints/{ep['id']}", {"endpoint": {"enabled": "True"}}).status_code == 400
    assert call(admin, "PATCH", f"/v3/endpoints/{ep['id']}", {"endpoint": {"interface": "x"}}).status_code == 400
    assert call(admin, "GET", f"/v3/endpoints/{ep['id']}").json()["endpoint"]["enabled"] is True


def test_deleting_service_deletes_its_endpoints(admin: Any) -> None:
    sid = _service(admin)
    eps = [call(admin, "POST", "/v3/endpoints", {"endpoint": {"service_id": sid, "interface": i,
                                                              "url": "http://x.example/"}}).json()["endpoint"]
           for i in ("public", "admin")]
    assert len(call(admin, "GET", f"/v3/endpoints?service_id={sid}").json()["endpoints"]) == 2
    assert call(admin, "DELETE", f"/v3/services/{sid}").status_code == 204
    assert call(admin, "GET", f"/v3/endpoints?service_id={sid}").json()["endpoints"] == []
    for ep in eps:
        assert call(admin, "GET", f"/v3/endpoints/{ep['id']}").status_code == 404


def test_sdk_catalog_objects(admin: Any) -> None:
    stype = uniq("sdk")
    svc = admin.identity.create_service(type=stype, name=uniq("n"), description="via sdk")
    region = admin.identity.create_region(id=uniq("sdkr"), description="sdk region")
    ep = admin.identity.create_endpoint(service_id=svc.id, interface="admin", url="http://sdk.example/",
                                        region_id=region.id)
    assert admin.identity.get_endpoint(ep.id).region_id == region.id
    assert {e.id for e in admin.identity.endpoints(service_id=svc.id)} == {ep.id}
    assert [s.id for s in admin.identity.services(type=stype)] == [svc.id]
    admin.identity.delete_endpoint(ep.id)
    admin.identity.delete_service(svc.id)
    admin.identity.delete_region(region.id)
    with pytest.raises(sdk_exc.NotFoundException):
        admin.identity.get_region(region.id)
