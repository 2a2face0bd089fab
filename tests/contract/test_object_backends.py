"""The contract both object-server clients keep (onestack/object_store/obj/client.py): a device
served in-process (obj/clients.py) and one reached over HTTP (obj/http.py, a real uvicorn on
127.0.0.1) answer the proxy alike — statuses, the headers it reads, bodies, failures."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from onestack.object_store.obj.client import ObjectServerClient
from onestack.object_store.obj.clients import ObjectClients
from onestack.object_store.obj.diskfile import BLOCK_SIZE
from onestack.object_store.obj.http import HttpObjectClient
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.ring.ring import Device
from onestack.object_store.timestamp import Timestamp
from tests.object_servers import Listing, free_port, http_served

Scenario = Callable[[ObjectServerClient, Device, Path], Awaitable[None]]


@asynccontextmanager
async def served(kind: str, root: Path) -> AsyncIterator[tuple[ObjectServerClient, Device]]:
    server = ObjectServer(root, Listing(), "salt")
    http = HttpObjectClient(node_timeout=5)
    if kind == "in-process":
        yield ObjectClients(server, "here", http), Device(id=1, host="here", device="d1")
        await http.aclose()
        return
    port = free_port(21200)
    async with http_served(server, port):
        try:
            yield ObjectClients(server, "here", http), Device(id=1, host="there", device="d1", port=port)
        finally:
            await http.aclose()


@pytest.fixture(params=["in-process", "http"])
def run_scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Scenario], None]:
    (tmp_path / "d1").mkdir()

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            async with served(request.param, tmp_path) as (client, device):
                await scenario(client, device, tmp_path)
        asyncio.run(main())
    return run


def stamp(seconds: float) -> str:
    return Timestamp(seconds).internal


async def chunks(data: bytes, size: int = 200_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


PATH = "/AUTH_p/c/some object"


def test_round_trip(run_scenario: Callable[[Scenario], None]) -> None:
    data = os.urandom(2 * BLOCK_SIZE + 999)

    async def scenario(client: ObjectServerClient, dev: Device, root: Path) -> None:
        headers = {"X-Timestamp": stamp(1700000000.5), "Content-Type": "video/mp4",
                   "Content-Length": str(len(data)), "X-Object-Meta-Kind": "clip", "Cache-Control": "no-cache"}
        put = await client.request(dev, 9, "PUT", PATH, headers, chunks(data))
        await put.read()
        assert put.status == 201 and put.headers["etag"] == hashlib.md5(data).hexdigest()
        get = await client.request(dev, 9, "GET", PATH, {})
        assert await get.read() == data
        head = await client.request(dev, 9, "HEAD", PATH, {})
        assert await head.read() == b""
        for resp in (get, head):
            h = resp.headers
            assert resp.status == 200 and h["content-length"] == str(len(data))
            assert h["etag"] == hashlib.md5(data).hexdigest() and h["content-type"] == "video/mp4"
            assert h["x-object-meta-kind"] == "clip" and h["cache-control"] == "no-cache"
            assert h["x-timestamp"] == "1700000000.50000" and h["last-modified"] == "Tue, 14 Nov 2023 22:13:21 GMT"

    run_scenario(scenario)


def test_statuses(run_scenario: Callable[[Scenario], None]) -> None:
    async def scenario(client: ObjectServerClient, dev: Device, root: Path) -> None:
        async def status(method: str, headers: dict[str, str], body: bytes = b"",
                         device: Device = dev) -> tuple[int, dict[str, str]]:
            resp = await client.request(device, 9, method, PATH, headers, body)
            await resp.read()
            return resp.status, resp.headers

        put = {"Content-Type": "a/b"}
        assert (await status("PUT", {**put, "X-Timestamp": stamp(5)}, b"x"))[0] == 201
        code, headers = await status("PUT", {**put, "X-Timestamp": stamp(4)}, b"y")
        assert code == 409 and headers["x-backend-timestamp"] == stamp(5)
        assert (await status("PUT", {**put, "X-Timestamp": stamp(6), "ETag": "0" * 32}, b"y"))[0] == 422
        assert (await status("PUT", {"X-Timestamp": stamp(6)}, b"y"))[0] == 400
        assert (await status("GET", {"If-None-Match": hashlib.md5(b"x").hexdigest()}))[0] == 304
        assert (await status("GET", {"If-Match": "other"}))[0] == 412
        code, headers = await status("GET", {"Range": "bytes=5-"})
        assert code == 416 and headers["content-range"] == "bytes */1"
        assert (await status("POST", {"X-Timestamp": stamp(7), "X-Object-Meta-New": "1"}))[0] == 202
        assert (await status("HEAD", {}))[1]["x-object-meta-new"] == "1"
        gone = Timestamp.now()
        assert (await status("DELETE", {"X-Timestamp": gone.internal}))[0] == 204
        code, headers = await status("GET", {})
        assert code == 404 and headers["x-backend-timestamp"] == gone.internal
        missing = Device(id=2, host=dev.host, device="nope", ip=dev.ip, port=dev.port)
        assert (await status("GET", {}, device=missing))[0] == 507
        assert await client.replicate(dev, 9, []) != {}
        with pytest.raises(ConnectionError):
            await client.replicate(missing, 9, [])

    run_scenario(scenario)


def test_ranges(run_scenario: Callable[[Scenario], None]) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB: the ranges cross a block boundary

    async def scenario(client: ObjectServerClient, dev: Device, root: Path) -> None:
        await (await client.request(dev, 9, "PUT", PATH, {"X-Timestamp": stamp(1), "Content-Type": "x/y"}, data)).read()
        one = await client.request(dev, 9, "GET", PATH, {"Range": f"bytes={BLOCK_SIZE - 2}-{BLOCK_SIZE + 1}"})
        assert one.status == 206 and await one.read() == data[BLOCK_SIZE - 2:BLOCK_SIZE + 2]
        assert one.headers["content-range"] == f"bytes {BLOCK_SIZE - 2}-{BLOCK_SIZE + 1}/{len(data)}"
        multi = await client.request(dev, 9, "GET", PATH, {"Range": "bytes=0-0,-1"})
        body = await multi.read()
        boundary = multi.headers["content-type"].split("boundary=")[1]
        assert multi.status == 206 and len(body) == int(multi.headers["content-length"])
        assert body.startswith(f"--{boundary}\r\nContent-Type: x/y\r\nContent-Range: bytes 0-0/{len(data)}".encode())
        assert body.endswith(f"\r\n\r\n\xff\r\n--{boundary}--".encode("latin-1"))

    run_scenario(scenario)


def test_a_corrupt_replica_fails_the_stream(run_scenario: Callable[[Scenario], None]) -> None:
    data = os.urandom(2 * BLOCK_SIZE)

    async def scenario(client: ObjectServerClient, dev: Device, root: Path) -> None:
        await (await client.request(dev, 9, "PUT", PATH, {"X-Timestamp": stamp(1), "Content-Type": "x/y"}, data)).read()
        [path] = list((root / "d1" / "objects").rglob("*.data"))
        raw = bytearray(path.read_bytes())
        raw[BLOCK_SIZE + 7] ^= 0x01
        path.write_bytes(bytes(raw))
        resp = await client.request(dev, 9, "GET", PATH, {})
        assert resp.status == 200
        with pytest.raises(ConnectionError):
            await resp.read()
        after = await client.request(dev, 9, "GET", PATH, {})
        assert after.status == 404
        await after.close()
        assert list((root / "d1" / "quarantined" / "objects").iterdir())

    run_scenario(scenario)
