"""A cheap HTTP/1.1 keep-alive load generator for the benchmarks.

The client shares the machine's cores with the server under test, so every request must
cost it as little as possible and the same for every server: one asyncio loop, raw
HTTP/1.1 over N persistent connections (N concurrent clients = N connections), request
bytes built once per row. A server that closes a connection (``Connection: close``) is
reconnected transparently; the reconnect counts in that request's latency.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive HTTP/1.1 connection; ``send`` is strictly sequential."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.reconnects = -1  # the first connect is not a reconnect

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self.reconnects += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def send(self, raw: bytes) -> Response:
        for attempt in (0, 1):
            if self._writer is None:
                await self._connect()
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(raw)
                return await self._read()
            except (ConnectionError, asyncio.IncompleteReadError):
                # A keep-alive connection the server dropped between requests: retry once.
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _read(self) -> Response:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        elif status in ("204", "304") or status.startswith("1"):
            body = b""
        else:
            body = await self._reader.read()  # delimited by close
            headers["connection"] = "close"
        conn = headers.get("connection", "").lower()
        if conn == "close" or (version == "HTTP/1.0" and conn != "keep-alive"):
            self.close()
        return Response(int(status), headers, body)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)


def build_request(url: str, method: str, path: str, headers: dict[str, str] | None = None,
                  body: Any = None) -> bytes:
    """The raw bytes of one request to ``url`` (whose path is the prefix of ``path``)."""
    parts = urlsplit(url)
    full = parts.path.rstrip("/") + path
    data = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {full} HTTP/1.1", f"Host: {parts.netloc}", "Accept: application/json",
             "User-Agent: onestack-bench", "Connection: keep-alive"]
    if body is not None:
        lines.append("Content-Type: application/json")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(data)}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def one(url: str, method: str, path: str, headers: dict[str, str] | None = None,
              body: Any = None) -> Response:
    """A single request on a fresh connection (set-up calls, not measured)."""
    conn = Connection(*host_port(url))
    try:
        return await conn.send(build_request(url, method, path, headers, body))
    finally:
        conn.close()


def process_tree_cpu(root_pid: int) -> float:
    """CPU seconds (user+system) used so far by ``root_pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


def machine_busy_cpu() -> float:
    """CPU seconds all cores have spent not idle since boot (from /proc/stat)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


async def wait_quiet(max_wait: float, threshold: float = 0.25, sample: float = 0.5) -> float:
    """Wait (at most ``max_wait`` s) until other work on the machine uses < ``threshold`` of a core.

    Other programs on a 2-core machine distort every number; returns the last busy fraction seen.
    """
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_cpu()
        await asyncio.sleep(sample)  # a measurement window, not synchronisation
        busy = (machine_busy_cpu() - before) / sample
        if busy < threshold or time.monotonic() >= deadline:
            return busy


@dataclass
class RowResult:
    name: str
    clients: int
    count: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # seconds of server CPU during the row
    client_cpu: float = 0.0
    first_error: str = ""
    reconnects: int = 0  # connections the server closed and the client had to reopen
    machine_busy: float = 0.0  # CPU seconds the whole machine was busy during the row

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Latency in ms at percentile ``p`` (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def other_cpu(self) -> float:
        """CPU seconds used by neither server nor client: other load that skews the row."""
        return max(0.0, self.machine_busy - self.server_cpu - self.client_cpu)

    @property
    def server_ms_per_request(self) -> float:
        return self.server_cpu / self.count * 1000 if self.count and self.server_cpu else float("nan")


async def run_row(name: str, url: str, raw: bytes, *, clients: int, duration: float, max_requests: int,
                  expect: int, server_pids: tuple[int, ...] = (),
                  check: Callable[[Response], bool] | None = None) -> RowResult:
    """Send ``raw`` over ``clients`` connections until ``duration`` s or ``max_requests`` are done."""
    conns = [Connection(*host_port(url)) for _ in range(clients)]
    for conn in conns:  # connect and warm up outside the measurement
        await conn.send(raw)
    result = RowResult(name, clients)
    budget = [max_requests]
    deadline = 0.0

    async def worker(conn: Connection) -> None:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            start = time.perf_counter()
            resp = await conn.send(raw)
            result.latencies.append(time.perf_counter() - start)
            if resp.status != expect or (check is not None and not check(resp)):
                result.errors += 1
                result.first_error = result.first_error or f"{resp.status} {resp.body[:200]!r}"

    cpu0 = sum(process_tree_cpu(pid) for pid in server_pids)
    own0 = time.process_time()
    busy0 = machine_busy_cpu()
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(worker(c) for c in conns))
    result.elapsed = time.perf_counter() - start
    result.client_cpu = time.process_time() - own0
    result.machine_busy = machine_busy_cpu() - busy0
    if server_pids:
        result.server_cpu = sum(process_tree_cpu(pid) for pid in server_pids) - cpu0
    result.count = len(result.latencies)
    for conn in conns:
        result.reconnects += conn.reconnects
        conn.close()
    return result
