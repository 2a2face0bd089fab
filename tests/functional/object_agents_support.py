"""What the tests that run object servers as separate processes share
(test_object_agents_multiprocess.py, test_object_agents_down.py): the settings of the cloud (host
MAIN, on a bus of its own: agent_process.bus_cloud) and an ``onestack agent object`` process for
host NODE (no database credentials) joining its ring over the bus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.functional.agent_process import AgentProcess
from tests.functional.cloud import RunningCloud, free_port
from tests.functional.object_support import NO_ERROR_LIMIT, ring_of

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


class ObjectAgentProcess(AgentProcess):
    """``onestack agent object`` for host NODE: its devices AGENT_DEVICES, its object server on a port of its own."""

    def __init__(self, cloud: RunningCloud, data_dir: Path) -> None:
        self.port = free_port()
        super().__init__(cloud, "object", NODE, data_dir,
                         args=["--devices", ",".join(AGENT_DEVICES), "--bind", f"127.0.0.1:{self.port}"])

    def files(self, device: str, part: int, hsh: str) -> list[str]:
        d = self.data_dir / "objects" / NODE / device / "objects" / str(part) / hsh[-3:] / hsh
        return sorted(os.listdir(d)) if d.is_dir() else []


def agent_in_ring(cloud: RunningCloud, port: int) -> bool:
    devices = [d for d in ring_of(cloud).devices if d.host == NODE]
    return sorted(d.device for d in devices) == sorted(AGENT_DEVICES) and all(d.port == port for d in devices)


@contextmanager
def object_agent(cloud: RunningCloud) -> Iterator[ObjectAgentProcess]:
    """The NODE agent of ``cloud``, started and its devices in the ring; stopped at the end."""
    data_dir = cloud.data_dir.parent / "agent-data"
    data_dir.mkdir()
    proc = ObjectAgentProcess(cloud, data_dir)
    with proc.running(lambda: agent_in_ring(cloud, proc.port), "the agent's devices in the ring"):
        yield proc
