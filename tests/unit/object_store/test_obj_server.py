"""The object server in-process (onestack/object_store/obj/server.py) over real device dirs:
Swift's statuses and headers for PUT/GET/HEAD/POST/DELETE/REPLICATE, and its container updates."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from onestack.object_store.obj.client import ObjectServerResponse
from onestack.object_store.obj.diskfile import BLOCK_SIZE
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.ring.ring import hash_path
from onestack.object_store.rpcapi import ContainerUpdate
from onestack.object_store.timestamp import Timestamp
from tests.object_servers import Listing

T = TypeVar("T")
PATH = "/AUTH_p/c/o"
SUFFIX = "salt"


@pytest.fixture
def listing() -> Listing:
    return Listing()


@pytest.fixture
def server(tmp_path: Path, listing: Listing) -> ObjectServer:
    (tmp_path / "d1").mkdir()
    return ObjectServer(tmp_path, listing, SUFFIX, update_timeout=2.0)


def run(coro: Awaitable[T]) -> T:
    async def wrap() -> T:
        return await coro
    return asyncio.run(wrap())


def ts(seconds: float) -> str:
    return Timestamp(seconds).internal


def call(server: ObjectServer, method: str, headers: dict[str, str] | None = None,
         body: bytes | AsyncIterator[bytes] = b"", path: str = PATH, device: str = "d1") -> tuple[ObjectServerResponse, bytes]:
    async def scenario() -> tuple[ObjectServerResponse, bytes]:
        resp = await server.handle(device, 3, method, path, headers or {}, body)
        return resp, await resp.read()
    return run(scenario())


def put(server: ObjectServer, data: bytes, at: float, **headers: str) -> ObjectServerResponse:
    h = {"X-Timestamp": ts(at), "Content-Type": "text/plain", "Content-Length": str(len(data)), **headers}
    return call(server, "PUT", h, data)[0]


def hash_dir(server: ObjectServer) -> Path:
    hsh = hash_path(SUFFIX, "AUTH_p", "c", "o")
    return server.devices_root / "d1" / "objects" / "3" / hsh[-3:] / hsh


def pendings(server: ObjectServer) -> list[Path]:
    return [p for p in (server.devices_root / "d1" / "async_pending").rglob("*") if p.is_file()]


def test_put_get_head(server: ObjectServer, listing: Listing) -> None:
    data = b"hello world"
    resp = put(server, data, 1000.25, **{"X-Object-Meta-Color": "Blue", "Content-Disposition": "inline",
                                         "X-Object-Sysmeta-Thing": "s", "X-Unknown": "dropped"})
    assert resp.status == 201 and resp.headers["etag"] == hashlib.md5(data).hexdigest()
    resp, body = call(server, "GET")
    assert resp.status == 200 and body == data
    h = resp.headers
    assert h["content-type"] == "text/plain" and h["content-length"] == "11"
    assert h["x-object-meta-color"] == "Blue" and h["content-disposition"] == "inline"
    assert h["x-object-sysmeta-thing"] == "s" and "x-unknown" not in h
    assert h["x-timestamp"] == "0000001000.25000" and h["last-modified"] == "Thu, 01 Jan 1970 00:16:41 GMT"
    head, body = call(server, "HEAD")
    assert head.status == 200 and body == b"" and head.headers["content-length"] == "11"
    assert listing.updates == [ContainerUpdate(
        account="AUTH_p", container="c", obj="o", op="PUT", timestamp=ts(1000.25), size=11,
        etag=hashlib.md5(data).hexdigest(), content_type="text/plain", delete_at=None, extra={})]
    assert pendings(server) == []


def test_streamed_put_without_length(server: ObjectServer) -> None:
    data = os.urandom(BLOCK_SIZE * 2 + 5)

    async def body() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 100_000):
            yield data[i:i + 100_000]

    resp, _ = call(server, "PUT", {"X-Timestamp": ts(1), "Content-Type": "x/y"}, body())
    assert resp.status == 201
    assert call(server, "GET")[1] == data


@pytest.mark.parametrize(("headers", "status", "text"), [
    ({"Content-Type": "a/b"}, 400, b"Missing X-Timestamp header"),
    ({"X-Timestamp": "yesterday", "Content-Type": "a/b"}, 400, b"Invalid X-Timestamp header"),
    ({"X-Timestamp": "1"}, 400, b"No content type"),
    ({"X-Timestamp": "1", "Content-Type": "a/b", "Content-Length": "x"}, 400, b"Invalid Content-Length header value"),
    ({"X-Timestamp": "1", "Content-Type": "a/b", "ETag": "0" * 32}, 422, None),
    ({"X-Timestamp": "1", "Content-Type": "a/b", "Content-Length": "100"}, 499, None),
    ({"X-Timestamp": "1", "Content-Type": "a/b", "Content-Length": "2"}, 400, None),
    ({"X-Timestamp": "1", "Content-Type": "a/b", "X-Delete-At": "soon"}, 400, b"Non-integer X-Delete-At"),
    ({"X-Timestamp": "100", "Content-Type": "a/b", "X-Delete-At": "50"}, 400, b"X-Delete-At in past"),
])
def test_bad_puts_store_nothing(server: ObjectServer, listing: Listing, headers: dict[str, str], status: int,
                                text: bytes | None) -> None:
    resp, body = call(server, "PUT", headers, b"some data")
    assert resp.status == status
    if text is not None:
        assert body == text
    assert not hash_dir(server).exists()
    assert os.listdir(server.devices_root / "d1" / "tmp") == [] if (server.devices_root / "d1" / "tmp").exists() else True
    assert listing.updates == [] and pendings(server) == []


def test_put_conflicts_and_if_none_match(server: ObjectServer) -> None:
    assert put(server, b"a", 5).status == 201
    for older in (5, 4):
        resp = put(server, b"b", older)
        assert resp.status == 409 and resp.headers["x-backend-timestamp"] == ts(5)
        # A small body is refused in the thread call that would write it: nothing is left behind.
        assert os.listdir(server.devices_root / "d1" / "tmp") == [] and pendings(server) == []
    # Chunked (no Content-Length): refused by the check before the body is read.
    chunked = {"X-Timestamp": ts(4), "Content-Type": "text/plain"}
    assert call(server, "PUT", chunked, b"b")[0].status == 409
    assert call(server, "GET")[1] == b"a"
    assert put(server, b"c", 6, **{"If-None-Match": "*"}).status == 412
    assert put(server, b"c", 6, **{"If-None-Match": hashlib.md5(b"a").hexdigest()}).status == 412
    assert put(server, b"c", 6, **{"If-None-Match": "other"}).status == 201
    assert call(server, "GET")[1] == b"c"


def test_missing_device_is_507(server: ObjectServer) -> None:
    for method in ("PUT", "GET", "HEAD", "POST", "DELETE"):
        resp, _ = call(server, method, {"X-Timestamp": "1", "Content-Type": "a/b"}, device="d9")
        assert resp.status == 507
    with pytest.raises(Exception, match="d9"):
        run(server.replicate("d9", 3, []))
    assert call(server, "GET", device="..")[0].status == 507


def test_bad_path_and_method(server: ObjectServer) -> None:
    assert call(server, "GET", path="/a/c")[0].status == 400
    assert call(server, "PATCH")[0].status == 405


def test_ranges_and_conditions(server: ObjectServer) -> None:
    data = bytes(range(256)) * 4
    etag = put(server, data, 1700000000).headers["etag"]
    resp, body = call(server, "GET", {"Range": "bytes=10-19"})
    assert resp.status == 206 and body == data[10:20] and resp.headers["content-range"] == "bytes 10-19/1024"
    assert resp.headers["content-length"] == "10"
    resp, body = call(server, "GET", {"Range": "bytes=0-1,-2"})
    assert resp.status == 206 and resp.headers["content-type"].startswith("multipart/byteranges;boundary=")
    assert len(body) == int(resp.headers["content-length"])
    assert b"Content-Range: bytes 1022-1023/1024\r\n\r\n" + data[-2:] in body
    resp, body = call(server, "GET", {"Range": "bytes=2000-"})
    assert resp.status == 416 and resp.headers["content-range"] == "bytes */1024"
    resp, body = call(server, "GET", {"Range": "bytes=9-3"})  # invalid: ignored
    assert resp.status == 200 and body == data
    assert call(server, "GET", {"If-None-Match": etag})[0].status == 304
    assert call(server, "HEAD", {"If-Match": "nope"})[0].status == 412
    resp, body = call(server, "GET", {"If-Modified-Since": "Tue, 14 Nov 2023 22:13:20 GMT"})
    assert resp.status == 304 and body == b"" and resp.headers["etag"] == etag
    assert call(server, "GET", {"If-Unmodified-Since": "Tue, 14 Nov 2023 22:13:19 GMT"})[0].status == 412
    assert call(server, "GET", {"If-Match": "*"}, path="/AUTH_p/c/missing")[0].status == 412
    # X-Backend-Etag-Is-At: conditions compare another stored value (SLO's manifest etag).
    put(server, b"m", 1700000001, **{"X-Object-Sysmeta-Slo-Etag": "slo123"})
    h = {"If-None-Match": "slo123", "X-Backend-Etag-Is-At": "X-Object-Sysmeta-Slo-Etag"}
    assert call(server, "GET", h)[0].status == 304
    h = {"Range": "bytes=0-0", "X-Backend-Ignore-Range-If-Metadata-Present": "X-Object-Sysmeta-Slo-Etag"}
    assert call(server, "GET", h)[0].status == 200


def test_corrupt_read_breaks_the_stream_and_quarantines(server: ObjectServer) -> None:
    data = os.urandom(BLOCK_SIZE + 10)
    put(server, data, 1)
    [data_file] = hash_dir(server).iterdir()
    with open(data_file, "r+b") as f:
        f.seek(3)
        f.write(b"\x00\x01\x02")

    async def scenario() -> ObjectServerResponse:
        return await server.handle("d1", 3, "GET", PATH, {})

    resp = run(scenario())
    assert resp.status == 200  # headers were fine; the first block is not

    async def drain() -> None:
        await resp.read()

    with pytest.raises(ConnectionError, match="quarantined"):
        run(drain())
    assert call(server, "GET")[0].status == 404
    assert (server.devices_root / "d1" / "quarantined" / "objects").is_dir()


def test_delete(server: ObjectServer, listing: Listing) -> None:
    resp, _ = call(server, "DELETE", {"X-Timestamp": ts(1)})
    assert resp.status == 404 and resp.headers["x-backend-timestamp"] == ts(1)
    put(server, b"a", 2)
    resp, _ = call(server, "DELETE", {"X-Timestamp": ts(1.5)})
    assert resp.status == 409
    resp, _ = call(server, "DELETE", {"X-Timestamp": ts(3)})
    assert resp.status == 204 and resp.headers["x-backend-timestamp"] == ts(3)
    resp, _ = call(server, "GET")
    assert resp.status == 404 and resp.headers["x-backend-timestamp"] == ts(3)
    assert [u["op"] for u in listing.updates] == ["DELETE", "PUT", "DELETE"]
    assert listing.updates[-1]["timestamp"] == ts(3)
    assert call(server, "DELETE")[0].status == 400
    resp = put(server, b"b", 2.5)  # older than the tombstone
    assert resp.status == 409 and resp.headers["x-backend-timestamp"] == ts(3)
    assert call(server, "GET")[0].status == 404


def test_x_if_delete_at(server: ObjectServer) -> None:
    assert call(server, "DELETE", {"X-Timestamp": ts(5), "X-If-Delete-At": "9"})[0].status == 404
    put(server, b"a", 1, **{"X-Delete-At": "1000"})
    assert call(server, "DELETE", {"X-Timestamp": ts(2), "X-If-Delete-At": "bad"})[0].status == 400
    resp, body = call(server, "DELETE", {"X-Timestamp": ts(2), "X-If-Delete-At": "999"})
    assert resp.status == 412 and body == b"X-If-Delete-At and X-Delete-At do not match"
    assert call(server, "DELETE", {"X-Timestamp": ts(0.5), "X-If-Delete-At": "1000"})[0].status == 409
    # The expirer's DELETE at the delete-at time: the object is expired by then, still 204.
    assert call(server, "DELETE", {"X-Timestamp": ts(1000), "X-If-Delete-At": "1000"})[0].status == 204
    assert call(server, "GET", {"X-Backend-Open-Expired": "true"})[0].status == 404


def test_expiry(server: ObjectServer, listing: Listing) -> None:
    put(server, b"a", 1, **{"X-Delete-At": "100"})
    assert listing.updates[-1]["delete_at"] == 100.0
    assert call(server, "GET", {"X-Timestamp": ts(99)})[0].status == 200
    resp, _ = call(server, "GET", {"X-Timestamp": ts(100)})
    assert resp.status == 404 and resp.headers["x-backend-timestamp"] == ts(1)
    assert call(server, "GET")[0].status == 404  # now is long past 100
    assert call(server, "HEAD", {"X-Backend-Replication": "true"})[0].status == 200
    assert call(server, "POST", {"X-Timestamp": ts(200)})[0].status == 404
    resp, _ = call(server, "DELETE", {"X-Timestamp": ts(200)})
    assert resp.status == 404
    assert call(server, "HEAD", {"X-Backend-Replication": "true"})[0].status == 404


def test_post(server: ObjectServer, listing: Listing) -> None:
    assert call(server, "POST", {"X-Timestamp": ts(1)})[0].status == 404
    put(server, b"data", 10, **{"X-Object-Meta-A": "1", "X-Object-Sysmeta-Keep": "k", "Content-Type": "text/plain"})
    resp, _ = call(server, "POST", {"X-Timestamp": ts(10)})
    assert resp.status == 409 and resp.headers["x-backend-timestamp"] == ts(10)
    assert call(server, "POST", {"X-Timestamp": ts(11), "X-Delete-At": "5"})[0].status == 400
    resp, _ = call(server, "POST", {"X-Timestamp": ts(11), "X-Object-Meta-B": "2", "Content-Type": "image/png",
                                    "X-Delete-At": "99999999999"})
    assert resp.status == 202 and resp.headers["x-object-sysmeta-keep"] == "k"
    resp, body = call(server, "GET")
    assert body == b"data" and resp.headers["x-object-meta-b"] == "2" and "x-object-meta-a" not in resp.headers
    assert resp.headers["content-type"] == "image/png" and resp.headers["x-object-sysmeta-keep"] == "k"
    assert resp.headers["x-timestamp"] == "0000000011.00000" and resp.headers["x-backend-data-timestamp"] == ts(10)
    update = listing.updates[-1]
    assert update["timestamp"] == ts(11) and update["size"] == 4 and update["content_type"] == "image/png"
    assert update["delete_at"] == 99999999999.0 and update["etag"] == hashlib.md5(b"data").hexdigest()
    assert call(server, "POST", {"X-Timestamp": ts(10.5)})[0].status == 409


def test_container_update_overrides(server: ObjectServer, listing: Listing) -> None:
    put(server, b"manifest", 1, **{
        "Content-Type": "application/json",
        "X-Object-Sysmeta-Container-Update-Override-Etag": "abc; slo_etag=def",
        "X-Object-Sysmeta-Container-Update-Override-Size": "12345",
        "X-Backend-Container-Update-Override-Content-Type": "text/plain;swift_bytes=12345;charset=utf-8"})
    update = listing.updates[-1]
    assert update["etag"] == "abc" and update["size"] == 12345
    assert update["content_type"] == "text/plain;charset=utf-8"
    assert update["extra"] == {"slo_etag": "def", "swift_bytes": 12345}
    # A POST keeps the persisted (sysmeta) overrides; the transient backend one is gone.
    call(server, "POST", {"X-Timestamp": ts(2), "X-Object-Meta-X": "y"})
    update = listing.updates[-1]
    assert update["etag"] == "abc" and update["size"] == 12345 and update["extra"]["slo_etag"] == "def"
    assert update["content_type"] == "application/json"


def test_replication_writes_send_no_update(server: ObjectServer, listing: Listing) -> None:
    put(server, b"pushed", 1, **{"X-Backend-Replication": "true", "X-Delete-At": "5"})
    call(server, "DELETE", {"X-Timestamp": ts(2), "X-Backend-Replication": "true"})
    assert listing.updates == [] and pendings(server) == []


def test_failed_update_leaves_a_pending(server: ObjectServer, listing: Listing) -> None:
    listing.failing = True
    assert put(server, b"a", 1).status == 201  # the write still succeeds
    [pending] = pendings(server)
    hsh = hash_path(SUFFIX, "AUTH_p", "c", "o")
    assert pending.name == f"{hsh}-{ts(1)}" and pending.parent.name == hsh[-3:]
    assert call(server, "DELETE", {"X-Timestamp": ts(2)})[0].status == 204
    assert len(pendings(server)) == 2


def test_replicate(server: ObjectServer) -> None:
    assert run(server.replicate("d1", 3, [])) == {}
    put(server, b"a", 1)
    hsh = hash_path(SUFFIX, "AUTH_p", "c", "o")
    hashes = run(server.replicate("d1", 3, []))
    assert list(hashes) == [hsh[-3:]]
    assert run(server.replicate("d1", 3, [hsh[-3:]])) == hashes


def test_unicode_names_and_metadata(server: ObjectServer) -> None:
    path = "/AUTH_p/c/\u00e9t\u00e9/\U0001f600 x"
    h: dict[str, Any] = {"X-Timestamp": ts(1), "Content-Type": "text/plain", "X-Object-Meta-Name": "caf\u00e9"}
    assert call(server, "PUT", h, b"x", path=path)[0].status == 201
    resp, body = call(server, "GET", path=path)
    assert body == b"x" and resp.headers["x-object-meta-name"] == "caf\u00e9"


def test_body_that_breaks_or_stalls(server: ObjectServer, listing: Listing) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"part"
        raise ConnectionError("client went away")

    async def stalled() -> AsyncIterator[bytes]:
        yield b"part"
        raise TimeoutError

    assert call(server, "PUT", {"X-Timestamp": ts(1), "Content-Type": "a/b"}, broken())[0].status == 499
    assert call(server, "PUT", {"X-Timestamp": ts(1), "Content-Type": "a/b"}, stalled())[0].status == 408
    assert not hash_dir(server).exists() and listing.updates == []
    tmp = server.devices_root / "d1" / "tmp"
    assert not tmp.exists() or os.listdir(tmp) == []


def test_abandoned_reads_release_their_files(server: ObjectServer) -> None:
    """A consumer that stops after one chunk (with the next block's read already started) leaves
    no open file behind."""
    put(server, os.urandom(BLOCK_SIZE * 3), 1)

    async def scenario() -> None:
        for _ in range(20):
            resp = await server.handle("d1", 3, "GET", PATH, {})
            assert isinstance(resp.body, AsyncIterator)
            first = await anext(resp.body)
            assert len(first) == BLOCK_SIZE
            await resp.close()
        for _ in range(5):  # and ones cancelled mid-read
            resp = await server.handle("d1", 3, "GET", PATH, {})
            task = asyncio.create_task(resp.read())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    before = len(os.listdir("/proc/self/fd"))
    run(scenario())
    assert len(os.listdir("/proc/self/fd")) <= before


def test_replicating_an_object_with_its_meta(server: ObjectServer, listing: Listing, tmp_path: Path) -> None:
    """What a replicator does: PUT the .data's metadata at the data timestamp, then POST the
    .meta's at its own, both X-Backend-Replication: the copy answers as the original."""
    put(server, b"payload", 10, **{"X-Object-Meta-A": "1", "X-Delete-At": "20", "X-Object-Sysmeta-S": "s"})
    call(server, "POST", {"X-Timestamp": ts(11), "X-Object-Meta-B": "2", "X-Delete-At": "30"})
    src = run(server.backend("d1").read_metadata(3, hash_path(SUFFIX, "AUTH_p", "c", "o"), open_expired=True))
    (tmp_path / "d2").mkdir()
    base = {"X-Backend-Replication": "true"}
    data_headers = {**src.data_metadata, **base, "X-Timestamp": src.data_timestamp.internal}
    resp, _ = call(server, "PUT", data_headers, b"payload", device="d2")
    assert resp.status == 201
    assert src.meta_metadata is not None and src.meta_timestamp is not None
    meta_headers = {**src.meta_metadata, **base, "X-Timestamp": src.meta_timestamp.internal}
    assert call(server, "POST", meta_headers, device="d2")[0].status == 202
    opened = {"X-Backend-Open-Expired": "true"}
    original, copy = call(server, "HEAD", opened)[0].headers, call(server, "HEAD", opened, device="d2")[0].headers
    assert original == copy and copy["x-delete-at"] == "30" and copy["x-object-meta-b"] == "2"
    assert [u["timestamp"] for u in listing.updates] == [ts(10), ts(11)]  # the copies sent none


def test_odd_header_values_are_kept_not_a_500(server: ObjectServer) -> None:
    odd = "bytes \udcff\udcfe and caf\u00e9"  # lone surrogates: undecodable bytes a proxy kept
    h = {"X-Timestamp": ts(1), "Content-Type": "text/plain", "X-Object-Meta-Odd": odd}
    assert call(server, "PUT", h, b"x")[0].status == 201
    assert call(server, "GET")[0].headers["x-object-meta-odd"] == odd
    for bad in ("1e400", "nan", "-1", ""):
        assert call(server, "PUT", {**h, "X-Timestamp": bad}, b"x")[0].status == 400
    assert call(server, "DELETE", {"X-Timestamp": ts(2), "X-If-Delete-At": "inf"})[0].status == 400
    assert call(server, "GET", {"Range": "bytes=99999999999999999999-"})[0].status == 416


def test_a_posted_content_type_outlives_later_posts(server: ObjectServer, listing: Listing) -> None:
    put(server, b"m", 1, **{"Content-Type": "application/json;swift_bytes=500"})
    assert listing.updates[-1]["extra"] == {"swift_bytes": 500}
    call(server, "POST", {"X-Timestamp": ts(2), "Content-Type": "image/png"})
    call(server, "POST", {"X-Timestamp": ts(3), "X-Object-Meta-A": "1"})
    resp, _ = call(server, "HEAD")
    assert resp.headers["content-type"] == "image/png" and resp.headers["x-object-meta-a"] == "1"
    update = listing.updates[-1]
    assert update["content_type"] == "image/png" and update["extra"] == {"swift_bytes": 500}
    assert update["size"] == 1 and update["delete_at"] is None
