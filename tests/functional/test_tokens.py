"""Token issue / validate / revoke through the official clients."""

from __future__ import annotations

from typing import Any

import pytest
from keystoneauth1 import exceptions as ks_exc

from tests.functional.cloud import RunningCloud


def test_cli_token_issue_demo(cloud: RunningCloud) -> None:
    token = cloud.cli("token", "issue", cloud="devstack")
    assert token["id"].startswith("gAAAAA")
    project = cloud.cli("project", "show", "demo")
    assert token["project_id"] == project["id"]


def test_system_scoped_token(cloud: RunningCloud) -> None:
    token = cloud.cli("token", "issue", cloud="devstack-system-admin")
    assert token["system"] == "all"


def test_validate_and_revoke(cloud: RunningCloud, admin: Any) -> None:
    # A connection of its own: revoking the shared demo session's token would break other tests.
    token = cloud.sdk("devstack").session.get_token()
    resp = admin.session.get("/v3/auth/tokens", endpoint_filter={"service_type": "identity"},
                             headers={"X-Subject-Token": token})
    assert resp.status_code == 200
    body = resp.json()["token"]
    assert body["project"]["name"] == "demo"
    assert {r["name"] for r in body["roles"]} >= {"member", "reader"}
    assert body["catalog"], "a scoped token carries the catalog"
    resp = admin.session.delete("/v3/auth/tokens", endpoint_filter={"service_type": "identity"},
                                headers={"X-Subject-Token": token})
    assert resp.status_code == 204
    with pytest.raises(ks_exc.NotFound):
        admin.session.get("/v3/auth/tokens", endpoint_filter={"service_type": "identity"},
                          headers={"X-Subject-Token": token})
