"""Volume transfers through the running cloud: demo offers, alt accepts; keys, lists, errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.snapshot_support import (
    MISSING,
    cinder,
    error,
    make_snapshot,
    make_volume,
    wait_status,
)


@pytest.fixture(scope="module")
def demo_api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud) as client:
        yield client


@pytest.fixture(scope="module")
def alt_api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-alt") as client:
        yield client


@pytest.fixture(scope="module")
def admin_api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-admin") as client:
        yield client


def test_errors_without_a_volume(demo_api: httpx.Client) -> None:
    r = demo_api.post("/os-volume-transfer", json={"transfer": {"volume_id": MISSING}})
    assert r.status_code == 404
    assert error(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    assert demo_api.post("/os-volume-transfer", json={"transfer": {}}).status_code == 400
    assert demo_api.post("/os-volume-transfer", json={}).status_code == 400
    assert demo_api.get(f"/os-volume-transfer/{MISSING}").status_code == 404
    assert demo_api.delete(f"/volume-transfers/{MISSING}").status_code == 404
    r = demo_api.post(f"/os-volume-transfer/{MISSING}/accept", json={"accept": {"auth_key": "x"}})
    assert r.status_code == 404
    assert error(r, "itemNotFound") == f"Transfer {MISSING} could not be found."


def test_new_api_needs_3_55(cloud: RunningCloud) -> None:
    with cinder(cloud, mv="3.54") as old:
        assert old.get("/volume-transfers").status_code == 404
        assert old.get("/os-volume-transfer").status_code == 200


def test_accept_moves_the_volume_and_its_snapshots(cloud: RunningCloud, demo_api: httpx.Client,
                                                   alt_api: httpx.Client, admin_api: httpx.Client) -> None:
    volume = make_volume(demo_api)
    snap = make_snapshot(demo_api, volume["id"])
    r = demo_api.post("/volume-transfers", json={"transfer": {"volume_id": volume["id"], "name": "t1"}})
    assert r.status_code == 202, r.text
    created = r.json()["transfer"]
    assert len(created["auth_key"]) == 16 and created["no_snapshots"] is False
    assert created["links"][0]["href"].endswith(f"/volume-transfers/{created['id']}")
    transfer_id, auth_key = created["id"], created["auth_key"]
    wait_status(demo_api, f"/volumes/{volume['id']}", "volume", "awaiting-transfer")

    shown = demo_api.get(f"/volume-transfers/{transfer_id}").json()["transfer"]
    assert shown["volume_id"] == volume["id"] and "auth_key" not in shown
    assert shown["source_project_id"] == cloud.sdk("devstack").current_project_id
    listed = demo_api.get("/os-volume-transfer").json()["transfers"]
    assert transfer_id in [t["id"] for t in listed] and set(listed[0]) == {"id", "name", "volume_id", "links"}
    assert volume["id"] in [t["volume_id"] for t in demo_api.get("/os-volume-transfer/detail").json()["transfers"]]
    # Alt cannot see it, only take it with the key.
    assert alt_api.get(f"/volume-transfers/{transfer_id}").status_code == 404
    assert transfer_id not in [t["id"] for t in alt_api.get("/volume-transfers").json()["transfers"]]

    r = alt_api.post(f"/volume-transfers/{transfer_id}/accept", json={"accept": {"auth_key": "wrong"}})
    assert r.status_code == 400
    assert error(r, "badRequest") == (f"Invalid auth key: Attempt to transfer {transfer_id} with invalid "
                                      f"auth key.")
    assert demo_api.get(f"/volumes/{volume['id']}").json()["volume"]["status"] == "awaiting-transfer"

    r = alt_api.post(f"/volume-transfers/{transfer_id}/accept", json={"accept": {"auth_key": auth_key}})
    assert r.status_code == 202, r.text
    assert r.json()["transfer"]["id"] == transfer_id
    alt_ids = cloud.sdk("devstack-alt")
    moved = wait_status(alt_api, f"/volumes/{volume['id']}", "volume", "available")
    assert moved["user_id"] == alt_ids.current_user_id
    # The new owner (a project member, as in Tempest) sees its project in the tenant attribute.
    assert moved["os-vol-tenant-attr:tenant_id"] == alt_ids.current_project_id
    assert admin_api.get(f"/volumes/{volume['id']}").json()["volume"]["os-vol-tenant-attr:tenant_id"] == \
        alt_ids.current_project_id
    assert demo_api.get(f"/volumes/{volume['id']}").status_code == 404
    assert demo_api.get(f"/snapshots/{snap['id']}").status_code == 404
    assert alt_api.get(f"/snapshots/{snap['id']}").json()["snapshot"]["user_id"] == alt_ids.current_user_id
    assert demo_api.get(f"/volume-transfers/{transfer_id}").status_code == 404

    alt_api.delete(f"/volumes/{volume['id']}", params={"cascade": "true"})


def test_delete_gives_the_volume_back(demo_api: httpx.Client) -> None:
    volume = make_volume(demo_api)
    r = demo_api.post("/os-volume-transfer", json={"transfer": {"volume_id": volume["id"]}})
    assert r.status_code == 202
    transfer_id = r.json()["transfer"]["id"]
    # Not twice, and not while awaiting transfer.
    r = demo_api.post("/os-volume-transfer", json={"transfer": {"volume_id": volume["id"]}})
    assert r.status_code == 400
    assert error(r, "badRequest") == "Invalid volume: status must be available"
    assert demo_api.delete(f"/os-volume-transfer/{transfer_id}").status_code == 202
    wait_status(demo_api, f"/volumes/{volume['id']}", "volume", "available")
    assert demo_api.get(f"/os-volume-transfer/{transfer_id}").status_code == 404
    demo_api.delete(f"/volumes/{volume['id']}")


def test_accept_checks_the_receivers_quota(cloud: RunningCloud, demo_api: httpx.Client, alt_api: httpx.Client,
                                           admin_api: httpx.Client) -> None:
    alt_project = cloud.sdk("devstack-alt").current_project_id
    r = admin_api.put(f"/os-quota-sets/{alt_project}", json={"quota_set": {"volumes": 0}})
    assert r.status_code == 200, r.text
    volume = make_volume(demo_api)
    try:
        created = demo_api.post("/os-volume-transfer", json={"transfer": {"volume_id": volume["id"]}}).json()
        transfer = created["transfer"]
        r = alt_api.post(f"/os-volume-transfer/{transfer['id']}/accept",
                         json={"accept": {"auth_key": transfer["auth_key"]}})
        assert r.status_code == 413
        assert demo_api.get(f"/volumes/{volume['id']}").json()["volume"]["status"] == "awaiting-transfer"
        demo_api.delete(f"/os-volume-transfer/{transfer['id']}")
    finally:
        admin_api.put(f"/os-quota-sets/{alt_project}", json={"quota_set": {"volumes": 10}})
        wait_status(demo_api, f"/volumes/{volume['id']}", "volume", "available")
        demo_api.delete(f"/volumes/{volume['id']}")



def test_cli(cloud: RunningCloud, demo_api: httpx.Client, alt_api: httpx.Client) -> None:
    volume = make_volume(demo_api)
    created = cloud.cli("volume", "transfer", "request", "create", "--name", "cli-t", volume["id"],
                        cloud="devstack")
    assert created["auth_key"] and created["volume_id"] == volume["id"]
    listed = cloud.cli("volume", "transfer", "request", "list", cloud="devstack")
    assert created["id"] in [t["ID"] for t in listed]
    cloud.cli("volume", "transfer", "request", "accept", "--auth-key", created["auth_key"], created["id"],
              cloud="devstack-alt")
    wait_status(alt_api, f"/volumes/{volume['id']}", "volume", "available")
    assert demo_api.get(f"/volumes/{volume['id']}").status_code == 404
    alt_api.delete(f"/volumes/{volume['id']}")
