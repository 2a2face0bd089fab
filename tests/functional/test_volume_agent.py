"""The volume agents of a running cloud: real disk files appear and go with their volumes, an
``onestack agent volume`` process serves its own backend over RabbitMQ, and an agent killed
mid-work and restarted leaves no volume stuck and no stray file.

One cloud of this module's own on RabbitMQ (short report and reconcile intervals) with its
in-process agent for host ``vol-main`` (backend ``file-1``), and agent processes for other hosts
with a backend ``ext-1`` that a volume type of this module selects.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.functional.cloud import REPO, RunningCloud, make_cloud, wait_until
from tests.functional.volume_support import (
    cinder,
    create_volume,
    get_volume,
    wait_gone,
    wait_volume,
)
from tests.services import rabbit_vhost

MAIN = "vol-main"
GiB = 1024 ** 3


@pytest.fixture(scope="module")
def vcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with rabbit_vhost() as url:
        running = make_cloud(Path(tmp_path_factory.mktemp("volume-agent")), {
            "ONESTACK_MESSAGING__TRANSPORT_URL": url,
            "ONESTACK_VOLUME__HOST": MAIN,
            "ONESTACK_VOLUME__REPORT_INTERVAL": "1",
            "ONESTACK_VOLUME__RECONCILE_INTERVAL": "1",
        })
        running.start()
        yield running
        running.close()


@pytest.fixture(scope="module")
def admin(vcloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(vcloud, "devstack-admin") as client:
        yield client


@pytest.fixture(scope="module")
def demo(vcloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(vcloud, "devstack") as client:
        yield client


@pytest.fixture(scope="module")
def ext_type(admin: httpx.Client) -> str:
    """A public volume type that only the ``ext-1`` backends (the agent processes') satisfy."""
    name = f"ext-{uuid.uuid4().hex[:6]}"
    resp = admin.post("types", json={"volume_type": {"name": name, "extra_specs": {"volume_backend_name": "ext-1"}}})
    assert resp.status_code == 200, resp.text
    return name


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


class AgentProcess:
    """``onestack agent volume --host NAME``: its own process and data dir, the cloud's bus only."""

    def __init__(self, cloud: RunningCloud, host: str, data_dir: Path) -> None:
        self.cloud, self.host, self.data_dir = cloud, host, data_dir
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in self.cloud.env.items() if not k.startswith("ONESTACK_DATABASE")}
        env["ONESTACK_VOLUME__BACKENDS"] = "ext-1"
        cmd = [sys.executable, "-m", "onestack", "agent", "volume", "--host", self.host, "--api-url",
               self.cloud.base_url, "--data-dir", str(self.data_dir)]
        with open(self.data_dir.parent / f"volume-agent-{self.host}.log", "ab") as log:
            self.popen = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        self.popen = None

    def stop(self) -> None:
        if self.popen is not None:
            self.popen.terminate()
            self.popen.wait(timeout=30)
            self.popen = None


@pytest.fixture
def agent(vcloud: RunningCloud, admin: httpx.Client, tmp_path: Path) -> Iterator[AgentProcess]:
    host = f"vol-ext-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path / "agent-data"
    data_dir.mkdir()
    proc = AgentProcess(vcloud, host, data_dir)
    proc.start()
    try:
        wait_until(lambda: service_up(admin, f"{host}@ext-1"), timeout=60, what=f"{host}'s cinder-volume up")
        yield proc
    finally:
        proc.stop()


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
    volume = create_volume(demo, size=2, name="agent-disk")
    wait_volume(demo, volume["id"])
    shown = get_volume(admin, volume["id"])
    assert shown is not None and shown["os-vol-host-attr:host"] == f"{MAIN}@file-1#file-1"
    path = disk(vcloud.data_dir, MAIN, "file-1", volume["id"])
    assert path.is_file() and virtual_size(path) == 2 * GiB
    assert demo.delete(f"volumes/{volume['id']}").status_code == 202
    wait_gone(demo, volume["id"])
    assert not path.exists()


def test_an_agent_process_serves_its_own_backend(agent: AgentProcess, demo: httpx.Client, admin: httpx.Client,
                                                 ext_type: str) -> None:
    volume = create_volume(demo, size=1, volume_type=ext_type)
    wait_volume(demo, volume["id"])
    shown = get_volume(admin, volume["id"])
    assert shown is not None and shown["os-vol-host-attr:host"] == f"{agent.host}@ext-1#ext-1"
    path = disk(agent.data_dir, agent.host, "ext-1", volume["id"])
    assert path.is_file() and virtual_size(path) == GiB
    assert demo.delete(f"volumes/{volume['id']}").status_code == 202
    wait_gone(demo, volume["id"])
    assert not path.exists()


def test_an_agent_killed_mid_work_and_restarted_leaves_nothing_stuck_or_stray(
        agent: AgentProcess, demo: httpx.Client, ext_type: str) -> None:
    kept = create_volume(demo, size=1, volume_type=ext_type)
    doomed = create_volume(demo, size=1, volume_type=ext_type)
    wait_volume(demo, kept["id"])
    wait_volume(demo, doomed["id"])
    # Killed right after a create was accepted (before, during or after the agent's work).
    racing = create_volume(demo, size=1, volume_type=ext_type)
    agent.kill()
    # While it is down: a delete is accepted, and what a crash mid-write leaves lies on its disk —
    # a temporary of a create cut short and a whole disk no volume owns.
    assert demo.delete(f"volumes/{doomed['id']}").status_code == 202
    backend = agent.data_dir / "volumes" / agent.host / "ext-1"
    leftover = backend / f".tmp-{uuid.uuid4()}-deadbeef"
    leftover.write_bytes(b"half a disk")
    stray = backend / f"volume-{uuid.uuid4()}"
    stray.write_bytes(b"nobody's disk")
    hour_ago = time.time() - 3600
    os.utime(stray, (hour_ago, hour_ago))
    agent.start()
    wait_volume(demo, racing["id"], timeout=90)
    wait_gone(demo, doomed["id"], timeout=60)
    expected = sorted(f"volume-{v['id']}" for v in (kept, racing))
    wait_until(lambda: backend_files(agent.data_dir, agent.host, "ext-1") == expected, timeout=60,
               what="only the volumes' disks on the backend")
    for v in (kept, racing):
        assert demo.delete(f"volumes/{v['id']}").status_code == 202
        wait_gone(demo, v["id"])
    assert backend_files(agent.data_dir, agent.host, "ext-1") == []

