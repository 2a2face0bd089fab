"""Compute hosts as a process runs them: one agent per host name, each with its own driver.

``onestack agent compute --host NAME`` runs one (no database: the agent talks to the conductor
over the bus and to placement and the image service over HTTP); ``onestack up`` runs one per
simulated host (``compute.hosts``): one is named after the machine (``compute.host_name``, as
DevStack's), more are named ``compute-1`` … ``compute-N``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from onestack.client.image import ImageClient
from onestack.client.network import NetworkClient
from onestack.client.placement import PlacementClient
from onestack.client.volume import VolumeClient
from onestack.compute.agent.images import ImageCache
from onestack.compute.agent.manager import ComputeAgent
from onestack.compute.agent.network import CACHE_KEY, NetworkSeam, NeutronNetwork, NoNetwork
from onestack.compute.rpcapi import ConductorAPI
from onestack.compute.virt.registry import build_drivers
from onestack.core.bus import Bus
from onestack.core.config import Config
from onestack.core.hostname import compute_host_name


def simulated_hosts(config: Config) -> list[str]:
    if config.compute.hosts == 1:
        return [compute_host_name(config)]
    return [f"compute-{i}" for i in range(1, max(0, config.compute.hosts) + 1)]


def network_seam(config: Config, host: str, conductor: ConductorAPI, network: NetworkClient | None) -> NetworkSeam:
    """Neutron's REST API when the cloud runs a network service, else servers get no ports."""
    if network is None or not config.network.enabled:
        return NoNetwork()

    async def write_cache(uuid: str, network_info: list[dict[str, Any]], extra: dict[str, Any]) -> None:
        await conductor.instance_meta_update(uuid, {}, meta_set={**extra, CACHE_KEY: network_info})

    return NeutronNetwork(network, host, write_cache, config.compute.vif_plugging_timeout,
                          config.compute.vif_plugging_is_fatal)


class ComputeHosts:
    def __init__(self, config: Config, hosts: list[str], bus: Bus, placement: PlacementClient,
                 images: ImageClient, network: NetworkClient | None = None,
                 volumes: VolumeClient | None = None) -> None:
        conductor = ConductorAPI(bus, timeout=config.compute.rpc_timeout)
        self.drivers = build_drivers(config, hosts)
        self.agents = [
            ComputeAgent(config, host, driver, bus, conductor, placement,
                         ImageCache(config.data_dir / "compute" / host / "images", images),
                         network_seam(config, host, conductor, network), volumes)
            for host, driver in self.drivers.items()]

    async def start(self) -> None:
        await asyncio.gather(*(agent.start() for agent in self.agents))

    async def stop(self) -> None:
        await asyncio.gather(*(agent.stop() for agent in self.agents), return_exceptions=True)
        # Drivers that serve something themselves (the fake one's VNC listener) stop it now.
        closers = [close() for d in self.drivers.values() if (close := getattr(d, "close", None)) is not None]
        await asyncio.gather(*closers, return_exceptions=True)
