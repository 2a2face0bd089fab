"""Backups through the running cloud: the data comes back byte for byte; incrementals, records,
updates, admin actions and Cinder's errors."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

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

PATTERN_BYTES = 1024 * 1024


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


def make_backup(client: httpx.Client, volume_id: str, **extra: Any) -> dict[str, Any]:
    r = client.post("/backups", json={"backup": {"volume_id": volume_id, **extra}})
    assert r.status_code == 202, r.text
    return wait_status(client, f"/backups/{r.json()['backup']['id']}", "backup", "available")


def drop_backup(client: httpx.Client, backup_id: str) -> None:
    client.delete(f"/backups/{backup_id}")
    wait_gone(client, f"/backups/{backup_id}")


def disk_of(cloud: RunningCloud, volume_id: str) -> Path:
    """The file the file driver keeps the volume in (its provider_location)."""
    with cloud.engine() as engine, engine.connect() as conn:
        where = conn.execute(text("SELECT provider_location FROM volume_volumes WHERE id = :id"),
                             {"id": volume_id}).scalar()
    assert where, f"volume {volume_id} has no provider_location"
    path = Path(where)
    assert path.is_file(), where
    return path


def disk_format(path: Path) -> str:
    out = subprocess.run(["qemu-img", "info", "--output", "json", str(path)], capture_output=True, text=True,
                         check=True)
    return str(json.loads(out.stdout)["format"])


def write_pattern(path: Path, byte: int, offset: int = 0) -> None:
    subprocess.run(["qemu-io", "-f", disk_format(path), "-c", f"write -P {byte} {offset} {PATTERN_BYTES}",
                    str(path)], capture_output=True, check=True)


def read_raw(path: Path, tmp: Path) -> bytes:
    out = tmp / f"{path.name}.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(path), str(out)], capture_output=True, check=True)
    return out.read_bytes()


# --- without a volume -----------------------------------------------------------------------------


def test_errors_without_a_volume(demo_api: httpx.Client) -> None:
    r = demo_api.post("/backups", json={"backup": {"volume_id": MISSING}})
    assert r.status_code == 404
    assert error(r, "itemNotFound") == f"Volume {MISSING} could not be found."
    assert demo_api.post("/backups", json={"backup": {}}).status_code == 400
    assert demo_api.get(f"/backups/{MISSING}").status_code == 404
    assert error(demo_api.get(f"/backups/{MISSING}"), "itemNotFound") == f"Backup {MISSING} could not be found."
    assert demo_api.delete(f"/backups/{MISSING}").status_code == 404
    assert demo_api.post(f"/backups/{MISSING}/restore", json={"restore": {}}).status_code == 404
    assert demo_api.get("/backups", params={"limit": "x"}).status_code == 400
    assert demo_api.get("/backups", params={"marker": MISSING}).status_code == 404
    # Export and import are the admin's.
    assert demo_api.get(f"/backups/{MISSING}/export_record").status_code == 403
    r = demo_api.post("/backups/import_record", json={"backup-record": {"backup_service": "x", "backup_url": "y"}})
    assert r.status_code == 403


def test_import_show_update_reset_force_delete(admin_api: httpx.Client, demo_api: httpx.Client,
                                               cloud: RunningCloud) -> None:
    """An imported record is a backup of the importer's project (no volume needed to check the API)."""
    record = {"id": "11111111-2222-4333-8444-555555555555", "volume_id": MISSING, "size": 1, "name": "imported",
              "description": "from a record", "container": "c1", "object_count": 3, "metadata": {"a": "b"}}
    url = base64.b64encode(json.dumps(record).encode()).decode()
    body = {"backup-record": {"backup_service": "cinder.backup.drivers.posix.PosixBackupDriver", "backup_url": url}}
    r = admin_api.post("/backups/import_record", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["backup"]["id"] == record["id"] and r.json()["backup"]["name"] == "imported"
    try:
        for bad in ("not base64 at all!", base64.b64encode(b"[1]").decode(),
                    base64.b64encode(json.dumps({**record, "id": "x"}).encode()).decode(),
                    base64.b64encode(json.dumps({**record, "id": MISSING, "volume_id": "v" * 300}).encode()).decode(),
                    base64.b64encode(json.dumps({**record, "id": MISSING, "size": 2 ** 40}).encode()).decode()):
            r = admin_api.post("/backups/import_record", json={"backup-record": {**body["backup-record"],
                                                                                  "backup_url": bad}})
            assert r.status_code == 400, (bad, r.text)
        again = admin_api.post("/backups/import_record", json=body)
        assert again.status_code == 400
        assert error(again, "badRequest") == "Invalid backup: Backup already exists in database."
        shown = admin_api.get(f"/backups/{record['id']}").json()["backup"]
        assert (shown["status"], shown["container"], shown["object_count"], shown["metadata"]) == \
            ("available", "c1", 3, {"a": "b"})
        assert shown["os-backup-project-attr:project_id"] == cloud.sdk("devstack-admin").current_project_id
        assert shown["is_incremental"] is False and shown["has_dependent_backups"] is False
        assert demo_api.get(f"/backups/{record['id']}").status_code == 404  # another project's

        exported = admin_api.get(f"/backups/{record['id']}/export_record").json()["backup-record"]
        assert exported["backup_service"].startswith("cinder.backup.drivers")
        assert json.loads(base64.b64decode(exported["backup_url"]))["container"] == "c1"

        with cinder(cloud, "devstack-admin", mv="3.8") as old:
            assert old.put(f"/backups/{record['id']}", json={"backup": {"name": "n"}}).status_code == 404
        r = admin_api.put(f"/backups/{record['id']}", json={"backup": {"name": "n2", "metadata": {"x": "y"}}})
        assert r.status_code == 200
        # Cinder answers an update with the summary view only (Tempest's schema allows no more).
        assert set(r.json()["backup"]) == {"id", "name", "links"} and r.json()["backup"]["name"] == "n2"
        assert admin_api.get(f"/backups/{record['id']}").json()["backup"]["metadata"] == {"x": "y"}
        assert admin_api.put(f"/backups/{record['id']}", json={"backup": {"size": 3}}).status_code == 400

        action = f"/backups/{record['id']}/action"
        # the admin's backup is not there for demo (Cinder finds it before the admin policy)
        assert demo_api.post(action, json={"os-reset_status": {"status": "error"}}).status_code == 404
        assert admin_api.post(action, json={"os-reset_status": {"status": "bogus"}}).status_code == 400
        assert admin_api.post(action, json={"os-reset_status": {"status": "error"}}).status_code == 202
        assert admin_api.get(f"/backups/{record['id']}").json()["backup"]["status"] == "error"
        listed = admin_api.get("/backups", params={"status": "error"}).json()["backups"]
        assert [b["id"] for b in listed] == [record["id"]]
        assert set(listed[0]) == {"id", "name", "links"}
    finally:
        admin_api.post(f"/backups/{record['id']}/action", json={"os-force_delete": {}})
    wait_gone(admin_api, f"/backups/{record['id']}")


# --- with a volume (needs the volume agent) ----------------------------------------------------------


def test_backup_and_restore_keep_the_bytes(cloud: RunningCloud, demo_api: httpx.Client, alt_api: httpx.Client,
                                           tmp_path: Path) -> None:
    volume = make_volume(demo_api, metadata={"m1": "v1"})
    write_pattern(disk_of(cloud, volume["id"]), 0xAB)
    expected = read_raw(disk_of(cloud, volume["id"]), tmp_path)
    r = demo_api.post("/backups", json={"backup": {"volume_id": volume["id"], "name": "b1", "description": "d"}})
    assert r.status_code == 202, r.text
    assert set(r.json()["backup"]) == {"id", "name", "links"}
    backup_id = r.json()["backup"]["id"]
    assert demo_api.get(f"/volumes/{volume['id']}").json()["volume"]["status"] in ("backing-up", "available")
    backup = wait_status(demo_api, f"/backups/{backup_id}", "backup", "available")
    wait_status(demo_api, f"/volumes/{volume['id']}", "volume", "available")
    assert (backup["name"], backup["description"], backup["size"], backup["volume_id"]) == \
        ("b1", "d", volume["size"], volume["id"])
    assert alt_api.get(f"/backups/{backup_id}").status_code == 404
    assert backup_id in [b["id"] for b in demo_api.get("/backups/detail").json()["backups"]]

    # Into a new volume.
    r = demo_api.post(f"/backups/{backup_id}/restore", json={"restore": {"name": "restored"}})
    assert r.status_code == 202, r.text
    restore = r.json()["restore"]
    assert restore["backup_id"] == backup_id and restore["volume_name"] == "restored"
    restored = wait_status(demo_api, f"/volumes/{restore['volume_id']}", "volume", "available")
    wait_status(demo_api, f"/backups/{backup_id}", "backup", "available")
    assert restored["metadata"].get("m1") == "v1"
    assert read_raw(disk_of(cloud, restored["id"]), tmp_path) == expected

    # Into an existing one: too small is refused, a big enough one gets the data.
    small_target = make_volume(demo_api, size=1)
    if volume["size"] > 1:
        r = demo_api.post(f"/backups/{backup_id}/restore", json={"restore": {"volume_id": small_target["id"]}})
        assert r.status_code == 400
    write_pattern(disk_of(cloud, small_target["id"]), 0x11)
    r = demo_api.post(f"/backups/{backup_id}/restore", json={"restore": {"volume_id": small_target["id"]}})
    assert r.status_code == 202, r.text
    wait_status(demo_api, f"/volumes/{small_target['id']}", "volume", "available")
    wait_status(demo_api, f"/backups/{backup_id}", "backup", "available")
    assert read_raw(disk_of(cloud, small_target["id"]), tmp_path)[:PATTERN_BYTES] == expected[:PATTERN_BYTES]

    drop_backup(demo_api, backup_id)
    for vol_id in (volume["id"], restored["id"], small_target["id"]):
        demo_api.delete(f"/volumes/{vol_id}")


def test_incremental_backups(cloud: RunningCloud, demo_api: httpx.Client, tmp_path: Path) -> None:
    volume = make_volume(demo_api)
    r = demo_api.post("/backups", json={"backup": {"volume_id": volume["id"], "incremental": True}})
    assert r.status_code == 400
    assert error(r, "badRequest") == "Invalid backup: No backups available to do an incremental backup."
    write_pattern(disk_of(cloud, volume["id"]), 0x01)
    full = make_backup(demo_api, volume["id"])
    write_pattern(disk_of(cloud, volume["id"]), 0x02, offset=PATTERN_BYTES)
    expected = read_raw(disk_of(cloud, volume["id"]), tmp_path)
    incr = make_backup(demo_api, volume["id"], incremental=True)
    assert incr["is_incremental"] is True and incr["has_dependent_backups"] is False
    assert demo_api.get(f"/backups/{full['id']}").json()["backup"]["has_dependent_backups"] is True
    r = demo_api.delete(f"/backups/{full['id']}")
    assert r.status_code == 400
    assert error(r, "badRequest") == "Invalid backup: Incremental backups exist for this backup."

    restore = demo_api.post(f"/backups/{incr['id']}/restore", json={"restore": {}}).json()["restore"]
    restored = wait_status(demo_api, f"/volumes/{restore['volume_id']}", "volume", "available")
    wait_status(demo_api, f"/backups/{incr['id']}", "backup", "available")
    assert read_raw(disk_of(cloud, restored["id"]), tmp_path) == expected

    drop_backup(demo_api, incr["id"])
    drop_backup(demo_api, full["id"])
    for vol_id in (volume["id"], restored["id"]):
        demo_api.delete(f"/volumes/{vol_id}")


def test_in_use_needs_force_and_snapshot_backups(demo_api: httpx.Client, admin_api: httpx.Client) -> None:
    volume = make_volume(demo_api)
    attachment = attach(demo_api, volume["id"])
    try:
        r = demo_api.post("/backups", json={"backup": {"volume_id": volume["id"]}})
        assert r.status_code == 400
        assert error(r, "badRequest") == "Invalid volume: Backing up an in-use volume must use the force flag."
        forced = make_backup(demo_api, volume["id"], force=True)
        wait_status(demo_api, f"/volumes/{volume['id']}", "volume", "in-use")
    finally:
        detach(demo_api, volume["id"], attachment)
    drop_backup(demo_api, forced["id"])
    admin_api.post(f"/volumes/{volume['id']}/action", json={"os-reset_status": {"status": "error"}})
    r = demo_api.post("/backups", json={"backup": {"volume_id": volume["id"], "force": True}})
    assert r.status_code == 400
    assert "must be available or in-use" in error(r, "badRequest")
    admin_api.post(f"/volumes/{volume['id']}/action", json={"os-reset_status": {"status": "available"}})

    snap = make_snapshot(demo_api, volume["id"])
    backup = make_backup(demo_api, volume["id"], snapshot_id=snap["id"])
    assert backup["snapshot_id"] == snap["id"]
    wait_status(demo_api, f"/snapshots/{snap['id']}", "snapshot", "available")
    drop_backup(demo_api, backup["id"])
    demo_api.delete(f"/snapshots/{snap['id']}")
    wait_gone(demo_api, f"/snapshots/{snap['id']}")
    demo_api.delete(f"/volumes/{volume['id']}")


def test_quota(cloud: RunningCloud, demo_api: httpx.Client, admin_api: httpx.Client) -> None:
    project = cloud.sdk("devstack").current_project_id
    assert admin_api.put(f"/os-quota-sets/{project}", json={"quota_set": {"backups": 0}}).status_code == 200
    volume = make_volume(demo_api)
    try:
        r = demo_api.post("/backups", json={"backup": {"volume_id": volume["id"]}})
        assert r.status_code == 413
        assert error(r, "overLimit") == "Maximum number of backups allowed (0) exceeded"
        assert demo_api.get(f"/volumes/{volume['id']}").json()["volume"]["status"] == "available"
    finally:
        admin_api.put(f"/os-quota-sets/{project}", json={"quota_set": {"backups": 10}})
        demo_api.delete(f"/volumes/{volume['id']}")


def test_openstacksdk_and_cli(cloud: RunningCloud, demo: Any, demo_api: httpx.Client) -> None:
    volume = make_volume(demo_api)
    backup = demo.block_storage.create_backup(volume_id=volume["id"], name="sdk-backup")
    backup = demo.block_storage.wait_for_status(backup, "available", wait=60)
    assert backup.volume_id == volume["id"] and backup.is_incremental is False
    assert "sdk-backup" in [b.name for b in demo.block_storage.backups(details=True)]
    shown = cloud.cli("volume", "backup", "show", backup.id, cloud="devstack")
    assert shown["name"] == "sdk-backup" and shown["status"] == "available"
    incr = cloud.cli("volume", "backup", "create", "--incremental", "--name", "cli-incr", volume["id"],
                     cloud="devstack")
    wait_status(demo_api, f"/backups/{incr['id']}", "backup", "available")
    restored = demo.block_storage.restore_backup(incr["id"], name="sdk-restored")
    wait_status(demo_api, f"/volumes/{restored['volume_id']}", "volume", "available")
    wait_status(demo_api, f"/backups/{incr['id']}", "backup", "available")
    cloud.cli("volume", "backup", "delete", incr["id"], cloud="devstack", json_out=False)
    wait_gone(demo_api, f"/backups/{incr['id']}")
    demo.block_storage.delete_backup(backup)
    demo.block_storage.wait_for_delete(backup, wait=60)
    for vol_id in (volume["id"], restored["volume_id"]):
        demo_api.delete(f"/volumes/{vol_id}")
