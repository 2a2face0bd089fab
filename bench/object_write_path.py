"""The large-PUT write path's parts, measured alone on this machine: MD5 (the ETag) and CRC32
(the per-block checksum) rates on 1 MiB buffers, the file system's rate for 1 MiB writes +
fsync, and the two put together serially (hash, then write) and overlapped (hashing in one
thread, writing in another, as ``ObjectWriter`` does). No server: what is physically reachable.

    python bench/object_write_path.py --dir /path/on/the/data/disk --mib 256 --rounds 3

Results: docs/performance.md (object storage section).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", default=None, help="a directory on the disk to measure (default: TMPDIR)")
    p.add_argument("--mib", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    blocks = [os.urandom(MIB) for _ in range(args.mib)]
    total = args.mib * MIB
    pool = ThreadPoolExecutor(max_workers=2)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "f")
        print(f"load average {os.getloadavg()[0]:.2f}; {args.mib} MiB in 1 MiB buffers")
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
