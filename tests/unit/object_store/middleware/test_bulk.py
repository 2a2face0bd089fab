"""Bulk's streamed tar reader (plain, gzip, bzip2; GNU long names, pax paths and xattrs) and its
report formats."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from onestack.object_store.middleware.bulk import _members, _TarStream, pax_header, report_body

# The tar write modes these tests use: tarfile.open's overloads take only literal modes.
WriteMode = Literal["w", "w:gz", "w:bz2"]


def _tar(files: dict[str, bytes], mode: WriteMode = "w", fmt: int = tarfile.PAX_FORMAT,
         pax: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=fmt) as tar:
        dir_info = tarfile.TarInfo("somedir")
        dir_info.type = tarfile.DIRTYPE
        tar.addfile(dir_info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if pax:
                info.pax_headers = dict(pax)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


async def _chunked(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def _read_all(data: bytes, kind: str) -> list[tuple[str, bytes, dict[str, str], bool]]:
    stream = _TarStream(_chunked(data, 333), kind)
    out = []
    async for name, size, pax, regular in _members(stream):
        body = b"".join([c async for c in stream.chunks(size)])
        out.append((name, body, pax, regular))
    return out


FILES = {"c1/a.txt": b"hello", "c1/sub/b": b"x" * 1500, "c2/" + "n" * 200: b"", "top": b"t"}


@pytest.mark.parametrize(("mode", "kind"), [("w", ""), ("w:gz", "gz"), ("w:bz2", "bz2")])
@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_members_streamed(mode: WriteMode, kind: str, fmt: int) -> None:
    members = asyncio.run(_read_all(_tar(FILES, mode, fmt), kind))
    assert [(n, b, r) for n, b, _p, r in members] == [("somedir", b"", False)] + [(n, b, True) for n, b in FILES.items()]


def test_pax_xattrs_become_headers() -> None:
    pax = {"SCHILY.xattr.user.mime_type": "text/x-test", "SCHILY.xattr.user.meta.colour": "blue"}
    members = asyncio.run(_read_all(_tar({"c/o": b"1"}, pax=pax), ""))
    headers = {pax_header(k): v for k, v in members[-1][2].items() if pax_header(k)}
    assert headers == {"content-type": "text/x-test", "x-object-meta-colour": "blue"}


def test_truncated_archive_is_an_error() -> None:
    data = _tar({"c/o": b"y" * 4000})
    with pytest.raises(tarfile.TarError):
        asyncio.run(_read_all(data[:2048], ""))


def test_report_formats() -> None:
    data = {"Response Status": "200 OK", "Number Deleted": 1}
    errors = [["/c/o%20x", "409 Conflict"]]
    assert report_body("text/plain", dict(data), errors, "delete") == (
        b"Number Deleted: 1\nResponse Status: 200 OK\nErrors:\n/c/o%20x, 409 Conflict\n")
    assert json.loads(report_body("application/json", dict(data), errors, "delete")) == {**data, "Errors": errors}
    assert report_body("application/xml", dict(data), errors, "delete") == (
        b"<delete>\n<number_deleted>1</number_deleted>\n<response_status>200 OK</response_status>\n"
        b"<errors>\n<object><name>/c/o%20x</name><status>409 Conflict</status></object>\n</errors>\n</delete>\n")
