"""The default network driver: a real in-memory model of one host's data plane, kept in a file.

It records what the Linux data plane would do — an integration bridge ``br-int`` with a tap per
port and a local VLAN tag per network, per-port filter rules, ``qdhcp-<network>`` namespaces with
their subnets' leases, ``qrouter-<router>`` namespaces with interfaces, gateway, SNAT and floating
IPs — and nothing else. The model lives in ``<data dir>/network/<host>/datapath.json``: that file
*is* the host, so it survives agent restarts as bridges survive neutron's agents, and a test (or
an operator) may change it behind the agent's back (``edit``). Every operation reads the file,
changes it and writes it back under an exclusive lock, step by step: plugging a port creates the
tap, then puts it on the bridge, so a failure or a kill in between leaves a half-plugged port that
``observed()`` does not show, exactly as on a real host.

Misbehaviour on demand, for the contract suite and the reconcile tests: ``fail_next(op)`` makes
the next call of ``op`` fail after its first step; ``delay`` makes every step that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from onestack.network.agent.driver import NetworkDriverError
from onestack.network.rpcapi import DhcpSpec, FilterSpec, HostState, PortSpec, RouterSpec

BRIDGE = "br-int"
Model = dict[str, Any]


def tap_name(port_id: str) -> str:
    """Neutron's device name: ``tap`` and the first 11 characters of the port id (15 in all)."""
    return f"tap{port_id[:11]}"


def empty_model() -> Model:
    return {"bridges": {BRIDGE: {"ports": {}}}, "taps": {}, "vlans": {}, "filters": {}, "namespaces": {},
            "log": []}


@contextlib.contextmanager
def edit(path: Path) -> Iterator[Model]:
    """Read, change and write back the model at ``path`` under an exclusive lock (atomic rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            model = json.loads(path.read_text()) if path.exists() else empty_model()
            yield model
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(model, indent=1, sort_keys=True))
            os.replace(tmp, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read(path: Path) -> Model:
    """The model at ``path`` as it is now (an empty host when there is no file yet)."""
    with open_lock(path):
        return json.loads(path.read_text()) if path.exists() else empty_model()


@contextlib.contextmanager
def open_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_LOG_KEEP = 200  # the model's log of operations, newest last (tests count repairs in it)


class FakeNetworkDriver:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.delay = 0.0
        self._fail: dict[str, int] = {}

    # --- misbehaviour on demand -----------------------------------------------------------------

    def fail_next(self, op: str, times: int = 1) -> None:
        """The next ``times`` calls of ``op`` (a method name) fail after their first step."""
        self._fail[op] = self._fail.get(op, 0) + times

    async def _step(self, op: str, key: str, change: Any, *, last: bool = False) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        with edit(self.path) as model:
            change(model)
            if last:
                model["log"] = [*model["log"], f"{op} {key}"][-_LOG_KEEP:]
        if not last and self._fail.get(op):
            self._fail[op] -= 1
            raise NetworkDriverError(f"{op} {key}: injected failure after its first step")

    # --- the NetworkDriver contract -----------------------------------------------------------

    async def observed(self) -> HostState:
        model = read(self.path)
        bridge = model["bridges"].get(BRIDGE, {"ports": {}})["ports"]
        ports: dict[str, PortSpec] = {}
        for name, tap in model["taps"].items():
            spec: PortSpec = tap["port"]
            if name in bridge and bridge[name].get("tag") == model["vlans"].get(spec["network_id"]):
                ports[spec["id"]] = spec
        dhcp: dict[str, DhcpSpec] = {}
        routers: dict[str, RouterSpec] = {}
        for ns in model["namespaces"].values():
            dhcp.update(ns.get("dhcp", {}))
            if ns.get("router") is not None:
                routers[ns["router"]["id"]] = ns["router"]
        return {"ports": ports, "filters": dict(model["filters"]), "dhcp": dhcp, "routers": routers}

    async def plug_port(self, port: PortSpec) -> None:
        name = tap_name(port["id"])
        spec = copy.deepcopy(port)

        def create_tap(model: Model) -> None:
            bridge = model["bridges"].setdefault(BRIDGE, {"ports": {}})["ports"]
            bridge.pop(name, None)  # re-wiring: off the bridge until the tap matches the spec
            model["taps"][name] = {"port": spec, "up": spec["admin_state_up"], "mtu": spec["mtu"],
                                   "mac": spec["mac_address"]}

        def attach(model: Model) -> None:
            vlans: dict[str, int] = model["vlans"]
            tag = vlans.get(spec["network_id"])
            if tag is None:  # a local VLAN per network on this bridge, as the OVS agent allocates
                tag = vlans[spec["network_id"]] = min(set(range(1, len(vlans) + 2)) - set(vlans.values()))
            model["bridges"][BRIDGE]["ports"][name] = {"port_id": spec["id"], "tag": tag}

        await self._step("plug_port", port["id"], create_tap)
        await self._step("plug_port", port["id"], attach, last=True)

    async def unplug_port(self, port_id: str) -> None:
        name = tap_name(port_id)

        def detach(model: Model) -> None:
            model["bridges"].setdefault(BRIDGE, {"ports": {}})["ports"].pop(name, None)

        def delete(model: Model) -> None:
            gone = model["taps"].pop(name, None)
            model["filters"].pop(port_id, None)
            if gone is not None:  # the network's local VLAN goes with its last tap
                net = gone["port"]["network_id"]
                if not any(t["port"]["network_id"] == net for t in model["taps"].values()):
                    model["vlans"].pop(net, None)

        await self._step("unplug_port", port_id, detach)
        await self._step("unplug_port", port_id, delete, last=True)

    async def apply_port_filter(self, spec: FilterSpec) -> None:
        rules = copy.deepcopy(spec)
        # One step: nftables replaces a port's chain atomically.
        await self._step("apply_port_filter", spec["port_id"],
                         lambda model: model["filters"].__setitem__(spec["port_id"], rules), last=True)

    async def remove_port_filter(self, port_id: str) -> None:
        await self._step("remove_port_filter", port_id, lambda model: model["filters"].pop(port_id, None),
                         last=True)

    async def ensure_dhcp(self, spec: DhcpSpec) -> None:
        ns_name = f"qdhcp-{spec['network_id']}"
        wanted = copy.deepcopy(spec)

        def namespace(model: Model) -> None:
            ns = model["namespaces"].setdefault(ns_name, {"dhcp": {}})
            ns.setdefault("dhcp", {}).pop(spec["subnet_id"], None)  # the server restarts with the new leases

        def serve(model: Model) -> None:
            for other in model["namespaces"].values():  # a subnet moved to another network
                other.get("dhcp", {}).pop(spec["subnet_id"], None)
            model["namespaces"].setdefault(ns_name, {"dhcp": {}}).setdefault("dhcp", {})[spec["subnet_id"]] = wanted

        await self._step("ensure_dhcp", spec["subnet_id"], namespace)
        await self._step("ensure_dhcp", spec["subnet_id"], serve, last=True)

    async def remove_dhcp(self, subnet_id: str) -> None:
        def stop(model: Model) -> None:
            for name, ns in list(model["namespaces"].items()):
                if subnet_id in ns.get("dhcp", {}):
                    del ns["dhcp"][subnet_id]
                    if name.startswith("qdhcp-") and not ns["dhcp"]:
                        del model["namespaces"][name]

        await self._step("remove_dhcp", subnet_id, stop, last=True)

    async def ensure_router(self, spec: RouterSpec) -> None:
        ns_name = f"qrouter-{spec['id']}"
        wanted = copy.deepcopy(spec)

        def namespace(model: Model) -> None:
            ns = model["namespaces"].setdefault(ns_name, {})
            ns["router"] = None  # being (re)wired: not a complete router until the last step

        def wire(model: Model) -> None:
            model["namespaces"].setdefault(ns_name, {})["router"] = wanted

        await self._step("ensure_router", spec["id"], namespace)
        await self._step("ensure_router", spec["id"], wire, last=True)

    async def remove_router(self, router_id: str) -> None:
        await self._step("remove_router", router_id,
                         lambda model: model["namespaces"].pop(f"qrouter-{router_id}", None), last=True)

    # --- Inspectable ------------------------------------------------------------------------------

    def model(self) -> dict[str, object]:
        return read(self.path)

    def drift(self, kind: str, key: str) -> None:
        drift(self.path, kind, key)


def drift(path: Path, kind: str, key: str) -> None:
    """Break one thing of the host at ``path`` behind its agent's back (see ``Inspectable.drift``)."""
    with edit(path) as model:
        if kind == "tap":
            name = tap_name(key)
            model["taps"].pop(name, None)
            model["bridges"].get(BRIDGE, {"ports": {}})["ports"].pop(name, None)
        elif kind == "filter":
            model["filters"].pop(key, None)
        elif kind == "dhcp":
            for ns in model["namespaces"].values():
                ns.get("dhcp", {}).pop(key, None)
        elif kind == "router":
            model["namespaces"].pop(f"qrouter-{key}", None)
        else:
            raise ValueError(f"unknown drift kind {kind!r}")
