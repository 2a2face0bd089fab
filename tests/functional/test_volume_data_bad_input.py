"""Malformed requests to snapshots, backups and transfers: always a 4xx, never a 5xx, and nothing made."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.snapshot_support import MISSING, cinder, make_snapshot, make_volume

BODIES: list[Any] = [None, [], "x", 3, {}, {"x": {}}]


@pytest.fixture(scope="module")
def api(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with cinder(cloud, "devstack-admin") as client:
        yield client


@pytest.fixture(scope="module")
def targets(api: httpx.Client) -> Iterator[dict[str, str]]:
    volume = make_volume(api)
    snap = make_snapshot(api, volume["id"])
    yield {"volume": volume["id"], "snapshot": snap["id"]}
    api.delete(f"/volumes/{volume['id']}", params={"cascade": "true"})


def _wrapped(wrapper: str, inner: list[Any]) -> list[Any]:
    return BODIES + [{wrapper: v} for v in ([], "x", 1, None, *inner)]


def _under(key: str, values: list[Any]) -> list[Any]:
    return [{key: v} for v in values]


def test_bodies(api: httpx.Client, targets: dict[str, str]) -> None:
    vol, snap = targets["volume"], targets["snapshot"]
    cases: list[tuple[str, str, list[Any]]] = [
        ("POST", "/snapshots", _wrapped("snapshot", [
            {"volume_id": vol, "name": 5}, {"volume_id": vol, "name": "n" * 256}, {"volume_id": vol, "metadata": []},
            {"volume_id": vol, "metadata": {"k": 1}}, {"volume_id": vol, "metadata": {"": "v"}},
            {"volume_id": vol, "force": "maybe"}, {"volume_id": vol, "description": ["d"]}])),
        ("PUT", f"/snapshots/{snap}", _wrapped("snapshot", [{}, {"size": 3}, {"name": 5}, {"name": "n" * 256}])),
        ("POST", f"/snapshots/{snap}/metadata", BODIES + _under("metadata", [[], "x", {"k": 1}, {"k" * 256: "v"}])),
        ("PUT", f"/snapshots/{snap}/metadata/k", BODIES + _under("meta", [[], {}, {"k": 1}, {"j": "1"}])),
        ("POST", f"/snapshots/{snap}/action", BODIES + _under("os-reset_status", [[], {}, {"status": 1},
                                                                                  {"status": "x" * 300}])
         + _under("os-update_snapshot_status", [[], {}, {"status": None}, {"status": "available", "progress": []}])
         + [{"os-reset_status": {"status": "error"}, "os-force_delete": {}}]),
        ("POST", "/backups", _wrapped("backup", [
            {}, {"volume_id": 5}, {"volume_id": vol, "incremental": "maybe"}, {"volume_id": vol, "force": []},
            {"volume_id": vol, "snapshot_id": 3}, {"volume_id": vol, "snapshot_id": MISSING},
            {"volume_id": vol, "container": "c" * 256}, {"volume_id": vol, "metadata": {"k": ["v"]}},
            {"volume_id": vol, "availability_zone": 7}])),
        ("POST", f"/backups/{MISSING}/restore", _wrapped("restore", [{"volume_id": 5}])),
        ("POST", "/backups/import_record", _wrapped("backup-record", [
            {}, {"backup_service": 1, "backup_url": "x"}, {"backup_service": "s", "backup_url": None}])),
        ("POST", "/os-volume-transfer", _wrapped("transfer", [{}, {"volume_id": 5}, {"volume_id": vol, "name": 5}])),
        ("POST", "/volume-transfers", _wrapped("transfer", [{"volume_id": vol, "no_snapshots": "maybe"}])),
        ("POST", f"/os-volume-transfer/{MISSING}/accept", _wrapped("accept", [{}, {"auth_key": 5}])),
    ]
    for method, path, bodies in cases:
        for body in bodies:
            r = api.request(method, path, json=body)
            assert 400 <= r.status_code < 500, (method, path, body, r.status_code, r.text)
            assert set(r.json()) <= {"badRequest", "itemNotFound", "forbidden", "overLimit"}, r.text
    # Nothing was made or changed by any of it.
    snaps = api.get("/snapshots", params={"volume_id": vol}).json()["snapshots"]
    assert [(s["id"], s["status"], s["metadata"]) for s in snaps] == [(snap, "available", {})]
    assert api.get("/backups", params={"volume_id": vol}).json()["backups"] == []
    assert api.get("/os-volume-transfer").json()["transfers"] == []
    assert api.get(f"/volumes/{vol}").json()["volume"]["status"] == "available"
