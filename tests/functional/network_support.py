"""What the network tests share: a raw HTTP client on /networking with a project's token, and a
network agent process of its own."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.functional.cloud import REPO, RunningCloud


def neutron(cloud: RunningCloud, name: str = "devstack") -> httpx.Client:
    """httpx on ``<cloud>/networking`` with ``name``'s token (for status codes and raw bodies)."""
    token = cloud.sdk(name).auth_token
    return httpx.Client(base_url=f"{cloud.base_url}/networking", headers={"X-Auth-Token": token}, timeout=30)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``NeutronError`` object of an error response."""
    body: dict[str, Any] = response.json()["NeutronError"]
    assert set(body) == {"type", "message", "detail"}, body
    return body


class AgentProcess:
    """``onestack agent network --host NAME``: its own process and data dir, the cloud's bus only
    (``env``: settings of its own, such as its availability zone)."""

    def __init__(self, cloud: RunningCloud, host: str, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.cloud, self.host, self.data_dir, self.env = cloud, host, data_dir, env or {}
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in self.cloud.env.items() if not k.startswith("ONESTACK_DATABASE")} | self.env
        cmd = [sys.executable, "-m", "onestack", "agent", "network", "--host", self.host, "--api-url",
               self.cloud.base_url, "--data-dir", str(self.data_dir)]
        with open(self.data_dir.parent / f"agent-{self.host}.log", "ab") as log:
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
