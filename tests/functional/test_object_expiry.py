"""Object expiry: X-Delete-After / X-Delete-At make an object answer 404 once due, and the expirer
(every half second in this module's cloud) removes it from its container's listing and its data
from the devices; an object re-written without an expiry is left alone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from swiftclient.client import ClientException, Connection

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import module_cloud
from tests.functional.object_support import swift, unique

ecloud = module_cloud("expiry", env={"ONESTACK_OBJECT_STORE__EXPIRER_INTERVAL": "0.5"})


@pytest.fixture(scope="module")
def sw(ecloud: RunningCloud) -> Connection:
    return swift(ecloud, "devstack")[0]


def gone(sw: Connection, cont: str, name: str) -> bool:
    try:
        sw.head_object(cont, name)
    except ClientException as exc:
        if exc.http_status == 404:
            return True
        raise
    return False


def listed(sw: Connection, cont: str) -> list[str]:
    return [o["name"] for o in sw.get_container(cont)[1]]


def files(cloud: RunningCloud, suffix: str) -> list[Path]:
    return sorted(cloud.data_dir.glob(f"objects/*/*/objects/*/*/*/*{suffix}"))


def test_delete_after_expires_the_object(ecloud: RunningCloud, sw: Connection) -> None:
    cont = unique("exp")
    sw.put_container(cont)
    before = len(files(ecloud, ".data"))
    sw.put_object(cont, "short", b"short-lived", headers={"X-Delete-After": "2"})
    sw.put_object(cont, "stays", b"long-lived")
    assert sw.get_object(cont, "short")[1] == b"short-lived"
    assert listed(sw, cont) == ["short", "stays"]
    wait_until(lambda: gone(sw, cont, "short"), timeout=30, what="the expired object to answer 404")
    wait_until(lambda: listed(sw, cont) == ["stays"], timeout=30, what="the expired object to leave the listing")
    assert sw.head_container(cont)["x-container-object-count"] == "1"
    assert sw.get_object(cont, "stays")[1] == b"long-lived"
    # The expirer deleted it: the data file gave way to a tombstone.
    wait_until(lambda: len(files(ecloud, ".data")) == before + 1, timeout=30, what="the data file removed")
    assert files(ecloud, ".ts")


def test_delete_at_set_by_post(sw: Connection) -> None:
    cont = unique("exp")
    sw.put_container(cont)
    sw.put_object(cont, "posted", b"x")
    sw.post_object(cont, "posted", {"X-Delete-At": str(int(time.time()) + 2)})
    assert sw.head_object(cont, "posted")["x-delete-at"]
    wait_until(lambda: gone(sw, cont, "posted"), timeout=30, what="the object to expire")
    wait_until(lambda: listed(sw, cont) == [], timeout=30, what="the listing to drop it")


def test_rewritten_object_is_not_expired(sw: Connection) -> None:
    cont = unique("exp")
    sw.put_container(cont)
    sw.put_object(cont, "kept", b"old", headers={"X-Delete-After": "2"})
    sw.put_object(cont, "kept", b"new")  # no expiry: the old X-Delete-At no longer applies
    sw.put_object(cont, "marker", b"m", headers={"X-Delete-After": "2"})
    wait_until(lambda: gone(sw, cont, "marker"), timeout=30, what="the marker to expire")
    wait_until(lambda: listed(sw, cont) == ["kept"], timeout=30, what="the marker to leave the listing")
    assert sw.get_object(cont, "kept")[1] == b"new"
