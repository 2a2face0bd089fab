"""The large-PUT write path's parts, measured alone on this machine: MD5 (the ETag) and CRC32
(the per-block checksum) rates on 1 MiB buffers, the file system's rate for 1 MiB writes +
fsync, and the two put together serially (hash, then write) and overlapped (hashing in one
thread, writing in another, as ``ObjectWriter`` does). No server: what is physically reachable.
``--writeback``: instead, the overlapped pipeline with each way of starting the writeback while
the data streams in (none: all of it in the final fsync; ``sync_file_range`` every N MiB, as
``ObjectWriter`` does; ``posix_fadvise(DONTNEED)`` every N MiB; ``fdatasync`` every N MiB, as
Swift's ``mb_per_sync``), wall time and the writer thread's CPU.

    python bench/object_write_path.py --dir /path/on/the/data/disk --mib 256 --rounds 3
    python bench/object_write_path.py --dir /path/on/the/data/disk --writeback --every-mib 8
    python bench/object_write_path.py --dir /path/on/the/data/disk --small 300

``--small N``: instead, the disk's part of N 4 KiB PUTs, one after the other, as the object
server does them (tmp file, write, fsync, rename into a new hash dir of an existing suffix dir,
fsync of the hash and suffix dirs), and with all four dir levels fsynced as before: the latency
floor of a 1-client 4 KiB PUT on this file system (median and p90).

Results: docs/performance.md (object storage section).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onestack.object_store.obj.ondisk import start_writeback

MIB = 1024 * 1024


def _rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:7.0f} MB/s"


def hash_all(blocks: list[bytes]) -> None:
    md5 = hashlib.md5(usedforsecurity=False)
    for block in blocks:
        md5.update(block)
        zlib.crc32(block)


def write_all(path: str, blocks: list[bytes], batch: int = 1) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for i in range(0, len(blocks), batch):
            os.writev(fd, blocks[i:i + batch])
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(path)


def _hash_block(md5: Any, block: bytes) -> None:
    md5.update(block)
    zlib.crc32(block)


def overlapped(path: str, blocks: list[bytes], pool: ThreadPoolExecutor) -> None:
    """Per 1 MiB batch, hashing and writing at once in two threads (the next batch starts when
    both are done), then fsync: ObjectWriter's pipeline without the network."""
    md5 = hashlib.md5(usedforsecurity=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for block in blocks:
            h = pool.submit(_hash_block, md5, block)
            w = pool.submit(os.write, fd, block)
            h.result()
            w.result()
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(path)


def _kick(way: str, fd: int, offset: int, length: int) -> None:
    if way == "sync_file_range":
        start_writeback(fd, offset, length)
    elif way == "fadvise":
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    elif way == "fdatasync":
        os.fdatasync(fd)


def overlapped_writeback(path: str, blocks: list[bytes], pool: ThreadPoolExecutor, way: str,
                         every: int) -> float:
    """``overlapped`` with the writeback started every ``every`` bytes in the writer thread;
    answers the writer thread's CPU seconds."""
    md5 = hashlib.md5(usedforsecurity=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    state = {"written": 0, "kicked": 0, "cpu": 0.0}

    def write(block: bytes) -> None:
        c = time.thread_time()
        os.write(fd, block)
        state["written"] += len(block)
        if way != "none" and state["written"] - state["kicked"] >= every:
            _kick(way, fd, int(state["kicked"]), int(state["written"] - state["kicked"]))
            state["kicked"] = state["written"]
        state["cpu"] += time.thread_time() - c

    try:
        for block in blocks:
            h = pool.submit(_hash_block, md5, block)
            w = pool.submit(write, block)
            h.result()
            w.result()
        c = time.thread_time()
        os.fsync(fd)
        state["cpu"] += time.thread_time() - c
    finally:
        os.close(fd)
        os.unlink(path)
    return state["cpu"]


def small_puts(root: str, n: int, levels: int) -> list[float]:
    """Milliseconds per 4 KiB durable write: tmp + fsync, rename into a new hash dir, fsync of
    ``levels`` dirs (hash dir and up)."""
    tmp_dir = os.path.join(root, "tmp")
    os.makedirs(tmp_dir, exist_ok=True)
    suffix = os.path.join(root, "objects", "7", "abc")
    os.makedirs(suffix, exist_ok=True)
    body = os.urandom(4096)
    out: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        tmp = os.path.join(tmp_dir, f"t{i}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, body)
        os.fsync(fd)
        os.close(fd)
        hdir = os.path.join(suffix, f"{i:029x}abc")
        os.mkdir(hdir)
        os.replace(tmp, os.path.join(hdir, "1.data"))
        d = hdir
        for _ in range(levels):
            dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dfd)
            os.close(dfd)
            d = os.path.dirname(d)
        out.append((time.perf_counter() - t) * 1000)
    return out


def small_rounds(root: str, n: int, rounds: int) -> None:
    for r in range(rounds):
        row = []
        for levels in (2, 4):
            ms = sorted(small_puts(os.path.join(root, f"r{r}-{levels}"), n, levels))
            row.append(f"{levels} dir fsyncs: median {ms[len(ms) // 2]:.2f} ms, p90 {ms[int(len(ms) * 0.9)]:.2f} ms")
        print(f"round {r + 1}: " + "  ".join(row), flush=True)


def writeback_rounds(path: str, blocks: list[bytes], pool: ThreadPoolExecutor, rounds: int, every: int) -> None:
    total = len(blocks) * MIB
    for r in range(rounds):
        row: list[str] = []
        for way in ("none", "sync_file_range", "fadvise", "fdatasync"):
            t = time.perf_counter()
            cpu = overlapped_writeback(path, blocks, pool, way, every)
            row.append(f"{way} {_rate(total, time.perf_counter() - t)} ({cpu * 1000:.0f} ms writer CPU)")
        print(f"round {r + 1}: " + "  ".join(row), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", default=None, help="a directory on the disk to measure (default: TMPDIR)")
    p.add_argument("--mib", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--writeback", action="store_true", help="compare the ways of starting the writeback early")
    p.add_argument("--every-mib", type=int, default=8, help="--writeback: MiB between two starts")
    p.add_argument("--small", type=int, default=0, help="N sequential 4 KiB durable writes instead")
    args = p.parse_args()
    if args.small:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            print(f"load average {os.getloadavg()[0]:.2f}; {args.small} 4 KiB writes per row")
            small_rounds(tmp, args.small, args.rounds)
            print(f"load average {os.getloadavg()[0]:.2f}")
        return
    blocks = [os.urandom(MIB) for _ in range(args.mib)]
    total = args.mib * MIB
    pool = ThreadPoolExecutor(max_workers=2)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "f")
        print(f"load average {os.getloadavg()[0]:.2f}; {args.mib} MiB in 1 MiB buffers")
        if args.writeback:
            writeback_rounds(path, blocks, pool, args.rounds, args.every_mib * MIB)
            print(f"load average {os.getloadavg()[0]:.2f}")
            return
        for r in range(args.rounds):
            row: list[str] = []
            # Per CPU second too (this thread's CPU time): on a loaded machine the wall-clock rate
            # measures the scheduler, the CPU rate what a core does when it is given.
            t, c = time.perf_counter(), time.thread_time()
            md5 = hashlib.md5(usedforsecurity=False)
            for b in blocks:
                md5.update(b)
            row.append(f"md5 {_rate(total, time.perf_counter() - t)} ({_rate(total, time.thread_time() - c)} CPU)")
            t, c = time.perf_counter(), time.thread_time()
            for b in blocks:
                zlib.crc32(b)
            row.append(f"crc32 {_rate(total, time.perf_counter() - t)} ({_rate(total, time.thread_time() - c)} CPU)")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            t, c = time.perf_counter(), time.thread_time()
            for b in blocks:
                os.write(fd, b)
            row.append(f"write to page cache {_rate(total, time.perf_counter() - t)} "
                       f"({_rate(total, time.thread_time() - c)} CPU)")
            os.close(fd)
            os.unlink(path)
            t = time.perf_counter()
            list(pool.map(hash_all, [blocks[::2], blocks[1::2]]))
            row.append(f"md5+crc 2 threads {_rate(total, time.perf_counter() - t)}")
            t = time.perf_counter()
            write_all(path, blocks)
            row.append(f"write+fsync {_rate(total, time.perf_counter() - t)}")
            t = time.perf_counter()
            hash_all(blocks)
            write_all(path, blocks)
            row.append(f"serial {_rate(total, time.perf_counter() - t)}")
            t = time.perf_counter()
            overlapped(path, blocks, pool)
            row.append(f"overlapped {_rate(total, time.perf_counter() - t)}")
            print(f"round {r + 1}: " + "  ".join(row), flush=True)
        print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
