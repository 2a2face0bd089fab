"""POST /volume/v3/volumes/{id}/action against a running cloud: each action's effect, Cinder's
status checks and messages, admin-only actions, and the compare-and-set reserve under a race."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.volume_support import (
    cinder,
    create_volume,
    error_of,
    get_volume,
    wait_gone,
    wait_volume,
)


@pytest.fixture(scope="module")
def demo_v(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack") as client:
        yield client


@pytest.fixture(scope="module")
def admin_v(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-admin") as client:
        yield client


@pytest.fixture(scope="module")
def alt_v(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-alt") as client:
        yield client


CREATED: list[str] = []


@pytest.fixture(autouse=True)
def cleanup(admin_v: httpx.Client) -> Iterator[None]:
    """Every volume a test made goes afterwards (the project's quota is 10 volumes)."""
    yield
    drop_all(admin_v)


def drop_all(admin_v: httpx.Client) -> None:
    while CREATED:
        volume_id = CREATED.pop()
        if get_volume(admin_v, volume_id) is None:
            continue
        act(admin_v, volume_id, "os-reset_status", {"status": "available", "attach_status": "detached"})
        assert act(admin_v, volume_id, "os-force_delete").status_code in (202, 404)
        wait_gone(admin_v, volume_id)


def available(client: httpx.Client, size: int = 1, **fields: Any) -> dict[str, Any]:
    volume = create_volume(client, size, **fields)
    CREATED.append(volume["id"])
    return wait_volume(client, volume["id"], "available")


def act(client: httpx.Client, volume_id: str, name: str, arg: Any = None) -> httpx.Response:
    return client.post(f"volumes/{volume_id}/action", json={name: {} if arg is None else arg})


def message(resp: httpx.Response, code: int) -> str:
    assert resp.status_code == code, resp.text
    return str(error_of(resp)["message"])


def test_extend_grows_the_volume_and_refuses_to_shrink(demo_v: httpx.Client, alt_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert act(demo_v, vol["id"], "os-extend", {"new_size": 1}).status_code == 400
    assert message(act(demo_v, vol["id"], "os-extend", {"new_size": 1}), 400) == (
        "Invalid input received: New size for extend must be greater than current size. (current: 1, extended: 1).")
    assert "new_size" in message(act(demo_v, vol["id"], "os-extend", {"new_size": "two"}), 400)
    # Another project's volume is not there for alt.
    assert act(alt_v, vol["id"], "os-extend", {"new_size": 2}).status_code == 404
    resp = act(demo_v, vol["id"], "os-extend", {"new_size": 2})
    assert resp.status_code == 202, resp.text
    grown = wait_until(lambda: (v := get_volume(demo_v, vol["id"])) and v["size"] == 2 and v["status"] == "available"
                       and v, timeout=60, what="extended volume")
    assert grown["size"] == 2


def test_extend_in_a_wrong_status_is_cinders_400(demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert act(admin_v, vol["id"], "os-reset_status", {"status": "error"}).status_code == 202
    assert message(act(demo_v, vol["id"], "os-extend", {"new_size": 3}), 400) == (
        f"Invalid volume: Volume {vol['id']} status must be '{{'status': 'available'}}' to extend, currently error.")
    assert get_volume(demo_v, vol["id"])["size"] == 1  # type: ignore[index]


def test_bootable_and_readonly_flags(cloud: RunningCloud, demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    sdk = cloud.sdk("devstack")
    for flag in (True, False):
        sdk.block_storage.set_volume_bootable_status(vol["id"], flag)
        assert get_volume(demo_v, vol["id"])["bootable"] == str(flag).lower()  # type: ignore[index]
        resp = act(demo_v, vol["id"], "os-update_readonly_flag", {"readonly": flag})
        assert resp.status_code == 202, resp.text
        assert get_volume(demo_v, vol["id"])["metadata"]["readonly"] == str(flag)  # type: ignore[index]
    assert "bootable" in message(act(demo_v, vol["id"], "os-set_bootable", {"bootable": "maybe"}), 400)
    assert act(demo_v, vol["id"], "os-set_bootable", {}).status_code == 400


def test_reserve_unreserve_and_detaching_states(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert act(demo_v, vol["id"], "os-reserve").status_code == 202
    assert get_volume(demo_v, vol["id"])["status"] == "attaching"  # type: ignore[index]
    assert message(act(demo_v, vol["id"], "os-reserve"), 400) == (
        "Invalid volume: Volume status must be available to reserve, but the status is attaching.")
    assert act(demo_v, vol["id"], "os-unreserve").status_code == 202
    assert get_volume(demo_v, vol["id"])["status"] == "available"  # type: ignore[index]
    assert message(act(demo_v, vol["id"], "os-begin_detaching"), 400) == (
        "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be "
        "'attached' to detach.")


def test_attach_and_detach(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    server = str(uuid.uuid4())
    resp = act(demo_v, vol["id"], "os-attach", {"instance_uuid": server, "mountpoint": "/dev/vdb"})
    assert resp.status_code == 202, resp.text
    shown = wait_volume(demo_v, vol["id"], "in-use")
    [attachment] = shown["attachments"]
    assert (attachment["id"], attachment["volume_id"], attachment["server_id"], attachment["device"]) == (
        vol["id"], vol["id"], server, "/dev/vdb")
    assert shown["metadata"]["attached_mode"] == "rw"
    again = act(demo_v, vol["id"], "os-attach", {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/vdc"})
    assert "already attached" in message(again, 400)
    assert act(demo_v, vol["id"], "os-attach", {"mountpoint": "/dev/vdb"}).status_code == 400
    assert act(demo_v, vol["id"], "os-begin_detaching").status_code == 202
    assert get_volume(demo_v, vol["id"])["status"] == "detaching"  # type: ignore[index]
    assert act(demo_v, vol["id"], "os-roll_detaching").status_code == 202
    assert get_volume(demo_v, vol["id"])["status"] == "in-use"  # type: ignore[index]
    wrong = act(demo_v, vol["id"], "os-detach", {"attachment_id": str(uuid.uuid4())})
    assert "VolumeAttachmentNotFound" in message(wrong, 400)
    assert act(demo_v, vol["id"], "os-detach", {"attachment_id": attachment["attachment_id"]}).status_code == 202
    detached = wait_volume(demo_v, vol["id"], "available")
    assert detached["attachments"] == [] and "attached_mode" not in detached["metadata"]


def test_readonly_volume_attaches_read_only_only(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert act(demo_v, vol["id"], "os-update_readonly_flag", {"readonly": True}).status_code == 202
    rw = act(demo_v, vol["id"], "os-attach", {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/vdb"})
    assert message(rw, 400) == f"Invalid attaching mode 'rw' for volume {vol['id']}."
    ro = act(demo_v, vol["id"], "os-attach", {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/vdb",
                                               "mode": "ro"})
    assert ro.status_code == 202, ro.text
    assert act(demo_v, vol["id"], "os-detach").status_code == 202
    wait_volume(demo_v, vol["id"], "available")


def test_concurrent_reserves_one_wins(cloud: RunningCloud, demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    url = f"{demo_v.base_url}volumes/{vol['id']}/action"
    headers = dict(demo_v.headers)
    codes: list[int] = []
    barrier = threading.Barrier(8)

    def reserve() -> None:
        barrier.wait()
        codes.append(httpx.post(url, json={"os-reserve": {}}, headers=headers, timeout=60).status_code)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202] + [400] * 7
    assert get_volume(demo_v, vol["id"])["status"] == "attaching"  # type: ignore[index]


def test_reset_status_is_admins_and_checks_values(demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert act(demo_v, vol["id"], "os-reset_status", {"status": "error"}).status_code == 403
    bad = message(act(admin_v, vol["id"], "os-reset_status", {"status": "sleeping"}), 400)
    assert bad.startswith("Volume status: sleeping is invalid, valid statuses are: ['creating', 'available'")
    assert message(act(admin_v, vol["id"], "os-reset_status", {}), 400) == (
        "Must specify 'status', 'attach_status' or 'migration_status' for update.")
    assert message(act(admin_v, vol["id"], "os-reset_status", {"status": "in-use"}), 400) == (
        "Cannot reset-state to in-use because volume does not have any attachments.")
    assert "attach status" in message(act(admin_v, vol["id"], "os-reset_status", {"attach_status": "glued"}), 400)
    assert act(admin_v, vol["id"], "os-reset_status", {"status": "ERROR", "migration_status": "none"}).status_code == 202
    assert get_volume(demo_v, vol["id"])["status"] == "error"  # type: ignore[index]
    assert act(admin_v, vol["id"], "os-reset_status", {"status": "available"}).status_code == 202


@pytest.mark.parametrize("status", ["creating", "attaching", "error", "maintenance"])
def test_force_delete_from_any_status(demo_v: httpx.Client, admin_v: httpx.Client, status: str) -> None:
    vol = available(demo_v)
    assert act(admin_v, vol["id"], "os-reset_status", {"status": status}).status_code == 202
    assert act(demo_v, vol["id"], "os-force_delete").status_code == 403
    assert act(admin_v, vol["id"], "os-force_delete").status_code == 202
    wait_gone(demo_v, vol["id"])


def test_image_metadata_actions(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    resp = act(demo_v, vol["id"], "os-set_image_metadata", {"metadata": {"os_distro": "cirros", "hw_x": "1"}})
    assert resp.status_code == 200 and resp.json() == {"metadata": {"hw_x": "1", "os_distro": "cirros"}}
    assert get_volume(demo_v, vol["id"])["volume_image_metadata"] == {  # type: ignore[index]
        "hw_x": "1", "os_distro": "cirros"}
    shown = demo_v.post(f"volumes/{vol['id']}/action", json={"os-show_image_metadata": None})
    assert shown.json() == {"metadata": {"hw_x": "1", "os_distro": "cirros"}}
    assert act(demo_v, vol["id"], "os-unset_image_metadata", {"key": "hw_x"}).status_code == 200
    assert message(act(demo_v, vol["id"], "os-unset_image_metadata", {"key": "hw_x"}), 404) == (
        f"Glance metadata for volume/snapshot {vol['id']} cannot be found.")
    assert act(demo_v, vol["id"], "os-show_image_metadata").json() == {"metadata": {"os_distro": "cirros"}}


def test_unknown_action_is_400(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert message(act(demo_v, vol["id"], "os-teleport"), 400) == "There is no such action: os-teleport"


def test_upload_to_image(cloud: RunningCloud, demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    resp = act(demo_v, vol["id"], "os-volume_upload_image", {"image_name": "from-volume", "disk_format": "raw"})
    assert resp.status_code == 202, resp.text
    body = resp.json()["os-volume_upload_image"]
    assert (body["id"], body["status"], body["image_name"], body["disk_format"], body["container_format"]) == (
        vol["id"], "uploading", "from-volume", "raw", "bare")
    assert body["visibility"] == "private" and body["volume_type"]["name"] == vol["volume_type"]
    images = cloud.sdk("devstack").image
    wait_until(lambda: images.get_image(body["image_id"]).status == "active", timeout=60, what="uploaded image")
    wait_volume(demo_v, vol["id"], "available")
    image = images.get_image(body["image_id"])
    assert (image.name, image.disk_format, image.size) == ("from-volume", "raw", 1024 ** 3)
    busy = available(demo_v)
    assert act(demo_v, busy["id"], "os-reserve").status_code == 202
    refused = act(demo_v, busy["id"], "os-volume_upload_image", {"image_name": "x", "force": True})
    assert message(refused, 400) == f"Invalid volume: Volume {busy['id']} status must be available"


def test_connections_through_the_agent(demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    connector = {"host": "compute-1", "ip": "127.0.0.1", "initiator": "iqn.2004-10.org.onestack:compute-1",
                 "platform": "x86_64", "os_type": "linux", "multipath": False}
    resp = act(demo_v, vol["id"], "os-initialize_connection", {"connector": connector})
    assert resp.status_code == 200, resp.text
    info = resp.json()["connection_info"]
    assert info["driver_volume_type"] == "file" and info["enforce_multipath"] is False
    assert Path(info["data"]["device_path"]).exists() and info["data"]["access_mode"] == "rw"
    assert act(demo_v, vol["id"], "os-initialize_connection", {}).status_code == 400
    assert act(demo_v, vol["id"], "os-terminate_connection", {"connector": connector}).status_code == 202
    assert get_volume(demo_v, vol["id"])["status"] == "available"  # type: ignore[index]


def test_retype_on_the_same_backend(cloud: RunningCloud, demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    name = f"gold-{uuid.uuid4().hex[:6]}"
    created = admin_v.post("types", json={"volume_type": {"name": name}})
    assert created.status_code == 200, created.text
    vol = available(demo_v)
    assert message(act(demo_v, vol["id"], "os-retype", {"new_type": "no-such-type"}), 404) == (
        "Volume type with name no-such-type could not be found.")
    assert act(demo_v, vol["id"], "os-retype", {"new_type": name, "migration_policy": "sometimes"}).status_code == 400
    resp = act(demo_v, vol["id"], "os-retype", {"new_type": name, "migration_policy": "never"})
    assert resp.status_code == 202, resp.text
    retyped = wait_until(lambda: (v := get_volume(demo_v, vol["id"])) and v["volume_type"] == name and v,
                         timeout=60, what="retyped volume")
    assert retyped["status"] == "available"
    again = act(demo_v, vol["id"], "os-retype", {"new_type": name})
    assert message(again, 400).startswith("Invalid volume: Retype needs volume to be in available or in-use state")


def test_unmanage_drops_the_row(demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    vol = available(demo_v)
    assert act(demo_v, vol["id"], "os-unmanage").status_code == 403
    assert act(admin_v, vol["id"], "os-unmanage").status_code == 202
    assert get_volume(demo_v, vol["id"]) is None


def test_manageable_lists_check_their_input(admin_v: httpx.Client, demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    pool = get_volume(admin_v, vol["id"])["os-vol-host-attr:host"]  # type: ignore[index]
    for kind in ("volumes", "snapshots"):
        resp = admin_v.get(f"manageable_{kind}", params={"host": pool})
        assert resp.status_code == 200 and isinstance(resp.json()[f"manageable-{kind}"], list), resp.text
        assert admin_v.get(f"manageable_{kind}", params={"host": "nowhere@none"}).status_code == 404
        assert message(admin_v.get(f"manageable_{kind}"), 400) == (
            "Invalid input received: One and only one of cluster and host must be set.")
        assert message(admin_v.get(f"manageable_{kind}", params={"host": pool, "sort_key": "name"}), 400).endswith(
            "Invalid sort keys passed: name")
        assert demo_v.get(f"manageable_{kind}", params={"host": pool}).status_code == 403


def manageable(admin_v: httpx.Client, kind: str, pool: str) -> dict[str, dict[str, Any]]:
    """The backend's manageable disks (detail) by source-name."""
    resp = admin_v.get(f"manageable_{kind}/detail", params={"host": pool})
    assert resp.status_code == 200, resp.text
    return {e["reference"]["source-name"]: e for e in resp.json()[f"manageable-{kind}"]}


def wait_snapshot(client: httpx.Client, snapshot_id: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        found: dict[str, Any] = client.get(f"snapshots/{snapshot_id}").json()["snapshot"]
        return found if found["status"] in (status, "error", "error_managing") else None
    snap: dict[str, Any] = wait_until(reached, timeout=60, what=f"snapshot {snapshot_id} {status}")
    assert snap["status"] == status, snap
    return snap


def test_an_unmanaged_disk_is_listed_and_managed_back(demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    vol = available(demo_v, size=2)
    shown: dict[str, Any] = get_volume(admin_v, vol["id"])  # type: ignore[assignment]
    pool = shown["os-vol-host-attr:host"]
    assert manageable(admin_v, "volumes", pool)[f"volume-{vol['id']}"] == {
        "reference": {"source-name": f"volume-{vol['id']}"}, "size": 2, "safe_to_manage": False,
        "reason_not_safe": "already managed", "cinder_id": vol["id"], "extra_info": None}
    summary = admin_v.get("manageable_volumes", params={"host": pool}).json()["manageable-volumes"]
    assert {"reference": {"source-name": f"volume-{vol['id']}"}, "size": 2, "safe_to_manage": False} in summary

    # A snapshot: unmanaged, its file stays and is listed; managed back under a new id.
    made = demo_v.post("snapshots", json={"snapshot": {"volume_id": vol["id"], "name": "s"}})
    assert made.status_code == 202, made.text
    old_snap = wait_snapshot(demo_v, made.json()["snapshot"]["id"], "available")
    assert act(admin_v, vol["id"], "os-unmanage").status_code == 400  # it has a snapshot
    assert admin_v.post(f"snapshots/{old_snap['id']}/action", json={"os-unmanage": {}}).status_code == 202
    assert manageable(admin_v, "snapshots", pool)[f"snapshot-{old_snap['id']}"]["safe_to_manage"] is True
    resp = admin_v.post("os-snapshot-manage", json={"snapshot": {
        "volume_id": vol["id"], "ref": {"source-name": f"snapshot-{old_snap['id']}"}, "name": "back",
        "metadata": {"m": "1"}}})
    assert resp.status_code == 202, resp.text
    assert resp.json()["snapshot"]["status"] == "managing"
    snap = wait_snapshot(admin_v, resp.json()["snapshot"]["id"], "available")
    assert (snap["name"], snap["volume_id"], snap["size"], snap["metadata"]) == ("back", vol["id"], 2, {"m": "1"})
    assert f"snapshot-{old_snap['id']}" not in manageable(admin_v, "snapshots", pool)
    assert admin_v.delete(f"snapshots/{snap['id']}").status_code == 202
    wait_until(lambda: admin_v.get(f"snapshots/{snap['id']}").status_code == 404, timeout=60, what="snapshot gone")

    # The volume: unmanaged, listed as safe, managed back with its size, host and type.
    assert act(admin_v, vol["id"], "os-unmanage").status_code == 202
    assert manageable(admin_v, "volumes", pool)[f"volume-{vol['id']}"]["safe_to_manage"] is True
    body = {"volume": {"host": pool, "ref": {"source-name": f"volume-{vol['id']}"}, "name": "adopted",
                       "volume_type": shown["volume_type"], "availability_zone": shown["availability_zone"]}}
    resp = admin_v.post("os-volume-manage", json=body)
    assert resp.status_code == 202, resp.text
    assert resp.json()["volume"]["status"] == "managing"
    CREATED.append(resp.json()["volume"]["id"])
    adopted = wait_volume(admin_v, resp.json()["volume"]["id"], "available")
    assert adopted["id"] != vol["id"]
    for key in ("size", "volume_type", "availability_zone", "os-vol-host-attr:host"):
        assert adopted[key] == shown[key], key
    assert adopted["name"] == "adopted"
    listed = manageable(admin_v, "volumes", pool)
    assert f"volume-{vol['id']}" not in listed and listed[f"volume-{adopted['id']}"]["safe_to_manage"] is False

    # A reference to a managed volume's disk is refused at once: that volume keeps it.
    stolen = admin_v.post("os-volume-manage", json={"volume": {**body["volume"],
                                                               "ref": {"source-name": f"volume-{adopted['id']}"}}})
    assert stolen.status_code == 202 and stolen.json()["volume"]["status"] == "error_managing", stolen.text
    CREATED.append(stolen.json()["volume"]["id"])
    kept_snap = admin_v.post("snapshots", json={"snapshot": {"volume_id": adopted["id"]}}).json()["snapshot"]
    wait_snapshot(admin_v, kept_snap["id"], "available")
    taken = admin_v.post("os-volume-manage", json={"volume": {**body["volume"],
                                                              "ref": {"source-name": f"snapshot-{kept_snap['id']}"}}})
    assert taken.status_code == 202 and taken.json()["volume"]["status"] == "error_managing", taken.text
    CREATED.append(taken.json()["volume"]["id"])
    assert admin_v.delete(f"snapshots/{kept_snap['id']}").status_code == 202  # its file was still there
    wait_until(lambda: admin_v.get(f"snapshots/{kept_snap['id']}").status_code == 404, timeout=60,
               what="snapshot gone")
    assert admin_v.post(f"volumes/{adopted['id']}/action", json={"os-extend": {"new_size": 3}}).status_code == 202
    assert wait_volume(admin_v, adopted["id"], "available")["size"] == 3  # its disk is still there


def test_revert_to_the_latest_snapshot(cloud: RunningCloud, demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    with cinder(cloud, "devstack", microversion="3.39") as old:
        assert message(act(old, vol["id"], "revert", {"snapshot_id": str(uuid.uuid4())}), 400) == (
            "There is no such action: revert")
    assert message(act(demo_v, vol["id"], "revert", {"snapshot_id": str(uuid.uuid4())}), 400) == (
        f"Volume {vol['id']} doesn't have any snapshots.")
    snaps = []
    for name in ("first", "second"):
        resp = demo_v.post("snapshots", json={"snapshot": {"volume_id": vol["id"], "name": name}})
        assert resp.status_code == 202, resp.text
        snap_id = resp.json()["snapshot"]["id"]
        wait_until(lambda sid=snap_id: demo_v.get(f"snapshots/{sid}").json()["snapshot"]["status"] == "available",
                   timeout=60, what=f"snapshot {name}")
        snaps.append(snap_id)
        # created_at has whole seconds: the second snapshot must be later than the first.
        if name == "first":
            start = demo_v.get(f"snapshots/{snap_id}").json()["snapshot"]["created_at"]
            wait_until(lambda s=start: _stamp() > s[:19], timeout=5, interval=0.2, what="the next second")
    assert message(act(demo_v, vol["id"], "revert", {"snapshot_id": snaps[0]}), 400) == (
        f"Specified snapshot {snaps[0]} is None or not the latest one of volume {vol['id']}.")
    resp = act(demo_v, vol["id"], "revert", {"snapshot_id": snaps[1]})
    assert resp.status_code == 202, resp.text
    wait_volume(demo_v, vol["id"], "available")
    wait_until(lambda: demo_v.get(f"snapshots/{snaps[1]}").json()["snapshot"]["status"] == "available",
               timeout=60, what="snapshot back to available")
    for snap_id in snaps:
        assert demo_v.delete(f"snapshots/{snap_id}").status_code == 202
    wait_until(lambda: all(demo_v.get(f"snapshots/{sid}").status_code == 404 for sid in snaps), timeout=60,
               what="snapshots deleted")


def _stamp() -> str:
    """Now, to the second, as the rows keep it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_manage_of_a_missing_disk_ends_in_error_managing(demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    vol = available(demo_v)
    pool = get_volume(admin_v, vol["id"])["os-vol-host-attr:host"]  # type: ignore[index]
    body = {"volume": {"host": pool, "ref": {"source-name": "existing-disk"}, "name": "adopted",
                       "metadata": {"k": "v"}}}
    assert demo_v.post("os-volume-manage", json=body).status_code == 403
    assert message(admin_v.post("os-volume-manage", json={"volume": {"host": pool}}), 400).startswith(
        "Invalid input for field/attribute")
    missing = admin_v.post("os-volume-manage", json={"volume": {"host": "nowhere@none", "ref": {}}})
    assert message(missing, 503) == "Host 'nowhere@none' not found"
    bad_type = admin_v.post("os-volume-manage", json={"volume": {**body["volume"], "volume_type": "nope"}})
    assert message(bad_type, 400) == "Invalid volume type: Cannot find requested 'nope' volume type"
    resp = admin_v.post("os-volume-manage", json=body)
    assert resp.status_code == 202, resp.text
    managed = resp.json()["volume"]
    CREATED.append(managed["id"])
    assert (managed["status"], managed["name"], managed["size"], managed["metadata"]) == (
        "managing", "adopted", 0, {"k": "v"})
    # The backend has no such disk.
    assert wait_volume(admin_v, managed["id"], "error_managing")["size"] == 0
    assert admin_v.delete(f"volumes/{managed['id']}").status_code == 202
    wait_gone(admin_v, managed["id"])

    snap = admin_v.post("os-snapshot-manage", json={"snapshot": {"volume_id": vol["id"], "ref": "snap-disk"}})
    assert snap.status_code == 202, snap.text
    snapshot = snap.json()["snapshot"]
    assert (snapshot["status"], snapshot["volume_id"]) == ("error_managing", vol["id"])
    assert admin_v.post("os-snapshot-manage", json={"snapshot": {"volume_id": str(uuid.uuid4()),
                                                                 "ref": "x"}}).status_code == 404
    # Cinder deletes a snapshot in error_managing only by force.
    assert admin_v.delete(f"snapshots/{snapshot['id']}").status_code == 400
    forced = admin_v.post(f"snapshots/{snapshot['id']}/action", json={"os-force_delete": {}})
    assert forced.status_code == 202, forced.text
    wait_until(lambda: admin_v.get(f"snapshots/{snapshot['id']}").status_code == 404, timeout=60,
               what="managed snapshot deleted")


def test_extend_an_attached_volume_from_3_42(cloud: RunningCloud, demo_v: httpx.Client) -> None:
    vol = available(demo_v)
    attached = act(demo_v, vol["id"], "os-attach", {"host_name": "backup-host", "mountpoint": "/mnt/v"})
    assert attached.status_code == 202, attached.text
    wait_volume(demo_v, vol["id"], "in-use")
    with cinder(cloud, "devstack", microversion="3.41") as old:
        assert message(act(old, vol["id"], "os-extend", {"new_size": 2}), 400) == (
            f"Invalid volume: Volume {vol['id']} status must be '{{'status': 'available'}}' to extend, "
            "currently in-use.")
    assert act(demo_v, vol["id"], "os-extend", {"new_size": 2}).status_code == 202
    grown = wait_until(lambda: (v := get_volume(demo_v, vol["id"])) and v["size"] == 2 and v["status"] == "in-use"
                       and v, timeout=60, what="extended attached volume")
    assert grown["attachments"][0]["device"] == "/mnt/v"
    assert act(demo_v, vol["id"], "os-detach").status_code == 202
    wait_volume(demo_v, vol["id"], "available")


@pytest.mark.parametrize("key", ["volume_backend_name", "capabilities:volume_backend_name"])
def test_retype_to_another_backend_goes_to_the_scheduler(demo_v: httpx.Client, admin_v: httpx.Client,
                                                         key: str) -> None:
    """The bare and the scoped key both name the backend (Tempest's multi-backend types use both):
    a type of another backend is not a same-backend retype."""
    name = f"elsewhere-{uuid.uuid4().hex[:6]}"
    created = admin_v.post("types", json={"volume_type": {"name": name, "extra_specs": {key: "no-such"}}})
    assert created.status_code == 200, created.text
    vol = available(demo_v)
    resp = act(demo_v, vol["id"], "os-retype", {"new_type": name, "migration_policy": "never"})
    assert resp.status_code == 202, resp.text
    # No backend serves the type: the scheduler gives the volume back, type unchanged.
    back = wait_volume(demo_v, vol["id"], "available")
    assert back["volume_type"] == vol["volume_type"]


def test_force_detach_an_errored_attachment(demo_v: httpx.Client, admin_v: httpx.Client) -> None:
    vol = available(demo_v)
    server = str(uuid.uuid4())
    assert act(demo_v, vol["id"], "os-attach", {"instance_uuid": server, "mountpoint": "/dev/vdb"}).status_code == 202
    attachment = wait_volume(demo_v, vol["id"], "in-use")["attachments"][0]
    assert act(admin_v, vol["id"], "os-reset_status", {"status": "error"}).status_code == 202
    body = {"connector": None, "attachment_id": attachment["attachment_id"]}
    assert act(demo_v, vol["id"], "os-force_detach", body).status_code == 403
    assert act(admin_v, vol["id"], "os-force_detach", body).status_code == 202
    detached = wait_volume(demo_v, vol["id"], "available")
    assert detached["attachments"] == []


def test_cli_volume_set(cloud: RunningCloud, demo_v: httpx.Client) -> None:
    """``openstack volume set`` drives os-set_bootable, os-update_readonly_flag,
    os-set_image_metadata and os-extend."""
    vol = available(demo_v)
    cloud.cli("volume", "set", "--bootable", "--read-only", "--image-property", "os_distro=cirros", vol["id"],
              cloud="devstack", json_out=False)
    shown = get_volume(demo_v, vol["id"])
    assert shown is not None and shown["bootable"] == "true" and shown["metadata"]["readonly"] == "True"
    assert shown["volume_image_metadata"] == {"os_distro": "cirros"}
    cloud.cli("volume", "set", "--size", "2", vol["id"], cloud="devstack", json_out=False)
    wait_until(lambda: (v := get_volume(demo_v, vol["id"])) and v["size"] == 2 and v["status"] == "available",
               timeout=60, what="volume extended by the CLI")
    refused = cloud.cli("volume", "set", "--size", "1", vol["id"], cloud="devstack", json_out=False, check=False)
    assert refused.returncode != 0
