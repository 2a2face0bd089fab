"""Compute server groups: policies per microversion, rules, visibility, quota."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import call, module_cloud

ccloud = module_cloud("compute-sg", {"ONESTACK_COMPUTE__ENABLED": "true"})


def uniq() -> str:
    return f"sg-{uuid.uuid4().hex[:10]}"


def test_cli_lifecycle(ccloud: RunningCloud) -> None:
    name = uniq()
    created = ccloud.cli("server", "group", "create", "--policy", "soft-anti-affinity", name, cloud="devstack")
    assert created["name"] == name and created["policy"] == "soft-anti-affinity" and created["members"] == []
    shown = ccloud.cli("server", "group", "show", name, cloud="devstack")
    assert shown["id"] == created["id"]
    assert name in [g["Name"] for g in ccloud.cli("server", "group", "list", cloud="devstack")]
    ccloud.cli("server", "group", "delete", name, cloud="devstack", json_out=False)
    assert ccloud.cli("server", "group", "show", name, cloud="devstack", check=False).returncode != 0


def test_versions_shape(cdemo: Any) -> None:
    old = call(cdemo, "POST", "/os-server-groups", body={"server_group": {"name": uniq(), "policies": ["affinity"]}})
    assert old.status_code == 200
    group = old.json()["server_group"]
    assert group["policies"] == ["affinity"] and group["metadata"] == {} and "project_id" not in group
    at_213 = call(cdemo, "GET", f"/os-server-groups/{group['id']}", mv="2.13").json()["server_group"]
    assert at_213["project_id"] == cdemo.current_project_id and at_213["user_id"] == cdemo.current_user_id
    at_264 = call(cdemo, "GET", f"/os-server-groups/{group['id']}", mv="2.64").json()["server_group"]
    assert at_264["policy"] == "affinity" and at_264["rules"] == {} and "policies" not in at_264
    ruled = call(cdemo, "POST", "/os-server-groups", mv="2.64", body={"server_group": {
        "name": uniq(), "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}})
    assert ruled.status_code == 200 and ruled.json()["server_group"]["rules"] == {"max_server_per_host": 2}
    for gid in (group["id"], ruled.json()["server_group"]["id"]):
        assert call(cdemo, "DELETE", f"/os-server-groups/{gid}").status_code == 204


def test_negatives(cdemo: Any, ccloud: RunningCloud) -> None:
    before = call(cdemo, "GET", "/os-server-groups").json()["server_groups"]
    bad_bodies = [
        (None, {"name": uniq(), "policies": ["soft-affinity"]}),  # soft policies need 2.15
        (None, {"name": uniq(), "policies": ["affinity", "anti-affinity"]}),
        (None, {"name": "", "policies": ["affinity"]}),
        (None, {"name": uniq(), "policies": ["bogus"]}),
        ("2.64", {"name": uniq(), "policy": "affinity", "rules": {"max_server_per_host": 2}}),
        ("2.64", {"name": uniq(), "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}),
        ("2.64", {"name": uniq(), "policies": ["affinity"]}),
    ]
    for mv, body in bad_bodies:
        resp = call(cdemo, "POST", "/os-server-groups", mv=mv, body={"server_group": body})
        assert resp.status_code == 400, (mv, body, resp.text)
        assert "badRequest" in resp.json()
    assert call(cdemo, "GET", "/os-server-groups").json()["server_groups"] == before
    missing = call(cdemo, "GET", f"/os-server-groups/{uuid.uuid4()}")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()
    assert call(cdemo, "DELETE", f"/os-server-groups/{uuid.uuid4()}").status_code == 404


def test_visibility_and_all_projects(cadmin: Any, cdemo: Any, ccloud: RunningCloud) -> None:
    alt = ccloud.sdk("devstack-alt")
    gid = call(cdemo, "POST", "/os-server-groups", body={"server_group": {
        "name": uniq(), "policies": ["anti-affinity"]}}).json()["server_group"]["id"]
    assert gid not in [g["id"] for g in call(alt, "GET", "/os-server-groups").json()["server_groups"]]
    # Nova scopes a non-admin's group lookup to its project: another project's group is not found
    assert call(alt, "GET", f"/os-server-groups/{gid}").status_code == 404
    assert call(alt, "DELETE", f"/os-server-groups/{gid}").status_code == 404
    assert gid not in [g["id"] for g in call(alt, "GET", "/os-server-groups?all_projects=1").json()["server_groups"]]
    assert gid not in [g["id"] for g in call(cadmin, "GET", "/os-server-groups").json()["server_groups"]]
    assert gid in [g["id"] for g in call(cadmin, "GET", "/os-server-groups?all_projects=1").json()["server_groups"]]
    assert call(cadmin, "DELETE", f"/os-server-groups/{gid}").status_code == 204


def test_quota(cadmin: Any, ccloud: RunningCloud) -> None:
    alt = ccloud.sdk("devstack-alt")
    project = alt.current_project_id
    assert call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"server_groups": 1}}).ok
    first = call(alt, "POST", "/os-server-groups", body={"server_group": {"name": uniq(), "policies": ["affinity"]}})
    assert first.status_code == 200
    over = call(alt, "POST", "/os-server-groups", body={"server_group": {"name": uniq(), "policies": ["affinity"]}})
    assert over.status_code == 403 and "Quota exceeded" in over.json()["forbidden"]["message"]
    assert len(call(alt, "GET", "/os-server-groups").json()["server_groups"]) == 1
    used = call(alt, "GET", "/limits").json()["limits"]["absolute"]
    assert used["totalServerGroupsUsed"] == 1 and used["maxServerGroups"] == 1
    call(alt, "DELETE", f"/os-server-groups/{first.json()['server_group']['id']}")
    call(cadmin, "DELETE", f"/os-quota-sets/{project}")


def test_sdk_server_groups(cdemo: Any) -> None:
    name = uniq()
    group = cdemo.compute.create_server_group(name=name, policy="affinity")
    assert cdemo.compute.get_server_group(group.id).name == name
    cdemo.compute.delete_server_group(group)
    assert cdemo.compute.find_server_group(name) is None
