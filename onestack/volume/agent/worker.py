"""The volume agent of a process: ``onestack up`` runs one for ``volume.host`` (or this machine's
host name) with the backends of ``volume.backends``; ``onestack agent volume --host NAME`` runs
one with no database, over the cloud's bus. Disks live in ``<data dir>/volumes/<host>/<backend>``
and outlive the agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from onestack.client.image import ImageClient
from onestack.core.bus import Bus
from onestack.core.config import Config
from onestack.core.hostname import recorded_host_name
from onestack.core.service import Running, ServiceDefinition
from onestack.volume.agent.backup_swift import build_backup_store
from onestack.volume.agent.driver import VolumeDriver
from onestack.volume.agent.file import build_drivers
from onestack.volume.agent.host import VolumeAgent
from onestack.volume.agent.images import ImageTransfer

if TYPE_CHECKING:
    from onestack.process import Process


def agent_host(config: Config) -> str:
    return config.volume.host or recorded_host_name(config.data_dir)


def make_agent(config: Config, host: str, bus: Bus, images: ImageClient | None) -> VolumeAgent:
    drivers: list[VolumeDriver] = list(build_drivers(config, host))
    transfer = None
    if images is not None:
        transfer = ImageTransfer(images, config.data_dir / "volumes" / host / ".images")
        transfer.clear()
    return VolumeAgent(config, host, drivers, bus, images=transfer, backups=build_backup_store(config))


def build_agents(process: Process) -> Running:
    agent = make_agent(process.config, agent_host(process.config), process.bus, process.images)
    return Running("volume-agents", workers=[agent], state=agent)


AGENTS = ServiceDefinition(
    name="volume-agents", summary="the volume agent of this host (file backends: qcow2 or raw disk files)",
    build=build_agents, needs_database=False)
