"""Defects a held-out client suite found: each test drives the client (or HTTP) the way it was seen."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call, module_cloud

ccloud = module_cloud("client-defects")
IMAGE = "onestack-tiny-x86_64-disk"


def test_endpoint_group_without_description_shows_null(cadmin: Any) -> None:
    resp = call(cadmin, "POST", "/v3/OS-EP-FILTER/endpoint_groups", service="identity",
                body={"endpoint_group": {"name": "eg-nodesc", "filters": {"interface": "public"}}})
    assert resp.status_code == 201, resp.text
    group = resp.json()["endpoint_group"]
    assert group["description"] is None
    shown = call(cadmin, "GET", f"/v3/OS-EP-FILTER/endpoint_groups/{group['id']}", service="identity")
    assert shown.json()["endpoint_group"]["description"] is None


def test_provider_aggregates_read_back_as_set_through_sdk(cadmin: Any) -> None:
    rp = cadmin.placement.create_resource_provider(name=f"agg-{uuid.uuid4().hex[:8]}")
    aggregates = [uuid.uuid4().hex, uuid.uuid4().hex]  # as openstacksdk's own functional test sets them
    updated = cadmin.placement.set_resource_provider_aggregates(rp, *aggregates)
    assert sorted(updated.aggregates) == sorted(aggregates)
    fetched = cadmin.placement.fetch_resource_provider_aggregates(rp)
    assert sorted(fetched.aggregates) == sorted(aggregates)
    listed = call(cadmin, "GET", f"/resource_providers?member_of={aggregates[0]}", service="placement",
                  headers={"OpenStack-API-Version": "placement 1.20"})
    assert [p["uuid"] for p in listed.json()["resource_providers"]] == [rp.id]


def test_untyped_consumer_shows_unknown_type_at_1_38(cadmin: Any) -> None:
    rp = cadmin.placement.create_resource_provider(name=f"use-{uuid.uuid4().hex[:8]}")
    resp = call(cadmin, "PUT", f"/resource_providers/{rp.id}/inventories", service="placement",
                headers={"OpenStack-API-Version": "placement 1.28"},
                body={"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}})
    assert resp.status_code == 200, resp.text
    project = uuid.uuid4().hex
    consumer = str(uuid.uuid4())
    resp = call(cadmin, "PUT", f"/allocations/{consumer}", service="placement",
                headers={"OpenStack-API-Version": "placement 1.28"},
                body={"allocations": {rp.id: {"resources": {"VCPU": 1}}}, "project_id": project,
                      "user_id": uuid.uuid4().hex, "consumer_generation": None})
    assert resp.status_code == 204, resp.text
    v138 = {"OpenStack-API-Version": "placement 1.38"}
    shown = call(cadmin, "GET", f"/allocations/{consumer}", service="placement", headers=v138).json()
    assert shown["consumer_type"] == "unknown"
    usages = call(cadmin, "GET", f"/usages?project_id={project}", service="placement", headers=v138).json()
    assert usages == {"usages": {"unknown": {"VCPU": 1, "consumer_count": 1}}}


@pytest.fixture(scope="module")
def server(cdemo: Any) -> Any:
    image = cdemo.image.find_image(IMAGE, ignore_missing=False)
    flavor = cdemo.compute.find_flavor("m1.tiny", ignore_missing=False)
    made = cdemo.compute.create_server(name="defects-vm", image_id=image.id, flavor_id=flavor.id, networks="none")
    return wait_until(lambda: (s := cdemo.compute.get_server(made.id)).status == "ACTIVE" and s,
                      timeout=60, what="server ACTIVE")


def test_server_topology_at_2_78(cdemo: Any, cadmin: Any, server: Any) -> None:
    for conn in (cdemo, cadmin):
        resp = call(conn, "GET", f"/servers/{server.id}/topology", "2.78")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"nodes": [], "pagesize_kb": None}
    assert call(cdemo, "GET", f"/servers/{server.id}/topology", "2.77").status_code == 404


def test_removed_api_answers_gone(cdemo: Any) -> None:
    resp = call(cdemo, "GET", "/os-fping", "2.1")
    assert resp.status_code == 410, resp.text


def test_changes_before_takes_in_the_shown_second(cdemo: Any, server: Any) -> None:
    shown = server.updated_at  # "2026-12-06T11:20:34Z": seconds, the stored value has a fraction
    assert shown.endswith("Z") and "." not in shown
    ids = [s.id for s in cdemo.compute.servers(changes_before=shown)]
    assert server.id in ids
    ids = [s.id for s in cdemo.compute.servers(changes_since=shown)]
    assert server.id in ids
    earlier = (datetime.fromisoformat(shown) - timedelta(seconds=1)).isoformat()
    assert server.id not in [s.id for s in cdemo.compute.servers(changes_before=earlier)]


def test_instance_actions_time_bounds_take_in_the_shown_time(cdemo: Any, server: Any) -> None:
    """Actions show microseconds (as Nova's do), so their bounds compare exactly; a second-only bound
    takes in the whole second."""
    path = f"/servers/{server.id}/os-instance-actions"
    actions = call(cdemo, "GET", path, "2.66").json()["instanceActions"]
    create = next(a for a in actions if a["action"] == "create")
    shown = create["updated_at"]
    second = shown.split(".")[0]
    for bound, value in (("changes-before", shown), ("changes-since", shown), ("changes-before", second)):
        listed = call(cdemo, "GET", f"{path}?{bound}={value}", "2.66").json()["instanceActions"]
        assert create["request_id"] in [a["request_id"] for a in listed], (bound, value)


def test_version_by_id(ccloud: RunningCloud) -> None:
    """GET /v2.1/versions/{id} (in the API description from 2.1): either version's document, else 404."""
    for version_id in ("v2.1", "v2.0"):
        resp = httpx.get(f"{ccloud.base_url}/compute/v2.1/versions/{version_id}", timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.json()["version"]["id"] == version_id
    missing = httpx.get(f"{ccloud.base_url}/compute/v2.1/versions/v3.0", timeout=30)
    assert missing.status_code == 404 and list(missing.json()) == ["itemNotFound"]
