"""The object-server client the proxy and the replicators use: devices of this process's host
are served in-process (direct ``ObjectServer`` calls: no HTTP, no copies, bodies stream as the
caller gives them), the others over HTTP to the address the ring records (``obj/http.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from onestack.object_store.container_updates import ContainerUpdater
from onestack.object_store.obj.client import ObjectServerClient, ObjectServerResponse, Unmounted
from onestack.object_store.obj.diskfile import DeviceUnavailable
from onestack.object_store.obj.http import HttpObjectClient
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.ring.ring import Device


class ObjectClients:
    """``ObjectServerClient``: in-process for ``local_host``'s devices, HTTP for the rest."""

    def __init__(self, server: ObjectServer, local_host: str, http: HttpObjectClient) -> None:
        self.server = server
        self.local_host = local_host
        self.http = http

    def is_local(self, device: Device) -> bool:
        return device.host == self.local_host

    async def request(self, device: Device, part: int, method: str, path: str, headers: dict[str, str],
                      body: bytes | AsyncIterator[bytes] = b"") -> ObjectServerResponse:
        if self.is_local(device):
            return await self.server.handle(device.device, part, method, path, headers, body)
        return await self.http.request(device, part, method, path, headers, body)

    async def replicate(self, device: Device, part: int, suffixes: list[str]) -> dict[str, str]:
        if self.is_local(device):
            try:
                return await self.server.replicate(device.device, part, suffixes)
            except DeviceUnavailable as exc:
                raise Unmounted(f"device {device.device} is not available") from exc
        return await self.http.replicate(device, part, suffixes)

    async def aclose(self) -> None:
        await self.http.aclose()


def make_client(devices_root: Path, local_host: str, node_timeout: float, updater: ContainerUpdater,
                hash_path_suffix: str | None = None) -> ObjectServerClient:
    """The proxy's client; ``hash_path_suffix`` is the ring's (it names the objects' dirs)."""
    if hash_path_suffix is None:
        raise ValueError("make_client needs the ring's hash_path_suffix")
    server = ObjectServer(devices_root, updater, hash_path_suffix, update_timeout=node_timeout)
    return ObjectClients(server, local_host, HttpObjectClient(node_timeout))
