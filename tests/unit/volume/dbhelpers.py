"""An in-memory volume database and row builders for service-level unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.rpcapi import BackendReport, PoolReport
from onestack.volume.service.common import new_id, now

TYPE_ID = "00000000-0000-4000-8000-00000000aaaa"


@pytest.fixture
def db() -> Iterator[Database]:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    models.Base.metadata.create_all(engine)
    database = Database(engine)
    database.run_sync(lambda s: s.add(models.VolumeType(id=TYPE_ID, name="t", created_at=now())))
    yield database
    engine.dispose()


def pool_report(name: str, total: float | str = 100.0, free: float | str = 100.0, **kw: Any) -> PoolReport:
    report: dict[str, Any] = {
        "name": name, "total_capacity_gb": total, "free_capacity_gb": free, "allocated_capacity_gb": 0.0,
        "provisioned_capacity_gb": 0.0, "reserved_percentage": 0, "max_over_subscription_ratio": 20.0,
        "thin_provisioning_support": True, "thick_provisioning_support": False,
        "capabilities": {"volume_backend_name": name.split("#", 1)[-1], "storage_protocol": "file"}}
    report.update(kw)
    return cast(PoolReport, report)  # unchecked: a test may report what a broken agent would


def backend(backend_host: str, *pools: PoolReport, zone: str = "nova") -> BackendReport:
    return BackendReport(backend_host=backend_host, availability_zone=zone, pools=list(pools))


def volume(s: Session, *, age: float = 0, **kw: Any) -> models.Volume:
    values: dict[str, Any] = {"id": new_id(), "project_id": "p1", "user_id": "u1", "size": 1, "status": "creating",
                              "volume_type_id": TYPE_ID, "availability_zone": "nova",
                              "created_at": now() - timedelta(seconds=age)}
    values.update(kw)
    v = models.Volume(**values)
    s.add(v)
    s.flush()
    return v
