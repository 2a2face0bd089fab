"""Volumes from images and images from volumes, through the image service's client.

Create from image: ``qemu-img convert`` reads the image's data — the image service's own file
when it runs in this process (``ImageClient.data_file``), else a temporary file it was
streamed into (never whole in memory) — and writes it into the volume in the backend's format;
the volume becomes bootable and keeps the image's properties as its ``volume_image_metadata``.
Upload: the volume's raw bytes, converted to the requested ``disk_format``, are streamed into
the queued image.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from onestack.client.image import ImageClient
from onestack.volume.agent.driver import VolumeDriver, VolumeDriverError
from onestack.volume.rpcapi import ModelUpdate, VolumeSpec

# Glance disk formats → qemu-img's names; the rest (iso, ami…) are raw bytes.
QEMU_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx"}
# Image fields that are not the image's properties (Cinder leaves these out of volume_image_metadata).
NOT_METADATA = {"id", "name", "status", "visibility", "tags", "owner", "created_at", "updated_at", "file",
                "schema", "self", "locations", "direct_url", "protected", "os_hidden", "os_hash_algo",
                "os_hash_value", "virtual_size", "stores"}


def image_metadata(image: dict[str, Any]) -> dict[str, str]:
    """Cinder's ``volume_image_metadata`` of a volume made from ``image``."""
    meta = {"image_id": str(image["id"]), "image_name": str(image.get("name") or "")}
    for key, value in image.items():
        if key in NOT_METADATA or value is None:
            continue
        meta[key] = value if isinstance(value, str) else json.dumps(value)
    return meta


def _probe(path: Path) -> dict[str, Any]:
    done = subprocess.run(["qemu-img", "info", "--output=json", str(path)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise VolumeDriverError(f"qemu-img info failed: {done.stderr.strip()}")
    info: dict[str, Any] = json.loads(done.stdout)
    return info


def source_format(path: Path, declared: str) -> str:
    """The format to read an image's data as. A declared raw image is always read as raw (never
    let data choose a format with backing files); a declared other format whose data is not
    that format (a test image of random bytes) is read as the raw bytes it is."""
    wanted = QEMU_FORMATS.get(declared, "raw")
    if wanted == "raw" or shutil.which("qemu-img") is None:
        return "raw"
    info = _probe(path)
    if info.get("format") != wanted:
        return "raw"
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise VolumeDriverError("the image has a backing file, which a volume cannot use")
    return wanted


class ImageTransfer:
    def __init__(self, images: ImageClient, work_dir: Path) -> None:
        self.images = images
        self.work_dir = work_dir
        work_dir.mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        """Remove the temporaries of transfers a crash cut short (at the agent's start)."""
        for leftover in self.work_dir.iterdir():
            leftover.unlink(missing_ok=True)

    async def create_from_image(self, driver: VolumeDriver, volume: VolumeSpec, image_id: str) -> ModelUpdate:
        image = await self.images.get(image_id)
        if image is None:
            raise VolumeDriverError(f"Image {image_id} could not be found.")
        if image.get("status") != "active":
            raise VolumeDriverError(f"Image {image_id} is not active.")
        # In-process, the image service's own file (no copy); else a streamed download.
        async with self.images.data_file(image_id, self.work_dir) as source:
            fmt = await asyncio.to_thread(source_format, source, str(image.get("disk_format") or "raw"))
            await asyncio.to_thread(driver.write_raw_from, volume, source, fmt)
        location = await asyncio.to_thread(driver.initialize_connection, volume, {})
        return ModelUpdate(provider_location=str(location["data"].get("device_path", "")), bootable=True,
                           image_metadata=image_metadata(image))

    async def upload_volume(self, driver: VolumeDriver, volume: VolumeSpec, image_id: str, disk_format: str) -> None:
        wanted = QEMU_FORMATS.get(disk_format, "raw")
        reading = driver.read_raw(volume)
        raw = await asyncio.to_thread(reading.__enter__)
        converted: Path | None = None
        try:
            source = Path(raw.name)
            if wanted != "raw":
                if shutil.which("qemu-img") is None:
                    raise VolumeDriverError(f"converting to {disk_format} needs qemu-img, which is not installed")
                converted = self.work_dir / f"upload-{volume['id']}-{uuid.uuid4().hex[:8]}"
                done = await asyncio.to_thread(
                    subprocess.run, ["qemu-img", "convert", "-f", "raw", "-O", wanted, str(source), str(converted)],
                    capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise VolumeDriverError(f"qemu-img convert failed: {done.stderr.strip()}")
                source = converted
            await self.images.upload(image_id, source)
        finally:
            await asyncio.to_thread(reading.__exit__, None, None, None)
            if converted is not None:
                converted.unlink(missing_ok=True)
