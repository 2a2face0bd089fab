"""Pure pieces of compute's block storage: device naming, the image-defined mappings of a
volume-backed snapshot, and the client's reshaping of Cinder's attachment."""

from __future__ import annotations

import json

import pytest

from onestack.client.volume import _translated, connector
from onestack.compute.api.boot_volumes import from_image
from onestack.compute.service.block_devices import next_device
from onestack.core.api.faults import BadRequest


def test_next_device_skips_the_root_and_used_names() -> None:
    assert next_device([]) == "/dev/vdb"
    assert next_device(["/dev/vda", "/dev/vdb", None, "/dev/vdd"]) == "/dev/vdc"
    with pytest.raises(BadRequest):
        next_device([f"/dev/vd{c}" for c in "abcdefghijklmnopqrstuvwxyz"])


def test_attachment_connection_info_is_nested_as_nova_takes_it() -> None:
    flat = {"id": "a", "connection_info": {"driver_volume_type": "file", "device_path": "/p", "format": "raw"}}
    assert _translated(dict(flat))["connection_info"] == {"driver_volume_type": "file",
                                                          "data": {"device_path": "/p", "format": "raw"}}
    nested = {"id": "a", "connection_info": {"driver_volume_type": "file", "data": {"device_path": "/p"}}}
    assert _translated(dict(nested)) == nested  # already Nova's shape: left alone
    assert _translated({"id": "a", "connection_info": None}) == {"id": "a", "connection_info": None}


def test_connector_names_the_mountpoint_only_when_given() -> None:
    assert "mountpoint" not in connector("h1")
    found = connector("h1", "/dev/vdb")
    assert found["mountpoint"] == "/dev/vdb" and found["host"] == "h1"
    assert found["initiator"] == "iqn.2004-10.org.onestack:h1"


def test_image_defined_mappings() -> None:
    bdms = [{"source_type": "snapshot", "destination_type": "volume", "snapshot_id": "s1", "boot_index": 0,
             "device_name": "vda", "volume_size": 1, "delete_on_termination": True},
            {"source_type": "image", "destination_type": "local", "boot_index": -1}]
    found = from_image({"block_device_mapping": json.dumps(bdms), "bdm_v2": "True"})
    assert found == [{"source_type": "snapshot", "destination_type": "volume", "boot_index": 0,
                      "device_name": "/dev/vda", "volume_size": 1, "volume_type": None, "tag": None,
                      "delete_on_termination": True, "volume_id": None, "snapshot_id": "s1", "image_id": None}]
    assert from_image({"name": "plain"}) == []
    assert from_image({"block_device_mapping": "not json"}) == []
