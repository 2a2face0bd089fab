"""An object storage cloud and an ``onestack agent object`` process for another host, for the tests
that run object servers as separate processes (test_object_agents_multiprocess.py,
test_object_agents_down.py): the cloud (host MAIN) on a RabbitMQ vhost of its own, the agent
(host NODE, no database credentials) joining its ring over the bus."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.functional.cloud import RunningCloud, free_port, make_cloud, wait_until
from tests.functional.multiprocess import Proc
from tests.functional.object_support import NO_ERROR_LIMIT, ring_of
from tests.services import rabbit_vhost

MAIN = "obj-main"
NODE = "obj-node"
AGENT_DEVICES = ("a1", "a2")
ENV = {
    **NO_ERROR_LIMIT,
    "ONESTACK_OBJECT_STORE__HOST": MAIN,
    "ONESTACK_OBJECT_STORE__REPLICAS": "1",
    "ONESTACK_OBJECT_STORE__PART_POWER": "6",
    "ONESTACK_OBJECT_STORE__RING_CHECK_INTERVAL": "1",
    "ONESTACK_OBJECT_STORE__REPORT_INTERVAL": "1",
    "ONESTACK_OBJECT_STORE__UPDATER_INTERVAL": "0.5",
    "ONESTACK_OBJECT_STORE__REPLICATOR_INTERVAL": "1",
    "ONESTACK_OBJECT_STORE__NODE_TIMEOUT": "5",
}


class ObjectAgentProcess:
    """``onestack agent object`` for host NODE as a subprocess (no database credentials)."""

    def __init__(self, cloud: RunningCloud, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        env = {k: v for k, v in cloud.env.items() if not k.startswith("ONESTACK_DATABASE")}
        cmd = [sys.executable, "-m", "onestack", "agent", "object", "--host", NODE, "--devices",
               ",".join(AGENT_DEVICES), "--bind", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir)]
        self.proc = Proc("object-agent", cmd, data_dir.parent / "object-agent.log", env)

    def start(self) -> None:
        self.proc.start()

    def kill(self) -> None:
        self.proc.stop(signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: alive to the kernel (connections queue), never answers."""
        assert self.proc.popen is not None
        os.kill(self.proc.popen.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc.alive:
            assert self.proc.popen is not None
            os.kill(self.proc.popen.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()  # a paused process would not act on SIGTERM
        self.proc.stop()

    def files(self, device: str, part: int, hsh: str) -> list[str]:
        d = self.data_dir / "objects" / NODE / device / "objects" / str(part) / hsh[-3:] / hsh
        return sorted(os.listdir(d)) if d.is_dir() else []


def agent_in_ring(cloud: RunningCloud, port: int) -> bool:
    devices = [d for d in ring_of(cloud).devices if d.host == NODE]
    return sorted(d.device for d in devices) == sorted(AGENT_DEVICES) and all(d.port == port for d in devices)


@contextmanager
def agent_cloud(tmp: Path, env: dict[str, str]) -> Iterator[RunningCloud]:
    """A started cloud with ``env`` (ENV or more) on a RabbitMQ vhost of its own."""
    with rabbit_vhost() as url:
        running = make_cloud(tmp, {**env, "ONESTACK_MESSAGING__TRANSPORT_URL": url})
        running.start()
        try:
            yield running
        finally:
            running.close()


@contextmanager
def object_agent(cloud: RunningCloud) -> Iterator[ObjectAgentProcess]:
    """The NODE agent of ``cloud``, started and its devices in the ring; stopped at the end."""
    data_dir = cloud.data_dir.parent / "agent-data"
    data_dir.mkdir()
    proc = ObjectAgentProcess(cloud, data_dir)
    proc.start()
    try:
        wait_until(lambda: agent_in_ring(cloud, proc.port), timeout=60, what="the agent's devices in the ring")
        yield proc
    finally:
        proc.stop()
