"""/v3/policies, OS-ENDPOINT-POLICY associations and /v3/OS-REVOKE/events."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}
EXT = "OS-ENDPOINT-POLICY"


def call(conn: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    kwargs: dict[str, Any] = {"endpoint_filter": IDENTITY, "raise_exc": False, "headers": headers or {}}
    if body is not None:
        kwargs["json"] = body
    return conn.session.request(path, method, **kwargs)


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_policy_cli_lifecycle(cloud: RunningCloud, tmp_path: Path) -> None:
    blob = tmp_path / "policy.json"
    blob.write_text('{"compute:start": "role:member"}')
    ptype = uniq("application/json")
    made = cloud.cli("policy", "create", "--type", ptype, str(blob))
    assert made["type"] == ptype and "compute:start" in made["rules"]
    assert any(p["ID"] == made["id"] for p in cloud.cli("policy", "list"))
    cloud.cli("policy", "set", "--type", "text/plain", made["id"], json_out=False)
    assert cloud.cli("policy", "show", made["id"])["type"] == "text/plain"
    cloud.cli("policy", "delete", made["id"], json_out=False)
    assert cloud.cli("policy", "show", made["id"], check=False).returncode != 0


def test_policy_negatives(admin: Any, demo: Any) -> None:
    before = call(admin, "GET", "/v3/policies").json()["policies"]
    assert call(admin, "POST", "/v3/policies", {"policy": {"type": "x"}}).status_code == 400
    assert call(admin, "POST", "/v3/policies", {"policy": {"blob": 5, "type": "x"}}).status_code == 400
    assert call(demo, "POST", "/v3/policies", {"policy": {"blob": "{}", "type": "x"}}).status_code == 403
    assert call(demo, "GET", "/v3/policies").status_code == 403
    assert call(admin, "GET", "/v3/policies").json()["policies"] == before
    assert call(admin, "GET", f"/v3/policies/{uniq('p')}").status_code == 404


def _endpoint(admin: Any, region: str) -> tuple[str, str]:
    sid = call(admin, "POST", "/v3/services", {"service": {"type": uniq("pt")}}).json()["service"]["id"]
    body = {"endpoint": {"service_id": sid, "interface": "public", "url": "http://p.example/", "region_id": region}}
    return sid, call(admin, "POST", "/v3/endpoints", body).json()["endpoint"]["id"]


def test_endpoint_policy_associations(admin: Any) -> None:
    parent = call(admin, "POST", "/v3/regions", {"region": {}}).json()["region"]["id"]
    child = call(admin, "POST", "/v3/regions", {"region": {"parent_region_id": parent}}).json()["region"]["id"]
    sid, eid = _endpoint(admin, child)
    pol = [call(admin, "POST", "/v3/policies", {"policy": {"blob": "{}", "type": "t"}}).json()["policy"]["id"]
           for _ in range(3)]
    assert call(admin, "GET", f"/v3/endpoints/{eid}/{EXT}/policy").status_code == 404

    # Least specific first: service, then service in the parent region, then the endpoint itself.
    steps = [(pol[0], f"services/{sid}"), (pol[1], f"services/{sid}/regions/{parent}"), (pol[2], f"endpoints/{eid}")]
    for policy_id, suffix in steps:
        path = f"/v3/policies/{policy_id}/{EXT}/{suffix}"
        assert call(admin, "GET", path).status_code == 404
        assert call(admin, "PUT", path).status_code == 204
        assert call(admin, "HEAD", path).status_code == 204
        effective = call(admin, "GET", f"/v3/endpoints/{eid}/{EXT}/policy").json()["policy"]["id"]
        assert effective == policy_id
        listed = call(admin, "GET", f"/v3/policies/{policy_id}/{EXT}/endpoints").json()["endpoints"]
        assert [e["id"] for e in listed] == [eid]

    missing = uniq("x")
    assert call(admin, "PUT", f"/v3/policies/{missing}/{EXT}/endpoints/{eid}").status_code == 404
    assert call(admin, "PUT", f"/v3/policies/{pol[0]}/{EXT}/endpoints/{missing}").status_code == 404
    assert call(admin, "PUT", f"/v3/policies/{pol[0]}/{EXT}/services/{sid}/regions/{missing}").status_code == 404

    assert call(admin, "DELETE", f"/v3/policies/{pol[2]}/{EXT}/endpoints/{eid}").status_code == 204
    assert call(admin, "GET", f"/v3/endpoints/{eid}/{EXT}/policy").json()["policy"]["id"] == pol[1]
    assert call(admin, "DELETE", f"/v3/policies/{pol[2]}/{EXT}/endpoints/{eid}").status_code == 404
    # Deleting the policy drops its associations.
    assert call(admin, "DELETE", f"/v3/policies/{pol[1]}").status_code == 204
    assert call(admin, "GET", f"/v3/endpoints/{eid}/{EXT}/policy").json()["policy"]["id"] == pol[0]


def test_revoke_events(admin: Any, cloud: RunningCloud) -> None:
    victim = cloud.sdk("devstack")
    token = victim.session.get_token()
    start = call(admin, "GET", "/v3/OS-REVOKE/events")
    assert start.status_code == 200
    assert call(admin, "DELETE", "/v3/auth/tokens", headers={"X-Subject-Token": token}).status_code == 204
    events = call(admin, "GET", "/v3/OS-REVOKE/events").json()["events"]
    assert len(events) == len(start.json()["events"]) + 1
    newest = events[-1]
    assert "issued_before" in newest and "audit_id" in newest
    later = call(admin, "GET", "/v3/OS-REVOKE/events?since=2999-01-01T00:00:00Z").json()["events"]
    assert later == []
    assert call(admin, "GET", "/v3/OS-REVOKE/events?since=yesterday").status_code == 400
    demo = cloud.sdk("devstack")
    assert call(demo, "GET", "/v3/OS-REVOKE/events").status_code == 403
