"""Format inspection on upload and import: what Glance refuses, we refuse (400, image stays queued)."""

from __future__ import annotations

import os
import struct
from typing import Any

import pytest

from onestack.image import builtin
from tests.functional.cloud import RunningCloud
from tests.functional.image_http import ImageHttp, stray_files

GIB = 1 << 30


@pytest.fixture(scope="module")
def http(cloud: RunningCloud, demo: Any) -> ImageHttp:
    return ImageHttp(cloud, demo)


def qcow2() -> bytes:
    return builtin.disk_bytes(builtin.BUILTIN_IMAGES[0])


def qcow2_with_backing_file() -> bytes:
    data = bytearray(qcow2())
    name = b"/var/lib/secret.img"
    struct.pack_into(">QI", data, 8, 0x1000, len(name))
    data[0x1000:0x1000 + len(name)] = name
    return bytes(data)


def test_valid_qcow2_gets_its_virtual_size(http: ImageHttp) -> None:
    image = http.create("qcow2")
    assert http.put_file(image["id"], qcow2()).status_code == 204
    shown = http.show(image["id"])
    assert shown["status"] == "active" and shown["virtual_size"] == GIB


@pytest.mark.parametrize(("declared", "payload", "why"), [
    ("qcow2", qcow2_with_backing_file(), "backing file"),
    ("raw", qcow2(), "does not match"),
    ("qcow2", os.urandom(70_000), "does not match"),
    ("vmdk", b'# Disk DescriptorFile\ncreateType="vmfs"\nRW 8 VMFS "/dev/sda"\n', "safety check"),
])
def test_refused_uploads_leave_a_queued_image(cloud: RunningCloud, http: ImageHttp, declared: str,
                                               payload: bytes, why: str) -> None:
    image = http.create(declared)
    resp = http.put_file(image["id"], payload)
    assert resp.status_code == 400 and why in resp.text
    shown = http.show(image["id"])
    assert shown["status"] == "queued" and shown["checksum"] is None and shown["virtual_size"] is None
    assert not stray_files(cloud.data_dir, image["id"])


def test_refused_import_goes_back_to_queued(cloud: RunningCloud, http: ImageHttp) -> None:
    image = http.create("qcow2")
    assert http.stage(image["id"], qcow2_with_backing_file()).status_code == 204
    assert http.import_(image["id"]).status_code == 202
    shown = http.wait_status(image["id"], "queued")
    assert shown["os_glance_failed_import"] == "file" and shown["os_glance_importing_to_stores"] == ""
    tasks = http.http.get(f"/v2/images/{image['id']}/tasks").json()["tasks"]
    assert tasks[0]["status"] == "failure" and "backing file" in tasks[0]["message"]
    assert not stray_files(cloud.data_dir, image["id"])


def test_import_of_valid_qcow2(http: ImageHttp) -> None:
    image = http.create("qcow2")
    http.stage(image["id"], qcow2())
    http.import_(image["id"])
    assert http.wait_status(image["id"], "active")["virtual_size"] == GIB
