"""Volume migration between backends in a running cloud with two file backends (``a``, ``b``)
on one agent host: admin's ``os-migrate_volume`` (``openstack volume migrate --host``) and a
retype with policy ``on-demand`` (``openstack volume set --type --retype-policy``) keep the
volume's id and bytes, move ``os-vol-host-attr:host``, end ``migration_status`` ``success`` and
remove the source disk; Cinder's refusals are 400s that change nothing; a destination that
does not pass the volume's type ends the migration in ``error`` with the volume intact; and
after a ``kill -9`` of the cloud at points of a migration, the restarted cloud ends it
``success`` or ``error`` with the bytes intact where the volume's row says, and no disk left on
the other backend.

The data is written and read through the file driver (the same class the agent runs, on the
same directories), so a qcow2 → qcow2 copy is compared byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

from onestack.volume.agent.file import FileDriver
from onestack.volume.rpcapi import VolumeSpec
from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.compute_support import call
from tests.functional.test_compute_volumes import boot, guest_disks
from tests.functional.volume_support import cinder, create_volume, wait_volume

ENV = {
    "ONESTACK_VOLUME__BACKENDS": "a,b",
    "ONESTACK_VOLUME__HOST": "store",
    "ONESTACK_VOLUME__REPORT_INTERVAL": "1",
    # Repair quickly after a restart (the agent's grace is its minimum, 5 s).
    "ONESTACK_VOLUME__RECONCILE_INTERVAL": "0.3",
    "ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false",
    # A stalled attached migration is repaired after 15 s (a healthy swap moves a row every few
    # hundred milliseconds, even on a loaded machine).
    "ONESTACK_VOLUME__ATTACHED_MIGRATION_TIMEOUT": "15",
}
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def mcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    home = Path(tmp_path_factory.mktemp("volume-migrate"))
    # Only admins may make a volume multiattach here, so a member's retype into such a type is refused.
    policy = home / "volume-policy.yaml"
    policy.write_text('"volume:multiattach": "role:admin"\n')
    running = make_cloud(home, {**ENV, "ONESTACK_VOLUME__POLICY_FILE": str(policy)})
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def madmin(mcloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(mcloud, "devstack-admin") as client:
        def up() -> bool:
            resp = client.get("os-services", params={"binary": "cinder-volume"})
            return {s["host"] for s in resp.json()["services"] if s["state"] == "up"} >= {"store@a", "store@b"}

        wait_until(up, timeout=60, what="backends a and b up")
        for name in ("a", "b"):
            if client.get(f"types/{name}").status_code == 404:
                resp = client.post("types", json={"volume_type": {
                    "name": name, "extra_specs": {"volume_backend_name": name}}})
                assert resp.status_code == 200, resp.text
        yield client


@pytest.fixture(scope="module")
def mdemo(mcloud: RunningCloud, madmin: httpx.Client) -> Iterator[httpx.Client]:
    with cinder(mcloud, "devstack") as client:
        yield client


class ScratchDriver(FileDriver):
    """The agent's driver on the same directory, its temporaries outside it: the agent's
    reconcile pass removes any temporary file of work it is not doing."""

    def __init__(self, directory: Path, backend: str, scratch: Path) -> None:
        super().__init__(directory, backend, host="store")
        self.scratch = scratch
        scratch.mkdir(exist_ok=True)

    def _tmp(self, owner_id: str) -> Path:
        return self.scratch / f"{owner_id}-{os.urandom(4).hex()}"


def driver(cloud: RunningCloud, backend: str) -> FileDriver:
    return ScratchDriver(cloud.data_dir / "volumes" / "store" / backend, backend, cloud.data_dir.parent / "scratch")


def spec(volume: dict[str, Any], backend: str) -> VolumeSpec:
    return VolumeSpec(id=volume["id"], size=volume["size"], host=f"store@{backend}#{backend}", status="available",
                      provider_location=None, volume_type_id="", extra_specs={}, multiattach=False)


def write_pattern(cloud: RunningCloud, volume: dict[str, Any], backend: str, tmp: Path, bulk_mib: int = 0) -> bytes:
    """Random bytes at the start, ``bulk_mib`` MiB more from 8 MiB (a copy that takes a while),
    and 1 MiB at 600 MiB, the rest zero, written through the driver."""
    raw = tmp / "pattern.raw"
    with open(raw, "wb") as f:
        f.truncate(volume["size"] * 1024 * MiB)
        f.write(os.urandom(3 * MiB + 17))
        f.seek(8 * MiB)
        f.writelines(os.urandom(MiB) for _ in range(bulk_mib))
        f.seek(600 * MiB)
        f.write(os.urandom(MiB))
    driver(cloud, backend).write_raw_from(spec(volume, backend), raw, "raw")
    return read_back(cloud, volume, backend, bulk_mib)


def read_back(cloud: RunningCloud, volume: dict[str, Any], backend: str, bulk_mib: int = 0) -> bytes:
    """The first 4 MiB, the sha256 of the bulk, the MiB at 600 MiB."""
    with driver(cloud, backend).read_raw(spec(volume, backend)) as f:
        first = f.read(4 * MiB)
        f.seek(8 * MiB)
        bulk = hashlib.sha256(f.read(bulk_mib * MiB)).digest()
        f.seek(600 * MiB)
        return first + bulk + f.read(MiB)


def disk(cloud: RunningCloud, backend: str, volume_id: str) -> bool:
    return (cloud.data_dir / "volumes" / "store" / backend / f"volume-{volume_id}").exists()


def admin_view(admin: httpx.Client, volume_id: str) -> dict[str, Any]:
    resp = admin.get(f"volumes/{volume_id}")
    assert resp.status_code == 200, resp.text
    volume: dict[str, Any] = resp.json()["volume"]
    return volume


def migrated(admin: httpx.Client, volume_id: str, status: str = "success") -> dict[str, Any]:
    found: dict[str, Any] = wait_until(lambda: (v := admin_view(admin, volume_id))["migration_status"] == status
                                       and v, timeout=60, what=f"migration of {volume_id} ends {status}")
    return found


def test_migrate_moves_the_bytes_and_keeps_the_id(mcloud: RunningCloud, mdemo: httpx.Client,
                                                  madmin: httpx.Client, tmp_path: Path) -> None:
    volume = create_volume(mdemo, 1, name="moving")
    wait_volume(mdemo, volume["id"])
    source = admin_view(madmin, volume["id"])["os-vol-host-attr:host"]
    here, there = ("a", "b") if source == "store@a#a" else ("b", "a")
    pattern = write_pattern(mcloud, volume, here, tmp_path)

    mcloud.cli("volume", "migrate", "--host", f"store@{there}#{there}", "--lock-volume", volume["id"],
               json_out=False)
    moved = migrated(madmin, volume["id"])
    assert moved["os-vol-host-attr:host"] == f"store@{there}#{there}"
    assert moved["os-vol-mig-status-attr:migstat"] == "success"
    assert moved["status"] == "available" and moved["id"] == volume["id"]
    assert read_back(mcloud, volume, there) == pattern
    wait_until(lambda: not disk(mcloud, here, volume["id"]), timeout=30, what="the source disk removed")
    # The owner sees the same volume, without the admin's attributes.
    seen = wait_volume(mdemo, volume["id"])
    assert "os-vol-host-attr:host" not in seen and seen["name"] == "moving"

    # Back again with only the backend named (its pool is chosen): the bytes still match.
    resp = madmin.post(f"volumes/{volume['id']}/action", json={"os-migrate_volume": {"host": f"store@{here}"}})
    assert resp.status_code == 202, resp.text
    wait_until(lambda: admin_view(madmin, volume["id"])["os-vol-host-attr:host"] == f"store@{here}#{here}",
               timeout=60, what="the volume back on its first backend")
    assert read_back(mcloud, volume, here) == pattern
    wait_until(lambda: not disk(mcloud, there, volume["id"]), timeout=30, what="the second source disk removed")
    assert madmin.delete(f"volumes/{volume['id']}").status_code == 202


def test_retype_on_demand_through_the_cli_moves_the_bytes(mcloud: RunningCloud, mdemo: httpx.Client,
                                                          madmin: httpx.Client, tmp_path: Path) -> None:
    volume = create_volume(mdemo, 1, volume_type="a", name="retyped")
    wait_volume(mdemo, volume["id"])
    pattern = write_pattern(mcloud, volume, "a", tmp_path)
    mcloud.cli("volume", "set", "--type", "b", "--retype-policy", "on-demand", volume["id"], cloud="devstack",
               json_out=False)
    done = wait_until(lambda: (v := admin_view(madmin, volume["id"]))["volume_type"] == "b" and v, timeout=60,
                      what="the volume retyped to b")
    assert done["os-vol-host-attr:host"] == "store@b#b" and done["migration_status"] == "success"
    assert read_back(mcloud, volume, "b") == pattern
    wait_until(lambda: not disk(mcloud, "a", volume["id"]), timeout=30, what="the old disk removed")
    assert madmin.delete(f"volumes/{volume['id']}").status_code == 202


def test_retype_into_a_multiattach_type_checks_the_multiattach_policy(mdemo: httpx.Client,
                                                                      madmin: httpx.Client) -> None:
    name = f"multi-{os.getpid()}"
    made = madmin.post("types", json={"volume_type": {"name": name, "extra_specs": {"multiattach": "<is> True"}}})
    assert made.status_code == 200, made.text
    volume = create_volume(mdemo, 1, volume_type="a", name="single")
    wait_volume(mdemo, volume["id"])
    resp = mdemo.post(f"volumes/{volume['id']}/action", json={"os-retype": {"new_type": name}})
    assert resp.status_code == 403, resp.text
    assert "volume:multiattach" in resp.json()["forbidden"]["message"]
    kept = admin_view(madmin, volume["id"])
    assert kept["volume_type"] == "a" and kept["multiattach"] is False and kept["status"] == "available"
    # The admin passes the policy; the type has no backend name, so nothing moves.
    resp = madmin.post(f"volumes/{volume['id']}/action", json={"os-retype": {"new_type": name}})
    assert resp.status_code == 202, resp.text
    done = admin_view(madmin, volume["id"])
    assert done["volume_type"] == name and done["multiattach"] is True
    assert madmin.delete(f"volumes/{volume['id']}").status_code == 202
    wait_until(lambda: madmin.get(f"volumes/{volume['id']}").status_code == 404, timeout=60, what="volume gone")
    assert madmin.delete(f"types/{made.json()['volume_type']['id']}").status_code == 202


class Watch:
    """The volume looked at (as an admin) in a thread of its own, as fast as the API answers, for
    the ``with`` block: each look's (migration_status, status, the servers its attachments name)."""

    def __init__(self, cloud: RunningCloud, volume_id: str) -> None:
        self.cloud, self.volume_id = cloud, volume_id
        self.looks: list[tuple[str | None, str, list[str]]] = []
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with cinder(self.cloud, "devstack-admin") as client:
                while not self._stop.is_set():
                    v = admin_view(client, self.volume_id)
                    self.looks.append((v["migration_status"], v["status"], [a["server_id"] for a in v["attachments"]]))
        except BaseException as exc:  # noqa: BLE001 - reported by __exit__
            self.failure = exc

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert self.failure is None, f"the watch failed: {self.failure!r}"


def test_an_attached_volume_migrates_under_its_server(mcloud: RunningCloud, mdemo: httpx.Client,
                                                      madmin: httpx.Client, tmp_path: Path) -> None:
    """Cinder's target volume, compute's swap, os-migrate_volume_completion: the server keeps the
    volume's id, its mapping and the guest's disk now on the other backend, with the same bytes."""
    conn, admin = mcloud.sdk("devstack"), mcloud.sdk("devstack-admin")
    server = boot(conn, "swap-vm")
    volume = create_volume(mdemo, 1, name="attached")
    vid = wait_volume(mdemo, volume["id"])["id"]
    here = admin_view(madmin, vid)["os-vol-host-attr:host"].rsplit("#", 1)[1]
    there = "b" if here == "a" else "a"
    pattern = write_pattern(mcloud, volume, here, tmp_path)
    mcloud.cli("server", "add", "volume", server.id, vid, cloud="devstack", json_out=False)
    wait_volume(mdemo, vid, "in-use")
    (device, before), = guest_disks(mcloud, admin, server.id).items()
    assert before["data"]["device_path"] == str(driver(mcloud, here).volume_path(vid))

    with Watch(mcloud, vid) as watch:
        mcloud.cli("volume", "migrate", "--host", f"store@{there}#{there}", vid, json_out=False)
        moved = migrated(madmin, vid)
        assert moved["os-vol-host-attr:host"] == f"store@{there}#{there}" and moved["status"] == "in-use"
        assert [a["server_id"] for a in moved["attachments"]] == [server.id]
        assert read_back(mcloud, volume, there) == pattern
        # The server still has the volume by its id; the guest's disk at the same device is the new one.
        new_attachment = moved["attachments"][0]["attachment_id"]
        seen = wait_until(lambda: (found := call(conn, "GET", f"/servers/{server.id}/os-volume_attachments", "2.89")
                                   .json()["volumeAttachments"])[0]["attachment_id"] == new_attachment and found,
                          timeout=30, what="the server's mapping on the new attachment")
        assert [(a["volumeId"], a["device"]) for a in seen] == [(vid, device)]
        after = guest_disks(mcloud, admin, server.id)
        assert list(after) == [device]
        assert after[device]["data"]["device_path"] == str(driver(mcloud, there).volume_path(vid))
    # From the completion on (its exchange and success are one write) the volume listed its server,
    # in-use, at every look: compute took the renamed disk's connection without un-completing the
    # attachment (an attachment update would make both attaching for a moment).
    completed = [look for look in watch.looks if look[0] == "success"]
    assert completed and all(look == ("success", "in-use", [server.id]) for look in completed), (
        len(watch.looks), [look for look in completed if look != ("success", "in-use", [server.id])][:5])
    # The target volume is gone, the old disk too; nothing else is named like it.
    wait_until(lambda: not disk(mcloud, here, vid), timeout=30, what="the old disk removed")
    named = madmin.get("volumes", params={"all_tenants": 1, "name": "attached"}).json()["volumes"]
    wait_until(lambda: [v["id"] for v in madmin.get("volumes", params={"all_tenants": 1, "name": "attached"})
                        .json()["volumes"]] == [vid], timeout=30, what=f"only {vid} named attached ({named})")
    # It detaches as any volume does, and can be deleted.
    mcloud.cli("server", "remove", "volume", server.id, vid, cloud="devstack", json_out=False)
    wait_volume(mdemo, vid, "available")
    assert mdemo.delete(f"volumes/{vid}").status_code == 202
    conn.compute.delete_server(server.id)


def test_retype_on_demand_of_an_attached_volume_swaps_it_under_its_server(
        mcloud: RunningCloud, mdemo: httpx.Client, madmin: httpx.Client, tmp_path: Path) -> None:
    """Cinder's retype of an in-use volume to a type another backend serves: a target of the new
    type, compute's swap, the completion; the volume keeps its id and server, takes the type."""
    conn, admin = mcloud.sdk("devstack"), mcloud.sdk("devstack-admin")
    server = boot(conn, "retype-vm")
    volume = create_volume(mdemo, 1, volume_type="a", name="retyped-attached")
    vid = wait_volume(mdemo, volume["id"])["id"]
    pattern = write_pattern(mcloud, volume, "a", tmp_path)
    mcloud.cli("server", "add", "volume", server.id, vid, cloud="devstack", json_out=False)
    wait_volume(mdemo, vid, "in-use")
    mcloud.cli("volume", "set", "--type", "b", "--retype-policy", "on-demand", vid, cloud="devstack",
               json_out=False)
    done = wait_until(lambda: (v := admin_view(madmin, vid))["volume_type"] == "b" and v["status"] == "in-use"
                      and v["attachments"] and v, timeout=90, what="the attached volume retyped to b")
    assert done["os-vol-host-attr:host"] == "store@b#b" and done["migration_status"] == "success", done
    assert [a["server_id"] for a in done["attachments"]] == [server.id]
    assert read_back(mcloud, volume, "b") == pattern
    wait_until(lambda: not disk(mcloud, "a", vid), timeout=30, what="the old disk removed")
    wait_until(lambda: [v["id"] for v in madmin.get("volumes", params={"all_tenants": 1, "name": "retyped-attached"})
                        .json()["volumes"]] == [vid], timeout=30, what="the target volume gone")
    (_, disk_info), = guest_disks(mcloud, admin, server.id).items()
    assert disk_info["data"]["device_path"] == str(driver(mcloud, "b").volume_path(vid))
    mcloud.cli("server", "remove", "volume", server.id, vid, cloud="devstack", json_out=False)
    wait_volume(mdemo, vid, "available")
    assert mdemo.delete(f"volumes/{vid}").status_code == 202
    conn.compute.delete_server(server.id)


def test_compute_swap_refusals_change_nothing(mcloud: RunningCloud, mdemo: httpx.Client,
                                              madmin: httpx.Client) -> None:
    conn, admin = mcloud.sdk("devstack"), mcloud.sdk("devstack-admin")
    server = boot(conn, "swap-refused")
    one = wait_volume(mdemo, create_volume(mdemo, 2, name="swap-one")["id"])
    two = wait_volume(mdemo, create_volume(mdemo, 1, name="swap-two")["id"])
    mcloud.cli("server", "add", "volume", server.id, one["id"], cloud="devstack", json_out=False)
    wait_volume(mdemo, one["id"], "in-use")
    path = f"/servers/{server.id}/os-volume_attachments/{one['id']}"

    def swap(c: Any, new_id: str) -> Any:
        return call(c, "PUT", path, body={"volumeAttachment": {"volumeId": new_id}})

    refused = swap(admin, two["id"])
    assert refused.status_code == 409 and "is not migrating" in refused.text, refused.text
    resp = madmin.post(f"volumes/{one['id']}/action", json={"os-reset_status": {"migration_status": "migrating"}})
    assert resp.status_code == 202, resp.text
    assert swap(conn, two["id"]).status_code == 403
    smaller = swap(admin, two["id"])
    assert smaller.status_code == 400 and "New volume must be the same size or larger." in smaller.text, smaller.text
    unknown = "0b5cf3a2-7bd8-4d43-9f7e-3f1b5e9d2c11"
    missing = swap(admin, unknown)
    assert missing.status_code == 400 and f"Volume {unknown} could not be found." in missing.text, missing.text
    assert [a["server_id"] for a in wait_volume(mdemo, one["id"], "in-use")["attachments"]] == [server.id]
    assert wait_volume(mdemo, two["id"])["attachments"] == []
    resp = madmin.post(f"volumes/{one['id']}/action", json={"os-reset_status": {"migration_status": "none"}})
    assert resp.status_code == 202, resp.text
    mcloud.cli("server", "remove", "volume", server.id, one["id"], cloud="devstack", json_out=False)
    wait_volume(mdemo, one["id"])
    for v in (one, two):
        assert mdemo.delete(f"volumes/{v['id']}").status_code == 202
    conn.compute.delete_server(server.id)


def test_migrate_volume_completion_checks(mcloud: RunningCloud, mdemo: httpx.Client, madmin: httpx.Client) -> None:
    one, two = (wait_volume(mdemo, create_volume(mdemo, 1, name=f"completion-{i}")["id"]) for i in range(2))

    def complete(client: httpx.Client, body: Any) -> httpx.Response:
        return client.post(f"volumes/{one['id']}/action", json={"os-migrate_volume_completion": body})

    for body, message in [({}, "'new_volume' is a required property"),
                          ({"new_volume": "nope"}, "new_volume"),
                          ({"new_volume": two["id"], "error": "maybe"}, "error"),
                          ({"new_volume": two["id"], "x": 1}, "Additional properties are not allowed")]:
        resp = complete(madmin, body)
        assert resp.status_code == 400 and message in resp.json()["badRequest"]["message"], (body, resp.text)
    assert complete(mdemo, {"new_volume": two["id"]}).status_code == 403
    gone = complete(madmin, {"new_volume": "8c3b7a5e-1c1d-4c4e-9a55-0d8e5e1f0a11"})
    assert gone.status_code == 404, gone.text
    # Neither migrating (compute swapped two detached volumes): the new one is kept, nothing moves.
    resp = complete(madmin, {"new_volume": two["id"]})
    assert resp.status_code == 200 and resp.json() == {"save_volume_id": two["id"]}, resp.text

    def mark(v: dict[str, Any], status: str) -> None:
        resp = madmin.post(f"volumes/{v['id']}/action", json={"os-reset_status": {"migration_status": status}})
        assert resp.status_code == 202, resp.text

    mark(one, "migrating")
    steps: list[tuple[tuple[dict[str, Any], str] | None, str]] = [
        (None, "Destination volume not mid-migration."),
        ((two, "migrating"), f"Destination has migration_status migrating, expected target:{one['id']}."),
        ((one, "none"), "Source volume not mid-migration.")]
    for before, message in steps:
        if before is not None:
            mark(*before)
        for error in (False, True):
            resp = complete(madmin, {"new_volume": two["id"], "error": error})
            assert resp.status_code == 400 and message in resp.json()["badRequest"]["message"], resp.text
    mark(two, "none")
    for v in (one, two):
        assert admin_view(madmin, v["id"])["status"] == "available"
        assert madmin.delete(f"volumes/{v['id']}").status_code == 202


def _migrate(client: httpx.Client, volume_id: str, body: Any, version: str = "3.0") -> httpx.Response:
    return client.post(f"volumes/{volume_id}/action", json={"os-migrate_volume": body},
                       headers={"OpenStack-API-Version": f"volume {version}"})


def test_refusals_are_cinders_400s_and_change_nothing(mcloud: RunningCloud, mdemo: httpx.Client,
                                                      madmin: httpx.Client) -> None:
    volume = create_volume(mdemo, 1, volume_type="a", name="stays")
    wait_volume(mdemo, volume["id"])
    vid = volume["id"]
    cases: list[tuple[Any, str, str]] = [
        ({"host": "store@a#a"}, "3.0", "destination host/cluster must be different than the current one"),
        ({"host": "store@a"}, "3.0", "destination host/cluster must be different than the current one"),
        ({"host": "nowhere@x#x"}, "3.0", "Invalid host: No available service named nowhere@x#x"),
        ({}, "3.0", "'host' is a required property"),
        ({"host": "store@b#b", "lock_volume": "maybe"}, "3.0", "lock_volume"),
        ({"host": "store@b#b", "bogus": 1}, "3.0", "Additional properties are not allowed"),
        ({"host": "store@b#b", "cluster": "c"}, "3.16", "One and only one of cluster and host must be set."),
        ({"cluster": "c"}, "3.16", "Invalid host: No available service named c"),
        ({"host": None}, "3.16", "One and only one of cluster and host must be set."),
    ]
    for body, version, message in cases:
        resp = _migrate(madmin, vid, body, version)
        assert resp.status_code == 400, (body, resp.text)
        assert message in resp.json()["badRequest"]["message"], (body, resp.text)
    # Not an admin: the policy refuses.
    assert _migrate(mdemo, vid, {"host": "store@b#b"}).status_code == 403
    # A volume with a snapshot stays where it is.
    snap = mdemo.post("snapshots", json={"snapshot": {"volume_id": vid, "name": "pin"}})
    assert snap.status_code == 202, snap.text
    snap_id = snap.json()["snapshot"]["id"]
    wait_until(lambda: mdemo.get(f"snapshots/{snap_id}").json()["snapshot"]["status"] == "available", timeout=60,
               what="the snapshot available")
    resp = _migrate(madmin, vid, {"host": "store@b#b"})
    assert resp.status_code == 400 and "have snapshots" in resp.text
    after = admin_view(madmin, vid)
    assert after["migration_status"] is None and after["status"] == "available"
    assert after["os-vol-host-attr:host"] == "store@a#a" and not disk(mcloud, "b", vid)
    assert mdemo.delete(f"snapshots/{snap_id}").status_code == 202
    wait_until(lambda: mdemo.get(f"snapshots/{snap_id}").status_code == 404, timeout=60, what="snapshot gone")

    # A destination that does not pass the volume's type (pinned to a): 202, then error, intact.
    resp = _migrate(madmin, vid, {"host": "store@b#b", "lock_volume": True})
    assert resp.status_code == 202, resp.text
    failed = migrated(madmin, vid, "error")
    assert failed["status"] == "available" and failed["os-vol-host-attr:host"] == "store@a#a"
    assert disk(mcloud, "a", vid) and not disk(mcloud, "b", vid)
    # error is not an active migration: the volume can still be deleted.
    assert madmin.delete(f"volumes/{vid}").status_code == 202


@pytest.mark.parametrize("kill_after", [0.0, 0.3, 1.0])
def test_a_kill_during_a_migration_ends_it_in_a_final_state(mcloud: RunningCloud, madmin: httpx.Client,
                                                            tmp_path: Path, kill_after: float) -> None:
    volume = create_volume(madmin, 1, name=f"killed-{kill_after}")
    wait_volume(madmin, volume["id"])
    here = admin_view(madmin, volume["id"])["os-vol-host-attr:host"].split("#")[1]
    there = "b" if here == "a" else "a"
    # 300 MiB of data: the copy takes long enough for the later kill points to land in it.
    pattern = write_pattern(mcloud, volume, here, tmp_path, bulk_mib=300)
    resp = _migrate(madmin, volume["id"], {"host": f"store@{there}#{there}"})
    assert resp.status_code == 202, resp.text
    time.sleep(kill_after)  # the kill point itself, not synchronisation
    assert mcloud.stop(signal.SIGKILL) == -signal.SIGKILL
    mcloud.start()
    with cinder(mcloud, "devstack-admin") as admin:
        final = wait_until(lambda: (v := admin_view(admin, volume["id"]))["migration_status"] in ("success", "error")
                           and v["status"] == "available" and v, timeout=60, what="the migration ended")
        lives = final["os-vol-host-attr:host"].split("#")[1]
        assert lives == (there if final["migration_status"] == "success" else here), final
        assert read_back(mcloud, volume, lives, 300) == pattern
        other = there if lives == here else here
        wait_until(lambda: not disk(mcloud, other, volume["id"]), timeout=60,
                   what=f"no disk of {volume['id']} left on {other}")
        assert admin.delete(f"volumes/{volume['id']}").status_code == 202


def _pools_allocated(admin: httpx.Client) -> dict[str, float]:
    resp = admin.get("scheduler-stats/get_pools", params={"detail": "true"})
    assert resp.status_code == 200, resp.text
    return {p["name"]: p["capabilities"].get("allocated_capacity_gb") for p in resp.json()["pools"]}


def _named(admin: httpx.Client, name: str) -> list[dict[str, Any]]:
    resp = admin.get("volumes/detail", params={"all_tenants": 1, "name": name})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["volumes"])


@pytest.mark.parametrize("kill_at", ["accepted", "copying", "copied", "swapped"])
def test_a_kill_during_an_attached_migration_is_repaired(mcloud: RunningCloud, mdemo: httpx.Client,
                                                         madmin: httpx.Client, tmp_path: Path, kill_at: str) -> None:
    """``kill -9`` of the cloud while an attached volume migrates: at once after the 202, while
    its target is copied, once the copy is made (compute's swap under way), once compute released
    the volume's own attachment (its swap done, the completion not yet or under way). The
    restarted cloud ends the migration ``success`` or ``error`` (the scheduler's repair rolls a
    stalled one forward or back): the volume in-use on its server, its bytes where its row says,
    no target row, no target disk, no disk left on the other backend, the pools' counts as before."""
    conn = mcloud.sdk("devstack")
    server = boot(conn, f"killed-swap-{kill_at}")
    name = f"killed-attached-{kill_at}"
    vid = wait_volume(mdemo, create_volume(mdemo, 1, name=name)["id"])["id"]
    volume = admin_view(madmin, vid)
    here = volume["os-vol-host-attr:host"].split("#")[1]
    there = "b" if here == "a" else "a"
    pattern = write_pattern(mcloud, volume, here, tmp_path, bulk_mib=300)
    mcloud.cli("server", "add", "volume", server.id, vid, cloud="devstack", json_out=False)
    wait_volume(mdemo, vid, "in-use")
    # The counts to compare with once nothing an earlier test deleted is still going.
    wait_until(lambda: not [v for v in madmin.get("volumes/detail", params={"all_tenants": 1}).json()["volumes"]
                            if v["status"] == "deleting"], timeout=60, what="no volume deleting")
    allocated = _pools_allocated(madmin)
    usage = mdemo.get(f"os-quota-sets/{volume['os-vol-tenant-attr:tenant_id']}", params={"usage": "true"}).json()

    resp = _migrate(madmin, vid, {"host": f"store@{there}#{there}"})
    assert resp.status_code == 202, resp.text
    targets: set[str] = set()

    def target(status: tuple[str, ...]) -> bool:
        found = [v for v in _named(madmin, name) if v["id"] != vid]
        targets.update(v["id"] for v in found)
        return any(v["status"] in status for v in found) or admin_view(madmin, vid)["migration_status"] in (
            "success", "error")

    if kill_at == "copying":
        wait_until(lambda: target(("creating",)), timeout=60, what="the target being copied")
    elif kill_at == "copied":
        wait_until(lambda: target(("available", "reserved", "attaching", "in-use")), timeout=120,
                   what="the target copied")
    elif kill_at == "swapped":
        # As soon as compute released the old attachment or the completion began: no wait_until,
        # whose pause would miss a window this narrow.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            seen = admin_view(madmin, vid)
            if seen["migration_status"] in ("completing", "success", "error") or (
                    seen["migration_status"] == "migrating" and not seen["attachments"]):
                break
    assert mcloud.stop(signal.SIGKILL) == -signal.SIGKILL
    mcloud.start()
    restarted = time.monotonic()
    with cinder(mcloud, "devstack-admin") as admin:
        found = (admin_view(admin, vid)["migration_status"], sorted(v["status"] for v in _named(admin, name)
                                                                    if v["id"] != vid))
        # Ended = the migration's status final and the volume on its server.
        final = wait_until(lambda: (v := admin_view(admin, vid))["migration_status"] in ("success", "error")
                           and v["status"] == "in-use" and v["attachments"] and v, timeout=180,
                           what="the attached migration ended")
        # The figures docs/reliability.md quotes (seen with -s).
        print(f"\nattached migration killed at {kill_at}: after the restart {found}, ended "
              f"{final['migration_status']} {time.monotonic() - restarted:.1f} s later")
        lives = final["os-vol-host-attr:host"].split("#")[1]
        assert lives == (there if final["migration_status"] == "success" else here), final
        assert [a["server_id"] for a in final["attachments"]] == [server.id], final
        assert read_back(mcloud, volume, lives, 300) == pattern
        other = there if lives == here else here
        targets.update(v["id"] for v in _named(admin, name) if v["id"] != vid)
        wait_until(lambda: [v["id"] for v in _named(admin, name)] == [vid], timeout=90, what="the target row gone")
        wait_until(lambda: not disk(mcloud, other, vid) and not any(disk(mcloud, b, t) for t in targets
                                                                    for b in ("a", "b")),
                   timeout=90, what=f"no disk of {vid} on {other}, no target disk ({targets})")
        wait_until(lambda: _pools_allocated(admin) == {**allocated, **{
            f"store@{b}#{b}": allocated[f"store@{b}#{b}"] + (1 if b == lives else 0) - (1 if b == here else 0)
            for b in ("a", "b")}}, timeout=60, what=f"the pools' counts as before, the volume on {lives}")
        after = admin.get(f"os-quota-sets/{final['os-vol-tenant-attr:tenant_id']}", params={"usage": "true"}).json()
        assert after["quota_set"]["volumes"] == usage["quota_set"]["volumes"], (usage, after)
        assert after["quota_set"]["gigabytes"] == usage["quota_set"]["gigabytes"], (usage, after)
    # Killed after compute released the old attachment and before it saved the new one, the
    # mapping names the released one until the conductor's pass gives it the volume's (its pass
    # runs every 10 s here).
    def mapped() -> list[str]:
        return [m["attachment_id"] for m in call(conn, "GET", f"/servers/{server.id}/os-volume_attachments",
                                                 "2.89").json()["volumeAttachments"]]

    held = [a["attachment_id"] for a in final["attachments"]]
    print(f"compute's mapping {'on' if mapped() == held else 'not yet on'} the volume's attachment")
    wait_until(lambda: mapped() == held, timeout=60, what="compute's mapping on the volume's attachment")
    # It detaches as any volume does, and can be deleted.
    mcloud.cli("server", "remove", "volume", server.id, vid, cloud="devstack", json_out=False)
    wait_volume(mdemo, vid, "available", timeout=90)
    assert mdemo.delete(f"volumes/{vid}").status_code == 202
    conn.compute.delete_server(server.id)
