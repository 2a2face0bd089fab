"""Compute's bus declarations against the services that serve them: every declared method is
implemented by the composed agent and conductor, failures come back as their own classes, and
the parts import one way (none of them needs the agent or the conductor that composes them)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from onestack.compute.agent.images import ImageCache
from onestack.compute.agent.info import InstanceNotReady
from onestack.compute.agent.manager import ComputeAgent
from onestack.compute.conductor.manager import ConductorManager
from onestack.compute.rpcapi import AgentAPI, ConductorAPI, SchedulerAPI
from onestack.compute.scheduler.manager import SchedulerManager
from onestack.compute.virt.driver import InstanceNotFound, NotSupported
from onestack.compute.virt.registry import build_drivers
from onestack.core.bus import Bus, MemoryTransport, RemoteError
from onestack.core.config import Config, load_config
from onestack.core.rpc import endpoints, serve


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(None, overrides={"server.data_dir": str(tmp_path), "compute.rpc_timeout": 5})


def agent_of(config: Config, bus: Bus) -> ComputeAgent:
    driver = build_drivers(config, ["h1"])["h1"]
    images = ImageCache(config.data_dir / "images", client=None)  # type: ignore[arg-type]
    return ComputeAgent(config, "h1", driver, bus, ConductorAPI(bus), placement=None,  # type: ignore[arg-type]
                        images=images)


def test_every_declared_method_is_served_by_the_composed_services(config: Config) -> None:
    bus = Bus(MemoryTransport())
    agent = agent_of(config, bus)
    conductor = ConductorManager(config, None, None, SchedulerAPI(bus), AgentAPI(bus))  # type: ignore[arg-type]
    served = {
        "agent": endpoints(AgentAPI, agent, agent.actions, agent.moves, agent.info, agent.images, agent.ports,
                           agent.volume_actions),
        "conductor": endpoints(ConductorAPI, conductor, conductor.moves, conductor.shelve),
        "scheduler": endpoints(SchedulerAPI, SchedulerManager(config, None, None)),  # type: ignore[arg-type]
    }
    assert {name: set(table) for name, table in served.items()} == {
        "agent": set(AgentAPI.methods()), "conductor": set(ConductorAPI.methods()),
        "scheduler": set(SchedulerAPI.methods())}
    # The reconcile pass reaches the actions part itself, not through a table of names.
    assert served["agent"]["shelve_offload_instance"] == agent.actions.shelve_offload_instance


def test_an_agents_failures_come_back_as_their_classes(config: Config) -> None:
    async def scenario() -> list[type[BaseException]]:
        bus = Bus(MemoryTransport(), default_timeout=5)
        agent = agent_of(config, bus)
        await serve(bus, AgentAPI, agent, agent.actions, agent.moves, agent.info, agent.images, agent.ports,
                    agent.volume_actions,
                    route="h1")
        api = AgentAPI(bus)
        caught: list[type[BaseException]] = []
        missing: dict[str, Any] = {"uuid": "0badc0de-0000-4000-8000-000000000002", "display_name": "x",
                                   "flavor": {"vcpus": 1, "memory_mb": 64, "root_gb": 1}}
        for attempt in (api.get_diagnostics("h1", missing["uuid"]), api.get_console_output("h1", missing)):
            try:
                await attempt
            except (InstanceNotReady, InstanceNotFound, NotSupported) as exc:
                assert isinstance(exc, RemoteError)  # and still a RemoteError, for broad handlers
                caught.append(next(c for c in (InstanceNotReady, InstanceNotFound, NotSupported)
                                   if isinstance(exc, c)))
        await bus.close()
        return caught

    assert asyncio.run(scenario()) == [InstanceNotReady, InstanceNotFound]


@pytest.mark.parametrize("module", ["onestack.compute.agent.actions", "onestack.compute.agent.migrate",
                                    "onestack.compute.agent.info", "onestack.compute.agent.reconcile",
                                    "onestack.compute.conductor.actions", "onestack.compute.conductor.shelve"])
def test_parts_do_not_import_what_composes_them(module: str) -> None:
    code = (f"import sys, {module}; "
            "print(sorted(m for m in sys.modules if m.endswith(('agent.manager', 'conductor.manager'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
