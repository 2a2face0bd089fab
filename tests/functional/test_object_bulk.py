"""Swift's bulk operations through python-swiftclient, the swift CLI and raw HTTP: ``?bulk-delete``
(objects before containers, counts, errors, the three report formats) and ``?extract-archive``
(tar, tar.gz, tar.bz2; containers made as needed; pax xattrs as metadata; a streamed archive much
larger than the proxy may buffer)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, Literal
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from swiftclient.client import Connection

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
from tests.functional.object_support import swift, unique

bcloud = module_cloud("bulk")


@pytest.fixture(scope="module")
def sw(bcloud: RunningCloud) -> Connection:
    return swift(bcloud, "devstack")[0]


# The tar write modes these tests use: tarfile.open's overloads take only literal modes.
WriteMode = Literal["w", "w:gz", "w:bz2"]


def make_tar(files: dict[str, bytes], mode: WriteMode = "w", pax: dict[str, dict[str, str]] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = dict((pax or {}).get(name, {}))
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def extract(sw: Connection, path: str, archive: bytes, kind: str = "tar",
            accept: str = "application/json", headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _h, body = request(sw, "PUT", path, f"extract-archive={kind}", {"Accept": accept, **(headers or {})},
                               archive)
    return status, json.loads(body) if accept == "application/json" else body


# -- extract-archive ---------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "kind"), [("w", "tar"), ("w:gz", "tar.gz"), ("w:bz2", "tar.bz2")])
def test_extract_archive_makes_containers_and_objects(sw: Connection, mode: WriteMode, kind: str) -> None:
    c1, c2 = unique("ea"), unique("ea")
    files = {f"{c1}/a.txt": b"alpha", f"{c1}/dir/b.bin": os.urandom(70000), f"{c2}/" + "n" * 150: b"",
             "top-level-file": b"ignored"}
    status, report = extract(sw, "", make_tar(files, mode), kind)
    assert status == 200
    assert report == {"Response Status": "201 Created", "Response Body": "", "Number Files Created": 3,
                      "Errors": []}
    for name, data in files.items():
        if "/" in name:
            cont, obj = name.split("/", 1)
            assert sw.get_object(cont, obj)[1] == data
    assert sw.head_container(c1)["x-container-object-count"] == "2"


def test_extract_into_a_container_with_metadata(sw: Connection) -> None:
    cont = unique("ea")
    sw.put_container(cont)
    pax = {"x/y.txt": {"SCHILY.xattr.user.mime_type": "text/x-bulk", "SCHILY.xattr.user.meta.colour": "blue"}}
    status, report = extract(sw, f"{cont}/base", make_tar({"x/y.txt": b"hi", "z": b"zz"}, pax=pax),
                             headers={"X-Object-Meta-Batch": "7"})
    assert status == 200 and report["Number Files Created"] == 2, report
    h = sw.head_object(cont, "base/x/y.txt")
    assert h["content-type"] == "text/x-bulk"
    assert h["x-object-meta-colour"] == "blue" and h["x-object-meta-batch"] == "7"
    assert sw.get_object(cont, "base/z")[1] == b"zz"


def test_extract_reports_bad_archives(sw: Connection) -> None:
    status, report = extract(sw, "", b"this is not a tar file at all" * 40)
    assert status == 200 and report["Response Status"] == "400 Bad Request"
    assert report["Response Body"].startswith("Invalid Tar File")
    status, report = extract(sw, "", make_tar({"noslash": b"x"}))
    assert report["Response Status"] == "400 Bad Request"
    assert report["Response Body"] == "Invalid Tar File: No Valid Files"
    status, _h, body = request(sw, "PUT", "", "extract-archive=zip", body=b"x")
    assert status == 400 and body == b"Unsupported archive format"
    status, report = extract(sw, "", make_tar({f"{unique('ea')}/o": b"x"}), accept="text/html")
    assert status == 200  # Swift reports the 406 in the body it could not format
    gz = make_tar({f"{unique('ea')}/o": b"x" * 5000}, "w:gz")
    status, report = extract(sw, "", gz[: len(gz) // 2], "tar.gz")
    assert report["Response Status"] == "400 Bad Request"


def test_extract_plain_text_and_xml_reports(sw: Connection) -> None:
    cont = unique("ea")
    archive = make_tar({f"{cont}/one": b"1"})
    status, body = extract(sw, "", archive, accept="text/plain")
    assert status == 200 and body.decode().splitlines() == [
        "Number Files Created: 1", "Response Body: ", "Response Status: 201 Created", "Errors:"]
    status, body = extract(sw, "", archive, accept="application/xml")
    root = ElementTree.fromstring(body)
    assert root.tag == "extract" and root.findtext("number_files_created") == "1"


def _streamed_tar(cont: str, sizes: list[int]) -> Iterator[bytes]:
    """A tar written as it is sent: headers from TarInfo, bodies from generators."""
    for seed, size in enumerate(sizes):
        info = tarfile.TarInfo(f"{cont}/file{seed}")
        info.size = size
        yield info.tobuf(tarfile.PAX_FORMAT)
        yield from pattern(seed, size)
        yield b"\0" * (-size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


def test_extract_streams_a_large_archive(bcloud: RunningCloud, sw: Connection) -> None:
    assert bcloud.proc is not None
    cont = unique("ea")
    sizes = [300 * MIB, 1, 200 * MIB + 5]
    before = tree_rss(bcloud.proc.pid)
    started = time.monotonic()
    status, _h, out = request(sw, "PUT", "", "extract-archive=tar", {"Accept": "application/json"},
                              _streamed_tar(cont, sizes), chunked=True)
    report = json.loads(out)
    assert status == 200
    assert report["Number Files Created"] == 3, report
    after = tree_rss(bcloud.proc.pid)
    print(f"\n{sum(sizes) // MIB} MiB tar extracted in {time.monotonic() - started:.1f}s; "
          f"RSS {before // MIB} -> {after // MIB} MiB")
    for seed, size in enumerate(sizes):
        h = sw.head_object(cont, f"file{seed}")
        assert h["content-length"] == str(size) and h["etag"] == pattern_md5(seed, size)
    assert after - before < 100 * MIB


# -- bulk delete -------------------------------------------------------------------------------

def bulk_delete(sw: Connection, names: list[str], accept: str = "application/json") -> tuple[int, bytes]:
    body = "\n".join(quote(n) for n in names).encode()
    status, _h, out = request(sw, "POST", "", "bulk-delete", {"Accept": accept, "Content-Type": "text/plain"}, body)
    return status, out


def test_bulk_delete_objects_then_containers(sw: Connection) -> None:
    cont, keep = unique("bd"), unique("bd")
    sw.put_container(cont)
    sw.put_container(keep)
    names = [f"obj {i} ✓" for i in range(5)]
    for name in names:
        sw.put_object(cont, name, b"x")
    sw.put_object(keep, "stays", b"y")
    # The container first in the list: bulk delete still empties it before deleting it.
    status, out = bulk_delete(sw, [f"/{cont}", *(f"/{cont}/{n}" for n in names), f"/{cont}/missing", f"/{keep}"])
    report = json.loads(out)
    assert status == 200
    assert report["Number Deleted"] == 6 and report["Number Not Found"] == 1
    assert report["Response Status"] == "400 Bad Request"  # the non-empty container
    assert report["Errors"] == [[f"/{keep}", "409 Conflict"]]
    assert sw.head_container(keep)["x-container-object-count"] == "1"
    assert sw.get_account()[1] and cont not in [c["name"] for c in sw.get_account()[1]]


def test_bulk_delete_formats_and_limits(sw: Connection) -> None:
    cont = unique("bd")
    sw.put_container(cont)
    sw.put_object(cont, "o", b"x")
    status, out = bulk_delete(sw, [f"/{cont}/o"], accept="text/plain")
    assert status == 200 and out.decode().splitlines() == [
        "Number Deleted: 1", "Number Not Found: 0", "Response Body: ", "Response Status: 200 OK", "Errors:"]
    status, out = bulk_delete(sw, [f"/{cont}/o"], accept="application/xml")
    root = ElementTree.fromstring(out)
    assert root.tag == "delete" and root.findtext("number_not_found") == "1"
    status, out = bulk_delete(sw, [])
    assert json.loads(out)["Response Body"] == "Invalid bulk delete."
    status, _h, out = request(sw, "POST", "", "bulk-delete", {"Accept": "application/json", "Content-Type": "application/json"},
                          b"[]")
    assert json.loads(out)["Response Status"] == "406 Not Acceptable"


def test_bulk_delete_needs_the_callers_rights(bcloud: RunningCloud, sw: Connection) -> None:
    cont = unique("bd")
    sw.put_container(cont)
    sw.put_object(cont, "mine", b"x")
    alt = swift(bcloud, "devstack-alt")[0]
    # alt's token on demo's account: every delete is authorized as alt's own request would be.
    as_alt = SimpleNamespace(url=sw.url, token=alt.token)
    status, _h, out = request(as_alt, "POST", "", "bulk-delete", {"Accept": "application/json"},
                              f"/{cont}/mine\n/{cont}\n".encode())
    report = json.loads(out)
    assert status == 200 and report["Number Deleted"] == 0, report
    assert report["Response Status"] == "400 Bad Request"
    assert sorted(status for _name, status in report["Errors"]) == ["403 Forbidden", "403 Forbidden"]
    assert sw.head_object(cont, "mine")["content-length"] == "1"


def test_swift_cli_delete_uses_bulk_delete(sw: Connection) -> None:
    cont = unique("bd")
    sw.put_container(cont)
    for i in range(30):
        sw.put_object(cont, f"o{i}", b"x")
    env = dict(os.environ, OS_AUTH_TOKEN=sw.token, OS_STORAGE_URL=sw.url)
    proc = subprocess.run([SWIFT_CLI, "--debug", "delete", cont], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "bulk-delete" in proc.stderr  # swiftclient chose bulk delete from /info
    assert cont not in [c["name"] for c in sw.get_account()[1]]
