"""The object server's HTTP face and client (onestack/object_store/obj/http.py) over a real
uvicorn on 127.0.0.1, and make_client's split between in-process and HTTP devices."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TypeVar

import pytest

from onestack.object_store.obj.client import Unmounted
from onestack.object_store.obj.clients import ObjectClients, make_client
from onestack.object_store.obj.diskfile import BLOCK_SIZE
from onestack.object_store.obj.http import HttpObjectClient, ObjectServerApp
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.ring.ring import Device
from onestack.object_store.timestamp import Timestamp
from tests.object_servers import Listing, free_port, http_served

T = TypeVar("T")


def with_server(tmp_path: Path, scenario: Callable[[HttpObjectClient, Device, ObjectServer], Awaitable[T]]) -> T:
    (tmp_path / "d1").mkdir(exist_ok=True)
    server = ObjectServer(tmp_path, Listing(), "salt")
    port = free_port()
    device = Device(id=1, host="remote", device="d1", port=port)

    async def main() -> T:
        async with http_served(server, port):
            client = HttpObjectClient(node_timeout=5)
            try:
                return await scenario(client, device, server)
            finally:
                await client.aclose()

    return asyncio.run(main())


def test_round_trip(tmp_path: Path) -> None:
    data = os.urandom(3 * BLOCK_SIZE + 7)
    name = "/AUTH_p/c/d\u00e9j\u00e0 vu/?#%2F"

    async def body() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 200_000):
            yield data[i:i + 200_000]

    async def scenario(client: HttpObjectClient, dev: Device, server: ObjectServer) -> None:
        headers = {"X-Timestamp": Timestamp(1).internal, "Content-Type": "application/x-gzip",
                   "Content-Encoding": "gzip", "X-Object-Meta-Who": "Zo\u00eb", "X-Object-Meta-Raw": "\udcff!"}
        resp = await client.request(dev, 4, "PUT", name, headers, body())
        assert resp.status == 201, await resp.read()
        assert resp.headers["etag"] == hashlib.md5(data).hexdigest()
        resp = await client.request(dev, 4, "GET", name, {})
        got = await resp.read()
        assert resp.status == 200 and got == data  # gzip-labelled bytes come back undecoded
        assert resp.headers["x-object-meta-who"] == "Zo\u00eb" and resp.headers["content-encoding"] == "gzip"
        assert resp.headers["x-object-meta-raw"] == "\udcff!"  # a non-UTF-8 byte kept as it came
        resp = await client.request(dev, 4, "HEAD", name, {})
        assert resp.status == 200 and resp.headers["content-length"] == str(len(data))
        resp = await client.request(dev, 4, "GET", name, {"Range": "bytes=5-9,-3"})
        multi = await resp.read()
        assert resp.status == 206 and len(multi) == int(resp.headers["content-length"])
        resp = await client.request(dev, 4, "GET", name, {"Range": f"bytes={len(data)}-"})
        assert resp.status == 416 and resp.headers["content-range"] == f"bytes */{len(data)}"
        await resp.close()
        gone = Timestamp.now()  # recent: an ancient tombstone would be reclaimed at once
        resp = await client.request(dev, 4, "DELETE", name, {"X-Timestamp": gone.internal})
        assert resp.status == 204
        await resp.close()
        resp = await client.request(dev, 4, "GET", name, {})
        assert resp.status == 404 and resp.headers["x-backend-timestamp"] == gone.internal
        await resp.close()
        hashes = await client.replicate(dev, 4, [])
        assert hashes == await server.replicate("d1", 4, [])
        assert len(hashes) == 1
        assert (await client.request(dev, 4, "GET", name, {}, b"")).status == 404
        missing = Device(id=2, host="remote", device="nope", port=dev.port)
        assert (await client.request(missing, 4, "GET", name, {})).status == 507
        with pytest.raises(Unmounted):  # a 507: the replicator takes a handoff in its place
            await client.replicate(missing, 4, [])
        # A literal REPLICATE reaches the same answer where the HTTP parser allows it (h11).
        app = ObjectServerApp(server)
        sent: list[MutableMapping[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, object]) -> None:
            sent.append(message)

        await app({"type": "http", "method": "REPLICATE", "path": "/d1/4", "headers": []}, receive, send)
        assert sent[0]["status"] == 200 and sent[1]["body"] == json.dumps(hashes).encode()

    with_server(tmp_path, scenario)


def test_corrupt_object_breaks_the_connection(tmp_path: Path) -> None:
    data = os.urandom(2 * BLOCK_SIZE)

    async def scenario(client: HttpObjectClient, dev: Device, server: ObjectServer) -> None:
        headers = {"X-Timestamp": Timestamp(1).internal, "Content-Type": "a/b"}
        assert (await client.request(dev, 4, "PUT", "/a/c/o", headers, data)).status == 201
        [data_file] = [p for p in (tmp_path / "d1" / "objects").rglob("*.data")]
        raw = bytearray(data_file.read_bytes())
        raw[BLOCK_SIZE + 1] ^= 0xFF
        data_file.write_bytes(bytes(raw))
        resp = await client.request(dev, 4, "GET", "/a/c/o", {})
        assert resp.status == 200
        with pytest.raises(ConnectionError):
            await resp.read()
        resp = await client.request(dev, 4, "GET", "/a/c/o", {})
        assert resp.status == 404
        await resp.close()

    with_server(tmp_path, scenario)


def test_unreachable_server_is_a_connection_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        client = HttpObjectClient(node_timeout=2)
        try:
            with pytest.raises(ConnectionError):
                await client.request(Device(id=1, host="h", device="d1", port=free_port()), 1, "GET", "/a/c/o", {})
            with pytest.raises(ConnectionError):
                await client.request(Device(id=1, host="h", device="d1", port=0), 1, "GET", "/a/c/o", {})
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_make_client_serves_local_devices_in_process(tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    listing = Listing()
    client = make_client(tmp_path, "here", 5.0, listing, hash_path_suffix="salt")
    assert isinstance(client, ObjectClients)
    local = Device(id=1, host="here", device="d1", port=0)
    remote = Device(id=2, host="there", device="d1", port=0)

    async def scenario() -> None:
        headers = {"X-Timestamp": Timestamp(1).internal, "Content-Type": "a/b"}
        assert (await client.request(local, 2, "PUT", "/a/c/o", headers, b"x")).status == 201
        assert await (await client.request(local, 2, "GET", "/a/c/o", {})).read() == b"x"
        assert list(await client.replicate(local, 2, []))
        with pytest.raises(ConnectionError):
            await client.request(remote, 2, "GET", "/a/c/o", {})
        with pytest.raises(Unmounted):
            await client.replicate(Device(id=3, host="here", device="gone"), 2, [])
        await client.aclose()

    asyncio.run(scenario())
    assert [u["obj"] for u in listing.updates] == ["o"]
    with pytest.raises(ValueError):
        make_client(tmp_path, "here", 5.0, listing)


def test_stalled_upload_is_408(tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    server = ObjectServer(tmp_path, Listing(), "salt")
    app = ObjectServerApp(server, client_timeout=0.2)
    sent: list[MutableMapping[str, object]] = []
    first = True

    async def receive() -> dict[str, object]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"abc", "more_body": True}
        await asyncio.sleep(30)  # the proxy never sends the rest
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, object]) -> None:
        sent.append(message)

    headers = [(b"x-timestamp", b"1"), (b"content-type", b"a/b"), (b"content-length", b"10")]
    asyncio.run(app({"type": "http", "method": "PUT", "path": "/d1/1/a/c/o", "headers": headers}, receive, send))
    assert sent[0]["status"] == 408
