"""The default network driver: a real model of one host's data plane, kept in the host's data dir.

It records what the Linux data plane would do — an integration bridge ``br-int`` with a tap per
port and a local VLAN tag per network, per-port filter rules, ``qdhcp-<network>`` namespaces with
their subnets' leases, ``qrouter-<router>`` namespaces with interfaces, gateway, SNAT and floating
IPs — and nothing else. The model lives in ``<data dir>/network/<host>/datapath/``, one small JSON
file per object (``taps/``, ``bridge/``, ``vlans/``, ``filters/``, ``namespaces/``) and a ``log``
of completed operations: that directory *is* the host, so it survives agent restarts as bridges
survive neutron's agents, a test (or an operator) may change it behind the agent's back
(``drift``), and one operation writes only what it changes however many ports the host has.
Operations run step by step under the directory's lock: plugging a port creates the tap, then
puts it on the bridge, so a failure or a kill in between leaves a half-plugged port that
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
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from onestack.network.agent.driver import NetworkDriverError
from onestack.network.rpcapi import DhcpSpec, FilterSpec, HostState, PortSpec, RouterSpec

BRIDGE = "br-int"
KINDS = ("taps", "bridge", "vlans", "filters", "namespaces")
_LOG_LIMIT = 1 << 20  # the log keeps its newest half beyond this many bytes
_RACY_NS = 1_000_000_000


def tap_name(port_id: str) -> str:
    """Neutron's device name: ``tap`` and the first 11 characters of the port id (15 in all)."""
    return f"tap{port_id[:11]}"


class HostDir:
    """The host's objects, one JSON file each; a file is parsed again only when it changed on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, tuple[tuple[int, int, int], Any]] = {}
        self._scans: dict[str, tuple[int, int, dict[str, Any]]] = {}  # kind: (folder mtime, scanned at, objects)

    @contextlib.contextmanager
    def locked(self, exclusive: bool = True) -> Iterator[HostDir]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _file(self, kind: str, name: str) -> Path:
        return self.root / kind / f"{name}.json"

    def _load(self, path: Path) -> Any:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._cache.pop(path, None)
            return None
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == sig:
            return cached[1]
        value = json.loads(path.read_text())
        self._cache[path] = (sig, value)
        return value

    def get(self, kind: str, name: str) -> Any:
        """The object (do not change it: put a new one), or None."""
        return self._load(self._file(kind, name))

    def all(self, kind: str) -> dict[str, Any]:
        """Every object of ``kind``. A folder whose mtime is what the last scan saw, and was
        already a second old then, is not scanned again (a rename or unlink in it changes its
        mtime; the second covers changes within one coarse timestamp tick, as git's racy check)."""
        folder = self.root / kind
        try:
            mtime = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            return {}
        cached = self._scans.get(kind)
        if cached is not None and cached[0] == mtime and cached[1] - mtime > _RACY_NS:
            return dict(cached[2])
        scanned_at = time.time_ns()
        found = {}
        for entry in os.scandir(folder):
            if entry.name.endswith(".json"):
                value = self._load(Path(entry.path))
                if value is not None:
                    found[entry.name[:-5]] = value
        self._scans[kind] = (mtime, scanned_at, found)
        return dict(found)

    def put(self, kind: str, name: str, value: Any) -> None:
        path = self._file(kind, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        tmp.write_text(text)
        os.replace(tmp, path)  # atomic: a reader sees the old object or the new one
        self._wrote(kind, name, json.loads(text))  # as a reader would get it back

    def delete(self, kind: str, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(kind, name))
        self._wrote(kind, name, None)

    def _wrote(self, kind: str, name: str, value: Any) -> None:
        """Our own change: the last scan of the folder stays good with it, as of the folder's new
        mtime (only another writer within the same timestamp tick could go unseen, until the
        folder next changes)."""
        scan = self._scans.get(kind)
        if scan is None:
            return
        objects = scan[2]
        if value is None:
            objects.pop(name, None)
        else:
            objects[name] = value
        mtime = os.stat(self.root / kind).st_mtime_ns
        self._scans[kind] = (mtime, mtime + _RACY_NS + 1, objects)

    def log(self, line: str) -> None:
        path = self.root / "log"
        with open(path, "a") as f:
            f.write(line + "\n")
        if path.stat().st_size > _LOG_LIMIT:
            text = path.read_text()
            path.write_text(text[len(text) // 2:].split("\n", 1)[-1])

    def log_lines(self) -> list[str]:
        path = self.root / "log"
        return path.read_text().splitlines() if path.exists() else []


def read(root: Path) -> dict[str, Any]:
    """The host at ``root`` as one document: ``{kind: {name: object}}`` and its ``log``."""
    host = HostDir(root)
    with host.locked(exclusive=False):
        doc: dict[str, Any] = {kind: copy.deepcopy(host.all(kind)) for kind in KINDS}
        doc["log"] = host.log_lines()
    return doc


class FakeNetworkDriver:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = HostDir(root)
        self.delay = 0.0
        self._fail: dict[str, int] = {}

    # --- misbehaviour on demand -----------------------------------------------------------------

    def fail_next(self, op: str, times: int = 1) -> None:
        """The next ``times`` calls of ``op`` (a method name) fail after their first step."""
        self._fail[op] = self._fail.get(op, 0) + times

    async def _step(self, op: str, key: str, change: Callable[[HostDir], None], *, last: bool = False) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.host.locked() as host:
            change(host)
            if last:
                host.log(f"{op} {key}")
        if not last and self._fail.get(op):
            self._fail[op] -= 1
            raise NetworkDriverError(f"{op} {key}: injected failure after its first step")

    # --- the NetworkDriver contract -----------------------------------------------------------

    async def observed(self) -> HostState:
        with self.host.locked(exclusive=False) as host:
            taps, bridge, vlans = host.all("taps"), host.all("bridge"), host.all("vlans")
            filters, namespaces = host.all("filters"), host.all("namespaces")
        ports: dict[str, PortSpec] = {}
        for name, tap in taps.items():
            spec: PortSpec = tap["port"]
            member = bridge.get(name)
            if member is not None and member.get("tag") == vlans.get(spec["network_id"]):
                ports[spec["id"]] = spec
        dhcp: dict[str, DhcpSpec] = {}
        routers: dict[str, RouterSpec] = {}
        for ns in namespaces.values():
            dhcp.update(ns.get("dhcp", {}))
            if ns.get("router") is not None:
                routers[ns["router"]["id"]] = ns["router"]
        return {"ports": ports, "filters": filters, "dhcp": dhcp, "routers": routers}

    async def plug_port(self, port: PortSpec) -> None:
        name = tap_name(port["id"])
        spec = copy.deepcopy(port)

        def create_tap(host: HostDir) -> None:
            host.delete("bridge", name)  # re-wiring: off the bridge until the tap matches the spec
            host.put("taps", name, {"port": spec, "up": spec["admin_state_up"], "mtu": spec["mtu"],
                                    "mac": spec["mac_address"]})

        def attach(host: HostDir) -> None:
            tag = host.get("vlans", spec["network_id"])
            if tag is None:  # a local VLAN per network on this bridge, as the OVS agent allocates
                used = set(host.all("vlans").values())
                tag = min(set(range(1, len(used) + 2)) - used)
                host.put("vlans", spec["network_id"], tag)
            host.put("bridge", name, {"port_id": spec["id"], "tag": tag})

        await self._step("plug_port", port["id"], create_tap)
        await self._step("plug_port", port["id"], attach, last=True)

    async def unplug_port(self, port_id: str) -> None:
        name = tap_name(port_id)

        def detach(host: HostDir) -> None:
            host.delete("bridge", name)

        def delete(host: HostDir) -> None:
            gone = host.get("taps", name)
            host.delete("taps", name)
            host.delete("filters", port_id)
            if gone is not None:  # the network's local VLAN goes with its last tap
                net = gone["port"]["network_id"]
                if not any(t["port"]["network_id"] == net for t in host.all("taps").values()):
                    host.delete("vlans", net)

        await self._step("unplug_port", port_id, detach)
        await self._step("unplug_port", port_id, delete, last=True)

    async def apply_port_filter(self, spec: FilterSpec) -> None:
        # One step: nftables replaces a port's chain atomically.
        await self._step("apply_port_filter", spec["port_id"],
                         lambda host: host.put("filters", spec["port_id"], spec), last=True)

    async def remove_port_filter(self, port_id: str) -> None:
        await self._step("remove_port_filter", port_id, lambda host: host.delete("filters", port_id), last=True)

    async def ensure_dhcp(self, spec: DhcpSpec) -> None:
        ns_name = f"qdhcp-{spec['network_id']}"
        subnet = spec["subnet_id"]

        def stop_server(host: HostDir) -> None:  # the server restarts with the new leases
            ns = host.get("namespaces", ns_name) or {"dhcp": {}}
            host.put("namespaces", ns_name, {"dhcp": {k: v for k, v in ns.get("dhcp", {}).items() if k != subnet}})

        def serve(host: HostDir) -> None:
            for name, other in host.all("namespaces").items():  # a subnet moved to another network
                if name != ns_name and subnet in other.get("dhcp", {}):
                    host.put("namespaces", name, {**other, "dhcp": {k: v for k, v in other["dhcp"].items()
                                                                    if k != subnet}})
            ns = host.get("namespaces", ns_name) or {"dhcp": {}}
            host.put("namespaces", ns_name, {"dhcp": {**ns.get("dhcp", {}), subnet: spec}})

        await self._step("ensure_dhcp", subnet, stop_server)
        await self._step("ensure_dhcp", subnet, serve, last=True)

    async def remove_dhcp(self, subnet_id: str) -> None:
        def stop(host: HostDir) -> None:
            for name, ns in host.all("namespaces").items():
                if subnet_id in ns.get("dhcp", {}):
                    left = {k: v for k, v in ns["dhcp"].items() if k != subnet_id}
                    if name.startswith("qdhcp-") and not left:
                        host.delete("namespaces", name)
                    else:
                        host.put("namespaces", name, {**ns, "dhcp": left})

        await self._step("remove_dhcp", subnet_id, stop, last=True)

    async def ensure_router(self, spec: RouterSpec) -> None:
        ns_name = f"qrouter-{spec['id']}"

        def namespace(host: HostDir) -> None:
            host.put("namespaces", ns_name, {"router": None})  # not a complete router until the last step

        def wire(host: HostDir) -> None:
            # An admin-down router is wired all the same, its interfaces down: it forwards nothing.
            host.put("namespaces", ns_name, {"router": spec, "forwarding": spec["admin_state_up"]})

        await self._step("ensure_router", spec["id"], namespace)
        await self._step("ensure_router", spec["id"], wire, last=True)

    async def remove_router(self, router_id: str) -> None:
        await self._step("remove_router", router_id,
                         lambda host: host.delete("namespaces", f"qrouter-{router_id}"), last=True)

    # --- Inspectable ------------------------------------------------------------------------------

    def model(self) -> dict[str, object]:
        return read(self.root)

    def drift(self, kind: str, key: str) -> None:
        drift(self.root, kind, key)


def drift(root: Path, kind: str, key: str) -> None:
    """Break one thing of the host at ``root`` behind its agent's back (see ``Inspectable.drift``)."""
    with HostDir(root).locked() as host:
        if kind == "tap":
            host.delete("taps", tap_name(key))
            host.delete("bridge", tap_name(key))
        elif kind == "filter":
            host.delete("filters", key)
        elif kind == "dhcp":
            for name, ns in host.all("namespaces").items():
                if key in ns.get("dhcp", {}):
                    host.put("namespaces", name, {**ns, "dhcp": {k: v for k, v in ns["dhcp"].items() if k != key}})
        elif kind == "router":
            host.delete("namespaces", f"qrouter-{key}")
        else:
            raise ValueError(f"unknown drift kind {kind!r}")
