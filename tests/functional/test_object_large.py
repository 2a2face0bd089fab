"""Large objects (SLO and DLO) as the real clients make and read them: the swift CLI's segmented
uploads (SLO by default, ``--use-dlo``) and downloads, openstacksdk's large-object upload, and
Swift's manifest API through python-swiftclient and raw HTTP — validation errors, ranges across
segments, conditionals on the large object's ETag, nested manifests, inline data, the manifest
itself, deletes with the segments — and gigabytes streamed while the cloud's memory stays flat."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from swiftclient.client import ClientException, Connection

from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import module_cloud
from tests.functional.object_large_support import (
    MIB,
    SWIFT_CLI,
    pattern,
    pattern_md5,
    request,
    tree_rss,
)
from tests.functional.object_support import raw, swift, unique

lcloud = module_cloud("large")


@pytest.fixture(scope="module")
def conn(lcloud: RunningCloud) -> tuple[Connection, Any]:
    return swift(lcloud, "devstack")


@pytest.fixture(scope="module")
def sw(conn: tuple[Connection, Any]) -> Connection:
    return conn[0]


@pytest.fixture
def cont(sw: Connection) -> Iterator[str]:
    name = unique("large")
    sw.put_container(name)
    sw.put_container(name + "_segments")
    yield name


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def swift_cli(sw: Connection, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OS_AUTH_TOKEN=sw.token, OS_STORAGE_URL=sw.url)
    for key in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD"):
        env.pop(key, None)
    proc = subprocess.run([SWIFT_CLI, *args], env=env, capture_output=True, text=True, timeout=300, cwd=cwd, check=False)
    assert proc.returncode == 0, f"swift {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc


def put_segments(sw: Connection, cont: str, parts: list[bytes]) -> list[dict[str, Any]]:
    manifest = []
    for index, part in enumerate(parts):
        name = f"seg/{index:04d}"
        sw.put_object(cont + "_segments", name, part)
        manifest.append({"path": f"/{cont}_segments/{name}", "etag": md5(part), "size_bytes": len(part)})
    return manifest


def put_manifest(sw: Connection, cont: str, name: str, manifest: list[dict[str, Any]],
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return request(sw, "PUT", f"{cont}/{name}", "multipart-manifest=put", headers, json.dumps(manifest).encode())


# -- the swift CLI ----------------------------------------------------------------------------

def test_swift_cli_slo_upload_download_delete(sw: Connection, cont: str, tmp_path: Path) -> None:
    data = os.urandom(5 * MIB + 12345)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    swift_cli(sw, "upload", "--segment-size", str(MIB), "--use-slo", cont, "big.bin", cwd=tmp_path)
    head = sw.head_object(cont, "big.bin")
    assert head["x-static-large-object"] == "True"
    assert head["content-length"] == str(len(data))
    _h, segments = sw.get_container(cont + "_segments")
    assert len(segments) == 6 and sum(s["bytes"] for s in segments) == len(data)
    etags = "".join(md5(data[i:i + MIB]) for i in range(0, len(data), MIB))
    assert head["etag"] == f'"{md5(etags.encode())}"'
    out = tmp_path / "out"
    out.mkdir()
    swift_cli(sw, "download", cont, "big.bin", "-o", str(out / "got.bin"))
    assert (out / "got.bin").read_bytes() == data
    # The listing shows the large object's size and its ETag beside the manifest's own hash.
    _h, listing = sw.get_container(cont)
    row = next(r for r in listing if r["name"] == "big.bin")
    assert row["bytes"] == len(data)
    assert row["slo_etag"] == head["etag"]
    swift_cli(sw, "delete", cont, "big.bin")
    _h, left = sw.get_container(cont + "_segments")
    assert left == []
    with pytest.raises(ClientException) as err:
        sw.head_object(cont, "big.bin")
    assert err.value.http_status == 404


def test_swift_cli_dlo_upload_download(sw: Connection, cont: str, tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 7)
    (tmp_path / "dyn.bin").write_bytes(data)
    swift_cli(sw, "upload", "--segment-size", str(MIB), "--use-dlo", cont, "dyn.bin", cwd=tmp_path)
    head = sw.head_object(cont, "dyn.bin")
    assert "x-object-manifest" in head
    assert head["content-length"] == str(len(data))
    etags = "".join(md5(data[i:i + MIB]) for i in range(0, len(data), MIB))
    assert head["etag"] == f'"{md5(etags.encode())}"'
    _h, got = sw.get_object(cont, "dyn.bin")
    assert got == data
    swift_cli(sw, "download", cont, "dyn.bin", "-o", str(tmp_path / "got.bin"))
    assert (tmp_path / "got.bin").read_bytes() == data
    # A range across segment boundaries.
    h, part = sw.get_object(cont, "dyn.bin", headers={"Range": f"bytes={MIB - 3}-{2 * MIB + 2}"})
    assert part == data[MIB - 3:2 * MIB + 3]
    assert h["content-range"] == f"bytes {MIB - 3}-{2 * MIB + 2}/{len(data)}"
    swift_cli(sw, "delete", cont, "dyn.bin")
    _h, left = sw.get_container(cont + "_segments")
    assert left == []


def test_dlo_follows_its_prefix_and_checks_the_header(sw: Connection, cont: str) -> None:
    sw.put_object(cont + "_segments", "p/2", b"world")
    sw.put_object(cont + "_segments", "p/1", b"hello ")
    sw.put_object(cont, "manifest", b"", headers={"X-Object-Manifest": f"{cont}_segments/p/"})
    assert sw.get_object(cont, "manifest")[1] == b"hello world"
    sw.put_object(cont + "_segments", "p/3", b"!")  # read at GET time: a new segment joins
    assert sw.get_object(cont, "manifest")[1] == b"hello world!"
    h, body = sw.get_object(cont, "manifest", query_string="multipart-manifest=get")
    assert body == b"" and h["x-object-manifest"] == f"{cont}_segments/p/"
    for bad in ("nocontainer", "/leading", "c/?x", f"{cont}/"):
        status, _h, text = raw(sw, "PUT", f"{cont}/bad", {"X-Object-Manifest": bad}, b"")
        assert (status, text) == (400, b"X-Object-Manifest must be in the format container/prefix"), bad
    sw.put_object(cont, "empty", b"", headers={"X-Object-Manifest": f"{cont}_segments/none-here"})
    h, body = sw.get_object(cont, "empty")
    assert body == b"" and h["etag"] == f'"{md5(b"")}"'


# -- openstacksdk ------------------------------------------------------------------------------

def test_openstacksdk_large_object(conn: tuple[Connection, Any], tmp_path: Path) -> None:
    _sw, sdk = conn
    name = unique("sdk")
    data = os.urandom(3 * MIB + 999)
    src = tmp_path / "sdk.bin"
    src.write_bytes(data)
    sdk.object_store.create_container(name)
    sdk.object_store.create_object(name, "large.bin", filename=str(src), segment_size=MIB)
    obj = sdk.object_store.get_object_metadata("large.bin", container=name)
    assert obj.is_static_large_object is True or str(obj.is_static_large_object).lower() == "true"
    assert int(obj.content_length) == len(data)
    assert sdk.object_store.download_object("large.bin", container=name) == data
    streamed = b"".join(sdk.object_store.stream_object("large.bin", container=name, chunk_size=65536))
    assert streamed == data


# -- the manifest API -----------------------------------------------------------------------------

def test_slo_put_validates_every_segment(sw: Connection, cont: str) -> None:
    parts = [b"a" * 100, b"b" * 200]
    manifest = put_segments(sw, cont, parts)
    bad = [dict(manifest[0], etag="0" * 32), dict(manifest[1], size_bytes=3),
           {"path": f"/{cont}_segments/missing"}]
    status, _headers, body = put_manifest(sw, cont, "bad", bad)
    assert status == 400
    assert body.decode().splitlines() == [
        "Errors:", f"/{cont}_segments/seg/0000, Etag Mismatch", f"/{cont}_segments/seg/0001, Size Mismatch",
        f"/{cont}_segments/missing, 404 Not Found"]
    status, _h, body = put_manifest(sw, cont, "bad", bad, {"Accept": "application/json"})
    assert status == 400 and json.loads(body)["Errors"][0] == [f"/{cont}_segments/seg/0000", "Etag Mismatch"]
    status, _h, body = request(sw, "PUT", f"{cont}/bad", "multipart-manifest=put", body=b"{not json")
    assert (status, body) == (400, b"Manifest must be valid JSON.\n")
    status, _h, body = put_manifest(sw, cont, "bad", [{"path": "nocontainer"}])
    assert status == 400 and b"path does not refer to an object" in body
    status, _h, body = put_manifest(sw, cont, "bad", manifest, {"Etag": "0" * 32})
    assert status == 422
    status, _h, body = raw(sw, "PUT", f"{cont}/x", {"X-Static-Large-Object": "true"}, b"data")
    assert status == 400 and b"reserved header" in body
    with pytest.raises(ClientException) as err:
        sw.head_object(cont, "bad")
    assert err.value.http_status == 404  # nothing was written


def test_slo_get_ranges_conditionals_and_manifest(sw: Connection, cont: str) -> None:
    parts = [os.urandom(1000), os.urandom(3000), os.urandom(10)]
    data = b"".join(parts)
    manifest = put_segments(sw, cont, parts)
    status, headers, _b = put_manifest(sw, cont, "slo", manifest, {"Content-Type": "text/x-large",
                                                                   "X-Object-Meta-Kind": "big"})
    slo_etag = md5("".join(md5(p) for p in parts).encode())
    assert status == 201 and headers["etag"] == f'"{slo_etag}"'
    h, body = sw.get_object(cont, "slo")
    assert body == data
    assert h["etag"] == f'"{slo_etag}"' and h["content-type"] == "text/x-large"
    assert h["x-object-meta-kind"] == "big" and h["x-static-large-object"] == "True"
    assert not [k for k in h if k.startswith("x-object-sysmeta")]
    for rng, want in [("bytes=990-1009", data[990:1010]), ("bytes=-5", data[-5:]), ("bytes=3990-", data[3990:])]:
        h, body = sw.get_object(cont, "slo", headers={"Range": rng})
        assert body == want, rng
    status, h, body = raw(sw, "GET", f"{cont}/slo", {"Range": "bytes=0-1,4000-4001"})
    assert status == 206 and h["content-type"].startswith("multipart/byteranges")
    assert data[0:2] in body and data[4000:4002] in body and b"bytes 4000-4001/4010" in body
    status, h, _b = raw(sw, "GET", f"{cont}/slo", {"Range": "bytes=5000-"})
    assert status == 416 and h["content-range"] == "bytes */4010"
    assert raw(sw, "GET", f"{cont}/slo", {"If-None-Match": f'"{slo_etag}"'})[0] == 304
    assert raw(sw, "GET", f"{cont}/slo", {"If-Match": f'"{slo_etag}"'})[0] == 200
    assert raw(sw, "GET", f"{cont}/slo", {"If-Match": '"nope"'})[0] == 412
    assert raw(sw, "HEAD", f"{cont}/slo", {"If-Match": '"nope"'})[0] == 412
    h, body = sw.get_object(cont, "slo", query_string="multipart-manifest=get")
    stored = json.loads(body)
    assert h["content-type"] == "application/json; charset=utf-8"
    assert [(s["name"], s["bytes"], s["hash"]) for s in stored] == [(m["path"], m["size_bytes"], m["etag"])
                                                                    for m in manifest]
    _h, body = sw.get_object(cont, "slo", query_string="multipart-manifest=get&format=raw")
    assert json.loads(body) == manifest


def test_nested_manifests_ranges_and_inline_data(sw: Connection, cont: str) -> None:
    parts = [os.urandom(500), os.urandom(700)]
    manifest = put_segments(sw, cont, parts)
    assert put_manifest(sw, cont, "inner", manifest)[0] == 201
    outer = [{"path": f"/{cont}/inner"}, {"path": manifest[1]["path"], "range": "100-199"},
             {"data": base64.b64encode(b"--tail--").decode()}]
    assert put_manifest(sw, cont, "outer", outer)[0] == 201
    want = parts[0] + parts[1] + parts[1][100:200] + b"--tail--"
    h, body = sw.get_object(cont, "outer")
    assert body == want and h["content-length"] == str(len(want))
    _h, body = sw.get_object(cont, "outer", headers={"Range": "bytes=450-1350"})
    assert body == want[450:1351]
    stored = json.loads(sw.get_object(cont, "outer", query_string="multipart-manifest=get")[1])
    assert stored[0]["sub_slo"] is True and stored[1]["range"] == "100-199" and "data" in stored[2]
    # Deleting with the segments follows the nested manifest too.
    status, _h, body = request(sw, "DELETE", f"{cont}/outer", "multipart-manifest=delete", {"Accept": "application/json"})
    report = json.loads(body)
    assert status == 200 and report["Response Status"] == "200 OK", report
    assert report["Number Deleted"] == 4 and report["Number Not Found"] == 1  # seg 1 named twice
    _h, left = sw.get_container(cont + "_segments")
    assert left == [] and [o["name"] for o in sw.get_container(cont)[1]] == []


def test_segment_changed_after_manifest_is_a_409(sw: Connection, cont: str) -> None:
    manifest = put_segments(sw, cont, [b"x" * 10, b"y" * 10])
    assert put_manifest(sw, cont, "m", manifest)[0] == 201
    sw.delete_object(cont + "_segments", "seg/0000")
    status, _h, _b = raw(sw, "GET", f"{cont}/m")
    assert status == 409
    sw.put_object(cont + "_segments", "seg/0000", b"z" * 10)  # same size, other bytes
    assert raw(sw, "GET", f"{cont}/m")[0] == 409
    status, _h, body = request(sw, "DELETE", f"{cont}/plain-not-slo", "multipart-manifest=delete")
    assert status == 200 and b"Number Not Found: 1" in body


def test_info_advertises_large_objects(lcloud: RunningCloud) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{lcloud.base_url}/info", timeout=10) as resp:
        info = json.loads(resp.read())
    assert info["slo"]["max_manifest_segments"] == 1000
    assert info["slo"]["min_segment_size"] == 1
    assert "dlo" in info


# -- gigabytes through generators -----------------------------------------------------------------

SEGMENT = 1024 * MIB
SEGMENTS = 2  # uploaded from generators: 2 GiB in
ORDER = [0, 1, 0]  # the manifest names them in this order: a 3 GiB large object out


def test_multi_gib_slo_streams_with_flat_memory(lcloud: RunningCloud, sw: Connection, cont: str) -> None:
    assert lcloud.proc is not None
    before = tree_rss(lcloud.proc.pid)
    started = time.monotonic()
    manifest = []
    for seed in range(SEGMENTS):
        etag = sw.put_object(cont + "_segments", f"gig/{seed}", pattern(seed, SEGMENT), chunk_size=MIB)
        assert etag == pattern_md5(seed, SEGMENT)
        manifest.append({"path": f"/{cont}_segments/gig/{seed}", "etag": etag, "size_bytes": SEGMENT})
    peak = max(before, tree_rss(lcloud.proc.pid))
    total = SEGMENT * len(ORDER)
    assert put_manifest(sw, cont, "huge", [manifest[i] for i in ORDER])[0] == 201
    h, body = sw.get_object(cont, "huge", resp_chunk_size=MIB)
    assert h["content-length"] == str(total)
    expected = (chunk for seed in ORDER for chunk in pattern(seed, SEGMENT))
    got = 0
    for chunk in body:
        # Byte-exact, compared as it arrives (the test holds no more than a chunk either).
        want = b"".join(next(expected) for _ in range(len(chunk) // MIB)) if len(chunk) % MIB == 0 else None
        if want is None:
            raise AssertionError(f"chunk of {len(chunk)} bytes is not whole MiBs")
        assert chunk == want, f"bytes differ in the MiB at {got // MIB}"
        got += len(chunk)
        if got % (512 * MIB) < len(chunk):
            peak = max(peak, tree_rss(lcloud.proc.pid))
    assert got == total and next(expected, None) is None
    after = tree_rss(lcloud.proc.pid)
    elapsed = time.monotonic() - started
    print(f"\n{SEGMENT * SEGMENTS // MIB} MiB up, {total // MIB} MiB down in {elapsed:.1f}s; "
          f"RSS {before // MIB} -> peak {peak // MIB} -> {after // MIB} MiB")
    assert max(peak, after) - before < 100 * MIB


def test_segments_are_read_with_the_callers_rights(lcloud: RunningCloud, sw: Connection, cont: str) -> None:
    """A reader the manifest's container lets in still needs read access to the segments'."""
    manifest = put_segments(sw, cont, [b"secret" * 10])
    assert put_manifest(sw, cont, "shared", manifest)[0] == 201
    alt, alt_sdk = swift(lcloud, "devstack-alt")
    grant = f"{alt_sdk.current_project_id}:*"
    sw.post_container(cont, {"X-Container-Read": grant})
    demo_url = sw.url
    as_alt = SimpleNamespace(url=demo_url, token=alt.token)
    status, _h, _b = request(as_alt, "GET", f"{cont}/shared")
    assert status == 403
    sw.post_container(cont + "_segments", {"X-Container-Read": grant})
    status, _h, body = request(as_alt, "GET", f"{cont}/shared")
    assert (status, body) == (200, b"secret" * 10)
