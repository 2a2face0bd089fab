"""Helpers for the large-object and bulk tests: the resident memory of a running cloud (the
``onestack up`` process and its children) and deterministic data made by generators, so that
gigabytes go through the proxy without the test holding them."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

MIB = 1024 * 1024
# python-swiftclient's CLI: beside the running interpreter (a venv not on PATH), else on PATH.
SWIFT_CLI = str(Path(sys.executable).with_name("swift")) if Path(sys.executable).with_name("swift").exists() \
    else (shutil.which("swift") or "swift")
_BLOCKS = [os.urandom(MIB) for _ in range(7)]


def tree_rss(pid: int) -> int:
    """Bytes resident in ``pid`` and every process below it (``VmRSS`` of each)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def pattern(seed: int, size: int) -> Iterator[bytes]:
    """``size`` bytes in 1 MiB chunks, the same for the same seed (no two seeds alike at a given offset)."""
    index = 0
    left = size
    while left > 0:
        block = _BLOCKS[(seed + index) % len(_BLOCKS)]
        chunk = block if left >= MIB else block[:left]
        left -= len(chunk)
        index += 1
        yield chunk


def pattern_md5(seed: int, size: int) -> str:
    digest = hashlib.md5()
    for chunk in pattern(seed, size):
        digest.update(chunk)
    return digest.hexdigest()


def request(sw: Any, method: str, path: str, query: str = "", headers: dict[str, str] | None = None,
            body: Any = None, chunked: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One request to ``<account URL>/<path>?<query>`` with the swiftclient connection's token
    (``object_support.raw`` quotes a ``?`` in its path); ``chunked`` sends an iterable body chunked."""
    url = urlsplit(sw.url)
    hc = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    try:
        target = url.path + ("/" + quote(path) if path else "") + (f"?{query}" if query else "")
        all_headers = {"X-Auth-Token": sw.token, **(headers or {})}
        if chunked:
            all_headers["Transfer-Encoding"] = "chunked"
        hc.request(method, target, body=body, headers=all_headers, encode_chunked=chunked)
        resp = hc.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        hc.close()
