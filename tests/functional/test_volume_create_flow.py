"""The create flow end to end: sources (image, volume), types (default, per-project default,
private, by id, multiattach), the bootstrap types, and real failures at each API-side step —
a bad image, a quota exceeded, no backend for the type — leaving nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.volume_support import cinder, create_volume, error_of, wait_gone, wait_volume

BAD_IMAGE = "Invalid image identifier or unable to access requested image."


@pytest.fixture(scope="module")
def http(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack") as client:
        yield client


@pytest.fixture(scope="module")
def admin_http(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-admin") as client:
        yield client


def _ids(client: httpx.Client) -> set[str]:
    return {v["id"] for v in client.get("volumes").json()["volumes"]}


def _delete(client: httpx.Client, volume_id: str) -> None:
    wait_volume(client, volume_id, ("available", "error"))
    r = client.delete(f"volumes/{volume_id}")
    assert r.status_code in (202, 404), r.text
    wait_gone(client, volume_id)


def _make_type(admin_http: httpx.Client, name: str, *, public: bool = True,
               specs: dict[str, str] | None = None) -> dict[str, Any]:
    r = admin_http.post("types", json={"volume_type": {"name": name, "os-volume-type-access:is_public": public,
                                                       "extra_specs": specs or {}}})
    assert r.status_code == 200, r.text
    vtype: dict[str, Any] = r.json()["volume_type"]
    return vtype


def test_bootstrap_types(admin_http: httpx.Client) -> None:
    types = {t["name"]: t for t in admin_http.get("types").json()["volume_types"]}
    assert types["__DEFAULT__"]["description"] == "Default Volume Type"
    assert types["__DEFAULT__"]["is_public"] is True
    assert types["file-1"]["extra_specs"] == {"volume_backend_name": "file-1"}


def test_clone_keeps_size_type_and_host(http: httpx.Client, admin_http: httpx.Client) -> None:
    src = create_volume(http, size=2, name="cf-src")
    wait_volume(http, src["id"])
    clone_id = ""
    try:
        r = http.post("volumes", json={"volume": {"source_volid": src["id"], "size": 1}})
        assert r.status_code == 400, r.text
        assert "cannot be smaller than original volume size 2GB" in error_of(r)["message"]
        r = http.post("volumes", json={"volume": {"source_volid": src["id"], "name": "cf-clone"}})
        assert r.status_code == 202, r.text
        clone = r.json()["volume"]
        clone_id = clone["id"]
        assert clone["size"] == 2 and clone["source_volid"] == src["id"]
        assert clone["volume_type"] == src["volume_type"]
        wait_volume(http, clone_id)
        hosts = {admin_http.get(f"volumes/{v}").json()["volume"]["os-vol-host-attr:host"]
                 for v in (src["id"], clone_id)}
        assert len(hosts) == 1
    finally:
        if clone_id:
            _delete(http, clone_id)
        _delete(http, src["id"])


def test_from_image(cloud: RunningCloud, http: httpx.Client, demo: Any) -> None:
    image = next(i for i in demo.image.images() if i.status == "active" and i.visibility == "public")
    vol = create_volume(http, size=1, name="cf-img", imageRef=image.id)
    try:
        done = wait_volume(http, vol["id"], timeout=120)
        assert done["bootable"] == "true"
        assert done["volume_image_metadata"]["image_id"] == image.id
    finally:
        _delete(http, vol["id"])


def test_bad_images_leave_nothing(cloud: RunningCloud, http: httpx.Client, admin: Any) -> None:
    private = admin.image.create_image(name="cf-private", disk_format="raw", container_format="bare",
                                       visibility="private", data=b"x" * 1024)
    queued = admin.image.create_image(name="cf-queued", disk_format="raw", container_format="bare",
                                      visibility="public")
    big_min = admin.image.create_image(name="cf-mindisk", disk_format="raw", container_format="bare",
                                       visibility="public", min_disk=3, data=b"y" * 1024)
    before = _ids(http)
    try:
        cases = [
            ("8a1b7c7e-0000-4000-8000-0000000000ff", 400, BAD_IMAGE),
            (private.id, 400, BAD_IMAGE),
            (queued.id, 400, f"Image {queued.id} is not active."),
            (big_min.id, 400, "Volume size 1GB cannot be smaller than the image minDisk size 3GB."),
        ]
        for image_id, status, message in cases:
            r = http.post("volumes", json={"volume": {"size": 1, "imageRef": image_id}})
            assert r.status_code == status, (image_id, r.text)
            assert error_of(r)["message"].endswith(message), r.text
        assert _ids(http) == before
        # The owner may use its private image.
        with cinder(cloud, "devstack-admin") as admin_http:
            r = admin_http.post("volumes", json={"volume": {"size": 1, "imageRef": private.id}})
            assert r.status_code == 202, r.text
            _delete(admin_http, r.json()["volume"]["id"])
    finally:
        for img in (private, queued, big_min):
            admin.image.delete_image(img.id)


def test_image_shared_with_the_project(http: httpx.Client, admin: Any, demo: Any) -> None:
    shared = admin.image.create_image(name="cf-shared", disk_format="raw", container_format="bare",
                                      visibility="shared", data=b"z" * 1024)
    try:
        r = http.post("volumes", json={"volume": {"size": 1, "imageRef": shared.id}})
        assert r.status_code == 400 and error_of(r)["message"] == BAD_IMAGE, r.text
        admin.image.add_member(shared.id, member_id=demo.current_project_id)
        vol = create_volume(http, size=1, name="cf-shared", imageRef=shared.id)
        done = wait_volume(http, vol["id"], timeout=120)
        assert done["bootable"] == "true"
        _delete(http, vol["id"])
    finally:
        admin.image.delete_image(shared.id)


def test_quota_exceeded_leaves_nothing(cloud: RunningCloud, admin_http: httpx.Client, alt: Any) -> None:
    project = alt.current_project_id
    with cinder(cloud, "devstack-alt") as alt_http:
        before = _ids(alt_http)
        try:
            r = admin_http.put(f"os-quota-sets/{project}", json={"quota_set": {"gigabytes": 2}})
            assert r.status_code == 200, r.text
            r = alt_http.post("volumes", json={"volume": {"size": 3}})
            assert r.status_code == 413, r.text
            assert error_of(r, "overLimit")["message"] == (
                "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 2G and "
                "0G has been consumed.")
            r = admin_http.put(f"os-quota-sets/{project}", json={"quota_set": {"gigabytes": 100,
                                                                               "volumes___DEFAULT__": 0}})
            assert r.status_code == 200, r.text
            r = alt_http.post("volumes", json={"volume": {"size": 1}})
            assert r.status_code == 413, r.text
            assert "exceeded for quota 'volumes___DEFAULT__'" in error_of(r)["message"]
            assert _ids(alt_http) == before
        finally:
            admin_http.delete(f"os-quota-sets/{project}")
        made = create_volume(alt_http, size=1, name="cf-after-quota")
        _delete(alt_http, made["id"])


def test_no_backend_for_the_type_ends_in_error_and_deletes(http: httpx.Client, admin_http: httpx.Client) -> None:
    vtype = _make_type(admin_http, "cf-nowhere", specs={"volume_backend_name": "no-such-backend"})
    try:
        vol = create_volume(http, name="cf-nowhere", volume_type="cf-nowhere")
        failed = wait_volume(http, vol["id"], "error")
        assert failed["volume_type"] == "cf-nowhere"
        r = http.delete(f"volumes/{vol['id']}")
        assert r.status_code == 202, r.text
        wait_gone(http, vol["id"])
    finally:
        admin_http.delete(f"types/{vtype['id']}")


def test_types_by_id_private_and_multiattach(cloud: RunningCloud, http: httpx.Client, admin_http: httpx.Client,
                                             demo: Any) -> None:
    private = _make_type(admin_http, "cf-private-type", public=False)
    multi = _make_type(admin_http, "cf-multi", specs={"multiattach": "<is> True"})
    made: list[str] = []
    try:
        r = http.post("volumes", json={"volume": {"size": 1, "volume_type": "cf-private-type"}})
        assert r.status_code == 404, r.text
        r = http.post("volumes", json={"volume": {"size": 1, "volume_type": private["id"]}})
        assert r.status_code == 404, r.text
        assert error_of(r)["message"] == f"Volume type with id {private['id']} could not be found."
        r = admin_http.post(f"types/{private['id']}/action",
                            json={"addProjectAccess": {"project": demo.current_project_id}})
        assert r.status_code == 202, r.text
        vol = create_volume(http, volume_type=private["id"])
        made.append(vol["id"])
        assert vol["volume_type"] == "cf-private-type"
        vol = create_volume(http, volume_type="cf-multi")
        made.append(vol["id"])
        assert vol["multiattach"] is True
        wait_volume(http, vol["id"])
    finally:
        for vid in made:
            _delete(http, vid)
        for t in (private, multi):
            admin_http.delete(f"types/{t['id']}")


def test_project_default_type(cloud: RunningCloud, http: httpx.Client, admin_http: httpx.Client,
                              demo: Any) -> None:
    vtype = _make_type(admin_http, "cf-project-default")
    project = demo.current_project_id
    vol: dict[str, Any] = {}
    try:
        r = admin_http.put(f"default-types/{project}", json={"default_type": {"volume_type": vtype["id"]}})
        assert r.status_code == 200, r.text
        vol = create_volume(http, name="cf-default")
        assert vol["volume_type"] == "cf-project-default"
    finally:
        admin_http.delete(f"default-types/{project}")
        if vol:
            _delete(http, vol["id"])
        admin_http.delete(f"types/{vtype['id']}")
    other = create_volume(http, name="cf-default-back")
    assert other["volume_type"] == "__DEFAULT__"
    _delete(http, other["id"])


def test_availability_zone(http: httpx.Client) -> None:
    vol = create_volume(http, name="cf-az", availability_zone="nova")
    try:
        assert vol["availability_zone"] == "nova"
        r = http.post("volumes", json={"volume": {"source_volid": vol["id"], "availability_zone": "elsewhere"}})
        assert r.status_code == 400, r.text
    finally:
        _delete(http, vol["id"])


def _snapshot(client: httpx.Client, volume_id: str, name: str) -> dict[str, Any]:
    r = client.post("snapshots", json={"snapshot": {"volume_id": volume_id, "name": name}})
    assert r.status_code == 202, r.text
    snap: dict[str, Any] = r.json()["snapshot"]
    from tests.functional.cloud import wait_until

    wait_until(lambda: client.get(f"snapshots/{snap['id']}").json()["snapshot"]["status"] == "available",
               timeout=60, what=f"snapshot {snap['id']} available")
    return snap


def test_from_snapshot_and_cascade_delete(http: httpx.Client, admin_http: httpx.Client) -> None:
    src = create_volume(http, size=2, name="cf-snap-src")
    wait_volume(http, src["id"])
    snap = _snapshot(http, src["id"], "cf-snap")
    made = ""
    try:
        r = http.post("volumes", json={"volume": {"snapshot_id": snap["id"], "size": 1}})
        assert r.status_code == 400, r.text
        assert "cannot be smaller than the snapshot size 2GB" in error_of(r)["message"]
        # The snapshot's type wins over the one asked for, as Cinder's.
        r = http.post("volumes", json={"volume": {"snapshot_id": snap["id"], "name": "cf-from-snap",
                                                  "volume_type": "file-1"}})
        assert r.status_code == 202, r.text
        made = r.json()["volume"]["id"]
        assert r.json()["volume"]["volume_type"] == src["volume_type"] == "__DEFAULT__"
        assert r.json()["volume"]["snapshot_id"] == snap["id"] and r.json()["volume"]["size"] == 2
        wait_volume(http, made)
        hosts = {admin_http.get(f"volumes/{v}").json()["volume"]["os-vol-host-attr:host"] for v in (src["id"], made)}
        assert len(hosts) == 1
        # A volume with snapshots is not deleted without cascade.
        r = http.delete(f"volumes/{src['id']}")
        assert r.status_code == 400, r.text
        assert "must not be migrating, attached, belong to a group, have snapshots" in error_of(r)["message"]
        assert http.get(f"volumes/{src['id']}").json()["volume"]["status"] == "available"
        r = http.delete(f"volumes/{src['id']}", params={"cascade": "true"})
        assert r.status_code == 202, r.text
        wait_gone(http, src["id"])
        assert http.get(f"snapshots/{snap['id']}").status_code == 404
    finally:
        if made:
            _delete(http, made)
        if http.get(f"volumes/{src['id']}").status_code == 200:
            admin_http.delete(f"volumes/{src['id']}", params={"cascade": "true", "force": "true"})
            wait_gone(http, src["id"])


def test_from_backup_3_47(cloud: RunningCloud, http: httpx.Client) -> None:
    from tests.functional.cloud import wait_until

    src = create_volume(http, size=1, name="cf-backup-src")
    wait_volume(http, src["id"])
    r = http.post("backups", json={"backup": {"volume_id": src["id"], "name": "cf-backup"}})
    assert r.status_code == 202, r.text
    backup_id = r.json()["backup"]["id"]
    made = ""
    try:
        wait_until(lambda: http.get(f"backups/{backup_id}").json()["backup"]["status"] == "available",
                   timeout=120, what="backup available")
        wait_volume(http, src["id"])
        r = http.post("volumes", json={"volume": {"backup_id": backup_id, "name": "cf-from-backup"}})
        assert r.status_code == 202, r.text
        made = r.json()["volume"]["id"]
        assert r.json()["volume"]["size"] == 1
        wait_volume(http, made, timeout=120)
        with cinder(cloud, "devstack", microversion="3.46") as old:
            r = old.post("volumes", json={"volume": {"backup_id": backup_id}})
            assert r.status_code == 400, r.text  # no size: backup_id means nothing before 3.47
        r = http.post("volumes", json={"volume": {"backup_id": "8a1b7c7e-0000-4000-8000-0000000000bb"}})
        assert r.status_code == 404, r.text
    finally:
        if made:
            _delete(http, made)
        http.delete(f"backups/{backup_id}")
        wait_until(lambda: http.get(f"backups/{backup_id}").status_code == 404, timeout=60, what="backup gone")
        _delete(http, src["id"])
