"""The default volume driver: one directory per backend, one file per volume and per snapshot.

``<data dir>/volumes/<host>/<backend>/volume-<id>`` and ``snapshot-<id>``, in qcow2 where
``qemu-img`` is installed (``volume.volume_format`` auto/qcow2/raw), else sparse raw files. A
blank thin qcow2 is written here (``core/diskimage.py``: no process per create); converting,
copying and growing use ``qemu-img``. Snapshots and clones are full copies (``qemu-img convert`` copies only allocated data;
raw files are copied with ``cp --reflink=auto --sparse=always``), so deleting any file never
breaks another. Every file is made under a temporary name (``.tmp-<id>-<random>``) and renamed
into place, so a crash leaves no half volume under a final name; ``remove_leftovers`` clears
the temporaries. A thick backend (``backends = "name:thick"``) preallocates every byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from onestack.core.config import Config
from onestack.core.diskimage import blank_qcow2, qcow2_virtual_size
from onestack.volume.agent.driver import (
    RAW_PARTS_MAX,
    DataRun,
    GiB,
    Observed,
    RawPart,
    VolumeDriverError,
    data_ranges,
)
from onestack.volume.rpcapi import ConnectionInfo, ModelUpdate, PoolReport, SnapshotSpec, VolumeSpec

DRIVER_VERSION = "1.0.0"
VOLUME_PREFIX = "volume-"
SNAPSHOT_PREFIX = "snapshot-"
TMP_PREFIX = ".tmp-"


def qemu_img() -> str | None:
    return shutil.which("qemu-img")


def disk_format(wanted: str) -> str:
    """The format volumes are made in: ``auto`` is qcow2 where qemu-img is installed, else raw."""
    if wanted == "auto":
        return "qcow2" if qemu_img() else "raw"
    if wanted not in ("qcow2", "raw"):
        raise ValueError(f"volume.volume_format must be auto, qcow2 or raw, not {wanted!r}")
    if wanted == "qcow2" and not qemu_img():
        raise ValueError("volume.volume_format = qcow2 needs qemu-img, which is not installed")
    return wanted


def parse_backends(spec: str) -> list[tuple[str, bool]]:
    """``"a,b:thick"`` → ``[("a", False), ("b", True)]`` (name, thick)."""
    out: list[tuple[str, bool]] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, _, mode = item.partition(":")
        if mode not in ("", "thin", "thick"):
            raise ValueError(f"volume.backends: {item!r}: the mode is thin or thick")
        out.append((name.strip(), mode == "thick"))
    return out


def backend_dir(config: Config, host: str, backend: str) -> Path:
    return config.data_dir / "volumes" / host / backend


def _run(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise VolumeDriverError(f"{args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise VolumeDriverError(f"{' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class FileDriver:
    """A backend in a directory (see the module docstring)."""

    def __init__(self, directory: Path, backend: str, *, fmt: str = "auto", thick: bool = False,
                 capacity_gb: int = 0, reserved_percentage: int = 0, max_over_subscription_ratio: float = 20.0,
                 host: str = "") -> None:
        self.directory = directory
        self._backend = backend
        self.format = disk_format(fmt)
        self.thick = thick
        self.capacity_gb = capacity_gb
        self.reserved_percentage = reserved_percentage
        self.max_over_subscription_ratio = max_over_subscription_ratio
        self.host = host
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def backend(self) -> str:
        return self._backend

    # --- names -------------------------------------------------------------------------------------

    def volume_path(self, volume_id: str) -> Path:
        return self.directory / f"{VOLUME_PREFIX}{volume_id}"

    def snapshot_path(self, snapshot_id: str) -> Path:
        return self.directory / f"{SNAPSHOT_PREFIX}{snapshot_id}"

    def _tmp(self, owner_id: str) -> Path:
        return self.directory / f"{TMP_PREFIX}{owner_id}-{uuid.uuid4().hex[:8]}"

    @contextmanager
    def _making(self, final: Path, owner_id: str) -> Iterator[Path]:
        """A temporary path that becomes ``final`` when the block ends well, and goes otherwise."""
        tmp = self._tmp(owner_id)
        try:
            yield tmp
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    # --- format-specific steps -----------------------------------------------------------------

    def virtual_size(self, path: Path) -> int:
        if self.format == "raw":
            return path.stat().st_size
        try:  # the header says it: no qemu-img process (tens of milliseconds) to ask
            return qcow2_virtual_size(path)
        except (OSError, ValueError) as exc:
            raise VolumeDriverError(f"{path.name}: {exc}") from exc

    def _blank(self, path: Path, size: int) -> None:
        if self.format == "qcow2" and self.thick:
            _run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=falloc", str(path), str(size))
            return
        if self.format == "qcow2":
            # What ``qemu-img create`` writes, written here: a blank volume is one small write.
            with open(path, "wb") as f:
                f.write(blank_qcow2(size))
            return
        with open(path, "wb") as f:
            f.truncate(size)
            if self.thick:
                os.posix_fallocate(f.fileno(), 0, size)

    def _grow(self, path: Path, size: int) -> None:
        current = self.virtual_size(path)
        if current >= size:
            return
        if self.format == "qcow2":
            opts = ["--preallocation=falloc"] if self.thick else []
            _run("qemu-img", "resize", "-q", "-f", "qcow2", *opts, str(path), str(size))
            return
        with open(path, "r+b") as f:
            f.truncate(size)
            if self.thick:
                os.posix_fallocate(f.fileno(), 0, size)

    def _copy(self, src: Path, dest: Path) -> None:
        """A full copy of a file in this backend's format (sparse where the source is)."""
        if not src.exists():
            raise VolumeDriverError(f"{src.name} does not exist on backend {self.backend}")
        if self.format == "qcow2":
            opts = ["-o", "preallocation=falloc"] if self.thick else []
            _run("qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", *opts, str(src), str(dest))
            return
        _run("cp", "--reflink=auto", "--sparse=always", str(src), str(dest))
        if self.thick:
            with open(dest, "r+b") as f:
                os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)

    def _copy_into_new(self, src: Path, volume: VolumeSpec) -> ModelUpdate:
        final = self.volume_path(volume["id"])
        if final.exists():
            return self._update(volume)
        with self._making(final, volume["id"]) as tmp:
            self._copy(src, tmp)
            self._grow(tmp, volume["size"] * GiB)
        return self._update(volume)

    def _update(self, volume: VolumeSpec) -> ModelUpdate:
        return ModelUpdate(provider_location=str(self.volume_path(volume["id"])))

    # --- VolumeDriver --------------------------------------------------------------------------

    def pools(self, allocated_gb: int) -> list[PoolReport]:
        st = os.statvfs(self.directory)
        if self.capacity_gb:
            total = float(self.capacity_gb)
            used = sum(p.stat().st_blocks * 512 for p in self.directory.iterdir() if p.is_file())
            free = max(0.0, total - used / GiB)
        else:
            total = st.f_blocks * st.f_frsize / GiB
            free = st.f_bavail * st.f_frsize / GiB
        name = f"{self.host}@{self.backend}#{self.backend}"
        return [PoolReport(
            name=name, total_capacity_gb=round(total, 2), free_capacity_gb=round(free, 2),
            allocated_capacity_gb=float(allocated_gb), provisioned_capacity_gb=float(allocated_gb),
            reserved_percentage=self.reserved_percentage, max_over_subscription_ratio=self.max_over_subscription_ratio,
            thin_provisioning_support=not self.thick, thick_provisioning_support=self.thick,
            capabilities={"volume_backend_name": self.backend, "storage_protocol": "file", "vendor_name": "onestack",
                          "driver_version": DRIVER_VERSION, "pool_name": self.backend, "multiattach": True,
                          "online_extend_support": True, "QoS_support": False, "disk_format": self.format})]

    def observed(self) -> Observed:
        out = Observed()
        now = time.time()
        for entry in os.scandir(self.directory):
            if not entry.is_file():
                continue
            age = now - entry.stat().st_mtime
            if entry.name.startswith(VOLUME_PREFIX):
                out.volumes[entry.name[len(VOLUME_PREFIX):]] = age
            elif entry.name.startswith(SNAPSHOT_PREFIX):
                out.snapshots[entry.name[len(SNAPSHOT_PREFIX):]] = age
        return out

    def create_volume(self, volume: VolumeSpec) -> ModelUpdate:
        final = self.volume_path(volume["id"])
        if not final.exists():
            with self._making(final, volume["id"]) as tmp:
                self._blank(tmp, volume["size"] * GiB)
        return self._update(volume)

    def delete_volume(self, volume: VolumeSpec) -> None:
        self.volume_path(volume["id"]).unlink(missing_ok=True)

    def extend_volume(self, volume: VolumeSpec, new_size: int) -> None:
        path = self.volume_path(volume["id"])
        if not path.exists():
            raise VolumeDriverError(f"volume {volume['id']} does not exist on backend {self.backend}")
        self._grow(path, new_size * GiB)

    extend_attached = extend_volume  # a file grows the same whether a consumer has it or not

    def create_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec) -> ModelUpdate:
        final = self.snapshot_path(snapshot["id"])
        if not final.exists():
            with self._making(final, snapshot["id"]) as tmp:
                self._copy(self.volume_path(volume["id"]), tmp)
        return ModelUpdate(provider_location=str(final))

    def delete_snapshot(self, snapshot: SnapshotSpec) -> None:
        self.snapshot_path(snapshot["id"]).unlink(missing_ok=True)

    def create_volume_from_snapshot(self, volume: VolumeSpec, snapshot: SnapshotSpec) -> ModelUpdate:
        return self._copy_into_new(self.snapshot_path(snapshot["id"]), volume)

    def create_cloned_volume(self, volume: VolumeSpec, source: VolumeSpec) -> ModelUpdate:
        # The source's own location when it has one: a migration clones a volume (same id) from
        # another backend of this host into this one.
        located = source.get("provider_location")
        return self._copy_into_new(Path(located) if located else self.volume_path(source["id"]), volume)

    def revert_to_snapshot(self, volume: VolumeSpec, snapshot: SnapshotSpec) -> None:
        final = self.volume_path(volume["id"])
        if not final.exists():
            raise VolumeDriverError(f"volume {volume['id']} does not exist on backend {self.backend}")
        with self._making(final, volume["id"]) as tmp:
            self._copy(self.snapshot_path(snapshot["id"]), tmp)
            self._grow(tmp, max(volume["size"] * GiB, self.virtual_size(final)))

    def update_migrated_volume(self, volume: VolumeSpec, new_volume: VolumeSpec) -> ModelUpdate:
        final, made = self.volume_path(volume["id"]), self.volume_path(new_volume["id"])
        if made.exists():
            if final.exists():
                raise VolumeDriverError(f"{final.name} exists already on backend {self.backend}")
            made.rename(final)
        elif not final.exists():
            raise VolumeDriverError(f"volume {new_volume['id']} does not exist on backend {self.backend}")
        return ModelUpdate(provider_location=str(final))

    def initialize_connection(self, volume: VolumeSpec, connector: dict[str, Any]) -> ConnectionInfo:
        path = self.volume_path(volume["id"])
        if not path.exists():
            raise VolumeDriverError(f"volume {volume['id']} does not exist on backend {self.backend}")
        return ConnectionInfo(driver_volume_type="file", data={
            "device_path": str(path), "format": self.format, "volume_id": volume["id"], "access_mode": "rw"})

    def terminate_connection(self, volume: VolumeSpec, connector: dict[str, Any]) -> None:
        return None  # a file is not exported: nothing to undo

    @contextmanager
    def read_raw(self, volume: VolumeSpec, snapshot_id: str | None = None) -> Iterator[BinaryIO]:
        path = self.snapshot_path(snapshot_id) if snapshot_id else self.volume_path(volume["id"])
        if not path.exists():
            raise VolumeDriverError(f"{path.name} does not exist on backend {self.backend}")
        if self.format == "raw":
            with open(path, "rb") as f:
                yield f
            return
        tmp = self._tmp(volume["id"])
        try:
            _run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(path), str(tmp))
            with open(tmp, "rb") as f:
                yield f
        finally:
            tmp.unlink(missing_ok=True)

    @contextmanager
    def read_data_runs(self, volume: VolumeSpec,
                       snapshot_id: str | None = None) -> Iterator[tuple[BinaryIO, int, list[DataRun]]]:
        """Raw: the file's own data (SEEK_DATA/SEEK_HOLE). Qcow2: where ``qemu-img map`` says
        each allocated cluster is in the file, read in place (no raw copy); a file qemu cannot
        map that way (compressed clusters, encryption, a backing or external data file) is
        converted to raw first, as ``read_raw`` does."""
        path = self.snapshot_path(snapshot_id) if snapshot_id else self.volume_path(volume["id"])
        if not path.exists():
            raise VolumeDriverError(f"{path.name} does not exist on backend {self.backend}")
        runs = self._qcow2_runs(path) if self.format == "qcow2" else None
        if runs is not None:
            with open(path, "rb") as f:
                yield f, runs[0], runs[1]
            return
        with self.read_raw(volume, snapshot_id) as f:
            size = os.fstat(f.fileno()).st_size
            yield f, size, [(start, end, start) for start, end in data_ranges(f.fileno(), size)]

    def _qcow2_runs(self, path: Path) -> tuple[int, list[DataRun]] | None:
        with open(path, "rb") as f:
            head = f.read(80)
        if len(head) < 80 or head[:4] != b"QFI\xfb":
            return None
        backing, crypt = int.from_bytes(head[8:16], "big"), int.from_bytes(head[32:36], "big")
        incompatible = int.from_bytes(head[72:80], "big") if int.from_bytes(head[4:8], "big") >= 3 else 0
        if backing or crypt or incompatible & 0b100:  # the bytes may live elsewhere: convert instead
            return None
        runs: list[DataRun] = []
        for e in json.loads(_run("qemu-img", "map", "--output=json", "-f", "qcow2", str(path))):
            start, length = int(e["start"]), int(e["length"])
            if e.get("zero") or not e.get("data"):
                continue  # reads as zeroes
            if "offset" not in e or int(e.get("depth", 0)) != 0:
                return None  # compressed, or from a backing file: not a plain run of the file
            runs.append((start, start + length, int(e["offset"])))
        return qcow2_virtual_size(path), runs

    def write_raw_from(self, volume: VolumeSpec, source: Path, source_format: str) -> None:
        final = self.volume_path(volume["id"])
        size = volume["size"] * GiB
        with self._making(final, volume["id"]) as tmp:
            if qemu_img():
                opts = ["-o", "preallocation=falloc"] if self.thick and self.format == "qcow2" else []
                _run("qemu-img", "convert", "-f", source_format, "-O", self.format, *opts, str(source), str(tmp))
            elif source_format == "raw":
                _run("cp", "--sparse=always", str(source), str(tmp))
            else:
                raise VolumeDriverError(f"converting {source_format} needs qemu-img, which is not installed")
            virtual = self.virtual_size(tmp)
            if virtual > size:
                raise VolumeDriverError(f"Image virtual size is {-(-virtual // GiB)}GB and doesn't fit in a "
                                        f"volume of size {volume['size']}GB.")
            self._grow(tmp, size)
            if self.thick and self.format == "raw":
                with open(tmp, "r+b") as f:
                    os.posix_fallocate(f.fileno(), 0, size)

    def write_raw_parts(self, volume: VolumeSpec, parts: list[RawPart]) -> bool:
        """One ``qemu-img convert`` with the parts as its sources, which it lays end to end (a
        zero run is a ``null-co`` source, left unallocated): a restore reads each stored chunk
        once and writes the volume once, flushed. False without qemu-img or with too many parts."""
        if not qemu_img() or not 0 < len(parts) <= RAW_PARTS_MAX:
            return False
        size = volume["size"] * GiB
        if sum(n for _, n in parts) > size:
            raise VolumeDriverError(f"{sum(n for _, n in parts)} bytes do not fit in a volume of size "
                                    f"{volume['size']}GB.")
        sources = [f"driver=raw,file.filename={str(p).replace(',', ',,')}" if p is not None
                   else f"driver=null-co,size={n},read-zeroes=on" for p, n in parts]
        with self._making(self.volume_path(volume["id"]), volume["id"]) as tmp:
            opts = ["-o", "preallocation=falloc"] if self.thick and self.format == "qcow2" else []
            _run("qemu-img", "convert", "--image-opts", *sources, "-O", self.format, *opts, str(tmp))
            self._grow(tmp, size)
            if self.thick and self.format == "raw":
                with open(tmp, "r+b") as f:
                    os.posix_fallocate(f.fileno(), 0, size)
        return True

    # --- ManageExisting: a disk left by an unmanage is adopted under the new id ------------------

    def _referenced(self, ref: dict[str, Any]) -> Path:
        name = ref.get("source-name") if isinstance(ref, dict) else None
        if not isinstance(name, str) or not name:
            raise VolumeDriverError(f"Manage existing volume failed due to invalid backend reference {ref}: "
                                    "Reference must contain source-name element.")
        path = self.directory / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise VolumeDriverError(f"Manage existing volume failed due to invalid backend reference {ref}: "
                                    "Specified logical volume does not exist.")
        return path

    def _gib(self, path: Path) -> int:
        try:
            return max(1, -(-self.virtual_size(path) // GiB))
        except (VolumeDriverError, ValueError, KeyError) as exc:
            raise VolumeDriverError(f"{path.name} is not a {self.format} disk: {exc}") from exc

    def manage_existing_get_size(self, volume: VolumeSpec, ref: dict[str, Any]) -> int:
        return self._gib(self._referenced(ref))

    def _adopt(self, ref: dict[str, Any], final: Path) -> int:
        """Rename the referenced file to ``final`` (grown to whole GiB); its size in GiB."""
        source = self.directory / str(ref.get("source-name", "")) if isinstance(ref, dict) else final
        if final.exists() and (source == final or not source.exists()):
            return self._gib(final)  # adopted already: the rename happened before a crash
        if final.exists():
            raise VolumeDriverError(f"{final.name} exists already on backend {self.backend}")
        source = self._referenced(ref)
        size = self._gib(source)
        os.rename(source, final)
        self._grow(final, size * GiB)
        return size

    def manage_existing(self, volume: VolumeSpec, ref: dict[str, Any]) -> ModelUpdate:
        final = self.volume_path(volume["id"])
        return ModelUpdate(size=self._adopt(ref, final), provider_location=str(final))

    def manage_existing_snapshot(self, snapshot: SnapshotSpec, volume: VolumeSpec, ref: dict[str, Any]) -> ModelUpdate:
        final = self.snapshot_path(snapshot["id"])
        return ModelUpdate(size=self._adopt(ref, final), provider_location=str(final))

    def list_manageable(self, kind: str) -> list[dict[str, Any]]:
        prefix = VOLUME_PREFIX if kind == "volumes" else SNAPSHOT_PREFIX
        out: list[dict[str, Any]] = []
        for entry in sorted(os.scandir(self.directory), key=lambda e: e.name):
            if entry.is_file() and entry.name.startswith(prefix):
                try:
                    size = self._gib(Path(entry.path))
                except VolumeDriverError:
                    continue  # not a disk of this backend's format: nothing to adopt
                out.append({"reference": {"source-name": entry.name}, "size": size})
        return out

    def remove_leftovers(self, busy: set[str]) -> list[str]:
        removed: list[str] = []
        for entry in os.scandir(self.directory):
            if not entry.name.startswith(TMP_PREFIX):
                continue
            owner = entry.name[len(TMP_PREFIX):].rsplit("-", 1)[0]
            if owner in busy:
                continue
            Path(entry.path).unlink(missing_ok=True)
            removed.append(entry.name)
        return removed


def build_drivers(config: Config, host: str) -> list[FileDriver]:
    """The file backends of ``host`` as the configuration names them."""
    v = config.volume
    return [FileDriver(backend_dir(config, host, name), name, fmt=v.volume_format, thick=thick,
                       capacity_gb=v.capacity_gb, reserved_percentage=v.reserved_percentage,
                       max_over_subscription_ratio=v.max_over_subscription_ratio, host=host)
            for name, thick in parse_backends(v.backends)]
