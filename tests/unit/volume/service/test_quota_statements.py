"""The quota check's statement cache: built once per shape, least recently used out first, and
a statement taken from it answers as the per-resource reads do."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.errors import VolumeLimitExceeded
from onestack.volume.service import quotas
from onestack.volume.service.quotas import _check_statement, _limits_and_usage
from tests.unit.volume.dbhelpers import db, volume

__all__ = ["db"]

BOUND = 256


def test_a_shape_in_use_outlives_a_stream_of_new_type_names() -> None:
    _check_statement.cache_clear()
    busy = ("volumes", "gigabytes", "volumes_t", "gigabytes_t")
    idle = ("snapshots", "gigabytes")
    first, idle_first = _check_statement(busy), _check_statement(idle)
    assert _check_statement(busy) is first  # built once
    for i in range(BOUND + 10):  # more new shapes than the bound, the busy one asked for between them
        _check_statement(("volumes", f"volumes_type{i}"))
        assert _check_statement(busy) is first
    assert _check_statement(idle) is not idle_first  # the least recently used went
    assert _check_statement.cache_info().currsize == BOUND


def test_a_cached_statement_answers_as_the_per_resource_reads(db: Database) -> None:
    _check_statement.cache_clear()
    names = ["volumes", "gigabytes", "volumes_t", "gigabytes_t", "snapshots"]

    def setup(s: Session) -> None:
        volume(s, size=3)
        volume(s, size=4, project_id="p2")
        s.add(models.Quota(project_id="p1", resource="volumes_t", hard_limit=2))

    db.run_sync(setup)
    for _ in range(2):  # built, then from the cache
        limits, used = db.run_sync(lambda s: _limits_and_usage(s, "p1", names))
        want_limits, want_used = db.run_sync(lambda s: (quotas.limits_for(s, "p1"), quotas.usage(s, "p1")))
        assert limits == {n: want_limits[n] for n in names} and limits["volumes_t"] == 2
        assert used == {n: want_used[n] for n in names} and used["gigabytes"] == 3
    db.run_sync(lambda s: volume(s, size=1))
    with pytest.raises(VolumeLimitExceeded):
        db.run_sync(lambda s: quotas.check(s, "p1", {"volumes": 1, "volumes_t": 1}))
