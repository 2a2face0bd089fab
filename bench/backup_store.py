"""Backup store benchmark without the API: a full backup and a rebuild (restore's raw side) of one
file-driver volume, next to ``cp`` of the same file, in the same process and minute.

    python bench/backup_store.py                       # qcow2, 1 GiB volume, 256 MiB of random data
    python bench/backup_store.py --format raw --rounds 10 --hash sha256

The volume is made as create-from-image makes it (``write_raw_from`` of a raw image whose first
``--data-mib`` MiB are random and the rest written zeroes), so a qcow2 volume's file holds just
the data. Each round runs, in turn: ``BackupStore.backup`` of the volume (what the agent runs for
a full backup, ``qemu-img map`` included), ``BackupStore.rebuild`` of that backup into a raw file
(the swift store's and the fallback's restore before the driver's ``qemu-img convert``),
``BackupStore.restore`` of it into a new volume (what the agent runs: flushed), ``cp`` of the
volume's own file, the file the backup reads, to the same directory, and ``cp`` then
``sync --data`` of it (restore's reference); every one with the file warm in the page cache
(it was just written or read). Results: min and median wall time of the rounds, and the median
CPU time (user + system, this process and its children: the qemu-img and cp processes), which a
shared machine's load moves far less than wall time. ``--hash`` forces the digest (default: what
the agent would use, blake3 where installed). ``ONESTACK_BENCH_CODE=/path/to/checkout`` measures
that checkout's ``onestack`` instead of this one's (an A/B in the same minute).
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# ONESTACK_BENCH_CODE: another checkout's tree to measure (an A/B of the store against main's).
sys.path.insert(0, os.environ.get("ONESTACK_BENCH_CODE") or str(REPO))

from onestack.volume.agent import backup_chunks
from onestack.volume.agent.backup_store import BackupStore
from onestack.volume.agent.file import FileDriver
from onestack.volume.rpcapi import BackupSpec, VolumeSpec

MIB = 1024 * 1024


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--format", choices=["qcow2", "raw"], default="qcow2")
    p.add_argument("--size-gib", type=int, default=1)
    p.add_argument("--data-mib", type=int, default=256)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--hash", choices=["sha256", "blake3"], default=None)
    args = p.parse_args(argv)
    if args.hash == "sha256":
        backup_chunks._blake3 = None
    elif args.hash == "blake3" and backup_chunks._blake3 is None:
        p.error("blake3 is not installed")
    times: dict[str, list[float]] = {"backup": [], "rebuild": [], "restore": [], "cp": [], "cp+sync": []}
    cpus: dict[str, list[float]] = {k: [] for k in times}
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        work = Path(tmp)
        image = work / "image.raw"
        with open(image, "wb") as fh:
            fh.writelines(os.urandom(8 * MIB) if offset < args.data_mib * MIB else bytes(8 * MIB)
                          for offset in range(0, args.size_gib * 1024 * MIB, 8 * MIB))
        driver = FileDriver(work / "volumes", "bench", fmt=args.format)
        store = BackupStore(work / "backups")
        volume = VolumeSpec(id="bench", size=args.size_gib, host="h@bench#bench", status="available",
                            provider_location=None, volume_type_id="t", extra_specs={}, multiattach=False)
        driver.write_raw_from(volume, image, "raw")
        source = driver.volume_path(volume["id"])

        def timed(name: str, fn: Callable[[], object]) -> None:
            cpu, start = cpu_seconds(), time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            cpus[name].append(cpu_seconds() - cpu)

        for _ in range(args.rounds):
            backup = BackupSpec(id=str(uuid.uuid4()), volume_id="bench", snapshot_id=None, status="creating",
                                size=args.size_gib, container=None, parent_id=None, is_incremental=False)
            timed("backup", functools.partial(store.backup, backup, driver, volume))
            timed("rebuild", functools.partial(store.rebuild, backup["id"], work / "rebuilt"))
            (work / "rebuilt").unlink()
            target = VolumeSpec(**{**volume, "id": f"restored-{uuid.uuid4().hex[:8]}"})
            driver.create_volume(target)
            timed("restore", functools.partial(store.restore, backup, driver, target))
            driver.delete_volume(target)
            store.delete(backup)
            timed("cp", lambda: subprocess.run(["cp", str(source), str(work / "copy")], check=True))
            (work / "copy").unlink()
            timed("cp+sync", lambda: subprocess.run(["sh", "-c", 'cp "$0" "$1" && sync --data "$1"', str(source),
                                                     str(work / "copy")], check=True))
            (work / "copy").unlink()
        allocated = source.stat().st_blocks * 512 / MIB
        print(f"bench/backup_store.py, {args.format} volume of {args.size_gib} GiB, {allocated:.0f} MiB allocated, "
              f"digest {backup_chunks.default_hash()}, {args.rounds} rounds, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f} at the end")
        for name, took in times.items():
            print(f"{name:8s} wall min {min(took) * 1000:7.1f} ms  median {statistics.median(took) * 1000:7.1f} ms"
                  f"  CPU median {statistics.median(cpus[name]) * 1000:6.1f} ms")
        cp_min, backup_min = min(times["cp"]), min(times["backup"])
        print(f"backup at {cp_min / backup_min:.0%} of cp's rate (min wall); "
              f"{statistics.median(cpus['cp']) / statistics.median(cpus['backup']):.0%} by median CPU")
        print(f"restore at {min(times['cp+sync']) / min(times['restore']):.0%} of cp + sync's rate (min wall); "
              f"{statistics.median(cpus['cp+sync']) / statistics.median(cpus['restore']):.0%} by median CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
