"""The volume agents of a running cloud: real disk files appear and go with their volumes, an
``onestack agent volume`` process serves its own backend over RabbitMQ, and an agent killed
mid-work and restarted leaves no volume stuck and no stray file.

One cloud of this module's own on RabbitMQ (short report and reconcile intervals) with its
in-process agent for host ``vol-main`` (backend ``file-1``), and agent processes for other hosts
each with a backend of its own that a volume type selects.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.agent_process import AgentProcess, bus_cloud
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.volume_support import (
    cinder,
    create_volume,
    get_volume,
    wait_gone,
    wait_volume,
)

MAIN = "vol-main"
# The type bootstrap made for the in-process backend: volumes of it never go to an agent process's
# pool (a stopped agent's pool stays eligible for service_down_time).
MAIN_TYPE = "file-1"
GiB = 1024 ** 3


@pytest.fixture(scope="module")
def vcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with bus_cloud(Path(tmp_path_factory.mktemp("volume-agent")), {
        "ONESTACK_VOLUME__HOST": MAIN,
        "ONESTACK_VOLUME__REPORT_INTERVAL": "1",
        "ONESTACK_VOLUME__RECONCILE_INTERVAL": "1",
    }) as running:
        yield running


@pytest.fixture(scope="module")
def admin(vcloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(vcloud, "devstack-admin") as client:
        yield client


@pytest.fixture(scope="module")
def demo(vcloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(vcloud, "devstack") as client:
        yield client


def disk(data_dir: Path, host: str, backend: str, volume_id: str) -> Path:
    return data_dir / "volumes" / host / backend / f"volume-{volume_id}"


def virtual_size(path: Path) -> int:
    info = subprocess.run(["qemu-img", "info", "--output=json", str(path)], capture_output=True, text=True,
                          check=False)
    if info.returncode != 0:  # no qemu-img: a raw file
        return path.stat().st_size
    return int(json.loads(info.stdout)["virtual-size"])


def backend_files(data_dir: Path, host: str, backend: str) -> list[str]:
    return sorted(os.listdir(data_dir / "volumes" / host / backend))


class BackendAgent(AgentProcess):
    """``onestack agent volume --host HOST`` with a backend of its own (``backend``) and the volume
    type that selects it (``volume_type``, made by the ``agent`` fixture)."""

    def __init__(self, cloud: RunningCloud, host: str, data_dir: Path) -> None:
        self.backend = f"ext-{host[-6:]}"
        self.volume_type = f"type-{self.backend}"
        super().__init__(cloud, "volume", host, data_dir, env={"ONESTACK_VOLUME__BACKENDS": self.backend})


@pytest.fixture
def agent(vcloud: RunningCloud, admin: httpx.Client, tmp_path: Path) -> Iterator[BackendAgent]:
    host = f"vol-ext-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path / "agent-data"
    data_dir.mkdir()
    proc = BackendAgent(vcloud, host, data_dir)
    resp = admin.post("types", json={"volume_type": {"name": proc.volume_type,
                                                     "extra_specs": {"volume_backend_name": proc.backend}}})
    assert resp.status_code == 200, resp.text
    with proc.running(lambda: service_up(admin, f"{host}@{proc.backend}"), f"{host}'s cinder-volume up"):
        yield proc


def service_up(admin: httpx.Client, backend_host: str) -> bool:
    resp = admin.get("os-services", params={"binary": "cinder-volume"})
    assert resp.status_code == 200, resp.text
    return any(s["host"] == backend_host and s["state"] == "up" for s in resp.json()["services"])


def test_the_in_process_agent_reports_its_backend_and_pool(admin: httpx.Client) -> None:
    wait_until(lambda: service_up(admin, f"{MAIN}@file-1"), timeout=30, what="vol-main's cinder-volume up")
    resp = admin.get("scheduler-stats/get_pools", params={"detail": "true"})
    assert resp.status_code == 200, resp.text
    pools = {p["name"]: p["capabilities"] for p in resp.json()["pools"]}
    caps = pools[f"{MAIN}@file-1#file-1"]
    assert caps["volume_backend_name"] == "file-1"
    assert caps["total_capacity_gb"] > 0 and 0 <= caps["free_capacity_gb"] <= caps["total_capacity_gb"]


def test_a_volume_is_a_disk_file_of_its_size_until_deleted(vcloud: RunningCloud, demo: httpx.Client,
                                                            admin: httpx.Client) -> None:
    volume = create_volume(demo, size=2, name="agent-disk", volume_type=MAIN_TYPE)
    wait_volume(demo, volume["id"])
    shown = get_volume(admin, volume["id"])
    assert shown is not None and shown["os-vol-host-attr:host"] == f"{MAIN}@file-1#file-1"
    path = disk(vcloud.data_dir, MAIN, "file-1", volume["id"])
    assert path.is_file() and virtual_size(path) == 2 * GiB
    assert demo.delete(f"volumes/{volume['id']}").status_code == 202
    wait_gone(demo, volume["id"])
    assert not path.exists()


def test_an_agent_process_serves_its_own_backend(agent: BackendAgent, demo: httpx.Client, admin: httpx.Client) -> None:
    volume = create_volume(demo, size=1, volume_type=agent.volume_type)
    wait_volume(demo, volume["id"])
    shown = get_volume(admin, volume["id"])
    assert shown is not None and shown["os-vol-host-attr:host"] == f"{agent.host}@{agent.backend}#{agent.backend}"
    path = disk(agent.data_dir, agent.host, agent.backend, volume["id"])
    assert path.is_file() and virtual_size(path) == GiB
    assert demo.delete(f"volumes/{volume['id']}").status_code == 202
    wait_gone(demo, volume["id"])
    assert not path.exists()


def test_an_agent_killed_mid_work_and_restarted_leaves_nothing_stuck_or_stray(
        agent: BackendAgent, demo: httpx.Client) -> None:
    kept = create_volume(demo, size=1, volume_type=agent.volume_type)
    doomed = create_volume(demo, size=1, volume_type=agent.volume_type)
    wait_volume(demo, kept["id"])
    wait_volume(demo, doomed["id"])
    # Killed right after a create was accepted (before, during or after the agent's work).
    racing = create_volume(demo, size=1, volume_type=agent.volume_type)
    agent.kill()
    # While it is down: a delete is accepted, and what a crash mid-write leaves lies on its disk —
    # a temporary of a create cut short; and a whole disk no volume owns (as os-unmanage leaves
    # one), which stays for a later manage.
    assert demo.delete(f"volumes/{doomed['id']}").status_code == 202
    backend = agent.data_dir / "volumes" / agent.host / agent.backend
    leftover = backend / f".tmp-{uuid.uuid4()}-deadbeef"
    leftover.write_bytes(b"half a disk")
    stray = backend / f"volume-{uuid.uuid4()}"
    stray.write_bytes(b"nobody's disk")
    hour_ago = time.time() - 3600
    os.utime(stray, (hour_ago, hour_ago))
    agent.start()
    wait_volume(demo, racing["id"], timeout=90)
    wait_gone(demo, doomed["id"], timeout=60)
    expected = sorted([*(f"volume-{v['id']}" for v in (kept, racing)), stray.name])
    wait_until(lambda: backend_files(agent.data_dir, agent.host, agent.backend) == expected, timeout=60,
               what="only the volumes' disks and the unowned one on the backend")
    for v in (kept, racing):
        assert demo.delete(f"volumes/{v['id']}").status_code == 202
        wait_gone(demo, v["id"])
    assert backend_files(agent.data_dir, agent.host, agent.backend) == [stray.name]


def head_of(path: Path, length: int, tmp: Path) -> tuple[bytes, int]:
    """The first ``length`` bytes of a disk file (qcow2 or raw) and its virtual size."""
    size = virtual_size(path)
    raw = tmp / f"raw-{uuid.uuid4().hex[:6]}"
    converted = subprocess.run(["qemu-img", "convert", "-O", "raw", str(path), str(raw)], capture_output=True,
                               check=False)
    source = raw if converted.returncode == 0 else path
    with open(source, "rb") as f:
        data = f.read(length)
    raw.unlink(missing_ok=True)
    return data, size


def wait_for(client: httpx.Client, path: str, key: str, status: str, timeout: float = 90) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        resp = client.get(path)
        assert resp.status_code == 200, resp.text
        found: dict[str, Any] = resp.json()[key]
        assert found["status"] != "error", found
        return found if found["status"] == status else None
    result: dict[str, Any] = wait_until(reached, timeout=timeout, what=f"{path} {status}")
    return result


def test_data_goes_through_image_snapshot_clone_extend_backup_and_upload(
        vcloud: RunningCloud, demo: httpx.Client, tmp_path: Path) -> None:
    """Bytes of an image land in a volume's disk and travel on unchanged to its snapshot, a volume
    from the snapshot, a clone (then extended), a backup restored to a new volume, and an image."""
    data = bytes(range(256)) * 4096  # 1 MiB
    sdk = vcloud.sdk("devstack")
    image = sdk.image.create_image(name="agent-bytes", disk_format="raw", container_format="bare", data=data)
    made: list[str] = []

    def volume_from(**fields: Any) -> dict[str, Any]:
        v = create_volume(demo, **fields)
        made.append(v["id"])
        return wait_volume(demo, v["id"], timeout=120)

    def holds(volume_id: str, size_gib: int) -> bool:
        head, size = head_of(disk(vcloud.data_dir, MAIN, "file-1", volume_id), len(data), tmp_path)
        return head == data and size == size_gib * GiB

    try:
        source = volume_from(size=1, imageRef=image.id, volume_type=MAIN_TYPE)
        assert source["bootable"] == "true"
        assert source["volume_image_metadata"]["image_id"] == image.id
        assert holds(source["id"], 1)

        resp = demo.post("snapshots", json={"snapshot": {"volume_id": source["id"], "name": "agent-snap"}})
        assert resp.status_code == 202, resp.text
        snap_id = resp.json()["snapshot"]["id"]
        wait_for(demo, f"snapshots/{snap_id}", "snapshot", "available")
        assert (vcloud.data_dir / "volumes" / MAIN / "file-1" / f"snapshot-{snap_id}").is_file()
        from_snap = volume_from(size=2, snapshot_id=snap_id)
        assert holds(from_snap["id"], 2)

        clone = volume_from(size=1, source_volid=source["id"])
        assert holds(clone["id"], 1)
        resp = demo.post(f"volumes/{clone['id']}/action", json={"os-extend": {"new_size": 3}})
        assert resp.status_code == 202, resp.text
        wait_until(lambda: (get_volume(demo, clone["id"]) or {}).get("size") == 3, timeout=60, what="extended")
        assert holds(clone["id"], 3)

        resp = demo.post("backups", json={"backup": {"volume_id": source["id"], "name": "agent-backup"}})
        assert resp.status_code == 202, resp.text
        backup_id = resp.json()["backup"]["id"]
        wait_for(demo, f"backups/{backup_id}", "backup", "available", timeout=120)
        restored_id = volume_from(size=1, volume_type=MAIN_TYPE)["id"]
        resp = demo.post(f"backups/{backup_id}/restore", json={"restore": {"volume_id": restored_id}})
        assert resp.status_code == 202, resp.text
        assert resp.json()["restore"]["volume_id"] == restored_id
        wait_until(lambda: (get_volume(demo, restored_id) or {}).get("status") == "available"
                   and holds(restored_id, 1), timeout=120, what="the backup restored")
        assert holds(restored_id, 1)

        resp = demo.post(f"volumes/{clone['id']}/action", json={"os-volume_upload_image": {
            "image_name": "agent-upload", "disk_format": "qcow2", "container_format": "bare"}})
        assert resp.status_code == 202, resp.text
        uploaded_id = resp.json()["os-volume_upload_image"]["image_id"]
        wait_until(lambda: sdk.image.get_image(uploaded_id).status == "active", timeout=120, what="uploaded image")
        wait_volume(demo, clone["id"])
        target = tmp_path / "uploaded.qcow2"
        with open(target, "wb") as f:
            f.writelines(sdk.image.download_image(uploaded_id, stream=True).iter_content(1 << 20))
        assert head_of(target, len(data), tmp_path) == (data, 3 * GiB)
        sdk.image.delete_image(uploaded_id)
        resp = demo.delete(f"backups/{backup_id}")
        assert resp.status_code == 202, resp.text
        resp = demo.delete(f"snapshots/{snap_id}")
        assert resp.status_code == 202, resp.text
    finally:
        for vid in reversed(made):
            demo.delete(f"volumes/{vid}")
        sdk.image.delete_image(image.id)
