"""How the volume agent reads an image's data (agent/images.py): the declared format only when
the data is that format, never a format with a backing file; and the image properties a volume
keeps."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from onestack.volume.agent.driver import VolumeDriverError
from onestack.volume.agent.file import qemu_img
from onestack.volume.agent.images import image_metadata, source_format

needs_qemu = pytest.mark.skipif(qemu_img() is None, reason="qemu-img is not installed")


@needs_qemu
def test_declared_formats_are_believed_only_when_the_data_is_that_format(tmp_path: Path) -> None:
    qcow = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(qcow), "1M"], check=True)
    random_bytes = tmp_path / "random"
    random_bytes.write_bytes(b"not a disk image" * 64)
    assert source_format(qcow, "qcow2") == "qcow2"
    assert source_format(random_bytes, "qcow2") == "raw"  # a test image of bytes: read as the bytes it is
    assert source_format(qcow, "raw") == "raw"  # declared raw: never let the data choose
    assert source_format(qcow, "iso") == "raw"


@needs_qemu
def test_an_image_with_a_backing_file_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "1M"], check=True)
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(overlay)],
                   check=True)
    with pytest.raises(VolumeDriverError, match="backing file"):
        source_format(overlay, "qcow2")


def test_image_metadata_keeps_properties_as_strings_and_drops_glance_fields() -> None:
    image = {"id": "img-1", "name": "cirros", "status": "active", "disk_format": "qcow2", "container_format": "bare",
             "min_disk": 1, "min_ram": 0, "size": 1024, "checksum": "abc", "visibility": "public", "tags": ["x"],
             "hw_disk_bus": "virtio", "owner": "p1", "os_hash_value": "f00", "kernel_id": None}
    assert image_metadata(image) == {
        "image_id": "img-1", "image_name": "cirros", "disk_format": "qcow2", "container_format": "bare",
        "min_disk": "1", "min_ram": "0", "size": "1024", "checksum": "abc", "hw_disk_bus": "virtio"}
