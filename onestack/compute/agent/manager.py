"""One compute agent: serves ``compute.<host>``, builds and removes guests, reports, reconciles.

It holds no database: rows are read and written through the conductor. What it does for each
server is tracked in ``inflight`` so the reconcile loop leaves running work alone and repairs
only what nobody is working on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from onestack.client.placement import PlacementClient
from onestack.compute import states
from onestack.compute.agent import reconcile
from onestack.compute.agent.cleanup import release_guest
from onestack.compute.agent.images import ImageCache
from onestack.compute.agent.network import NetworkSeam, NoNetwork
from onestack.compute.agent.resources import node_record, report_inventory
from onestack.compute.rpcapi import ConductorAPI, agent_topic, dict_dispatcher
from onestack.compute.virt.driver import (
    ComputeDriver,
    DriverError,
    ImageUnusable,
    InstanceSpec,
    PowerState,
)
from onestack.core.bus import Bus, RemoteError
from onestack.core.config import Config
from onestack.core.ids import isotime, utcnow

log = logging.getLogger("onestack.compute.agent")
BINARY = "nova-compute"


def spec_of(instance: dict[str, Any], flavor: dict[str, Any] | None = None) -> InstanceSpec:
    fl = flavor or instance["flavor"]
    return InstanceSpec(
        uuid=instance["uuid"], name=instance["display_name"], vcpus=int(fl["vcpus"]),
        memory_mb=int(fl["memory_mb"]), root_gb=int(fl["root_gb"]), ephemeral_gb=int(fl.get("ephemeral_gb") or 0),
        swap_mb=int(fl.get("swap") or 0), image_ref=instance.get("image_ref") or "",
        user_data=instance.get("user_data"), key_data=instance.get("key_data"),
        metadata={str(k): str(v) for k, v in (instance.get("metadata") or {}).items()},
    )


class ComputeAgent:
    def __init__(self, config: Config, host: str, driver: ComputeDriver, bus: Bus, conductor: ConductorAPI,
                 placement: PlacementClient, images: ImageCache, network: NetworkSeam | None = None) -> None:
        self.config = config
        self.host = host
        self.driver = driver
        self.bus = bus
        self.conductor = conductor
        self.placement = placement
        self.images = images
        self.network = network or NoNetwork()
        self.inflight: dict[str, asyncio.Task[Any]] = {}
        self.disabled = False
        self._loops: list[asyncio.Task[Any]] = []
        self._started = True
        # Endpoints added by agent/actions.py (power actions, resize, consoles, ...).
        self.extra: dict[str, Callable[..., Coroutine[Any, Any, Any]]] = {}

    @property
    def work_dir(self) -> Path:
        return self.config.data_dir / "compute" / self.host

    def endpoints(self) -> dict[str, Any]:
        return {"build_and_run_instance": self.build_and_run_instance,
                "terminate_instance": self.terminate_instance, **self.extra}

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        from onestack.compute.agent import actions, images, info, migrate

        for module in (actions, migrate, info, images):
            module.register(self)
        try:
            await self.report()
            # Back after an evacuation: those moves are over (the orphan pass removes the old guests).
            await self.conductor.call("complete_evacuations", host=self.host)
        except Exception:  # identity or placement not answering yet: the report loop retries
            log.exception("%s: first report failed; retrying every %ss", self.host, self.config.compute.report_interval)
        await self.bus.serve(agent_topic(self.host), dict_dispatcher(self.endpoints()))
        self._loops = [asyncio.create_task(self._every(self.config.compute.report_interval, self.report)),
                       asyncio.create_task(self._every(self.config.compute.reconcile_interval, self.reconcile))]

    async def stop(self) -> None:
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

    @contextlib.asynccontextmanager
    async def busy(self, uuid: str) -> AsyncIterator[None]:
        """Mark ``uuid`` as being worked on by this task (the reconcile loop skips it)."""
        task = asyncio.current_task()
        assert task is not None
        self.inflight[uuid] = task
        try:
            yield
        finally:
            if self.inflight.get(uuid) is task:
                del self.inflight[uuid]

    async def event(self, instance: dict[str, Any], request_id: str | None, name: str, phase: str,
                    result: str = "Success", message: str | None = None) -> None:
        try:
            await self.conductor.action_event(instance["uuid"], request_id, name, phase, self.host, result, message)
        except RemoteError as exc:  # bookkeeping only: the action goes on without its event row
            log.warning("%s: event %s %s of %s not recorded: %s", self.host, name, phase, instance["uuid"], exc)

    # --- build ------------------------------------------------------------------------------

    async def build_and_run_instance(self, instance: dict[str, Any], request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        if uuid in self.inflight:
            return  # a duplicate delivery: the build is already running here
        async with self.busy(uuid):
            await self._build(instance, request_id)

    async def _build(self, instance: dict[str, Any], request_id: str | None) -> None:
        """Spawn the guest and mark the row active. The conductor already set task_state
        ``spawning`` when it placed the row here; a row found building by the reconcile loop
        comes the same way. Start and end of the build are recorded with the final update."""
        uuid = instance["uuid"]
        started = isotime(utcnow())
        event_name = "compute__do_build_and_run_instance"
        event = {"request_id": request_id, "name": event_name, "started": started, "host": self.host}
        if instance.get("vm_state") != states.BUILDING or instance.get("deleted"):
            return
        try:
            image_path = await self.images.fetch(instance["image_ref"]) if instance.get("image_ref") else None
            network_info = await self.network.allocate(instance)
            await self.driver.spawn(spec_of(instance), image_path, network_info)
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
                event=event)
        except RemoteError as exc:  # deleted while spawning: the guest must not outlive its row
            log.info("%s: %s went away during spawn (%s); removing the guest", self.host, uuid, exc.kind)
            await self._destroy(instance)

    # --- delete -----------------------------------------------------------------------------

    async def terminate_instance(self, instance: dict[str, Any], request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        running = self.inflight.get(uuid)
        if running is not None and running is not asyncio.current_task():
            running.cancel()  # abandon a slow build or action; the driver cleans up after it
            await asyncio.wait([running])  # its outcome is its own; our own cancellation still propagates
        async with self.busy(uuid):
            await self._destroy(instance)

    async def _destroy(self, instance: dict[str, Any]) -> None:
        # A guest that would not go does not keep the row, its ports or its claim: the user asked
        # for the server to go, and the reconcile loop destroys the guest later as an orphan.
        await release_guest(self, instance)
        await self.conductor.instance_destroyed(instance["uuid"], self.host)
