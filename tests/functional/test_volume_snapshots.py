"""Snapshots through the running cloud: Cinder's lifecycle, metadata, actions, lists, and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.snapshot_support import (
    MISSING,
    attach,
    cinder,
    detach,
    error,
    make_snapshot,
    make_volume,
    wait_gone,
    wait_status,
)


@pytest.fixture(scope="module")
def demo_api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud) as client:
        yield client


@pytest.fixture(scope="module")
def admin_api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-admin") as client:
        yield client


@pytest.fixture(scope="module")
def alt_api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-alt") as client:
        yield client


@pytest.fixture(scope="module")
def volume(demo_api: httpx.Client) -> Iterator[dict[str, Any]]:
    vol = make_volume(demo_api)
    yield vol
    demo_api.post(f"/volumes/{vol['id']}/action", json={"os-reset_status": {"status": "available"}})
    demo_api.delete(f"/volumes/{vol['id']}", params={"cascade": "true"})


# --- without a volume -----------------------------------------------------------------------------


def test_create_of_a_missing_volume_is_404(demo_api: httpx.Client) -> None:
    r = demo_api.post("/snapshots", json={"snapshot": {"volume_id": MISSING, "name": "x"}})
    assert r.status_code == 404
    assert error(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    r = demo_api.post("/snapshots", json={"snapshot": {"volume_id": None, "name": "x"}})
    assert r.status_code == 404


def test_list_parameters_are_checked(demo_api: httpx.Client) -> None:
    assert demo_api.get("/snapshots", params={"limit": "invalid"}).status_code == 400
    assert demo_api.get("/snapshots", params={"sort_key": "invalid"}).status_code == 400
    assert demo_api.get("/snapshots", params={"sort": "name:sideways"}).status_code == 400
    r = demo_api.get("/snapshots", params={"marker": MISSING})
    assert r.status_code == 404
    assert demo_api.get("/snapshots/detail", params={"bogus": "1"}).status_code == 400  # 3.34+


def test_missing_snapshot_is_404_everywhere(demo_api: httpx.Client) -> None:
    assert demo_api.get(f"/snapshots/{MISSING}").status_code == 404
    assert demo_api.put(f"/snapshots/{MISSING}", json={"snapshot": {"name": "n"}}).status_code == 404
    assert demo_api.delete(f"/snapshots/{MISSING}").status_code == 404
    assert demo_api.get(f"/snapshots/{MISSING}/metadata").status_code == 404
    r = demo_api.post(f"/snapshots/{MISSING}/action", json={"os-update_snapshot_status": {"status": "error"}})
    assert r.status_code == 404


def test_admin_actions_need_admin(demo_api: httpx.Client) -> None:
    # Cinder finds the snapshot before the admin policy: a missing one is 404 (demo's own is 403,
    # test_unmanage_forgets_the_snapshot)
    r = demo_api.post(f"/snapshots/{MISSING}/action", json={"os-reset_status": {"status": "error"}})
    assert r.status_code == 404
    r = demo_api.post(f"/snapshots/{MISSING}/action", json={"os-force_delete": {}})
    assert r.status_code == 404


# --- with a volume ------------------------------------------------------------------------------------


def test_create_show_list_update_delete(cloud: RunningCloud, demo_api: httpx.Client, alt_api: httpx.Client,
                                        volume: dict[str, Any]) -> None:
    r = demo_api.post("/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": "s1",
                                                       "description": "d", "metadata": {"k": "v"}}})
    assert r.status_code == 202, r.text
    created = r.json()["snapshot"]
    assert created["status"] == "creating" and created["size"] == volume["size"]
    assert created["metadata"] == {"k": "v"} and created["user_id"]
    snap = wait_status(demo_api, f"/snapshots/{created['id']}", "snapshot", "available")
    assert snap["os-extended-snapshot-attributes:progress"] == "100%"
    assert snap["os-extended-snapshot-attributes:project_id"] == cloud.sdk("devstack").current_project_id
    assert snap["consumes_quota"] is True and snap["group_snapshot_id"] is None

    listed = demo_api.get("/snapshots", params={"volume_id": volume["id"]}).json()["snapshots"]
    assert [s["id"] for s in listed] == [snap["id"]]
    assert "os-extended-snapshot-attributes:progress" not in listed[0]
    detail = demo_api.get("/snapshots/detail", params={"name": "s1"}).json()["snapshots"]
    assert snap["id"] in [s["id"] for s in detail]
    assert demo_api.get("/snapshots", params={"metadata": '{"k": "v"}'}).json()["snapshots"][0]["id"] == snap["id"]
    assert demo_api.get("/snapshots", params={"metadata": '{"k": "other"}'}).json()["snapshots"] == []

    # The admin sees it with all_tenants (or naming the project), not in the admin's own list.
    admin = cinder(cloud, "devstack-admin")
    with admin:
        mine = [s["id"] for s in admin.get("/snapshots").json()["snapshots"]]
        everyone = [s["id"] for s in admin.get("/snapshots", params={"all_tenants": "1"}).json()["snapshots"]]
        project = cloud.sdk("devstack").current_project_id
        named = [s["id"] for s in admin.get("/snapshots", params={"all_tenants": "1", "project_id": project})
                 .json()["snapshots"]]
    assert snap["id"] not in mine and snap["id"] in everyone and snap["id"] in named
    # Another project sees nothing of it.
    assert alt_api.get(f"/snapshots/{snap['id']}").status_code == 404
    for params in ({}, {"all_tenants": "1"}):
        assert snap["id"] not in [s["id"] for s in alt_api.get("/snapshots", params=params).json()["snapshots"]]

    r = demo_api.put(f"/snapshots/{snap['id']}", json={"snapshot": {"name": "s2", "description": "d2"}})
    assert r.status_code == 200
    assert (r.json()["snapshot"]["name"], r.json()["snapshot"]["description"]) == ("s2", "d2")

    # A volume with snapshots cannot go (without cascade).
    assert demo_api.delete(f"/volumes/{volume['id']}").status_code == 400

    assert demo_api.delete(f"/snapshots/{snap['id']}").status_code == 202
    wait_gone(demo_api, f"/snapshots/{snap['id']}")


def test_paging_and_count(demo_api: httpx.Client, volume: dict[str, Any]) -> None:
    made = [make_snapshot(demo_api, volume["id"], name=f"page-{i}")["id"] for i in range(3)]
    ids = set(made)
    try:
        # Newest first by default, even when made within one second (Tempest's marker test).
        newest_first = [s["id"] for s in demo_api.get("/snapshots", params={"volume_id": volume["id"]})
                        .json()["snapshots"]]
        assert newest_first == made[::-1]
        after = demo_api.get("/snapshots", params={"volume_id": volume["id"], "marker": made[1]}).json()
        assert [s["id"] for s in after["snapshots"]] == made[:1]
        page = demo_api.get("/snapshots", params={"volume_id": volume["id"], "offset": 2, "limit": 3}).json()
        assert [s["id"] for s in page["snapshots"]] == made[:1]
        by_name = demo_api.get("/snapshots", params={"volume_id": volume["id"], "sort_key": "display_name",
                                                      "sort_dir": "asc"}).json()["snapshots"]
        assert [s["name"] for s in by_name] == ["page-0", "page-1", "page-2"]
        r = demo_api.get("/snapshots", params={"limit": 2, "sort": "name:asc", "with_count": "true",
                                                 "volume_id": volume["id"]})
        body = r.json()
        assert body["count"] == 3
        assert [s["name"] for s in body["snapshots"]] == ["page-0", "page-1"]
        next_href = body["snapshots_links"][0]["href"]
        rest = demo_api.get(next_href).json()
        assert [s["name"] for s in rest["snapshots"]] == ["page-2"]
        assert "snapshots_links" not in rest
    finally:
        for snap_id in ids:
            demo_api.delete(f"/snapshots/{snap_id}")
        for snap_id in ids:
            wait_gone(demo_api, f"/snapshots/{snap_id}")


def test_metadata_crud(demo_api: httpx.Client, volume: dict[str, Any]) -> None:
    snap = make_snapshot(demo_api, volume["id"])
    path = f"/snapshots/{snap['id']}/metadata"
    try:
        r = demo_api.post(path, json={"metadata": {"a": "1", "b": "2"}})
        assert r.status_code == 200 and r.json()["metadata"] == {"a": "1", "b": "2"}
        r = demo_api.post(path, json={"metadata": {"b": "3", "c": "4"}})
        assert r.json()["metadata"] == {"a": "1", "b": "3", "c": "4"}
        r = demo_api.put(path, json={"metadata": {"z": "9"}})
        assert r.json()["metadata"] == {"z": "9"}
        assert demo_api.get(path).json() == {"metadata": {"z": "9"}}
        assert demo_api.put(f"{path}/z", json={"meta": {"z": "10"}}).json() == {"meta": {"z": "10"}}
        assert demo_api.get(f"{path}/z").json() == {"meta": {"z": "10"}}
        assert demo_api.put(f"{path}/z", json={"meta": {"y": "1"}}).status_code == 400
        assert demo_api.put(f"{path}/z", json={"meta": {"z": "1", "y": "2"}}).status_code == 400
        assert demo_api.post(path, json={"metadata": {"k": "v" * 256}}).status_code == 400
        assert demo_api.delete(f"{path}/z").status_code == 200
        assert demo_api.get(f"{path}/z").status_code == 404
        assert demo_api.delete(f"{path}/z").status_code == 404
        assert demo_api.get(path).json() == {"metadata": {}}
    finally:
        demo_api.delete(f"/snapshots/{snap['id']}")
        wait_gone(demo_api, f"/snapshots/{snap['id']}")


def test_status_actions(demo_api: httpx.Client, admin_api: httpx.Client, volume: dict[str, Any]) -> None:
    snap = make_snapshot(demo_api, volume["id"])
    action = f"/snapshots/{snap['id']}/action"

    def from_creating(update: dict[str, Any]) -> httpx.Response:
        """Reset to creating, then send ``update``. The volume agent's reconcile pass reports a
        ``creating`` snapshot whose file exists as made (available): if a pass came between the
        two requests, try again (bounded)."""
        deadline = time.monotonic() + 60
        while True:
            assert admin_api.post(action, json={"os-reset_status": {"status": "creating"}}).status_code == 202
            r = demo_api.post(action, json={"os-update_snapshot_status": update})
            if "status available" not in r.text or time.monotonic() > deadline:
                return r

    assert admin_api.post(action, json={"os-reset_status": {"status": "bogus"}}).status_code == 400
    for bad in ("80", "101%", "x" * 300, 80):
        r = demo_api.post(action, json={"os-update_snapshot_status": {"status": "error", "progress": bad}})
        assert r.status_code == 400, bad
    r = from_creating({"status": "error", "progress": "80%"})
    assert r.status_code == 202, r.text
    shown = admin_api.get(f"/snapshots/{snap['id']}").json()["snapshot"]
    assert (shown["status"], shown["os-extended-snapshot-attributes:progress"]) == ("error", "80%")
    # From error, a service may report nothing more.
    r = demo_api.post(action, json={"os-update_snapshot_status": {"status": "available"}})
    assert r.status_code == 400
    assert error(r, "badRequest") == "Snapshot status error not allowed for update_snapshot_status"
    r = from_creating({"status": "error_deleting"})
    assert error(r, "badRequest") == ("Provided snapshot status error_deleting not allowed for snapshot with "
                                      "status creating.")
    # Only a force delete takes a snapshot in these states. (Not ``creating``: the agent's pass
    # may make it available between the reset and the DELETE, which would then delete it.)
    for status in ("error_deleting", "deleting"):
        assert admin_api.post(action, json={"os-reset_status": {"status": status}}).status_code == 202
        r = demo_api.delete(f"/snapshots/{snap['id']}")
        assert r.status_code == 400
        assert error(r, "badRequest") == ("Invalid snapshot: Snapshot status must be available or error and must "
                                          "not be part of a group.")
    assert admin_api.post(action, json={"os-force_delete": {}}).status_code == 202
    wait_gone(demo_api, f"/snapshots/{snap['id']}")


def test_in_use_needs_force_before_3_66(demo_api: httpx.Client, cloud: RunningCloud) -> None:
    volume = make_volume(demo_api)
    attachment = attach(demo_api, volume["id"])
    try:
        with cinder(cloud, mv="3.65") as old:
            r = old.post("/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
            assert r.status_code == 400
            assert error(r, "badRequest") == (f"Invalid volume: Volume {volume['id']} status must be available, "
                                             f"but current status is: in-use.")
            r = old.post("/snapshots", json={"snapshot": {"volume_id": volume["id"], "force": True}})
            assert r.status_code == 202, r.text
            forced = wait_status(demo_api, f"/snapshots/{r.json()['snapshot']['id']}", "snapshot", "available")
        r = demo_api.post("/snapshots", json={"snapshot": {"volume_id": volume["id"], "force": False}})
        assert r.status_code == 400 and "3.66" in error(r, "badRequest")
        r = demo_api.post("/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
        assert r.status_code == 202, r.text
        snap = wait_status(demo_api, f"/snapshots/{r.json()['snapshot']['id']}", "snapshot", "available")
        for snap_id in (forced["id"], snap["id"]):
            assert demo_api.delete(f"/snapshots/{snap_id}").status_code == 202
            wait_gone(demo_api, f"/snapshots/{snap_id}")
    finally:
        detach(demo_api, volume["id"], attachment)
        demo_api.delete(f"/volumes/{volume['id']}", params={"cascade": "true"})


def test_quota(demo_api: httpx.Client, admin_api: httpx.Client, cloud: RunningCloud,
               volume: dict[str, Any]) -> None:
    project = cloud.sdk("devstack").current_project_id
    r = admin_api.put(f"/os-quota-sets/{project}", json={"quota_set": {"snapshots": 0}})
    assert r.status_code == 200, r.text
    try:
        r = demo_api.post("/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
        assert r.status_code == 413
        assert error(r, "overLimit") == "Maximum number of snapshots allowed (0) exceeded"
        # A snapshot counts in gigabytes too (Cinder's no_snapshot_gb_quota is off).
        r = admin_api.put(f"/os-quota-sets/{project}", json={"quota_set": {"snapshots": 10, "gigabytes": 0}})
        assert r.status_code == 200, r.text
        r = demo_api.post("/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
        assert r.status_code == 413
        assert error(r, "overLimit").startswith("Requested volume or snapshot exceeds allowed gigabytes quota. "
                                                f"Requested {volume['size']}G, quota is 0G and ")
        assert demo_api.get("/snapshots", params={"volume_id": volume["id"]}).json()["snapshots"] == []
    finally:
        admin_api.put(f"/os-quota-sets/{project}", json={"quota_set": {"snapshots": 10, "gigabytes": 1000}})


def test_unmanage_forgets_the_snapshot(demo_api: httpx.Client, admin_api: httpx.Client,
                                       volume: dict[str, Any]) -> None:
    snap = make_snapshot(demo_api, volume["id"])
    action = f"/snapshots/{snap['id']}/action"
    assert demo_api.post(action, json={"os-unmanage": {}}).status_code == 403
    assert admin_api.post(action, json={"os-unmanage": {}}).status_code == 202
    assert demo_api.get(f"/snapshots/{snap['id']}").status_code == 404
    r = demo_api.post(action, json={"os-bogus": {}})
    assert r.status_code == 400
    assert error(r, "badRequest") == "There is no such action: os-bogus"


def test_openstacksdk_and_cli(cloud: RunningCloud, demo: Any, volume: dict[str, Any]) -> None:
    snap = demo.block_storage.create_snapshot(volume_id=volume["id"], name="sdk-snap", metadata={"s": "1"})
    snap = demo.block_storage.wait_for_status(snap, "available", wait=60)
    assert snap.volume_id == volume["id"] and snap.metadata == {"s": "1"}
    assert "sdk-snap" in [s.name for s in demo.block_storage.snapshots(details=True)]
    shown = cloud.cli("volume", "snapshot", "show", snap.id, cloud="devstack")
    assert shown["name"] == "sdk-snap" and shown["status"] == "available"
    cloud.cli("volume", "snapshot", "set", "--name", "cli-snap", "--property", "p=2", snap.id, cloud="devstack",
              json_out=False)
    again = demo.block_storage.get_snapshot(snap.id)
    assert again.name == "cli-snap" and again.metadata == {"s": "1", "p": "2"}
    listed = cloud.cli("volume", "snapshot", "list", "--volume", volume["id"], cloud="devstack")
    assert [s["ID"] for s in listed] == [snap.id]
    cloud.cli("volume", "snapshot", "delete", snap.id, cloud="devstack", json_out=False)
    demo.block_storage.wait_for_delete(snap, wait=60)
