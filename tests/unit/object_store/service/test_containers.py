"""ContainerService on a real SQLite database: accounts, containers, updates (newer wins, counts),
and listings (markers, prefix, delimiter, reverse, path, UTF-8 byte order)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onestack.core.db import Database, create_db_engine
from onestack.object_store import models
from onestack.object_store.rpcapi import ContainerUpdate
from onestack.object_store.service.containers import ContainerService
from onestack.object_store.service.listing import parse_params
from tests.functional.cloud import configured_db_kind, create_test_database, drop_test_database

A = "AUTH_p1"
# PostgreSQL too when the suite runs on it (ONESTACK_TEST_DB=postgresql): row locks and unique keys
# are what keep concurrent writers right there.
KINDS = ["sqlite"] + (["postgresql"] if configured_db_kind() == "postgresql" else [])


@pytest.fixture(params=KINDS)
def svc(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContainerService]:
    url = create_test_database(request.param) or f"sqlite:///{tmp_path}/os.db"
    engine = create_db_engine(url)
    models.Base.metadata.create_all(engine)
    db = Database(engine, write_threads=8)
    yield ContainerService(db)
    db.dispose()
    drop_test_database(url if request.param == "postgresql" else "")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def upd(obj: str, ts: str, op: str = "PUT", size: int = 1, container: str = "c", **kw: Any) -> ContainerUpdate:
    return ContainerUpdate(account=A, container=container, obj=obj, op=op, timestamp=ts, size=size,
                           etag=kw.get("etag", "e"), content_type=kw.get("content_type", "text/plain"),
                           delete_at=kw.get("delete_at"), extra=kw.get("extra", {}))


def names(svc: ContainerService, **query: str) -> list[str]:
    _, rows = run(svc.list_objects(A, "c", parse_params(query, 10000)))
    return [r.get("name") or "/" + r["subdir"] for r in rows]


def test_container_lifecycle_and_account_autocreate(svc: ContainerService) -> None:
    assert run(svc.account_info(A)) is None
    assert run(svc.put_container(A, "c", {"x-container-meta-a": "1"})) is True
    assert run(svc.put_container(A, "c", {"x-container-meta-b": "2"})) is False
    info = run(svc.container_info(A, "c"))
    assert info.meta == {"x-container-meta-a": "1", "x-container-meta-b": "2"}
    assert run(svc.post_container(A, "c", {"x-container-meta-a": ""})) is True
    assert run(svc.container_info(A, "c")).meta == {"x-container-meta-b": "2"}
    assert run(svc.post_container(A, "nope", {})) is False
    acct = run(svc.account_info(A))
    assert (acct.container_count, acct.object_count, acct.bytes_used) == (1, 0, 0)
    run(svc.update_container(upd("o", "0000000010.00000", size=5)))
    assert run(svc.delete_container(A, "c")) == "not-empty"
    run(svc.update_container(upd("o", "0000000011.00000", op="DELETE")))
    assert run(svc.delete_container(A, "c")) == "deleted"
    assert run(svc.delete_container(A, "c")) == "missing"
    assert run(svc.container_info(A, "c")) is None


def test_updates_newer_wins_and_counts(svc: ContainerService) -> None:
    run(svc.put_container(A, "c", {}))
    run(svc.update_container(upd("o", "0000000010.00000", size=5)))
    run(svc.update_container(upd("o", "0000000010.00000", size=5)))  # replay: no change
    run(svc.update_container(upd("o", "0000000009.00000", size=7)))  # older: ignored
    info = run(svc.container_info(A, "c"))
    assert (info.object_count, info.bytes_used) == (1, 5)
    run(svc.update_container(upd("o", "0000000012.00000", size=3)))  # overwrite
    run(svc.update_container(upd("p", "0000000012.00000", size=4)))
    info = run(svc.container_info(A, "c"))
    assert (info.object_count, info.bytes_used) == (2, 7)
    run(svc.update_container(upd("o", "0000000013.00000", op="DELETE")))
    run(svc.update_container(upd("o", "0000000012.50000", size=100)))  # older than the tombstone
    info = run(svc.container_info(A, "c"))
    assert (info.object_count, info.bytes_used) == (1, 4)
    assert names(svc) == ["p"]
    acct = run(svc.account_info(A))
    assert (acct.object_count, acct.bytes_used) == (1, 4)
    # An update for a container that is not there is dropped.
    run(svc.update_container(upd("x", "0000000014.00000", container="gone")))
    assert run(svc.container_info(A, "gone")) is None


def test_updates_arriving_together_end_as_one_by_one(svc: ContainerService) -> None:
    """Updates that arrive together share a transaction (one per object is kept, counts summed
    per container): the rows and counts are those of applying them one at a time."""
    run(svc.put_container(A, "c", {}))
    run(svc.put_container(A, "d", {}))
    run(svc.put_container("AUTH_p2", "c", {}))  # another account's: not in A's stats
    run(svc.update_container({**upd("z", "0000000001.00000", size=100), "account": "AUTH_p2"}))
    run(svc.update_container(upd("old", "0000000001.00000", size=9)))

    async def together(*updates: ContainerUpdate) -> None:
        await asyncio.gather(*(svc.update_container(u) for u in updates))

    run(together(
        upd("o", "0000000010.00000", size=5), upd("o", "0000000010.00000", size=5),  # three replicas' reports
        upd("o", "0000000010.00000", size=5),
        upd("p", "0000000012.00000", size=3), upd("p", "0000000011.00000", size=50),  # the older loses
        upd("q", "0000000011.00000", size=7), upd("q", "0000000013.00000", op="DELETE"),  # gone again
        upd("old", "0000000002.00000", op="DELETE"),
        upd("r", "0000000010.00000", size=11, container="d"),
        upd("x", "0000000010.00000", container="gone")))  # no such container: dropped
    info = run(svc.container_info(A, "c"))
    assert (info.object_count, info.bytes_used) == (2, 8)
    assert names(svc) == ["o", "p"]
    info = run(svc.container_info(A, "d"))
    assert (info.object_count, info.bytes_used) == (1, 11)
    acct = run(svc.account_info(A))
    assert (acct.container_count, acct.object_count, acct.bytes_used) == (2, 3, 19)
    other = run(svc.account_info("AUTH_p2"))
    assert (other.container_count, other.object_count, other.bytes_used) == (1, 1, 100)
    assert run(svc.container_info(A, "gone")) is None


def test_listing_parameters(svc: ContainerService) -> None:
    run(svc.put_container(A, "c", {}))
    for i, n in enumerate(["a", "a/b", "a/c", "a/d/e", "a0", "b", "b/x", "c"]):
        run(svc.update_container(upd(n, f"00000000{10 + i}.00000")))
    assert names(svc) == ["a", "a/b", "a/c", "a/d/e", "a0", "b", "b/x", "c"]
    assert names(svc, limit="2") == ["a", "a/b"]
    assert names(svc, marker="a/c") == ["a/d/e", "a0", "b", "b/x", "c"]
    assert names(svc, marker="a", end_marker="b") == ["a/b", "a/c", "a/d/e", "a0"]
    assert names(svc, prefix="a/") == ["a/b", "a/c", "a/d/e"]
    assert names(svc, delimiter="/") == ["a", "/a/", "a0", "b", "/b/", "c"]
    assert names(svc, delimiter="/", prefix="a/") == ["a/b", "a/c", "/a/d/"]
    assert names(svc, delimiter="/", marker="a/") == ["a0", "b", "/b/", "c"]
    assert names(svc, reverse="on") == ["c", "b/x", "b", "a0", "a/d/e", "a/c", "a/b", "a"]
    assert names(svc, reverse="true", marker="b", end_marker="a/b") == ["a0", "a/d/e", "a/c"]
    assert names(svc, reverse="1", delimiter="/") == ["c", "/b/", "b", "a0", "/a/", "a"]
    assert names(svc, path="a") == ["a/b", "a/c"]
    assert names(svc, delimiter="/", limit="3") == ["a", "/a/", "a0"]


def test_listing_is_utf8_byte_order(svc: ContainerService) -> None:
    run(svc.put_container(A, "c", {}))
    # Code point order = UTF-8 byte order; it differs from UTF-16 order for astral characters.
    ordered = ["Z", "a", "\u00e9", "\uff41", "\U0001f600"]
    for i, n in enumerate(reversed(ordered)):
        run(svc.update_container(upd(n, f"00000000{10 + i}.00000")))
    assert names(svc) == ordered
    assert names(svc, prefix="\uff41") == ["\uff41"]


def test_listing_limits() -> None:
    from onestack.object_store.errors import SwiftError

    with pytest.raises(SwiftError) as err:
        parse_params({"limit": "11"}, 10)
    assert err.value.status == 412
    with pytest.raises(SwiftError):
        parse_params({"delimiter": "ab"}, 10)
    assert parse_params({"limit": "x"}, 10).limit == 10


def test_expired_and_extras(svc: ContainerService) -> None:
    run(svc.put_container(A, "c", {}))
    run(svc.update_container(upd("old", "0000000010.00000", delete_at=100.0)))
    run(svc.update_container(upd("new", "0000000010.00000", delete_at=10 ** 9 * 5.0)))
    run(svc.update_container(upd("slo", "0000000010.00000", size=10,
                                 extra={"swift_bytes": 99, "slo_etag": "abc", "_hidden": 1})))
    assert run(svc.expired(1000.0, 10)) == [{"account": A, "container": "c", "obj": "old", "delete_at": 100.0}]
    _, rows = run(svc.list_objects(A, "c", parse_params({"prefix": "slo"}, 100)))
    assert rows[0]["bytes"] == 99 and rows[0]["slo_etag"] == '"abc"' and "_hidden" not in rows[0]
    assert rows[0]["last_modified"] == "1970-01-01T00:00:10.000000"
    run(svc.update_container(upd("link", "0000000010.00000", size=0, extra={
        "symlink_target": "c/o", "symlink_target_account": "AUTH_x", "symlink_target_etag": "e1",
        "symlink_target_bytes": "7"})))
    _, rows = run(svc.list_objects(A, "c", parse_params({"prefix": "link"}, 100)))
    assert rows[0]["symlink_path"] == "/v1/AUTH_x/c/o"
    assert (rows[0]["symlink_etag"], rows[0]["symlink_bytes"]) == ("e1", 7)
    assert "symlink_target" not in rows[0]


def test_account_listing_and_meta(svc: ContainerService) -> None:
    for n in ("b", "a", "a-1", "x/y"):  # the service does not police names; the controller does
        run(svc.put_container(A, n, {}))
    run(svc.update_account_meta(A, {"x-account-meta-k": "v"}))
    acct, rows = run(svc.list_containers(A, parse_params({}, 100)))
    assert acct.meta == {"x-account-meta-k": "v"} and acct.container_count == 4
    assert [r["name"] for r in rows] == ["a", "a-1", "b", "x/y"]
    assert rows[0]["count"] == 0 and rows[0]["bytes"] == 0
    _, rows = run(svc.list_containers(A, parse_params({"delimiter": "-"}, 100)))
    assert [r.get("name") or r["subdir"] for r in rows] == ["a", "a-", "b", "x/y"]
    none, empty = run(svc.list_containers("AUTH_other", parse_params({}, 100)))
    assert none is None and empty == []


def test_concurrent_writers(svc: ContainerService) -> None:
    async def scenario() -> None:
        created = await asyncio.gather(*(svc.put_container(A, "race", {}) for _ in range(12)))
        assert created.count(True) == 1
        # New account and containers at once: one account row, every container.
        await asyncio.gather(*(svc.put_container("AUTH_new", f"c{i}", {}) for i in range(8)))
        info = await svc.account_info("AUTH_new")
        assert info is not None and info.container_count == 8
        # Many objects and many versions of one object at once: counts exact, newest wins.
        updates = [upd(f"o{i}", f"0000000010.{i:05d}", size=i, container="race") for i in range(40)]
        updates += [upd("same", f"0000000020.{i:05d}", size=i, container="race") for i in range(20)]
        await asyncio.gather(*(svc.update_container(u) for u in updates))
        info2 = await svc.container_info(A, "race")
        assert info2 is not None
        assert (info2.object_count, info2.bytes_used) == (41, sum(range(40)) + 19)

    run(scenario())


def test_delimiter_across_batches(svc: ContainerService) -> None:
    """More plain names than one fetch holds, folders between and after them."""
    run(svc.put_container(A, "c", {}))
    plain = [f"f{i:03d}" for i in range(150)]
    for i, n in enumerate(plain + ["f050/x", "f050/y", "z/1", "z/2"]):
        run(svc.update_container(upd(n, f"0000000010.{i:05d}")))
    expected = plain[:51] + ["/f050/"] + plain[51:] + ["/z/"]
    assert names(svc, delimiter="/") == expected
    assert names(svc, delimiter="/", limit="52") == expected[:52]
    assert names(svc, delimiter="/", reverse="1") == expected[::-1]
    assert names(svc, delimiter="/", marker="f050/") == expected[52:]


def test_concurrent_updates_share_a_transaction_and_fail_alone(svc: ContainerService) -> None:
    """Updates arriving together are applied together; one that cannot be applied fails only its
    own caller (the batch is applied again one by one)."""
    run(svc.put_container(A, "c", {}))

    async def scenario() -> list[Any]:
        updates = [upd(f"o{i}", "0000000010.00000", size=i) for i in range(10)]
        updates.insert(5, upd("bad", "0000000010.00000", size="lots"))  # type: ignore[arg-type]
        return await asyncio.gather(*(svc.update_container(u) for u in updates), return_exceptions=True)

    results = run(scenario())
    assert [type(r) for r in results].count(ValueError) == 1 and isinstance(results[5], ValueError)
    info = run(svc.container_info(A, "c"))
    assert (info.object_count, info.bytes_used) == (10, sum(range(10)))
    assert "bad" not in names(svc)
    # A later loop (the service outlives it) still gets its updates applied.
    run(svc.update_container(upd("later", "0000000011.00000", size=1)))
    assert "later" in names(svc)


def test_infos_reads_account_and_container_together(svc: ContainerService) -> None:
    assert run(svc.infos(A, "c")) == (None, None)
    run(svc.put_container(A, "c", {"x-container-meta-a": "1"}))
    run(svc.update_container(upd("o", "0000000010.00000", size=5)))
    acct, cont = run(svc.infos(A, "c"))
    assert acct == run(svc.account_info(A)) and cont == run(svc.container_info(A, "c"))
    assert (acct.object_count, cont.object_count, cont.meta) == (1, 1, {"x-container-meta-a": "1"})
    assert run(svc.infos(A, "other")) == (acct, None)
