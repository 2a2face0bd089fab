"""The seam where the network service wires a server's ports in: Nova's neutron API, host side.

``NeutronNetwork`` talks to the network service over Neutron's REST API as the ``onestack``
service user (binding a port to a host is an admin's act), as Nova's compute does:

- ``allocate``: the ports the API resolved (``system_metadata["networks"]``: a list of
  ``{"uuid", "port", "fixed_ip", "tag"}``, or "none") are created on this host — owner the
  server's project, ``device_id`` the server, ``device_owner`` ``compute:<az>``,
  ``binding:host_id`` this host — or, for ports the user passed, taken over and bound. Ports the
  server already has (a rebuild, a reschedule, an unshelve, a move) are rebound here instead,
  so allocating twice never makes two ports.
- the vif-plugged wait: a port not ACTIVE when read is waited for (``network-vif-plugged``
  from the network service, through the external events API) up to
  ``compute.vif_plugging_timeout``; then the build fails if ``vif_plugging_is_fatal``.
- ``deallocate``: ports compute created are deleted; ports the user passed in are unbound and
  kept (``preserve_on_delete``, as Nova records it in its info cache).
- ``refresh``: the server's info cache (``system_metadata["network_info"]``), from which the
  API shows ``addresses`` without asking the network service per server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from onestack.client.network import NetworkClient, NetworkError
from onestack.compute.network_info import (
    CACHE_KEY,
    PRESERVED_KEY,
    TAGS_KEY,
    cached,
    preserved_ports,
    requested,
    tags_of,
    vif_of,
)
from onestack.compute.virt.driver import NetworkInfo
from onestack.core.aio import run_to_end
from onestack.core.rpc import remote_error

log = logging.getLogger("onestack.compute.network")

PLUGGED = "network-vif-plugged"


class VirtualInterfaceCreateFailed(RuntimeError):
    """Nova's VirtualInterfaceCreateException: the ports were never reported plugged."""


@remote_error
class InterfaceAttachFailed(Exception):
    """The network service refused the port for the attach (its message, safe to show)."""


@remote_error
class PortNotAttached(Exception):
    """Nova's PortNotFound on detach: the server has no such port."""


class NetworkSeam(Protocol):
    async def allocate(self, instance: dict[str, Any]) -> NetworkInfo:
        """Create or bind the server's ports on this host; the driver plugs what this returns."""
        ...

    def plugged(self, instance: dict[str, Any], network_info: NetworkInfo) -> contextlib.AbstractAsyncContextManager[None]:
        """Around the driver's spawn: waits for the ports' vif-plugged events on exit."""
        ...

    async def deallocate(self, instance: dict[str, Any]) -> None:
        """Unbind and delete the ports ``allocate`` made. Idempotent."""
        ...

    async def unbind(self, instance: dict[str, Any]) -> None:
        """The server leaves this host but keeps its ports (shelve offload): clear their binding."""
        ...

    async def refresh(self, instance: dict[str, Any]) -> NetworkInfo:
        """Read the server's ports again and store the info cache."""
        ...

    async def attach(self, instance: dict[str, Any], network_id: str | None, port_id: str | None,
                     fixed_ip: str | None, tag: str | None) -> dict[str, Any]:
        """A new port on the network (or the user's port) bound here; its NetworkInfo entry."""
        ...

    async def detach(self, instance: dict[str, Any], port_id: str) -> dict[str, Any]:
        """Delete the port (or unbind the user's); its last NetworkInfo entry."""
        ...

    def deliver(self, uuid: str, name: str, tag: str | None, status: str) -> bool:
        """An external event for a server of this host; True when someone waited for it."""
        ...


class NoNetwork:
    """No network service: servers boot with no ports (``networks: none`` semantics)."""

    async def allocate(self, instance: dict[str, Any]) -> NetworkInfo:
        return []

    @contextlib.asynccontextmanager
    async def plugged(self, instance: dict[str, Any], network_info: NetworkInfo) -> AsyncIterator[None]:
        yield

    async def deallocate(self, instance: dict[str, Any]) -> None:
        return None

    async def unbind(self, instance: dict[str, Any]) -> None:
        return None

    async def refresh(self, instance: dict[str, Any]) -> NetworkInfo:
        return []

    def deliver(self, uuid: str, name: str, tag: str | None, status: str) -> bool:
        return False

    async def attach(self, instance: dict[str, Any], network_id: str | None, port_id: str | None,
                     fixed_ip: str | None, tag: str | None) -> dict[str, Any]:
        raise InterfaceAttachFailed("No network service runs: no interface can be attached.")

    async def detach(self, instance: dict[str, Any], port_id: str) -> dict[str, Any]:
        raise PortNotAttached(f"Port {port_id} is not attached")


__all__ = ["CACHE_KEY", "NetworkSeam", "NeutronNetwork", "NoNetwork", "cached"]


class CacheWriter(Protocol):
    async def __call__(self, uuid: str, network_info: NetworkInfo, extra: dict[str, Any]) -> None:
        """Store the info cache, and the ``extra`` system_metadata keys with it."""


class VifEvents:
    """Who waits for which event: (server, event name, port) -> the future the event completes."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str, str], asyncio.Future[str]] = {}

    def expect(self, uuid: str, name: str, tags: list[str]) -> dict[str, asyncio.Future[str]]:
        loop = asyncio.get_running_loop()
        futures = {}
        for tag in tags:
            fut: asyncio.Future[str] = loop.create_future()
            self._waiting[(uuid, name, tag)] = fut
            futures[tag] = fut
        return futures

    def forget(self, uuid: str, name: str, tags: list[str]) -> None:
        for tag in tags:
            self._waiting.pop((uuid, name, tag), None)

    def deliver(self, uuid: str, name: str, tag: str | None, status: str) -> bool:
        fut = self._waiting.get((uuid, name, tag or ""))
        if fut is None or fut.done():
            return False
        fut.set_result(status)
        return True


async def release_ports(client: NetworkClient, instance: dict[str, Any]) -> None:
    """Nova's deallocate_for_instance: delete the ports compute made, unbind those the user
    brought (device and binding cleared, the port kept). Idempotent. The API calls it too, for a
    server deleted with no host to do it (shelved offloaded, never built, host down)."""
    keep = preserved_ports(instance)
    for port in await client.ports_of(instance["uuid"]):
        try:
            if port["id"] in keep:
                await client.update_port(port["id"], {"device_id": "", "device_owner": "", "binding:host_id": ""})
            else:
                await client.delete_port(port["id"])
        except NetworkError as exc:
            if exc.status != 404:  # gone already: what we wanted
                raise


class NeutronNetwork:
    """The seam over Neutron's REST API for one host."""

    def __init__(self, client: NetworkClient, host: str, write_cache: CacheWriter, timeout: float,
                 fatal: bool) -> None:
        self.client = client
        self.host = host
        self.write_cache = write_cache
        self.timeout = timeout
        self.fatal = fatal
        self.events = VifEvents()

    # --- allocate ------------------------------------------------------------------------------

    def _binding(self, instance: dict[str, Any]) -> dict[str, Any]:
        zone = instance.get("availability_zone") or "nova"
        return {"device_id": instance["uuid"], "device_owner": f"compute:{zone}", "binding:host_id": self.host}

    async def _security_groups(self, instance: dict[str, Any]) -> list[str] | None:
        names = (instance.get("system_metadata") or {}).get("security_groups") or []
        if not names:
            return None  # Neutron gives the port the project's default group
        found = await self.client.security_group_ids(instance["project_id"], list(names))
        return sorted({i for ids in found.values() for i in ids})

    async def allocate(self, instance: dict[str, Any]) -> NetworkInfo:
        # A delete cancels the build: the ports must all be made (or not) by the time its cleanup
        # lists them — a create cut off here still completes on the network side.
        return await run_to_end(self._allocate(instance))

    async def _allocate(self, instance: dict[str, Any]) -> NetworkInfo:
        uuid = instance["uuid"]
        if not requested(instance) and not cached(instance):
            return []  # "none" (or nothing to pick): Nova asks the network service nothing
        existing = {p["id"]: p for p in await self.client.ports_of(uuid)}
        keep = preserved_ports(instance)
        tags = tags_of(instance)
        binding = self._binding(instance)
        ports: list[dict[str, Any]] = []
        for port in existing.values():  # already the server's: bind them here (moves, rebuild, unshelve)
            ports.append(port if port.get("binding:host_id") == self.host
                         else await self.client.update_port(port["id"], {"binding:host_id": self.host}))
        if not existing:
            groups = await self._security_groups(instance)
            for net in requested(instance):
                if net.get("port"):
                    ports.append(await self.client.update_port(str(net["port"]), binding))
                    continue
                attrs: dict[str, Any] = {"network_id": net["uuid"], "project_id": instance["project_id"],
                                         **binding}
                if net.get("fixed_ip"):
                    attrs["fixed_ips"] = [{"ip_address": net["fixed_ip"]}]
                if groups is not None:
                    attrs["security_groups"] = groups
                port = await self.client.create_port(attrs)
                tags[port["id"]] = net.get("tag")
                ports.append(port)
        return await self._store(instance, ports, keep, tags, {TAGS_KEY: tags})

    async def _store(self, instance: dict[str, Any], ports: list[dict[str, Any]], keep: set[str],
                     tags: dict[str, Any], extra: dict[str, Any] | None = None) -> NetworkInfo:
        networks = await self.client.networks_by_id([str(p["network_id"]) for p in ports])
        floating = await self.client.floating_ips_of([str(p["id"]) for p in ports])
        # The guest's NIC order: as the cache had them, new ports after in the order given (a boot's
        # request order), else by age.
        known = {str(v["id"]): i for i, v in enumerate(cached(instance))}
        given = {str(p["id"]): i for i, p in enumerate(ports)}
        ordered = sorted(ports, key=lambda p: (known.get(str(p["id"]), len(known)), given[str(p["id"])]))
        info = [vif_of(p, networks.get(str(p["network_id"])), floating, p["id"] in keep, tags.get(p["id"]))
                for p in ordered]
        await self.write_cache(instance["uuid"], info, extra or {})
        return info

    async def refresh(self, instance: dict[str, Any]) -> NetworkInfo:
        ports = sorted(await self.client.ports_of(instance["uuid"]),
                       key=lambda p: (str(p.get("created_at") or ""), str(p["id"])))
        return await self._store(instance, ports, preserved_ports(instance), tags_of(instance))

    # --- waiting for the ports to be plugged ---------------------------------------------------

    @contextlib.asynccontextmanager
    async def plugged(self, instance: dict[str, Any], network_info: NetworkInfo) -> AsyncIterator[None]:
        """Expect network-vif-plugged for each port, re-read their status (a port the network
        agent wired before we listened is ACTIVE by now), run the body (the spawn), then wait."""
        uuid = instance["uuid"]
        tags = [str(v["id"]) for v in network_info if not v.get("active")]
        futures = self.events.expect(uuid, PLUGGED, tags)
        try:
            if tags:
                for port in await self.client.ports_of(uuid):
                    if port["id"] in futures and port.get("status") == "ACTIVE":
                        futures.pop(port["id"]).cancel()
            yield
            if futures:
                await self._wait(uuid, futures)
                # The cache says which ports are ACTIVE now (in the order allocate stored them).
                meta = {**(instance.get("system_metadata") or {}), CACHE_KEY: network_info}
                await self.refresh({**instance, "system_metadata": meta})
        finally:
            self.events.forget(uuid, PLUGGED, tags)

    async def _wait(self, uuid: str, futures: dict[str, asyncio.Future[str]]) -> None:
        done, pending = await asyncio.wait(list(futures.values()), timeout=self.timeout)
        # Nova's fault for both: its VirtualInterfaceCreateException ends the build, not rescheduled.
        aborted = f"Build of instance {uuid} aborted: Failed to allocate the network(s), not rescheduling."
        failed = [tag for tag, fut in futures.items() if fut in done and fut.result() == "failed"]
        if failed:
            log.warning("%s: network-vif-plugged failed for %s on %s", self.host, failed, uuid)
            if self.fatal:
                raise VirtualInterfaceCreateFailed(aborted)
        if pending:
            missing = sorted(tag for tag, fut in futures.items() if fut in pending)
            log.warning("%s: timeout waiting for network-vif-plugged of %s on %s", self.host, missing, uuid)
            if self.fatal:
                raise VirtualInterfaceCreateFailed(aborted)

    def deliver(self, uuid: str, name: str, tag: str | None, status: str) -> bool:
        return self.events.deliver(uuid, name, tag, status)

    # --- release -------------------------------------------------------------------------------

    async def deallocate(self, instance: dict[str, Any]) -> None:
        await release_ports(self.client, instance)

    async def unbind(self, instance: dict[str, Any]) -> None:
        for port in await self.client.ports_of(instance["uuid"]):
            if port.get("binding:host_id"):
                await self.client.update_port(port["id"], {"binding:host_id": ""})

    # --- interfaces (os-interface) -------------------------------------------------------------

    async def attach(self, instance: dict[str, Any], network_id: str | None, port_id: str | None,
                     fixed_ip: str | None, tag: str | None) -> dict[str, Any]:
        return await run_to_end(self._attach(instance, network_id, port_id, fixed_ip, tag))

    async def _attach(self, instance: dict[str, Any], network_id: str | None, port_id: str | None,
                      fixed_ip: str | None, tag: str | None) -> dict[str, Any]:
        binding = self._binding(instance)
        try:
            if port_id:
                port = await self.client.update_port(port_id, binding)
            else:
                attrs: dict[str, Any] = {"network_id": network_id, "project_id": instance["project_id"], **binding}
                if fixed_ip:
                    attrs["fixed_ips"] = [{"ip_address": fixed_ip}]
                port = await self.client.create_port(attrs)
        except NetworkError as exc:
            raise InterfaceAttachFailed(exc.message) from None
        ports = await self.client.ports_of(instance["uuid"])
        if all(p["id"] != port["id"] for p in ports):
            ports.append(port)
        keep = preserved_ports(instance) | ({port_id} if port_id else set())
        tags = tags_of(instance) | {port["id"]: tag}
        extra: dict[str, Any] = {TAGS_KEY: tags}
        if port_id:
            extra[PRESERVED_KEY] = sorted(keep)
        info = await self._store(instance, ports, keep, tags, extra)
        return next(v for v in info if v["id"] == port["id"])

    async def detach(self, instance: dict[str, Any], port_id: str) -> dict[str, Any]:
        ports = await self.client.ports_of(instance["uuid"])
        port = next((p for p in ports if p["id"] == port_id), None)
        if port is None:
            raise PortNotAttached(f"Port {port_id} is not attached")
        keep = preserved_ports(instance)
        vif = vif_of(port, None, [], port_id in keep)
        try:
            if port_id in keep:
                await self.client.update_port(port_id, {"device_id": "", "device_owner": "", "binding:host_id": ""})
            else:
                await self.client.delete_port(port_id)
        except NetworkError as exc:
            if exc.status != 404:
                raise
        tags = {k: v for k, v in tags_of(instance).items() if k != port_id}
        await self._store(instance, [p for p in ports if p["id"] != port_id], keep, tags,
                          {TAGS_KEY: tags, PRESERVED_KEY: sorted(keep - {port_id})})
        return vif
