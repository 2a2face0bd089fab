"""STUB — the storage helper replaces this: the object-server client the proxy uses (in-process for
this host's devices, HTTP to the ring's address for others)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from onestack.object_store.container_updates import ContainerUpdater
from onestack.object_store.obj.client import ObjectServerClient, ObjectServerResponse
from onestack.object_store.ring.ring import Device


class _Unavailable:
    async def request(self, device: Device, part: int, method: str, path: str, headers: dict[str, str],
                      body: bytes | AsyncIterator[bytes] = b"") -> ObjectServerResponse:
        raise ConnectionError("no object server yet")

    async def replicate(self, device: Device, part: int, suffixes: list[str]) -> dict[str, str]:
        raise ConnectionError("no object server yet")


def make_client(devices_root: Path, local_host: str, node_timeout: float, updater: ContainerUpdater) -> ObjectServerClient:
    return _Unavailable()
