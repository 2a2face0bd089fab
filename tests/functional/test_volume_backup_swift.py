"""Volume backups into the object store (``volume.backup_driver = swift``, Cinder's swift backup driver).

The objects are checked through the object store as the service user: one per stored chunk and a
manifest, in container ``volumebackups`` (or the one the request names); restores are byte-exact.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from swiftclient.client import ClientException, Connection

from tests.functional import test_volume_backups as posix_tests
from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import module_cloud
from tests.functional.snapshot_support import cinder, make_volume, wait_status
from tests.functional.test_volume_backups import PATTERN_BYTES, disk_of, drop_backup, make_backup

QEMU = shutil.which("qemu-img") is not None
CHUNK = 1024 * 1024  # small chunks so one pattern write spans exactly one chunk object

ccloud = module_cloud("volume-backup-swift", {
    "ONESTACK_VOLUME__BACKUP_DRIVER": "swift",
    "ONESTACK_VOLUME__BACKUP_SWIFT_OBJECT_SIZE": str(CHUNK),
    "ONESTACK_IMAGE__BUILTIN_IMAGES": "false",
})


@pytest.fixture(scope="module")
def demo_api(ccloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(ccloud) as client:
        yield client


@pytest.fixture(scope="module")
def service_swift(ccloud: RunningCloud) -> Connection:
    import openstack

    conn = openstack.connect(auth_url=ccloud.identity_url + "/v3", username="onestack",
                             password=ccloud.password("onestack"), project_name="service",
                             user_domain_id="default", project_domain_id="default")
    url = conn.session.get_endpoint(service_type="object-store", interface="public")
    return Connection(preauthurl=url, preauthtoken=conn.auth_token, retries=0)


def write_pattern(path: Path, byte: int, offset: int = 0) -> None:
    """A MiB of ``byte`` at ``offset`` of the volume (qemu-io for qcow2; raw files directly)."""
    if QEMU:
        posix_tests.write_pattern(path, byte, offset)
        return
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(bytes([byte]) * PATTERN_BYTES)


def read_raw(path: Path, tmp: Path) -> bytes:
    return posix_tests.read_raw(path, tmp) if QEMU else path.read_bytes()


def objects(sw: Connection, container: str, backup_id: str) -> list[str]:
    try:
        _, rows = sw.get_container(container, prefix=f"backup_{backup_id}/", full_listing=True)
    except ClientException as exc:
        if exc.http_status == 404:
            return []
        raise
    return sorted(row["name"] for row in rows)


def restore_new(client: httpx.Client, backup_id: str) -> dict[str, Any]:
    r = client.post(f"/backups/{backup_id}/restore", json={"restore": {}})
    assert r.status_code == 202, r.text
    restored = wait_status(client, f"/volumes/{r.json()['restore']['volume_id']}", "volume", "available")
    wait_status(client, f"/backups/{backup_id}", "backup", "available")
    return restored


def test_full_and_incremental_backups_in_swift(ccloud: RunningCloud, demo_api: httpx.Client,
                                                service_swift: Connection, tmp_path: Path) -> None:
    volume = make_volume(demo_api)
    write_pattern(disk_of(ccloud, volume["id"]), 0x5A)  # chunk 0 only; the rest are zeroes
    full = make_backup(demo_api, volume["id"])
    assert full["container"] == "volumebackups" and full["object_count"] == 1
    names = objects(service_swift, "volumebackups", full["id"])
    assert names == [f"backup_{full['id']}/chunk-000000", f"backup_{full['id']}/manifest"]
    _, body = service_swift.get_object("volumebackups", f"backup_{full['id']}/chunk-000000")
    assert body == bytes([0x5A]) * PATTERN_BYTES
    _, raw_manifest = service_swift.get_object("volumebackups", f"backup_{full['id']}/manifest")
    manifest = json.loads(raw_manifest)
    assert manifest["size_bytes"] == volume["size"] * 1024 ** 3 and manifest["chunk_size"] == CHUNK
    # Nothing went to the POSIX directory.
    assert not (ccloud.data_dir / "backups").exists() or not any((ccloud.data_dir / "backups").rglob("chunk-*"))

    # An incremental stores only the changed chunk and restores the whole volume.
    write_pattern(disk_of(ccloud, volume["id"]), 0x6B, offset=3 * CHUNK)
    expected = read_raw(disk_of(ccloud, volume["id"]), tmp_path)
    incr = make_backup(demo_api, volume["id"], incremental=True)
    assert incr["object_count"] == 1
    assert objects(service_swift, "volumebackups", incr["id"]) == [
        f"backup_{incr['id']}/chunk-000003", f"backup_{incr['id']}/manifest"]
    restored = restore_new(demo_api, incr["id"])
    assert read_raw(disk_of(ccloud, restored["id"]), tmp_path) == expected

    # Deleting a backup removes its objects (the incremental first: the full one has a dependant).
    drop_backup(demo_api, incr["id"])
    assert objects(service_swift, "volumebackups", incr["id"]) == []
    drop_backup(demo_api, full["id"])
    assert objects(service_swift, "volumebackups", full["id"]) == []
    for vol_id in (volume["id"], restored["id"]):
        demo_api.delete(f"/volumes/{vol_id}")


def test_named_container(ccloud: RunningCloud, demo_api: httpx.Client, service_swift: Connection,
                         tmp_path: Path) -> None:
    volume = make_volume(demo_api)
    write_pattern(disk_of(ccloud, volume["id"]), 0x33, offset=CHUNK + 4096)  # straddles chunks 1 and 2
    expected = read_raw(disk_of(ccloud, volume["id"]), tmp_path)
    backup = make_backup(demo_api, volume["id"], container="my-backups")
    assert backup["container"] == "my-backups" and backup["object_count"] == 2
    assert len(objects(service_swift, "my-backups", backup["id"])) == 3
    assert objects(service_swift, "volumebackups", backup["id"]) == []
    restored = restore_new(demo_api, backup["id"])
    assert read_raw(disk_of(ccloud, restored["id"]), tmp_path) == expected
    drop_backup(demo_api, backup["id"])
    assert objects(service_swift, "my-backups", backup["id"]) == []
    for vol_id in (volume["id"], restored["id"]):
        demo_api.delete(f"/volumes/{vol_id}")
