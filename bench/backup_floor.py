"""The floor of a backup's data path: what one thread spends a GiB on each step the backup store
takes (``onestack/volume/agent/backup_chunks.py``), next to ``cp`` of the same file, no store, no API.

    python bench/backup_floor.py                 # 1 GiB of random bytes, 4 rounds of each row
    python bench/backup_floor.py --size-mib 256 --rounds 8

A file of random bytes is written and kept warm in the page cache; each row then runs ``--rounds``
times over it, in turn, one thread, 256 KiB pieces into 32 MiB chunk files (what the store does):

- ``cp``: ``cp`` of the file (coreutils 9: ``copy_file_range``, one copy inside the kernel);
- ``store``: ``preadv`` + blake3 + ``pwrite`` per piece, the store's loop;
- ``copy``: ``preadv`` + ``pwrite``, no hash;
- ``hash``: blake3 over a cached 256 KiB buffer as many times as the file has pieces;
- ``mapped``: the file ``mmap``-ed, each piece faulted in with ``MADV_POPULATE_READ``, hashed and
  written from the mapping (a variant tried and rejected, 2026-12-07: docs/performance.md).

Printed: min and median wall time and CPU (user + system, this process and its ``cp`` children).
On a shared machine compare CPU minimums; a backup's CPU is about ``copy`` + ``hash``.
"""

from __future__ import annotations

import argparse
import mmap
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import blake3

PIECE = 256 * 1024
CHUNK = 32 * 1024 * 1024
ZERO = bytes(PIECE)
MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def chunked(size: int, out: Path, piece: Callable[[int, int, int], None]) -> None:
    """``piece(dest fd, offset in the file, offset in the chunk)`` for every piece, a new chunk
    file every ``CHUNK`` bytes."""
    for index, start in enumerate(range(0, size, CHUNK)):
        dest = os.open(out / f"chunk-{index:06d}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for at in range(start, min(start + CHUNK, size), PIECE):
                piece(dest, at, at - start)
        finally:
            os.close(dest)


def rows(source: Path, out: Path) -> dict[str, Callable[[], None]]:
    size = source.stat().st_size
    buf = bytearray(PIECE)
    view = memoryview(buf)

    def read_pieces(hashed: bool) -> Callable[[], None]:
        def run() -> None:
            fd = os.open(source, os.O_RDONLY)
            hasher = blake3.blake3()

            def piece(dest: int, at: int, offset: int) -> None:
                got = view[:os.preadv(fd, [view], at)]
                if hashed and not ZERO.startswith(got):
                    hasher.update(got)
                os.pwrite(dest, got, offset)
            try:
                chunked(size, out, piece)
            finally:
                os.close(fd)
        return run

    def hash_only() -> None:
        hasher = blake3.blake3()
        for _ in range(size // PIECE):
            hasher.update(view)

    def mapped() -> None:
        fd = os.open(source, os.O_RDONLY)
        whole = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        pages = memoryview(whole)
        hasher = blake3.blake3()

        def piece(dest: int, at: int, offset: int) -> None:
            whole.madvise(MADV_POPULATE_READ, at, PIECE)
            with pages[at:at + PIECE] as got:
                if not ZERO.startswith(got):
                    hasher.update(got)
                os.pwrite(dest, got, offset)
        try:
            chunked(size, out, piece)
        finally:
            pages.release()
            whole.close()
            os.close(fd)

    def cp() -> None:
        subprocess.run(["cp", str(source), str(out / "copy")], check=True)

    return {
        "cp": cp,
        "store": read_pieces(True),
        "copy": read_pieces(False),
        "hash": hash_only,
        "mapped": mapped,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args(argv)
    if args.size_mib * 1024 * 1024 % CHUNK:
        p.error(f"--size-mib must be a multiple of {CHUNK >> 20}")
    with tempfile.TemporaryDirectory(prefix="bench-backup-floor-") as tmp:
        work = Path(tmp)
        source, out = work / "source", work / "out"
        out.mkdir()
        with open(source, "wb") as fh:
            fh.writelines(os.urandom(8 * 1024 * 1024) for _ in range(args.size_mib // 8))
        todo = rows(source, out)
        walls: dict[str, list[float]] = {name: [] for name in todo}
        cpus: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.rounds):
            for name, run in todo.items():
                cpu, start = cpu_seconds(), time.perf_counter()
                run()
                walls[name].append(time.perf_counter() - start)
                cpus[name].append(cpu_seconds() - cpu)
                for left in out.iterdir():
                    left.unlink()
        print(f"bench/backup_floor.py, {args.size_mib} MiB of random bytes, warm, {args.rounds} rounds, "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        print("| row | CPU min | CPU median | wall min | wall median |")
        print("|---|---|---|---|---|")
        for name in todo:
            print(f"| {name} | {min(cpus[name]) * 1000:.0f} ms | {statistics.median(cpus[name]) * 1000:.0f} ms "
                  f"| {min(walls[name]) * 1000:.0f} ms | {statistics.median(walls[name]) * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
