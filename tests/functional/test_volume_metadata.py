"""/volumes/{id}/metadata[/key]: Cinder's body shapes, merge vs replace, key mismatch, 404s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.volume_support import cinder, create_volume, error_of, wait_gone, wait_volume


@pytest.fixture(scope="module")
def http(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack") as client:
        yield client


@pytest.fixture
def volume(http: httpx.Client) -> Iterator[dict[str, Any]]:
    vol = create_volume(http, name="vm-meta", metadata={"a": "1"})
    yield vol
    wait_volume(http, vol["id"], ("available", "error"))
    assert http.delete(f"volumes/{vol['id']}").status_code == 202
    wait_gone(http, vol["id"])


def test_show_merge_replace(http: httpx.Client, volume: dict[str, Any]) -> None:
    base = f"volumes/{volume['id']}/metadata"
    r = http.get(base)
    assert r.status_code == 200 and r.json() == {"metadata": {"a": "1"}}
    r = http.post(base, json={"metadata": {"b": "2", "a": "one"}})
    assert r.status_code == 200 and r.json() == {"metadata": {"a": "one", "b": "2"}}
    r = http.put(base, json={"metadata": {"c": "3"}})
    assert r.status_code == 200 and r.json() == {"metadata": {"c": "3"}}
    assert http.get(f"volumes/{volume['id']}").json()["volume"]["metadata"] == {"c": "3"}
    r = http.put(base, json={"metadata": {}})
    assert r.status_code == 200 and r.json() == {"metadata": {}}


def test_items(http: httpx.Client, volume: dict[str, Any]) -> None:
    base = f"volumes/{volume['id']}/metadata"
    r = http.get(f"{base}/a")
    assert r.status_code == 200 and r.json() == {"meta": {"a": "1"}}
    r = http.put(f"{base}/n", json={"meta": {"n": "new"}})
    assert r.status_code == 200 and r.json() == {"meta": {"n": "new"}}
    assert http.get(base).json()["metadata"] == {"a": "1", "n": "new"}
    r = http.delete(f"{base}/a")
    assert r.status_code == 200
    assert http.get(base).json()["metadata"] == {"n": "new"}
    r = http.get(f"{base}/a")
    assert r.status_code == 404
    assert error_of(r, "itemNotFound")["message"] == f"Volume {volume['id']} has no metadata with key a."
    r = http.delete(f"{base}/a")
    assert r.status_code == 404


def test_bad_bodies_change_nothing(http: httpx.Client, volume: dict[str, Any]) -> None:
    base = f"volumes/{volume['id']}/metadata"
    cases: list[tuple[str, str, Any, str]] = [
        ("PUT", f"{base}/a", {"meta": {"b": "x"}}, "Request body and URI mismatch"),
        ("PUT", f"{base}/a", {"meta": {"a": "x", "b": "y"}}, "Request body contains too many items"),
        ("PUT", f"{base}/a", {"metadata": {"a": "x"}}, "meta"),
        ("POST", base, {"meta": {"a": "x"}}, "metadata"),
        ("POST", base, {"metadata": {"a": 1}}, "is not of type 'string'"),
        ("POST", base, {"metadata": {"k" * 256: "v"}}, "Invalid input for field/attribute"),
        ("PUT", base, {"metadata": {"a": "v" * 256}}, "is too long"),
        ("POST", base, {"metadata": ["a"]}, "is not of type 'object'"),
    ]
    for method, path, body, fragment in cases:
        r = http.request(method, path, json=body)
        assert r.status_code == 400, (method, path, body, r.text)
        assert fragment in error_of(r, "badRequest")["message"], r.text
    assert http.get(base).json() == {"metadata": {"a": "1"}}


def test_unknown_volume(http: httpx.Client) -> None:
    missing = "8a1b7c7e-0000-4000-8000-00000000000a"
    for method, path, body in (("GET", f"volumes/{missing}/metadata", None),
                               ("POST", f"volumes/{missing}/metadata", {"metadata": {"a": "b"}}),
                               ("PUT", f"volumes/{missing}/metadata/a", {"meta": {"a": "b"}}),
                               ("DELETE", f"volumes/{missing}/metadata/a", None)):
        r = http.request(method, path, json=body)
        assert r.status_code == 404, (method, r.text)
        assert error_of(r)["message"] == f"Volume {missing} could not be found."


def test_sdk_metadata(demo: Any, http: httpx.Client, volume: dict[str, Any]) -> None:
    vol = demo.block_storage.get_volume(volume["id"])
    demo.block_storage.set_volume_metadata(vol, sdk_key="sdk_value")
    assert demo.block_storage.get_volume(vol.id).metadata == {"a": "1", "sdk_key": "sdk_value"}
    # The SDK keeps only what it sent as the object's metadata: delete through a fresh copy.
    demo.block_storage.delete_volume_metadata(demo.block_storage.get_volume(vol.id), keys=["a"])
    assert http.get(f"volumes/{vol.id}/metadata").json()["metadata"] == {"sdk_key": "sdk_value"}
