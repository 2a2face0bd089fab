"""The object requests' info cache (onestack/object_store/service/info_cache.py), alone and through
ContainerService on a real SQLite database: kept for its TTL, dropped by this process's
container and account writes, never storing what a read got from before such a write."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from onestack.core.db import Database, create_db_engine
from onestack.object_store import models
from onestack.object_store.proxy.container import fresh_infos, get_container_info, get_infos
from onestack.object_store.proxy.request import SwiftRequest
from onestack.object_store.service import info_cache
from onestack.object_store.service.containers import ContainerService
from onestack.object_store.service.info import AccountInfo, ContainerInfo
from onestack.object_store.service.info_cache import InfoCache

A = "AUTH_p1"


def infos(container: str = "c", count: int = 0) -> tuple[AccountInfo, ContainerInfo]:
    return (AccountInfo(A, "1", "1", 1, count, count),
            ContainerInfo(A, container, "1", "1", count, count, "Policy-0"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(info_cache, "monotonic", c)
    return c


def test_kept_for_its_ttl_then_read_again(clock: Clock) -> None:
    cache = InfoCache(ttl=2.0)
    cache.put(A, "c", cache.generation, infos())
    clock.now += 1.9
    assert cache.get(A, "c") == infos()
    clock.now += 0.2
    assert cache.get(A, "c") is None


def test_a_write_drops_its_container_or_the_whole_account(clock: Clock) -> None:
    cache = InfoCache(ttl=60)
    for name in ("c", "d"):
        cache.put(A, name, cache.generation, infos(name))
    cache.put("AUTH_other", "c", cache.generation, infos())
    cache.forget(A, "c")
    assert cache.get(A, "c") is None and cache.get(A, "d") is not None
    cache.forget(A)
    assert cache.get(A, "d") is None
    assert cache.get("AUTH_other", "c") is not None


def test_a_read_begun_before_a_write_is_not_kept(clock: Clock) -> None:
    cache = InfoCache(ttl=60)
    began = cache.generation
    cache.forget(A, "c")  # an ACL change commits while the read runs
    cache.put(A, "c", began, infos())
    assert cache.get(A, "c") is None


def test_a_missing_container_is_not_kept_nor_anything_with_ttl_zero(clock: Clock) -> None:
    cache = InfoCache(ttl=60)
    cache.put(A, "c", cache.generation, (None, None))
    assert cache.get(A, "c") is None
    off = InfoCache(ttl=0)
    off.put(A, "c", off.generation, infos())
    assert off.get(A, "c") is None


def test_bounded(clock: Clock) -> None:
    cache = InfoCache(ttl=60, size=3)
    for i in range(5):
        cache.put(A, f"c{i}", cache.generation, infos(f"c{i}"))
    kept = [i for i in range(5) if cache.get(A, f"c{i}") is not None]
    assert kept == [2, 3, 4]  # the oldest went first


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[ContainerService]:
    engine = create_db_engine(f"sqlite:///{tmp_path}/os.db")
    models.Base.metadata.create_all(engine)
    db = Database(engine, write_threads=2)
    yield ContainerService(db, info_cache_ttl=60)
    db.dispose()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_object_requests_see_this_process_s_container_and_account_writes_at_once(svc: ContainerService) -> None:
    assert run(svc.object_infos(A, "c")) == (None, None)  # missing: not kept
    run(svc.put_container(A, "c", {"x-container-read": ".r:*"}))
    assert run(svc.object_infos(A, "c"))[1].read_acl == ".r:*"
    run(svc.post_container(A, "c", {"x-container-read": ""}))
    assert run(svc.object_infos(A, "c"))[1].read_acl is None
    run(svc.update_account_meta(A, {"x-account-meta-quota-bytes": "10"}))
    assert run(svc.object_infos(A, "c"))[0].meta["x-account-meta-quota-bytes"] == "10"
    assert run(svc.delete_container(A, "c")) == "deleted"
    assert run(svc.object_infos(A, "c"))[1] is None


def test_object_infos_are_served_from_the_cache_until_a_write(svc: ContainerService) -> None:
    run(svc.put_container(A, "c", {}))
    first = run(svc.object_infos(A, "c"))
    assert run(svc.object_infos(A, "c")) is first  # no database read
    assert run(svc.infos(A, "c")) is not first  # infos() always reads (exact counts)
    run(svc.post_container(A, "c", {"x-container-meta-k": "v"}))
    assert run(svc.object_infos(A, "c")) is not first


def test_get_infos_takes_what_the_request_lacks_from_the_cache(svc: ContainerService) -> None:
    """The 4 KiB GET regression: a middleware that read the container first (get_container_info)
    made the object controller's get_infos read the account from the database on its own."""
    run(svc.put_container(A, "c", {}))
    cached = run(svc.object_infos(A, "c"))
    state: Any = SimpleNamespace(containers=svc)  # get_infos only uses the container service
    req = SwiftRequest("GET", f"/v1/{A}/c/o")
    run(get_container_info(state, req, A, "c"))  # as a middleware outside the controller might
    account, container = run(get_infos(state, req, A, "c"))
    assert account is cached[0]  # the process's cache: no database read
    assert container is not cached[1] and container is not None  # the request's own read stays
    req = SwiftRequest("GET", f"/v1/{A}/c/o")
    assert run(get_infos(state, req, A, "c")) == cached and run(get_infos(state, req, A, "c"))[1] is cached[1]
    exact = run(fresh_infos(state, req, A, "c"))
    assert exact[1] is not cached[1] and run(get_infos(state, req, A, "c"))[1] is exact[1]
