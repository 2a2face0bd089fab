"""One compute agent: serves ``compute.<host>``, builds and removes guests, reports, reconciles.

It holds no database: rows are read and written through the conductor. What it does for each
server is tracked in ``inflight`` so the reconcile loop leaves running work alone and repairs
only what nobody is working on. The agent is composed here, in its constructor, of its parts —
server actions, moves, diagnostics and the image cache — each built on the shared
``HostContext``; ``start`` serves ``AgentAPI`` with all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from onestack.client.placement import PlacementClient
from onestack.client.volume import VolumeClient
from onestack.compute import states
from onestack.compute.agent import reconcile
from onestack.compute.agent.actions import ServerActions
from onestack.compute.agent.cleanup import release_guest
from onestack.compute.agent.host import HostContext, spec_of
from onestack.compute.agent.images import ImageCache
from onestack.compute.agent.info import GuestInfo
from onestack.compute.agent.interfaces import PortActions
from onestack.compute.agent.migrate import MoveAgent
from onestack.compute.agent.network import NetworkSeam
from onestack.compute.agent.resources import node_record, report_inventory
from onestack.compute.agent.volumes import VolumeActions
from onestack.compute.rpcapi import AgentAPI, ConductorAPI, FinishedEvent, InstanceDict
from onestack.compute.service.instances import InstanceGone, UnexpectedTaskState
from onestack.compute.virt.driver import (
    ComputeDriver,
    DriverError,
    ImageUnusable,
    PowerState,
)
from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.ids import isotime, utcnow
from onestack.core.rpc import serve

log = logging.getLogger("onestack.compute.agent")
BINARY = "nova-compute"


class ComputeAgent(HostContext):
    def __init__(self, config: Config, host: str, driver: ComputeDriver, bus: Bus, conductor: ConductorAPI,
                 placement: PlacementClient, images: ImageCache, network: NetworkSeam | None = None,
                 volumes: VolumeClient | None = None) -> None:
        super().__init__(config, host, driver, conductor, AgentAPI(bus, timeout=config.compute.rpc_timeout),
                         images, network, volumes)
        self.bus = bus
        self.placement = placement
        self.disabled = False
        self._loops: list[asyncio.Task[Any]] = []
        self._serving: Subscription | None = None
        self._started = True
        # The parts, each on this host's context; the reconcile pass calls them directly too.
        self.actions = ServerActions(self)
        self.moves = MoveAgent(self)
        self.info = GuestInfo(self)
        self.ports = PortActions(self)
        self.volume_actions = VolumeActions(self)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.report()
            # Back after an evacuation: those moves are over (the orphan pass removes the old guests).
            await self.conductor.complete_evacuations(self.host)
        except Exception:  # identity or placement not answering yet: the report loop retries
            log.exception("%s: first report failed; retrying every %ss", self.host, self.config.compute.report_interval)
        self._serving = await serve(self.bus, AgentAPI, self, self.actions, self.moves, self.info, self.images,
                                    self.ports, self.volume_actions, route=self.host)
        self._loops = [asyncio.create_task(self._every(self.config.compute.report_interval, self.report)),
                       asyncio.create_task(self._every(self.config.compute.reconcile_interval, self.reconcile)),
                       asyncio.create_task(self._every(self.config.compute.heal_interval, self.ports.heal))]

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        for task in [*self._loops, *self.inflight.values()]:
            task.cancel()
        await asyncio.gather(*self._loops, *self.inflight.values(), return_exceptions=True)

    async def _every(self, seconds: float, fn: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad pass must not stop the loop
                log.exception("%s: periodic %s failed", self.host, fn.__name__)

    async def report(self) -> None:
        info = await self.driver.host_info()
        node = node_record(self.host, info, self.config)
        node["started"] = self._started
        flags = await self.conductor.service_report(self.host, BINARY, node)
        self._started = False
        self.disabled = bool(flags.get("disabled"))
        await report_inventory(self.placement, node, info, self.config)

    async def reconcile(self) -> None:
        await reconcile.run_pass(self)

    # --- build ------------------------------------------------------------------------------

    async def build_and_run_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        if uuid in self.inflight:
            return  # a duplicate delivery: the build is already running here
        async with self.busy(uuid):
            await self._build(instance, request_id)

    async def _build(self, instance: InstanceDict, request_id: str | None) -> None:
        """Spawn the guest and mark the row active. The conductor already set task_state
        ``spawning`` when it placed the row here; a row found building by the reconcile loop
        comes the same way. Start and end of the build are recorded with the final update."""
        uuid = instance["uuid"]
        started = isotime(utcnow())
        event_name = "compute__do_build_and_run_instance"
        event: FinishedEvent = {"request_id": request_id, "name": event_name, "started": started, "host": self.host}
        if instance.get("vm_state") != states.BUILDING or instance.get("deleted"):
            return
        try:
            image_path = await self.images.fetch(instance["image_ref"]) if instance.get("image_ref") else None
            block_device_info = await self.volume_actions.prepare_boot(instance)
            network_info = await self.network.allocate(instance)
            async with self.network.plugged(instance, network_info):
                await self.driver.spawn(spec_of(instance), image_path, network_info, block_device_info)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - driver errors and image download failures alike
            reason = str(exc) or type(exc).__name__
            log.warning("%s: build of %s failed: %s", self.host, uuid, reason)
            await release_guest(self, instance)
            await self.event(instance, request_id, event_name, "finish", "Error", reason)
            reschedule = isinstance(exc, DriverError) and not isinstance(exc, ImageUnusable)
            await self.conductor.build_failed(uuid, self.host, reason, request_id, reschedule=reschedule)
            return
        try:
            await self.conductor.instance_update(
                uuid, {"vm_state": states.ACTIVE, "task_state": None, "power_state": int(PowerState.RUNNING),
                       "launched_at": isotime(utcnow())},
                expected_task_state=[states.SPAWNING, states.SCHEDULING], expected_vm_state=[states.BUILDING],
                event=event, expected_host=self.host)
        except InstanceGone:  # deleted while spawning: the guest must not outlive its row
            log.info("%s: %s went away during spawn; removing the guest", self.host, uuid)
            await self._destroy(instance)
        except UnexpectedTaskState as exc:
            # Someone else owns the row now: a repeated build message after the first finished
            # (the guest is the server's), or a delete (its terminate removes the guest). A guest
            # no row places here is reaped by the reconcile pass.
            log.info("%s: not marking %s built: %s", self.host, uuid, exc)

    # --- delete -----------------------------------------------------------------------------

    async def terminate_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        running = self.inflight.get(uuid)
        if running is not None and running is not asyncio.current_task():
            running.cancel()  # abandon a slow build or action; the driver cleans up after it
            await asyncio.wait([running])  # its outcome is its own; our own cancellation still propagates
        async with self.busy(uuid):
            await self._destroy(instance)

    async def _destroy(self, instance: InstanceDict) -> None:
        # A guest that would not go does not keep the row, its ports or its claim: the user asked
        # for the server to go, and the reconcile loop destroys the guest later as an orphan.
        await release_guest(self, instance)
        await self.conductor.instance_destroyed(instance["uuid"], self.host)
