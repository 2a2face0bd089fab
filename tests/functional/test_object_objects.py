"""Objects through Swift v1 as the real clients speak it (python-swiftclient, openstacksdk, the
openstack CLI): byte-exact round trips, the headers and statuses of PUT/GET/HEAD/POST/DELETE,
ranges, conditionals, chunked uploads, server-side copies, unicode names and authorization.

The module's cloud keeps three replicas on four devices (one zone each), so every write goes
through the quorum path, every read has replicas to choose from, and each partition has a handoff."""

from __future__ import annotations

import email
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from email.message import Message
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from swiftclient.client import ClientException, Connection

from onestack.object_store.ring.ring import Ring
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import module_cloud
from tests.functional.object_support import NO_ERROR_LIMIT, raw, ring_of, swift, unique

MAX_FILE = 8 * 1024 * 1024
MIB = 1024 * 1024
ocloud = module_cloud("objects", env={
    **NO_ERROR_LIMIT,
    "ONESTACK_OBJECT_STORE__REPLICAS": "3", "ONESTACK_OBJECT_STORE__DEVICES": "d1,d2,d3,d4",
    "ONESTACK_OBJECT_STORE__MAX_FILE_SIZE": str(MAX_FILE)})


@pytest.fixture(scope="module")
def sw(ocloud: RunningCloud) -> Connection:
    return swift(ocloud, "devstack")[0]


@pytest.fixture(scope="module")
def alt_sw(ocloud: RunningCloud) -> Connection:
    return swift(ocloud, "devstack-alt")[0]


@pytest.fixture
def cont(sw: Connection) -> Iterator[str]:
    name = unique("objs")
    sw.put_container(name)
    yield name


def status_of(call: Any, *args: Any, **kwargs: Any) -> int:
    with pytest.raises(ClientException) as info:
        call(*args, **kwargs)
    return int(info.value.http_status)


def data_files(cloud: RunningCloud) -> list[Path]:
    return sorted(cloud.data_dir.glob("objects/*/*/objects/*/*/*/*.data"))


def host_root(cloud: RunningCloud) -> Path:
    [root] = [p for p in (cloud.data_dir / "objects").iterdir() if p.is_dir()]
    return root


def replica_file(cloud: RunningCloud, ring: Ring, path: tuple[str, str, str], device: str) -> Path:
    digest = ring.hash(*path)
    part = ring.partition_of_hash(digest)
    [found] = (host_root(cloud) / device / "objects" / str(part) / digest[-3:] / digest).glob("*.data")
    return found


def corrupt(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


# -- PUT / GET / HEAD ------------------------------------------------------------------------------

def test_round_trip_is_byte_exact_with_swift_headers(sw: Connection, cont: str) -> None:
    body = os.urandom(3 * 1024 * 1024 + 17)  # several checksum blocks and a short last one
    etag = sw.put_object(cont, "blob.bin", body, headers={"X-Object-Meta-Color": "blue"})
    assert etag == hashlib.md5(body).hexdigest()
    headers, got = sw.get_object(cont, "blob.bin")
    assert got == body
    assert headers["content-length"] == str(len(body))
    assert headers["etag"] == etag
    assert headers["content-type"] == "application/octet-stream"
    assert headers["accept-ranges"] == "bytes"
    assert headers["x-object-meta-color"] == "blue"
    assert headers["x-trans-id"]
    stamp = float(headers["x-timestamp"])
    assert abs(stamp - time.time()) < 120
    assert headers["last-modified"] == formatdate(int(stamp) + (stamp % 1 > 0), usegmt=True)
    head = sw.head_object(cont, "blob.bin")
    assert head["content-length"] == str(len(body)) and head["etag"] == etag


def test_put_answers_201_with_etag_and_last_modified(sw: Connection, cont: str) -> None:
    status, headers, body = raw(sw, "PUT", f"{cont}/plain", body=b"hello")
    assert status == 201, body
    assert headers["etag"] == hashlib.md5(b"hello").hexdigest()
    assert headers["last-modified"].endswith("GMT")
    assert body == b""


def test_three_replicas_are_written(ocloud: RunningCloud, sw: Connection, cont: str) -> None:
    before = len(data_files(ocloud))
    sw.put_object(cont, "replicated", b"x" * 100)
    assert len(data_files(ocloud)) == before + 3


def test_empty_object(sw: Connection, cont: str) -> None:
    etag = sw.put_object(cont, "empty", b"")
    assert etag == hashlib.md5(b"").hexdigest()
    headers, got = sw.get_object(cont, "empty")
    assert got == b"" and headers["content-length"] == "0"


def test_content_type_is_guessed_from_the_name(sw: Connection, cont: str) -> None:
    sw.put_object(cont, "notes.txt", b"a")
    assert sw.head_object(cont, "notes.txt")["content-type"].startswith("text/plain")
    sw.put_object(cont, "page.html", b"a", content_type="application/x-given")
    assert sw.head_object(cont, "page.html")["content-type"] == "application/x-given"
    sw.put_object(cont, "page2.html", b"a", content_type="application/x-given",
                  headers={"X-Detect-Content-Type": "true"})
    assert sw.head_object(cont, "page2.html")["content-type"].startswith("text/html")
    sw.put_object(cont, "noext", b"a")
    assert sw.head_object(cont, "noext")["content-type"] == "application/octet-stream"


def test_chunked_upload(sw: Connection, cont: str) -> None:
    parts = [os.urandom(65536 + i) for i in range(20)]

    def gen() -> Iterator[bytes]:
        yield from parts

    etag = sw.put_object(cont, "chunked", gen())
    whole = b"".join(parts)
    assert etag == hashlib.md5(whole).hexdigest()
    assert sw.get_object(cont, "chunked")[1] == whole


def test_no_length_is_411(sw: Connection, cont: str) -> None:
    status, _, body = raw(sw, "PUT", f"{cont}/nolength", send_length=False)
    assert status == 411, body
    assert status_of(sw.head_object, cont, "nolength") == 404


def test_over_max_file_size_is_413(sw: Connection, cont: str) -> None:
    status, _, _ = raw(sw, "PUT", f"{cont}/big", headers={"Content-Length": str(MAX_FILE + 1)}, body=b"",
                       send_length=False)
    assert status == 413
    # Chunked: no length announced, refused once the body passes the limit; nothing is kept.
    chunk = b"z" * (1024 * 1024)

    def gen() -> Iterator[bytes]:
        for _ in range(MAX_FILE // len(chunk)):
            yield chunk
        yield b"!"  # one byte over, as the last chunk: the whole body is sent before the answer

    assert status_of(sw.put_object, cont, "big", gen()) == 413
    assert status_of(sw.head_object, cont, "big") == 404


def test_a_client_that_disconnects_mid_upload_leaves_nothing(ocloud: RunningCloud, sw: Connection,
                                                             cont: str) -> None:
    url = urlsplit(sw.url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = (f"PUT {url.path}/{cont}/partial HTTP/1.1\r\nHost: {url.hostname}\r\n"
                f"X-Auth-Token: {sw.token}\r\nContent-Length: 1000000\r\n\r\n")
        sock.sendall(head.encode() + b"x" * 5000)

    def tmp_files() -> list[Path]:
        return list(host_root(ocloud).glob("*/tmp/*"))

    wait_until(lambda: not tmp_files(), timeout=30, what="the aborted upload's tmp files to go")
    assert status_of(sw.head_object, cont, "partial") == 404
    assert sw.get_container(cont)[1] == []


def test_bad_etag_is_422_and_keeps_nothing(sw: Connection, cont: str) -> None:
    with pytest.raises(ClientException) as info:
        sw.put_object(cont, "bad", b"some bytes", etag="0" * 32)
    assert info.value.http_status == 422
    assert b"Unprocessable Entity" in (info.value.http_response_content or b"")
    assert status_of(sw.head_object, cont, "bad") == 404
    assert sw.get_container(cont)[1] == []
    # The right ETag (also quoted) is accepted.
    good = hashlib.md5(b"some bytes").hexdigest()
    sw.put_object(cont, "good", b"some bytes", headers={"ETag": f'"{good}"'})


def test_put_into_missing_container_is_404(sw: Connection) -> None:
    assert status_of(sw.put_object, unique("nope"), "o", b"x") == 404
    assert status_of(sw.get_object, unique("nope"), "o") == 404


def test_missing_object_is_404(sw: Connection, cont: str) -> None:
    assert status_of(sw.get_object, cont, "absent") == 404
    assert status_of(sw.head_object, cont, "absent") == 404
    assert status_of(sw.delete_object, cont, "absent") == 404
    assert status_of(sw.post_object, cont, "absent", {"X-Object-Meta-A": "1"}) == 404


@pytest.mark.parametrize(("headers", "message"), [
    ({"X-Delete-At": "1000"}, b"X-Delete-At in past"),
    ({"X-Delete-At": "soon"}, b"Non-integer X-Delete-At"),
    ({"X-Delete-After": "-5"}, b"X-Delete-After in past"),
    ({"X-Delete-After": "1.5"}, b"Non-integer X-Delete-After"),
])
def test_bad_delete_headers_are_400(sw: Connection, cont: str, headers: dict[str, str], message: bytes) -> None:
    with pytest.raises(ClientException) as info:
        sw.put_object(cont, "expiring", b"x", headers=headers)
    assert info.value.http_status == 400
    assert message in (info.value.http_response_content or b"")
    assert status_of(sw.head_object, cont, "expiring") == 404


def test_delete_after_becomes_delete_at(sw: Connection, cont: str) -> None:
    now = time.time()
    sw.put_object(cont, "later", b"x", headers={"X-Delete-After": "1000"})
    at = int(sw.head_object(cont, "later")["x-delete-at"])
    assert now + 990 < at < now + 1010


def test_if_none_match_star(sw: Connection, cont: str) -> None:
    sw.put_object(cont, "once", b"1", headers={"If-None-Match": "*"})
    assert status_of(sw.put_object, cont, "once", b"2", headers={"If-None-Match": "*"}) == 412
    assert sw.get_object(cont, "once")[1] == b"1"
    assert status_of(sw.put_object, cont, "once", b"3", headers={"If-None-Match": "abc"}) == 400


def test_metadata_limits_are_400(sw: Connection, cont: str) -> None:
    assert status_of(sw.put_object, cont, "m", b"x", headers={"X-Object-Meta-" + "n" * 129: "v"}) == 400
    assert status_of(sw.put_object, cont, "m", b"x", headers={"X-Object-Meta-N": "v" * 257}) == 400
    many = {f"X-Object-Meta-K{i}": "v" for i in range(91)}
    assert status_of(sw.put_object, cont, "m", b"x", headers=many) == 400
    assert status_of(sw.head_object, cont, "m") == 404
    assert status_of(sw.put_object, cont, "n" * 1025, b"x") == 400


def test_stored_headers_are_kept(sw: Connection, cont: str) -> None:
    sw.put_object(cont, "doc", b"x", headers={
        "Content-Disposition": 'attachment; filename="doc.txt"', "Content-Encoding": "gzip",
        "X-Object-Meta-Owner": "me"})
    head = sw.head_object(cont, "doc")
    assert head["content-disposition"] == 'attachment; filename="doc.txt"'
    assert head["content-encoding"] == "gzip"
    assert head["x-object-meta-owner"] == "me"


def test_unicode_names(sw: Connection) -> None:
    cont = unique("ünï")
    sw.put_container(cont)
    name = "dir/ünïcødé ☃ 日本/file name.txt"
    sw.put_object(cont, name, "snow ☃".encode())
    assert sw.get_object(cont, name)[1] == "snow ☃".encode()
    assert [o["name"] for o in sw.get_container(cont)[1]] == [name]


# -- ranges and conditionals -----------------------------------------------------------------------

@pytest.fixture
def digits(sw: Connection, cont: str) -> tuple[str, str, bytes]:
    body = bytes(range(256)) * 40  # 10240 bytes
    sw.put_object(cont, "digits", body)
    return cont, "digits", body


def test_single_ranges(sw: Connection, digits: tuple[str, str, bytes]) -> None:
    cont, name, body = digits
    headers, got = sw.get_object(cont, name, headers={"Range": "bytes=10-19"})
    assert got == body[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(body)}"
    assert headers["content-length"] == "10"
    assert sw.get_object(cont, name, headers={"Range": "bytes=-5"})[1] == body[-5:]
    assert sw.get_object(cont, name, headers={"Range": "bytes=10000-"})[1] == body[10000:]
    status, _, _ = raw(sw, "GET", f"{cont}/{name}", headers={"Range": "bytes=0-0"})
    assert status == 206


def test_multiple_ranges_are_multipart(sw: Connection, digits: tuple[str, str, bytes]) -> None:
    cont, name, body = digits
    status, headers, data = raw(sw, "GET", f"{cont}/{name}", headers={"Range": "bytes=0-1,100-104,-3"})
    assert status == 206
    assert headers["content-type"].startswith("multipart/byteranges")
    message = email.message_from_bytes(b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + data)
    payload = message.get_payload()
    assert isinstance(payload, list)  # multipart: its parts
    parts = []
    for p in payload:
        assert isinstance(p, Message)
        parts.append((p["Content-Range"], p.get_payload(decode=True)))
    total = len(body)
    assert parts == [(f"bytes 0-1/{total}", body[0:2]), (f"bytes 100-104/{total}", body[100:105]),
                     (f"bytes {total - 3}-{total - 1}/{total}", body[-3:])]


def test_unsatisfiable_range_is_416(sw: Connection, digits: tuple[str, str, bytes]) -> None:
    cont, name, body = digits
    status, headers, _ = raw(sw, "GET", f"{cont}/{name}", headers={"Range": "bytes=20000-"})
    assert status == 416
    assert headers.get("content-range") == f"bytes */{len(body)}"


def test_conditionals(sw: Connection, digits: tuple[str, str, bytes]) -> None:
    cont, name, body = digits
    etag = hashlib.md5(body).hexdigest()
    path = f"{cont}/{name}"
    assert raw(sw, "GET", path, headers={"If-None-Match": f'"{etag}"'})[0] == 304
    assert raw(sw, "GET", path, headers={"If-None-Match": "other"})[0] == 200
    assert raw(sw, "GET", path, headers={"If-Match": "other"})[0] == 412
    assert raw(sw, "GET", path, headers={"If-Match": etag})[0] == 200
    future = formatdate(time.time() + 3600, usegmt=True)
    past = formatdate(time.time() - 3600 * 24, usegmt=True)
    assert raw(sw, "GET", path, headers={"If-Modified-Since": future})[0] == 304
    assert raw(sw, "GET", path, headers={"If-Unmodified-Since": past})[0] == 412
    last_modified = sw.head_object(cont, name)["last-modified"]
    assert raw(sw, "HEAD", path, headers={"If-Modified-Since": last_modified})[0] == 304


# -- POST and DELETE -------------------------------------------------------------------------------

def test_post_replaces_metadata(sw: Connection, cont: str) -> None:
    sw.put_object(cont, "meta", b"data", headers={"X-Object-Meta-Old": "1", "X-Object-Meta-Keep": "k"})
    response: dict[str, Any] = {}
    sw.post_object(cont, "meta", {"X-Object-Meta-New": "2", "Content-Type": "text/x-new"},
                   response_dict=response)
    assert response["status"] == 202
    head = sw.head_object(cont, "meta")
    assert head["x-object-meta-new"] == "2"
    assert "x-object-meta-old" not in head and "x-object-meta-keep" not in head
    assert head["content-type"] == "text/x-new"
    assert sw.get_object(cont, "meta")[1] == b"data"


def test_delete(sw: Connection, cont: str) -> None:
    sw.put_object(cont, "gone", b"x")
    response: dict[str, Any] = {}
    sw.delete_object(cont, "gone", response_dict=response)
    assert response["status"] == 204
    assert status_of(sw.get_object, cont, "gone") == 404
    assert status_of(sw.delete_object, cont, "gone") == 404
    assert [o["name"] for o in sw.get_container(cont)[1]] == []


def test_listing_shows_the_object(sw: Connection, cont: str) -> None:
    sw.put_object(cont, "listed.json", b"{}")
    [row] = sw.get_container(cont)[1]
    assert row["name"] == "listed.json" and row["bytes"] == 2
    assert row["hash"] == hashlib.md5(b"{}").hexdigest()
    assert row["content_type"] == "application/json"
    head = sw.head_container(cont)
    assert head["x-container-object-count"] == "1" and head["x-container-bytes-used"] == "2"


# -- copies ----------------------------------------------------------------------------------------

def test_copy_verb_and_copy_from(sw: Connection, cont: str) -> None:
    other = unique("dest")
    sw.put_container(other)
    sw.put_object(cont, "src", b"source bytes", content_type="text/x-src",
                  headers={"X-Object-Meta-A": "a", "X-Object-Meta-B": "b"})
    response: dict[str, Any] = {}
    sw.copy_object(cont, "src", f"/{other}/copied", headers={"X-Object-Meta-B": "new"}, response_dict=response)
    assert response["status"] == 201
    assert response["headers"]["x-copied-from"] == f"{cont}/src"
    assert response["headers"]["x-copied-from-account"] == sw.url.rsplit("/", 1)[1]
    assert "x-copied-from-last-modified" in response["headers"]
    headers, got = sw.get_object(other, "copied")
    assert got == b"source bytes"
    assert headers["content-type"] == "text/x-src"
    assert headers["x-object-meta-a"] == "a" and headers["x-object-meta-b"] == "new"

    sw.put_object(other, "from", None, headers={"X-Copy-From": f"/{cont}/src", "X-Fresh-Metadata": "true",
                                                "X-Object-Meta-C": "c"})
    head = sw.head_object(other, "from")
    assert head["x-object-meta-c"] == "c"
    assert "x-object-meta-a" not in head
    assert sw.get_object(other, "from")[1] == b"source bytes"


def test_copy_of_a_multi_block_object_is_byte_exact(sw: Connection, cont: str) -> None:
    body = os.urandom(2 * MIB + 3)
    etag = sw.put_object(cont, "big-src", body, headers={"X-Delete-After": "3600", "X-Object-Meta-K": "v"})
    src_delete_at = sw.head_object(cont, "big-src")["x-delete-at"]
    response: dict[str, Any] = {}
    sw.put_object(cont, "big-dst", None, headers={"X-Copy-From": f"{cont}/big-src"}, response_dict=response)
    assert response["status"] == 201 and response["headers"]["etag"] == etag
    headers, got = sw.get_object(cont, "big-dst")
    assert got == body and headers["etag"] == etag
    assert headers["x-object-meta-k"] == "v" and headers["x-delete-at"] == src_delete_at


def test_copy_with_range(sw: Connection, digits: tuple[str, str, bytes]) -> None:
    cont, name, body = digits
    sw.put_object(cont, "part", None, headers={"X-Copy-From": f"{cont}/{name}", "Range": "bytes=5-14"})
    assert sw.get_object(cont, "part")[1] == body[5:15]


def test_copy_errors(sw: Connection, cont: str) -> None:
    assert status_of(sw.copy_object, cont, "missing", f"/{cont}/x") == 404
    sw.put_object(cont, "s", b"x")
    status, _, body = raw(sw, "COPY", f"{cont}/s", headers={"Destination": "no-slash"})
    assert (status, body) == (412, b"Destination header must be of the form <container name>/<object name>")
    status, _, body = raw(sw, "COPY", f"{cont}/s")
    assert (status, body) == (412, b"Destination header required")
    # A NUL in a destination is refused as in a URL (PostgreSQL cannot hold one: it was a 500 there).
    status, _, body = raw(sw, "COPY", f"{cont}/s", headers={"Destination": "%00/o"})
    assert (status, body) == (412, b"Invalid UTF8 or contains NULL")
    status, _, body = raw(sw, "PUT", f"{cont}/t", headers={"X-Copy-From": f"{cont}/s"}, body=b"abc")
    assert (status, body) == (400, b"Copy requests require a zero byte body")
    assert status_of(sw.put_object, cont, "t", None, headers={"X-Copy-From": f"{cont}/s",
                                                               "X-Copy-From-Account": "AUTH_nobody"}) in (403, 404)


# -- authorization ---------------------------------------------------------------------------------

def test_another_projects_container_is_403(sw: Connection, alt_sw: Connection, cont: str) -> None:
    sw.put_object(cont, "private", b"secret")
    account = sw.url.rsplit("/", 1)[1]
    alt_url = alt_sw.url.rsplit("/", 1)[0] + "/" + account
    peer = Connection(preauthurl=alt_url, preauthtoken=alt_sw.token, retries=0)
    assert status_of(peer.get_object, cont, "private") == 403
    assert status_of(peer.head_object, cont, "private") == 403
    assert status_of(peer.put_object, cont, "private", b"mine") == 403
    assert status_of(peer.post_object, cont, "private", {"X-Object-Meta-X": "1"}) == 403
    assert status_of(peer.delete_object, cont, "private") == 403
    # A container that does not exist answers the same: its absence is not revealed.
    assert status_of(peer.get_object, unique("absent"), "o") == 403
    assert sw.get_object(cont, "private")[1] == b"secret"
    anonymous = Connection(preauthurl=sw.url, preauthtoken="not-a-token", retries=0)
    assert status_of(anonymous.get_object, cont, "private") == 401


# -- replicas: handoffs, bad copies ------------------------------------------------------------------

def test_a_write_goes_to_a_handoff_when_a_primary_is_unavailable(ocloud: RunningCloud, sw: Connection,
                                                                 cont: str) -> None:
    ring = ring_of(ocloud)
    account = sw.url.rsplit("/", 1)[1]
    name = next(f"h{i}" for i in range(1000)
                if "d1" in [d.device for d in ring.get_nodes(account, cont, f"h{i}")[1]])
    part, primaries = ring.get_nodes(account, cont, name)
    handoff = next(ring.get_more_nodes(part))
    root = host_root(ocloud)
    away = root / "d1.away"
    (root / "d1").rename(away)  # the object server answers 507 for a missing device
    try:
        sw.put_object(cont, name, b"on a handoff")
        assert replica_file(ocloud, ring, (account, cont, name), handoff.device).exists()
        for node in primaries:
            if node.device != "d1":
                assert replica_file(ocloud, ring, (account, cont, name), node.device).exists()
        assert sw.get_object(cont, name)[1] == b"on a handoff"
    finally:
        away.rename(root / "d1")


def test_a_read_skips_and_resumes_past_corrupt_replicas(ocloud: RunningCloud, sw: Connection, cont: str) -> None:
    body = os.urandom(3 * MIB + 5)
    sw.put_object(cont, "fragile", body)
    ring = ring_of(ocloud)
    account = sw.url.rsplit("/", 1)[1]
    _, primaries = ring.get_nodes(account, cont, "fragile")
    files = [replica_file(ocloud, ring, (account, cont, "fragile"), n.device) for n in primaries]
    corrupt(files[0], 10)  # the first replica fails before its first byte: the next is tried
    corrupt(files[1], 2 * MIB + 10)  # the second breaks after two blocks went out: resumed from the third
    assert sw.get_object(cont, "fragile")[1] == body
    assert not files[0].exists() and not files[1].exists()  # both quarantined
    assert len(list(host_root(ocloud).glob("*/quarantined/objects/*"))) >= 2
    assert sw.get_object(cont, "fragile", headers={"Range": "bytes=-4"})[1] == body[-4:]


# -- openstacksdk and the openstack CLI --------------------------------------------------------------

def test_openstacksdk(ocloud: RunningCloud) -> None:
    conn = ocloud.sdk("devstack")
    name = unique("sdk")
    conn.object_store.create_container(name=name)
    conn.object_store.upload_object(container=name, name="hello.txt", data=b"hello sdk")
    assert conn.object_store.download_object("hello.txt", container=name) == b"hello sdk"
    conn.object_store.set_object_metadata("hello.txt", container=name, color="red")
    obj = conn.object_store.get_object_metadata("hello.txt", container=name)
    assert obj.metadata.get("color") == "red"
    assert [o.name for o in conn.object_store.objects(name)] == ["hello.txt"]
    conn.object_store.delete_object("hello.txt", container=name)
    assert list(conn.object_store.objects(name)) == []


def test_openstack_cli(ocloud: RunningCloud, tmp_path: Path) -> None:
    name = unique("cli")
    ocloud.cli("container", "create", name, cloud="devstack")
    src = tmp_path / "upload.dat"
    payload = os.urandom(200_000)
    src.write_bytes(payload)
    created = ocloud.cli("object", "create", name, str(src), "--name", "up.dat", cloud="devstack")
    assert created[0]["etag"] == hashlib.md5(payload).hexdigest()
    listed = ocloud.cli("object", "list", name, cloud="devstack")
    assert [o["Name"] for o in listed] == ["up.dat"]
    ocloud.cli("object", "set", name, "up.dat", "--property", "flavour=mint", cloud="devstack", json_out=False)
    shown = ocloud.cli("object", "show", name, "up.dat", cloud="devstack")
    assert shown["content-length"] == str(len(payload))
    assert "mint" in json.dumps(shown["properties"])
    out = tmp_path / "saved.dat"
    ocloud.cli("object", "save", name, "up.dat", "--file", str(out), cloud="devstack", json_out=False)
    assert out.read_bytes() == payload
    ocloud.cli("object", "delete", name, "up.dat", cloud="devstack", json_out=False)
    assert ocloud.cli("object", "list", name, cloud="devstack") == []
