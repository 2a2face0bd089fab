"""The object agent of one host: its devices' object server and the daemons that keep them
healthy — replicator, auditor and updater (async pendings) — as Swift's object-server,
-replicator, -auditor and -updater processes of a storage node.

Two ways to run:

- **in-process** (``onestack up``, ``local`` is the proxy's ``ObjectStoreState``): the proxy
  reaches this host's devices through its in-process client; the agent makes the device
  directories and runs the daemons, with the proxy's ring and container service;
- **alone** (``onestack agent object --host NAME --devices d1,d2``, ``local`` is None): no
  database. It serves the object server over HTTP (the ring records its address), reports its
  devices every ``report_interval`` seconds on the bus (``ObjectServerAPI.report_devices``, the
  ring comes back) and sends container updates on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onestack.core.bus import Bus
from onestack.core.config import Config
from onestack.core.service import wait_event
from onestack.object_store.container_updates import BusContainerUpdater, ContainerUpdater
from onestack.object_store.obj.auditor import Auditor
from onestack.object_store.obj.client import ObjectServerClient
from onestack.object_store.obj.clients import make_client
from onestack.object_store.obj.diskfile import FileBackend, Quarantined
from onestack.object_store.obj.http import ObjectServerApp
from onestack.object_store.obj.replicator import Replicator
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.obj.updater import ObjectUpdater
from onestack.object_store.ring.refresh import adopt
from onestack.object_store.ring.ring import Ring
from onestack.object_store.rpcapi import DeviceReport, ObjectServerAPI
from onestack.object_store.state import RingHolder

log = logging.getLogger("onestack.object_store.agent")


@dataclass(frozen=True)
class Bind:
    host: str
    port: int


class ObjectAgent:
    def __init__(self, config: Config, host: str, root: Path, bus: Bus, local: Any = None, *,
                 devices: list[str] | None = None, bind: Bind | None = None, zone: int | None = None) -> None:
        self.config, self.host, self.root, self.bus, self.local = config, host, root, bus, local
        oc = config.object_store
        if devices is None:  # as ``onestack up`` names them: [object_store] devices, or d1..d<replicas>
            from onestack.object_store.app import local_device_names

            devices = local_device_names(config)
        self.device_names = devices
        self.bind = bind or Bind(oc.bind_host, oc.bind_port)
        self.zone = zone
        self.api = ObjectServerAPI(bus, timeout=oc.rpc_timeout)
        self.rings: RingHolder | None = None
        self.client: ObjectServerClient | None = None
        self.replicator: Replicator | None = None
        self.auditor: Auditor | None = None
        self.updater: ObjectUpdater | None = None
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._server: Any = None  # uvicorn.Server when serving HTTP

    @property
    def in_process(self) -> bool:
        return self.local is not None

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        oc = self.config.object_store
        self._stopping.clear()
        updates: ContainerUpdater
        if self.in_process:
            self.rings = self.local.rings
            self.client = self.local.objects
            updates = self.local.containers
            names = [d.device for d in self.local.ring.devices_of(self.host)]
            self._make_dirs(names)
        else:
            if not self.device_names:
                raise ValueError("an object agent needs devices (--devices d1,d2)")
            self._make_dirs(self.device_names)
            updates = BusContainerUpdater(self.api)
            sock = self._listen()
            try:
                # The ring before serving: its hash_path_suffix names the objects' dirs.
                self.rings = RingHolder(await self._first_report())
            except BaseException:
                sock.close()
                raise
            suffix = self.rings.ring.hash_path_suffix
            self.client = make_client(self.root, self.host, oc.node_timeout, updates, hash_path_suffix=suffix)
            await self._serve_http(ObjectServer(self.root, updates, suffix, update_timeout=oc.node_timeout), sock)
            self._spawn(self._report_loop(), "report")
        assert self.rings is not None
        rings = self.rings
        self.replicator = Replicator(self.host, self.root, rings, self.client, oc.replicator_interval)
        self.auditor = Auditor(self.host, lambda: [d.device for d in rings.ring.devices_of(self.host)],
                               lambda name: FileBackend(self.root / name), (Quarantined,),
                               oc.auditor_interval, oc.auditor_bytes_per_second)
        self.updater = ObjectUpdater(self.root, updates, oc.updater_interval, oc.node_timeout)
        await self.replicator.start()
        await self.auditor.start()
        self._spawn(self.updater.run(self._stopping), "updater")

    async def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True  # finishes the requests in flight, then returns
        for daemon in (self.replicator, self.auditor):
            if daemon is not None:
                await daemon.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._server = None

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"object-agent-{self.host}-{what}"))

    def _make_dirs(self, names: list[str]) -> None:
        for name in names:
            (self.root / name).mkdir(parents=True, exist_ok=True)

    # --- alone: HTTP and reports --------------------------------------------------------------

    def _listen(self) -> socket.socket:
        """Bind the object server's socket before the first report: once the ring has the address,
        a proxy's connection waits in the backlog rather than being refused (and sending the
        write to a handoff). A port of 0 takes a free one, which the report then names."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.bind.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.bind.host, self.bind.port))
            sock.listen(1024)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.bind = Bind(self.bind.host, sock.getsockname()[1])
        return sock

    async def _serve_http(self, server_: ObjectServer, sock: socket.socket) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:  # the CLI owns the signals
                yield

        server = Server(uvicorn.Config(ObjectServerApp(server_), log_config=None, access_log=False, lifespan="off"))
        self._server = server
        self._spawn(server.serve(sockets=[sock]), "http")
        deadline = asyncio.get_running_loop().time() + 30
        while not server.started:
            if self._tasks[-1].done():
                self._tasks[-1].result()  # it failed: say why
                raise RuntimeError(f"object server on {self.bind.host}:{self.bind.port} stopped")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"object server on {self.bind.host}:{self.bind.port} did not start")
            await asyncio.sleep(0.02)

    def reports(self) -> list[DeviceReport]:
        return [DeviceReport(device=name, zone=self.zone if self.zone is not None else i, region=1,
                             ip=self.bind.host, port=self.bind.port, weight=100.0)
                for i, name in enumerate(self.device_names, start=1)]

    async def _first_report(self) -> Ring:
        """The agent needs a ring to replicate: retry until the proxy side answers."""
        delay = 0.5
        while True:
            try:
                return Ring.from_dict(await self.api.report_devices(self.host, self.reports()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — the bus or the proxies not up yet: retry
                log.warning("object agent %s: device report not answered yet (%s)", self.host, exc)
            if await wait_event(self._stopping, delay):
                raise RuntimeError("stopped before the first device report was answered")
            delay = min(delay * 2, self.config.object_store.report_interval)

    async def _report_loop(self) -> None:
        assert self.rings is not None
        while not await wait_event(self._stopping, self.config.object_store.report_interval):
            try:
                adopt(self.rings, await self.api.report_devices(self.host, self.reports()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — the bus or the proxies are down: keep serving
                log.warning("object agent %s: device report failed (%s)", self.host, exc)



def make_agent(config: Config, host: str, root: Path, bus: Bus, local: Any = None, *,
               devices: list[str] | None = None, bind: Bind | None = None, zone: int | None = None) -> ObjectAgent:
    return ObjectAgent(config, host, root, bus, local, devices=devices, bind=bind, zone=zone)

